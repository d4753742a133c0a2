//! Which generator wrote an image's metadata, and the reader for it.
//!
//! Precedence, first match wins:
//!
//! 1. Text chunks under a generator's own keyword (PNG):
//!    1. `invokeai_metadata` (InvokeAI 3+, with `invokeai_graph`), `sd-metadata` (InvokeAI 2),
//!       `Dream` (InvokeAI 1 and 2);
//!    2. `parameters`: SwarmUI's JSON (`sui_image_params`), Fooocus' JSON scheme, Easy Diffusion's
//!       JSON, else AUTOMATIC1111 text, named Fooocus when `fooocus_scheme` or its `Version` says
//!       so;
//!    3. `prompt` holding a JSON object: ComfyUI's graph, with `workflow` (unless the chunks are
//!       Easy Diffusion's, whose `prompt` is the prompt itself);
//!    4. Easy Diffusion's keys (`use_stable_diffusion_model`, `num_inference_steps`, …);
//!    5. `workflow` alone (or beside a `prompt` that is not JSON): ComfyUI's UI workflow;
//!    6. NovelAI's chunks (`Software` `NovelAI`, or a `Comment` JSON object with `uc` and
//!       `scale`), with `Description` and `Source`.
//!
//!    A generator's own chunk that does not parse (`invokeai_metadata`, `sd-metadata`, `Dream`,
//!    `workflow`, NovelAI's `Comment`) still names that generator, with the reason in a note and
//!    the text kept. A `prompt` chunk that is not JSON and that nothing above explains is an
//!    error, as it always was.
//! 2. EXIF and XMP (JPEG and WebP; PNG `eXIf` and XMP chunks too):
//!    1. ComfyUI's `prompt:{…}` / `workflow:{…}` in `ImageDescription`, `Make`, `Model` or
//!       `UserComment`;
//!    2. `UserComment`, then XMP `exif:UserComment`, then `XPComment`, `ImageDescription` and
//!       JPEG comments: a JSON object is matched to SwarmUI, NovelAI, Fooocus (also named by EXIF
//!       `MakerNote`), Easy Diffusion, Draw Things (also named by XMP `xmp:CreatorTool`), InvokeAI
//!       or a ComfyUI graph; text is AUTOMATIC1111's (Fooocus' when its `Version` says so) when it
//!       has the `Steps: …, Sampler: …` line.
//! 3. Stealth data in the pixels (PNG, WebP), looked for only when nothing above matched: NovelAI's
//!    JSON, or `parameters` text read as in 1.2.
//!
//! Readers that match name the generator in [`ImportedParams::source`]; where the parameters
//! came from other than a PNG text chunk is said in a note, and so is every problem met reading
//! the metadata.

use serde_json::{Map, Value, json};

use super::ParamsError;
use super::container::ImageMetadata;
use super::fields::json_object;
use super::stealth::Stealth;
use super::{
    ImportedParams, ParamSource, a1111, comfyui, draw_things, easy_diffusion, fooocus, invokeai, novelai, swarmui,
};

/// Keywords a PNG text chunk can have that are this module's (the rest are EXIF, XMP, stealth).
fn is_text_chunk(key: &str) -> bool {
    !(key.starts_with("EXIF ")
        || key.starts_with("XMP ")
        || key == "XMP"
        || key == "JPEG comment"
        || key.starts_with("stealth_"))
}

/// What other entries say about the one being read.
#[derive(Default)]
struct Hints<'a> {
    /// `fooocus` or `a1111`: the PNG `fooocus_scheme` chunk, or EXIF `MakerNote`.
    fooocus_scheme: Option<&'a str>,
    /// XMP `xmp:CreatorTool`.
    creator_tool: Option<&'a str>,
}

/// The parameters an image's metadata carries (without the stealth data), following the
/// precedence above. `Ok(None)` when none is recognised; `Err` where a PNG's `prompt` chunk is not
/// the JSON ComfyUI writes.
pub fn import(metadata: &ImageMetadata) -> Result<Option<ImportedParams>, ParamsError> {
    let found = from_text_chunks(metadata)?.or_else(|| from_exif_and_xmp(metadata));
    Ok(found.map(|mut imported| {
        imported.notes.extend(metadata.problems.iter().cloned());
        imported
    }))
}

