//! Generation parameters that image files already carry, mapped onto the manifest's fields.
//!
//! [`import_from_image`] reads PNG, JPEG and WebP: their metadata ([`container`]: PNG text chunks,
//! EXIF ([`exif`]), XMP, JPEG comments) and, when that gives nothing, data hidden in the pixels
//! ([`stealth`]). [`read_image_metadata`] gives the raw text found, for a viewer, and
//! [`import_from_metadata`] the parameters in it. One reader per
//! generator maps what it wrote onto the manifest: AUTOMATIC1111/Forge ([`a1111`]), ComfyUI
//! ([`comfyui`]), Fooocus ([`fooocus`]), InvokeAI ([`invokeai`]), NovelAI ([`novelai`]), SwarmUI
//! ([`swarmui`]), Easy Diffusion ([`easy_diffusion`]) and Draw Things ([`draw_things`]); which
//! reads what, and in which order, is in `detect.rs`. No GUI code lives here.

pub mod a1111;
pub mod comfyui;
pub mod container;
mod detect;
pub mod draw_things;
pub mod easy_diffusion;
mod error;
pub mod exif;
mod fields;
pub mod fooocus;
pub mod invokeai;
pub mod novelai;
pub mod report;
pub mod stealth;
pub mod swarmui;

use serde_json::{Map, Value};

use crate::format::ModelInfo;

pub use container::{Container, ImageMetadata};
pub use error::ParamsError;

/// Text read from one place (a text chunk, an XMP packet, EXIF, a stealth payload) at most.
pub const TEXT_LIMIT: usize = 16 << 20;

/// Which convention the parameters came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSource {
    Automatic1111,
    ComfyUi,
    Fooocus,
    InvokeAi,
    NovelAi,
    SwarmUi,
    EasyDiffusion,
    DrawThings,
}

impl ParamSource {
    pub fn name(self) -> &'static str {
        match self {
            ParamSource::Automatic1111 => "AUTOMATIC1111/Forge parameters",
            ParamSource::ComfyUi => "ComfyUI prompt graph",
            ParamSource::Fooocus => "Fooocus metadata",
            ParamSource::InvokeAi => "InvokeAI metadata",
            ParamSource::NovelAi => "NovelAI metadata",
            ParamSource::SwarmUi => "SwarmUI parameters",
            ParamSource::EasyDiffusion => "Easy Diffusion metadata",
            ParamSource::DrawThings => "Draw Things metadata",
        }
    }
}

/// What was found, in the manifest's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedParams {
    pub source: ParamSource,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub prompt: Option<String>,
    /// `generation_settings`: seed, steps, sampler, cfg_scale, scheduler when found, then
    /// `negative_prompt` and every other key the source carried.
    pub settings: Map<String, Value>,
    /// What the user should know about the import (guesses, values that did not parse).
    pub notes: Vec<String>,
}

impl ImportedParams {
    fn new(source: ParamSource) -> ImportedParams {
        ImportedParams {
            source,
            model_name: None,
            model_version: None,
            prompt: None,
            settings: Map::new(),
            notes: Vec::new(),
        }
    }

    /// Fills `info` from these parameters where `info` has nothing yet: empty strings, absent
    /// settings keys. What the user already set always wins.
    pub fn fill_missing(&self, info: &mut ModelInfo) {
        let fill = |field: &mut String, value: &Option<String>| {
            if field.is_empty()
                && let Some(value) = value
            {
                field.clone_from(value);
            }
        };
        fill(&mut info.model_name, &self.model_name);
        fill(&mut info.version, &self.model_version);
        fill(&mut info.prompt, &self.prompt);
        if self.settings.is_empty() {
            return;
        }
        let settings = info.generation_settings.get_or_insert_with(Map::new);
        for (key, value) in &self.settings {
            settings.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }

    /// Lines for a person: what was found, then the notes.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![format!("found {}", self.source.name())];
        let mut found = |label: &str, value: &Option<String>| {
            if let Some(value) = value {
                lines.push(format!("{label}: {}", one_line(value, 80)));
            }
        };
        found("model", &self.model_name);
        found("model version", &self.model_version);
        found("prompt", &self.prompt);
        for (key, value) in &self.settings {
            if key.starts_with("comfyui_") || key.starts_with("invokeai_") {
                lines.push(format!("{key}: kept ({} bytes of JSON)", value.to_string().len()));
            } else {
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
                lines.push(format!("{key}: {}", one_line(&text, 80)));
            }
        }
        lines.extend(self.notes.iter().map(|note| format!("note: {note}")));
        lines
    }
}

fn one_line(text: &str, max_chars: usize) -> String {
    let flat = text.replace('\n', " ⏎ ");
    if flat.chars().count() > max_chars {
        format!("{}…", flat.chars().take(max_chars).collect::<String>())
    } else {
        flat
    }
}

