//! Every file the tests know, damaged variants of them, and latents of degenerate shapes and
//! values go through the real window's drawing, every tab, rendered by wgpu (egui_kittest): each
//! shows its verdict and an honest view or an error, and none panics or fails to render.
//!
//! The fuzzers' full corpus (`tests/fuzz/corpus`, not in the repository) joins the sweep with
//! `RAIIAF_SWEEP_CORPUS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use raiiaf_workbench::format::{Limits, Verdict, inspect_path};
use raiiaf_workbench::gui::{StartOptions, Tab, WorkbenchApp};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files in `dir` whose names end with one of `extensions` (all files for none), sorted.
fn files_in(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            extensions.is_empty() || extensions.iter().any(|extension| name.ends_with(extension))
        })
        .collect();
    files.sort();
    files
}

/// Files from `dir`, failing when there are fewer than `at_least`: a moved folder must not
/// leave the sweep with nothing to check.
fn required(dir: &str, extensions: &[&str], at_least: usize) -> Vec<PathBuf> {
    let files = files_in(&root().join(dir), extensions);
    assert!(files.len() >= at_least, "{dir}: {} files, expected at least {at_least}", files.len());
    files
}

/// Truncations and flipped bytes of `source`, written into `dir`.
fn damaged_variants(source: &Path, dir: &Path) -> Vec<PathBuf> {
    let bytes = std::fs::read(source).unwrap();
    let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
    let len = bytes.len();
    let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [0, 5, 33, len / 3, len / 2, len - 40, len - 1] {
        variants.push((format!("{stem}-cut{cut}"), bytes[..cut].to_vec()));
    }
    // The header's fields, a byte in the first chunk, in the middle, and in the manifest at the end.
    for at in [6, 9, 13, 21, 40, len / 2, len - 20] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x5a;
        variants.push((format!("{stem}-flip{at}"), flipped));
    }
    variants
        .into_iter()
        .map(|(name, content)| {
            let path = dir.join(format!("{name}.raiiaf"));
            std::fs::write(&path, content).unwrap();
            path
        })
        .collect()
}

fn harness() -> Harness<'static, WorkbenchApp> {
    Harness::builder().with_size([1000.0, 760.0]).wgpu().build_eframe(|cc| {
        WorkbenchApp::new(&cc.egui_ctx, StartOptions { skip_probe: true, ..Default::default() }, None)
    })
}

fn settle(harness: &mut Harness<'static, WorkbenchApp>, what: &Path) {
    let start = Instant::now();
    harness.step();
    while !harness.state().all_loaded() {
        assert!(start.elapsed() < Duration::from_secs(60), "{} did not load", what.display());
        std::thread::sleep(Duration::from_millis(2));
        harness.step();
    }
    harness.run_steps(2);
}

/// Opens `path`, draws and renders every tab, checks the verdict shown is the library's, and
/// closes it again. Returns the verdict.
fn render_every_tab(harness: &mut Harness<'static, WorkbenchApp>, path: &Path) -> Verdict {
    let verdict = inspect_path(path, &Limits::default()).verdict();
    harness.state_mut().open(path.to_path_buf());
    settle(harness, path);
    assert_eq!(harness.state().documents.len(), 1, "{}", path.display());
    for tab in Tab::ALL {
        harness.state_mut().select_tab(tab);
        harness.run_steps(2);
        harness.render().unwrap_or_else(|e| panic!("{} {tab:?}: rendering failed: {e}", path.display()));
        let badge = match verdict {
            Verdict::Valid => "VALID",
            Verdict::Invalid => "INVALID",
            Verdict::Unreadable => "UNREADABLE",
        };
        assert!(harness.query_by_label(badge).is_some(), "{} {tab:?}: no {badge} badge", path.display());
    }
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::W);
    harness.run_steps(2);
    assert!(harness.state().documents.is_empty(), "{} did not close", path.display());
    verdict
}

#[test]
fn every_known_file_and_damaged_variant_renders_every_tab() {
    let scratch = tempfile::tempdir().unwrap();
    let fixtures = required("tests/fixtures", &[".raiiaf", ".gen5"], 20);
    let mut subjects = fixtures.clone();
    subjects.extend(required("assets/examples", &[".raiiaf"], 2));
    subjects.extend(required("tests/fuzz/seeds/container_raiiaf", &[], 1));
    for base in ["f32_zfp.raiiaf", "multi_latent_zfp.raiiaf", "gen5_raw_f16.gen5"] {
        subjects.extend(damaged_variants(&root().join("tests/fixtures").join(base), scratch.path()));
    }
    if std::env::var_os("RAIIAF_SWEEP_CORPUS").is_some() {
        subjects.extend(files_in(&root().join("tests/fuzz/corpus/container_raiiaf"), &[]));
    }
    let mut harness = harness();
    let mut seen = [0usize; 3];
    for path in &subjects {
        seen[render_every_tab(&mut harness, path) as usize] += 1;
    }
    // The damaged variants are what put invalid and unreadable files through the views.
    assert!(seen.iter().all(|&count| count > 0), "valid, invalid, unreadable: {seen:?}");
}

#[test]
fn degenerate_shapes_and_values_render_every_tab_with_an_honest_view() {
    let degenerate = required("tests/fixtures/degenerate", &[".raiiaf"], 10);
    let mut harness = harness();
    for path in &degenerate {
        let verdict = render_every_tab(&mut harness, path);
        let name = path.file_stem().unwrap().to_string_lossy();
        let expected = if name.starts_with("zero_length") { Verdict::Invalid } else { Verdict::Valid };
        assert_eq!(verdict, expected, "{name}");
    }
}

#[test]
fn a_latent_with_a_zero_length_axis_says_it_holds_no_values() {
    let path = root().join("tests/fixtures/degenerate/zero_length_axis.raiiaf");
    let inspection = inspect_path(&path, &Limits::default());
    assert_eq!(inspection.latents[0].latent.shape(), [1, 4, 0, 8]);
    let failed: Vec<_> = inspection.report.failures().map(|check| check.message.clone()).collect();
    assert!(failed.iter().any(|m| m.contains("axis 2") && m.contains("length 0")), "{failed:?}");

    let mut harness = harness();
    harness.state_mut().open(path.clone());
    settle(&mut harness, &path);
    harness.get_by_label_contains("Axis 2 has length 0");
    harness.render().unwrap();
}
