//! Packing many images at once. The pairs the files make by name, the files in no pair and the
//! generator each image's parameters come from are shown before anything is written; packing
//! runs off the frame with progress, can be stopped, never replaces a file unless asked to, and
//! ends with a report that can be saved.

use std::path::{Path, PathBuf};

use crate::format::{Environment, LatentCodec, Limits};
use crate::pack::batch::{self, BatchOptions, Counts, Outcome, Plan, Status};
use crate::pack::request::MetadataChoices;
use crate::platform::FileInput;

use super::worker::Background;

/// What the view asks the app to do.
pub enum BatchCommand {
    Open(FileInput),
    /// Save the report (the app asks where); the bytes are made for the name chosen.
    SaveReport(Vec<u8>),
    Close,
}

pub struct BatchView {
    files: Vec<PathBuf>,
    pub output_dir: PathBuf,
    pub plan: Plan,
    /// Whether each pair's container exists already: looked up when the plan is made and after
    /// each run, not by every frame.
    existing: Vec<bool>,
    pub codec: LatentCodec,
    pub float16: bool,
    pub overwrite: bool,
    pub limits: Limits,
    /// The generator each pair's image names (or why none), read on a worker.
    found: Option<Background<Vec<String>>>,
    pub generators: Vec<String>,
    /// The packing run, whose outcomes come in the plan's order. Closing the view (or opening
    /// another batch) drops it, which stops the run after the pair being packed.
    packing: Option<Background<Vec<Outcome>>>,
    /// The finished (or stopped) run's outcomes and whether it was stopped.
    pub outcomes: Option<(Vec<Outcome>, bool)>,
    dialog: Option<Background<Vec<PathBuf>>>,
    /// Why the last run ended without outcomes (its worker failed).
    failure: Option<String>,
}

/// `packed` in the folder of the first paired image (else of the first file): beside the
/// images, apart from them.
fn default_output(files: &[PathBuf]) -> PathBuf {
    let first_image = batch::plan(files, Path::new(".")).pairs.into_iter().next().map(|pair| pair.image);
    first_image
        .as_deref()
        .or(files.first().map(PathBuf::as_path))
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
        .join("packed")
}

impl BatchView {
    pub fn new(ctx: &egui::Context, files: Vec<PathBuf>, limits: Limits) -> BatchView {
        let output_dir = default_output(&files);
        let mut view = BatchView {
            plan: batch::plan(&files, &output_dir),
            existing: Vec::new(),
            files,
            output_dir,
            codec: LatentCodec::Auto,
            float16: false,
            overwrite: false,
            limits,
            found: None,
            generators: Vec::new(),
            packing: None,
            outcomes: None,
            dialog: None,
            failure: None,
        };
        view.read_generators(ctx);
        view.look_for_outputs();
        view
    }

    fn look_for_outputs(&mut self) {
        self.existing = self.plan.pairs.iter().map(|pair| pair.output.exists()).collect();
    }

    pub fn title(&self) -> String {
        format!("{} images", self.plan.pairs.len())
    }

    fn read_generators(&mut self, ctx: &egui::Context) {
        let images: Vec<PathBuf> = self.plan.pairs.iter().map(|pair| pair.image.clone()).collect();
        self.generators.clear();
        let limits = self.limits;
        self.found = Some(Background::spawn(ctx, move |progress| {
            let mut names = Vec::with_capacity(images.len());
            for (index, image) in images.iter().enumerate() {
                if progress.is_cancelled() {
                    break;
                }
                progress.set_stage(format!("reading parameters: {} of {}", index + 1, images.len()));
                names.push(
                    match crate::platform::read_within(image, limits.max_image_bytes)
                        .map_err(|e| e.to_string())
                        .and_then(|bytes| crate::params::import_from_image(&bytes).map_err(|e| e.to_string()))
                    {
                        Ok(Some(found)) => found.source.name().to_string(),
                        Ok(None) => "none found".to_string(),
                        Err(error) => format!("unreadable: {error}"),
                    },
                );
            }
            names
        }));
    }

    fn set_output(&mut self, ctx: &egui::Context, dir: PathBuf) {
        self.output_dir = dir;
        self.plan = batch::plan(&self.files, &self.output_dir);
        self.look_for_outputs();
        self.outcomes = None;
        self.read_generators(ctx);
    }

    pub fn is_busy(&self) -> bool {
        self.found.is_some() || self.packing.is_some()
    }

