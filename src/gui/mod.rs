//! The desktop window: a viewer for `.raiiaf` files (image, latent heatmaps, manifest,
//! chunks and checks, environment against this machine's).

mod app;
mod chunks_view;
mod compare_view;
mod document;
mod environment_view;
mod folder_view;
mod image_view;
mod latent_view;
mod manifest_view;
mod packer;
mod worker;

/// When the process started (set first thing in `main`), for `RAIIAF_TIMING=1`'s report.
pub static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub use app::{Settings, StartOptions, UiCommand, View, WorkbenchApp};
pub use compare_view::{CompareSection, CompareView, ImageMode};
pub use folder_view::FolderView;
pub use document::{Document, DocumentState, Tab};
pub use latent_view::{HeatmapSettings, heatmap_png, slice_npy};
pub use packer::{CodecChoice, EnvironmentChoice, MetadataForm, Wizard, WizardStep};

/// Opens the window and blocks until it closes. With a screenshot requested, fails when the
/// screenshot could not be taken.
pub fn run(options: StartOptions) -> Result<(), String> {
    let size = options.size.unwrap_or([1280.0, 860.0]);
    let screenshot_wanted = options.screenshot.is_some();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size(size)
            .with_drag_and_drop(true)
            .with_app_id("raiiaf-workbench"),
        ..Default::default()
    };
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
    let app_outcome = outcome.clone();
    eframe::run_native(
        "RAIIAF Workbench",
        native,
        Box::new(move |cc| {
            let app = WorkbenchApp::new(&cc.egui_ctx, options, cc.storage);
            if let Some(shared) = app.screenshot_outcome()
                && let Ok(mut slot) = app_outcome.lock()
            {
                *slot = Some(shared);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| e.to_string())?;
    if !screenshot_wanted {
        return Ok(());
    }
    let result = outcome.lock().ok().and_then(|slot| slot.clone()).and_then(|shared| shared.lock().ok()?.clone());
    result.unwrap_or_else(|| Err("the window closed before the screenshot was taken".into()))
}
