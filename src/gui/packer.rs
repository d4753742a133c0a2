//! The packer: a wizard that turns an image and latent files into a `.raiiaf`, importing the
//! generation parameters the image carries. Reading inputs, computing sizes and writing run on
//! workers; the form itself is plain data, checked live against the manifest schema.

use std::path::{Path, PathBuf};

use crate::platform::FileInput;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::format::writer::{self, LatentCodec, PackLatent, PackRequest};
use crate::format::{Environment, Latent, Limits, Stats, StoredCodec};
use crate::pack::batch::{IMAGE_EXTENSIONS, extension_in};
use crate::pack::form::{ExtraSetting, MetadataForm, model_info_of_value};
use crate::params::ImportedParams;
use crate::tensor::{self, SliceSelection, colormap::Colormap, range::RangeMode};

use super::document::LoadedFile;
use super::image_view::{ImageViewState, PreparedImage, thumbnail_ui};
use super::worker::{Background, Completion, Progress};

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WizardStep {
    #[default]
    Image,
    Latents,
    Metadata,
    Environment,
    Options,
    Review,
}

impl WizardStep {
    pub const ALL: [WizardStep; 6] = [
        WizardStep::Image,
        WizardStep::Latents,
        WizardStep::Metadata,
        WizardStep::Environment,
        WizardStep::Options,
        WizardStep::Review,
    ];
    pub fn title(self) -> &'static str {
        match self {
            WizardStep::Image => "Image",
            WizardStep::Latents => "Latents",
            WizardStep::Metadata => "Metadata",
            WizardStep::Environment => "Environment",
            WizardStep::Options => "Options",
            WizardStep::Review => "Review & save",
        }
    }
    fn offset(self, by: isize) -> WizardStep {
        let index = WizardStep::ALL.iter().position(|s| *s == self).unwrap_or(0) as isize + by;
        let last = WizardStep::ALL.len().saturating_sub(1);
        WizardStep::ALL.get(usize::try_from(index).unwrap_or(0).min(last)).copied().unwrap_or(self)
    }
}

/// Whether a dropped file is something the packer takes (an image or a latent file), by its name.
pub fn is_packer_input(file: &FileInput) -> bool {
    let name = file.name();
    let path = Path::new(&name);
    crate::npy::LatentFileKind::from_extension(path).is_some() || extension_in(path, &IMAGE_EXTENSIONS)
}

/// The chosen image, read and previewed on a worker.
pub struct ImageInput {
    /// The file it came from (for a re-pack, the container holding it).
    pub source: FileInput,
    pub bytes: Arc<Vec<u8>>,
    pub description: String,
    pub preview: Result<PreparedImage, String>,
    view: ImageViewState,
    /// Parameters found in the image (`Ok(None)`: none), offered to the user.
    pub found_params: Option<Result<Option<ImportedParams>, String>>,
    /// Whether the user took them into the metadata.
    pub params_used: bool,
    /// What the import filled with stand-ins, once used.
    pub import_notes: Vec<String>,
    pub note: Option<String>,
}

/// One latent to pack.
pub struct LatentInput {
    pub key: String,
    pub source: String,
    pub latent: Arc<Latent>,
    pub stats: Stats,
    pub notes: Vec<String>,
    pub codec: CodecChoice,
    pub tolerance: f64,
    preview: Option<(Vec<u8>, [usize; 2])>,
    texture: Option<egui::TextureHandle>,
}

/// How one latent is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodecChoice {
    #[default]
    Auto,
    Raw,
    Zfp,
    ZfpLossy,
}

impl CodecChoice {
    pub const ALL: [CodecChoice; 4] = [CodecChoice::Auto, CodecChoice::Raw, CodecChoice::Zfp, CodecChoice::ZfpLossy];
    pub fn name(self) -> &'static str {
        match self {
            CodecChoice::Auto => "auto (smaller lossless)",
            CodecChoice::Raw => "raw",
            CodecChoice::Zfp => "zfp lossless",
            CodecChoice::ZfpLossy => "zfp lossy",
        }
    }
    fn codec(self, tolerance: f64) -> LatentCodec {
        match self {
            CodecChoice::Auto => LatentCodec::Auto,
            CodecChoice::Raw => LatentCodec::Raw,
            CodecChoice::Zfp => LatentCodec::Zfp,
            CodecChoice::ZfpLossy => LatentCodec::ZfpLossy(tolerance),
        }
    }
}

/// What a worker read from the files given to the packer.
pub enum LoadedInput {
    Image(Box<ImageInput>),
    Latent(Box<LatentInput>),
    Problem(String),
}

/// Where the environment snapshot comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvironmentChoice {
    ThisMachine,
    /// Taken from an existing file (re-packing for someone else's run).
    FromFile {
        source: FileInput,
        environment: Environment,
    },
}

/// Sizes per latent, for raw, zfp lossless and zfp lossy (`None`: that codec cannot store it).
type SizeTable = Vec<[Result<u64, String>; 3]>;

/// What a wizard file dialog returned.
enum Picked {
    Inputs(Vec<FileInput>),
    EnvironmentFile(Option<(FileInput, Result<Environment, String>)>),
}

/// What the app should do after a frame of the wizard.
pub enum WizardOutcome {
    /// Where the file went: a path on a desktop, the downloaded bytes in the browser.
    Saved(FileInput),
    Close,
}

