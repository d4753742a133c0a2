//! The application: persisted settings, open documents, menus and shortcuts. Each region is
//! drawn by its own `*_ui` function; what the user asks for during a frame is collected as
//! [`UiCommand`]s and applied at the end of it.

use std::path::PathBuf;

use crate::format::Limits;
use crate::platform::FileInput;
use crate::platform::window::Filter;
use crate::probe::ProbeOptions;

use super::batch_view::BatchView;
use super::chunks_view::chunks_ui;
use super::compare_view::{CompareSection, CompareView};
use super::document::{Document, Loaded, LoadedFile, Tab, is_image_file};
use super::environment_view::{EnvironmentCommand, MachineEnvironment, OtherEnvironment, environment_ui};
use super::folder_view::{FolderSource, FolderView};
use super::harness::{Harness, ScreenshotOutcome};
use super::image_view::{ImageViewState, image_ui, thumbnail_ui};
use super::latent_view::{ExportRequest, HeatmapSettings, LatentViewState, latents_ui};
use super::manifest_view::manifest_ui;
use super::open_view::{OpenView, View, ViewCommand};
use super::packer::{Wizard, WizardStep, is_packer_input};
use super::style::{self, verdict_badge};
use super::worker::{Background, Completion, Load};

const RECENT_FILES_KEPT: usize = 10;

const CONTAINER_FILTERS: [Filter<'static>; 2] = [("RAIIAF and gen5 files", &["raiiaf", "gen5"]), ("All files", &["*"])];
/// What File > Open offers: containers, and generated images to see their parameters.
const OPEN_FILTERS: [Filter<'static>; 3] = [
    ("RAIIAF and gen5 files", &["raiiaf", "gen5"]),
    ("Generated images", &crate::pack::batch::IMAGE_EXTENSIONS),
    ("All files", &["*"]),
];

/// What is kept between sessions (eframe's storage).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub recent_files: Vec<PathBuf>,
    pub heatmaps: HeatmapSettings,
    /// Interpreter for the environment probe; empty means `python3` on PATH.
    pub python: String,
    pub only_environment_differences: bool,
    pub only_failed_checks: bool,
    /// What reading one file may allocate (Settings > Limits).
    pub limits: Limits,
}

impl Settings {
    /// Adds a file on disk to the recent files (bytes from a browser cannot be opened again).
    fn remember(&mut self, file: &FileInput) {
        let Some(path) = file.path() else { return };
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.recent_files.retain(|p| *p != path);
        self.recent_files.insert(0, path);
        self.recent_files.truncate(RECENT_FILES_KEPT);
    }
}

/// How the window starts (from the command line).
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub files: Vec<PathBuf>,
    pub tab: Option<Tab>,
    /// Packer step to show first, when the files open the packer.
    pub step: Option<WizardStep>,
    /// Save a screenshot here once everything has loaded and been drawn, then close.
    pub screenshot: Option<PathBuf>,
    pub size: Option<[f32; 2]>,
    /// Skip the environment probe (tests: no Python run).
    pub skip_probe: bool,
    /// Compare the two files instead of opening them as tabs.
    pub compare: bool,
    /// Limits given on the command line: used instead of the saved ones until changed in Settings.
    pub limits: Option<Limits>,
    /// Files to download and open (the web page's `?url=`).
    pub urls: Vec<String>,
    /// Report when the first frame with the image and every heatmap was drawn.
    pub timing: bool,
}

/// What the user asked for during a frame.
pub enum UiCommand {
    Open(FileInput),
    /// Files dropped or given: containers open as tabs, images and latent files go to the packer.
    OpenAny(Vec<FileInput>),
    /// Files dropped on the window: exactly two containers are compared, the rest as `OpenAny`.
    Dropped(Vec<FileInput>),
    Compare(FileInput, FileInput),
    /// Verify every container in these folders and their subfolders, or these files.
    Verify(FolderSource),
    /// Ask for files or folders; what is chosen comes back as a [`DialogOutcome`].
    Pick(Picker),
    /// Ask where to save the folder verification's report, and save it.
    ExportFolderReport,
    /// Download a file and open it.
    Fetch(String),
    /// Show one of the views that is open.
    Show(View),
    /// Open the packer (a new one unless one is open), with these files added.
    Pack(Vec<FileInput>),
    /// Pack these images with the latent files named after them, in a batch.
    PackBatch(Vec<PathBuf>),
    /// Ask where to save the batch's report, and save these bytes.
    SaveBatchReport(Vec<u8>),
    /// Open the packer prefilled from the document at this index (a container's contents, or an
    /// image with its parameters).
    Repack(usize),
    /// Close the packer, the comparison or the folder verification.
    CloseView(View),
    Select(usize),
    Close(usize),
    SetTab(Tab),
    Export(ExportRequest),
    Reprobe,
    ClearRecent,
}

/// The file and folder pickers the menus open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picker {
    /// Containers or images to open.
    Open,
    /// Two files to compare.
    Compare,
    /// Files to verify.
    VerifyFiles,
    /// Folders to verify.
    Folders,
    /// Folders of images and latents to pack in a batch.
    PackBatch,
}

enum DialogOutcome {
    Open(Vec<FileInput>),
    PackBatch(Vec<PathBuf>),
    Compare(Vec<FileInput>),
    Folders(Vec<PathBuf>),
    Verify(Vec<FileInput>),
    /// Where a file was saved (`None`: the save dialog was cancelled), or why it was not.
    Saved(Result<Option<FileInput>, String>),
}

/// What the command line chose for the first things opened: used once.
#[derive(Default)]
struct FirstOpen {
    tab: Option<Tab>,
    step: Option<WizardStep>,
}

