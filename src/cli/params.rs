//! `raiiaf params`: the generation parameters images carry, and which generator wrote them.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::exit;
use crate::params::{ImportedParams, ParamsError};

pub const AFTER_HELP: &str = "\
Reads PNG, JPEG and WebP images: PNG text chunks, EXIF, XMP and data hidden in the pixels' low \
bits (stealth PNG info), as AUTOMATIC1111/Forge, ComfyUI, Fooocus, InvokeAI, NovelAI, SwarmUI, \
Easy Diffusion, Draw Things and Civitai write them. Text: the generator, then each value found and \
the notes. --json: one JSON object per line and image: file, generator (null when none was \
recognised), model_name, model_version, prompt, settings, notes, error; with --raw also every \
metadata entry as found (key and text).

Exit status: 0 every image carried parameters, 1 an image carried none, 2 an image could not be \
read, 64 usage error.";

/// What an image's parameters are, and with `raw` its metadata entries, from one read of it.
type Found = (Result<Option<ImportedParams>, ParamsError>, Option<Result<Vec<(String, String)>, ParamsError>>);

fn read_params(bytes: &[u8], raw: bool) -> Found {
    if !raw {
        return (crate::params::import_from_image(bytes), None);
    }
    match crate::params::read_image_metadata(bytes) {
        Ok(metadata) => (crate::params::import_from_metadata(&metadata), Some(Ok(metadata.entries))),
        Err(error) => (Err(error.clone()), Some(Err(error))),
    }
}

fn json_of(file: &std::path::Path, bytes: Result<Vec<u8>, String>, raw: bool) -> (Value, u8) {
    let mut object = Map::new();
    let mut put = |key: &str, value: Value| {
        object.insert(key.to_string(), value);
    };
    put("file", json!(file.display().to_string()));
    let status = match bytes {
        Err(error) => {
            put("error", json!(error));
            exit::UNREADABLE
        }
        Ok(bytes) => {
            let (params, entries) = read_params(&bytes, raw);
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
                    exit::OK
                }
                Ok(None) => exit::INVALID,
                Err(error) => {
                    put("error", json!(error.to_string()));
                    exit::UNREADABLE
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
    (Value::Object(object), status)
}

pub fn params(images: &[PathBuf], as_json: bool, raw: bool, limits: &crate::format::Limits) -> u8 {
    let mut worst = exit::OK;
    for file in images {
        let bytes = crate::platform::read_within(file, limits.max_image_bytes)
            .map_err(|e| format!("cannot read {}: {e}", file.display()));
        if as_json {
            let (object, status) = json_of(file, bytes, raw);
            worst = worst.max(status);
            super::commands::print_line(&object.to_string());
            continue;
        }
        let found = bytes.and_then(|bytes| match read_params(&bytes, raw) {
            (Ok(params), Some(Ok(entries))) => Ok((params, entries)),
            (Ok(params), None) => Ok((params, Vec::new())),
            (Err(error), _) | (_, Some(Err(error))) => Err(error.to_string()),
        });
        super::commands::print_line(&format!("{}:", file.display()));
        let (status, lines) = match found {
            Ok((Some(found), entries)) => (exit::OK, found.summary().into_iter().chain(raw_lines(&entries)).collect()),
            Ok((None, entries)) => (
                exit::INVALID,
                std::iter::once("no generation parameters found".to_string()).chain(raw_lines(&entries)).collect(),
            ),
            Err(error) => (exit::UNREADABLE, vec![format!("error: {error}")]),
        };
        worst = worst.max(status);
        for line in lines {
            super::commands::print_line(&format!("  {line}"));
        }
    }
    worst
}

fn raw_lines(entries: &[(String, String)]) -> impl Iterator<Item = String> + '_ {
    entries.iter().map(|(key, text)| format!("raw {key}: {text}"))
}
