//! InvokeAI's three metadata eras, each in its own PNG text chunk:
//!
//! - 3.x and later: `invokeai_metadata`, a JSON object (`positive_prompt`, `negative_prompt`,
//!   `seed`, `steps`, `cfg_scale`, `scheduler`, `width`, `height`, `model` — `{"model_name",
//!   "base_model", "model_type"}` in 3.x, `{"key", "hash", "name", "base", "type"}` from 4.0 —
//!   `vae`, `loras`, `app_version`, …), beside `invokeai_graph` (the executed graph) and
//!   sometimes `invokeai_workflow`, both kept whole.
//! - 2.x: `sd-metadata`, JSON after the proposed "RFC 266" standard: `model_weights` (or
//!   `model_id`), `model_hash`, `app_id`, `app_version`, and `image` (or `images`, for grids): its
//!   `prompt` (text, or a list of `{"prompt", "weight"}`), `seed`, `steps`, `cfg_scale`,
//!   `sampler`, `width`, `height`, `type`, ….
//! - 1.x and 2.x: `Dream`, the command line that made the image:
//!   `"a prompt [a negative]" -s 50 -S 123 -W 512 -H 512 -C 7.5 -A k_lms`.
//!
//! In the two older eras the negative prompt is written inside the prompt between square brackets;
//! it is split out.

use serde_json::{Value, json};

use super::fields::{Role, apply, json_object, keep, map_object, order_settings};
use super::{ImportedParams, ParamSource, ParamsError};

const METADATA_TABLE: [(&str, Role); 8] = [
    ("positive_prompt", Role::Prompt),
    ("negative_prompt", Role::Negative),
    ("seed", Role::Seed),
    ("steps", Role::Steps),
    ("cfg_scale", Role::Cfg),
    ("scheduler", Role::Scheduler),
    ("width", Role::Width),
    ("height", Role::Height),
];

/// Maps `invokeai_metadata` (3.x and later) onto the manifest's fields, keeping `graph`
/// (`invokeai_graph`) and `workflow` (`invokeai_workflow`) when the image has them.
pub fn parse_metadata(
    metadata: &str,
    graph: Option<&str>,
    workflow: Option<&str>,
) -> Result<ImportedParams, ParamsError> {
    let object = json_object(metadata)
        .ok_or(ParamsError::Unexpected { record: "invokeai_metadata", expected: "a JSON object" })?;
    let mut imported = ImportedParams::new(ParamSource::InvokeAi);
    let (model, rest): (Vec<_>, Vec<_>) = object.into_iter().partition(|(key, _)| key == "model");
    map_object(&mut imported, &rest.into_iter().collect(), &METADATA_TABLE);
    if let Some((_, model)) = model.into_iter().next() {
        match &model {
            Value::Object(fields) => {
                let name = ["model_name", "name"].iter().find_map(|k| fields.get(*k)?.as_str());
                imported.model_name = name.map(str::to_string);
                if let Some(hash) = fields.get("hash").and_then(Value::as_str) {
                    imported.model_version = Some(hash.to_string());
                    imported.notes.push("model version taken from the model hash".into());
                }
                if let Some(base) = ["base", "base_model"].iter().find_map(|k| fields.get(*k)) {
                    keep(&mut imported, "base_model", base.clone());
                }
            }
            Value::String(name) => imported.model_name = Some(name.clone()),
            _ => imported.notes.push("the model entry is neither an object nor a name".into()),
        }
        keep(&mut imported, "model", model);
    }
    for (key, text) in [("invokeai_graph", graph), ("invokeai_workflow", workflow)] {
        if let Some(text) = text {
            let value = serde_json::from_str::<Value>(text).unwrap_or_else(|_| json!(text));
            keep(&mut imported, key, value);
        }
    }
    // InvokeAI 3 and later call the sampling method the "scheduler" (euler, dpmpp_2m_k, ...):
    // it is the manifest's sampler too.
    if !imported.settings.contains_key("sampler")
        && let Some(scheduler) = imported.settings.get("scheduler").cloned()
    {
        imported.settings.insert("sampler".into(), scheduler);
    }
    order_settings(&mut imported);
    Ok(imported)
}

const SD_METADATA_TABLE: [(&str, Role); 6] = [
    ("seed", Role::Seed),
    ("steps", Role::Steps),
    ("cfg_scale", Role::Cfg),
    ("sampler", Role::Sampler),
    ("width", Role::Width),
    ("height", Role::Height),
];

