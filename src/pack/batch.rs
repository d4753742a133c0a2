//! Packing many images at once: images and latent files are paired by file stem, and the plan
//! (pairs, and files left over with the reason) is shown before anything is written.
//!
//! `0001.png` pairs with `0001.npy`, `0001.npz` (each array a latent) or `0001.latent`, whose one
//! latent gets the default key; and with `0001_initial_noise.npy` or `0001-initial_noise.npy`,
//! whose latent is keyed `initial_noise`. An image may have several latent files. Where stems
//! overlap (`0001` and `0001_b`), a latent file goes to the longest image stem it starts with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Image files a batch packs.
pub const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "webp"];
/// The key of a latent whose file is named exactly like its image.
pub const DEFAULT_LATENT_KEY: &str = "latent";

/// One latent file of a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatentFile {
    pub path: PathBuf,
    /// The key the file name gives (`0001_initial_noise.npy`: `initial_noise`); `None` for a file
    /// named like the image, whose latent gets the default key (an `.npz` keeps its arrays' names).
    pub key: Option<String>,
}

/// An image, its latent files and the container it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub image: PathBuf,
    pub latents: Vec<LatentFile>,
    pub output: PathBuf,
}

/// The pairs, and each file that is in none with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub pairs: Vec<Pair>,
    pub unmatched: Vec<(PathBuf, String)>,
}

/// Whether `path`'s extension is one of `extensions` (any case).
pub fn extension_in(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|known| e.eq_ignore_ascii_case(known)))
}

fn stem(path: &Path) -> Option<String> {
    path.file_stem().and_then(|s| s.to_str()).map(str::to_string)
}

/// The files directly in each folder (not in subfolders), sorted: what a batch is planned from.
/// A path that is a file is taken as it is.
pub fn files_in(paths: &[PathBuf]) -> Result<Vec<PathBuf>, super::PackError> {
    let mut files = Vec::new();
    for path in paths {
        let folder_error = |error| super::PackError::Folder { folder: path.clone(), error };
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(folder_error)?;
            for entry in entries {
                let entry = entry.map_err(folder_error)?;
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    files.push(entry.path());
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Pairs `files` (images, latent files, anything else) into containers written to `output_dir`.
pub fn plan(files: &[PathBuf], output_dir: &Path) -> Plan {
    let mut plan = Plan::default();
    let mut images: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut latent_files = Vec::new();
    for file in files {
        match stem(file) {
            Some(stem) if extension_in(file, &IMAGE_EXTENSIONS) => {
                if let Some(first) = images.get(&stem) {
                    let reason = format!("another image has the same name: {}", first.display());
                    plan.unmatched.push((file.clone(), reason));
                } else {
                    images.insert(stem, file.clone());
                }
            }
            // Any latent file this program reads (`npy::LatentFileKind`).
            Some(stem) if crate::npy::LatentFileKind::from_extension(file).is_some() => {
                latent_files.push((stem, file.clone()))
            }
            _ => plan.unmatched.push((file.clone(), "neither an image nor a latent file".into())),
        }
    }
    let mut latents_of: BTreeMap<String, Vec<LatentFile>> = BTreeMap::new();
    for (stem, path) in latent_files {
        // The longest image stem this latent's stem is, or starts with before a separator: its
        // candidates are the stem and its prefixes ending before a separator, longest first, each
        // looked up (not every image compared with every latent).
        let cuts = std::iter::once(stem.len())
            .chain(stem.char_indices().rev().filter(|(_, c)| matches!(c, '_' | '-' | '.')).map(|(at, _)| at));
        let matched = cuts.filter_map(|cut| stem.get(..cut)).find_map(|prefix| {
            images.get_key_value(prefix).and_then(|(image, _)| Some((image, key_after(&stem, image)?)))
        });
        match matched {
            Some((image, key)) => latents_of.entry(image.clone()).or_default().push(LatentFile { path, key }),
            None => plan.unmatched.push((path, "no image has its name".into())),
        }
    }
    for (stem, image) in images {
        match latents_of.remove(&stem) {
            Some(latents) => {
                plan.pairs.push(Pair { image, latents, output: output_dir.join(format!("{stem}.raiiaf")) })
            }
            None => plan.unmatched.push((image, "no latent file has its name".into())),
        }
    }
    plan.unmatched.sort();
    plan
}

/// `Some(None)` when `latent_stem` is `image_stem`; `Some(Some(key))` when it is `image_stem`,
/// a `_`, `-` or `.` and a key; otherwise `None`.
fn key_after(latent_stem: &str, image_stem: &str) -> Option<Option<String>> {
    let rest = latent_stem.strip_prefix(image_stem)?;
    if rest.is_empty() {
        return Some(None);
    }
    let key = rest.strip_prefix(['_', '-', '.'])?;
    (!key.is_empty()).then(|| Some(key.to_string()))
}

/// How every pair of a batch is packed.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub metadata: super::request::MetadataChoices,
    pub codec: crate::format::writer::LatentCodec,
    pub float16: bool,
    /// Replace containers that exist already (otherwise such a pair is skipped).
    pub overwrite: bool,
    pub limits: crate::format::reader::Limits,
}

/// What became of one pair.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Written, this many bytes.
    Packed(usize),
    /// Its container exists and overwriting was not asked for: nothing written.
    Exists,
    /// Nothing written, for this reason.
    Failed(String),
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Status::Packed(_) => "packed",
            Status::Exists => "exists",
            Status::Failed(_) => "failed",
        }
    }

    /// What a person reads beside the label.
    pub fn detail(&self) -> String {
        match self {
            Status::Packed(bytes) => format!("{bytes} bytes"),
            Status::Exists => "kept: it exists already (replacing was not asked for)".to_string(),
            Status::Failed(reason) => reason.clone(),
        }
    }
}

