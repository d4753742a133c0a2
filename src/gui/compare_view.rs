//! Two files side by side: a verdict sentence, then the manifest field by field, the
//! environments against each other and this machine, the latents' differences as heatmaps,
//! and the images under a split slider, blink or difference view with shared zoom and pan.

use crate::platform::FileInput;

use egui::{Color32, Pos2, Rect, Sense, Vec2};

use crate::audit::compare::{self, Comparison, RowStatus};
use crate::audit::words::{Segment, SegmentKind};
use crate::format::environment::{ComponentStatus, compare as compare_components};
use crate::format::reader::DecodedLatent;
use crate::format::{EnvComponent, Inspection, Limits, Stats, Verdict};

use super::environment_view::MachineEnvironment;
use super::image_view::{ImageViewState, PreparedImage, paint_checkerboard, pixel_under_pointer, zoom_and_pan};
use super::latent_view::{ExportRequest, HeatmapSettings, LatentViewState, latents_ui};
use super::style;
use super::worker::{Load, Progress};

/// The parts of a comparison, one shown at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum CompareSection {
    #[default]
    Manifest,
    Environment,
    Latents,
    Image,
}

impl CompareSection {
    pub const ALL: [CompareSection; 4] =
        [CompareSection::Manifest, CompareSection::Environment, CompareSection::Latents, CompareSection::Image];
    pub fn title(self) -> &'static str {
        match self {
            CompareSection::Manifest => "Manifest",
            CompareSection::Environment => "Environment",
            CompareSection::Latents => "Latents",
            CompareSection::Image => "Image",
        }
    }
}

/// How the two images are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageMode {
    /// A left of a movable line, B right of it.
    #[default]
    Split,
    /// A and B in turn.
    Blink,
    /// Where they differ, brightest where most.
    Difference,
}

/// Everything the view shows, computed on a worker.
pub struct ComparedFiles {
    pub a: Inspection,
    pub b: Inspection,
    pub comparison: Comparison,
    pub a_image: Option<Result<PreparedImage, String>>,
    pub b_image: Option<Result<PreparedImage, String>>,
    pub difference_image: Option<PreparedImage>,
    /// B - A for each pair of latents of one shape, with statistics, for the heatmaps.
    pub difference_latents: Vec<DecodedLatent>,
    pub difference_stats: Vec<Stats>,
}

pub fn compare_files(
    a: &FileInput,
    b: &FileInput,
    max_texture_side: usize,
    limits: &Limits,
    progress: &Progress,
) -> ComparedFiles {
    progress.set_stage("reading and checking both files");
    let (a_inspection, b_inspection) = compare::inspect_pair(a, b, limits);
    progress.set_stage("decoding the images");
    let a_pixels = compare::decode_image(&a_inspection, limits);
    let b_pixels = compare::decode_image(&b_inspection, limits);
    progress.set_stage("comparing");
    let comparison = Comparison::with_images(&a_inspection, &b_inspection, a_pixels.as_ref(), b_pixels.as_ref());
    let difference_image = match (&a_pixels, &b_pixels) {
        (Some(Ok(a)), Some(Ok(b))) => compare::difference_image(a, b)
            .map(|pixels| PreparedImage::from_pixels(pixels, "difference", max_texture_side)),
        _ => None,
    };
    let prepare = |pixels: Option<compare::DecodedPixels>, inspection: &Inspection| {
        pixels.map(|decoded| {
            decoded.map(|pixels| {
                let format = inspection
                    .image
                    .as_ref()
                    .and_then(|i| image::guess_format(&i.bytes).ok())
                    .and_then(|f| f.extensions_str().first().copied())
                    .unwrap_or("image");
                PreparedImage::from_pixels(pixels, format, max_texture_side)
            })
        })
    };
    progress.set_stage("difference heatmaps");
    let difference_latents = compare::difference_latents(&a_inspection, &b_inspection);
    let difference_stats = difference_latents.iter().map(|d| d.latent.stats()).collect();
    ComparedFiles {
        a_image: prepare(a_pixels, &a_inspection),
        b_image: prepare(b_pixels, &b_inspection),
        a: a_inspection,
        b: b_inspection,
        comparison,
        difference_image,
        difference_latents,
        difference_stats,
    }
}

/// What the view asks the app to do.
pub enum CompareCommand {
    Open(FileInput),
    Swap,
    Close,
}

