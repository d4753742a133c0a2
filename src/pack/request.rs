//! The metadata of a pack from the user's values and the image's parameters, and the latents
//! from their files: what `raiiaf pack` and `raiiaf pack-batch` build a request from.

use serde_json::{Map, Value};

use crate::format::reader::Limits;
use crate::format::writer::{self, LatentCodec, PackLatent};
use crate::format::{Latent, ModelInfo};
use crate::npy::NpyTensor;

use super::PackError;

/// What the user gave for the manifest; empty means "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataChoices {
    pub model_name: Option<String>,
    pub version: Option<String>,
    pub prompt: Option<String>,
    pub tags: Vec<String>,
    pub settings: Option<Map<String, Value>>,
    /// Read the image's generation parameters to fill what the user left out, with
    /// [`super::fallback`] for what the generator did not record either.
    pub import_params: bool,
}

/// A pack's model_info, and lines for the user (what was imported, the notes).
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub model_info: ModelInfo,
    pub lines: Vec<String>,
}

/// The model_info for `image` (the file's bytes, named `image_name` in messages): the user's
/// values first, then (with `import_params`) the image's parameters, then the stand-ins of
/// [`super::fallback::fill_required`]. Without `import_params`, a missing model name, version or
/// prompt is an error naming the flags to give.
pub fn metadata_for(image: &[u8], image_name: &str, choices: &MetadataChoices) -> Result<Metadata, PackError> {
    let mut lines = Vec::new();
    let mut model_info = ModelInfo {
        model_name: choices.model_name.clone().unwrap_or_default(),
        version: choices.version.clone().unwrap_or_default(),
        date: writer::now_iso8601(),
        prompt: choices.prompt.clone().unwrap_or_default(),
        tags: choices.tags.clone(),
        generation_settings: choices.settings.clone(),
        hardware_info: None,
        extra: Map::new(),
    };
    if !choices.import_params {
        let missing: Vec<&str> = [
            ("--model", &model_info.model_name),
            ("--model-version", &model_info.version),
            ("--prompt", &model_info.prompt),
        ]
        .into_iter()
        .filter(|(_, value)| value.is_empty())
        .map(|(flag, _)| flag)
        .collect();
        if !missing.is_empty() {
            return Err(PackError::ValuesMissing { flags: missing });
        }
        return checked(Metadata { model_info, lines });
    }
    match crate::params::import_from_image(image) {
        Ok(Some(imported)) => {
            lines.extend(imported.summary());
            imported.fill_missing(&mut model_info);
        }
        Ok(None) => lines.push(format!("note: {image_name} carries no generation parameters")),
        Err(error) => return Err(PackError::Import { image: image_name.to_string(), error }),
    }
    lines.extend(super::fallback::fill_required(&mut model_info).into_iter().map(|note| format!("note: {note}")));
    checked(Metadata { model_info, lines })
}

/// `metadata`, unless the packer's form would refuse it: both decide alike what may be packed.
fn checked(metadata: Metadata) -> Result<Metadata, PackError> {
    let problems = super::form::model_info_problems(&metadata.model_info);
    if problems.is_empty() {
        return Ok(metadata);
    }
    Err(PackError::Unpackable { problems })
}

/// The latents in a latent file, each stored with `codec` (as float16 with `float16`), and the
/// reader's notes. `key` names the latent of a file holding one (a file with several keeps its
/// arrays' names).
pub fn latents_from_file(
    path: &std::path::Path,
    key: Option<&str>,
    codec: LatentCodec,
    float16: bool,
    limits: &Limits,
) -> Result<(Vec<PackLatent>, Vec<String>), PackError> {
    let mut found = crate::npy::read_latent_file(path, limits)?;
    if let (Some(key), [(only, _)]) = (key, found.as_mut_slice()) {
        *only = key.to_string();
    }
    pack_latents(&path.display().to_string(), found, codec, float16)
}

/// The latents a command-line spec names (`FILE`, or `KEY=FILE` for a file holding one), as
/// [`latents_from_file`] gives them.
pub fn latents_from_spec(
    spec: &str,
    codec: LatentCodec,
    float16: bool,
    limits: &Limits,
) -> Result<(Vec<PackLatent>, Vec<String>), PackError> {
    pack_latents(spec, crate::npy::read_latent_spec(spec, limits)?, codec, float16)
}

/// A pack whose inputs are already in memory: what the Python package's `pack` asks for.
#[derive(Debug, Clone)]
pub struct MemoryPack {
    /// The image file's bytes (PNG, JPEG or WebP); the reference allows none.
    pub image: Option<Vec<u8>>,
    /// How the image is named in messages.
    pub image_name: String,
    /// The image chunk record's `extra` object.
    pub image_extra: Map<String, Value>,
    pub latents: Vec<PackLatent>,
    pub choices: MetadataChoices,
    /// `hardware_info`, if any.
    pub hardware: Option<Map<String, Value>>,
    /// The environment snapshot (its ENVC chunk): a probe's, another file's, or none.
    pub environment: crate::format::Environment,
}