/// The small windows over the main one.
#[derive(Default)]
struct Windows {
    about: bool,
    shortcuts: bool,
    limits: bool,
}

pub struct WorkbenchApp {
    pub settings: Settings,
    pub documents: Vec<Document>,
    pub selected: usize,
    pub machine: MachineEnvironment,
    first_open: FirstOpen,
    skip_probe: bool,
    pending: Vec<UiCommand>,
    dialog: Option<Background<DialogOutcome>>,
    /// Files on their way in: dropped files being read, downloads.
    incoming: Vec<Background<Result<Vec<FileInput>, String>>>,
    /// Last message about an export or a dialog, shown in the status bar.
    pub status: Option<String>,
    windows: Windows,
    /// The command line's limits, in force over `settings.limits` until the user edits those.
    limits_override: Option<Limits>,
    harness: Harness,
    window_title: String,
    /// The views open beside the documents, at most one of each kind.
    pub views: Vec<OpenView>,
    /// What is shown: the selected document, or one of `views`.
    pub view: View,
    /// Files handed over while the window runs (by another `raiiaf FILE...`, or by Finder on
    /// macOS; see `single_instance`), opened like files given on the command line.
    pub(super) open_requests: Option<std::sync::mpsc::Receiver<Vec<PathBuf>>>,
}

impl WorkbenchApp {
    /// `storage` is eframe's persisted state; `None` starts from defaults (tests, screenshots).
    pub fn new(ctx: &egui::Context, options: StartOptions, storage: Option<&dyn eframe::Storage>) -> WorkbenchApp {
        let harness = Harness::new(options.screenshot, options.timing);
        let settings = storage
            .filter(|_| harness.persists_settings())
            .and_then(|s| eframe::get_value::<Settings>(s, eframe::APP_KEY))
            .unwrap_or_default();
        let mut app = WorkbenchApp {
            settings,
            documents: Vec::new(),
            selected: 0,
            machine: MachineEnvironment::default(),
            first_open: FirstOpen { tab: options.tab, step: options.step },
            skip_probe: options.skip_probe,
            pending: match <[PathBuf; 2]>::try_from(options.files) {
                Ok([a, b]) if options.compare => vec![UiCommand::Compare(a.into(), b.into())],
                Ok(pair) => vec![UiCommand::OpenAny(pair.into_iter().map(FileInput::Path).collect())],
                Err(files) => vec![UiCommand::OpenAny(files.into_iter().map(FileInput::Path).collect())],
            }
            .into_iter()
            .chain(options.urls.into_iter().map(UiCommand::Fetch))
            .collect(),
            dialog: None,
            incoming: Vec::new(),
            status: None,
            windows: Windows::default(),
            limits_override: options.limits,
            harness,
            window_title: String::new(),
            views: Vec::new(),
            view: View::Documents,
            open_requests: None,
        };
        app.start_probe(ctx);
        app
    }

    /// Starts a file dialog (one at a time); `start` hands its outcome to the completion.
    /// Opens `picker`'s dialog; what is chosen arrives through `poll_workers`.
    fn pick(&mut self, ctx: &egui::Context, picker: Picker) {
        use crate::platform::window::{pick_files, pick_folders};
        self.start_dialog(ctx, move |done| match picker {
            Picker::Open => pick_files("Open .raiiaf files or images", &OPEN_FILTERS, |files| {
                done.finish(DialogOutcome::Open(files))
            }),
            Picker::Compare => pick_files("Choose two files to compare", &CONTAINER_FILTERS, |files| {
                done.finish(DialogOutcome::Compare(files))
            }),
            Picker::VerifyFiles => pick_files("Verify .raiiaf and .gen5 files", &CONTAINER_FILTERS, |files| {
                done.finish(DialogOutcome::Verify(files))
            }),
            Picker::Folders => pick_folders("Verify every .raiiaf and .gen5 file in folders", |folders| {
                done.finish(DialogOutcome::Folders(folders))
            }),
            Picker::PackBatch => pick_folders("Folders of images and latents to pack", |folders| {
                done.finish(DialogOutcome::PackBatch(folders))
            }),
        });
    }

    fn start_dialog(&mut self, ctx: &egui::Context, start: impl FnOnce(Completion<DialogOutcome>)) {
        if !Background::start_in(&mut self.dialog, ctx, start) {
            self.status = Some("Another dialog is already open.".into());
        }
    }

    /// Saves a file where the user says (a dialog, or a download in the browser); `contents`
    /// makes its bytes for the name chosen.
    fn save_file(
        &mut self,
        ctx: &egui::Context,
        title: &'static str,
        name: String,
        filters: Vec<Filter<'static>>,
        contents: impl FnOnce(&str) -> Result<Vec<u8>, String> + Send + 'static,
    ) {
        self.start_dialog(ctx, move |done| {
            crate::platform::window::save_file(title, &name, &filters, contents, move |saved| {
                done.finish(DialogOutcome::Saved(saved))
            })
        });
    }

    pub fn screenshot_outcome(&self) -> Option<ScreenshotOutcome> {
        self.harness.screenshot_outcome()
    }

    /// Opens a file as a new tab (what dropping it on the window does).
    pub fn open(&mut self, file: impl Into<FileInput>) {
        self.pending.push(UiCommand::Open(file.into()));
    }

    pub fn select_tab(&mut self, tab: Tab) {
        self.pending.push(UiCommand::SetTab(tab));
    }

