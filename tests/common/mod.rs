//! Helpers shared by the integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

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
        let shape: Vec<u64> = latent.shape().iter().map(|&d| d as u64).collect();
        let their_shape: Vec<u64> = theirs["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        if Some(latent.key()) != theirs["key"].as_str() {
            problems.push(format!("key {:?} vs {}", latent.key(), theirs["key"]));
        }
        if shape != their_shape {
            problems.push(format!("{}: shape {shape:?} vs {their_shape:?}", latent.key()));
        }
        if Some(latent.dtype().numpy_name()) != theirs["dtype"].as_str() {
            problems.push(format!("{}: dtype {} vs {}", latent.key(), latent.dtype().numpy_name(), theirs["dtype"]));
        }
        if Some(latent.values().sha256_hex().as_str()) != theirs["sha256"].as_str() {
            problems.push(format!("{}: decoded values differ from the reference's", latent.key()));
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
            eprintln!("skipped: RAIIAF_REFERENCE_PYTHON is not set (tests/scripts/test.sh sets it)");
            None
        }
    }
}

/// What one run of the `raiiaf` binary printed, and its exit status.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `raiiaf` binary built for these tests.
pub fn raiiaf(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_raiiaf")).args(args).output().expect("run raiiaf");
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn run_reference(python: &Path, args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(python)
        .arg(root.join("tests/scripts/reference.py"))
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

/// A run as a generator would record it: Gaussian-looking noise from `noise_seed`, a PNG, the
/// settings, and an environment; tests change one part to make pairs that differ in it.
pub struct SampleRun {
    pub noise_seed: u64,
    pub seed: u64,
    pub date: String,
    pub torch: String,
    pub prompt: String,
    pub image: image::RgbImage,
}

impl SampleRun {
    pub fn new(noise_seed: u64) -> SampleRun {
        SampleRun {
            noise_seed,
            seed: 42,
            date: "2026-11-22T05:00:00.000000+00:00".into(),
            torch: "2.5.1".into(),
            prompt: "a lighthouse on a cliff, stormy sea".into(),
            image: image::RgbImage::from_fn(16, 12, |x, y| image::Rgb([(x * 15) as u8, (y * 20) as u8, 128])),
        }
    }

    pub fn noise(&self) -> Vec<f32> {
        // A small linear congruential generator: the same seed gives the same values everywhere.
        let mut state = self.noise_seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..4 * 8 * 8)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    pub fn request_with_noise(&self, noise: Vec<f32>) -> raiiaf_workbench::format::PackRequest {
        use raiiaf_workbench::format::*;
        use serde_json::json;
        let latent = Latent::new("initial_noise", vec![1, 4, 8, 8], LatentValues::F32(noise)).unwrap();
        let mut png = std::io::Cursor::new(Vec::new());
        self.image.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let settings = json!({"seed": self.seed, "steps": 20, "sampler": "euler"});
        let hardware = json!({"os": "Linux 6.1.0", "gpu": [{"name": "NVIDIA H100"}]});
        PackRequest {
            latents: vec![PackLatent { latent, codec: LatentCodec::Raw, float16: false }],
            image: Some(png.into_inner()),
            image_extra: serde_json::Map::new(),
            model_info: ModelInfo {
                model_name: "sdxl".into(),
                version: "1.0".into(),
                date: self.date.clone(),
                prompt: self.prompt.clone(),
                tags: vec!["audit".into()],
                generation_settings: settings.as_object().cloned(),
                hardware_info: hardware.as_object().cloned(),
                extra: serde_json::Map::new(),
            },
            environment: Environment::new(vec![
                EnvComponent::new("torch", format!("name=torch;version={};cuda=12.1", self.torch)),
                EnvComponent::new("numpy", "name=numpy;version=2.1.0"),
                EnvComponent::new("python", "name=python;version=3.12.3"),
            ]),
        }
    }

    pub fn request(&self) -> raiiaf_workbench::format::PackRequest {
        self.request_with_noise(self.noise())
    }

    /// Packs the run into `path`.
    pub fn write(&self, path: &Path) {
        let packed = raiiaf_workbench::format::pack(&self.request()).unwrap();
        std::fs::write(path, packed.bytes).unwrap();
    }
}
