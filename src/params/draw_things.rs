//! Draw Things' metadata: an XMP packet (in a PNG `iTXt` chunk or a JPEG APP1 segment) whose
//! `exif:UserComment` is a JSON object, beside `xmp:CreatorTool` `Draw Things`:
//!
//! ```json
//! {"c": "a prompt", "uc": "a negative prompt", "seed": 1234, "steps": 20, "scale": 7, "sampler": "DPM++ 2M Karras",
//!  "model": "sd_xl_base_1.0_f16.ckpt", "size": "1024x1024", "strength": 1, "seed_mode": "Scale Alike",
//!  "lora": [...], "v2": {... the whole configuration ...}}
//! ```

use serde_json::{Map, Value};

use super::fields::{Role, map_object, order_settings};
use super::{ImportedParams, ParamSource};

const TABLE: [(&str, Role); 8] = [
    ("c", Role::Prompt),
    ("uc", Role::Negative),
    ("model", Role::Model),
    ("seed", Role::Seed),
    ("steps", Role::Steps),
    ("scale", Role::Cfg),
    ("sampler", Role::Sampler),
    ("size", Role::Size),
];

/// Whether a JSON object is Draw Things': its prompt key `c` with one of its settings keys, or
/// any object when the XMP's creator tool says Draw Things.
pub fn detect(object: &Map<String, Value>, creator_tool: Option<&str>) -> bool {
    let named = creator_tool.is_some_and(|tool| tool.trim().starts_with("Draw Things"));
    named
        || (object.contains_key("c")
            && ["uc", "scale", "sampler", "size", "v2", "seed_mode"].iter().any(|k| object.contains_key(*k)))
}

/// Maps Draw Things' object onto the manifest's fields.
pub fn parse(object: &Map<String, Value>) -> ImportedParams {
    let mut imported = ImportedParams::new(ParamSource::DrawThings);
    map_object(&mut imported, object, &TABLE);
    order_settings(&mut imported);
    imported
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::params::fields::json_object;
    use serde_json::json;

    pub(crate) const DRAW_THINGS: &str = r#"{"c": "a koi pond, morning light", "uc": "text, watermark", "seed": 2212391478,
        "steps": 30, "scale": 5.5, "sampler": "DPM++ 2M Karras", "model": "sd_xl_base_1.0_f16.ckpt", "size": "1024x768",
        "strength": 1, "seed_mode": "Scale Alike", "lora": [{"file": "detail_lora_f16.ckpt", "weight": 0.6}],
        "v2": {"steps": 30, "guidanceScale": 5.5, "model": "sd_xl_base_1.0_f16.ckpt"}}"#;

    #[test]
    fn draw_things_json_maps_onto_the_manifest() {
        let object = json_object(DRAW_THINGS).unwrap();
        assert!(detect(&object, None));
        let imported = parse(&object);
        assert_eq!(imported.source, ParamSource::DrawThings);
        assert_eq!(imported.prompt.as_deref(), Some("a koi pond, morning light"));
        assert_eq!(imported.model_name.as_deref(), Some("sd_xl_base_1.0_f16"));
        let s = &imported.settings;
        let keys: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(&keys[..8], ["seed", "steps", "sampler", "cfg_scale", "negative_prompt", "width", "height", "size"]);
        assert_eq!(s["seed"], json!(2212391478u64));
        assert_eq!(s["cfg_scale"], json!(5.5));
        assert_eq!(s["width"], json!(1024));
        assert_eq!(s["height"], json!(768));
        assert_eq!(s["seed_mode"], json!("Scale Alike"));
        assert_eq!(s["v2"]["guidanceScale"], json!(5.5));
        assert_eq!(s["lora"][0]["weight"], json!(0.6));
        assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    }

    #[test]
    fn draw_things_detection() {
        assert!(!detect(&json_object(r#"{"c": "x"}"#).unwrap(), None));
        assert!(detect(&json_object(r#"{"c": "x"}"#).unwrap(), Some("Draw Things")));
        assert!(!detect(&json_object(r#"{"prompt": "x", "scale": 1}"#).unwrap(), Some("Photoshop")));
        let odd = parse(&json_object(r#"{"c": "x", "size": "big", "steps": "many"}"#).unwrap());
        assert_eq!(odd.notes.len(), 2, "{:?}", odd.notes);
        assert_eq!(odd.settings["size"], json!("big"));
    }
}