    fn start_probe(&mut self, ctx: &egui::Context) {
        // In a browser the probe returns at once, saying it cannot see the machine; the packer
        // takes its empty snapshot and its `os` from that.
        if self.skip_probe {
            return;
        }
        let python = self.settings.python.trim();
        let options =
            ProbeOptions { python: (!python.is_empty()).then(|| PathBuf::from(python)), ..ProbeOptions::default() };
        self.machine.task = Some(Background::spawn(ctx, move |progress| {
            progress.set_stage("running Python and NVML");
            crate::platform::probe_machine(&options)
        }));
    }

    /// The environments of the open files other than the selected one, when its Environment tab
    /// is shown (what it can compare with).
    fn other_environments(&self) -> Vec<OtherEnvironment> {
        if self.documents.get(self.selected).is_none_or(|d| d.tab != Tab::Environment) {
            return Vec::new();
        }
        self.documents
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != self.selected)
            .filter_map(|(_, other)| {
                let environment = other.loaded()?.inspection.environment.as_ref()?;
                Some(OtherEnvironment { name: other.file.display_name(), components: environment.components.clone() })
            })
            .collect()
    }

    pub fn all_loaded(&self) -> bool {
        self.documents.iter().all(|d| !d.state.is_loading())
            && self.views.iter().all(|view| !view.is_busy())
            && self.machine.task.is_none()
            && self.incoming.is_empty()
            && self.pending.is_empty()
    }

    /// The limits files are read under now.
    pub fn limits(&self) -> Limits {
        self.limits_override.unwrap_or(self.settings.limits)
    }

    fn open_view(&self, kind: View) -> Option<&OpenView> {
        self.views.iter().find(|view| view.kind() == kind)
    }

    fn open_view_mut(&mut self, kind: View) -> Option<&mut OpenView> {
        self.views.iter_mut().find(|view| view.kind() == kind)
    }

    /// Opens `view` in place of any of its kind, and shows it.
    fn show_new(&mut self, view: OpenView) {
        let kind = view.kind();
        self.views.retain(|open| open.kind() != kind);
        self.views.push(view);
        self.view = kind;
    }

    pub fn packer(&self) -> Option<&Wizard> {
        match self.open_view(View::Packer)? {
            OpenView::Packer(packer) => Some(packer),
            _ => None,
        }
    }

    pub fn packer_mut(&mut self) -> Option<&mut Wizard> {
        match self.open_view_mut(View::Packer)? {
            OpenView::Packer(packer) => Some(packer),
            _ => None,
        }
    }

    pub fn compare(&self) -> Option<&CompareView> {
        match self.open_view(View::Compare)? {
            OpenView::Compare(compare) => Some(compare),
            _ => None,
        }
    }

    pub fn folder(&self) -> Option<&FolderView> {
        match self.open_view(View::Folder)? {
            OpenView::Folder(folder) => Some(folder),
            _ => None,
        }
    }

    pub fn folder_mut(&mut self) -> Option<&mut FolderView> {
        match self.open_view_mut(View::Folder)? {
            OpenView::Folder(folder) => Some(folder),
            _ => None,
        }
    }

    pub fn batch(&self) -> Option<&BatchView> {
        match self.open_view(View::Batch)? {
            OpenView::Batch(batch) => Some(batch),
            _ => None,
        }
    }

    /// Files given or dropped: folders are verified, containers open as tabs, images alone open
    /// with their parameters, one image with latents goes to the packer, several (from disk) to a
    /// batch.
    fn open_any(&mut self, paths: Vec<FileInput>) {
        let (folders, paths): (Vec<FileInput>, Vec<FileInput>) = paths.into_iter().partition(|p| p.is_dir());
        let folders: Vec<PathBuf> = folders.iter().filter_map(|f| f.path().map(PathBuf::from)).collect();
        if !folders.is_empty() {
            self.pending.push(UiCommand::Verify(FolderSource::Folders(folders)));
        }
        let (inputs, containers): (Vec<FileInput>, Vec<FileInput>) = paths.into_iter().partition(is_packer_input);
        self.pending.extend(containers.into_iter().map(UiCommand::Open));
        // Images without latents are looked at (their parameters); one image with latents
        // is packed; several images with latents (from disk) are packed in a batch.
        let images = inputs.iter().filter(|input| is_image_file(input)).count();
        let on_disk: Option<Vec<PathBuf>> = inputs.iter().map(|input| input.path().map(PathBuf::from)).collect();
        match on_disk {
            _ if images == inputs.len() => self.pending.extend(inputs.into_iter().map(UiCommand::Open)),
            Some(paths) if images >= 2 => self.pending.push(UiCommand::PackBatch(paths)),
            _ => self.pending.push(UiCommand::Pack(inputs)),
        }
    }

    /// Shows the packer (a new one unless one is open) with `paths` added.
    fn pack(&mut self, ctx: &egui::Context, paths: Vec<FileInput>) {
        let hardware = self.machine.result().map(|probe| probe.hardware_info.clone());
        let limits = self.limits();
        if self.packer().is_none() {
            let mut wizard = Wizard::new(hardware.as_ref());
            // The command line's --step applies to the first packer only.
            wizard.step = self.first_open.step.take().unwrap_or_default();
            self.views.push(OpenView::Packer(Box::new(wizard)));
        }
        if let Some(packer) = self.packer_mut() {
            packer.limits = limits;
            if !paths.is_empty() {
                packer.add_files(ctx, paths, ctx.input(|i| i.max_texture_side));
            }
        }
        self.view = View::Packer;
    }

    /// Opens the packer prefilled from document `index`: its contents, or an image with its
    /// parameters.
    fn repack(&mut self, ctx: &egui::Context, index: usize) {
        let Some(document) = self.documents.get(index) else { return };
        let max_side = ctx.input(|i| i.max_texture_side);
        if let Some(loaded) = document.loaded() {
            let wizard = Wizard::repack(ctx, &document.file, loaded, max_side, self.limits());
            self.show_new(OpenView::Packer(Box::new(wizard)));
        } else if is_image_file(&document.file) {
            let hardware = self.machine.result().map(|probe| probe.hardware_info.clone());
            let mut wizard = Wizard::new(hardware.as_ref());
            wizard.limits = self.limits();
            wizard.import_when_loaded = true;
            wizard.add_files(ctx, vec![document.file.clone()], max_side);
            self.show_new(OpenView::Packer(Box::new(wizard)));
        }
    }

    /// Downloads `url`, with progress in the status bar; the file then opens as if dropped.
    fn fetch(&mut self, ctx: &egui::Context, url: &str) {
        let (task, done) = Background::pending(ctx);
        let progress = done.progress.clone();
        self.status = Some(format!("Downloading {url}"));
        crate::platform::window::fetch(
            url,
            move |received, total| {
                progress.set_stage(match total {
                    Some(total) => format!("downloading: {} of {}", megabytes(received), megabytes(total)),
                    None => format!("downloading: {}", megabytes(received)),
                })
            },
            move |fetched| done.finish(fetched.map(|file| vec![file])),
        );
        self.incoming.push(task);
    }

    fn apply(&mut self, ctx: &egui::Context, command: UiCommand) {
        match command {
            UiCommand::Open(file) => {
                self.settings.remember(&file);
                let tab = self.first_open.tab.unwrap_or_default();
                if let Some(path) = file.path() {
                    super::single_instance::log_opened(path, self.documents.len() + 1);
                }
                self.documents.push(Document::open(ctx, file, tab, self.limits()));
                self.selected = self.documents.len() - 1;
                self.view = View::Documents;
            }
            UiCommand::Dropped(paths) => {
                let containers = paths.iter().filter(|p| !is_packer_input(p) && !p.is_dir()).count();
                match <[FileInput; 2]>::try_from(paths) {
                    Ok([a, b]) if containers == 2 => self.pending.push(UiCommand::Compare(a, b)),
                    Ok(pair) => self.pending.push(UiCommand::OpenAny(pair.into())),
                    // Three or more containers and nothing else: a set to verify, not tabs.
                    Err(paths) if containers >= 3 && containers == paths.len() => {
                        self.pending.push(UiCommand::Verify(FolderSource::Files(paths)))
                    }
                    Err(paths) => self.pending.push(UiCommand::OpenAny(paths)),
                }
            }
            UiCommand::Compare(a, b) => {
                // A new comparison keeps the section shown (swapping A and B, say).
                let section = self.compare().map(|c| c.section).unwrap_or(match self.first_open.tab {
                    Some(Tab::Image) => CompareSection::Image,
                    Some(Tab::Latents) => CompareSection::Latents,
                    Some(Tab::Environment) => CompareSection::Environment,
                    _ => CompareSection::Manifest,
                });
                self.show_new(OpenView::Compare(Box::new(CompareView::open(ctx, a, b, section, self.limits()))));
            }
            UiCommand::Pick(picker) => self.pick(ctx, picker),
            UiCommand::Verify(source) => {
                // Replacing a running verification cancels it (dropping its task).
                self.show_new(OpenView::Folder(Box::new(FolderView::start(ctx, source, self.limits()))));
            }
            UiCommand::ExportFolderReport => {
                if let Some(folder) = self.folder() {
                    let (rows, summary) = (folder.rows.clone(), folder.counts());
                    let name = format!("{}-report.json", crate::npy::safe_file_stem(&folder.title()));
                    self.save_file(
                        ctx,
                        "Save the verification report (.json or .csv)",
                        name,
                        vec![("JSON report", &["json"]), ("CSV report", &["csv"])],
                        // Every row, not only those shown, as JSON or CSV by the extension chosen.
                        move |chosen| {
                            crate::audit::folder::report_bytes(&rows, &summary, chosen).map_err(|e| e.to_string())
                        },
                    );
                }
            }
            UiCommand::Fetch(url) => self.fetch(ctx, &url),
            UiCommand::Show(view) => {
                if view == View::Documents || self.open_view(view).is_some() {
                    self.view = view;
                }
            }
            UiCommand::OpenAny(paths) => self.open_any(paths),
            UiCommand::Pack(paths) => self.pack(ctx, paths),
            UiCommand::PackBatch(files) => {
                self.show_new(OpenView::Batch(Box::new(BatchView::new(ctx, files, self.limits()))));
            }
            UiCommand::SaveBatchReport(bytes) => {
                self.save_file(
                    ctx,
                    "Save the batch report",
                    "batch-report.json".into(),
                    vec![("JSON report", &["json"])],
                    move |_| Ok(bytes),
                );
            }
            UiCommand::Repack(index) => self.repack(ctx, index),
            UiCommand::CloseView(view) => {
                // Dropping a view cancels its work.
                self.views.retain(|open| open.kind() != view);
                if self.view == view {
                    self.view = View::Documents;
                }
            }
            UiCommand::Select(index) => {
                self.selected = index.min(self.documents.len().saturating_sub(1));
                self.view = View::Documents;
            }
            UiCommand::Close(index) => {
                if index < self.documents.len() {
                    // Dropping the document cancels a load still running.
                    self.documents.remove(index);
                    self.selected = self.selected.min(self.documents.len().saturating_sub(1));
                }
            }
            UiCommand::SetTab(tab) => {
                if let Some(document) = self.documents.get_mut(self.selected) {
                    document.tab = tab;
                }
            }
            UiCommand::Export(request) => match request.bytes {
                Err(error) => self.status = Some(format!("Export failed: {error}")),
                Ok(bytes) => self.save_file(ctx, "Export", request.suggested_name, Vec::new(), move |_| Ok(bytes)),
            },
            UiCommand::Reprobe => self.start_probe(ctx),
            UiCommand::ClearRecent => self.settings.recent_files.clear(),
        }
    }

    fn poll_workers(&mut self) {
        while let Some(paths) = self.open_requests.as_ref().and_then(|r| r.try_recv().ok()) {
            self.pending.push(UiCommand::OpenAny(paths.into_iter().map(FileInput::Path).collect()));
        }
        for task in &mut self.incoming {
            match task.poll() {
                Some(Ok(files)) => {
                    self.status = None;
                    self.pending.push(UiCommand::Dropped(files));
                }
                Some(Err(error)) => self.status = Some(error),
                None => {}
            }
        }
        self.incoming.retain(|task| !task.is_finished());
        for document in &mut self.documents {
            document.state.poll();
        }
        for view in &mut self.views {
            view.poll();
        }
        let probed = self.machine.task.as_mut().and_then(Background::poll);
        if self.machine.task.as_ref().is_some_and(Background::is_finished) {
            self.machine.task = None;
        }
        if let Some(result) = probed {
            self.machine.set_result(result);
        }
        if let Some(dialog) = &mut self.dialog {
            match dialog.poll() {
                Some(DialogOutcome::Open(paths)) => self.pending.extend(paths.into_iter().map(UiCommand::Open)),
                Some(DialogOutcome::PackBatch(folders)) if !folders.is_empty() => {
                    match crate::pack::batch::files_in(&folders) {
                        Ok(files) => self.pending.push(UiCommand::PackBatch(files)),
                        Err(error) => self.status = Some(error.to_string()),
                    }
                }
                Some(DialogOutcome::PackBatch(_)) => {}
                Some(DialogOutcome::Folders(folders)) => {
                    self.pending.push(UiCommand::Verify(FolderSource::Folders(folders)))
                }
                Some(DialogOutcome::Verify(files)) if !files.is_empty() => {
                    self.pending.push(UiCommand::Verify(FolderSource::Files(files)))
                }
                Some(DialogOutcome::Verify(_)) => {}
                Some(DialogOutcome::Compare(paths)) => match <[FileInput; 2]>::try_from(paths) {
                    Ok([a, b]) => self.pending.push(UiCommand::Compare(a, b)),
                    Err(paths) => {
                        self.status = Some(format!("Choose exactly two files to compare ({} chosen).", paths.len()));
                    }
                },
                Some(DialogOutcome::Saved(Ok(Some(file)))) => {
                    self.status = Some(format!("Saved {}", file.display_name()))
                }
                Some(DialogOutcome::Saved(Err(error))) => self.status = Some(format!("Not saved: {error}")),
                Some(DialogOutcome::Saved(Ok(None))) | None => {}
            }
            if dialog.is_finished() {
                self.dialog = None;
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let open = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
        let close = KeyboardShortcut::new(Modifiers::COMMAND, Key::W);
        let next = KeyboardShortcut::new(Modifiers::COMMAND, Key::Tab);
        let new = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
        let (open, close, next, new) = ctx.input_mut(|i| {
            (i.consume_shortcut(&open), i.consume_shortcut(&close), i.consume_shortcut(&next), i.consume_shortcut(&new))
        });
        if new {
            self.pending.push(UiCommand::Pack(Vec::new()));
        }
        if open {
            self.pending.push(UiCommand::Pick(Picker::Open));
        }
        if close && !self.documents.is_empty() {
            self.pending.push(UiCommand::Close(self.selected));
        }
        if next && !self.documents.is_empty() {
            self.pending.push(UiCommand::Select((self.selected + 1) % self.documents.len()));
        }
    }

    /// For `--screenshot`: once everything has loaded and a few frames have settled the
    /// layout, capture the window, save it and close.
    /// Whether the frame drawn showed the image and every heatmap of the selected file (what
    /// the start-up timing waits for).
    fn first_frame_complete(&self) -> bool {
        let Some(document) = self.documents.get(self.selected) else { return false };
        let Some(loaded) = document.loaded() else { return false };
        let image_shown = !matches!(loaded.image, Some(Ok(_))) || document.image_view.has_texture();
        let heatmaps_shown = loaded.inspection.latents.is_empty() || document.latent_view.has_heatmaps();
        document.tab == Tab::Latents && image_shown && heatmaps_shown
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<UiCommand>) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.add(egui::Button::new("New (pack files)…").shortcut_text("Ctrl+N")).clicked() {
                    commands.push(UiCommand::Pack(Vec::new()));
                    ui.close();
                }
                if crate::platform::window::can_pick_folders() && ui.button("Pack a folder of images…").clicked() {
                    commands.push(UiCommand::Pick(Picker::PackBatch));
                    ui.close();
                }
                let loaded =
                    self.documents.get(self.selected).is_some_and(|d| d.loaded().is_some() || is_image_file(&d.file));
                if ui.add_enabled(loaded, egui::Button::new("Re-pack this file…")).clicked() {
                    commands.push(UiCommand::Repack(self.selected));
                    ui.close();
                }
                if ui.add(egui::Button::new("Open…").shortcut_text("Ctrl+O")).clicked() {
                    commands.push(UiCommand::Pick(Picker::Open));
                    ui.close();
                }
                if crate::platform::window::can_pick_folders() && ui.button("Verify folder…").clicked() {
                    commands.push(UiCommand::Pick(Picker::Folders));
                    ui.close();
                }
                if ui.button("Verify files…").clicked() {
                    commands.push(UiCommand::Pick(Picker::VerifyFiles));
                    ui.close();
                }
                if ui.button("Compare two files…").clicked() {
                    commands.push(UiCommand::Pick(Picker::Compare));
                    ui.close();
                }
                let others: Vec<(usize, &Document)> =
                    self.documents.iter().enumerate().filter(|(i, _)| *i != self.selected).collect();
                if let Some(current) = self.documents.get(self.selected)
                    && !others.is_empty()
                {
                    ui.menu_button("Compare this file with", |ui| {
                        for (_, other) in others {
                            if ui.button(other.title()).on_hover_text(other.file.display_name()).clicked() {
                                commands.push(UiCommand::Compare(current.file.clone(), other.file.clone()));
                                ui.close();
                            }
                        }
                    });
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent_files.is_empty() {
                        ui.weak("(none)");
                    }
                    for path in &self.settings.recent_files {
                        if ui.button(path.display().to_string()).clicked() {
                            commands.push(UiCommand::Open(FileInput::Path(path.clone())));
                            ui.close();
                        }
                    }
                    ui.separator();
                    if ui.button("Clear the list").clicked() {
                        commands.push(UiCommand::ClearRecent);
                        ui.close();
                    }
                });
                let has_document = !self.documents.is_empty();
                if ui.add_enabled(has_document, egui::Button::new("Close tab").shortcut_text("Ctrl+W")).clicked() {
                    commands.push(UiCommand::Close(self.selected));
                    ui.close();
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Settings", |ui| {
                if ui.button("Limits…").clicked() {
                    self.windows.limits = true;
                    ui.close();
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.button("Keyboard shortcuts").clicked() {
                    self.windows.shortcuts = true;
                    ui.close();
                }
                if ui.button("About").clicked() {
                    self.windows.about = true;
                    ui.close();
                }
            });
        });
    }

    fn dialogs_ui(&mut self, ctx: &egui::Context) {
        let mut show_limits = self.windows.limits;
        egui::Window::new("Limits").open(&mut show_limits).collapsible(false).resizable(false).show(ctx, |ui| {
            let mut limits = self.limits();
            if limits_ui(ui, &mut limits, self.limits_override.is_some()) {
                // An edit makes these the saved limits; the command line's no longer apply.
                self.settings.limits = limits;
                self.limits_override = None;
            }
        });
        self.windows.limits = show_limits;
        egui::Window::new("About RAIIAF Workbench").open(&mut self.windows.about).collapsible(false).show(ctx, |ui| {
            ui.label(format!("RAIIAF Workbench {}", env!("CARGO_PKG_VERSION")));
            ui.label("Viewer, verifier and packer for .raiiaf files.");
            ui.label("MIT licence.");
        });
        egui::Window::new("Keyboard shortcuts").open(&mut self.windows.shortcuts).collapsible(false).show(ctx, |ui| {
            egui::Grid::new("shortcuts").show(ui, |ui| {
                for (keys, action) in [
                    ("Ctrl+O", "open files"),
                    ("Ctrl+N", "pack a new file"),
                    ("Ctrl+W", "close the tab"),
                    ("Ctrl+Tab", "next file"),
                    ("wheel, + and -", "zoom the image (Image tab)"),
                    ("drag", "pan the image"),
                    ("F / 1", "fit the image / one pixel per point"),
                    ("click / double-click a heatmap", "select / enlarge a channel"),
                ] {
                    ui.monospace(keys);
                    ui.label(action);
                    ui.end_row();
                }
            });
        });
    }
}