pub struct Wizard {
    pub step: WizardStep,
    /// What reading inputs may allocate (the window's Limits settings).
    pub limits: Limits,
    pub image: Option<ImageInput>,
    pub latents: Vec<LatentInput>,
    pub metadata: MetadataForm,
    pub environment: EnvironmentChoice,
    pub float16: bool,
    /// Problems reading the files given, shown on the step they concern.
    pub input_problems: Vec<String>,
    /// The file this re-packs, never overwritten without the save dialog's confirmation.
    pub original: Option<FileInput>,
    pub status: Option<String>,
    loading: Vec<Background<Vec<LoadedInput>>>,
    dialog: Option<Background<Picked>>,
    sizes: Option<(SizeKey, Background<SizeTable>)>,
    size_table: Option<(SizeKey, SizeTable)>,
    /// Packing, then saving (`Ok(None)`: the save was cancelled).
    saving: Option<Background<Result<Option<FileInput>, String>>>,
    /// Whether the hardware field was given this machine's info (once, when the probe is done).
    hardware_filled: bool,
    outcome: Option<WizardOutcome>,
    /// Apply the next image's parameters as soon as it has been read ("Pack…" on an image).
    pub import_when_loaded: bool,
}

/// What the size table depends on.
type SizeKey = (bool, Vec<(String, u64)>);

impl Wizard {
    pub fn new(hardware_info: Option<&Map<String, Value>>) -> Wizard {
        let metadata = MetadataForm {
            hardware: hardware_info.and_then(|h| serde_json::to_string_pretty(h).ok()).unwrap_or_default(),
            ..MetadataForm::default()
        };
        Wizard {
            step: WizardStep::Image,
            limits: Limits::default(),
            image: None,
            latents: Vec::new(),
            metadata,
            environment: EnvironmentChoice::ThisMachine,
            float16: false,
            input_problems: Vec::new(),
            original: None,
            status: None,
            loading: Vec::new(),
            dialog: None,
            sizes: None,
            size_table: None,
            saving: None,
            hardware_filled: false,
            outcome: None,
            import_when_loaded: false,
        }
    }

    /// A wizard prefilled from an open file, to fix its metadata or change codecs.
    pub fn repack(
        ctx: &egui::Context,
        source: &FileInput,
        file: &LoadedFile,
        max_texture_side: usize,
        limits: Limits,
    ) -> Wizard {
        let inspection = &file.inspection;
        let info = inspection.manifest_body().and_then(|body| body.get("model_info")).map(model_info_of_value);
        let mut wizard = Wizard::new(None);
        wizard.limits = limits;
        wizard.metadata = MetadataForm::from_model_info(&info.unwrap_or_default());
        if let Some(image) = &inspection.image {
            // Decoded on a worker, like any other input; the stored parameters are already the manifest.
            let (source, bytes) = (source.clone(), Arc::new(image.bytes.clone()));
            wizard.loading.push(Background::spawn(ctx, move |_| {
                vec![LoadedInput::Image(Box::new(image_input(source, bytes, max_texture_side, &limits, false)))]
            }));
        }
        // Statistics come from the file's load; the previews are made on a worker.
        let from = format!("from {}", source.display_name());
        let latents: Vec<(Latent, Stats, CodecChoice)> = inspection
            .latents
            .iter()
            .zip(&file.latent_stats)
            .map(|(decoded, stats)| {
                let codec = match decoded.codec {
                    StoredCodec::Raw | StoredCodec::Zstd => CodecChoice::Raw,
                    StoredCodec::Zfp => CodecChoice::Zfp,
                };
                (decoded.latent.clone(), *stats, codec)
            })
            .collect();
        wizard.loading.push(Background::spawn(ctx, move |_| {
            latents
                .into_iter()
                .map(|(latent, stats, codec)| {
                    let mut input = latent_input(latent, from.clone(), Vec::new(), Some(stats));
                    input.codec = codec;
                    LoadedInput::Latent(Box::new(input))
                })
                .collect()
        }));
        if let Some(environment) = &inspection.environment {
            wizard.environment =
                EnvironmentChoice::FromFile { source: source.clone(), environment: environment.clone() };
        }
        wizard.original = Some(source.clone());
        wizard
    }

    /// Reads files given to the packer (dropped, picked) on a worker; they are added when read.
    pub fn add_files(&mut self, ctx: &egui::Context, files: Vec<FileInput>, max_texture_side: usize) {
        let has_image = self.image.is_some();
        let limits = self.limits;
        self.loading.push(Background::spawn(ctx, move |progress| {
            load_inputs(files, has_image, max_texture_side, &limits, progress)
        }));
    }

    pub fn is_busy(&self) -> bool {
        !self.loading.is_empty() || self.sizes.is_some() || self.saving.is_some()
    }

    /// Packs on a worker, then hands the bytes to `deliver`, which finishes the save.
    fn pack_then(
        &mut self,
        ctx: &egui::Context,
        machine_environment: Option<Environment>,
        deliver: impl FnOnce(Vec<u8>, Completion<Result<Option<FileInput>, String>>) + Send + 'static,
    ) {
        let request = match self.request(machine_environment) {
            Ok(request) => request,
            Err(problem) => {
                self.status = Some(problem);
                return;
            }
        };
        self.status = None;
        let (task, done) = Background::pending(ctx);
        self.saving = Some(task);
        crate::platform::window::spawn(move || {
            done.progress.set_stage("encoding the latents");
            match writer::pack(&request) {
                Err(error) => done.finish(Err(error.to_string())),
                Ok(_) if done.progress.is_cancelled() => done.finish(Err("cancelled".into())),
                Ok(packed) => {
                    done.progress.set_stage(format!("saving {} bytes", packed.bytes.len()));
                    deliver(packed.bytes, done);
                }
            }
        });
    }

