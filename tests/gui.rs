//! The real app state driven through egui_kittest: opening, tabs, colormap and range, slice
//! sliders, the value under the pointer, damaged files, dropped files, and a few snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use raiiaf_workbench::format::{Limits, Verdict, inspect_path};
use raiiaf_workbench::gui::{CompareSection, EnvironmentChoice, StartOptions, Tab, View, WizardStep, WorkbenchApp};
use raiiaf_workbench::platform::FileInput;
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
    assert_eq!(latent.shape(), vec![2, 2, 2, 2, 3]);
    let value_at = |index: [usize; 5]| {
        let flat = index.iter().zip([24, 12, 6, 3, 1]).map(|(i, s)| i * s).sum::<usize>();
        format!("{:?}", latent.values().get_f32(flat).unwrap())
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
    // One drop each: two containers dropped together are compared instead.
    for name in ["f32_zfp.raiiaf", "multi_latent_zfp.raiiaf"] {
        harness.input_mut().dropped_files.push(std::sync::Arc::new(DroppedPath(fixture(name))));
        settle(&mut harness);
    }
    assert_eq!(harness.state().documents.len(), 2);
    assert_eq!(harness.state().selected, 1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::W);
    harness.run_steps(2);
    assert_eq!(harness.state().documents.len(), 1);
    assert!(harness.state().documents[0].file.name() == "f32_zfp.raiiaf");
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

fn write_packer_inputs(dir: &Path) -> Vec<PathBuf> {
    use raiiaf_workbench::format::{Latent, LatentValues};
    let image = dir.join("lighthouse.png");
    std::fs::write(&image, common::png_with_text(64, 48, &[("parameters", common::A1111_PARAMETERS)])).unwrap();
    let values: Vec<f32> = (0..192).map(|i| ((i as f32) * 0.37).sin()).collect();
    let noise = Latent::new("noise", vec![1, 4, 6, 8], LatentValues::F32(values)).unwrap();
    let npy = dir.join("initial_noise.npy");
    std::fs::write(&npy, raiiaf_workbench::npy::write_npy(&noise).unwrap()).unwrap();
    vec![image, npy]
}

#[test]
fn dropped_image_and_latents_walk_through_the_packer_to_a_file_the_reference_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness_with(Vec::new(), None);
    // Dropping an image and a latent (no .raiiaf among them) opens the packer, prefilled.
    for path in write_packer_inputs(dir.path()) {
        harness.input_mut().dropped_files.push(std::sync::Arc::new(DroppedPath(path)));
    }
    settle(&mut harness);
    assert!(harness.state().documents.is_empty());
    let packer = harness.state().packer().expect("the packer opened");
    assert_eq!(packer.step, WizardStep::Image);
    assert_eq!(packer.latents.len(), 1);
    assert_eq!(packer.latents[0].key, "initial_noise");
    harness.get_by_label("Generation parameters found in the image");
    harness.get_by_label_contains("found AUTOMATIC1111/Forge parameters");
    // Found parameters are offered, and used only when the user says so.
    assert_eq!(harness.state().packer().unwrap().metadata.seed, "");
    harness.get_by_label("Use these parameters").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Used: they filled the empty metadata fields");

    harness.get_by_label("Next").click();
    harness.run_steps(3);
    assert_eq!(harness.state().packer().unwrap().step, WizardStep::Latents);
    harness.get_by_label("key of latent 1");

    harness.get_by_label("Next").click();
    harness.run_steps(3);
    assert_eq!(harness.state().packer().unwrap().step, WizardStep::Metadata);
    // Imported values fill the fields; a bad value is shown at its field and blocks Next.
    assert_eq!(harness.state().packer().unwrap().metadata.seed, "3551078465");
    harness.state_mut().packer_mut().unwrap().metadata.steps = "0".into();
    harness.run_steps(3);
    harness.get_by_label_contains("steps: 0 is less than the minimum of 1");
    harness.get_by_label("Next").click();
    harness.run_steps(3);
    assert_eq!(harness.state().packer().unwrap().step, WizardStep::Metadata, "Next is blocked");
    harness.state_mut().packer_mut().unwrap().metadata.steps = "28".into();
    harness.get_by_label("Model version").click();
    harness.run_steps(2);
    harness.get_by_label("Model version").type_text("-audited");
    harness.run_steps(3);
    assert_eq!(harness.state().packer().unwrap().metadata.version, "31e35c80fc-audited");
    harness.get_by_label("Next").click();
    harness.run_steps(3);
    assert_eq!(harness.state().packer().unwrap().step, WizardStep::Environment);

    // The environment of an existing file, as the file dialog would give it (this test has no
    // machine probe).
    let source = fixture("f32_raw.raiiaf");
    let environment = inspect_path(&source, &Limits::default()).environment.unwrap();
    harness.state_mut().packer_mut().unwrap().environment =
        EnvironmentChoice::FromFile { source: FileInput::Path(source), environment: environment.clone() };
    harness.run_steps(2);
    harness.get_by_label("Next").click();
    settle(&mut harness);
    assert_eq!(harness.state().packer().unwrap().step, WizardStep::Options);
    harness.get_by_label("Store latents as float16 (halves the size; rounds values)").click();
    settle(&mut harness);
    harness.get_by_label("Next").click();
    settle(&mut harness);
    assert_eq!(harness.state().packer().unwrap().step, WizardStep::Review);
    harness.get_by_label_contains("in all");
    harness.get_by_label("Save as…");

    // What the save dialog leads to.
    let out = dir.path().join("packed.raiiaf");
    let ctx = harness.ctx.clone();
    harness.state_mut().packer_mut().unwrap().save_to(&ctx, out.clone(), None);
    settle(&mut harness);
    settle(&mut harness);
    // The new file opens in the viewer and the packer closes.
    let state = harness.state();
    assert!(state.packer().is_none(), "status: {:?}", state.packer().and_then(|p| p.status.clone()));
    assert_eq!(state.documents.len(), 1);
    assert_eq!(state.documents[0].file, FileInput::Path(out.clone()));
    harness.get_by_label("VALID");

    let inspection = inspect_path(&out, &Limits::default());
    assert_eq!(inspection.verdict(), Verdict::Valid);
    let info = &inspection.manifest_body().unwrap()["model_info"];
    assert_eq!(info["model_name"], "sd_xl_base_1.0");
    assert_eq!(info["version"], "31e35c80fc-audited");
    assert_eq!(info["generation_settings"]["seed"], 3551078465u64);
    assert_eq!(info["generation_settings"]["negative_prompt"], "blurry, lowres");
    assert_eq!(inspection.environment.as_ref(), Some(&environment));
    assert_eq!(inspection.latents[0].latent.key(), "initial_noise");
    assert_eq!(inspection.latents[0].latent.dtype(), raiiaf_workbench::format::Dtype::F16);
    if let Some(python) = common::reference_python() {
        let output = common::run_reference(&python, &["decode", out.to_str().unwrap()]);
        let theirs: serde_json::Value = serde_json::from_str(output.lines().next().unwrap()).unwrap();
        assert!(theirs.get("error").is_none(), "the reference failed: {}", theirs["error"]);
        let problems = common::differences_from_reference(&out, &theirs);
        assert!(problems.is_empty(), "{problems:?}");
    }
}

