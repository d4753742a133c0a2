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
/// - prompt: left empty, which the schema allows.
///
/// Returns a note for each, for the user.
pub fn fill_required(info: &mut ModelInfo) -> Vec<String> {
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
    fn notes_say_where_each_value_came_from() {
        let mut filled = info("juggernaut", "", "");
        let notes = fill_required(&mut filled);
        assert!(notes[0].contains("the version is the model's name, \"juggernaut\""), "{notes:?}");
        assert!(notes[1].contains("empty prompt"), "{notes:?}");
    }
}