/// Maps `sd-metadata` (2.x) onto the manifest's fields.
pub fn parse_sd_metadata(text: &str) -> Result<ImportedParams, ParamsError> {
    let object =
        json_object(text).ok_or(ParamsError::Unexpected { record: "sd-metadata", expected: "a JSON object" })?;
    let mut imported = ImportedParams::new(ParamSource::InvokeAi);
    let image = match (object.get("image"), object.get("images")) {
        (Some(Value::Object(image)), _) => Some(image.clone()),
        (_, Some(Value::Array(images))) => {
            if images.len() > 1 {
                imported
                    .notes
                    .push(format!("sd-metadata describes {} images (a grid); the first is read", images.len()));
            }
            images.first().and_then(Value::as_object).cloned()
        }
        _ => None,
    };
    match image {
        Some(mut image) => {
            if let Some(prompt) = image.remove("prompt") {
                match prompt_text(&prompt) {
                    Some(text) => split_negative(&mut imported, &text),
                    None => {
                        imported.notes.push("the image's prompt is neither text nor a list of weighted prompts".into());
                        keep(&mut imported, "prompt", prompt);
                    }
                }
            }
            map_object(&mut imported, &image, &SD_METADATA_TABLE);
        }
        None => imported.notes.push("sd-metadata has no image entry; only its top-level keys were read".into()),
    }
    for (key, value) in object {
        match key.as_str() {
            "image" | "images" => {}
            "model_weights" | "model_id" if imported.model_name.is_none() => {
                apply(&mut imported, &key, Role::Model, &value)
            }
            "model_hash" => apply(&mut imported, &key, Role::ModelHash, &value),
            _ => keep(&mut imported, &key, value),
        }
    }
    if imported.model_version.is_some() {
        imported.notes.push("model version taken from the model hash".into());
    }
    order_settings(&mut imported);
    Ok(imported)
}

/// A prompt as text, or the list `[{"prompt": …, "weight": …}]` InvokeAI writes: one entry is its
/// text; several are `text:weight` joined by commas, as InvokeAI itself repacks them.
fn prompt_text(prompt: &Value) -> Option<String> {
    match prompt {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => {
            let parts: Option<Vec<(String, Option<String>)>> = parts
                .iter()
                .map(|part| {
                    let text = part.get("prompt")?.as_str()?.to_string();
                    Some((text, part.get("weight").map(Value::to_string)))
                })
                .collect();
            let parts = parts?;
            match parts.as_slice() {
                [(text, _)] => Some(text.clone()),
                _ => Some(
                    parts
                        .iter()
                        .map(|(text, weight)| weight.as_ref().map_or_else(|| text.clone(), |w| format!("{text}:{w}")))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            }
        }
        _ => None,
    }
}

/// Sets the prompt from InvokeAI 1.x/2.x text, where `[...]` groups are the negative prompt.
fn split_negative(imported: &mut ImportedParams, text: &str) {
    let mut positive = String::new();
    let mut negatives = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '[' => {
                if depth > 0 {
                    current.push(c);
                }
                depth += 1;
            }
            ']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    negatives.push(std::mem::take(&mut current).trim().to_string());
                } else {
                    current.push(c);
                }
            }
            _ if depth > 0 => current.push(c),
            _ => positive.push(c),
        }
    }
    if depth > 0 {
        // An unclosed bracket: not a negative prompt after all.
        positive.push('[');
        positive.push_str(&current);
    }
    let positive = positive.split_whitespace().collect::<Vec<_>>().join(" ");
    if !positive.is_empty() {
        imported.prompt = Some(positive);
    }
    let negative = negatives.into_iter().filter(|n| !n.is_empty()).collect::<Vec<_>>().join(", ");
    if !negative.is_empty() {
        imported.settings.insert("negative_prompt".into(), json!(negative));
    }
}

/// The switches of the `Dream` command line, with the role of each value.
const DREAM_SWITCHES: [(&str, Role); 6] = [
    ("-s", Role::Steps),
    ("-S", Role::Seed),
    ("-W", Role::Width),
    ("-H", Role::Height),
    ("-C", Role::Cfg),
    ("-A", Role::Sampler),
];