/// The container `request` describes, in memory, with the lines for the user (what was
/// imported, the notes): the same metadata and refusals as `raiiaf pack`.
pub fn pack_in_memory(request: MemoryPack) -> Result<(writer::Packed, Vec<String>), PackError> {
    let metadata = metadata_for(request.image.as_deref().unwrap_or_default(), &request.image_name, &request.choices)?;
    let mut model_info = metadata.model_info;
    let payload = writer::pack_payload(&request.latents, request.image.as_deref(), &request.image_extra)?;
    model_info.hardware_info = request.hardware;
    Ok((writer::pack_with(payload, &model_info, &request.environment)?, metadata.lines))
}

/// A latent file's tensors as pack inputs, and the reader's notes, both named by `file`.
fn pack_latents(
    file: &str,
    found: Vec<(String, NpyTensor)>,
    codec: LatentCodec,
    float16: bool,
) -> Result<(Vec<PackLatent>, Vec<String>), PackError> {
    let mut notes = Vec::new();
    let mut latents = Vec::with_capacity(found.len());
    for (key, tensor) in found {
        notes.extend(tensor.notes.iter().map(|note| format!("{file}: {note}")));
        let latent = Latent::new(key, tensor.shape, tensor.values)
            .map_err(|error| PackError::Latent { file: file.to_string(), error })?;
        latents.push(PackLatent { latent, codec, float16 });
    }
    Ok((latents, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_with_text(key: &str, text: &str) -> Vec<u8> {
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, 1, 1);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.add_text_chunk(key.into(), text.into()).unwrap();
        encoder.write_header().unwrap().write_image_data(&[0]).unwrap();
        png
    }

    #[test]
    fn without_import_every_required_value_must_be_given() {
        let image = png_with_text("parameters", "a cat\nSteps: 20, Sampler: Euler, Seed: 1, Model: m");
        let error = metadata_for(&image, "a.png", &MetadataChoices::default()).unwrap_err();
        assert!(error.to_string().contains("give --model, --model-version, --prompt (or"), "{error}");
        let given = MetadataChoices {
            model_name: Some("m".into()),
            version: Some("1".into()),
            prompt: Some("p".into()),
            ..MetadataChoices::default()
        };
        let metadata = metadata_for(&image, "a.png", &given).unwrap();
        assert_eq!((metadata.model_info.model_name.as_str(), metadata.model_info.prompt.as_str()), ("m", "p"));
        assert!(metadata.model_info.generation_settings.is_none(), "nothing imported without --import-params");
    }

    #[test]
    fn the_command_line_refuses_what_the_packer_form_refuses() {
        let image = png_with_text("Software", "an editor");
        let choices = MetadataChoices {
            model_name: Some("m".into()),
            version: Some("1".into()),
            prompt: Some("p".into()),
            settings: serde_json::json!({"seed": 1, "steps": 0, "sampler": "euler"}).as_object().cloned(),
            ..MetadataChoices::default()
        };
        let error = metadata_for(&image, "a.png", &choices).unwrap_err();
        assert!(error.to_string().contains("cannot be packed: steps: 0 is less than the minimum of 1"), "{error}");
        let info = ModelInfo {
            model_name: "m".into(),
            version: "1".into(),
            prompt: "p".into(),
            date: "d".into(),
            generation_settings: choices.settings.clone(),
            ..ModelInfo::default()
        };
        let form = super::super::form::MetadataForm::from_model_info(&info);
        assert!(form.problems().iter().any(|(field, _)| field == "steps"), "{:?}", form.problems());
        // And both accept the same request once it is right.
        let fixed = MetadataChoices {
            settings: serde_json::json!({"seed": 1, "steps": 2, "sampler": "euler"}).as_object().cloned(),
            ..choices
        };
        assert!(metadata_for(&image, "a.png", &fixed).is_ok());
    }

    #[test]
    fn imported_values_fill_gaps_and_fallbacks_fill_the_rest() {
        // ComfyUI records a checkpoint but no version.
        let graph = r#"{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "juggernaut.safetensors"}},
            "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 7, "sampler_name": "euler",
            "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0]}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse"}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}}}"#;
        let image = png_with_text("prompt", graph);
        let choices =
            MetadataChoices { import_params: true, prompt: Some("mine".into()), ..MetadataChoices::default() };
        let metadata = metadata_for(&image, "c.png", &choices).unwrap();
        let info = &metadata.model_info;
        assert_eq!(info.model_name, "juggernaut");
        assert_eq!(info.version, "juggernaut", "the checkpoint name stands in for the missing version");
        assert_eq!(info.prompt, "mine", "the user's prompt wins");
        assert_eq!(info.generation_settings.as_ref().and_then(|s| s.get("seed")), Some(&Value::from(5)));
        assert!(metadata.lines.iter().any(|l| l.contains("version is the model's name")), "{:?}", metadata.lines);
    }

    #[test]
    fn an_image_without_parameters_is_packed_with_stand_ins() {
        let image = png_with_text("Software", "an editor");
        let choices = MetadataChoices { import_params: true, ..MetadataChoices::default() };
        let metadata = metadata_for(&image, "plain.png", &choices).unwrap();
        let info = &metadata.model_info;
        assert_eq!((info.model_name.as_str(), info.version.as_str(), info.prompt.as_str()), ("unknown", "unknown", ""));
        assert!(metadata.lines.iter().any(|l| l.contains("plain.png carries no generation parameters")));
        let error = metadata_for(b"not an image", "x.png", &choices).unwrap_err();
        assert!(
            matches!(&error, PackError::Import { image, error: crate::params::ParamsError::NotAnImage } if image == "x.png")
        );
    }
}
