//! Comparing two files (`audit::compare`) and `raiiaf diff`, on pairs that differ in one thing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;

use common::{Run, SampleRun, raiiaf};
use raiiaf_workbench::audit::compare::Comparison;
use raiiaf_workbench::format::{Inspection, Limits, inspect, pack};
use serde_json::{Value, json};

fn inspected(request: &raiiaf_workbench::format::PackRequest) -> Inspection {
    inspect(&pack(request).unwrap().bytes, &Limits::default())
}

fn compare_runs(a: &SampleRun, b: &SampleRun) -> Comparison {
    Comparison::of(&inspected(&a.request()), &inspected(&b.request()), &Limits::default())
}

fn differing_paths(comparison: &Comparison, all: bool) -> Vec<String> {
    comparison.manifest_differences(all).map(|r| r.path.clone()).collect()
}

#[test]
fn same_noise_different_seed() {
    let a = SampleRun::new(7);
    let mut b = SampleRun::new(7);
    b.seed = 43;
    b.date = "2026-11-23T09:30:00.000000+00:00".into();
    let comparison = compare_runs(&a, &b);
    assert!(comparison.latents[0].identical());
    assert_eq!(differing_paths(&comparison, false), ["model_info.generation_settings.seed"]);
    let seed = comparison.manifest_differences(false).next().unwrap();
    assert_eq!((seed.a.clone(), seed.b.clone()), (Some(json!(42)), Some(json!(43))));
    assert!(differing_paths(&comparison, true).contains(&"model_info.date".to_string()));
    assert!(!comparison.equivalent());
    let line = comparison.verdict_line();
    assert!(line.contains("latent initial_noise bit-identical"), "{line}");
    assert!(line.contains("settings differ in seed (42 vs 43)"), "{line}");
    assert!(line.contains("environment identical") && line.contains("images identical"), "{line}");
}

#[test]
fn same_content_written_at_another_time_is_equivalent() {
    let a = SampleRun::new(7);
    let mut b = SampleRun::new(7);
    b.date = "2027-01-01T00:00:00.000000+00:00".into();
    let comparison = compare_runs(&a, &b);
    assert!(comparison.equivalent(), "{:?}", differing_paths(&comparison, false));
    assert!(comparison.verdict_line().starts_with("Equivalent: "));
    let all = differing_paths(&comparison, true);
    assert!(all.contains(&"model_info.date".to_string()), "{all:?}");
    // The manifest's own record of the file size may change with the date's compression.
    assert!(all.iter().all(|p| p == "model_info.date" || p == "file_info.file_size"), "{all:?}");
}

#[test]
fn different_environment() {
    let a = SampleRun::new(7);
    let mut b = SampleRun::new(7);
    b.torch = "2.1.0".into();
    let comparison = compare_runs(&a, &b);
    let differing: Vec<_> = comparison.environment_differences().collect();
    assert_eq!(differing.len(), 1);
    assert_eq!(differing[0].component_id, "torch");
    assert_eq!(differing[0].file.as_deref(), Some("name=torch;version=2.5.1;cuda=12.1"));
    assert_eq!(differing[0].other.as_deref(), Some("name=torch;version=2.1.0;cuda=12.1"));
    let line = comparison.verdict_line();
    assert!(
        line.contains("environment differs in torch (version=2.5.1;cuda=12.1 vs version=2.1.0;cuda=12.1)"),
        "{line}"
    );
    assert!(!comparison.equivalent());
}

#[test]
fn latents_differing_in_one_value() {
    let run = SampleRun::new(7);
    let noise = run.noise();
    let mut changed = noise.clone();
    let delta = 0.25f32;
    changed[100] += delta;
    let comparison = Comparison::of(
        &inspected(&run.request_with_noise(noise.clone())),
        &inspected(&run.request_with_noise(changed.clone())),
        &Limits::default(),
    );
    let latent = &comparison.latents[0];
    let values = latent.values.unwrap();
    assert!(!values.identical);
    assert_eq!(values.differing_values, 1);
    let actual = f64::from(changed[100]) - f64::from(noise[100]);
    assert_eq!(values.max_abs_diff, actual.abs());
    let n = noise.len() as f64;
    assert!((values.mean_abs_diff - actual.abs() / n).abs() < 1e-12);
    assert!((values.rmse - (actual * actual / n).sqrt()).abs() < 1e-12);
    // The latent's hash in the chunk table differs too, as it should.
    assert_eq!(differing_paths(&comparison, false), ["chunks.0.hash"]);
    let line = comparison.verdict_line();
    assert!(line.contains("latent initial_noise differs in 1 of 256 values"), "{line}");

    let difference = raiiaf_workbench::audit::compare::difference_latent(
        &inspected(&run.request_with_noise(noise)).latents[0].latent,
        &inspected(&run.request_with_noise(changed)).latents[0].latent,
    )
    .unwrap();
    let nonzero: Vec<usize> =
        difference.values().to_f32_vec().iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(i, _)| i).collect();
    assert_eq!(nonzero, [100]);
}