/// Maps the `Dream` command line onto the manifest's fields. Switches it does not know are kept
/// under their name (`-f 0.75` as `f`, `--seamless` as `seamless`: true).
pub fn parse_dream(text: &str) -> Result<ImportedParams, ParamsError> {
    let words = split_command_line(text);
    let mut words = words.into_iter().peekable();
    let prompt = match words.peek() {
        Some((word, _)) if !word.starts_with('-') => words.next().map(|(word, _)| word),
        _ => None,
    };
    let mut imported = ImportedParams::new(ParamSource::InvokeAi);
    match prompt {
        Some(prompt) => split_negative(&mut imported, &prompt),
        None => return Err(ParamsError::Missing { record: "the Dream text", missing: "prompt at its start" }),
    }
    let mut skipped = 0usize;
    while let Some((switch, quoted)) = words.next() {
        if quoted || !switch.starts_with('-') {
            // Noted for the first few only: a long text of stray words must not become as many notes.
            skipped += 1;
            if skipped <= 3 {
                imported.notes.push(format!("{switch:?} in the Dream text is not a switch; skipped"));
            }
            continue;
        }
        let value = match words.peek() {
            Some((next, quoted)) if *quoted || !is_switch(next) => words.next().map(|(v, _)| v),
            _ => None,
        };
        match (DREAM_SWITCHES.iter().find(|(name, _)| *name == switch), value) {
            (Some(&(_, role)), Some(value)) => apply(&mut imported, &switch, role, &json!(value)),
            (_, value) => {
                let name = switch.trim_start_matches('-');
                keep(&mut imported, name, value.map_or(json!(true), |v| json!(v)));
            }
        }
    }
    order_settings(&mut imported);
    if skipped > 3 {
        imported.notes.push(format!("{} more words in the Dream text are not switches; skipped", skipped - 3));
    }
    Ok(imported)
}

/// A switch: `-x` or `--name`, not a negative number.
fn is_switch(word: &str) -> bool {
    word.strip_prefix('-').is_some_and(|rest| rest.chars().next().is_some_and(|c| c.is_alphabetic() || c == '-'))
}