pub struct CompareView {
    pub a: FileInput,
    pub b: FileInput,
    pub state: Load<ComparedFiles>,
    pub section: CompareSection,
    pub only_differences: bool,
    pub image_mode: ImageMode,
    /// Where the split line is, as a share of the image's width.
    pub split: f32,
    dragging_split: bool,
    image_view: ImageViewState,
    textures: Option<[Option<egui::TextureHandle>; 3]>,
    latent_view: LatentViewState,
    heatmaps: HeatmapSettings,
}

impl CompareView {
    pub fn open(
        ctx: &egui::Context,
        a: FileInput,
        b: FileInput,
        section: CompareSection,
        limits: Limits,
    ) -> CompareView {
        let max_side = ctx.input(|i| i.max_texture_side);
        let (worker_a, worker_b) = (a.clone(), b.clone());
        let state = Load::start(ctx, move |progress| compare_files(&worker_a, &worker_b, max_side, &limits, progress));
        CompareView {
            a,
            b,
            state,
            section,
            only_differences: false,
            image_mode: ImageMode::default(),
            split: 0.5,
            dragging_split: false,
            image_view: ImageViewState::default(),
            textures: None,
            latent_view: LatentViewState::default(),
            // Differences are signed and centred on zero.
            heatmaps: HeatmapSettings::default(),
        }
    }

    pub fn is_loading(&self) -> bool {
        self.state.is_loading()
    }

    pub fn loaded(&self) -> Option<&ComparedFiles> {
        self.state.ready()
    }

    pub fn title(&self) -> String {
        format!("{} vs {}", self.a.name(), self.b.name())
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        machine: &MachineEnvironment,
        commands: &mut Vec<CompareCommand>,
        exports: &mut Vec<ExportRequest>,
    ) {
        let done = match &self.state {
            Load::Loading(task) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Comparing {}: {}", self.title(), task.stage()));
                });
                return;
            }
            Load::Failed(why) => {
                ui.colored_label(style::BAD, format!("The comparison could not be made: {why}"));
                return;
            }
            Load::Ready(done) => done,
        };
        files_ui(ui, &self.a, &self.b, done, commands);
        verdict_ui(ui, &done.comparison);
        ui.horizontal(|ui| {
            for section in CompareSection::ALL {
                if ui.selectable_label(self.section == section, section.title()).clicked() {
                    self.section = section;
                }
            }
        });
        ui.separator();
        match self.section {
            CompareSection::Manifest => manifest_ui(ui, done, &mut self.only_differences),
            CompareSection::Environment => environment_ui(ui, done, machine, &mut self.only_differences),
            CompareSection::Latents => {
                latent_pairs_ui(ui, &done.comparison);
                ui.separator();
                if done.difference_latents.is_empty() {
                    ui.label("No pair of latents with one key and one shape to show differences of.");
                } else {
                    ui.label("Differences B - A per channel (zero is white; exact equality too):");
                    let stored = vec![None; done.difference_latents.len()];
                    egui::ScrollArea::vertical().id_salt("compare-latents").show(ui, |ui| {
                        latents_ui(
                            ui,
                            &mut self.latent_view,
                            &mut self.heatmaps,
                            &done.difference_latents,
                            &done.difference_stats,
                            &stored,
                            exports,
                        );
                    });
                }
            }
            CompareSection::Image => {
                let textures = self.textures.get_or_insert_with(|| {
                    let load = |image: Option<&PreparedImage>, name: &str| {
                        image.map(|i| ui.ctx().load_texture(name, i.preview.clone(), egui::TextureOptions::NEAREST))
                    };
                    [
                        load(done.a_image.as_ref().and_then(|r| r.as_ref().ok()), "compare-a"),
                        load(done.b_image.as_ref().and_then(|r| r.as_ref().ok()), "compare-b"),
                        load(done.difference_image.as_ref(), "compare-difference"),
                    ]
                });
                let mut view = ImageCompareUi {
                    mode: &mut self.image_mode,
                    split: &mut self.split,
                    dragging_split: &mut self.dragging_split,
                    state: &mut self.image_view,
                };
                view.show(ui, done, textures);
            }
        }
    }
}

