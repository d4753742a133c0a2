//! Mapping a generator's JSON object onto [`ImportedParams`]: each reader names which of its keys
//! mean prompt, seed, steps, ...; every other key is kept under its snake_case name. Values are
//! accepted as numbers or as text holding a number, since several generators write everything as
//! text (Easy Diffusion's PNG chunks, Fooocus' seed).

use serde_json::{Map, Value, json};

use super::{ImportedParams, model_name_of_checkpoint, settings_key};

/// What a source key means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Prompt,
    Negative,
    /// A checkpoint name or file: the model name, and kept as `checkpoint`.
    Model,
    /// A model hash: the model version, and kept as `model_hash`.
    ModelHash,
    Seed,
    Steps,
    Cfg,
    Sampler,
    Scheduler,
    Width,
    Height,
    /// `WIDTHxHEIGHT` text: kept as `size`, and gives width and height.
    Size,
}

/// The keys every reader's settings start with, in this order; the rest follow as found.
const LEADING_KEYS: [&str; 9] =
    ["seed", "steps", "sampler", "cfg_scale", "scheduler", "negative_prompt", "width", "height", "size"];

/// Maps `object` onto `imported` following `table` (source key, role). Keys not in the table are
/// kept as they are under [`settings_key`] of their name; empty strings and nulls for a role are
/// skipped; values that do not fit their role are left out with a note.
pub(crate) fn map_object(imported: &mut ImportedParams, object: &Map<String, Value>, table: &[(&str, Role)]) {
    for (key, value) in object {
        match table.iter().find(|(name, _)| name == key) {
            Some(&(_, role)) => apply(imported, key, role, value),
            None => keep(imported, key, value.clone()),
        }
    }
}

/// Keeps `value` under the snake_case form of `key`, unless that key is already set.
pub(crate) fn keep(imported: &mut ImportedParams, key: &str, value: Value) {
    let snake = settings_key(key);
    let snake = if snake.is_empty() { key.to_string() } else { snake };
    if imported.settings.contains_key(&snake) {
        imported.notes.push(format!("{snake:?} appears twice; the first is kept"));
    } else {
        imported.settings.insert(snake, value);
    }
}

/// Puts one value where its role says.
pub(crate) fn apply(imported: &mut ImportedParams, key: &str, role: Role, value: &Value) {
    if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
        return;
    }
    let text = || value.as_str().map_or_else(|| value.to_string(), str::to_string);
    match role {
        Role::Prompt => match value.as_str() {
            Some(prompt) => imported.prompt = Some(prompt.to_string()),
            None => {
                imported.notes.push(format!("{key:?} is not text; kept as it is"));
                keep(imported, key, value.clone());
            }
        },
        Role::Negative => {
            imported.settings.insert("negative_prompt".into(), json!(text()));
        }
        Role::Model => {
            let file = text();
            imported.model_name = Some(model_name_of_checkpoint(&file));
            imported.settings.insert("checkpoint".into(), json!(file));
        }
        Role::ModelHash => {
            imported.model_version = Some(text());
            imported.settings.insert("model_hash".into(), json!(text()));
        }
        Role::Seed => typed(imported, key, "seed", value, whole_number),
        Role::Steps => typed(imported, key, "steps", value, whole_number),
        Role::Width => typed(imported, key, "width", value, whole_number),
        Role::Height => typed(imported, key, "height", value, whole_number),
        Role::Cfg => typed(imported, key, "cfg_scale", value, number),
        Role::Sampler => {
            imported.settings.insert("sampler".into(), json!(text()));
        }
        Role::Scheduler => {
            imported.settings.insert("scheduler".into(), json!(text()));
        }
        Role::Size => {
            let size = text();
            if let Some((width, height)) = parse_size(&size) {
                imported.settings.entry("width").or_insert(json!(width));
                imported.settings.entry("height").or_insert(json!(height));
            } else {
                imported.notes.push(format!("{key}: {size:?} is not WIDTHxHEIGHT"));
            }
            imported.settings.insert("size".into(), json!(size));
        }
    }
}

fn typed(imported: &mut ImportedParams, key: &str, name: &str, value: &Value, parse: fn(&Value) -> Option<Value>) {
    match parse(value) {
        Some(parsed) => {
            imported.settings.insert(name.into(), parsed);
        }
        None => imported.notes.push(format!("{key}: {value} is not a valid {name}; left out")),
    }
}