/// Splits a command line into words; double- or single-quoted words (with backslash escapes)
/// keep their spaces and are flagged as quoted.
fn split_command_line(text: &str) -> Vec<(String, bool)> {
    let mut words = Vec::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' || c == '\'' {
            chars.next();
            let mut word = String::new();
            while let Some(c2) = chars.next() {
                match c2 {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            word.push(escaped);
                        }
                    }
                    _ if c2 == c => break,
                    _ => word.push(c2),
                }
            }
            words.push((word, true));
        } else {
            let mut word = String::new();
            while let Some(&c2) = chars.peek() {
                if c2.is_whitespace() {
                    break;
                }
                word.push(c2);
                chars.next();
            }
            words.push((word, false));
        }
    }
    words
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// InvokeAI 4.x `invokeai_metadata`.
    pub(crate) const METADATA_V4: &str = r#"{"generation_mode": "sdxl_txt2img", "positive_prompt": "a red barn, autumn",
        "negative_prompt": "people", "width": 1024, "height": 1024, "seed": 2896457302, "rand_device": "cpu",
        "cfg_scale": 6.5, "cfg_rescale_multiplier": 0, "steps": 32, "scheduler": "dpmpp_3m_k",
        "model": {"key": "9a7c2d8e", "hash": "blake3:0f7d5b1c", "name": "Juggernaut XL v9", "base": "sdxl", "type": "main"},
        "loras": [], "positive_style_prompt": "a red barn, autumn", "app_version": "4.2.4"}"#;

    /// InvokeAI 3.x `invokeai_metadata`.
    pub(crate) const METADATA_V3: &str = r#"{"app_version": "3.3.0post3", "generation_mode": "txt2img", "positive_prompt": "landscape",
        "negative_prompt": "low quality", "width": 768, "height": 432, "seed": 356120443, "rand_device": "cpu",
        "cfg_scale": 7.5, "steps": 50, "scheduler": "dpmpp_2m_sde_k", "clip_skip": 0,
        "model": {"model_name": "amixx_3Prunedfp16", "base_model": "sd-1", "model_type": "main"},
        "controlnets": [], "loras": [], "vae": {"model_name": "sd-vae-ft-mse", "base_model": "sd-1"}}"#;

    /// InvokeAI 2.x `sd-metadata`.
    pub(crate) const SD_METADATA: &str = r#"{"model": "stable diffusion", "model_weights": "stable-diffusion-1.5",
        "model_hash": "cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516", "app_id": "invoke-ai/InvokeAI",
        "app_version": "2.2.5", "image": {"prompt": [{"prompt": "a castle on a hill [fog, blur]", "weight": 1.0}],
        "steps": 50, "cfg_scale": 7.5, "threshold": 0, "perlin": 0, "height": 512, "width": 512, "seed": 3357757885,
        "seamless": false, "hires_fix": false, "type": "txt2img", "postprocessing": null, "sampler": "k_lms", "variations": []}}"#;

    pub(crate) const DREAM: &str =
        r#""a castle on a hill [fog, blur]" -s 50 -S 3357757885 -W 512 -H 512 -C 7.5 -A k_lms"#;

    #[test]
    fn invokeai_metadata_of_both_versions() {
        let graph = r#"{"id": "abc", "nodes": {}, "edges": []}"#;
        let v4 = parse_metadata(METADATA_V4, Some(graph), None).unwrap();
        assert_eq!(v4.source, ParamSource::InvokeAi);
        assert_eq!(v4.prompt.as_deref(), Some("a red barn, autumn"));
        assert_eq!(v4.model_name.as_deref(), Some("Juggernaut XL v9"));
        assert_eq!(v4.model_version.as_deref(), Some("blake3:0f7d5b1c"));
        let s = &v4.settings;
        let keys: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(
            &keys[..9],
            [
                "seed",
                "steps",
                "sampler",
                "cfg_scale",
                "scheduler",
                "negative_prompt",
                "width",
                "height",
                "generation_mode"
            ]
        );
        assert_eq!(s["seed"], json!(2896457302u64));
        assert_eq!(s["scheduler"], json!("dpmpp_3m_k"));
        assert_eq!(s["sampler"], json!("dpmpp_3m_k"), "InvokeAI's scheduler is its sampler");
        assert_eq!(s["base_model"], json!("sdxl"));
        assert_eq!(s["model"]["key"], json!("9a7c2d8e"));
        assert_eq!(s["invokeai_graph"]["id"], json!("abc"));
        assert_eq!(s["app_version"], json!("4.2.4"));

        let v3 = parse_metadata(METADATA_V3, None, Some("not json")).unwrap();
        assert_eq!(v3.model_name.as_deref(), Some("amixx_3Prunedfp16"));
        assert_eq!(v3.model_version, None);
        assert_eq!(v3.settings["base_model"], json!("sd-1"));
        assert_eq!(v3.settings["vae"]["model_name"], json!("sd-vae-ft-mse"));
        assert_eq!(v3.settings["invokeai_workflow"], json!("not json"));
        assert!(v3.notes.is_empty(), "{:?}", v3.notes);
        assert!(parse_metadata("[]", None, None).is_err());
    }

    #[test]
    fn sd_metadata_and_dream_agree() {
        for imported in [parse_sd_metadata(SD_METADATA).unwrap(), parse_dream(DREAM).unwrap()] {
            assert_eq!(imported.source, ParamSource::InvokeAi);
            assert_eq!(imported.prompt.as_deref(), Some("a castle on a hill"));
            let s = &imported.settings;
            assert_eq!(s["negative_prompt"], json!("fog, blur"));
            assert_eq!(s["seed"], json!(3357757885u64));
            assert_eq!(s["steps"], json!(50));
            assert_eq!(s["cfg_scale"], json!(7.5));
            assert_eq!(s["sampler"], json!("k_lms"));
            assert_eq!(s["width"], json!(512));
            assert_eq!(s["height"], json!(512));
        }
        let sd = parse_sd_metadata(SD_METADATA).unwrap();
        assert_eq!(sd.model_name.as_deref(), Some("stable-diffusion-1.5"));
        assert_eq!(
            sd.model_version.as_deref(),
            Some("cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516")
        );
        assert_eq!(sd.settings["app_id"], json!("invoke-ai/InvokeAI"));
        assert_eq!(sd.settings["type"], json!("txt2img"));
    }

    #[test]
    fn odd_invokeai_texts() {
        // Weighted sub-prompts, a grid, and no model.
        let grid = r#"{"images": [{"prompt": [{"prompt": "a cat", "weight": 0.5}, {"prompt": "a dog", "weight": 1.5}], "seed": 1},
                                  {"prompt": "x", "seed": 2}]}"#;
        let imported = parse_sd_metadata(grid).unwrap();
        assert_eq!(imported.prompt.as_deref(), Some("a cat:0.5,a dog:1.5"));
        assert_eq!(imported.settings["seed"], json!(1));
        assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
        assert!(parse_sd_metadata("{").is_err());
        assert_eq!(parse_sd_metadata("{}").unwrap().notes.len(), 1);

        let dream = parse_dream(r#""say \"hi\" [nested [x]] [" -s 5 -f 0.75 --seamless -S -1 stray"#).unwrap();
        assert_eq!(dream.prompt.as_deref(), Some("say \"hi\" ["), "an unclosed group stays in the prompt");
        assert_eq!(dream.settings["negative_prompt"], json!("nested [x]"));
        assert_eq!(dream.settings["steps"], json!(5));
        assert_eq!(dream.settings["f"], json!("0.75"));
        assert_eq!(dream.settings["seamless"], json!(true));
        assert!(!dream.settings.contains_key("seed"));
        assert_eq!(dream.notes.len(), 2, "{:?}", dream.notes);
        let closed = parse_dream(r#""a [b [c]] d" -s 1"#).unwrap();
        assert_eq!(closed.prompt.as_deref(), Some("a d"));
        assert_eq!(closed.settings["negative_prompt"], json!("b [c]"));
        assert!(parse_dream("-s 5").is_err());
        assert!(parse_dream("").is_err());
    }
}