/// Megabytes with one decimal, for download progress.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The tabs of the top bar: the open views that are not documents (packer, comparison), each
/// with its title, then one per document.
fn file_tabs_ui(
    ui: &mut egui::Ui,
    documents: &[Document],
    selected: Option<usize>,
    views: &[(View, String)],
    shown: View,
    commands: &mut Vec<UiCommand>,
) {
    ui.horizontal_wrapped(|ui| {
        for (view, title) in views {
            if ui.selectable_label(shown == *view, title).clicked() {
                commands.push(UiCommand::Show(*view));
            }
            if ui.small_button("x").on_hover_text("Close").clicked() {
                commands.push(UiCommand::CloseView(*view));
            }
            ui.separator();
        }
        for (index, document) in documents.iter().enumerate() {
            if ui
                .selectable_label(Some(index) == selected, document.title())
                .on_hover_text(document.file.display_name())
                .clicked()
            {
                commands.push(UiCommand::Select(index));
            }
            if ui.small_button("x").on_hover_text("Close (Ctrl+W)").clicked() {
                commands.push(UiCommand::Close(index));
            }
            ui.separator();
        }
    });
}

/// The Limits window's body; true when the user changed a value.
fn limits_ui(ui: &mut egui::Ui, limits: &mut Limits, from_command_line: bool) -> bool {
    ui.label(
        "What one file may make this program allocate. The defaults open every real file and refuse \
        decompression bombs. Changes apply to files opened from now on.",
    );
    if from_command_line {
        ui.weak("Set on the command line for this session; an edit here replaces them and is saved.");
    }
    ui.add_space(6.0);
    let before = *limits;
    egui::Grid::new("limits").num_columns(3).spacing([12.0, 6.0]).show(ui, |ui| {
        let rows: [(&str, &str, &mut u64); 4] = [
            (
                "Latent values",
                "values in one latent tensor, in a file or an imported .npy/.npz/.latent",
                &mut limits.max_latent_elements,
            ),
            (
                "Manifest bytes",
                "decompressed size of the manifest and of the environment snapshot",
                &mut limits.max_metadata_bytes,
            ),
            ("Image bytes", "size of the stored image file", &mut limits.max_image_bytes),
            (
                "Image pixels",
                "width x height of the stored image, when decoded for display",
                &mut limits.max_image_pixels,
            ),
        ];
        for (label, hint, value) in rows {
            ui.label(label);
            // Shown and typed the way the command-line flags take them: 256M, 64K, 1000.
            ui.add(
                egui::DragValue::new(value)
                    .range(1..=u64::MAX >> 1)
                    .speed(1 << 16)
                    .custom_formatter(|n, _| crate::format::reader::format_amount(n as u64))
                    .custom_parser(|text| crate::format::reader::parse_amount(text).ok().map(|n| n as f64)),
            );
            ui.weak(hint);
            ui.end_row();
        }
    });
    ui.add_space(6.0);
    if ui.button("Reset to defaults").clicked() {
        *limits = Limits::default();
    }
    *limits != before
}