fn files_ui(ui: &mut egui::Ui, a: &FileInput, b: &FileInput, done: &ComparedFiles, commands: &mut Vec<CompareCommand>) {
    egui::Grid::new("compare-files").show(ui, |ui| {
        for (side, path, inspection) in [("A", a, &done.a), ("B", b, &done.b)] {
            ui.strong(side);
            super::style::verdict_badge(ui, inspection.verdict());
            ui.add(egui::Label::new(path.name()).selectable(true)).on_hover_text(path.display_name());
            if ui.small_button("open").on_hover_text("Open this file in its own tab").clicked() {
                commands.push(CompareCommand::Open(path.clone()));
            }
            ui.end_row();
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Swap A and B").clicked() {
            commands.push(CompareCommand::Swap);
        }
        if ui.button("Close the comparison").clicked() {
            commands.push(CompareCommand::Close);
        }
    });
}

fn verdict_ui(ui: &mut egui::Ui, comparison: &Comparison) {
    let unreadable = comparison.a_verdict == Verdict::Unreadable || comparison.b_verdict == Verdict::Unreadable;
    let color = if unreadable {
        style::BAD
    } else if comparison.equivalent() {
        style::GOOD
    } else {
        style::CHANGED
    };
    let line = comparison.verdict_line();
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(&line).color(color).strong().size(15.0));
        if ui.small_button("copy").on_hover_text("Copy the verdict").clicked() {
            ui.ctx().copy_text(line.clone());
        }
    });
    ui.add_space(4.0);
}

fn status_label(ui: &mut egui::Ui, status: RowStatus, volatile: bool) {
    let color = match status {
        RowStatus::Same => style::GOOD,
        _ if volatile => Color32::GRAY,
        _ => style::CHANGED,
    };
    let text = if volatile && status != RowStatus::Same {
        format!("{} (volatile)", status.name())
    } else {
        status.name().into()
    };
    ui.colored_label(color, text).on_hover_text(if volatile {
        "Expected to differ between writes of the same content; not counted against equivalence"
    } else {
        ""
    });
}

fn value_text(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "(absent)".into(),
    }
}

/// A text with the words that only this side has highlighted.
fn highlighted(ui: &egui::Ui, segments: &[Segment], first: bool) -> egui::text::LayoutJob {
    let mut job = egui::text::LayoutJob::default();
    let normal = egui::TextFormat { color: ui.visuals().text_color(), ..Default::default() };
    for segment in segments {
        let format = match (segment.kind, first) {
            (SegmentKind::Same, _) => normal.clone(),
            (SegmentKind::Removed, true) => {
                egui::TextFormat { background: style::REMOVED_BACKGROUND, ..normal.clone() }
            }
            (SegmentKind::Added, false) => egui::TextFormat { background: style::ADDED_BACKGROUND, ..normal.clone() },
            _ => continue,
        };
        job.append(&segment.text, 0.0, format);
    }
    job.wrap.max_width = 420.0;
    job
}

fn manifest_ui(ui: &mut egui::Ui, done: &ComparedFiles, only_differences: &mut bool) {
    let comparison = &done.comparison;
    let differing = comparison.manifest_differences(false).count();
    ui.horizontal(|ui| {
        ui.checkbox(only_differences, "only differences");
        ui.label(format!("{differing} of {} fields differ (volatile fields not counted)", comparison.manifest.len()));
    });
    egui::ScrollArea::both().id_salt("compare-manifest").show(ui, |ui| {
        egui::Grid::new("compare-manifest-grid").striped(true).min_col_width(60.0).show(ui, |ui| {
            for title in ["field", "A", "B", "status"] {
                ui.strong(title);
            }
            ui.end_row();
            for row in &comparison.manifest {
                if *only_differences && row.status == RowStatus::Same {
                    continue;
                }
                ui.monospace(&row.path);
                match done.comparison.prompt_words.iter().find(|(path, _)| *path == row.path) {
                    Some((_, segments)) => {
                        ui.add(egui::Label::new(highlighted(ui, segments, true)).selectable(true));
                        ui.add(egui::Label::new(highlighted(ui, segments, false)).selectable(true));
                    }
                    None => {
                        for value in [row.a.as_ref(), row.b.as_ref()] {
                            ui.add(egui::Label::new(value_text(value)).selectable(true).wrap());
                        }
                    }
                }
                status_label(ui, row.status, row.volatile);
                ui.end_row();
            }
        });
    });
}