/// How many pairs ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub packed: usize,
    pub exists: usize,
    pub failed: usize,
}

impl Counts {
    pub fn of(outcomes: &[Outcome]) -> Counts {
        let count = |label: &str| outcomes.iter().filter(|o| o.status.label() == label).count();
        Counts { packed: count("packed"), exists: count("exists"), failed: count("failed") }
    }
}

/// The report of a batch as JSON: a row per pair packed or tried (`outcomes` follow the plan's
/// pairs; fewer when the batch was stopped), the files in no pair, and a summary.
pub fn report(plan: &Plan, outcomes: &[Outcome], cancelled: bool) -> serde_json::Value {
    use serde_json::json;
    let rows: Vec<serde_json::Value> = plan
        .pairs
        .iter()
        .zip(outcomes)
        .map(|(pair, outcome)| {
            json!({
                "image": pair.image.display().to_string(),
                "latents": pair.latents.iter().map(|l| l.path.display().to_string()).collect::<Vec<_>>(),
                "output": pair.output.display().to_string(),
                "status": outcome.status.label(),
                "detail": outcome.status.detail(),
                "notes": outcome.lines,
            })
        })
        .collect();
    let unmatched: Vec<serde_json::Value> =
        plan.unmatched.iter().map(|(path, why)| json!({"path": path.display().to_string(), "reason": why})).collect();
    let counts = Counts::of(outcomes);
    json!({
        "pairs": rows,
        "unmatched": unmatched,
        "summary": {
            "pairs": plan.pairs.len(),
            "packed": counts.packed,
            "exists": counts.exists,
            "failed": counts.failed,
            "unmatched": plan.unmatched.len(),
            "cancelled": cancelled,
        },
    })
}

/// One pair's outcome, with what was imported and noted on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub lines: Vec<String>,
}

/// Packs one pair into its container, with this machine's environment and hardware info (found
/// once for the batch). The write is atomic; an existing container is kept unless `overwrite`.
pub fn pack_pair(
    pair: &Pair,
    options: &BatchOptions,
    environment: &crate::format::Environment,
    hardware_info: &serde_json::Map<String, serde_json::Value>,
) -> Outcome {
    let mut lines = Vec::new();
    if !options.overwrite && pair.output.exists() {
        return Outcome { status: Status::Exists, lines };
    }
    let status = match pack_bytes(pair, options, environment, hardware_info, &mut lines) {
        Ok(bytes) => match crate::format::write_atomic(&pair.output, &bytes, options.overwrite) {
            Ok(()) => Status::Packed(bytes.len()),
            Err(crate::format::FormatError::DestinationExists { .. }) => Status::Exists,
            Err(error) => Status::Failed(error.to_string()),
        },
        Err(reason) => Status::Failed(reason),
    };
    Outcome { status, lines }
}