fn start_screen_ui(ui: &mut egui::Ui, settings: &Settings, commands: &mut Vec<UiCommand>) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.heading("RAIIAF Workbench");
        ui.label("Drop .raiiaf or .gen5 files here, or open them.");
        if ui.button("Open files…").clicked() {
            commands.push(UiCommand::Pick(Picker::Open));
        }
        ui.add_space(8.0);
        ui.label("Drop a PNG with .npy, .npz or .latent files to pack them into a .raiiaf.");
        if ui.button("Pack files…").clicked() {
            commands.push(UiCommand::Pack(Vec::new()));
        }
        ui.add_space(8.0);
        ui.label(if crate::platform::window::can_pick_folders() {
            "Drop two files to compare them; drop three or more, or a folder, to verify them all."
        } else {
            "Drop two files to compare them; drop three or more to verify them all."
        });
        ui.horizontal(|ui| {
            // Centre the row of buttons under the centred labels.
            let width = if crate::platform::window::can_pick_folders() { 400.0 } else { 260.0 };
            ui.add_space((ui.available_width() - width).max(0.0) / 2.0);
            if ui.button("Compare two files…").clicked() {
                commands.push(UiCommand::Pick(Picker::Compare));
            }
            if ui.button("Verify files…").clicked() {
                commands.push(UiCommand::Pick(Picker::VerifyFiles));
            }
            if crate::platform::window::can_pick_folders() && ui.button("Verify folder…").clicked() {
                commands.push(UiCommand::Pick(Picker::Folders));
            }
        });
        if !settings.recent_files.is_empty() {
            ui.add_space(20.0);
            ui.strong("Recent files");
            for path in &settings.recent_files {
                if ui.link(path.display().to_string()).clicked() {
                    commands.push(UiCommand::Open(FileInput::Path(path.clone())));
                }
            }
        }
    });
}