#[test]
fn repack_prefills_the_packer_from_an_open_file() {
    let mut harness = harness_with(vec![fixture("f32_zfp.raiiaf")], None);
    harness.get_by_label("Re-pack…").click();
    settle(&mut harness);
    let state = harness.state();
    let packer = state.packer().expect("the packer opened");
    let inspection = inspect_path(&fixture("f32_zfp.raiiaf"), &Limits::default());
    let info = &inspection.manifest_body().unwrap()["model_info"];
    assert_eq!(packer.metadata.model_name, info["model_name"].as_str().unwrap());
    assert_eq!(packer.metadata.prompt, info["prompt"].as_str().unwrap());
    assert_eq!(packer.latents.len(), inspection.latents.len());
    assert_eq!(packer.latents[0].codec, raiiaf_workbench::gui::CodecChoice::Zfp);
    assert!(packer.image.is_some());
    assert!(matches!(&packer.environment, EnvironmentChoice::FromFile { environment, .. }
        if Some(environment) == inspection.environment.as_ref()));
    assert_eq!(packer.original, Some(FileInput::Path(fixture("f32_zfp.raiiaf"))));
    harness.get_by_label("Re-pack");
}

/// Two runs that differ in the seed, torch, one latent value and a few pixels.
fn write_differing_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let a = common::SampleRun::new(3);
    let mut b = common::SampleRun::new(3);
    b.seed = 43;
    b.torch = "2.1.0".into();
    b.prompt = "a lighthouse on a hill, stormy sea".into();
    for x in 0..6 {
        b.image.put_pixel(x, 3, image::Rgb([250, 250, 250]));
    }
    let mut noise = b.noise();
    noise[5] += 0.5;
    let (a_path, b_path) = (dir.join("run-a.raiiaf"), dir.join("run-b.raiiaf"));
    a.write(&a_path);
    let packed = raiiaf_workbench::format::pack(&b.request_with_noise(noise)).unwrap();
    std::fs::write(&b_path, packed.bytes).unwrap();
    (a_path, b_path)
}