    /// Packs and writes to `path`, replacing a file there.
    pub fn save_to(&mut self, ctx: &egui::Context, path: PathBuf, machine_environment: Option<Environment>) {
        self.pack_then(ctx, machine_environment, move |bytes, done| {
            done.finish(
                crate::format::write_atomic(&path, &bytes, true)
                    .map(|()| Some(FileInput::Path(path)))
                    .map_err(|e| e.to_string()),
            )
        });
    }

    /// Packs, then saves where the user says (the platform's save dialog, or a download).
    fn save_as(&mut self, ctx: &egui::Context, machine_environment: Option<Environment>) {
        let name = self.suggested_name();
        self.pack_then(ctx, machine_environment, move |bytes, done| {
            crate::platform::window::save_file(
                "Save the .raiiaf file",
                &name,
                &[("RAIIAF files", &["raiiaf"])],
                move |_| Ok(bytes),
                move |saved| done.finish(saved),
            );
        });
    }

    fn request(&self, machine_environment: Option<Environment>) -> Result<PackRequest, String> {
        let problems = self.problems_before(WizardStep::Review);
        if let Some((step, problem)) = problems.first() {
            return Err(format!("{}: {problem}", step.title()));
        }
        let (model_info, _) = self.metadata.model_info();
        let environment = match &self.environment {
            EnvironmentChoice::ThisMachine => machine_environment.ok_or("this machine has not been probed yet")?,
            EnvironmentChoice::FromFile { environment, .. } => environment.clone(),
        };
        Ok(PackRequest {
            latents: self
                .latents
                .iter()
                .map(|input| {
                    let latent = (*input.latent).clone().renamed(input.key.trim());
                    PackLatent { latent, codec: input.codec.codec(input.tolerance), float16: self.float16 }
                })
                .collect(),
            image: self.image.as_ref().map(|image| image.bytes.to_vec()),
            image_extra: Map::new(),
            model_info,
            environment,
        })
    }

    /// Problems of one step, each blocking Next.
    pub fn step_problems(&self, step: WizardStep) -> Vec<String> {
        match step {
            WizardStep::Image => match &self.image {
                None => vec!["choose or drop an image".into()],
                Some(image) => image.preview.as_ref().err().map(|e| vec![e.clone()]).unwrap_or_default(),
            },
            WizardStep::Latents => {
                let mut problems = Vec::new();
                if self.latents.is_empty() {
                    problems.push("add at least one latent (.npy, .npz or .latent)".into());
                }
                let mut seen = std::collections::HashSet::new();
                for input in &self.latents {
                    let key = input.key.trim();
                    if key.is_empty() {
                        problems.push(format!("a latent from {} has no key", input.source));
                    } else if !seen.insert(key) {
                        problems.push(format!("key {key:?} is used twice"));
                    }
                    let bad = input.stats.nan_count + input.stats.inf_count;
                    if bad > 0 {
                        problems.push(format!(
                            "{key:?} holds {} NaN and {} infinite values; the format (and the reference) refuse them",
                            input.stats.nan_count, input.stats.inf_count
                        ));
                    }
                }
                problems
            }
            WizardStep::Metadata => self.metadata.problems().into_iter().map(|(f, m)| format!("{f}: {m}")).collect(),
            WizardStep::Environment => Vec::new(),
            WizardStep::Options => self
                .latents
                .iter()
                .filter(|l| l.codec == CodecChoice::ZfpLossy && !(l.tolerance > 0.0 && l.tolerance.is_finite()))
                .map(|l| format!("{:?}: the lossy tolerance must be above 0", l.key))
                .collect(),
            WizardStep::Review => Vec::new(),
        }
    }

    fn problems_before(&self, step: WizardStep) -> Vec<(WizardStep, String)> {
        WizardStep::ALL
            .iter()
            .take_while(|s| **s != step)
            .flat_map(|s| self.step_problems(*s).into_iter().map(move |p| (*s, p)))
            .collect()
    }

    fn poll(&mut self, ctx: &egui::Context) {
        let mut loaded = Vec::new();
        for task in &mut self.loading {
            if let Some(inputs) = task.poll() {
                loaded.extend(inputs);
            }
        }
        self.loading.retain(|task| !task.is_finished());
        for input in loaded {
            match input {
                LoadedInput::Image(mut image) => {
                    // "Pack…" from an image: its parameters fill the form at once.
                    if std::mem::take(&mut self.import_when_loaded)
                        && let Some(Ok(Some(params))) = &image.found_params
                    {
                        image.import_notes = self.metadata.import(params);
                        image.params_used = true;
                    }
                    self.image = Some(*image);
                }
                LoadedInput::Latent(mut latent) => {
                    latent.key = unique_key(&latent.key, self.latents.iter().map(|l| l.key.as_str()));
                    self.latents.push(*latent);
                }
                LoadedInput::Problem(problem) => self.input_problems.push(problem),
            }
        }
        if let Some(dialog) = &mut self.dialog {
            match dialog.poll() {
                Some(Picked::Inputs(files)) => self.add_files(ctx, files, max_side(ctx)),
                Some(Picked::EnvironmentFile(Some((source, Ok(environment))))) => {
                    self.environment = EnvironmentChoice::FromFile { source, environment }
                }
                Some(Picked::EnvironmentFile(Some((source, Err(problem))))) => {
                    self.status = Some(format!("{}: {problem}", source.display_name()))
                }
                Some(Picked::EnvironmentFile(None)) | None => {}
            }
            if self.dialog.as_ref().is_some_and(Background::is_finished) {
                self.dialog = None;
            }
        }
        if let Some((key, task)) = &mut self.sizes
            && let Some(table) = task.poll()
        {
            self.size_table = Some((key.clone(), table));
            self.sizes = None;
        }
        if let Some(task) = &mut self.saving {
            match task.poll() {
                Some(Ok(Some(saved))) => self.outcome = Some(WizardOutcome::Saved(saved)),
                Some(Ok(None)) => self.status = Some("Not saved: the save was cancelled.".into()),
                Some(Err(problem)) => self.status = Some(format!("Not saved: {problem}")),
                None => {}
            }
            if task.is_finished() {
                self.saving = None;
            }
        }
    }

