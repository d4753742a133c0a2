//! Fooocus' metadata, in either of its two schemes (`modules/meta_parser.py`), named by a
//! `fooocus_scheme` PNG text chunk, or by EXIF `MakerNote` in JPEG and WebP (where the
//! parameters are in `UserComment` and `Software` is `Fooocus v…`):
//!
//! - `fooocus`: a JSON object in `parameters` with snake_case keys, all values as Fooocus
//!   logged them: `prompt`, `negative_prompt`, `full_prompt` (list), `styles` (a Python list as
//!   text), `performance`, `steps`, `resolution` (`"(1024, 1024)"`), `guidance_scale`,
//!   `sharpness`, `adm_guidance`, `base_model`, `base_model_hash`, `refiner_model`, `sampler`,
//!   `scheduler`, `vae`, `seed` (text), `lora_combined_1`, …, `metadata_scheme`, `version`
//!   (`Fooocus v2.5.5`). Older logs used the labels (`Prompt`, `Negative Prompt`, `Base Model`,
//!   `Guidance Scale`, …); they are read the same way, through their snake_case form.
//! - `a1111`: AUTOMATIC1111-style text (read by [`super::a1111`]) with `Version: Fooocus v…`
//!   and Fooocus' own keys (`Raw prompt`, `Performance`, `Sharpness`, …).

use serde_json::{Map, Value, json};

use super::fields::{Role, apply, keep, order_settings};
use super::{ImportedParams, ParamSource, a1111, settings_key};

const TABLE: [(&str, Role); 9] = [
    ("prompt", Role::Prompt),
    ("negative_prompt", Role::Negative),
    ("base_model", Role::Model),
    ("base_model_hash", Role::ModelHash),
    ("seed", Role::Seed),
    ("steps", Role::Steps),
    ("guidance_scale", Role::Cfg),
    ("sampler", Role::Sampler),
    ("scheduler", Role::Scheduler),
];

/// Keys only Fooocus' JSON scheme has (in snake_case form).
const MARKER_KEYS: [&str; 6] =
    ["full_prompt", "full_negative_prompt", "performance", "metadata_scheme", "sharpness", "adm_guidance"];

/// Whether a JSON object is Fooocus': one of its own keys, or a `version` naming Fooocus.
pub fn detect(object: &Map<String, Value>) -> bool {
    object.iter().any(|(key, value)| {
        let key = settings_key(key);
        MARKER_KEYS.contains(&key.as_str())
            || (key == "version" && value.as_str().is_some_and(|v| v.trim_start().starts_with("Fooocus")))
    })
}

/// Whether AUTOMATIC1111-style text is Fooocus' a1111 scheme: its `Version` names Fooocus.
pub fn is_fooocus_a1111(imported: &ImportedParams) -> bool {
    imported.settings.get("version").and_then(Value::as_str).is_some_and(|v| v.trim_start().starts_with("Fooocus"))
}

/// Maps Fooocus' JSON scheme onto the manifest's fields.
pub fn parse_json(object: &Map<String, Value>) -> ImportedParams {
    let mut imported = ImportedParams::new(ParamSource::Fooocus);
    for (key, value) in object {
        let snake = settings_key(key);
        match TABLE.iter().find(|(name, _)| *name == snake) {
            Some(&(_, role)) => apply(&mut imported, key, role, value),
            None if snake == "resolution" => {
                if let Some((width, height)) = value.as_str().and_then(parse_resolution) {
                    imported.settings.insert("width".into(), json!(width));
                    imported.settings.insert("height".into(), json!(height));
                } else {
                    imported.notes.push(format!("resolution {value} is not \"(width, height)\""));
                }
                keep(&mut imported, key, value.clone());
            }
            None => keep(&mut imported, key, value.clone()),
        }
    }
    if imported.model_version.is_some() {
        imported.notes.push("model version taken from the base model hash".into());
    }
    order_settings(&mut imported);
    imported
}

/// Reads Fooocus' a1111 scheme: AUTOMATIC1111's reader, named Fooocus.
pub fn parse_a1111(text: &str) -> ImportedParams {
    let mut imported = a1111::parse(text);
    imported.source = ParamSource::Fooocus;
    imported
}