#[test]
fn two_dropped_files_are_compared_section_by_section() {
    let dir = tempfile::tempdir().unwrap();
    let (a_path, b_path) = write_differing_pair(dir.path());
    let mut harness = harness_with(Vec::new(), None);
    for path in [&a_path, &b_path] {
        harness.input_mut().dropped_files.push(std::sync::Arc::new(DroppedPath(path.clone())));
    }
    settle(&mut harness);
    assert_eq!(harness.state().view, View::Compare);
    assert!(harness.state().documents.is_empty(), "a comparison opens no tabs");
    let verdict = harness.state().compare().unwrap().loaded().unwrap().comparison.verdict_line();
    assert!(verdict.contains("settings differ in seed (42 vs 43)"), "{verdict}");
    harness.get_by_label(&verdict);

    // Manifest: every field, then only the differing ones.
    harness.get_by_label("model_info.generation_settings.steps");
    harness.get_by_label("model_info.generation_settings.seed");
    harness.get_by_label("only differences").click();
    harness.run_steps(3);
    assert!(harness.query_by_label("model_info.generation_settings.steps").is_none());
    harness.get_by_label("model_info.generation_settings.seed");
    harness.get_by_label("model_info.prompt");

    harness.get_by_label("Environment").click();
    harness.run_steps(3);
    harness.get_by_label("name=torch;version=2.1.0;cuda=12.1");
    assert!(harness.query_by_label("numpy").is_none(), "only differences is still on");

    harness.get_by_label("Latents").click();
    harness.run_steps(3);
    harness.get_by_label("1 of 256");
    harness.get_by_label("initial_noise (B - A)");
    for channel in 0..4 {
        harness.get_by_label(&format!("heatmap {channel}"));
    }

    harness.get_by_label("Image").click();
    harness.run_steps(3);
    harness.get_by_label("Split");
    harness.get_by_label("Difference").click();
    harness.run_steps(3);
    let compare = harness.state().compare().unwrap();
    assert_eq!(compare.section, CompareSection::Image);
    assert_eq!(compare.image_mode, raiiaf_workbench::gui::ImageMode::Difference);

    harness.get_by_label("Swap A and B").click();
    settle(&mut harness);
    let compare = harness.state().compare().unwrap();
    assert_eq!((compare.a.clone(), compare.b.clone()), (b_path.clone().into(), a_path.clone().into()));
    assert_eq!(compare.section, CompareSection::Image, "swapping keeps the section");
    let swapped = compare.loaded().unwrap().comparison.verdict_line();
    assert!(swapped.contains("seed (43 vs 42)"), "{swapped}");

    // The first "open" is A's, which is now b_path.
    harness.get_all_by_label("open").next().unwrap().click();
    settle(&mut harness);
    assert_eq!(harness.state().view, View::Documents);
    assert_eq!(harness.state().documents[0].file, FileInput::Path(b_path));
}

