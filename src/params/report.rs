//! What `raiiaf params --json` prints for one image: one object with every key, for scripts and
//! the Python package alike.

use serde_json::{Map, Value, json};

use super::ParamsError;

/// How an image's read ended, worst last (the command's exit status follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Parameters were found.
    Found,
    /// The image was read and carried none.
    NoneFound,
    /// The image could not be read.
    Unreadable,
}

/// What an image's parameters are, and with `raw` its metadata entries, from one read of it.
pub type Found =
    (Result<Option<super::ImportedParams>, ParamsError>, Option<Result<Vec<(String, String)>, ParamsError>>);

/// Reads `bytes` once for its parameters and, with `raw`, its metadata entries as found.
pub fn read_params(bytes: &[u8], raw: bool) -> Found {
    if !raw {
        return (super::import_from_image(bytes), None);
    }
    match super::read_image_metadata(bytes) {
        Ok(metadata) => (super::import_from_metadata(&metadata), Some(Ok(metadata.entries))),
        Err(error) => (Err(error.clone()), Some(Err(error))),
    }
}

/// The object for the image called `file` whose bytes are `bytes` (or why they could not be
/// read): `file`, `generator` (null when none was recognised), `model_name`, `model_version`,
/// `prompt`, `settings`, `notes`, `error`, and with `raw` also `raw` (or `raw_error`).
pub fn params_json(file: &str, bytes: Result<&[u8], String>, raw: bool) -> (Value, Outcome) {
    let mut object = Map::new();
    let mut put = |key: &str, value: Value| {
        object.insert(key.to_string(), value);
    };
    put("file", json!(file));
    let outcome = match bytes {
        Err(error) => {
            put("error", json!(error));
            Outcome::Unreadable
        }
        Ok(bytes) => {
            let (params, entries) = read_params(bytes, raw);
            match entries {
                Some(Ok(entries)) => {
                    put("raw", entries.into_iter().map(|(key, text)| json!({"key": key, "text": text})).collect())
                }
                Some(Err(error)) => put("raw_error", json!(error.to_string())),
                None => {}
            }
            match params {
                Ok(Some(found)) => {
                    put("generator", json!(found.source.name()));
                    put("model_name", json!(found.model_name));
                    put("model_version", json!(found.model_version));
                    put("prompt", json!(found.prompt));
                    put("settings", Value::Object(found.settings));
                    put("notes", json!(found.notes));
                    Outcome::Found
                }
                Ok(None) => Outcome::NoneFound,
                Err(error) => {
                    put("error", json!(error.to_string()));
                    Outcome::Unreadable
                }
            }
        }
    };
    // Every key in every object, null or empty where nothing was found, for scripts.
    for (key, empty) in [
        ("generator", Value::Null),
        ("model_name", Value::Null),
        ("model_version", Value::Null),
        ("prompt", Value::Null),
        ("settings", json!({})),
        ("notes", json!([])),
        ("error", Value::Null),
    ] {
        object.entry(key).or_insert(empty);
    }
    (Value::Object(object), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_present_whatever_the_outcome() {
        let keys = ["file", "generator", "model_name", "model_version", "prompt", "settings", "notes", "error"];
        let unreadable = params_json("gone.png", Err("cannot read gone.png".into()), false);
        let not_an_image = params_json("x.png", Ok(b"not an image"), true);
        for (object, _) in [&unreadable, &not_an_image] {
            for key in keys {
                assert!(object.get(key).is_some(), "{key} missing from {object}");
            }
        }
        assert_eq!(unreadable.1, Outcome::Unreadable);
        assert_eq!(unreadable.0["error"], "cannot read gone.png");
        assert_eq!(not_an_image.1, Outcome::Unreadable);
        assert!(not_an_image.0.get("raw_error").is_some(), "{}", not_an_image.0);
    }
}
