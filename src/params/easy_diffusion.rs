//! Easy Diffusion's metadata (`ui/easydiffusion/utils/save_utils.py`, written by sdkit's
//! `save_dicts`): one PNG text chunk per request key, each value as Python's `str()` of it; or, in
//! JPEG and WebP, the same keys as one JSON object in EXIF `UserComment`. The keys are the
//! request's (`prompt`, `negative_prompt`, `seed`, `use_stable_diffusion_model`, `clip_skip`,
//! `use_vae_model`, `sampler_name`, `width`, `height`, `num_inference_steps`, `guidance_scale`,
//! `use_lora_model`, `lora_alpha`, `tiling`, `use_upscale`, …), or their labels (`Prompt`,
//! `Stable Diffusion model`, `Steps`, `Guidance Scale`, …) when the text metadata format was also
//! chosen.
//!
//! ComfyUI also writes a `prompt` chunk, but its text is a JSON graph; Easy Diffusion's is the
//! prompt itself, beside keys ComfyUI never writes (`use_stable_diffusion_model`,
//! `num_inference_steps`, `sampler_name` with `guidance_scale`).

use serde_json::{Map, Value};

use super::fields::{Role, apply, keep, order_settings};
use super::{ImportedParams, ParamSource};

/// Keys by role, with the label Easy Diffusion's text format gives each.
const TABLE: [(&str, &str, Role); 9] = [
    ("prompt", "Prompt", Role::Prompt),
    ("negative_prompt", "Negative Prompt", Role::Negative),
    ("use_stable_diffusion_model", "Stable Diffusion model", Role::Model),
    ("seed", "Seed", Role::Seed),
    ("num_inference_steps", "Steps", Role::Steps),
    ("guidance_scale", "Guidance Scale", Role::Cfg),
    ("sampler_name", "Sampler", Role::Sampler),
    ("width", "Width", Role::Width),
    ("height", "Height", Role::Height),
];

/// Labels of the keys that are only kept, so they come back under the request's key.
const LABELS: [(&str, &str); 15] = [
    ("Clip Skip", "clip_skip"),
    ("ControlNet model", "use_controlnet_model"),
    ("ControlNet Filter", "control_filter_to_apply"),
    ("VAE model", "use_vae_model"),
    ("Prompt Strength", "prompt_strength"),
    ("LoRA model", "use_lora_model"),
    ("LoRA Strength", "lora_alpha"),
    ("Hypernetwork model", "use_hypernetwork_model"),
    ("Hypernetwork Strength", "hypernetwork_strength"),
    ("Embedding models", "use_embeddings_model"),
    ("Seamless Tiling", "tiling"),
    ("Use Face Correction", "use_face_correction"),
    ("Use Upscaling", "use_upscale"),
    ("Upscale By", "upscale_amount"),
    ("Latent Upscaler Steps", "latent_upscaler_steps"),
];

/// Whether keys (PNG chunk keywords or JSON keys) are Easy Diffusion's.
pub fn detect<'a>(keys: impl IntoIterator<Item = &'a str>) -> bool {
    let keys: Vec<&str> = keys.into_iter().collect();
    let has = |key: &str| keys.contains(&key);
    has("use_stable_diffusion_model")
        || has("num_inference_steps")
        || has("Stable Diffusion model")
        || (has("sampler_name") && has("guidance_scale"))
}

/// Maps Easy Diffusion's keys (PNG chunks as text values, or a JSON object) onto the manifest's
/// fields.
pub fn parse(fields: &Map<String, Value>) -> ImportedParams {
    let mut imported = ImportedParams::new(ParamSource::EasyDiffusion);
    for (key, value) in fields {
        if let Some(&(_, _, role)) = TABLE.iter().find(|(name, label, _)| name == key || label == key) {
            apply(&mut imported, key, role, value);
        } else if let Some(&(_, name)) = LABELS.iter().find(|(label, _)| label == key) {
            keep(&mut imported, name, value.clone());
        } else {
            keep(&mut imported, key, value.clone());
        }
    }
    order_settings(&mut imported);
    imported
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// Easy Diffusion's PNG chunks: every value as Python's `str()`.
    pub(crate) const PNG_CHUNKS: [(&str, &str); 13] = [
        ("prompt", "a photograph of an astronaut riding a horse"),
        ("negative_prompt", "cartoon"),
        ("seed", "3160024305"),
        ("use_stable_diffusion_model", "sd-v1-5"),
        ("clip_skip", "False"),
        ("use_vae_model", "None"),
        ("sampler_name", "euler_a"),
        ("width", "512"),
        ("height", "768"),
        ("num_inference_steps", "25"),
        ("guidance_scale", "7.5"),
        ("use_lora_model", "None"),
        ("tiling", "None"),
    ];

    pub(crate) const JSON: &str = r#"{"prompt": "a photograph of an astronaut riding a horse", "negative_prompt": "cartoon",
        "seed": 3160024305, "use_stable_diffusion_model": "sd-v1-5", "clip_skip": false, "use_vae_model": null,
        "sampler_name": "euler_a", "width": 512, "height": 768, "num_inference_steps": 25, "guidance_scale": 7.5,
        "use_lora_model": null, "tiling": null}"#;

    #[test]
    fn easy_diffusion_chunks_and_json_agree() {
        let chunks: Map<String, Value> = PNG_CHUNKS.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let object: Map<String, Value> = serde_json::from_str(JSON).unwrap();
        assert!(detect(chunks.keys().map(String::as_str)));
        assert!(detect(object.keys().map(String::as_str)));
        for imported in [parse(&chunks), parse(&object)] {
            assert_eq!(imported.source, ParamSource::EasyDiffusion);
            assert_eq!(imported.prompt.as_deref(), Some("a photograph of an astronaut riding a horse"));
            assert_eq!(imported.model_name.as_deref(), Some("sd-v1-5"));
            let s = &imported.settings;
            let keys: Vec<&str> = s.keys().map(String::as_str).collect();
            assert_eq!(&keys[..7], ["seed", "steps", "sampler", "cfg_scale", "negative_prompt", "width", "height"]);
            assert_eq!(s["seed"], json!(3160024305u64));
            assert_eq!(s["steps"], json!(25));
            assert_eq!(s["cfg_scale"], json!(7.5));
            assert_eq!(s["sampler"], json!("euler_a"));
            assert_eq!(s["checkpoint"], json!("sd-v1-5"));
            assert!(s.contains_key("use_vae_model") && s.contains_key("tiling") && s.contains_key("clip_skip"));
            assert!(imported.notes.is_empty(), "{:?}", imported.notes);
        }
    }

    #[test]
    fn labels_and_detection() {
        let labelled: Map<String, Value> = [
            ("Prompt", "a boat"),
            ("Stable Diffusion model", "sd-v1-5.safetensors"),
            ("Steps", "20"),
            ("Guidance Scale", "7"),
            ("VAE model", "vae-ft-mse"),
            ("Seed", "x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
        assert!(detect(labelled.keys().map(String::as_str)));
        let imported = parse(&labelled);
        assert_eq!(imported.prompt.as_deref(), Some("a boat"));
        assert_eq!(imported.model_name.as_deref(), Some("sd-v1-5"));
        assert_eq!(imported.settings["steps"], json!(20));
        assert_eq!(imported.settings["use_vae_model"], json!("vae-ft-mse"));
        assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
        // ComfyUI's chunks and AUTOMATIC1111's are not Easy Diffusion's.
        assert!(!detect(["prompt", "workflow"]));
        assert!(!detect(["parameters"]));
        assert!(!detect(["prompt", "sampler_name"]));
    }
}