#[test]
fn different_images() {
    let a = SampleRun::new(7);
    let mut b = SampleRun::new(7);
    for x in 0..4 {
        b.image.put_pixel(x, 0, image::Rgb([255, 255, 255]));
    }
    let comparison = compare_runs(&a, &b);
    let image = comparison.image.clone().unwrap();
    assert!(!image.identical && !image.bytes_identical);
    let pixels = image.pixels.unwrap();
    // Recomputed here from the two images: per-channel differences over RGBA (alpha equal).
    let (mut sum_sq, mut max) = (0u64, 0u8);
    for x in 0..4 {
        for channel in a.image.get_pixel(x, 0).0 {
            let d = 255 - channel;
            max = max.max(d);
            sum_sq += u64::from(d) * u64::from(d);
        }
    }
    let mse = sum_sq as f64 / (16.0 * 12.0 * 4.0);
    assert_eq!(pixels.max_abs_diff, max);
    assert!((pixels.psnr.unwrap() - 10.0 * (255.0f64 * 255.0 / mse).log10()).abs() < 1e-9);
    assert_eq!(pixels.differing_pixel_share, 4.0 / (16.0 * 12.0));
    let line = comparison.verdict_line();
    assert!(line.contains("images differ (PSNR"), "{line}");
    assert!(comparison.latents[0].identical());
}

#[test]
fn prompt_differences_are_highlighted_word_by_word() {
    use raiiaf_workbench::audit::words::{SegmentKind, diff};
    let a = SampleRun::new(7);
    let mut b = SampleRun::new(7);
    b.prompt = "a lighthouse on a hill, stormy sea".into();
    let comparison = compare_runs(&a, &b);
    let row = comparison.manifest_differences(false).find(|r| r.path == "model_info.prompt").unwrap();
    let segments = diff(row.a.as_ref().unwrap().as_str().unwrap(), row.b.as_ref().unwrap().as_str().unwrap());
    let changed: Vec<(SegmentKind, &str)> =
        segments.iter().filter(|s| s.kind != SegmentKind::Same).map(|s| (s.kind, s.text.as_str())).collect();
    assert_eq!(changed, [(SegmentKind::Removed, "cliff"), (SegmentKind::Added, "hill")]);
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn diff_command_json_fields_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let a_path = dir.path().join("a.raiiaf");
    let b_path = dir.path().join("b.raiiaf");
    let same_path = dir.path().join("same-later.raiiaf");
    let broken_path = dir.path().join("broken.raiiaf");
    let a = SampleRun::new(7);
    a.write(&a_path);
    let mut b = SampleRun::new(7);
    b.seed = 43;
    b.torch = "2.1.0".into();
    b.write(&b_path);
    let mut later = SampleRun::new(7);
    later.date = "2027-01-01T00:00:00.000000+00:00".into();
    later.write(&same_path);
    std::fs::write(&broken_path, b"not a container at all").unwrap();

    let Run { code, stdout, .. } = raiiaf(&["diff", path_str(&a_path), path_str(&b_path), "--json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["equivalent"], json!(false));
    assert_eq!(report["latents"][0]["key"], json!("initial_noise"));
    assert_eq!(report["latents"][0]["identical"], json!(true));
    assert_eq!(report["latents"][0]["max_abs_diff"], json!(0.0));
    // The seed, and the hash the chunk table records for the changed environment chunk.
    let differences = report["manifest_differences"].as_array().unwrap();
    assert_eq!(differences[0], json!({"path": "model_info.generation_settings.seed", "a": 42, "b": 43}));
    assert_eq!(differences.len(), 2, "{differences:?}");
    let hash_path = differences[1]["path"].as_str().unwrap();
    let position: usize = hash_path.strip_prefix("chunks.").unwrap().strip_suffix(".hash").unwrap().parse().unwrap();
    let a_inspection = common::inspect_file(&a_path);
    assert_eq!(a_inspection.records[position].kind, "ENVC");
    assert_eq!(
        report["environment_differences"],
        json!([{"component_id": "torch", "a": "name=torch;version=2.5.1;cuda=12.1", "b": "name=torch;version=2.1.0;cuda=12.1"}])
    );
    assert_eq!(report["image"]["identical"], json!(true));
    assert_eq!(report["image"]["psnr"], Value::Null);
    assert_eq!(report["a"]["path"], json!(path_str(&a_path)));

    let Run { code, stdout, .. } = raiiaf(&["diff", path_str(&a_path), path_str(&same_path)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("Equivalent: "), "{stdout}");
    let Run { code, stdout, .. } = raiiaf(&["diff", path_str(&a_path), path_str(&same_path), "--json", "--all"]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let paths: Vec<&str> =
        report["manifest_differences"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"model_info.date")
            && paths.iter().all(|p| *p == "model_info.date" || *p == "file_info.file_size"),
        "{paths:?}"
    );

    let Run { code, stdout, .. } = raiiaf(&["diff", path_str(&a_path), path_str(&broken_path), "--json"]);
    assert_eq!(code, 2);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["b"]["verdict"], json!("unreadable"));
    let Run { code, .. } = raiiaf(&["diff", path_str(&a_path), path_str(&dir.path().join("missing.raiiaf"))]);
    assert_eq!(code, 2);
}
