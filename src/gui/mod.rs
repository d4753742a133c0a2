//! The desktop window: a viewer for `.raiiaf` files (image, latent heatmaps, manifest,
//! chunks and checks, environment against this machine's).

mod app;
mod batch_view;
mod chunks_view;
mod compare_view;
mod document;
mod environment_view;
mod folder_view;
mod generated_image;
mod harness;
mod image_view;
mod latent_view;
#[cfg(target_os = "macos")]
mod macos_open;
mod manifest_view;
mod open_view;
mod packer;
pub mod single_instance;
mod style;
#[cfg(target_arch = "wasm32")]
pub mod web;
mod worker;

pub use app::{Settings, StartOptions, UiCommand, WorkbenchApp};
pub use compare_view::{CompareSection, CompareView, ImageMode};
pub use document::{Document, Tab};
pub use folder_view::FolderView;
pub use latent_view::{HeatmapSettings, heatmap_png, slice_npy};
pub use open_view::{OpenView, View};
pub use packer::{CodecChoice, EnvironmentChoice, Wizard, WizardStep};
pub use worker::Load;

#[cfg(not(target_arch = "wasm32"))]
const WINDOW_ICON_PNG: &[u8] = include_bytes!("../../assets/icons/hicolor/64x64/apps/raiiaf-workbench.png");

/// The renderers to start the window with, in order: wgpu (Vulkan, Metal, DirectX), then glow
/// (OpenGL) when wgpu cannot start (no working GPU driver, a remote desktop, Wine).
/// `RAIIAF_RENDERER=glow` or `=wgpu` asks for one alone.
#[cfg(not(target_arch = "wasm32"))]
fn renderers_to_try() -> Vec<eframe::Renderer> {
    match std::env::var("RAIIAF_RENDERER").as_deref() {
        Ok("glow") => vec![eframe::Renderer::Glow],
        Ok("wgpu") => vec![eframe::Renderer::Wgpu],
        _ => vec![eframe::Renderer::Wgpu, eframe::Renderer::Glow],
    }
}

/// The renderer the window started with, and for wgpu its adapter (software or a GPU).
#[cfg(not(target_arch = "wasm32"))]
fn renderer_in_use(cc: &eframe::CreationContext<'_>) -> String {
    match (&cc.wgpu_render_state, &cc.gl) {
        (Some(state), _) => {
            let info = state.adapter.get_info();
            format!("wgpu ({:?}, {})", info.backend, info.name)
        }
        (None, Some(_)) => "glow (OpenGL)".to_string(),
        (None, None) => "an unknown renderer".to_string(),
    }
}

/// Opens the window and blocks until it closes. With a screenshot requested, fails when the
/// screenshot could not be taken. (The web page starts from [`web::start`] instead.)
#[cfg(not(target_arch = "wasm32"))]
pub fn run(options: StartOptions) -> Result<(), String> {
    // Only the plain "open these files" start joins a running window; screenshots, comparisons
    // and starts that choose a tab, step or size stay independent of it.
    let joins_running_window = options.screenshot.is_none()
        && !options.compare
        && options.tab.is_none()
        && options.step.is_none()
        && options.size.is_none();
    crate::platform::window::close_console_made_for_this_process();
    let (inbox, open_requests) = single_instance::OpenInbox::new();
    // Held to the end of this function: the socket is served until the window has closed.
    let _listener = match joins_running_window.then(|| single_instance::start(&options.files, &inbox)) {
        Some(single_instance::Startup::HandedOff(count)) => {
            eprintln!("raiiaf: {count} file(s) handed to the running window");
            return Ok(());
        }
        Some(single_instance::Startup::Listening(listener)) => Some(listener),
        Some(single_instance::Startup::Alone) | None => None,
    };
    // Finder hands files to an app as Apple Events, not as arguments.
    #[cfg(target_os = "macos")]
    let _open_documents = joins_running_window.then(|| macos_open::OpenDocumentsHandler::install(&inbox)).flatten();
    let size = options.size.unwrap_or([1280.0, 860.0]);
    let screenshot_wanted = options.screenshot.is_some();
    let mut viewport =
        egui::ViewportBuilder::default().with_inner_size(size).with_drag_and_drop(true).with_app_id("raiiaf-workbench");
    // The title bar's and taskbar's icon (the desktop entry names the installed one).
    if let Ok(icon) = eframe::icon_data::from_png_bytes(WINDOW_ICON_PNG) {
        viewport = viewport.with_icon(icon);
    }
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
    let open_requests = std::cell::Cell::new(Some(open_requests));
    let mut failures = Vec::new();
    for renderer in renderers_to_try() {
        let native = eframe::NativeOptions { viewport: viewport.clone(), renderer, ..Default::default() };
        let attempt = eframe::run_native(
            "RAIIAF Workbench",
            native,
            Box::new(|cc| {
                let mut app = WorkbenchApp::new(&cc.egui_ctx, options.clone(), cc.storage);
                inbox.set_context(&cc.egui_ctx);
                app.open_requests = open_requests.take();
                if let Some(shared) = app.screenshot_outcome()
                    && let Ok(mut slot) = outcome.lock()
                {
                    *slot = Some(shared);
                }
                eprintln!("raiiaf: drawing with {}", renderer_in_use(cc));
                Ok(Box::new(app))
            }),
        );
        match attempt {
            Ok(()) => break,
            Err(error) => {
                eprintln!("raiiaf: the {renderer} renderer could not start: {error}");
                failures.push(format!("{renderer}: {error}"));
            }
        }
    }
    if failures.len() == renderers_to_try().len() {
        return Err(format!("no renderer could start ({})", failures.join("; ")));
    }
    if !screenshot_wanted {
        return Ok(());
    }
    let result = outcome.lock().ok().and_then(|slot| slot.clone()).and_then(|shared| shared.lock().ok()?.clone());
    result.unwrap_or_else(|| Err("the window closed before the screenshot was taken".into()))
}