#[test]
fn snapshot_of_a_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let (a_path, b_path) = write_differing_pair(dir.path());
    let mut harness = Harness::builder().with_size([1200.0, 800.0]).build_eframe(move |cc| {
        let options =
            StartOptions { files: vec![a_path, b_path], compare: true, skip_probe: true, ..Default::default() };
        WorkbenchApp::new(&cc.egui_ctx, options, None)
    });
    settle(&mut harness);
    harness.get_by_label("only differences").click();
    harness.run_steps(3);
    harness.snapshot("compare_manifest");
}

/// A folder as a dataset might hold it: runs in nested folders, one truncated, one with a
/// flipped byte, and a file that is not a container.
fn write_dataset(root: &Path) -> Vec<PathBuf> {
    let nested = root.join("2026-11").join("batch-1");
    std::fs::create_dir_all(&nested).unwrap();
    let mut written = Vec::new();
    for (n, torch) in [(1u64, "2.5.1"), (2, "2.5.1"), (3, "2.1.0")] {
        let mut run = common::SampleRun::new(n);
        run.seed = 100 + n;
        run.torch = torch.into();
        let path = nested.join(format!("run-{n}.raiiaf"));
        run.write(&path);
        written.push(path);
    }
    let good = std::fs::read(&written[0]).unwrap();
    std::fs::write(root.join("truncated.raiiaf"), &good[..good.len() / 2]).unwrap();
    let mut flipped = good.clone();
    flipped[200] ^= 0x10;
    std::fs::write(root.join("flipped.raiiaf"), flipped).unwrap();
    std::fs::write(root.join("notes.txt"), "not a container").unwrap();
    written
}

#[test]
fn a_dropped_folder_is_verified_filtered_sorted_and_opened_by_double_click() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path());
    // Short frames, so that two clicks a frame apart make a double-click (egui: within 0.3 s).
    let mut harness = Harness::builder().with_size([1200.0, 900.0]).with_step_dt(1.0 / 30.0).build_eframe(|cc| {
        WorkbenchApp::new(&cc.egui_ctx, StartOptions { skip_probe: true, ..Default::default() }, None)
    });
    harness.input_mut().dropped_files.push(std::sync::Arc::new(DroppedPath(dir.path().to_path_buf())));
    settle(&mut harness);
    assert_eq!(harness.state().view, View::Folder);
    let folder = harness.state().folder().unwrap();
    assert_eq!(folder.rows.len(), 5, "four containers found, the text file ignored");
    let counts = folder.counts();
    assert_eq!((counts.valid, counts.invalid, counts.unreadable), (3, 1, 1));
    harness.get_by_label("3 valid");

    // The verdict filter, through the count buttons.
    harness.get_by_label("1 invalid").click();
    harness.run_steps(3);
    harness.get_by_label("flipped.raiiaf");
    assert!(harness.query_by_label("truncated.raiiaf").is_none());
    harness.get_by_label("1 invalid").click();
    harness.run_steps(3);
    harness.get_by_label("truncated.raiiaf");

    // Environment filter: torch 2.1.0 is one file.
    harness.state_mut().folder_mut().unwrap().filter.environment =
        Some(("torch".into(), Some("version=2.1.0;cuda=12.1".into())));
    harness.run_steps(3);
    harness.get_by_label("1 of 5 files shown · click a heading to sort · double-click a file to open it");
    harness.state_mut().folder_mut().unwrap().filter = Default::default();
    harness.run_steps(3);

    // Sorting by seed, descending on the second click.
    harness.get_by_label("seed").click();
    harness.run_steps(3);
    harness.get_by_label("seed (asc)").click();
    harness.run_steps(3);
    let folder = harness.state_mut().folder_mut().unwrap();
    let order: Vec<Option<u64>> = folder.visible().to_vec().iter().map(|&i| folder.rows[i].seed).collect();
    assert_eq!(order[..3], [Some(103), Some(102), Some(101)], "{order:?}");

    // Double-clicking a row opens that file.
    // Half a second after the sorting clicks, or egui counts a triple-click.
    harness.run_steps(15);
    let at = harness.get_by_label("2026-11/batch-1/run-3.raiiaf").rect().center();
    harness.input_mut().events.push(egui::Event::PointerMoved(at));
    // Press and release one frame at a time, as a mouse does.
    for pressed in [true, false, true, false] {
        let modifiers = egui::Modifiers::default();
        let button = egui::PointerButton::Primary;
        harness.input_mut().events.push(egui::Event::PointerButton { pos: at, button, pressed, modifiers });
        harness.step();
    }
    settle(&mut harness);
    assert_eq!(harness.state().view, View::Documents);
    assert!(harness.state().documents[0].file.name() == "run-3.raiiaf");
}