/// The text chunks (`tEXt`, `zTXt`, `iTXt`) of a PNG before its image data, as keyword and text.
/// Compressed text is inflated up to [`TEXT_LIMIT`] bytes, all chunks together.
pub fn png_text_chunks(png: &[u8]) -> Result<Vec<(String, String)>, ParamsError> {
    png_chunks(png).map(|(chunks, _)| chunks)
}

/// Keyword and text of each text chunk.
type TextChunks = Vec<(String, String)>;

/// The text chunks of a PNG before its image data, and its `eXIf` chunk when it has one there.
fn png_chunks(png: &[u8]) -> Result<(TextChunks, Option<Vec<u8>>), ParamsError> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info().map_err(|e| ParamsError::UnreadablePng { detail: e.to_string() })?;
    let info = reader.info();
    let mut chunks: Vec<(String, String)> =
        info.uncompressed_latin1_text.iter().map(|c| (c.keyword.clone(), c.text.clone())).collect();
    // One budget for all compressed chunks together: each inflating to the limit, a PNG of many
    // small chunks would inflate to many times it.
    let mut inflate_budget = TEXT_LIMIT;
    let inflate_error =
        |chunk: &'static str, keyword: &str, detail: png::DecodingError| ParamsError::TextChunkInflate {
            chunk,
            keyword: keyword.to_string(),
            detail: detail.to_string(),
            limit: TEXT_LIMIT,
        };
    let text_error = |chunk: &'static str, keyword: &str, detail: png::DecodingError| ParamsError::TextChunkText {
        chunk,
        keyword: keyword.to_string(),
        detail: detail.to_string(),
    };
    for chunk in &info.compressed_latin1_text {
        let mut chunk = chunk.clone();
        chunk.decompress_text_with_limit(inflate_budget).map_err(|e| inflate_error("zTXt", &chunk.keyword, e))?;
        let text = chunk.get_text().map_err(|e| text_error("zTXt", &chunk.keyword, e))?;
        inflate_budget = inflate_budget.saturating_sub(text.len());
        chunks.push((chunk.keyword.clone(), text));
    }
    for chunk in &info.utf8_text {
        let mut chunk = chunk.clone();
        chunk.decompress_text_with_limit(inflate_budget).map_err(|e| inflate_error("iTXt", &chunk.keyword, e))?;
        let text = chunk.get_text().map_err(|e| text_error("iTXt", &chunk.keyword, e))?;
        inflate_budget = inflate_budget.saturating_sub(text.len());
        chunks.push((chunk.keyword.clone(), text));
    }
    let exif = info.exif_metadata.as_ref().map(|exif| exif.to_vec());
    Ok((chunks, exif))
}

/// The generation parameters a PNG carries, as [`import_from_image`] reads them; bytes that are
/// not a PNG are refused, as before JPEG and WebP were read.
pub fn import_from_png(png: &[u8]) -> Result<Option<ImportedParams>, ParamsError> {
    if Container::detect(png) != Some(Container::Png) {
        return Err(ParamsError::UnreadablePng { detail: "no PNG signature".into() });
    }
    import_from_image(png)
}

/// The generation parameters a PNG, JPEG or WebP image carries, from whichever generator wrote
/// them (the precedence is in `detect.rs`'s documentation). Stealth data in the pixels is looked
/// for only when the rest of the metadata gives nothing. `Ok(None)` when nothing is recognised;
/// `Err` when the bytes are none of the three formats, a PNG's chunks cannot be read, or a PNG's
/// `prompt` chunk is not ComfyUI's JSON. Damaged EXIF or XMP beside what was read becomes notes; a
/// damaged stealth payload gives `Ok(None)` here, and its problem is in [`read_image_metadata`].
pub fn import_from_image(bytes: &[u8]) -> Result<Option<ImportedParams>, ParamsError> {
    let metadata = container::read(bytes, false)?;
    if let Some(imported) = detect::import(&metadata)? {
        return Ok(Some(imported));
    }
    if matches!(metadata.container, Container::Png | Container::WebP)
        && let Ok(Some(found)) = stealth::read(bytes)
    {
        return Ok(detect::import_stealth(&found, &metadata));
    }
    Ok(None)
}

/// The generation parameters in metadata already read with [`read_image_metadata`], as
/// [`import_from_image`] finds them: a viewer that shows both reads the image once.
pub fn import_from_metadata(metadata: &ImageMetadata) -> Result<Option<ImportedParams>, ParamsError> {
    if let Some(imported) = detect::import(metadata)? {
        return Ok(Some(imported));
    }
    Ok(metadata.stealth.as_ref().and_then(|found| detect::import_stealth(found, metadata)))
}

