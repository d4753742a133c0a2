//! The real app state driven through egui_kittest: opening, tabs, colormap and range, slice
//! sliders, the value under the pointer, damaged files, dropped files, and a few snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use raiiaf_workbench::format::{Limits, Verdict, inspect_path};
use raiiaf_workbench::gui::{StartOptions, Tab, WorkbenchApp};
use raiiaf_workbench::tensor::{Colormap, RangeMode};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn harness_with(files: Vec<PathBuf>, tab: Option<Tab>) -> Harness<'static, WorkbenchApp> {
    let mut harness = Harness::builder().with_size([1200.0, 900.0]).build_eframe(move |cc| {
        WorkbenchApp::new(&cc.egui_ctx, StartOptions { files, tab, skip_probe: true, ..Default::default() }, None)
    });
    settle(&mut harness);
    harness
}

/// Steps until every file has been decoded by its worker, then lets the layout settle.
fn settle(harness: &mut Harness<'static, WorkbenchApp>) {
    let start = Instant::now();
    harness.step();
    while !harness.state().all_loaded() {
        assert!(start.elapsed() < Duration::from_secs(30), "files did not load");
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    harness.run_steps(4);
}

#[test]
fn opens_a_file_and_shows_its_verdict_latents_and_tabs() {
    let mut harness = harness_with(vec![fixture("f32_raw.raiiaf")], None);
    harness.get_by_label("VALID");
    harness.get_by_label("initial_noise");
    // Four channels of a 1x4x8x8 latent: four heatmaps.
    for channel in 0..4 {
        harness.get_by_label(&format!("heatmap {channel}"));
    }
    assert!(harness.query_by_label("heatmap 4").is_none());

    harness.get_by_label("Manifest").click();
    harness.run_steps(3);
    harness.get_by_label("Model");
    harness.get_by_label("Stored manifest JSON");

    harness.get_by_label("Chunks & checks").click();
    harness.run_steps(3);
    harness.get_by_label("header.magic");
    harness.get_by_label("LATN");

    harness.get_by_label("Environment").click();
    harness.run_steps(3);
    harness.get_by_label("Probe again");
    assert_eq!(harness.state().documents[0].tab, Tab::Environment);
}

#[test]
fn colormap_and_range_mode_change_through_the_controls() {
    let mut harness = harness_with(vec![fixture("f32_raw.raiiaf")], None);
    assert_eq!(harness.state().settings.heatmaps.colormap, Colormap::BlueWhiteRed);
    harness.get_by_label("colormap").click();
    harness.run_steps(2);
    harness.get_by_label("viridis").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.heatmaps.colormap, Colormap::Viridis);

    harness.get_by_label("range").click();
    harness.run_steps(2);
    harness.get_by_label("percentile clip").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.heatmaps.range_mode, RangeMode::Percentile { low: 1.0, high: 99.0 });
}

/// Hovers the middle of pixel (y, x) of heatmap `channel` and returns the status line's text.
fn hover_pixel(
    harness: &mut Harness<'static, WorkbenchApp>,
    channel: usize,
    y: usize,
    x: usize,
    size: (usize, usize),
) -> String {
    let rect = harness.get_by_label(&format!("heatmap {channel}")).rect();
    let at = rect.min
        + egui::vec2((x as f32 + 0.5) * rect.width() / size.1 as f32, (y as f32 + 0.5) * rect.height() / size.0 as f32);
    harness.hover_at(at);
    harness.run_steps(2);
    harness.state().documents[0].latent_view.hover_text.clone().unwrap_or_default()
}

#[test]
fn slice_slider_and_hover_read_the_exact_stored_value_of_a_5d_latent() {
    let path = fixture("rank5_raw.raiiaf");
    let inspection = inspect_path(&path, &Limits::default());
    let latent = &inspection.latents[0].latent;
    assert_eq!(latent.shape, vec![2, 2, 2, 2, 3]);
    let value_at = |index: [usize; 5]| {
        let flat = index.iter().zip([24, 12, 6, 3, 1]).map(|(i, s)| i * s).sum::<usize>();
        format!("{:?}", latent.values.get_f32(flat).unwrap())
    };
    let mut harness = harness_with(vec![path.clone()], None);
    // Default mapping: channels on axis 2, heatmaps of axes 3 x 4, sliders for axes 0 and 1.
    let text = hover_pixel(&mut harness, 1, 1, 2, (2, 3));
    assert_eq!(text, format!("[0, 0, 1, 1, 2] = {}", value_at([0, 0, 1, 1, 2])));

    harness.get_by_role_and_label(egui::accesskit::Role::Slider, "axis 1 index").set_value_accesskit(1.0);
    harness.run_steps(3);
    assert_eq!(harness.state().documents[0].latent_view.mapping.as_ref().unwrap().indices[1], 1);
    let text = hover_pixel(&mut harness, 0, 0, 1, (2, 3));
    assert_eq!(text, format!("[0, 1, 0, 0, 1] = {}", value_at([0, 1, 0, 0, 1])));
}

#[test]
fn damaged_and_foreign_files_open_with_their_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("f32_raw.raiiaf")).unwrap();
    let first = inspect_path(&fixture("f32_raw.raiiaf"), &Limits::default()).records[0].offset.unwrap() as usize;
    bytes[first + 12 + 5] ^= 0x01; // past the 12-byte inner header: one of the first latent's values
    let damaged = dir.path().join("damaged.raiiaf");
    std::fs::write(&damaged, &bytes).unwrap();
    assert_eq!(inspect_path(&damaged, &Limits::default()).verdict(), Verdict::Invalid);
    let foreign = dir.path().join("notes.raiiaf");
    std::fs::write(&foreign, b"these are not the bytes you are looking for").unwrap();

    let mut harness = harness_with(vec![damaged], Some(Tab::Chunks));
    harness.get_by_label("INVALID");
    harness.get_by_label_contains("MISMATCH");

    harness.state_mut().open(foreign);
    settle(&mut harness);
    assert_eq!(harness.state().documents.len(), 2);
    harness.get_by_label("UNREADABLE");
    harness.get_by_label_contains("This file cannot be read");
}

/// A file dropped on the window, as the windowing layer hands it over.
#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropped_files_open_as_tabs_and_ctrl_w_closes_one() {
    let mut harness = harness_with(Vec::new(), None);
    harness.get_by_label("Open files…");
    for name in ["f32_zfp.raiiaf", "multi_latent_zfp.raiiaf"] {
        harness.input_mut().dropped_files.push(std::sync::Arc::new(DroppedPath(fixture(name))));
    }
    settle(&mut harness);
    assert_eq!(harness.state().documents.len(), 2);
    assert_eq!(harness.state().selected, 1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::W);
    harness.run_steps(2);
    assert_eq!(harness.state().documents.len(), 1);
    assert!(harness.state().documents[0].path.ends_with("f32_zfp.raiiaf"));
    // Both were remembered as recent files, newest first.
    let recent = &harness.state().settings.recent_files;
    assert!(recent[0].ends_with("multi_latent_zfp.raiiaf") && recent[1].ends_with("f32_zfp.raiiaf"), "{recent:?}");
}

#[test]
fn snapshots_of_the_latents_and_chunks_tabs() {
    let mut harness = harness_with(vec![fixture("f32_raw.raiiaf")], None);
    harness.snapshot("latents_tab");
    harness.get_by_label("Chunks & checks").click();
    harness.run_steps(3);
    harness.snapshot("chunks_tab");
}