#[test]
fn three_dropped_containers_are_verified_as_a_set_and_the_report_is_exported() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("truncated.raiiaf");
    let bytes = std::fs::read(fixture("f32_zfp.raiiaf")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut harness = harness_with(Vec::new(), None);
    for path in [fixture("f32_raw.raiiaf"), fixture("gen5_zstd.gen5"), truncated] {
        harness.input_mut().dropped_files.push(std::sync::Arc::new(DroppedPath(path)));
    }
    settle(&mut harness);
    assert_eq!(harness.state().view, View::Folder);
    assert!(harness.state().documents.is_empty(), "verified, not opened as tabs");
    let folder = harness.state().folder().unwrap();
    assert_eq!(folder.title(), "3 files");
    let counts = folder.counts();
    assert_eq!((counts.valid, counts.invalid, counts.unreadable), (2, 0, 1));
    harness.get_by_label("2 valid");

    // The report the Export button saves (through the platform's save, here a file).
    let summary = folder.counts();
    let report = raiiaf_workbench::audit::folder::report_bytes(&folder.rows, &summary, "report.json").unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 3);
    assert_eq!(report["summary"]["unreadable"], 1);
    let csv = raiiaf_workbench::audit::folder::report_bytes(&folder.rows, &summary, "report.csv").unwrap();
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 4, "a header and three rows");
}

#[test]
fn limits_from_the_command_line_apply_until_reset_in_the_settings_window() {
    // The fixture's latent holds 1x4x8x8 = 256 values; a limit of 100 refuses it.
    let small = Limits { max_latent_elements: 100, ..Limits::default() };
    let file = fixture("f32_raw.raiiaf");
    let start_file = file.clone();
    let mut harness = Harness::builder().with_size([1200.0, 900.0]).build_eframe(move |cc| {
        let options =
            StartOptions { files: vec![start_file], limits: Some(small), skip_probe: true, ..Default::default() };
        WorkbenchApp::new(&cc.egui_ctx, options, None)
    });
    settle(&mut harness);
    harness.get_by_label("INVALID");
    assert_eq!(harness.state().limits(), small);

    harness.get_by_label("Settings").click();
    harness.run_steps(2);
    harness.get_by_label("Limits…").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Set on the command line");
    harness.get_by_label("Latent values");
    harness.get_by_label("Reset to defaults").click();
    harness.run_steps(3);
    assert_eq!(harness.state().limits(), Limits::default());
    assert_eq!(harness.state().settings.limits, Limits::default());
    assert!(harness.query_by_label_contains("Set on the command line").is_none());

    // Files opened from now on get the new limits.
    harness.state_mut().open(file);
    settle(&mut harness);
    assert_eq!(harness.state().documents.len(), 2);
    harness.get_by_label("VALID");
}

/// An image on its own opens as a document showing its generator and parameters (a ComfyUI
/// graph, here, with its nodes); "Pack…" opens the packer with the parameters already filled in,
/// the version nobody recorded standing in as the checkpoint's name.
#[test]
fn an_image_opens_with_its_parameters_and_packs_prefilled() {
    let dir = tempfile::tempdir().unwrap();
    let graph = r#"{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "juggernaut.safetensors"}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 7, "sampler_name": "euler",
        "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse"}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}}}"#;
    let image = dir.path().join("comfy.png");
    std::fs::write(&image, common::png_with_text(16, 12, &[("prompt", graph)])).unwrap();
    let mut harness = harness_with(vec![image], None);
    assert!(harness.state().packer().is_none(), "an image alone is looked at, not packed");
    assert_eq!(harness.state().documents.len(), 1);
    harness.get_by_label("ComfyUI prompt graph");
    harness.get_by_label("ComfyUI graph: 4 nodes");
    harness.get_by_label("CheckpointLoaderSimple");
    harness.get_by_label("a lighthouse");
    assert!(harness.query_all_by_label("Copy").count() >= 10);

    harness.get_by_label("Pack…").click();
    settle(&mut harness);
    let packer = harness.state().packer().expect("Pack… opened the packer");
    assert!(packer.image.is_some());
    let form = &packer.metadata;
    assert_eq!((form.model_name.as_str(), form.version.as_str()), ("juggernaut", "juggernaut"));
    assert_eq!((form.prompt.as_str(), form.seed.as_str()), ("a lighthouse", "5"));
    harness.get_by_label_contains("no model version or hash was recorded");
}

