//! What a pack uses where the image's generator recorded nothing: the manifest requires a model
//! name and a version, and many generators (ComfyUI, InvokeAI for some models, NovelAI) record
//! no version, some no model at all. A pack is never refused for that; each stand-in comes with a
//! note saying where it came from, and the user can change it.

use crate::format::ModelInfo;

/// What [`fill_required`] writes when nothing better is known.
pub const UNKNOWN: &str = "unknown";

/// Fills the required fields `info` still lacks, after the user's values and the imported ones:
/// - version: the model's name (a checkpoint's file name, when no model hash was recorded), else
///   [`UNKNOWN`];
/// - model name: the version (a model hash), else [`UNKNOWN`];
/// - prompt: left empty, which the schema allows;
/// - generation settings without a sampler: [`UNKNOWN`]; without a seed or steps (numbers nobody
///   can stand in for): kept whole as `model_info.recorded_settings`, outside
///   `generation_settings`, whose seed, steps and sampler the schema requires.
///
/// Returns a note for each, for the user.
pub fn fill_required(info: &mut ModelInfo) -> Vec<String> {
    let mut notes = fill_model(info);
    notes.extend(fill_settings(info));
    notes
}

/// The model name, version and prompt part of [`fill_required`].
pub fn fill_model(info: &mut ModelInfo) -> Vec<String> {
    let mut notes = Vec::new();
    let name = info.model_name.trim().to_string();
    let version = info.version.trim().to_string();
    if version.is_empty() {
        if name.is_empty() {
            info.version = UNKNOWN.into();
            notes.push(format!("no model version or hash was recorded: the version is {UNKNOWN:?}"));
        } else {
            info.version.clone_from(&name);
            notes.push(format!("no model version or hash was recorded: the version is the model's name, {name:?}"));
        }
    }
    if name.is_empty() {
        if version.is_empty() {
            info.model_name = UNKNOWN.into();
            notes.push(format!("no model name was recorded: the name is {UNKNOWN:?}"));
        } else {
            info.model_name.clone_from(&version);
            notes.push(format!("no model name was recorded: the name is the model version, {version:?}"));
        }
    }
    if info.prompt.trim().is_empty() {
        notes.push("no prompt was recorded: packed with an empty prompt".into());
    }
    notes
}

/// The generation settings part of [`fill_required`].
pub fn fill_settings(info: &mut ModelInfo) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(settings) = &mut info.generation_settings {
        let missing: Vec<&str> = ["seed", "steps"].into_iter().filter(|key| !settings.contains_key(*key)).collect();
        if !missing.is_empty() {
            notes.push(format!(
                "no {} was recorded: the settings are kept as model_info.{RECORDED_SETTINGS}, as generation_settings needs a seed and steps",
                missing.join(" or ")
            ));
            let settings = std::mem::take(settings);
            info.generation_settings = None;
            info.extra.entry(RECORDED_SETTINGS).or_insert(serde_json::Value::Object(settings));
        } else if !settings.contains_key("sampler") {
            settings.insert("sampler".into(), UNKNOWN.into());
            notes.push(format!("no sampler was recorded: the sampler is {UNKNOWN:?}"));
        }
    }
    notes
}

/// Where settings without a seed or steps are kept.
pub const RECORDED_SETTINGS: &str = "recorded_settings";

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, version: &str, prompt: &str) -> ModelInfo {
        ModelInfo { model_name: name.into(), version: version.into(), prompt: prompt.into(), ..ModelInfo::default() }
    }

    #[test]
    fn each_missing_field_gets_its_stand_in_and_a_note() {
        for (given, expected, note_count) in [
            // Everything known: nothing changes.
            (info("sd_xl_base_1.0", "31e35c80fc", "a cat"), info("sd_xl_base_1.0", "31e35c80fc", "a cat"), 0),
            // ComfyUI: a checkpoint name, no hash.
            (info("sd_xl_base_1.0", "", "a cat"), info("sd_xl_base_1.0", "sd_xl_base_1.0", "a cat"), 1),
            // A hash without a name.
            (info("", "31e35c80fc", "a cat"), info("31e35c80fc", "31e35c80fc", "a cat"), 1),
            // Nothing at all, not even a prompt.
            (info("", " ", ""), info(UNKNOWN, UNKNOWN, ""), 3),
        ] {
            let mut filled = given.clone();
            let notes = fill_required(&mut filled);
            assert_eq!(filled, expected, "{given:?}");
            assert_eq!(notes.len(), note_count, "{notes:?}");
        }
    }

    #[test]
    fn settings_lacking_what_the_schema_requires_are_completed_or_kept_aside() {
        let with_settings = |settings: serde_json::Value| ModelInfo {
            generation_settings: settings.as_object().cloned(),
            ..info("m", "1", "p")
        };
        // No sampler: a stand-in.
        let mut filled = with_settings(serde_json::json!({"seed": 1, "steps": 20, "cfg_scale": 5}));
        assert_eq!(fill_required(&mut filled).len(), 1);
        assert_eq!(filled.generation_settings.as_ref().and_then(|s| s.get("sampler")), Some(&UNKNOWN.into()));
        assert!(crate::format::writer::model_info_problems(&ModelInfo { date: "d".into(), ..filled }).is_empty());
        // No steps: kept aside whole, and the manifest is valid.
        let recorded = serde_json::json!({"seed": 1, "sampler": "euler", "performance": "Speed"});
        let mut filled = with_settings(recorded.clone());
        let notes = fill_required(&mut filled);
        assert!(notes[0].starts_with("no steps was recorded"), "{notes:?}");
        assert_eq!(filled.generation_settings, None);
        assert_eq!(filled.extra.get(RECORDED_SETTINGS), Some(&recorded));
        assert!(crate::format::writer::model_info_problems(&ModelInfo { date: "d".into(), ..filled }).is_empty());
        // Complete settings are left alone.
        let complete = serde_json::json!({"seed": 1, "steps": 2, "sampler": "euler"});
        let mut filled = with_settings(complete.clone());
        assert!(fill_required(&mut filled).is_empty());
        assert_eq!(filled.generation_settings, complete.as_object().cloned());
    }

    #[test]
    fn notes_say_where_each_value_came_from() {
        let mut filled = info("juggernaut", "", "");
        let notes = fill_required(&mut filled);
        assert!(notes[0].contains("the version is the model's name, \"juggernaut\""), "{notes:?}");
        assert!(notes[1].contains("empty prompt"), "{notes:?}");
    }
}
