//! The desktop window. This first version opens files (arguments, drag and drop), decodes them
//! on a worker thread, and shows the verdict, image, checks and manifest of each in a tab.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

use crate::format::{self, Inspection, Limits, Verdict};

/// A file decoded off the UI thread, with its image already turned into pixels.
struct Loaded {
    inspection: Inspection,
    image: Option<egui::ColorImage>,
}

enum DocumentState {
    Loading(Receiver<Loaded>),
    Ready { loaded: Box<Loaded>, texture: Option<egui::TextureHandle> },
}

struct Document {
    path: PathBuf,
    state: DocumentState,
}

fn load_in_background(ctx: &egui::Context, path: &Path) -> Receiver<Loaded> {
    let (sender, receiver) = channel();
    let ctx = ctx.clone();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let inspection = format::inspect_path(&path, &Limits::default());
        let image = inspection.image.as_ref().and_then(|image| decode_image(&image.bytes));
        let _ = sender.send(Loaded { inspection, image });
        ctx.request_repaint();
    });
    receiver
}

fn decode_image(bytes: &[u8]) -> Option<egui::ColorImage> {
    let rgba = image::load_from_memory(bytes).ok()?.to_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Some(egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()))
}

/// Things the UI asked for during a frame, applied at its end.
enum UiCommand {
    Open(PathBuf),
    Select(usize),
    Close(usize),
}

pub struct WorkbenchApp {
    documents: Vec<Document>,
    selected: usize,
    pending_open: Vec<PathBuf>,
    screenshot: Option<ScreenshotRequest>,
}

struct ScreenshotRequest {
    target: PathBuf,
    /// Frames drawn since everything loaded; the shot is taken once layout has settled.
    settled_frames: u32,
    requested: bool,
}

impl WorkbenchApp {
    pub fn new(files: Vec<PathBuf>, screenshot: Option<PathBuf>) -> WorkbenchApp {
        WorkbenchApp {
            documents: Vec::new(),
            selected: 0,
            pending_open: files,
            screenshot: screenshot.map(|target| ScreenshotRequest { target, settled_frames: 0, requested: false }),
        }
    }

    fn apply(&mut self, ctx: &egui::Context, command: UiCommand) {
        match command {
            UiCommand::Open(path) => {
                let state = DocumentState::Loading(load_in_background(ctx, &path));
                self.documents.push(Document { path, state });
                self.selected = self.documents.len() - 1;
            }
            UiCommand::Select(index) => self.selected = index,
            UiCommand::Close(index) => {
                if index < self.documents.len() {
                    self.documents.remove(index);
                    self.selected = self.selected.min(self.documents.len().saturating_sub(1));
                }
            }
        }
    }

    fn poll_workers(&mut self, ctx: &egui::Context) {
        for document in &mut self.documents {
            if let DocumentState::Loading(receiver) = &document.state
                && let Ok(loaded) = receiver.try_recv()
            {
                let texture = loaded.image.clone().map(|image| {
                    ctx.load_texture(document.path.display().to_string(), image, egui::TextureOptions::LINEAR)
                });
                document.state = DocumentState::Ready { loaded: Box::new(loaded), texture };
            }
        }
    }

    fn all_loaded(&self) -> bool {
        self.documents.iter().all(|d| matches!(d.state, DocumentState::Ready { .. }))
    }

    /// For `--screenshot`: once every file has loaded and a few frames have settled the layout,
    /// capture the window, save it and close.
    fn handle_screenshot(&mut self, ctx: &egui::Context) {
        let all_loaded = self.all_loaded();
        let Some(request) = &mut self.screenshot else { return };
        if request.requested {
            return;
        }
        if all_loaded {
            request.settled_frames += 1;
        }
        if request.settled_frames >= 5 {
            request.requested = true;
            let target = request.target.clone();
            let closer = ctx.clone();
            ctx.request_screenshot(move |image| {
                let size = [image.size[0] as u32, image.size[1] as u32];
                let pixels: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
                let saved = image::RgbaImage::from_raw(size[0], size[1], pixels)
                    .ok_or_else(|| "screenshot has the wrong size".to_string())
                    .and_then(|img| img.save(&target).map_err(|e| e.to_string()));
                match saved {
                    Ok(()) => eprintln!("screenshot saved to {}", target.display()),
                    Err(error) => eprintln!("raiiaf: could not save the screenshot: {error}"),
                }
                closer.send_viewport_cmd(egui::ViewportCommand::Close);
                closer.request_repaint();
            });
        }
        ctx.request_repaint();
    }
}