    fn size_key(&self) -> SizeKey {
        (self.float16, self.latents.iter().map(|l| (l.key.clone(), l.tolerance.to_bits())).collect())
    }

    /// Starts computing the size table when what it depends on changed.
    fn refresh_sizes(&mut self, ctx: &egui::Context) {
        let key = self.size_key();
        let current =
            self.size_table.as_ref().map(|(k, _)| k) == Some(&key) || self.sizes.as_ref().map(|(k, _)| k) == Some(&key);
        if current || self.latents.is_empty() {
            return;
        }
        let float16 = self.float16;
        let inputs: Vec<(Arc<Latent>, f64)> = self.latents.iter().map(|l| (l.latent.clone(), l.tolerance)).collect();
        self.sizes = Some((
            key,
            Background::spawn(ctx, move |progress| {
                let mut table = Vec::new();
                for (index, (latent, tolerance)) in inputs.iter().enumerate() {
                    progress.set_stage(format!("latent {} of {}", index + 1, inputs.len()));
                    if progress.is_cancelled() {
                        break;
                    }
                    let size = |codec| {
                        let item = PackLatent { latent: (**latent).clone(), codec, float16 };
                        writer::encoded_latent(&item).map(|p| p.stored_bytes).map_err(|e| e.to_string())
                    };
                    table.push([
                        size(LatentCodec::Raw),
                        size(LatentCodec::Zfp),
                        size(LatentCodec::ZfpLossy(*tolerance)),
                    ]);
                }
                table
            }),
        ));
    }

