//! The web page's entry points: starting the app on the page's canvas (what [`super::run`] is
//! for the desktop), showing a panic on the page, and `raiiafInspect` for scripts.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::wasm_bindgen;

use super::{StartOptions, WorkbenchApp};
use crate::format::Limits;
use crate::platform::window::js_error;

/// The page's elements (packaging/web/index.html).
const CANVAS_ID: &str = "raiiaf_canvas";
const MESSAGE_ID: &str = "raiiaf_message";

/// Puts `text` in the page's message box, over the canvas.
fn show_message(text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Some(element) = document.get_element_by_id(MESSAGE_ID) {
        element.set_text_content(Some(text));
        let _ = element.set_attribute("class", "shown");
    }
}

fn hide_message() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Some(element) = document.get_element_by_id(MESSAGE_ID) {
        let _ = element.set_attribute("class", "");
    }
}

/// A panic stops the app for good (wasm cannot unwind): say so on the page, with the message,
/// instead of leaving a frozen canvas.
fn show_panics_on_page() {
    std::panic::set_hook(Box::new(|info| {
        let text = format!(
            "RAIIAF Workbench stopped: {info}\n\nReload the page to start again. Please report this, with the file if you can share it."
        );
        web_sys::console::error_1(&text.clone().into());
        show_message(&text);
    }));
}

/// How the page's address asks the app to start: `?url=FILE` (repeatable) opens files, `tab=`
/// picks their tab (latents, image, manifest, chunks, environment), `timing` reports the first
/// complete frame in `window.raiiafLog`.
fn start_options() -> StartOptions {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else { return StartOptions::default() };
    let urls: Vec<String> =
        params.get_all("url").iter().filter_map(|value| value.as_string()).filter(|url| !url.is_empty()).collect();
    let tab = params.get("tab").and_then(|name| <super::Tab as clap::ValueEnum>::from_str(&name, true).ok());
    StartOptions { urls, tab, timing: params.has("timing"), ..StartOptions::default() }
}

/// Starts the app on the page's canvas; called when the module loads.
pub fn start() {
    show_panics_on_page();
    let options = start_options();
    wasm_bindgen_futures::spawn_local(async move {
        let canvas = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(CANVAS_ID))
            .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok());
        let Some(canvas) = canvas else {
            show_message(&format!("This page has no canvas with the id {CANVAS_ID}."));
            return;
        };
        let started = eframe::WebRunner::new()
            .start(
                canvas,
                eframe::WebOptions::default(),
                Box::new(move |cc| Ok(Box::new(WorkbenchApp::new(&cc.egui_ctx, options, cc.storage)))),
            )
            .await;
        match started {
            Ok(()) => hide_message(),
            Err(error) => show_message(&format!("RAIIAF Workbench could not start: {}", js_error(error))),
        }
    });
}

/// What `raiiaf info --json` prints for a file holding `bytes`, as JSON text; `name` stands in
/// for the path. The page wraps it as `window.raiiafInspect(bytes)`, which returns the object.
#[wasm_bindgen(js_name = raiiafInspectJson)]
pub fn inspect_json(bytes: &[u8], name: Option<String>) -> String {
    let inspection = crate::format::inspect(bytes, &Limits::default());
    crate::format::info::info_json(name.as_deref().unwrap_or_default(), &inspection).to_string()
}
