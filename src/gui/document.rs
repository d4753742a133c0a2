//! An open file: decoded on a worker thread into what the views need, plus the view state
//! that belongs to that file (tab, zoom, axis mapping).

use crate::format::{Inspection, Limits, Stats};
use crate::platform::FileInput;

use super::image_view::{ImageViewState, PreparedImage};
use super::latent_view::LatentViewState;
use super::worker::{Background, Progress};

/// The file's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
pub enum Tab {
    #[default]
    Latents,
    Image,
    Manifest,
    Chunks,
    Environment,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Latents, Tab::Image, Tab::Manifest, Tab::Chunks, Tab::Environment];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Latents => "Latents",
            Tab::Image => "Image",
            Tab::Manifest => "Manifest",
            Tab::Chunks => "Chunks & checks",
            Tab::Environment => "Environment",
        }
    }
}

/// Everything decoded from a file, off the UI thread.
pub struct LoadedFile {
    pub inspection: Inspection,
    /// `None` when the file has no image; `Some(Err)` when its bytes are not a decodable image.
    pub image: Option<Result<PreparedImage, String>>,
    /// Statistics over each whole latent, in `inspection.latents` order.
    pub latent_stats: Vec<Stats>,
    /// The stored manifest, pretty-printed for the Manifest tab.
    pub manifest_pretty: String,
}

pub fn load(file: &FileInput, max_texture_side: usize, limits: &Limits, progress: &Progress) -> LoadedFile {
    progress.set_stage("reading and checking");
    let inspection = file.inspect(limits);
    if progress.is_cancelled() {
        return LoadedFile { inspection, image: None, latent_stats: Vec::new(), manifest_pretty: String::new() };
    }
    progress.set_stage("decoding the image");
    let image = inspection.image.as_ref().map(|image| PreparedImage::decode(&image.bytes, max_texture_side, limits));
    progress.set_stage("latent statistics");
    let latent_stats = inspection.latents.iter().map(|decoded| decoded.latent.stats()).collect();
    let manifest_pretty =
        inspection.manifest.as_ref().and_then(|m| serde_json::to_string_pretty(m).ok()).unwrap_or_default();
    LoadedFile { inspection, image, latent_stats, manifest_pretty }
}

pub enum DocumentState {
    Loading(Background<LoadedFile>),
    Ready(Box<LoadedFile>),
    /// The worker ended without a result.
    Failed,
}

pub struct Document {
    pub file: FileInput,
    pub state: DocumentState,
    pub tab: Tab,
    pub image_view: ImageViewState,
    pub latent_view: LatentViewState,
    pub manifest_search: String,
    /// The open file whose environment the Environment tab compares with (`None`: this machine).
    pub environment_reference: Option<String>,
}

impl Document {
    pub fn open(ctx: &egui::Context, file: FileInput, tab: Tab, limits: Limits) -> Document {
        let max_texture_side = ctx.input(|i| i.max_texture_side);
        let worker_file = file.clone();
        let task = Background::spawn(ctx, move |progress| load(&worker_file, max_texture_side, &limits, progress));
        Document {
            file,
            state: DocumentState::Loading(task),
            tab,
            image_view: ImageViewState::default(),
            latent_view: LatentViewState::default(),
            manifest_search: String::new(),
            environment_reference: None,
        }
    }

    pub fn title(&self) -> String {
        self.file.name()
    }

    /// Moves a finished load into place; true when something changed.
    pub fn poll(&mut self) -> bool {
        let DocumentState::Loading(task) = &mut self.state else { return false };
        match task.poll() {
            Some(loaded) => {
                self.state = DocumentState::Ready(Box::new(loaded));
                true
            }
            None if task.is_finished() => {
                self.state = DocumentState::Failed;
                true
            }
            None => false,
        }
    }

    pub fn loaded(&self) -> Option<&LoadedFile> {
        match &self.state {
            DocumentState::Ready(loaded) => Some(loaded),
            _ => None,
        }
    }
}