    /// Draws the wizard; returns what the app should do afterwards.
    pub fn ui(&mut self, ui: &mut egui::Ui, machine: Option<&crate::probe::MachineProbe>) -> Option<WizardOutcome> {
        let ctx = ui.ctx().clone();
        self.poll(&ctx);
        if !self.hardware_filled
            && let Some(probe) = machine
        {
            if self.metadata.hardware.trim().is_empty() && self.original.is_none() {
                self.metadata.hardware = serde_json::to_string_pretty(&probe.hardware_info).unwrap_or_default();
            }
            self.hardware_filled = true;
        }
        ui.horizontal(|ui| {
            ui.heading(if self.original.is_some() { "Re-pack" } else { "Pack a new file" });
            ui.separator();
            for (index, step) in WizardStep::ALL.iter().enumerate() {
                let reachable = self.problems_before(*step).is_empty();
                let label = format!("{}. {}", index + 1, step.title());
                if ui.add_enabled(reachable, egui::Button::selectable(self.step == *step, label)).clicked() {
                    self.step = *step;
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Close").on_hover_text("Close the packer (nothing is written)").clicked() {
                    self.outcome = Some(WizardOutcome::Close);
                }
            });
        });
        if !self.loading.is_empty() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("reading the files…");
            });
        }
        ui.separator();
        let problems = self.step_problems(self.step);
        egui::Panel::bottom("wizard-buttons").show(ui, |ui| {
            for problem in &problems {
                ui.colored_label(ui.visuals().error_fg_color, problem);
            }
            if let Some(status) = &self.status {
                ui.label(status);
            }
            ui.horizontal(|ui| {
                if ui.add_enabled(self.step != WizardStep::Image, egui::Button::new("Back")).clicked() {
                    self.step = self.step.offset(-1);
                }
                if self.step != WizardStep::Review
                    && ui.add_enabled(problems.is_empty(), egui::Button::new("Next")).clicked()
                {
                    self.step = self.step.offset(1);
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| match self.step {
                WizardStep::Image => self.image_step_ui(ui),
                WizardStep::Latents => self.latents_step_ui(ui),
                WizardStep::Metadata => metadata_step_ui(ui, &mut self.metadata),
                WizardStep::Environment => self.environment_step_ui(ui, machine),
                WizardStep::Options => self.options_step_ui(ui),
                WizardStep::Review => self.review_step_ui(ui, machine),
            });
        });
        self.outcome.take()
    }

    /// Starts a file dialog (one at a time) whose choice arrives as a [`Picked`].
    fn pick(&mut self, ctx: &egui::Context, start: impl FnOnce(Completion<Picked>)) {
        Background::start_in(&mut self.dialog, ctx, start);
    }

    fn image_step_ui(&mut self, ui: &mut egui::Ui) {
        ui.label("The image the latents belong to. PNG is what the reference expects; JPEG and WebP are accepted.");
        if ui.button("Choose an image…").clicked() {
            self.pick(ui.ctx(), |done| {
                crate::platform::window::pick_files("Choose an image", &[("Images", &IMAGE_EXTENSIONS)], |files| {
                    done.finish(Picked::Inputs(files.into_iter().take(1).collect()))
                })
            });
        }
        for problem in &self.input_problems {
            ui.colored_label(ui.visuals().warn_fg_color, problem);
        }
        let Some(image) = &mut self.image else {
            ui.weak("…or drop a PNG (and .npy/.npz/.latent files) on the window.");
            return;
        };
        ui.add_space(8.0);
        ui.strong(image.source.display_name());
        ui.label(&image.description);
        if let Some(note) = &image.note {
            ui.colored_label(ui.visuals().warn_fg_color, note);
        }
        if let Ok(preview) = &image.preview {
            thumbnail_ui(ui, &mut image.view, preview, "packer-image", egui::vec2(320.0, 320.0));
        }
        ui.add_space(8.0);
        match &image.found_params {
            None => {}
            Some(Ok(None)) => {
                ui.weak("The image carries no generation parameters.");
            }
            Some(Err(problem)) => {
                ui.colored_label(ui.visuals().warn_fg_color, format!("Its parameters could not be read: {problem}"));
            }
            Some(Ok(Some(params))) => {
                egui::CollapsingHeader::new("Generation parameters found in the image").default_open(true).show(
                    ui,
                    |ui| {
                        if image.params_used {
                            ui.label("Used: they filled the empty metadata fields; edit them on the Metadata step.");
                            for note in &image.import_notes {
                                ui.colored_label(ui.visuals().warn_fg_color, note);
                            }
                        } else if ui
                            .button("Use these parameters")
                            .on_hover_text("Fill the empty metadata fields with them; what you typed stays")
                            .clicked()
                        {
                            image.import_notes = self.metadata.import(params);
                            image.params_used = true;
                        }
                        for line in params.summary() {
                            ui.monospace(line);
                        }
                    },
                );
            }
        }
    }

    fn latents_step_ui(&mut self, ui: &mut egui::Ui) {
        ui.label("Latent tensors: .npy (float16/32/64, either byte order, C or Fortran order), .npz (one latent per array) and ComfyUI .latent files. Any rank is stored; the reference's own writer makes only 4-D.");
        if ui.button("Add latent files…").clicked() {
            self.pick(ui.ctx(), |done| {
                let filters = [("Latents", &crate::npy::LatentFileKind::EXTENSIONS[..])];
                crate::platform::window::pick_files("Add latent files", &filters, |files| {
                    done.finish(Picked::Inputs(files))
                })
            });
        }
        for problem in &self.input_problems {
            ui.colored_label(ui.visuals().warn_fg_color, problem);
        }
        let mut remove = None;
        for (index, input) in self.latents.iter_mut().enumerate() {
            ui.separator();
            ui.horizontal(|ui| {
                if let Some(texture) = input.texture(ui.ctx()) {
                    ui.add(egui::Image::new(&texture).fit_to_exact_size(egui::vec2(96.0, 96.0)));
                }
                ui.vertical(|ui| {
                    ui.horizontal(|ui| {
                        ui.label("Key");
                        ui.add(egui::TextEdit::singleline(&mut input.key).desired_width(220.0))
                            .labelled_by(ui.label(format!("key of latent {}", index + 1)).id);
                        if ui.small_button("Remove").clicked() {
                            remove = Some(index);
                        }
                    });
                    let latent = &input.latent;
                    ui.label(format!(
                        "{:?} {}, {} values, from {}",
                        latent.shape(),
                        latent.dtype().numpy_name(),
                        latent.values().len(),
                        input.source
                    ));
                    let s = &input.stats;
                    let number = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
                    ui.label(format!(
                        "min {} max {} mean {} std {}",
                        number(s.min),
                        number(s.max),
                        number(s.mean),
                        number(s.std)
                    ));
                    if s.nan_count + s.inf_count > 0 {
                        ui.colored_label(
                            ui.visuals().error_fg_color,
                            format!("{} NaN, {} infinite: refused", s.nan_count, s.inf_count),
                        );
                    }
                    if latent.shape().len() != 4 {
                        ui.weak(format!(
                            "{}-D: stored and read here, though the reference's writer makes only 4-D",
                            latent.shape().len()
                        ));
                    }
                    for note in &input.notes {
                        ui.colored_label(ui.visuals().warn_fg_color, note);
                    }
                });
            });
        }
        if let Some(index) = remove {
            self.latents.remove(index);
        }
    }

    fn environment_step_ui(&mut self, ui: &mut egui::Ui, machine: Option<&crate::probe::MachineProbe>) {
        ui.label("The environment snapshot stored with the file.");
        let from_file = matches!(self.environment, EnvironmentChoice::FromFile { .. });
        let machine_label = if crate::platform::can_see_machine() {
            "This machine"
        } else {
            "None: a web page cannot see the machine it runs on, so the snapshot is left empty"
        };
        if ui.radio(!from_file, machine_label).clicked() {
            self.environment = EnvironmentChoice::ThisMachine;
        }
        ui.horizontal(|ui| {
            let label = match &self.environment {
                EnvironmentChoice::FromFile { source, .. } => format!("Taken from {}", source.display_name()),
                EnvironmentChoice::ThisMachine => "Taken from an existing .raiiaf (someone else's run)".into(),
            };
            let radio_clicked = ui.radio(from_file, label).clicked();
            if (radio_clicked && !from_file) | ui.button("Choose a file…").clicked() {
                let limits = self.limits;
                self.pick(ui.ctx(), move |done| {
                    let filters = [("RAIIAF and gen5 files", &["raiiaf", "gen5"][..])];
                    crate::platform::window::pick_files("Take the environment from", &filters, move |files| {
                        done.finish(Picked::EnvironmentFile(files.into_iter().next().map(|source| {
                            let environment = environment_of_file(&source, &limits);
                            (source, environment)
                        })))
                    })
                });
            }
        });
        ui.add_space(8.0);
        let components: Vec<(String, String)> = match &self.environment {
            EnvironmentChoice::ThisMachine => match machine {
                Some(probe) => probe
                    .components
                    .iter()
                    .map(|c| (c.component_id.clone(), c.canonical.clone().unwrap_or_else(|| c.status_text())))
                    .collect(),
                None => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("probing this machine… (the Python interpreter is a setting on the Environment tab of any file)");
                    });
                    Vec::new()
                }
            },
            EnvironmentChoice::FromFile { environment, .. } => {
                environment.components.iter().map(|c| (c.component_id.clone(), c.canonical.clone())).collect()
            }
        };
        egui::Grid::new("packer-environment").striped(true).show(ui, |ui| {
            for (id, canonical) in components {
                ui.strong(id);
                ui.monospace(canonical);
                ui.end_row();
            }
        });
    }

    fn options_step_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.refresh_sizes(&ctx);
        ui.checkbox(&mut self.float16, "Store latents as float16 (halves the size; rounds values)");
        ui.label("Sizes are computed by encoding each latent with each codec.");
        let table = self.size_table.as_ref().filter(|(key, _)| *key == self.size_key()).map(|(_, t)| t);
        if self.sizes.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("computing sizes…");
            });
        }
        egui::Grid::new("packer-codecs").striped(true).show(ui, |ui| {
            for heading in ["latent", "codec", "lossy tolerance", "raw", "zfp lossless", "zfp lossy"] {
                ui.strong(heading);
            }
            ui.end_row();
            for (index, input) in self.latents.iter_mut().enumerate() {
                ui.label(&input.key);
                egui::ComboBox::from_id_salt(("codec", index)).selected_text(input.codec.name()).show_ui(ui, |ui| {
                    for choice in CodecChoice::ALL {
                        ui.selectable_value(&mut input.codec, choice, choice.name());
                    }
                });
                ui.add_enabled(
                    input.codec == CodecChoice::ZfpLossy,
                    egui::DragValue::new(&mut input.tolerance).speed(0.001).range(0.0..=10.0),
                );
                let row = table.and_then(|t| t.get(index));
                for column in 0..3 {
                    match row.and_then(|r| r.get(column)) {
                        Some(Ok(bytes)) => ui.label(format_bytes(*bytes)),
                        Some(Err(_)) => ui.weak("cannot store").on_hover_text("zfp stores 1-D to 4-D tensors only"),
                        None => ui.weak("…"),
                    };
                }
                ui.end_row();
            }
        });
    }

    fn review_step_ui(&mut self, ui: &mut egui::Ui, machine: Option<&crate::probe::MachineProbe>) {
        let ctx = ui.ctx().clone();
        self.refresh_sizes(&ctx);
        let (info, _) = self.metadata.model_info();
        let image_bytes = self.image.as_ref().map_or(0, |i| i.bytes.len() as u64);
        let table = self.size_table.as_ref().filter(|(key, _)| *key == self.size_key()).map(|(_, t)| t);
        let latent_bytes: Option<u64> = table.map(|t| {
            t.iter()
                .zip(&self.latents)
                .map(|(row, input)| {
                    let [raw, zfp, lossy] = row;
                    let pick = |r: &Result<u64, String>| r.as_ref().ok().copied();
                    match input.codec {
                        CodecChoice::Raw => pick(raw),
                        CodecChoice::Zfp => pick(zfp),
                        CodecChoice::ZfpLossy => pick(lossy),
                        CodecChoice::Auto => pick(raw).into_iter().chain(pick(zfp)).min(),
                    }
                    .unwrap_or(0)
                })
                .sum()
        });
        ui.label(format!(
            "{} latent(s), image {}, {}",
            self.latents.len(),
            format_bytes(image_bytes),
            latent_bytes.map_or("computing the latent sizes…".into(), |b| format!(
                "about {} in all",
                format_bytes(b + image_bytes)
            ))
        ));
        if let Some(original) = &self.original {
            ui.label(format!(
                "Re-packing {}; it is replaced only if you choose it in the save dialog and confirm.",
                original.display_name()
            ));
        }
        for input in &self.latents {
            ui.label(format!(
                "latent {:?}: {:?} {}, {}",
                input.key.trim(),
                input.latent.shape(),
                if self.float16 { "float16" } else { input.latent.dtype().numpy_name() },
                input.codec.name()
            ));
        }
        egui::CollapsingHeader::new("Manifest model_info").default_open(true).show(ui, |ui| {
            ui.monospace(serde_json::to_string_pretty(&info.to_value()).unwrap_or_default());
        });
        ui.add_space(8.0);
        match self.saving.as_ref().map(Background::stage) {
            Some(stage) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(stage);
                    if ui.button("Cancel").clicked() {
                        self.saving = None;
                        self.status = Some("Cancelled; the file is written only if writing had already begun.".into());
                    }
                });
            }
            None => {
                let ready = machine.is_some() || matches!(self.environment, EnvironmentChoice::FromFile { .. });
                if ui.add_enabled(ready && self.dialog.is_none(), egui::Button::new("Save as…")).clicked() {
                    self.save_as(ui.ctx(), machine.map(crate::probe::MachineProbe::environment));
                }
                if !ready {
                    ui.weak("waiting for this machine's environment…");
                }
            }
        }
    }

    fn suggested_name(&self) -> String {
        let stem = match (&self.original, &self.image) {
            (Some(original), _) => format!("{}-repacked", file_stem(&original.name())),
            (None, Some(image)) => file_stem(&image.source.name()),
            (None, None) => "packed".into(),
        };
        format!("{stem}.raiiaf")
    }
}