fn pack_bytes(
    pair: &Pair,
    options: &BatchOptions,
    environment: &crate::format::Environment,
    hardware_info: &serde_json::Map<String, serde_json::Value>,
    lines: &mut Vec<String>,
) -> Result<Vec<u8>, String> {
    use crate::format::writer;
    let image = crate::platform::read_within(&pair.image, options.limits.max_image_bytes)
        .map_err(|e| format!("cannot read {}: {e}", pair.image.display()))?;
    let image_name = pair.image.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut metadata =
        super::request::metadata_for(&image, &image_name, &options.metadata).map_err(|e| e.to_string())?;
    lines.append(&mut metadata.lines);
    let mut latents = Vec::new();
    for file in &pair.latents {
        let key = file.key.as_deref().unwrap_or(DEFAULT_LATENT_KEY);
        let (mut found, notes) =
            super::request::latents_from_file(&file.path, Some(key), options.codec, options.float16, &options.limits)
                .map_err(|e| e.to_string())?;
        lines.extend(notes.into_iter().map(|note| format!("note: {note}")));
        latents.append(&mut found);
    }
    let mut model_info = metadata.model_info;
    model_info.hardware_info.get_or_insert_with(|| hardware_info.clone());
    let request = writer::PackRequest {
        latents,
        image: Some(image),
        image_extra: serde_json::Map::new(),
        model_info,
        environment: environment.clone(),
    };
    writer::pack(&request).map(|packed| packed.bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    fn latent(path: &str, key: Option<&str>) -> LatentFile {
        LatentFile { path: PathBuf::from(path), key: key.map(str::to_string) }
    }

    #[test]
    fn keys_follow_the_image_stem_and_a_separator() {
        for (latent_stem, image_stem, expected) in [
            ("0001", "0001", Some(None)),
            ("0001_initial_noise", "0001", Some(Some("initial_noise"))),
            ("0001-noise", "0001", Some(Some("noise"))),
            ("0001.noise", "0001", Some(Some("noise"))),
            ("00011", "0001", None),
            ("0001_", "0001", None),
            ("0002", "0001", None),
            ("a", "abc", None),
        ] {
            assert_eq!(
                key_after(latent_stem, image_stem),
                expected.map(|k| k.map(str::to_string)),
                "{latent_stem} / {image_stem}"
            );
        }
    }

    #[test]
    fn images_and_latents_pair_by_stem_and_the_rest_is_reported() {
        let files = paths(&[
            "in/0001.png",
            "lat/0001.npy",
            "in/0002.jpg",
            "lat/0002_initial_noise.npy",
            "lat/0002_final.npz",
            "in/0002_b.webp",
            "lat/0002_b.latent",
            "in/0003.png",
            "lat/0004.npy",
            "in/0001.jpeg",
            "in/notes.txt",
            "in/0005.png",
            "lat/0005.SAFETENSORS",
        ]);
        let plan = plan(&files, Path::new("out"));
        assert_eq!(
            plan.pairs,
            vec![
                Pair {
                    image: "in/0001.png".into(),
                    latents: vec![latent("lat/0001.npy", None)],
                    output: "out/0001.raiiaf".into()
                },
                Pair {
                    image: "in/0002.jpg".into(),
                    latents: vec![
                        latent("lat/0002_initial_noise.npy", Some("initial_noise")),
                        latent("lat/0002_final.npz", Some("final"))
                    ],
                    output: "out/0002.raiiaf".into()
                },
                // `0002_b.latent` goes to the longer stem, `0002_b`, not to `0002` as key `b`.
                Pair {
                    image: "in/0002_b.webp".into(),
                    latents: vec![latent("lat/0002_b.latent", None)],
                    output: "out/0002_b.raiiaf".into()
                },
                // Every latent file the packer reads pairs, ComfyUI's `.safetensors` too.
                Pair {
                    image: "in/0005.png".into(),
                    latents: vec![latent("lat/0005.SAFETENSORS", None)],
                    output: "out/0005.raiiaf".into()
                },
            ]
        );
        let unmatched: Vec<(&str, &str)> =
            plan.unmatched.iter().map(|(p, why)| (p.to_str().unwrap(), why.as_str())).collect();
        assert_eq!(
            unmatched,
            vec![
                ("in/0001.jpeg", "another image has the same name: in/0001.png"),
                ("in/0003.png", "no latent file has its name"),
                ("in/notes.txt", "neither an image nor a latent file"),
                ("lat/0004.npy", "no image has its name"),
            ]
        );
    }

    #[test]
    fn an_empty_or_unrelated_folder_plans_nothing() {
        assert_eq!(plan(&[], Path::new("out")), Plan::default());
        let only_latents = plan(&paths(&["a.npy", "b.npz"]), Path::new("out"));
        assert!(only_latents.pairs.is_empty());
        assert_eq!(only_latents.unmatched.len(), 2);
    }

    #[test]
    fn folders_are_listed_without_their_subfolders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["b.png", "a.npy", "sub/c.png"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let listed = files_in(&[dir.path().to_path_buf(), dir.path().join("a.npy")]).unwrap();
        assert_eq!(listed, vec![dir.path().join("a.npy"), dir.path().join("b.png")]);
        assert!(
            files_in(&[dir.path().join("missing")]).is_ok_and(|f| f.len() == 1),
            "a missing file is kept, to fail later"
        );
    }
}