    /// Takes what the workers have finished (the app calls it every frame, shown or not).
    pub fn poll(&mut self) {
        if let Some(found) = &mut self.found {
            if let Some(names) = found.poll() {
                self.generators = names;
            }
            if found.is_finished() {
                self.found = None;
            }
        }
        if let Some(packing) = &mut self.packing {
            if let Some(outcomes) = packing.poll() {
                let stopped = packing.was_cancelled();
                self.outcomes = Some((outcomes, stopped));
            }
            if packing.is_finished() {
                self.failure = packing.failure().map(str::to_string);
                self.packing = None;
                self.look_for_outputs();
            }
        }
    }

    fn poll_dialog(&mut self, ctx: &egui::Context) {
        if let Some(dialog) = &mut self.dialog {
            let chosen = dialog.poll();
            if dialog.is_finished() {
                self.dialog = None;
            }
            // A folder chosen while a run goes on would re-plan under it: the answer then waits.
            if let Some(dir) = chosen.and_then(|dirs| dirs.into_iter().next()) {
                if self.packing.is_some() {
                    self.failure = Some("the folder was not changed while packing; choose it again".into());
                } else {
                    self.set_output(ctx, dir);
                }
            }
        }
    }

    /// Packs every pair with this machine's environment and hardware info, off the frame.
    fn start(
        &mut self,
        ctx: &egui::Context,
        environment: Environment,
        hardware: serde_json::Map<String, serde_json::Value>,
    ) {
        let options = BatchOptions {
            // The window has no fields for a model, version or prompt: each image's own parameters
            // give them, with stand-ins where none were recorded.
            metadata: MetadataChoices { import_params: true, ..MetadataChoices::default() },
            codec: self.codec,
            float16: self.float16,
            overwrite: self.overwrite,
            limits: self.limits,
        };
        let pairs = self.plan.pairs.clone();
        let output_dir = self.output_dir.clone();
        self.outcomes = None;
        let task = Background::spawn(ctx, move |progress| {
            let mut outcomes = Vec::with_capacity(pairs.len());
            if let Err(error) = std::fs::create_dir_all(&output_dir) {
                let reason = format!("cannot create {}: {error}", output_dir.display());
                return pairs
                    .iter()
                    .map(|_| Outcome { status: Status::Failed(reason.clone()), lines: Vec::new() })
                    .collect();
            }
            for (index, pair) in pairs.iter().enumerate() {
                if progress.is_cancelled() {
                    break;
                }
                let name = pair.image.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                progress.set_stage(format!("packing {} of {}: {name}", index + 1, pairs.len()));
                outcomes.push(batch::pack_pair(pair, &options, &environment, &hardware));
            }
            outcomes
        });
        self.packing = Some(task);
    }