fn file_stem(name: &str) -> String {
    Path::new(name).file_stem().map_or_else(|| "packed".into(), |s| s.to_string_lossy().into_owned())
}

fn format_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 10 << 20 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 10 << 10 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

/// `key`, or `key_2`, `key_3`, ... when taken.
fn unique_key<'a>(key: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let free = |candidate: &str| !taken.clone().any(|t| t == candidate);
    if free(key) {
        return key.to_string();
    }
    (2..).map(|n| format!("{key}_{n}")).find(|candidate| free(candidate)).unwrap_or_else(|| key.to_string())
}

fn max_side(ctx: &egui::Context) -> usize {
    ctx.input(|i| i.max_texture_side)
}

fn environment_of_file(source: &FileInput, limits: &Limits) -> Result<Environment, String> {
    let inspection = source.inspect(limits);
    match (inspection.environment, inspection.fatal) {
        (Some(environment), _) => Ok(environment),
        (None, Some(fatal)) => Err(fatal.to_string()),
        (None, None) => Err("the file has no environment chunk".into()),
    }
}

fn image_input(
    source: FileInput,
    bytes: Arc<Vec<u8>>,
    max_texture_side: usize,
    limits: &Limits,
    import: bool,
) -> ImageInput {
    let preview = PreparedImage::decode(&bytes, max_texture_side, limits);
    let info = writer::image_info(&bytes);
    let description = match (&info, &preview) {
        (Some((format, width, height)), _) => {
            format!("{format}, {width} x {height}, {}", format_bytes(bytes.len() as u64))
        }
        (None, _) => "not a readable PNG, JPEG or WebP image".into(),
    };
    let is_png = info.is_some_and(|(format, _, _)| format == "png");
    let note =
        (info.is_some() && !is_png).then(|| "The reference expects PNG; this image is stored as it is.".to_string());
    let found_params =
        (import && info.is_some()).then(|| crate::params::import_from_image(&bytes).map_err(|e| e.to_string()));
    ImageInput {
        source,
        bytes,
        description,
        preview,
        view: ImageViewState::default(),
        found_params,
        params_used: false,
        import_notes: Vec::new(),
        note,
    }
}