/// A whole number ≥ 0: a JSON integer, a float with no fraction, or text holding one.
pub(crate) fn whole_number(value: &Value) -> Option<Value> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64().filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x < 18_446_744_073_709_551_616.0).map(|x| x as u64)
        }),
        Value::String(s) => return whole_number_text(s),
        _ => None,
    }
    .map(Value::from)
}

/// A whole number ≥ 0 written as text.
pub(crate) fn whole_number_text(text: &str) -> Option<Value> {
    text.trim().parse::<u64>().ok().map(Value::from)
}

/// A finite number ≥ 0: a JSON number, or text holding one (whole values stay integers).
pub(crate) fn number(value: &Value) -> Option<Value> {
    match value {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite() && *x >= 0.0).map(|_| value.clone()),
        Value::String(s) => number_text(s),
        _ => None,
    }
}

/// A finite number ≥ 0 written as text; whole values stay integers, as generators wrote them
/// ("7", not "7.0").
pub(crate) fn number_text(text: &str) -> Option<Value> {
    let text = text.trim();
    let x = text.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0)?;
    Some(text.parse::<u64>().map_or_else(|_| json!(x), Value::from))
}

/// `512x768` (also `512×768`, `512*768`) as width and height.
pub(crate) fn parse_size(text: &str) -> Option<(u64, u64)> {
    let (width, height) = text.trim().split_once(['x', 'X', '×', '*'])?;
    Some((width.trim().parse().ok()?, height.trim().parse().ok()?))
}

/// Puts the settings in the order [`ImportedParams::settings`] documents: the leading keys first,
/// then the rest as found.
pub(crate) fn order_settings(imported: &mut ImportedParams) {
    let mut rest = std::mem::take(&mut imported.settings);
    let mut ordered = Map::new();
    for key in LEADING_KEYS {
        if let Some(value) = rest.remove(key) {
            ordered.insert(key.to_string(), value);
        }
    }
    ordered.extend(rest);
    imported.settings = ordered;
}

/// A JSON object from text, or `None` when the text is not one.
pub(crate) fn json_object(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamSource;

    #[test]
    fn values_are_typed_from_numbers_and_text() {
        let cases = [
            (json!(5), Some(json!(5))),
            (json!("42"), Some(json!(42))),
            (json!(" 7 "), Some(json!(7))),
            (json!(3.0), Some(json!(3))),
            (json!(3.5), None),
            (json!(-1), None),
            (json!("-1"), None),
            (json!(true), None),
            (json!([1]), None),
        ];
        for (value, expected) in cases {
            assert_eq!(whole_number(&value), expected, "{value}");
        }
        for (value, expected) in [
            (json!(7), Some(json!(7))),
            (json!(6.5), Some(json!(6.5))),
            (json!("7.5"), Some(json!(7.5))),
            (json!("7"), Some(json!(7))),
            (json!("NaN"), None),
            (json!(-2), None),
            (json!("x"), None),
        ] {
            assert_eq!(number(&value), expected, "{value}");
        }
        assert_eq!(parse_size("512x768"), Some((512, 768)));
        assert_eq!(parse_size("1024×1024"), Some((1024, 1024)));
        assert_eq!(parse_size("512"), None);
        assert_eq!(parse_size("ax1"), None);
    }

    #[test]
    fn objects_map_by_table_and_keep_the_rest() {
        let object = json_object(
            r#"{"extra": [1, 2], "text": "a cat", "neg": "", "ckpt": "models/x.safetensors", "s": "12",
                "n": -3, "cfg": 4.5, "dims": "64x32", "Some Key": true}"#,
        )
        .unwrap();
        let mut imported = ImportedParams::new(ParamSource::SwarmUi);
        let table = [
            ("text", Role::Prompt),
            ("neg", Role::Negative),
            ("ckpt", Role::Model),
            ("s", Role::Steps),
            ("n", Role::Seed),
            ("cfg", Role::Cfg),
            ("dims", Role::Size),
        ];
        map_object(&mut imported, &object, &table);
        order_settings(&mut imported);
        assert_eq!(imported.prompt.as_deref(), Some("a cat"));
        assert_eq!(imported.model_name.as_deref(), Some("x"));
        let keys: Vec<&str> = imported.settings.keys().map(String::as_str).collect();
        assert_eq!(keys, ["steps", "cfg_scale", "width", "height", "size", "extra", "checkpoint", "some_key"]);
        assert_eq!(imported.settings["steps"], json!(12));
        assert_eq!(imported.settings["width"], json!(64));
        assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
        assert!(imported.notes[0].contains("n: -3 is not a valid seed"));
        assert!(json_object("[1]").is_none());
        assert!(json_object("not json").is_none());
    }
}