/// The parameters in a stealth payload: NovelAI's JSON, else what `parameters` can hold.
pub fn import_stealth(stealth: &Stealth, metadata: &ImageMetadata) -> Option<ImportedParams> {
    let object = json_object(&stealth.text);
    let mut imported = match &object {
        Some(object) if novelai::detect(object) => novelai::parse(object).ok(),
        Some(_) => classify(&stealth.text, &hints(metadata), true),
        None => Some(parameters_text(&stealth.text, hints(metadata).fooocus_scheme)),
    }?;
    imported.notes.push(format!("read from data hidden in the pixels' low bits ({})", stealth.signature));
    imported.notes.extend(metadata.problems.iter().cloned());
    Some(imported)
}

fn hints(metadata: &ImageMetadata) -> Hints<'_> {
    let maker_note = metadata.get("EXIF MakerNote").filter(|note| matches!(note.trim(), "fooocus" | "a1111"));
    Hints {
        fooocus_scheme: metadata.get("fooocus_scheme").or(maker_note).map(str::trim),
        creator_tool: metadata.get("XMP xmp:CreatorTool"),
    }
}

fn from_text_chunks(metadata: &ImageMetadata) -> Result<Option<ImportedParams>, ParamsError> {
    let text_of =
        |key: &str| metadata.entries.iter().find(|(k, _)| k == key && is_text_chunk(k)).map(|(_, t)| t.as_str());
    let hints = hints(metadata);
    if let Some(text) = text_of("invokeai_metadata") {
        let parsed = invokeai::parse_metadata(text, text_of("invokeai_graph"), text_of("invokeai_workflow"));
        return Ok(Some(or_unread(parsed, ParamSource::InvokeAi, "invokeai_metadata", text)));
    }
    if let Some(text) = text_of("sd-metadata") {
        return Ok(Some(or_unread(invokeai::parse_sd_metadata(text), ParamSource::InvokeAi, "sd-metadata", text)));
    }
    if let Some(text) = text_of("Dream") {
        return Ok(Some(or_unread(invokeai::parse_dream(text), ParamSource::InvokeAi, "Dream", text)));
    }
    if let Some(text) = text_of("parameters") {
        if json_object(text).is_some()
            && let Some(imported) = classify(text, &hints, false)
        {
            return Ok(Some(imported));
        }
        return Ok(Some(parameters_text(text, hints.fooocus_scheme)));
    }
    let chunks: Map<String, Value> = metadata
        .entries
        .iter()
        .filter(|(key, _)| is_text_chunk(key))
        .map(|(key, text)| (key.clone(), json!(text)))
        .collect();
    let is_easy_diffusion = easy_diffusion::detect(chunks.keys().map(String::as_str));
    let prompt = text_of("prompt");
    let workflow = text_of("workflow");
    if let Some(prompt) = prompt
        && json_object(prompt).is_some()
        && !is_easy_diffusion
    {
        return comfyui::parse(prompt, workflow).map(Some);
    }
    if is_easy_diffusion {
        return Ok(Some(easy_diffusion::parse(&chunks)));
    }
    if let Some(workflow) = workflow {
        let parsed = comfyui::parse_workflow(workflow);
        let mut imported = or_unread(parsed, ParamSource::ComfyUi, "comfyui_workflow", workflow);
        if prompt.is_some() {
            imported.notes.push("the prompt chunk is not ComfyUI's JSON graph; read the workflow instead".into());
        }
        return Ok(Some(imported));
    }
    if let Some(prompt) = prompt {
        // Not JSON (else it was read above): the error ComfyUI's reader gives.
        return comfyui::parse(prompt, None).map(Some);
    }
    if novelai::detect(&chunks) {
        let parsed = novelai::parse(&chunks);
        return Ok(Some(or_unread(parsed, ParamSource::NovelAi, "novelai_comment", text_of("Comment").unwrap_or(""))));
    }
    Ok(None)
}