/// A latent ready for the packer; `stats` are computed unless already known.
fn latent_input(latent: Latent, source: String, notes: Vec<String>, stats: Option<Stats>) -> LatentInput {
    let stats = stats.unwrap_or_else(|| latent.stats());
    // No preview of a tensor with no values (a texture needs a pixel each way); packing it is
    // refused with the writer's message.
    let preview = SliceSelection::default_for(latent.shape())
        .filter(|_| crate::format::latent::zero_length_axis(latent.shape()).is_none())
        .and_then(|selection| {
            let grid = tensor::heatmap_grid(&latent, &selection, Colormap::BlueWhiteRed, false, RangeMode::Symmetric);
            let size = [grid.sampled_size.1, grid.sampled_size.0];
            grid.pixels.into_iter().next().map(|pixels| (pixels, size))
        });
    LatentInput {
        key: latent.key().to_string(),
        source,
        latent: Arc::new(latent),
        stats,
        notes,
        codec: CodecChoice::Auto,
        tolerance: 0.001,
        preview,
        texture: None,
    }
}

impl LatentInput {
    /// A heatmap of the first channel of the default slice.
    fn texture(&mut self, ctx: &egui::Context) -> Option<egui::TextureHandle> {
        if self.texture.is_none()
            && let Some((pixels, size)) = &self.preview
        {
            let image = egui::ColorImage::from_rgba_unmultiplied(*size, pixels);
            self.texture = Some(ctx.load_texture(format!("packer-{}", self.key), image, egui::TextureOptions::NEAREST));
        }
        self.texture.clone()
    }
}

/// Reads images and latent files for the packer (on a worker).
fn load_inputs(
    files: Vec<FileInput>,
    has_image: bool,
    max_texture_side: usize,
    limits: &Limits,
    progress: &Progress,
) -> Vec<LoadedInput> {
    let mut loaded = Vec::new();
    let mut image_taken = has_image;
    for file in files {
        if progress.is_cancelled() {
            break;
        }
        let shown = file.display_name();
        progress.set_stage(format!("reading {shown}"));
        let bytes = match file.read() {
            Ok(bytes) => bytes.into_owned(),
            Err(error) => {
                loaded.push(LoadedInput::Problem(format!("{shown}: {error}")));
                continue;
            }
        };
        if extension_in(Path::new(&file.name()), &IMAGE_EXTENSIONS) {
            if image_taken {
                loaded.push(LoadedInput::Problem(format!("{shown}: one image per file; it replaces the previous one")));
            }
            image_taken = true;
            let input = image_input(file, Arc::new(bytes), max_texture_side, limits, true);
            loaded.push(LoadedInput::Image(Box::new(input)));
            continue;
        }
        match crate::npy::read_latent_bytes(&shown, &bytes, limits) {
            Ok(tensors) => {
                for (key, tensor) in tensors {
                    match Latent::new(key, tensor.shape, tensor.values) {
                        Ok(latent) => loaded.push(LoadedInput::Latent(Box::new(latent_input(
                            latent,
                            shown.clone(),
                            tensor.notes,
                            None,
                        )))),
                        Err(problem) => loaded.push(LoadedInput::Problem(format!("{shown}: {problem}"))),
                    }
                }
            }
            Err(problem) => loaded.push(LoadedInput::Problem(problem.to_string())),
        }
    }
    loaded
}