fn document_ui(
    ui: &mut egui::Ui,
    index: usize,
    document: &mut Document,
    others: &[OtherEnvironment],
    settings: &mut Settings,
    machine: &MachineEnvironment,
    commands: &mut Vec<UiCommand>,
) {
    let loaded = match &document.state {
        Load::Loading(task) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("{}: {}", document.file.display_name(), task.stage()));
            });
            return;
        }
        Load::Failed(why) => {
            ui.colored_label(style::BAD, format!("{} could not be loaded: {why}", document.file.display_name()));
            return;
        }
        Load::Ready(loaded) => match loaded.as_ref() {
            Loaded::Container(file) => file,
            Loaded::Image(image) => {
                let name = document.file.display_name();
                if super::generated_image::generated_image_ui(ui, &mut document.image_view, image, &name) {
                    commands.push(UiCommand::Repack(index));
                }
                return;
            }
        },
    };
    let inspection = &loaded.inspection;
    ui.horizontal(|ui| {
        for tab in Tab::ALL {
            if ui.selectable_label(document.tab == tab, tab.title()).clicked() {
                commands.push(UiCommand::SetTab(tab));
            }
        }
    });
    if let Some(error) = &inspection.fatal {
        ui.colored_label(style::BAD, format!("This file cannot be read: {error}"));
    }
    ui.separator();
    let name = document.file.display_name();
    match document.tab {
        Tab::Latents => latents_tab_ui(
            ui,
            loaded,
            (&mut document.image_view, &mut document.latent_view),
            &mut settings.heatmaps,
            &name,
            commands,
        ),
        Tab::Image => match &loaded.image {
            Some(Ok(image)) => image_ui(ui, &mut document.image_view, image, &name),
            Some(Err(error)) => {
                ui.label(error);
            }
            None => {
                ui.label("No image in this file.");
            }
        },
        Tab::Manifest => manifest_ui(ui, inspection, &loaded.manifest_pretty, &mut document.manifest_search),
        Tab::Chunks => chunks_ui(ui, inspection, &mut settings.only_failed_checks),
        Tab::Environment => {
            let mut environment_commands = Vec::new();
            environment_ui(
                ui,
                inspection,
                machine,
                others,
                document.environment_reference.as_deref(),
                &mut settings.python,
                &mut settings.only_environment_differences,
                &mut environment_commands,
            );
            for command in environment_commands {
                match command {
                    EnvironmentCommand::Reprobe => commands.push(UiCommand::Reprobe),
                    EnvironmentCommand::CompareWith(name) => document.environment_reference = name,
                }
            }
        }
    }
}

