//! An open file: decoded on a worker thread into what the views need, plus the view state
//! that belongs to that file (tab, zoom, axis mapping).

use crate::format::{Inspection, Limits, Stats};
use crate::platform::FileInput;

use super::generated_image::LoadedImage;
use super::image_view::{ImageViewState, PreparedImage};
use super::latent_view::LatentViewState;
use super::worker::{Load, Progress};

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

/// What an open file turned out to be.
pub enum Loaded {
    Container(LoadedFile),
    /// A PNG, JPEG or WebP on its own: the image and the parameters it carries.
    Image(LoadedImage),
}

/// An image file (by its name): shown with its parameters rather than read as a container.
pub fn is_image_file(file: &FileInput) -> bool {
    crate::pack::batch::extension_in(std::path::Path::new(&file.name()), &crate::pack::batch::IMAGE_EXTENSIONS)
}

fn load_image(file: &FileInput, max_texture_side: usize, limits: &Limits, progress: &Progress) -> LoadedImage {
    progress.set_stage("reading the image and its metadata");
    match read_image(file, limits) {
        Ok(bytes) => super::generated_image::load(&bytes, max_texture_side, limits),
        Err(error) => LoadedImage::failed(&error),
    }
}

/// The image file's bytes; one over the image size limit is refused without being read whole.
fn read_image<'a>(file: &'a FileInput, limits: &Limits) -> Result<std::borrow::Cow<'a, [u8]>, String> {
    file.read_within(limits.max_image_bytes).map_err(|e| format!("cannot read {}: {e}", file.display_name()))
}

pub struct Document {
    pub file: FileInput,
    pub state: Load<Loaded>,
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
        let state = if is_image_file(&file) {
            Load::start(ctx, move |progress| {
                Loaded::Image(load_image(&worker_file, max_texture_side, &limits, progress))
            })
        } else {
            Load::start(ctx, move |progress| Loaded::Container(load(&worker_file, max_texture_side, &limits, progress)))
        };
        Document {
            file,
            state,
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

    /// The container, once loaded (`None` for an image document).
    pub fn loaded(&self) -> Option<&LoadedFile> {
        match self.state.ready()? {
            Loaded::Container(file) => Some(file),
            Loaded::Image(_) => None,
        }
    }
}