fn component_status_text(status: &ComponentStatus, other: &str) -> String {
    match status {
        ComponentStatus::Same => "same".into(),
        ComponentStatus::Differs => "differs".into(),
        ComponentStatus::OnlyInFile => format!("missing on {other}"),
        ComponentStatus::OnlyHere => format!("only on {other}"),
    }
}

fn environment_ui(ui: &mut egui::Ui, done: &ComparedFiles, machine: &MachineEnvironment, only_differences: &mut bool) {
    let components = |inspection: &Inspection| -> Vec<EnvComponent> {
        inspection.environment.as_ref().map(|e| e.components.clone()).unwrap_or_default()
    };
    let (a_components, b_components) = (components(&done.a), components(&done.b));
    let probed = machine.result().is_some();
    let a_here = compare_components(&a_components, machine.components());
    let b_here = compare_components(&b_components, machine.components());
    let here_status =
        |rows: &[crate::format::environment::ComponentComparison], id: &str, canonical: Option<&String>| {
            if !probed {
                return "-".to_string();
            }
            canonical
                .and_then(|c| rows.iter().find(|r| r.component_id == id && r.file.as_ref() == Some(c)))
                .map_or_else(|| "-".to_string(), |r| component_status_text(&r.status, "this machine"))
        };
    ui.horizontal(|ui| {
        ui.checkbox(only_differences, "only differences");
        if !probed {
            ui.weak("This machine has not been probed (yet); only A and B are compared.");
        }
    });
    egui::ScrollArea::both().id_salt("compare-environment").show(ui, |ui| {
        egui::Grid::new("compare-environment-grid").striped(true).show(ui, |ui| {
            for title in ["component", "A", "B", "A vs B", "A vs this machine", "B vs this machine"] {
                ui.strong(title);
            }
            ui.end_row();
            for row in &done.comparison.environment {
                if *only_differences && row.status == ComponentStatus::Same {
                    continue;
                }
                ui.monospace(&row.component_id);
                ui.add(egui::Label::new(row.file.as_deref().unwrap_or("-")).selectable(true));
                ui.add(egui::Label::new(row.other.as_deref().unwrap_or("-")).selectable(true));
                let status = match row.status {
                    ComponentStatus::Same => "same".to_string(),
                    ComponentStatus::Differs => "differs".to_string(),
                    ComponentStatus::OnlyInFile => "only in A".to_string(),
                    ComponentStatus::OnlyHere => "only in B".to_string(),
                };
                let color = if row.status == ComponentStatus::Same { style::GOOD } else { style::CHANGED };
                ui.colored_label(color, status);
                ui.label(here_status(&a_here, &row.component_id, row.file.as_ref()));
                ui.label(here_status(&b_here, &row.component_id, row.other.as_ref()));
                ui.end_row();
            }
        });
    });
}

fn latent_pairs_ui(ui: &mut egui::Ui, comparison: &Comparison) {
    egui::Grid::new("compare-latents-grid").striped(true).show(ui, |ui| {
        for title in [
            "key",
            "shape A",
            "shape B",
            "dtype A / B",
            "bit-identical",
            "differing",
            "max |B-A|",
            "mean |B-A|",
            "RMSE",
        ] {
            ui.strong(title);
        }
        ui.end_row();
        let shape = |s: &Option<Vec<usize>>| s.as_ref().map_or("-".to_string(), |s| format!("{s:?}"));
        for latent in &comparison.latents {
            ui.monospace(&latent.key);
            ui.label(shape(&latent.a_shape));
            ui.label(shape(&latent.b_shape));
            ui.label(format!("{} / {}", latent.a_dtype.unwrap_or("-"), latent.b_dtype.unwrap_or("-")));
            match latent.values {
                Some(v) => {
                    if v.identical {
                        ui.colored_label(style::GOOD, "yes");
                    } else {
                        ui.colored_label(style::CHANGED, "no");
                    }
                    ui.label(format!("{} of {}", v.differing_values, v.value_count));
                    ui.monospace(format!("{:.6e}", v.max_abs_diff));
                    ui.monospace(format!("{:.6e}", v.mean_abs_diff));
                    ui.monospace(format!("{:.6e}", v.rmse));
                }
                None => {
                    let reason = match (&latent.a_shape, &latent.b_shape) {
                        (Some(_), None) => "only in A",
                        (None, Some(_)) => "only in B",
                        _ => "shapes differ",
                    };
                    ui.colored_label(style::CHANGED, reason);
                    for _ in 0..4 {
                        ui.label("-");
                    }
                }
            }
            ui.end_row();
        }
    });
}