/// A reader's result, or, when a generator's own chunk does not parse, what names the generator
/// with the reason as a note and the text kept under `key`: the image did come from it.
fn or_unread(
    parsed: Result<ImportedParams, ParamsError>,
    source: ParamSource,
    key: &str,
    text: &str,
) -> ImportedParams {
    parsed.unwrap_or_else(|error| {
        let mut imported = ImportedParams::new(source);
        imported.notes.push(format!("{error}; the text is kept as it is"));
        if !text.is_empty() {
            imported.settings.insert(key.to_string(), json!(text));
        }
        imported
    })
}

/// AUTOMATIC1111 text from `parameters` (or a stealth payload): Fooocus' a1111 scheme when the
/// scheme or the version says so.
fn parameters_text(text: &str, fooocus_scheme: Option<&str>) -> ImportedParams {
    let mut imported = a1111::parse(text);
    if fooocus_scheme == Some("a1111") || fooocus::is_fooocus_a1111(&imported) {
        imported.source = ParamSource::Fooocus;
    }
    if json_object(text).is_some() {
        imported.notes.push("the parameters are JSON of no known generator; read as AUTOMATIC1111 text".into());
    }
    imported
}

/// The EXIF tags ComfyUI writes its `prompt:` and `workflow:` into (it starts at `Model` and
/// counts down), and `UserComment` where other tools put them.
const COMFYUI_TAGS: [&str; 4] = ["EXIF Model", "EXIF Make", "EXIF ImageDescription", "EXIF UserComment"];

/// Entries whose text may be a generator's, in the order they are tried.
const FREE_TEXT: [&str; 5] =
    ["EXIF UserComment", "XMP exif:UserComment", "EXIF XPComment", "EXIF ImageDescription", "JPEG comment"];

fn from_exif_and_xmp(metadata: &ImageMetadata) -> Option<ImportedParams> {
    let prefixed = |prefix: &str| {
        COMFYUI_TAGS
            .iter()
            .filter_map(|key| metadata.get(key))
            .find_map(|text| text.strip_prefix(prefix).map(str::trim))
    };
    let comfyui = match (prefixed("prompt:"), prefixed("workflow:")) {
        (Some(prompt), workflow) => Some(comfyui::parse(prompt, workflow)),
        (None, Some(workflow)) => Some(comfyui::parse_workflow(workflow)),
        (None, None) => None,
    };
    let mut problem = None;
    match comfyui {
        Some(Ok(mut imported)) => {
            imported.notes.push("read from the image's EXIF (ComfyUI's prompt: and workflow: tags)".into());
            return Some(imported);
        }
        Some(Err(error)) => problem = Some(format!("EXIF prompt:/workflow: tags: {error}")),
        None => {}
    }
    let hints = hints(metadata);
    FREE_TEXT.iter().find_map(|key| {
        let text = metadata.get(key)?;
        let mut imported = classify(text, &hints, false)?;
        imported.notes.push(format!("read from {key}"));
        imported.notes.extend(problem.clone());
        Some(imported)
    })
}

/// Matches one text to a generator: a JSON object by its keys, other text as AUTOMATIC1111's
/// when it has the settings line (or always, with `always_a1111`, for a stealth payload).
fn classify(text: &str, hints: &Hints<'_>, always_a1111: bool) -> Option<ImportedParams> {
    let Some(object) = json_object(text) else {
        let imported = parameters_text(text, hints.fooocus_scheme);
        let has_settings = ["steps", "sampler", "seed", "cfg_scale"].iter().any(|k| imported.settings.contains_key(*k));
        return (always_a1111 || has_settings).then_some(imported);
    };
    if swarmui::detect(&object) {
        return swarmui::parse(&object).ok();
    }
    if novelai::detect(&object) {
        return novelai::parse(&object).ok();
    }
    if hints.fooocus_scheme == Some("fooocus") || fooocus::detect(&object) {
        return Some(fooocus::parse_json(&object));
    }
    if easy_diffusion::detect(object.keys().map(String::as_str)) {
        return Some(easy_diffusion::parse(&object));
    }
    if draw_things::detect(&object, hints.creator_tool) {
        return Some(draw_things::parse(&object));
    }
    if object.contains_key("positive_prompt") {
        return invokeai::parse_metadata(text, None, None).ok();
    }
    let is_graph = !object.is_empty() && object.values().all(|node| node.get("class_type").is_some());
    if is_graph {
        return comfyui::parse(text, None).ok();
    }
    None
}