    fn plan_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<BatchCommand>) {
        let outcomes = self.outcomes.as_ref().map(|(outcomes, _)| outcomes.as_slice()).unwrap_or_default();
        egui::Grid::new("batch-pairs").num_columns(5).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
            for header in ["Image", "Latents (key)", "Parameters", "Container", "Result"] {
                ui.strong(header);
            }
            ui.end_row();
            for (index, pair) in self.plan.pairs.iter().enumerate() {
                let name = |path: &Path| path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if ui.link(name(&pair.image)).on_hover_text("Open this image with its parameters").clicked() {
                    commands.push(BatchCommand::Open(FileInput::Path(pair.image.clone())));
                }
                let latents: Vec<String> = pair
                    .latents
                    .iter()
                    .map(|l| format!("{} ({})", name(&l.path), l.key.as_deref().unwrap_or(batch::DEFAULT_LATENT_KEY)))
                    .collect();
                ui.label(latents.join("\n"));
                ui.label(self.generators.get(index).map_or("…", String::as_str));
                let exists = self.existing.get(index).copied().unwrap_or(false);
                match outcomes.get(index) {
                    Some(Outcome { status: Status::Packed(_), .. }) => {
                        if ui.link(name(&pair.output)).clicked() {
                            commands.push(BatchCommand::Open(FileInput::Path(pair.output.clone())));
                        }
                    }
                    _ if exists && !self.overwrite => {
                        ui.label(format!("{} (exists: kept)", name(&pair.output)));
                    }
                    _ if exists => {
                        ui.label(format!("{} (exists: replaced)", name(&pair.output)));
                    }
                    _ => {
                        ui.label(name(&pair.output));
                    }
                }
                match outcomes.get(index) {
                    Some(outcome) => {
                        let text = format!("{}: {}", outcome.status.label(), outcome.status.detail());
                        let label = match outcome.status {
                            Status::Packed(_) => ui.label(text),
                            _ => ui.colored_label(ui.visuals().warn_fg_color, text),
                        };
                        if !outcome.lines.is_empty() {
                            label.on_hover_text(outcome.lines.join("\n"));
                        }
                    }
                    None => {
                        ui.weak("not packed yet");
                    }
                }
                ui.end_row();
            }
        });
        if !self.plan.unmatched.is_empty() {
            ui.add_space(8.0);
            egui::CollapsingHeader::new(match self.plan.unmatched.len() {
                1 => "1 file in no pair".to_string(),
                count => format!("{count} files in no pair"),
            })
            .default_open(true)
            .show(ui, |ui| {
                for (path, why) in &self.plan.unmatched {
                    ui.label(format!("{}: {why}", path.display()));
                }
            });
        }
    }

    /// The view. `machine` is this machine's probe, whose environment every container records.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        machine: Option<&crate::probe::MachineProbe>,
        commands: &mut Vec<BatchCommand>,
    ) {
        let ctx = ui.ctx().clone();
        self.poll_dialog(&ctx);
        ui.horizontal(|ui| {
            ui.heading(format!("Pack {} images with their latents", self.plan.pairs.len()));
            if ui.button("Close").clicked() {
                commands.push(BatchCommand::Close);
            }
        });
        ui.label(
            "Images pair with latent files by name: 0001.png with 0001.npy (key \"latent\"), 0001_initial_noise.npy \
             (key \"initial_noise\") or 0001.npz (one latent per array). Nothing is written until you pack.",
        );
        ui.separator();
        let running = self.packing.is_some();
        ui.add_enabled_ui(!running, |ui| {
            ui.horizontal(|ui| {
                ui.label(format!("Containers go to {}", self.output_dir.display()));
                if crate::platform::window::can_pick_folders() && ui.button("Choose…").clicked() {
                    Background::start_in(&mut self.dialog, &ctx, |done| {
                        crate::platform::window::pick_folders("Folder for the containers", |dirs| done.finish(dirs))
                    });
                }
            });
            ui.horizontal(|ui| {
                ui.checkbox(&mut self.overwrite, "Replace containers that exist");
                ui.checkbox(&mut self.float16, "Store latents as float16");
                egui::ComboBox::from_label("codec").selected_text(self.codec.to_string()).show_ui(ui, |ui| {
                    for codec in [LatentCodec::Auto, LatentCodec::Raw, LatentCodec::Zfp] {
                        let text = codec.to_string();
                        ui.selectable_value(&mut self.codec, codec, text);
                    }
                });
            });
        });
        ui.horizontal(|ui| match (&self.packing, machine) {
            (Some(packing), _) => {
                ui.spinner();
                ui.label(packing.stage());
                if ui.button("Stop").on_hover_text("Stop after the pair being packed").clicked() {
                    packing.cancel();
                }
            }
            (None, None) => {
                ui.spinner();
                ui.label("Probing this machine's environment, which every container records…");
            }
            (None, Some(probe)) => {
                let label = format!("Pack {} pairs", self.plan.pairs.len());
                let ready = !self.plan.pairs.is_empty() && self.dialog.is_none();
                if ui.add_enabled(ready, egui::Button::new(label)).clicked() {
                    self.start(&ctx, probe.environment(), probe.hardware_info.clone());
                }
                if let Some((outcomes, stopped)) = &self.outcomes {
                    let counts = Counts::of(outcomes);
                    let stopped_after =
                        if *stopped { format!(", stopped after {}", outcomes.len()) } else { String::new() };
                    ui.label(format!(
                        "{} packed, {} kept, {} failed{stopped_after}",
                        counts.packed, counts.exists, counts.failed
                    ));
                    if ui.button("Save report…").clicked() {
                        let report = batch::report(&self.plan, outcomes, *stopped);
                        commands.push(BatchCommand::SaveReport(serde_json::to_vec_pretty(&report).unwrap_or_default()));
                    }
                }
            }
        });
        if let Some(why) = &self.failure {
            ui.colored_label(super::style::BAD, format!("Packing stopped: {why}"));
        }
        ui.separator();
        egui::ScrollArea::vertical().id_salt("batch-plan").show(ui, |ui| self.plan_ui(ui, commands));
    }
}