/// The image section's controls and canvas, borrowing the view's image state.
struct ImageCompareUi<'a> {
    mode: &'a mut ImageMode,
    split: &'a mut f32,
    dragging_split: &'a mut bool,
    state: &'a mut ImageViewState,
}

impl ImageCompareUi<'_> {
    fn show(&mut self, ui: &mut egui::Ui, done: &ComparedFiles, textures: &[Option<egui::TextureHandle>; 3]) {
        let Some(image) = &done.comparison.image else {
            ui.label("Neither file has an image.");
            return;
        };
        image_summary_ui(ui, image);
        let [Some(a_texture), Some(b_texture), difference] = textures else {
            return;
        };
        let (Some(Ok(a_image)), Some(Ok(b_image))) = (&done.a_image, &done.b_image) else { return };
        self.controls_ui(ui, a_image, b_image);
        let image_size = a_image.size();
        let (view, response) =
            ui.allocate_exact_size(ui.available_size() - Vec2::new(0.0, 22.0), Sense::click_and_drag());
        // Dragging that starts on the split line moves it; elsewhere it pans.
        let fit = (view.width() / image_size.x).min(view.height() / image_size.y);
        let before =
            Rect::from_center_size(view.center() + self.state.pan, image_size * self.state.zoom.unwrap_or(fit));
        if response.drag_started() {
            let near_line = response.interact_pointer_pos().is_some_and(|p| {
                *self.mode == ImageMode::Split && (p.x - split_line_x(before, *self.split)).abs() < 8.0
            });
            *self.dragging_split = near_line;
        }
        if response.drag_stopped() {
            *self.dragging_split = false;
        }
        let (shown, zoom) = zoom_and_pan(ui, self.state, view, &response, image_size, !*self.dragging_split);
        if *self.dragging_split
            && let Some(pointer) = response.interact_pointer_pos()
        {
            *self.split = ((pointer.x - shown.min.x) / shown.width().max(1.0)).clamp(0.0, 1.0);
        }
        let painter = ui.painter_at(view);
        paint_checkerboard(&painter, shown.intersect(view));
        self.paint(ui, &painter, (view, shown), [a_texture, b_texture], difference.as_ref());
        ui.horizontal(|ui| {
            ui.label(format!("zoom {:.0} %", zoom * 100.0));
            if let Some((x, y)) = pixel_under_pointer(&response, shown, zoom, image_size) {
                ui.monospace(format!(
                    "x {x}, y {y}:  A {}  |  B {}",
                    rgba_at(a_image, a_image, x, y),
                    rgba_at(b_image, a_image, x, y)
                ));
            }
        });
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui, a_image: &PreparedImage, b_image: &PreparedImage) {
        ui.horizontal(|ui| {
            for (mode, name, hint) in [
                (ImageMode::Split, "Split", "A left of the line, B right of it; drag the line"),
                (ImageMode::Blink, "Blink", "A and B in turn"),
                (ImageMode::Difference, "Difference", "Black where equal; brighter where the pixels differ more"),
            ] {
                if ui.selectable_label(*self.mode == mode, name).on_hover_text(hint).clicked() {
                    *self.mode = mode;
                }
            }
            if *self.mode == ImageMode::Split {
                ui.add(egui::Slider::new(self.split, 0.0..=1.0).show_value(false).text("split"));
            }
            if ui.selectable_label(self.state.zoom.is_none(), "Fit").clicked() {
                self.state.zoom = None;
                self.state.pan = Vec2::ZERO;
            }
            if ui.selectable_label(self.state.zoom == Some(1.0), "1:1").clicked() {
                self.state.zoom = Some(1.0);
                self.state.pan = Vec2::ZERO;
            }
            if a_image.pixels.dimensions() != b_image.pixels.dimensions() {
                ui.weak("(sizes differ: B is stretched over A)");
            }
        });
    }

    /// The images as the mode shows them, inside `view`, over `shown` (the image's place).
    fn paint(
        &self,
        ui: &egui::Ui,
        painter: &egui::Painter,
        (view, shown): (Rect, Rect),
        [a_texture, b_texture]: [&egui::TextureHandle; 2],
        difference: Option<&egui::TextureHandle>,
    ) {
        let full_uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
        match *self.mode {
            ImageMode::Split => {
                let x = split_line_x(shown, *self.split);
                let left = Rect::from_min_max(shown.min, Pos2::new(x, shown.max.y));
                let right = Rect::from_min_max(Pos2::new(x, shown.min.y), shown.max);
                painter.image(
                    a_texture.id(),
                    left,
                    Rect::from_min_max(Pos2::ZERO, Pos2::new(*self.split, 1.0)),
                    Color32::WHITE,
                );
                painter.image(
                    b_texture.id(),
                    right,
                    Rect::from_min_max(Pos2::new(*self.split, 0.0), Pos2::new(1.0, 1.0)),
                    Color32::WHITE,
                );
                painter.line_segment([Pos2::new(x, view.min.y), Pos2::new(x, view.max.y)], (2.0, Color32::WHITE));
                let label = |at: Pos2, align: egui::Align2, text: &str| {
                    painter.text(at, align, text, egui::FontId::proportional(16.0), Color32::WHITE);
                };
                label(Pos2::new(x - 8.0, view.min.y + 8.0), egui::Align2::RIGHT_TOP, "A");
                label(Pos2::new(x + 8.0, view.min.y + 8.0), egui::Align2::LEFT_TOP, "B");
            }
            ImageMode::Blink => {
                let time = ui.input(|i| i.time);
                let showing_b = (time / 0.7) as u64 % 2 == 1;
                let texture = if showing_b { b_texture } else { a_texture };
                painter.image(texture.id(), shown, full_uv, Color32::WHITE);
                painter.text(
                    view.min + Vec2::splat(8.0),
                    egui::Align2::LEFT_TOP,
                    if showing_b { "B" } else { "A" },
                    egui::FontId::proportional(18.0),
                    Color32::WHITE,
                );
                ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
            }
            ImageMode::Difference => match difference {
                Some(texture) => {
                    painter.image(texture.id(), shown, full_uv, Color32::WHITE);
                }
                None => {
                    painter.text(
                        view.center(),
                        egui::Align2::CENTER_CENTER,
                        "No difference image (sizes differ)",
                        egui::FontId::proportional(16.0),
                        Color32::WHITE,
                    );
                }
            },
        }
    }
}