/// Several images dropped with latent files open the batch: its table pairs them by name and
/// names each image's generator before anything is written; packing writes one container per
/// pair, and a second run keeps what exists unless replacing is ticked.
#[test]
fn dropped_images_and_latents_pack_as_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let noise = raiiaf_workbench::format::Latent::new(
        "noise",
        vec![1, 4, 6, 8],
        raiiaf_workbench::format::LatentValues::F32((0..192).map(|i| (i as f32 * 0.37).sin()).collect()),
    )
    .unwrap();
    let npy = raiiaf_workbench::npy::write_npy(&noise).unwrap();
    let mut dropped = Vec::new();
    for (name, texts) in [("a", vec![("parameters", common::A1111_PARAMETERS)]), ("b", vec![]), ("c", vec![])] {
        let image = dir.path().join(format!("{name}.png"));
        std::fs::write(&image, common::png_with_text(16, 12, &texts)).unwrap();
        dropped.push(image);
    }
    for name in ["a.npy", "b_initial_noise.npy", "stray.npy"] {
        std::fs::write(dir.path().join(name), &npy).unwrap();
        dropped.push(dir.path().join(name));
    }
    let mut harness = harness_with(Vec::new(), None);
    harness.state_mut().machine.set_result(raiiaf_workbench::platform::probe_machine(
        &raiiaf_workbench::probe::ProbeOptions { skip_python: true, ..Default::default() },
    ));
    for path in dropped {
        harness.input_mut().dropped_files.push(std::sync::Arc::new(DroppedPath(path)));
    }
    settle(&mut harness);
    assert_eq!(harness.state().view, View::Batch);
    let batch = harness.state().batch().expect("the batch opened");
    assert_eq!(batch.plan.pairs.len(), 2);
    assert_eq!(batch.plan.unmatched.len(), 2, "c.png and stray.npy: {:?}", batch.plan.unmatched);
    assert_eq!(batch.generators, ["AUTOMATIC1111/Forge parameters", "none found"]);
    harness.get_by_label_contains("c.png: no latent file has its name");
    harness.get_by_label("AUTOMATIC1111/Forge parameters");
    let packed = dir.path().join("packed");
    assert!(!packed.exists(), "nothing is written before Pack");

    harness.get_by_label("Pack 2 pairs").click();
    settle(&mut harness);
    let (outcomes, stopped) = harness.state().batch().unwrap().outcomes.clone().expect("the run ended");
    assert!(!stopped);
    let labels: Vec<&str> = outcomes.iter().map(|o| o.status.label()).collect();
    assert_eq!(labels, ["packed", "packed"]);
    for name in ["a.raiiaf", "b.raiiaf"] {
        assert_eq!(inspect_path(&packed.join(name), &Limits::default()).verdict(), Verdict::Valid, "{name}");
    }
    harness.get_by_label_contains("2 packed, 0 kept, 0 failed");
    let before = std::fs::read(packed.join("a.raiiaf")).unwrap();

    // Again: what exists is kept, unless replacing is ticked.
    harness.get_by_label("Pack 2 pairs").click();
    settle(&mut harness);
    harness.get_by_label_contains("0 packed, 2 kept, 0 failed");
    assert_eq!(std::fs::read(packed.join("a.raiiaf")).unwrap(), before);
    harness.get_by_label("Replace containers that exist").click();
    harness.run_steps(2);
    harness.get_by_label("Pack 2 pairs").click();
    settle(&mut harness);
    harness.get_by_label_contains("2 packed, 0 kept, 0 failed");
}
