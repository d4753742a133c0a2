//! NovelAI's PNG text: `Description` (the prompt), `Software` (`NovelAI`), `Source` (the model,
//! e.g. `Stable Diffusion XL C1E1DE52` or `NovelAI Diffusion V4 F4D50568`: a name and an 8-digit
//! hex hash), `Generation time`, and `Comment`, a JSON object of the request:
//!
//! ```json
//! {"prompt": "...", "steps": 28, "height": 1216, "width": 832, "scale": 5.0, "uncond_scale": 1.0,
//!  "cfg_rescale": 0.0, "seed": 1234, "n_samples": 1, "noise_schedule": "karras", "sampler": "k_euler_ancestral",
//!  "sm": false, "sm_dyn": false, "uc": "lowres, ...", "v4_prompt": {...}, ...}
//! ```
//!
//! The same keys come as one gzip JSON object, `Comment` a JSON string inside it, from NovelAI's
//! stealth alpha data ([`super::stealth`]). The model's trailing hash is the model version.

use serde_json::{Map, Value, json};

use super::fields::{Role, json_object, keep, map_object, order_settings};
use super::{ImportedParams, ParamSource, ParamsError};

const TABLE: [(&str, Role); 9] = [
    ("prompt", Role::Prompt),
    ("uc", Role::Negative),
    ("seed", Role::Seed),
    ("steps", Role::Steps),
    ("scale", Role::Cfg),
    ("sampler", Role::Sampler),
    ("noise_schedule", Role::Scheduler),
    ("width", Role::Width),
    ("height", Role::Height),
];

/// Whether text fields (PNG chunks, or the keys of a stealth JSON object) are NovelAI's:
/// `Software` says so, or `Comment` is a JSON object with NovelAI's `uc` and `scale`.
pub fn detect(fields: &Map<String, Value>) -> bool {
    if fields.get("Software").and_then(Value::as_str).is_some_and(|s| s.trim().starts_with("NovelAI")) {
        return true;
    }
    comment_object(fields).is_some_and(|c| c.contains_key("uc") && c.contains_key("scale"))
}

fn comment_object(fields: &Map<String, Value>) -> Option<Map<String, Value>> {
    match fields.get("Comment")? {
        Value::String(text) => json_object(text),
        Value::Object(object) => Some(object.clone()),
        _ => None,
    }
}

/// Maps NovelAI's fields (PNG text chunks by keyword, or the stealth JSON object) onto the
/// manifest's fields. Fails only when there is neither a `Comment` object nor a `Description`.
pub fn parse(fields: &Map<String, Value>) -> Result<ImportedParams, ParamsError> {
    let mut imported = ImportedParams::new(ParamSource::NovelAi);
    let comment = comment_object(fields);
    if comment.is_none() && fields.contains_key("Comment") {
        imported.notes.push("NovelAI's Comment is not a JSON object; kept as text".into());
    }
    if let Some(comment) = &comment {
        map_object(&mut imported, comment, &TABLE);
    }
    let description = fields.get("Description").and_then(Value::as_str);
    if imported.prompt.is_none() {
        imported.prompt = description.map(str::to_string);
    }
    if comment.is_none() && description.is_none() {
        return Err(ParamsError::Missing { record: "NovelAI metadata", missing: "Comment or Description" });
    }
    if let Some(source) = fields.get("Source").and_then(Value::as_str) {
        let (name, hash) = split_model_hash(source);
        imported.model_name = Some(name.to_string());
        if let Some(hash) = hash {
            imported.model_version = Some(hash.to_string());
            imported.notes.push("model version taken from the hash at the end of Source".into());
        }
        imported.settings.insert("source".into(), json!(source));
    }
    for (key, value) in fields {
        match key.as_str() {
            "Source" | "Description" => {}
            "Comment" if comment.is_some() => {}
            "Comment" => keep(&mut imported, "novelai_comment", value.clone()),
            _ => keep(&mut imported, key, value.clone()),
        }
    }
    order_settings(&mut imported);
    Ok(imported)
}