/// `"(1024, 1024)"` (a Python tuple as text) as width and height.
fn parse_resolution(text: &str) -> Option<(u64, u64)> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (width, height) = inner.split_once(',')?;
    let number = |s: &str| s.trim().trim_matches(['\'', '"']).parse::<u64>().ok();
    Some((number(width)?, number(height)?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::params::fields::json_object;

    /// Fooocus' JSON scheme, as `FooocusMetadataParser.parse_string` writes it (keys sorted).
    pub(crate) const FOOOCUS_JSON: &str = r#"{"adm_guidance": "(1.5, 0.8, 0.3)", "base_model": "juggernautXL_v8Rundiffusion",
        "base_model_hash": "aeb7e9e689", "full_negative_prompt": ["(worst quality, low quality:1.4)"],
        "full_prompt": ["a cat on a mat", "highly detailed"], "guidance_scale": 4, "loras": [["sd_xl_offset_example-lora_1.0", 0.1, "4852686128"]],
        "metadata_scheme": "fooocus", "negative_prompt": "", "performance": "Speed", "prompt": "a cat on a mat",
        "refiner_model": "None", "resolution": "(1152, 896)", "sampler": "dpmpp_2m_sde_gpu", "scheduler": "karras",
        "seed": "1234567890123", "sharpness": 2, "steps": 30, "styles": "['Fooocus V2', 'Fooocus Enhance']",
        "vae": "Default (model)", "version": "Fooocus v2.5.5"}"#;

    /// Fooocus' a1111 scheme, as `A1111MetadataParser.parse_string` writes it.
    pub(crate) const FOOOCUS_A1111: &str = "a cat on a mat, highly detailed\nNegative prompt: (worst quality, low quality:1.4)\n\
        Steps: 30, Sampler: DPM++ 2M SDE Karras, Seed: 1234567890123, Size: 1152x896, CFG scale: 4, Sharpness: 2, \
        ADM Guidance: \"(1.5, 0.8, 0.3)\", Model: juggernautXL_v8Rundiffusion, Model hash: aeb7e9e689, \
        Performance: Speed, Scheduler: karras, VAE: Default (model), Raw prompt: a cat on a mat, Version: Fooocus v2.5.5";

    #[test]
    fn fooocus_json_maps_onto_the_manifest() {
        let object = json_object(FOOOCUS_JSON).unwrap();
        assert!(detect(&object));
        let imported = parse_json(&object);
        assert_eq!(imported.source, ParamSource::Fooocus);
        assert_eq!(imported.prompt.as_deref(), Some("a cat on a mat"));
        assert_eq!(imported.model_name.as_deref(), Some("juggernautXL_v8Rundiffusion"));
        assert_eq!(imported.model_version.as_deref(), Some("aeb7e9e689"));
        let s = &imported.settings;
        assert_eq!(s["seed"], json!(1234567890123u64));
        assert_eq!(s["steps"], json!(30));
        assert_eq!(s["sampler"], json!("dpmpp_2m_sde_gpu"));
        assert_eq!(s["cfg_scale"], json!(4));
        assert_eq!(s["scheduler"], json!("karras"));
        assert!(!s.contains_key("negative_prompt"), "empty negative prompt is skipped");
        assert_eq!(s["width"], json!(1152));
        assert_eq!(s["height"], json!(896));
        assert_eq!(s["resolution"], json!("(1152, 896)"));
        assert_eq!(s["styles"], json!("['Fooocus V2', 'Fooocus Enhance']"));
        assert_eq!(s["full_prompt"], json!(["a cat on a mat", "highly detailed"]));
        assert_eq!(s["version"], json!("Fooocus v2.5.5"));
        assert_eq!(s["performance"], json!("Speed"));
    }

    #[test]
    fn fooocus_label_keys_and_odd_values() {
        let object = json_object(
            r#"{"Prompt": "a boat", "Negative Prompt": "fog", "Base Model": "sd_xl_base_1.0.safetensors",
                "Seed": "12", "Guidance Scale": 7.0, "Resolution": "(1024, 1024)", "Version": "Fooocus v2.1.0"}"#,
        )
        .unwrap();
        assert!(detect(&object));
        let imported = parse_json(&object);
        assert_eq!(imported.prompt.as_deref(), Some("a boat"));
        assert_eq!(imported.model_name.as_deref(), Some("sd_xl_base_1.0"));
        assert_eq!(imported.settings["negative_prompt"], json!("fog"));
        assert_eq!(imported.settings["seed"], json!(12));
        assert_eq!(imported.settings["width"], json!(1024));
        let odd = parse_json(&json_object(r#"{"resolution": "big", "seed": "random"}"#).unwrap());
        assert_eq!(odd.notes.len(), 2, "{:?}", odd.notes);
        for (text, size) in [("(1, 2)", Some((1, 2))), ("('3', '4')", Some((3, 4))), ("1, 2", None), ("(a, 2)", None)] {
            assert_eq!(parse_resolution(text), size, "{text}");
        }
        assert!(!detect(&json_object(r#"{"prompt": "x", "version": "v1.10"}"#).unwrap()));
    }

    #[test]
    fn fooocus_a1111_scheme_is_named_fooocus() {
        let imported = parse_a1111(FOOOCUS_A1111);
        assert!(is_fooocus_a1111(&imported));
        assert_eq!(imported.source, ParamSource::Fooocus);
        assert_eq!(imported.model_version.as_deref(), Some("aeb7e9e689"));
        assert_eq!(imported.settings["adm_guidance"], json!("(1.5, 0.8, 0.3)"));
        assert_eq!(imported.settings["raw_prompt"], json!("a cat on a mat"));
        assert!(!is_fooocus_a1111(&a1111::parse("x\nSteps: 1, Sampler: a, Seed: 1, Version: v1.10.1")));
    }
}
