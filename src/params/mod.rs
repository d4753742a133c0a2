//! Generation parameters that image files already carry, mapped onto the manifest's fields.
//!
//! Two conventions are understood: AUTOMATIC1111/Forge's `parameters` text ([`a1111`]) and
//! ComfyUI's `prompt` graph with its `workflow` ([`comfyui`]). No GUI code lives here.

pub mod a1111;
pub mod comfyui;

use serde_json::{Map, Value};

use crate::format::ModelInfo;

/// Which convention the parameters came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSource {
    Automatic1111,
    ComfyUi,
}

impl ParamSource {
    pub fn name(self) -> &'static str {
        match self {
            ParamSource::Automatic1111 => "AUTOMATIC1111/Forge parameters",
            ParamSource::ComfyUi => "ComfyUI prompt graph",
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
            if key.starts_with("comfyui_") {
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
/// Compressed text is inflated up to 16 MiB per chunk.
pub fn png_text_chunks(png: &[u8]) -> Result<Vec<(String, String)>, String> {
    const TEXT_LIMIT: usize = 16 << 20;
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info().map_err(|e| format!("not a readable PNG: {e}"))?;
    let info = reader.info();
    let mut chunks: Vec<(String, String)> =
        info.uncompressed_latin1_text.iter().map(|c| (c.keyword.clone(), c.text.clone())).collect();
    for chunk in &info.compressed_latin1_text {
        let mut chunk = chunk.clone();
        chunk.decompress_text_with_limit(TEXT_LIMIT).map_err(|e| format!("zTXt {:?}: {e}", chunk.keyword))?;
        chunks.push((chunk.keyword.clone(), chunk.get_text().map_err(|e| e.to_string())?));
    }
    for chunk in &info.utf8_text {
        let mut chunk = chunk.clone();
        chunk.decompress_text_with_limit(TEXT_LIMIT).map_err(|e| format!("iTXt {:?}: {e}", chunk.keyword))?;
        chunks.push((chunk.keyword.clone(), chunk.get_text().map_err(|e| e.to_string())?));
    }
    Ok(chunks)
}

/// The generation parameters a PNG carries: AUTOMATIC1111's `parameters` first, else ComfyUI's
/// `prompt` graph (with its `workflow`). `Ok(None)` when the PNG carries neither.
pub fn import_from_png(png: &[u8]) -> Result<Option<ImportedParams>, String> {
    let chunks = png_text_chunks(png)?;
    let text_of = |key: &str| chunks.iter().find(|(k, _)| k == key).map(|(_, text)| text.as_str());
    if let Some(parameters) = text_of("parameters") {
        return Ok(Some(a1111::parse(parameters)));
    }
    if let Some(prompt) = text_of("prompt") {
        return comfyui::parse(prompt, text_of("workflow")).map(Some);
    }
    Ok(None)
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
}