fn verdict_badge(ui: &mut egui::Ui, verdict: Verdict) {
    let (fill, text) = match verdict {
        Verdict::Valid => (egui::Color32::from_rgb(30, 130, 60), "VALID"),
        Verdict::Invalid => (egui::Color32::from_rgb(190, 120, 20), "INVALID"),
        Verdict::Unreadable => (egui::Color32::from_rgb(180, 40, 40), "UNREADABLE"),
    };
    egui::Frame::new().fill(fill).corner_radius(4.0).inner_margin(egui::Margin::symmetric(6, 2)).show(ui, |ui| {
        ui.label(egui::RichText::new(text).color(egui::Color32::WHITE).strong());
    });
}

fn tabs_ui(ui: &mut egui::Ui, documents: &[Document], selected: usize, commands: &mut Vec<UiCommand>) {
    ui.horizontal_wrapped(|ui| {
        for (index, document) in documents.iter().enumerate() {
            let name = document
                .path
                .file_name()
                .map_or_else(|| document.path.display().to_string(), |n| n.to_string_lossy().into_owned());
            if ui.selectable_label(index == selected, name).clicked() {
                commands.push(UiCommand::Select(index));
            }
            if ui.small_button("x").on_hover_text("Close").clicked() {
                commands.push(UiCommand::Close(index));
            }
            ui.separator();
        }
    });
}

fn document_ui(ui: &mut egui::Ui, loaded: &Loaded, texture: Option<&egui::TextureHandle>) {
    let inspection = &loaded.inspection;
    ui.horizontal(|ui| {
        verdict_badge(ui, inspection.verdict());
        let passed = inspection.report.checks.iter().filter(|c| c.ok).count();
        ui.label(format!("{passed} of {} checks passed", inspection.report.checks.len()));
        if let Some(error) = &inspection.fatal {
            ui.colored_label(egui::Color32::from_rgb(220, 80, 80), error.to_string());
        }
    });
    ui.separator();
    ui.columns(2, |columns| {
        if let Some(texture) = texture {
            let available = columns[0].available_width();
            let size = texture.size_vec2();
            // Fit the column width, and at most 600 points tall, scaling small images up too.
            let scale = (available / size.x).min(600.0 / size.y).max(0.05);
            columns[0].image((texture.id(), size * scale));
        } else {
            columns[0].label("No image in this file.");
        }
        for decoded in &inspection.latents {
            let latent = &decoded.latent;
            let stats = latent.stats();
            columns[0].label(format!(
                "{}: {:?} {} ({}), mean {:.3}, std {:.3}",
                latent.key,
                latent.shape,
                latent.dtype().numpy_name(),
                decoded.codec.name(),
                stats.mean.unwrap_or(f64::NAN),
                stats.std.unwrap_or(f64::NAN)
            ));
        }
        egui::ScrollArea::vertical().id_salt("checks").max_height(320.0).show(&mut columns[1], |ui| {
            egui::Grid::new("checks_grid").striped(true).show(ui, |ui| {
                for check in &inspection.report.checks {
                    let mark = if check.ok { "ok" } else { "FAIL" };
                    ui.label(mark);
                    ui.monospace(check.code);
                    ui.label(check.location.to_string());
                    ui.label(&check.message);
                    ui.end_row();
                }
            });
        });
        if let Some(manifest) = &inspection.manifest {
            columns[1].separator();
            egui::ScrollArea::vertical().id_salt("manifest").show(&mut columns[1], |ui| {
                ui.monospace(serde_json::to_string_pretty(manifest).unwrap_or_default());
            });
        }
    });
}

impl eframe::App for WorkbenchApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).filter(|p| !p.as_os_str().is_empty()).collect()
        });
        self.pending_open.extend(dropped);
        self.poll_workers(ctx);
        self.handle_screenshot(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut commands: Vec<UiCommand> = self.pending_open.drain(..).map(UiCommand::Open).collect();
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("RAIIAF Workbench");
                if let Some(Document { state: DocumentState::Ready { loaded, .. }, .. }) =
                    self.documents.get(self.selected)
                {
                    verdict_badge(ui, loaded.inspection.verdict());
                }
            });
            tabs_ui(ui, &self.documents, self.selected, &mut commands);
        });
        egui::CentralPanel::default().show(ui, |ui| match self.documents.get(self.selected) {
            None => {
                ui.centered_and_justified(|ui| {
                    ui.label("Drop .raiiaf or .gen5 files here, or pass them on the command line.")
                });
            }
            Some(Document { state: DocumentState::Loading(_), path }) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Reading {}", path.display()));
                });
            }
            Some(Document { state: DocumentState::Ready { loaded, texture }, .. }) => {
                document_ui(ui, loaded, texture.as_ref())
            }
        });
        let ctx = ui.ctx().clone();
        for command in commands {
            self.apply(&ctx, command);
        }
    }
}

/// Opens the window and blocks until it closes.
pub fn run(files: Vec<PathBuf>, screenshot: Option<PathBuf>) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1200.0, 800.0]).with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "RAIIAF Workbench",
        options,
        Box::new(move |_cc| Ok(Box::new(WorkbenchApp::new(files, screenshot)))),
    )
    .map_err(|e| e.to_string())
}
