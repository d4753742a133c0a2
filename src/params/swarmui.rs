//! SwarmUI's parameters: a JSON object, in PNG `parameters` text or in EXIF `UserComment`:
//!
//! ```json
//! {"sui_image_params": {"prompt": "...", "negativeprompt": "...", "model": "OfficialStableDiffusion/sd_xl_base_1.0",
//!   "seed": 1, "steps": 20, "cfgscale": 7, "width": 1024, "height": 1024, "sampler": "euler", "scheduler": "normal",
//!   "swarm_version": "0.9.1.1", ...},
//!  "sui_extra_data": {"date": "...", "generation_time": "..."},
//!  "sui_models": [{"name": "sd_xl_base_1.0.safetensors", "param": "model", "hash": "0x31e35c80fc..."}]}
//! ```
//!
//! `sui_extra_data` and `sui_models` are kept whole; the hash of the `sui_models` entry whose
//! `param` is `model` is the model version.

use serde_json::{Map, Value};

use super::fields::{Role, keep, map_object, order_settings};
use super::{ImportedParams, ParamSource, ParamsError};

const TABLE: [(&str, Role); 10] = [
    ("prompt", Role::Prompt),
    ("negativeprompt", Role::Negative),
    ("model", Role::Model),
    ("seed", Role::Seed),
    ("steps", Role::Steps),
    ("cfgscale", Role::Cfg),
    ("sampler", Role::Sampler),
    ("scheduler", Role::Scheduler),
    ("width", Role::Width),
    ("height", Role::Height),
];

/// Whether a JSON object is SwarmUI's.
pub fn detect(object: &Map<String, Value>) -> bool {
    object.get("sui_image_params").is_some_and(Value::is_object)
}

/// Maps a SwarmUI object (one that [`detect`] accepts) onto the manifest's fields.
pub fn parse(object: &Map<String, Value>) -> Result<ImportedParams, ParamsError> {
    let params = object
        .get("sui_image_params")
        .and_then(Value::as_object)
        .ok_or(ParamsError::Missing { record: "SwarmUI metadata", missing: "sui_image_params object" })?;
    let mut imported = ImportedParams::new(ParamSource::SwarmUi);
    map_object(&mut imported, params, &TABLE);
    let model_hash = object.get("sui_models").and_then(Value::as_array).and_then(|models| {
        models
            .iter()
            .find(|m| m.get("param").and_then(Value::as_str) == Some("model"))
            .and_then(|m| m.get("hash")?.as_str())
    });
    if let Some(hash) = model_hash {
        imported.model_version = Some(hash.to_string());
        imported.notes.push("model version taken from the model hash".into());
    }
    for (key, value) in object {
        if key != "sui_image_params" {
            keep(&mut imported, &format!("swarmui_{}", key.trim_start_matches("sui_")), value.clone());
        }
    }
    order_settings(&mut imported);
    Ok(imported)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::params::fields::json_object;
    use serde_json::json;

    pub(crate) const SWARM: &str = r#"{"sui_image_params": {"prompt": "a lighthouse, <lora:detail:0.5>",
        "negativeprompt": "blurry", "model": "OfficialStableDiffusion/sd_xl_base_1.0", "seed": 1234567, "steps": 30,
        "cfgscale": 6.5, "aspectratio": "1:1", "width": 1024, "height": 1024, "sampler": "dpmpp_2m",
        "scheduler": "karras", "swarm_version": "0.9.4.0"},
        "sui_extra_data": {"date": "2024-08-07", "prep_time": "1.2 sec"},
        "sui_models": [{"name": "sd_xl_base_1.0.safetensors", "param": "model", "hash": "0x31e35c80fc"}]}"#;

    #[test]
    fn swarm_parameters_map_onto_the_manifest() {
        let imported = parse(&json_object(SWARM).unwrap()).unwrap();
        assert_eq!(imported.source, ParamSource::SwarmUi);
        assert_eq!(imported.prompt.as_deref(), Some("a lighthouse, <lora:detail:0.5>"));
        assert_eq!(imported.model_name.as_deref(), Some("sd_xl_base_1.0"));
        assert_eq!(imported.model_version.as_deref(), Some("0x31e35c80fc"));
        let s = &imported.settings;
        let keys: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(
            &keys[..8],
            ["seed", "steps", "sampler", "cfg_scale", "scheduler", "negative_prompt", "width", "height"]
        );
        assert_eq!(s["seed"], json!(1234567));
        assert_eq!(s["cfg_scale"], json!(6.5));
        assert_eq!(s["checkpoint"], json!("OfficialStableDiffusion/sd_xl_base_1.0"));
        assert_eq!(s["swarm_version"], json!("0.9.4.0"));
        assert_eq!(s["aspectratio"], json!("1:1"));
        assert_eq!(s["swarmui_extra_data"]["prep_time"], json!("1.2 sec"));
        assert_eq!(s["swarmui_models"][0]["param"], json!("model"));
    }

    #[test]
    fn odd_swarm_objects() {
        assert!(!detect(&json_object(r#"{"sui_image_params": "text"}"#).unwrap()));
        assert!(parse(&json_object(r#"{"prompt": "x"}"#).unwrap()).is_err());
        let imported = parse(&json_object(r#"{"sui_image_params": {"seed": -1, "prompt": ["x"]}}"#).unwrap()).unwrap();
        assert_eq!(imported.prompt, None);
        assert!(!imported.settings.contains_key("seed"));
        assert_eq!(imported.notes.len(), 2, "{:?}", imported.notes);
    }
}
