//! `raiiaf params`: the generation parameters images carry, and which generator wrote them.

use std::path::PathBuf;

use super::exit;
use crate::params::report::{self, Outcome, read_params};

pub const AFTER_HELP: &str = "\
Reads PNG, JPEG and WebP images: PNG text chunks, EXIF, XMP and data hidden in the pixels' low \
bits (stealth PNG info), as AUTOMATIC1111/Forge, ComfyUI, Fooocus, InvokeAI, NovelAI, SwarmUI, \
Easy Diffusion, Draw Things and Civitai write them. Text: the generator, then each value found and \
the notes. --json: one JSON object per line and image: file, generator (null when none was \
recognised), model_name, model_version, prompt, settings, notes, error; with --raw also every \
metadata entry as found (key and text).

Exit status: 0 every image carried parameters, 1 an image carried none, 2 an image could not be \
read, 64 usage error.";

pub fn params(images: &[PathBuf], as_json: bool, raw: bool, limits: &crate::format::Limits) -> u8 {
    let mut worst = exit::OK;
    for file in images {
        let bytes = crate::platform::read_within(file, limits.max_image_bytes)
            .map_err(|e| format!("cannot read {}: {e}", file.display()));
        if as_json {
            let (object, outcome) =
                report::params_json(&file.display().to_string(), bytes.as_deref().map_err(Clone::clone), raw);
            worst = worst.max(match outcome {
                Outcome::Found => exit::OK,
                Outcome::NoneFound => exit::INVALID,
                Outcome::Unreadable => exit::UNREADABLE,
            });
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
