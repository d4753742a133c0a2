//! Cross-checks against the real reference package (raiiaf 1.1.0 / gen5 0.1.0) in a Python venv.
//! `tests/scripts/test.sh` sets RAIIAF_REFERENCE_PYTHON; without it these tests skip, except under CI
//! where skipping would hide a broken setup.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

mod common;

use common::{reference_python, run_reference};

use raiiaf_workbench::format::writer::LatentCodec;
use raiiaf_workbench::format::{
    EnvComponent, Environment, Latent, LatentValues, ModelInfo, PackLatent, PackRequest, Verdict, pack,
};
use serde_json::{Map, Value, json};

#[test]
fn files_the_reference_writes_now_read_bit_exactly() {
    let Some(python) = reference_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    run_reference(&python, &["make", dir.path().to_str().unwrap()]);
    let files = common::files_with_expectations(dir.path());
    assert!(files.len() >= 20);
    for (path, expected) in files {
        let problems = common::differences_from_reference(&path, &expected);
        assert!(problems.is_empty(), "{}: {problems:?}", path.display());
        assert_eq!(common::inspect_file(&path).verdict(), Verdict::Valid, "{}", path.display());
    }
}

fn noise(count: usize, seed: u32) -> Vec<f32> {
    // A small deterministic generator; the values only need to look like noise to zfp.
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5) * 4.0
        })
        .collect()
}

fn smooth(count: usize) -> Vec<f32> {
    (0..count).map(|i| (i as f32 * 0.05).sin() * 0.8).collect()
}

fn png_bytes() -> Vec<u8> {
    let image = image::RgbaImage::from_fn(12, 8, |x, y| image::Rgba([(x * 20) as u8, (y * 30) as u8, 128, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn request(latents: Vec<PackLatent>) -> PackRequest {
    let mut settings = Map::new();
    settings.insert("seed".into(), json!(42));
    settings.insert("steps".into(), json!(20));
    settings.insert("sampler".into(), json!("euler"));
    settings.insert("negative_prompt".into(), json!("blurry"));
    let mut hardware = Map::new();
    hardware.insert("os".into(), json!("Linux 6.1.0"));
    PackRequest {
        latents,
        image: Some(png_bytes()),
        image_extra: Map::new(),
        model_info: ModelInfo {
            model_name: "sdxl".into(),
            version: "1.0".into(),
            date: "2026-11-22T05:00:00.000000+00:00".into(),
            prompt: "a red fox — in snow".into(),
            tags: vec!["test".into()],
            generation_settings: Some(settings),
            hardware_info: Some(hardware),
            extra: Map::new(),
        },
        environment: Environment::new(vec![
            EnvComponent::new("torch", "name=torch;version=2.5.1;cuda=None"),
            EnvComponent::new("gpu", "name=gpu;model=A;driver=1"),
            EnvComponent::new("gpu", "name=gpu;model=A;driver=1"),
        ]),
    }
}

#[test]
fn files_this_program_writes_read_back_bit_exactly_in_the_reference() {
    let Some(python) = reference_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tensors: Vec<(&str, Vec<usize>, Vec<f32>)> = vec![
        ("initial_noise", vec![1, 4, 8, 8], noise(256, 1)),
        ("final_latent", vec![1, 4, 16, 16], smooth(1024)),
        ("vector", vec![7, 9], noise(63, 2)),
        ("video", vec![1, 2, 2, 3, 3], noise(36, 3)),
    ];
    let codecs = [LatentCodec::Auto, LatentCodec::Raw, LatentCodec::Zfp, LatentCodec::ZfpLossy(0.01)];
    let mut written = Vec::new();
    for codec in codecs {
        for float16 in [false, true] {
            let latents = tensors
                .iter()
                .map(|(key, shape, values)| PackLatent {
                    latent: Latent::new(*key, shape.clone(), LatentValues::F32(values.clone())).unwrap(),
                    // zfp cannot hold 5-D tensors; the explicit zfp codecs store those raw.
                    codec: if shape.len() > 4 && codec != LatentCodec::Auto { LatentCodec::Raw } else { codec },
                    float16,
                })
                .collect();
            let packed = pack(&request(latents)).unwrap();
            let path = dir.path().join(format!("{codec}_{float16}.raiiaf").replace(':', "_"));
            std::fs::write(&path, &packed.bytes).unwrap();
            written.push(path);
        }
    }
    let mut args = vec!["decode"];
    args.extend(written.iter().map(|p| p.to_str().unwrap()));
    let output = run_reference(&python, &args);
    let lines: Vec<Value> = output.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), written.len());
    for (path, theirs) in written.iter().zip(&lines) {
        assert!(theirs.get("error").is_none(), "{}: the reference failed: {}", path.display(), theirs["error"]);
        assert_eq!(theirs["schema_error"], Value::Null, "{}", path.display());
        let problems = common::differences_from_reference(path, theirs);
        assert!(problems.is_empty(), "{}: {problems:?}", path.display());
        let inspection = common::inspect_file(path);
        assert_eq!(inspection.verdict(), Verdict::Valid, "{}", path.display());
        // And the values the reference reads are the ones we meant to store.
        let lossy = path.to_string_lossy().contains("lossy");
        for (decoded, (_, _, original)) in inspection.latents.iter().zip(&tensors) {
            let float16 = path.to_string_lossy().contains("true");
            let intended = if float16 {
                LatentValues::F32(original.clone()).to_f16()
            } else {
                LatentValues::F32(original.clone())
            };
            if lossy && decoded.latent.shape().len() <= 4 {
                let max_error = intended
                    .to_f32_vec()
                    .iter()
                    .zip(decoded.latent.values().to_f32_vec())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(max_error <= 0.015, "{}: lossy error {max_error}", path.display());
            } else {
                assert_eq!(*decoded.latent.values(), intended, "{}: {}", path.display(), decoded.latent.key());
            }
        }
    }
}