/// `Stable Diffusion XL C1E1DE52` -> (`Stable Diffusion XL`, `C1E1DE52`): a last word of eight
/// hex digits is the model's hash.
fn split_model_hash(source: &str) -> (&str, Option<&str>) {
    let source = source.trim();
    match source.rsplit_once(' ') {
        Some((name, hash)) if hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            (name.trim(), Some(hash))
        }
        _ => (source, None),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const COMMENT: &str = r#"{"prompt": "1girl, solo, masterpiece", "steps": 28, "height": 1216, "width": 832,
        "scale": 5.0, "uncond_scale": 0.0, "cfg_rescale": 0.0, "seed": 3508413426, "n_samples": 1, "hide_debug_overlay": false,
        "noise_schedule": "karras", "legacy_v3_extend": false, "reference_information_extracted_multiple": [],
        "reference_strength_multiple": [], "sampler": "k_euler_ancestral", "controlnet_strength": 1.0,
        "controlnet_model": null, "dynamic_thresholding": false, "dynamic_thresholding_percentile": 0.999,
        "dynamic_thresholding_mimic_scale": 10.0, "sm": false, "sm_dyn": false, "skip_cfg_above_sigma": null,
        "skip_cfg_below_sigma": 0.0, "lora_unet_weights": null, "lora_clip_weights": null,
        "uc": "nsfw, lowres, {bad}, error", "request_type": "PromptGenerateRequest", "signed_hash": "abc="}"#;

    /// NovelAI's PNG text chunks, as keyword and text.
    pub(crate) fn png_fields() -> Vec<(&'static str, String)> {
        vec![
            ("Title", "NovelAI generated image".into()),
            ("Description", "1girl, solo, masterpiece".into()),
            ("Software", "NovelAI".into()),
            ("Source", "Stable Diffusion XL C1E1DE52".into()),
            ("Generation time", "5.04".into()),
            ("Comment", COMMENT.into()),
        ]
    }

    fn as_map(fields: &[(&str, String)]) -> Map<String, Value> {
        fields.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
    }

    #[test]
    fn novelai_text_maps_onto_the_manifest() {
        let fields = as_map(&png_fields());
        assert!(detect(&fields));
        let imported = parse(&fields).unwrap();
        assert_eq!(imported.source, ParamSource::NovelAi);
        assert_eq!(imported.prompt.as_deref(), Some("1girl, solo, masterpiece"));
        assert_eq!(imported.model_name.as_deref(), Some("Stable Diffusion XL"));
        assert_eq!(imported.model_version.as_deref(), Some("C1E1DE52"));
        let s = &imported.settings;
        assert_eq!(s["seed"], json!(3508413426u64));
        assert_eq!(s["steps"], json!(28));
        assert_eq!(s["sampler"], json!("k_euler_ancestral"));
        assert_eq!(s["cfg_scale"], json!(5.0));
        assert_eq!(s["scheduler"], json!("karras"));
        assert_eq!(s["negative_prompt"], json!("nsfw, lowres, {bad}, error"));
        assert_eq!(s["width"], json!(832));
        assert_eq!(s["height"], json!(1216));
        assert_eq!(s["source"], json!("Stable Diffusion XL C1E1DE52"));
        assert_eq!(s["software"], json!("NovelAI"));
        assert_eq!(s["generation_time"], json!("5.04"));
        assert_eq!(s["sm_dyn"], json!(false));
        assert_eq!(s["controlnet_model"], json!(null));
    }

    #[test]
    fn odd_novelai_fields() {
        for (source, name, hash) in [
            ("NovelAI Diffusion V4 F4D50568", "NovelAI Diffusion V4", Some("F4D50568")),
            ("Stable Diffusion 1D44365E", "Stable Diffusion", Some("1D44365E")),
            ("Some Model v2", "Some Model v2", None),
            ("ABCDEFGH", "ABCDEFGH", None),
        ] {
            assert_eq!(split_model_hash(source), (name, hash), "{source}");
        }
        // Description only; Comment not JSON.
        let fields =
            as_map(&[("Software", "NovelAI".into()), ("Description", "a cat".into()), ("Comment", "{broken".into())]);
        let imported = parse(&fields).unwrap();
        assert_eq!(imported.prompt.as_deref(), Some("a cat"));
        assert_eq!(imported.settings["novelai_comment"], json!("{broken"));
        assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
        assert!(parse(&as_map(&[("Software", "NovelAI".into())])).is_err());
        assert!(!detect(&as_map(&[("Comment", r#"{"uc": "x"}"#.into())])));
        assert!(detect(&as_map(&[("Comment", r#"{"uc": "x", "scale": 5}"#.into())])));
    }
}