/// Everything an image's metadata holds, for a viewer: its entries as key and text (PNG text
/// chunks under their keywords, `EXIF <tag>`, `XMP` and `XMP <property>`, `JPEG comment`, and
/// stealth payloads under their signature), and the problems met: see [`container::read`].
pub fn read_image_metadata(bytes: &[u8]) -> Result<ImageMetadata, ParamsError> {
    container::read(bytes, true)
}

/// `Schedule type` -> `schedule_type`: the settings key for a source's label.
fn settings_key(label: &str) -> String {
    let mut key = String::with_capacity(label.len());
    for c in label.trim().chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

/// A checkpoint file name without its extension (`sd_xl_base_1.0.safetensors` -> `sd_xl_base_1.0`),
/// and without the folder some front ends prefix.
fn model_name_of_checkpoint(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    const EXTENSIONS: [&str; 6] = [".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf"];
    EXTENSIONS
        .iter()
        .find_map(|ext| {
            base.len()
                .checked_sub(ext.len())
                .filter(|&cut| base.get(cut..).is_some_and(|tail| tail.eq_ignore_ascii_case(ext)))
                .and_then(|cut| base.get(..cut))
        })
        .unwrap_or(base)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compressed_text_chunks_share_one_inflate_budget() {
        // Two zTXt chunks of 9 MiB each: either alone is within TEXT_LIMIT, both together are not.
        let text = "a".repeat(9 << 20);
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, 1, 1);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.add_ztxt_chunk("first".into(), text.clone()).unwrap();
        encoder.add_ztxt_chunk("second".into(), text).unwrap();
        encoder.write_header().unwrap().write_image_data(&[0]).unwrap();
        let error = png_text_chunks(&png).unwrap_err();
        assert!(
            matches!(&error, ParamsError::TextChunkInflate { chunk: "zTXt", keyword, limit: TEXT_LIMIT, .. } if keyword == "second"),
            "{error}"
        );
        assert!(error.to_string().ends_with(&format!("(all text chunks together may inflate to {TEXT_LIMIT} bytes)")));
    }

    #[test]
    fn labels_become_snake_case_keys() {
        for (label, key) in [
            ("Schedule type", "schedule_type"),
            ("CFG scale", "cfg_scale"),
            ("Hires upscale", "hires_upscale"),
            ("ADetailer model 2nd", "adetailer_model_2nd"),
            ("Lora hashes", "lora_hashes"),
            ("  Size-1 / x ", "size_1_x"),
        ] {
            assert_eq!(settings_key(label), key, "{label:?}");
        }
    }

    #[test]
    fn checkpoint_names_lose_their_extension_and_folder() {
        for (file, name) in [
            ("v1-5-pruned-emaonly.safetensors", "v1-5-pruned-emaonly"),
            ("sd_xl_base_1.0.safetensors", "sd_xl_base_1.0"),
            ("SDXL/juggernaut.CKPT", "juggernaut"),
            ("flux1-dev-Q4.gguf", "flux1-dev-Q4"),
            ("C:\\models\\a.b.pt", "a.b"),
            ("no_extension", "no_extension"),
            ("model.v2", "model.v2"),
        ] {
            assert_eq!(model_name_of_checkpoint(file), name, "{file:?}");
        }
    }

    #[test]
    fn filling_keeps_what_the_user_set() {
        let mut imported = ImportedParams::new(ParamSource::Automatic1111);
        imported.model_name = Some("imported model".into());
        imported.model_version = Some("abc123".into());
        imported.prompt = Some("a cat".into());
        imported.settings.insert("seed".into(), json!(42));
        imported.settings.insert("steps".into(), json!(20));
        let mut info = ModelInfo { model_name: "mine".into(), ..ModelInfo::default() };
        info.generation_settings = Some(json!({"seed": 7}).as_object().cloned().unwrap_or_default());
        imported.fill_missing(&mut info);
        assert_eq!(info.model_name, "mine");
        assert_eq!(info.version, "abc123");
        assert_eq!(info.prompt, "a cat");
        let settings = info.generation_settings.unwrap();
        assert_eq!(settings["seed"], json!(7));
        assert_eq!(settings["steps"], json!(20));
    }

    #[test]
    fn png_text_chunks_of_all_three_kinds_are_read() {
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, 1, 1);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.add_text_chunk("parameters".into(), "a cat\nSteps: 20, Sampler: Euler, Seed: 1".into()).unwrap();
            encoder.add_ztxt_chunk("zipped".into(), "compressed text ".repeat(50)).unwrap();
            encoder.add_itxt_chunk("utf8".into(), "ünïcödé ✓".into()).unwrap();
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[0]).unwrap();
        }
        let chunks = png_text_chunks(&png).unwrap();
        let find = |key: &str| chunks.iter().find(|(k, _)| k == key).map(|(_, t)| t.clone());
        assert_eq!(find("parameters").as_deref(), Some("a cat\nSteps: 20, Sampler: Euler, Seed: 1"));
        assert_eq!(find("zipped"), Some("compressed text ".repeat(50)));
        assert_eq!(find("utf8").as_deref(), Some("ünïcödé ✓"));
        assert!(png_text_chunks(b"not a png").is_err());
    }

    mod images {
        //! Whole images as each generator writes them, through [`import_from_image`].

        use super::super::*;
        use crate::params::container::tests::{
            exif_segment, jpeg_with_segments, png_with_text, webp_with_chunks, xmp_segment,
        };
        use crate::params::exif::tests::{Entry, tiff, unicode_comment};
        use crate::params::stealth::tests::{gzip, stealth_png, stream};
        use crate::params::{comfyui, easy_diffusion, fooocus, invokeai, novelai, swarmui};
        use serde_json::json;

        const A1111: &str = "a red fox in snow\nNegative prompt: blurry\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, \
            CFG scale: 6.5, Seed: 3551078465, Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.10.1";

        const CIVITAI: &str = "a castle\nNegative prompt: fog\nSteps: 25, Sampler: Euler a, CFG scale: 7, Seed: 42, \
            Size: 512x768, Model: dreamshaper_8, Civitai resources: [{\"type\":\"checkpoint\",\"modelVersionId\":128713,\
            \"modelName\":\"DreamShaper\",\"modelVersionName\":\"8\"}], Civitai metadata: {}";

        const DRAW_THINGS_XMP: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{&quot;c&quot;:&quot;a koi pond&quot;,&quot;uc&quot;:&quot;text&quot;,&quot;seed&quot;:2212391478,&quot;steps&quot;:30,&quot;scale&quot;:5.5,&quot;sampler&quot;:&quot;DPM++ 2M Karras&quot;,&quot;model&quot;:&quot;sd_xl_base_1.0_f16.ckpt&quot;,&quot;size&quot;:&quot;1024x768&quot;}</rdf:li></rdf:Alt></exif:UserComment>
<xmp:CreatorTool>Draw Things</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta>"#;

        /// A JPEG whose EXIF has `ifd0` and an Exif IFD with a UserComment (UTF-16 in `comment_order`).
        fn jpeg_comment(text: &str, big_endian_tiff: bool, big_endian_comment: bool) -> Vec<u8> {
            let exif = tiff(
                big_endian_tiff,
                vec![],
                vec![Entry::undefined(0x9286, unicode_comment(text, big_endian_comment))],
            );
            jpeg_with_segments(&[exif_segment(exif)])
        }

        fn webp_comment(text: &str) -> Vec<u8> {
            let exif = tiff(false, vec![], vec![Entry::undefined(0x9286, unicode_comment(text, true))]);
            webp_with_chunks(&[(b"EXIF", exif)])
        }

        fn lossless_webp(image: &image::RgbaImage) -> Vec<u8> {
            let mut out = Vec::new();
            image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                .encode(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::Rgba8)
                .unwrap();
            out
        }

        struct Case {
            name: &'static str,
            image: Vec<u8>,
            source: ParamSource,
            prompt: Option<&'static str>,
            seed: Option<u64>,
            model: Option<&'static str>,
        }

        fn case(
            name: &'static str,
            image: Vec<u8>,
            source: ParamSource,
            prompt: &'static str,
            seed: u64,
            model: &'static str,
        ) -> Case {
            Case { name, image, source, prompt: Some(prompt), seed: Some(seed), model: Some(model) }
        }

        fn cases() -> Vec<Case> {
            use ParamSource::*;
            let stealth_text = stealth_png(80, 60, &stream("stealth_pngcomp", &gzip(A1111.as_bytes()), None), false);
            let stealth_rgb = stealth_png(40, 30, &stream("stealth_rgbinfo", A1111.as_bytes(), None), true);
            let nai_object: serde_json::Map<String, serde_json::Value> =
                novelai::tests::png_fields().into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            let nai_stealth = gzip(serde_json::Value::Object(nai_object).to_string().as_bytes());
            let nai_side = ((nai_stealth.len() * 8 + 200) as f64).sqrt() as u32 + 2;
            let stealth_webp = {
                let png = stealth_png(80, 60, &stream("stealth_pnginfo", A1111.as_bytes(), None), false);
                lossless_webp(&image::load_from_memory(&png).unwrap().to_rgba8())
            };
            let graph_exif = tiff(
                false,
                vec![
                    Entry::ascii(0x010F, &format!("workflow:{}", comfyui::tests::DEFAULT_WORKFLOW)),
                    Entry::ascii(0x0110, &format!("prompt:{}", comfyui::tests::DEFAULT_GRAPH)),
                ],
                vec![],
            );
            let workflow_exif = tiff(
                true,
                vec![Entry::ascii(0x010E, &format!("workflow:{}", comfyui::tests::DEFAULT_WORKFLOW))],
                vec![],
            );
            // Fooocus' JPEG: Pillow puts UserComment (a plain string, no character code) in IFD0.
            let fooocus_exif = tiff(
                false,
                vec![
                    Entry::undefined(0x9286, fooocus::tests::FOOOCUS_JSON.as_bytes().to_vec()),
                    Entry::ascii(0x0131, "Fooocus v2.5.5"),
                    Entry::undefined(0x927C, b"fooocus".to_vec()),
                ],
                vec![],
            );
            let ed_chunks: Vec<(&str, &str)> = easy_diffusion::tests::PNG_CHUNKS.to_vec();
            let nai_chunks = novelai::tests::png_fields();
            let nai_chunks: Vec<(&str, &str)> = nai_chunks.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let galaxy = "beautiful scenery nature glass bottle landscape, , purple galaxy bottle,";
            vec![
                case(
                    "A1111 PNG",
                    png_with_text(&[("parameters", A1111)], None),
                    Automatic1111,
                    "a red fox in snow",
                    3551078465,
                    "sd_xl_base_1.0",
                ),
                case(
                    "A1111 JPEG, II, UTF-16BE",
                    jpeg_comment(A1111, false, true),
                    Automatic1111,
                    "a red fox in snow",
                    3551078465,
                    "sd_xl_base_1.0",
                ),
                case(
                    "A1111 JPEG, MM, UTF-16LE",
                    jpeg_comment(A1111, true, false),
                    Automatic1111,
                    "a red fox in snow",
                    3551078465,
                    "sd_xl_base_1.0",
                ),
                case(
                    "A1111 WebP",
                    webp_comment(A1111),
                    Automatic1111,
                    "a red fox in snow",
                    3551078465,
                    "sd_xl_base_1.0",
                ),
                case(
                    "Civitai JPEG",
                    jpeg_comment(CIVITAI, false, true),
                    Automatic1111,
                    "a castle",
                    42,
                    "dreamshaper_8",
                ),
                case(
                    "A1111 stealth alpha gzip",
                    stealth_text,
                    Automatic1111,
                    "a red fox in snow",
                    3551078465,
                    "sd_xl_base_1.0",
                ),
                case(
                    "A1111 stealth RGB",
                    stealth_rgb,
                    Automatic1111,
                    "a red fox in snow",
                    3551078465,
                    "sd_xl_base_1.0",
                ),
                case(
                    "A1111 stealth lossless WebP",
                    stealth_webp,
                    Automatic1111,
                    "a red fox in snow",
                    3551078465,
                    "sd_xl_base_1.0",
                ),
                case(
                    "ComfyUI PNG",
                    png_with_text(
                        &[("prompt", comfyui::tests::DEFAULT_GRAPH), ("workflow", comfyui::tests::DEFAULT_WORKFLOW)],
                        None,
                    ),
                    ComfyUi,
                    galaxy,
                    156680208700286,
                    "v1-5-pruned-emaonly",
                ),
                case(
                    "ComfyUI WebP",
                    webp_with_chunks(&[(b"EXIF", graph_exif)]),
                    ComfyUi,
                    galaxy,
                    156680208700286,
                    "v1-5-pruned-emaonly",
                ),
                case(
                    "ComfyUI JPEG, workflow only",
                    jpeg_with_segments(&[exif_segment(workflow_exif)]),
                    ComfyUi,
                    galaxy,
                    156680208700286,
                    "v1-5-pruned-emaonly",
                ),
                case(
                    "ComfyUI PNG, workflow only",
                    png_with_text(&[("workflow", comfyui::tests::DEFAULT_WORKFLOW)], None),
                    ComfyUi,
                    galaxy,
                    156680208700286,
                    "v1-5-pruned-emaonly",
                ),
                case(
                    "Fooocus PNG, JSON scheme",
                    png_with_text(&[("parameters", fooocus::tests::FOOOCUS_JSON), ("fooocus_scheme", "fooocus")], None),
                    Fooocus,
                    "a cat on a mat",
                    1234567890123,
                    "juggernautXL_v8Rundiffusion",
                ),
                case(
                    "Fooocus PNG, JSON without scheme chunk",
                    png_with_text(&[("parameters", fooocus::tests::FOOOCUS_JSON)], None),
                    Fooocus,
                    "a cat on a mat",
                    1234567890123,
                    "juggernautXL_v8Rundiffusion",
                ),
                case(
                    "Fooocus PNG, a1111 scheme",
                    png_with_text(&[("parameters", fooocus::tests::FOOOCUS_A1111), ("fooocus_scheme", "a1111")], None),
                    Fooocus,
                    "a cat on a mat, highly detailed",
                    1234567890123,
                    "juggernautXL_v8Rundiffusion",
                ),
                case(
                    "Fooocus JPEG",
                    jpeg_with_segments(&[exif_segment(fooocus_exif)]),
                    Fooocus,
                    "a cat on a mat",
                    1234567890123,
                    "juggernautXL_v8Rundiffusion",
                ),
                case(
                    "InvokeAI 4 PNG",
                    png_with_text(
                        &[("invokeai_metadata", invokeai::tests::METADATA_V4), ("invokeai_graph", "{}")],
                        None,
                    ),
                    InvokeAi,
                    "a red barn, autumn",
                    2896457302,
                    "Juggernaut XL v9",
                ),
                case(
                    "InvokeAI 2 PNG",
                    png_with_text(&[("Dream", "\"other\" -S 1"), ("sd-metadata", invokeai::tests::SD_METADATA)], None),
                    InvokeAi,
                    "a castle on a hill",
                    3357757885,
                    "stable-diffusion-1.5",
                ),
                Case {
                    model: None,
                    ..case(
                        "InvokeAI Dream PNG",
                        png_with_text(&[("Dream", invokeai::tests::DREAM)], None),
                        InvokeAi,
                        "a castle on a hill",
                        3357757885,
                        "",
                    )
                },
                case(
                    "NovelAI PNG",
                    png_with_text(&nai_chunks, None),
                    NovelAi,
                    "1girl, solo, masterpiece",
                    3508413426,
                    "Stable Diffusion XL",
                ),
                case(
                    "NovelAI stealth",
                    stealth_png(nai_side, nai_side, &stream("stealth_pngcomp", &nai_stealth, None), false),
                    NovelAi,
                    "1girl, solo, masterpiece",
                    3508413426,
                    "Stable Diffusion XL",
                ),
                case(
                    "SwarmUI PNG",
                    png_with_text(&[("parameters", swarmui::tests::SWARM)], None),
                    SwarmUi,
                    "a lighthouse, <lora:detail:0.5>",
                    1234567,
                    "sd_xl_base_1.0",
                ),
                case(
                    "SwarmUI JPEG",
                    jpeg_comment(swarmui::tests::SWARM, false, true),
                    SwarmUi,
                    "a lighthouse, <lora:detail:0.5>",
                    1234567,
                    "sd_xl_base_1.0",
                ),
                case(
                    "Easy Diffusion PNG",
                    png_with_text(&ed_chunks, None),
                    EasyDiffusion,
                    "a photograph of an astronaut riding a horse",
                    3160024305,
                    "sd-v1-5",
                ),
                case(
                    "Easy Diffusion WebP",
                    webp_comment(easy_diffusion::tests::JSON),
                    EasyDiffusion,
                    "a photograph of an astronaut riding a horse",
                    3160024305,
                    "sd-v1-5",
                ),
                case(
                    "Draw Things PNG",
                    png_with_text(&[("XML:com.adobe.xmp", DRAW_THINGS_XMP)], None),
                    DrawThings,
                    "a koi pond",
                    2212391478,
                    "sd_xl_base_1.0_f16",
                ),
                case(
                    "Draw Things JPEG",
                    jpeg_with_segments(&[xmp_segment(DRAW_THINGS_XMP)]),
                    DrawThings,
                    "a koi pond",
                    2212391478,
                    "sd_xl_base_1.0_f16",
                ),
            ]
        }

        #[test]
        fn every_generator_is_read_from_its_images() {
            let cases = cases();
            assert!(cases.len() >= 20, "only {} cases", cases.len());
            for case in cases {
                let imported = import_from_image(&case.image)
                    .unwrap_or_else(|e| panic!("{}: {e}", case.name))
                    .unwrap_or_else(|| panic!("{}: nothing found", case.name));
                assert_eq!(imported.source, case.source, "{}", case.name);
                assert_eq!(imported.prompt.as_deref(), case.prompt, "{}", case.name);
                assert_eq!(
                    imported.settings.get("seed").and_then(serde_json::Value::as_u64),
                    case.seed,
                    "{}: {:?}",
                    case.name,
                    imported.notes
                );
                assert_eq!(imported.model_name.as_deref(), case.model, "{}", case.name);
                if case.name.starts_with("Civitai") {
                    assert_eq!(
                        imported.settings["civitai_resources"][0]["modelVersionId"],
                        json!(128713),
                        "{}",
                        case.name
                    );
                }
                // What a PNG carried, import_from_png reads the same; other formats it refuses.
                let through_png = import_from_png(&case.image);
                if Container::detect(&case.image) == Some(Container::Png) {
                    assert_eq!(through_png.unwrap().as_ref(), Some(&imported), "{}", case.name);
                } else {
                    assert!(through_png.is_err(), "{}", case.name);
                }
                assert!(imported.summary()[0].starts_with("found "), "{}", case.name);
                // A viewer reads the metadata once (stealth included) and imports from it alike.
                let metadata = read_image_metadata(&case.image).unwrap();
                assert_eq!(import_from_metadata(&metadata), Ok(Some(imported)), "{}", case.name);
            }
        }

        #[test]
        fn where_the_parameters_came_from_is_noted() {
            let jpeg = import_from_image(&jpeg_comment(A1111, false, true)).unwrap().unwrap();
            assert_eq!(jpeg.notes.last().map(String::as_str), Some("read from EXIF UserComment"));
            let stealth = stealth_png(80, 60, &stream("stealth_pngcomp", &gzip(A1111.as_bytes()), None), false);
            let imported = import_from_image(&stealth).unwrap().unwrap();
            assert!(imported.notes.iter().any(|n| n.contains("low bits (stealth_pngcomp)")), "{:?}", imported.notes);
            let png = import_from_image(&png_with_text(&[("parameters", A1111)], None)).unwrap().unwrap();
            assert!(png.notes.iter().all(|n| !n.contains("read from")), "{:?}", png.notes);
        }

        #[test]
        fn images_without_parameters_and_broken_ones() {
            // No metadata; a camera's EXIF; XMP from an editor.
            let camera = tiff(
                true,
                vec![
                    Entry::ascii(0x010F, "Canon"),
                    Entry::ascii(0x0110, "EOS R5"),
                    Entry::ascii(0x010E, "holiday, beach"),
                ],
                vec![Entry::undefined(0x9286, b"ASCII\0\0\0a nice day".to_vec())],
            );
            for (name, image) in [
                ("bare PNG", png_with_text(&[], None)),
                ("PNG with a title", png_with_text(&[("Title", "x"), ("Software", "GIMP")], None)),
                ("camera JPEG", jpeg_with_segments(&[exif_segment(camera)])),
                (
                    "editor XMP",
                    jpeg_with_segments(&[xmp_segment(
                        "<x:xmpmeta><xmp:CreatorTool>Photoshop</xmp:CreatorTool></x:xmpmeta>",
                    )]),
                ),
                ("bare WebP", webp_with_chunks(&[])),
                ("JSON of no known tool", jpeg_comment(r#"{"foo": 1}"#, false, true)),
            ] {
                assert_eq!(import_from_image(&image), Ok(None), "{name}");
            }
            assert!(import_from_image(b"GIF89a....").is_err());
            assert!(import_from_image(&[]).is_err());
            assert!(import_from_png(&jpeg_comment(A1111, false, true)).is_err());
            // A `prompt` chunk that is not JSON, with nothing else: the error ComfyUI's reader gives.
            let error = import_from_image(&png_with_text(&[("prompt", "a cat")], None)).unwrap_err();
            assert!(matches!(error, ParamsError::NotJson { record: "ComfyUI prompt", .. }), "{error}");
            assert!(error.to_string().starts_with("ComfyUI prompt is not JSON: "), "{error}");
            // A generator's own chunk that does not parse: that generator, the reason noted, the text kept.
            for (key, text, source) in [
                ("invokeai_metadata", "{broken", ParamSource::InvokeAi),
                ("sd-metadata", "{broken", ParamSource::InvokeAi),
                ("Dream", "-s 5 -S 6", ParamSource::InvokeAi),
                ("workflow", "{broken", ParamSource::ComfyUi),
                ("Software", "NovelAI", ParamSource::NovelAi),
            ] {
                let imported = import_from_image(&png_with_text(&[(key, text)], None)).unwrap().unwrap();
                assert_eq!(imported.source, source, "{key}");
                assert_eq!(imported.prompt, None, "{key}");
                assert_eq!(imported.notes.len(), 1, "{key}: {:?}", imported.notes);
                assert_eq!(imported.settings.len(), usize::from(key != "Software"), "{key}: {:?}", imported.settings);
            }
            // GIMP's Comment and a Description are not NovelAI's.
            let gimp = png_with_text(&[("Comment", "Created with GIMP"), ("Description", "holiday")], None);
            assert_eq!(import_from_image(&gimp), Ok(None));
            // Damaged EXIF beside parameters in a JPEG comment: read, with the damage noted.
            let mut broken = tiff(false, vec![Entry::ascii(0x010E, "a long enough description")], vec![]);
            broken.truncate(broken.len() - 8);
            let image = jpeg_with_segments(&[exif_segment(broken), (0xFE, A1111.as_bytes().to_vec())]);
            let imported = import_from_image(&image).unwrap().unwrap();
            assert_eq!(imported.settings["seed"], json!(3551078465u64));
            assert!(imported.notes.iter().any(|n| n.contains("run past the end")), "{:?}", imported.notes);
            // A stealth payload that does not inflate: nothing imported, the problem in the metadata.
            let bad = stealth_png(40, 30, &stream("stealth_pngcomp", b"not gzip", None), false);
            assert_eq!(import_from_image(&bad), Ok(None));
            let metadata = read_image_metadata(&bad).unwrap();
            assert!(metadata.problems.iter().any(|p| p.contains("not valid gzip")), "{:?}", metadata.problems);
            // Stealth length past the image: same.
            let huge = stealth_png(40, 30, &stream("stealth_pnginfo", b"abc", Some(u32::MAX - 7)), false);
            assert_eq!(import_from_image(&huge), Ok(None));
            assert!(read_image_metadata(&huge).unwrap().problems[0].contains("more than the image holds"));
        }

        #[test]
        fn precedence_between_generators() {
            // Easy Diffusion's plain-text `prompt` chunk is not taken for a broken ComfyUI graph.
            let ed =
                png_with_text(&[("prompt", "a cat"), ("use_stable_diffusion_model", "sd-v1-5"), ("seed", "5")], None);
            assert_eq!(import_from_image(&ed).unwrap().unwrap().source, ParamSource::EasyDiffusion);
            // ComfyUI's graph wins over a stealth payload (which is not even looked for).
            let both = png_with_text(&[("prompt", comfyui::tests::DEFAULT_GRAPH), ("parameters", A1111)], None);
            assert_eq!(
                import_from_image(&both).unwrap().unwrap().source,
                ParamSource::Automatic1111,
                "parameters first"
            );
            // A PNG's own chunks win over its EXIF.
            let exif =
                tiff(false, vec![], vec![Entry::undefined(0x9286, unicode_comment(swarmui::tests::SWARM, true))]);
            let png = png_with_text(&[("parameters", A1111)], Some(exif.clone()));
            assert_eq!(import_from_image(&png).unwrap().unwrap().source, ParamSource::Automatic1111);
            let png = png_with_text(&[("Title", "x")], Some(exif));
            assert_eq!(import_from_image(&png).unwrap().unwrap().source, ParamSource::SwarmUi);
            // Unknown JSON in `parameters` is read as text, as before, with a note.
            let odd = import_from_image(&png_with_text(&[("parameters", r#"{"x": 1}"#)], None)).unwrap().unwrap();
            assert_eq!(odd.source, ParamSource::Automatic1111);
            assert!(odd.notes.iter().any(|n| n.contains("JSON of no known generator")), "{:?}", odd.notes);
        }

        #[test]
        fn metadata_entries_show_the_raw_text() {
            let exif = tiff(
                false,
                vec![Entry::ascii(0x0131, "Fooocus v2.5.5")],
                vec![Entry::undefined(0x9286, unicode_comment("hello", true))],
            );
            let jpeg =
                jpeg_with_segments(&[exif_segment(exif), xmp_segment(DRAW_THINGS_XMP), (0xFE, b"comment".to_vec())]);
            let keys: Vec<String> = read_image_metadata(&jpeg).unwrap().entries.into_iter().map(|(k, _)| k).collect();
            assert_eq!(
                keys,
                [
                    "EXIF Software",
                    "EXIF UserComment",
                    "XMP",
                    "XMP exif:UserComment",
                    "XMP xmp:CreatorTool",
                    "JPEG comment"
                ]
            );
            let stealth = stealth_png(60, 40, &stream("stealth_pngcomp", &gzip(b"hidden text"), None), false);
            assert_eq!(
                read_image_metadata(&stealth).unwrap().entries,
                vec![("stealth_pngcomp".to_string(), "hidden text".to_string())]
            );
            let png = png_with_text(&[("parameters", "p"), ("workflow", "w")], None);
            assert_eq!(read_image_metadata(&png).unwrap().entries, png_text_chunks(&png).unwrap());
            assert!(read_image_metadata(b"not an image").is_err());
        }

        #[test]
        fn no_prefix_of_any_fixture_panics() {
            for case in cases() {
                let step = (case.image.len() / 97).max(1);
                for cut in (0..case.image.len()).step_by(step) {
                    let _ = import_from_image(&case.image[..cut]);
                    let _ = read_image_metadata(&case.image[..cut]);
                }
            }
        }
    }
}