/// One labelled text field, with its problems under it.
fn field_ui(
    ui: &mut egui::Ui,
    label: &str,
    field: &str,
    text: &mut String,
    problems: &[(String, String)],
    multiline: bool,
) {
    let label_response = ui.label(label);
    let edit = if multiline {
        egui::TextEdit::multiline(text).desired_rows(3).desired_width(f32::INFINITY)
    } else {
        egui::TextEdit::singleline(text).desired_width(f32::INFINITY)
    };
    ui.vertical(|ui| {
        ui.add(edit).labelled_by(label_response.id);
        for (_, message) in problems.iter().filter(|(f, _)| f == field) {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
    });
    ui.end_row();
}

fn metadata_step_ui(ui: &mut egui::Ui, form: &mut MetadataForm) {
    let problems = form.problems();
    ui.label("Checked live against the manifest schema. Seed, steps and sampler are required by the reference.");
    egui::Grid::new("packer-metadata").num_columns(2).striped(true).show(ui, |ui| {
        field_ui(ui, "Model name", "model_name", &mut form.model_name, &problems, false);
        field_ui(ui, "Model version", "version", &mut form.version, &problems, false);
        field_ui(ui, "Prompt", "prompt", &mut form.prompt, &problems, true);
        field_ui(ui, "Negative prompt", "negative_prompt", &mut form.negative_prompt, &problems, true);
        field_ui(ui, "Tags (comma-separated)", "tags", &mut form.tags, &problems, false);
        field_ui(ui, "Seed", "seed", &mut form.seed, &problems, false);
        field_ui(ui, "Steps", "steps", &mut form.steps, &problems, false);
        field_ui(ui, "Sampler", "sampler", &mut form.sampler, &problems, false);
        field_ui(ui, "CFG scale", "cfg_scale", &mut form.cfg_scale, &problems, false);
        field_ui(ui, "Scheduler", "scheduler", &mut form.scheduler, &problems, false);
        field_ui(ui, "Eta", "eta", &mut form.eta, &problems, false);
        field_ui(ui, "Guidance", "guidance", &mut form.guidance, &problems, false);
        field_ui(ui, "Precision", "precision", &mut form.precision, &problems, false);
        ui.label("Deterministic");
        ui.horizontal(|ui| {
            ui.radio_value(&mut form.deterministic, None, "not set");
            ui.radio_value(&mut form.deterministic, Some(true), "yes");
            ui.radio_value(&mut form.deterministic, Some(false), "no");
        });
        ui.end_row();
    });
    ui.add_space(8.0);
    ui.strong("Other settings");
    let mut remove = None;
    egui::Grid::new("packer-extras").num_columns(3).striped(true).show(ui, |ui| {
        for (index, extra) in form.extras.iter_mut().enumerate() {
            ui.add_sized([180.0, 20.0], egui::TextEdit::singleline(&mut extra.key));
            if extra.is_large() {
                ui.weak(format!("JSON, {} kept as imported", format_bytes(extra.text.len() as u64)));
            } else {
                ui.add_sized([420.0, 20.0], egui::TextEdit::singleline(&mut extra.text));
            }
            if ui.small_button("Remove").clicked() {
                remove = Some(index);
            }
            ui.end_row();
        }
    });
    if let Some(index) = remove {
        form.extras.remove(index);
    }
    if ui.button("Add a setting").clicked() {
        form.extras.push(ExtraSetting::new(String::new(), Value::from("")));
    }
    for (field, message) in problems.iter().filter(|(f, _)| f.starts_with("extra")) {
        ui.colored_label(ui.visuals().error_fg_color, format!("{field}: {message}"));
    }
    ui.add_space(8.0);
    ui.strong("Hardware info (JSON; filled from this machine)");
    ui.add(egui::TextEdit::multiline(&mut form.hardware).code_editor().desired_rows(6).desired_width(f32::INFINITY));
    for (_, message) in problems.iter().filter(|(f, _)| f == "hardware") {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_names_and_steps() {
        assert_eq!(unique_key("noise", ["noise", "noise_2"].into_iter()), "noise_3");
        assert_eq!(unique_key("x", ["noise"].into_iter()), "x");
        assert_eq!(WizardStep::Image.offset(-1), WizardStep::Image);
        assert_eq!(WizardStep::Options.offset(1), WizardStep::Review);
        assert_eq!(WizardStep::Review.offset(1), WizardStep::Review);
        let named = |name: &str| FileInput::memory(name, Vec::new());
        assert!(is_packer_input(&named("a.PNG")) && is_packer_input(&named("b.latent")));
        assert!(is_packer_input(&FileInput::Path(PathBuf::from("/t/c.npz"))));
        assert!(!is_packer_input(&named("c.raiiaf")));
    }
}