/// The Latents tab: the image's thumbnail (a click opens the Image tab) beside the latents.
fn latents_tab_ui(
    ui: &mut egui::Ui,
    loaded: &LoadedFile,
    (image_view, latent_view): (&mut ImageViewState, &mut LatentViewState),
    heatmaps: &mut HeatmapSettings,
    name: &str,
    commands: &mut Vec<UiCommand>,
) {
    let inspection = &loaded.inspection;
    let stored_sizes: Vec<Option<u64>> =
        inspection.latents.iter().map(|l| inspection.records.get(l.record).and_then(|r| r.compressed_size)).collect();
    let mut exports = Vec::new();
    egui::ScrollArea::vertical().id_salt("latents-scroll").show(ui, |ui| {
        ui.horizontal_top(|ui| {
            match &loaded.image {
                Some(Ok(image)) => {
                    let response =
                        ui.vertical(|ui| thumbnail_ui(ui, image_view, image, name, egui::vec2(260.0, 260.0))).response;
                    if response.interact(egui::Sense::click()).on_hover_text("Open the Image tab").clicked() {
                        commands.push(UiCommand::SetTab(Tab::Image));
                    }
                }
                Some(Err(error)) => {
                    ui.label(error);
                }
                None => {
                    ui.label("No image in this file.");
                }
            }
            ui.vertical(|ui| {
                latents_ui(
                    ui,
                    latent_view,
                    heatmaps,
                    &inspection.latents,
                    &loaded.latent_stats,
                    &stored_sizes,
                    &mut exports,
                )
            });
        });
    });
    commands.extend(exports.into_iter().map(UiCommand::Export));
}

