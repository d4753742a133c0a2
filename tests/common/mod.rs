//! Helpers shared by the integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::Command;

use raiiaf_workbench::format::{Inspection, Limits, inspect_path};
use serde_json::Value;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Container files in a folder that have a `NAME.expected.json` beside them.
pub fn files_with_expectations(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixture folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name.ends_with(".raiiaf") || name.ends_with(".gen5") {
            let expected_path = dir.join(format!("{name}.expected.json"));
            let text = std::fs::read_to_string(&expected_path).expect("expected.json beside the fixture");
            found.push((path, serde_json::from_str(&text).expect("expected.json is JSON")));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Compares our decode of `path` with what the reference's decoder returned for it, and returns
/// a list of differences (empty when bit-identical).
pub fn differences_from_reference(path: &Path, expected: &Value) -> Vec<String> {
    let inspection = inspect_path(path, &Limits::default());
    let mut problems = Vec::new();
    let expected_latents = expected["latents"].as_array().cloned().unwrap_or_default();
    if inspection.latents.len() != expected_latents.len() {
        problems.push(format!(
            "{} latents decoded, reference has {}",
            inspection.latents.len(),
            expected_latents.len()
        ));
    }
    for (ours, theirs) in inspection.latents.iter().zip(&expected_latents) {
        let latent = &ours.latent;
        let shape: Vec<u64> = latent.shape.iter().map(|&d| d as u64).collect();
        let their_shape: Vec<u64> = theirs["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        if Some(latent.key.as_str()) != theirs["key"].as_str() {
            problems.push(format!("key {:?} vs {}", latent.key, theirs["key"]));
        }
        if shape != their_shape {
            problems.push(format!("{}: shape {shape:?} vs {their_shape:?}", latent.key));
        }
        if Some(latent.dtype().numpy_name()) != theirs["dtype"].as_str() {
            problems.push(format!("{}: dtype {} vs {}", latent.key, latent.dtype().numpy_name(), theirs["dtype"]));
        }
        if Some(latent.values.sha256_hex().as_str()) != theirs["sha256"].as_str() {
            problems.push(format!("{}: decoded values differ from the reference's", latent.key));
        }
    }
    let our_image = inspection.image.as_ref().map(|i| raiiaf_workbench::format::environment::sha256_hex(&i.bytes));
    if our_image.as_deref() != expected["image_sha256"].as_str() {
        problems.push(format!("image sha256 {our_image:?} vs {}", expected["image_sha256"]));
    }
    problems
}

pub fn inspect_file(path: &Path) -> Inspection {
    inspect_path(path, &Limits::default())
}

/// The reference package's Python, from RAIIAF_REFERENCE_PYTHON; `None` (the test skips) outside CI.
pub fn reference_python() -> Option<PathBuf> {
    match std::env::var_os("RAIIAF_REFERENCE_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI must run the reference cross-check: set RAIIAF_REFERENCE_PYTHON")
        }
        None => {
            eprintln!("skipped: RAIIAF_REFERENCE_PYTHON is not set (scripts/test.sh sets it)");
            None
        }
    }
}

pub fn run_reference(python: &Path, args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(python)
        .arg(root.join("scripts/reference.py"))
        .args(args)
        .env("PYTHONPATH", root.join("tests/python"))
        .output()
        .expect("run the reference");
    assert!(output.status.success(), "reference.py {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

/// A small RGB PNG carrying the given `tEXt` chunks, as image generators store their parameters.
pub fn png_with_text(width: u32, height: u32, texts: &[(&str, &str)]) -> Vec<u8> {
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(png::ColorType::Rgb);
        for (key, text) in texts {
            encoder.add_text_chunk(key.to_string(), text.to_string()).unwrap();
        }
        let mut writer = encoder.write_header().unwrap();
        let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i * 7 % 251) as u8).collect();
        writer.write_image_data(&pixels).unwrap();
    }
    png
}

/// A parameters text as AUTOMATIC1111 writes it, with a negative prompt and many keys.
pub const A1111_PARAMETERS: &str = "a lighthouse on a cliff, stormy sea, (dramatic lighting:1.2)\n\
    Negative prompt: blurry, lowres\n\
    Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3551078465, Size: 64x48, \
    Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Denoising strength: 0.35, Version: v1.10.1";