/// Where the split line is drawn over an image shown in `shown`.
fn split_line_x(shown: Rect, split: f32) -> f32 {
    shown.min.x + shown.width() * split
}

/// `image`'s pixel at the place of `reference`'s pixel (x, y), as text: B is drawn over A's area,
/// so when the sizes differ this is the same place in B.
fn rgba_at(image: &PreparedImage, reference: &PreparedImage, x: u32, y: u32) -> String {
    let scaled = |at: u32, size: u32, reference_size: u32| {
        (u64::from(at) * u64::from(size) / u64::from(reference_size.max(1))) as u32
    };
    let (x, y) = (
        scaled(x, image.pixels.width(), reference.pixels.width()),
        scaled(y, image.pixels.height(), reference.pixels.height()),
    );
    image.pixels.get_pixel_checked(x, y).map_or("-".to_string(), |p| {
        let [r, g, b, a] = p.0;
        format!("R {r} G {g} B {b} A {a}")
    })
}

/// One line on how the two images differ.
fn image_summary_ui(ui: &mut egui::Ui, image: &crate::audit::compare::ImageComparison) {
    ui.horizontal_wrapped(|ui| {
        if image.bytes_identical {
            ui.colored_label(style::GOOD, "identical files");
        } else if image.identical {
            ui.colored_label(style::GOOD, "identical pixels (stored differently)");
        }
        if let Some(p) = image.pixels {
            ui.label(format!(
                "max |B-A| {} · mean |B-A| {:.4} · PSNR {} · {:.3}% of pixels differ",
                p.max_abs_diff,
                p.mean_abs_diff,
                p.psnr.map_or("inf".into(), |v| format!("{v:.2} dB")),
                p.differing_pixel_share * 100.0
            ));
        }
        if let Some(problem) = &image.problem {
            ui.colored_label(style::CHANGED, problem);
        }
    });
}