impl eframe::App for WorkbenchApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        if !dropped.is_empty() {
            let (task, done) = Background::pending(ctx);
            crate::platform::window::read_dropped(dropped, move |files| done.finish(Ok(files)));
            self.incoming.push(task);
        }
        self.harness.before_frame();
        self.poll_workers();
        self.shortcuts(ctx);
        // A command may queue others (a drop becomes opens); they run in this frame too. The
        // bound only guards against a command that queued itself forever.
        for _ in 0..8 {
            if self.pending.is_empty() {
                break;
            }
            let pending: Vec<UiCommand> = self.pending.drain(..).collect();
            for command in pending {
                self.apply(ctx, command);
            }
        }
        let shown = match (self.open_view(self.view), self.documents.get(self.selected)) {
            (Some(view), _) => Some(view.window_title()),
            (None, Some(document)) => Some(document.title()),
            (None, None) => None,
        };
        let title = shown.map_or_else(|| "RAIIAF Workbench".to_string(), |shown| format!("{shown} - RAIIAF Workbench"));
        if title != self.window_title {
            crate::platform::window::set_title(ctx, &title);
            self.window_title = title;
        }
        let all_loaded = self.all_loaded();
        self.harness.after_frame(ctx, all_loaded);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut commands = Vec::new();
        egui::Panel::top("menu-and-files").show(ui, |ui| {
            self.menu_ui(ui, &mut commands);
            ui.horizontal(|ui| {
                let document = self.documents.get(self.selected).filter(|_| self.view == View::Documents);
                if let Some(loaded) = document.and_then(Document::loaded) {
                    let inspection = &loaded.inspection;
                    verdict_badge(ui, inspection.verdict());
                    let passed = inspection.report.checks.iter().filter(|c| c.ok).count();
                    ui.label(format!("{passed} of {} checks passed", inspection.report.checks.len()));
                    if ui.button("Re-pack…").on_hover_text("Open the packer prefilled from this file").clicked() {
                        commands.push(UiCommand::Repack(self.selected));
                    }
                }
                let selected = (self.view == View::Documents).then_some(self.selected);
                let views: Vec<(View, String)> =
                    self.views.iter().map(|view| (view.kind(), view.tab_title())).collect();
                file_tabs_ui(ui, &self.documents, selected, &views, self.view, &mut commands);
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                match self.machine.result() {
                    _ if !crate::platform::can_see_machine() => {
                        ui.weak("in the browser: files are read here and never uploaded")
                    }
                    Some(probe) => ui.weak(format!("this machine: {} components probed", probe.components.len())),
                    None if self.machine.task.is_some() => ui.weak("probing this machine…"),
                    None => ui.weak("this machine not probed"),
                };
                for task in &self.incoming {
                    ui.separator();
                    ui.spinner();
                    ui.label(task.stage());
                }
                if let Some(status) = &self.status {
                    ui.separator();
                    ui.label(status);
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            let shown = self.view;
            if let Some(view) = self.views.iter_mut().find(|view| view.kind() == shown) {
                let mut view_commands = Vec::new();
                view.ui(ui, &self.machine, &mut view_commands);
                commands.extend(view_commands.into_iter().map(|command| match command {
                    ViewCommand::Open(file) => UiCommand::Open(file),
                    ViewCommand::Compare(a, b) => UiCommand::Compare(a, b),
                    ViewCommand::Export(request) => UiCommand::Export(request),
                    ViewCommand::ExportFolderReport => UiCommand::ExportFolderReport,
                    ViewCommand::SaveBatchReport(bytes) => UiCommand::SaveBatchReport(bytes),
                    ViewCommand::Close(kind) => UiCommand::CloseView(kind),
                }));
                return;
            }
            let others = self.other_environments();
            match self.documents.get_mut(self.selected) {
                None => start_screen_ui(ui, &self.settings, &mut commands),
                Some(document) => {
                    document_ui(ui, self.selected, document, &others, &mut self.settings, &self.machine, &mut commands)
                }
            }
        });
        let ctx = ui.ctx().clone();
        self.dialogs_ui(&ctx);
        if self.harness.waits_for_first_frame() && self.first_frame_complete() {
            self.harness.first_frame_drawn(&ctx);
        }
        for command in commands {
            self.apply(&ctx, command);
        }
        // What those queued runs at the next frame: ask for one, as no input may come to cause it.
        if !self.pending.is_empty() {
            ctx.request_repaint();
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.harness.persists_settings() {
            eframe::set_value(storage, eframe::APP_KEY, &self.settings);
        }
    }
}
