//! The browser's side of [`crate::platform::window`]: the page's one thread, promises, `<input
//! type=file>` (through rfd), downloads through a Blob URL, and `fetch`.

use std::path::PathBuf;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, spawn_local};

use crate::platform::FileInput;
use crate::platform::window::Filter;

pub const CAN_PICK_FOLDERS: bool = false;

/// eframe's web runner leaves the page's title alone.
pub fn set_title(_ctx: &egui::Context, title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

/// The page's clock starts at navigation; there is nothing to mark.
pub fn mark_start() {}

pub fn millis_since_start() -> Option<f64> {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now())
}

pub fn say(line: &str) {
    web_sys::console::log_1(&line.into());
    let Some(window) = web_sys::window() else { return };
    let log = js_sys::Reflect::get(&window, &"raiiafLog".into()).ok().and_then(|v| v.dyn_into::<js_sys::Array>().ok());
    let log = log.unwrap_or_else(|| {
        let fresh = js_sys::Array::new();
        let _ = js_sys::Reflect::set(&window, &"raiiafLog".into(), &fresh);
        fresh
    });
    log.push(&line.into());
}

/// The most a fetched file may hold: the page's memory is 4 GiB in all, and the decoded file
/// needs room beside it.
const MAX_FETCH_BYTES: usize = 1 << 31;

/// A JavaScript error as text.
pub fn js_error(value: JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// Resolves once the browser has drawn the frame in progress: the next animation frame, then a
/// task after it.
async fn after_next_paint() {
    let Some(window) = web_sys::window() else { return };
    let frame = js_sys::Promise::new(&mut |resolve, _| {
        if window.request_animation_frame(&resolve).is_err() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(frame).await;
    let task = js_sys::Promise::new(&mut |resolve, _| {
        if window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0).is_err() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(task).await;
}

pub fn spawn(task: impl FnOnce() + Send + 'static) {
    spawn_local(async move {
        after_next_paint().await;
        task();
    });
}

fn dialog(title: &str, filters: &[Filter<'_>]) -> rfd::AsyncFileDialog {
    filters.iter().fold(rfd::AsyncFileDialog::new().set_title(title), |dialog, (name, extensions)| {
        dialog.add_filter(*name, extensions)
    })
}

pub fn pick_files(title: &str, filters: &[Filter<'_>], then: impl FnOnce(Vec<FileInput>) + Send + 'static) {
    let dialog = dialog(title, filters);
    spawn_local(async move {
        let mut inputs = Vec::new();
        for handle in dialog.pick_files().await.unwrap_or_default() {
            let bytes = handle.read().await;
            inputs.push(FileInput::memory(handle.file_name(), bytes));
        }
        then(inputs);
    });
}

pub fn pick_folders(_title: &str, then: impl FnOnce(Vec<PathBuf>) + Send + 'static) {
    then(Vec::new())
}

/// Offers `bytes` as a download named `name`.
fn download(name: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let document = window.document().ok_or_else(|| JsValue::from_str("no document"))?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // The download reads the URL after this returns; free it a minute later, not at once.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    window.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000)?;
    Ok(())
}

pub fn save_file(
    _title: &str,
    suggested_name: &str,
    _filters: &[Filter<'_>],
    contents: impl FnOnce(&str) -> Result<Vec<u8>, String> + Send + 'static,
    then: impl FnOnce(Result<Option<FileInput>, String>) + Send + 'static,
) {
    then(contents(suggested_name).and_then(|bytes| {
        download(suggested_name, &bytes).map_err(js_error)?;
        Ok(Some(FileInput::memory(suggested_name, bytes)))
    }))
}

pub fn read_dropped(files: Vec<egui::DroppedFileHandle>, then: impl FnOnce(Vec<FileInput>) + Send + 'static) {
    spawn_local(async move {
        let mut inputs = Vec::new();
        for file in files {
            let name = file.path().file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            // A file the browser cannot read becomes an empty one: it then opens with the
            // reader's "not a container" report instead of vanishing.
            let bytes = file.bytes_async().await.unwrap_or_default();
            inputs.push(FileInput::memory(name, bytes));
        }
        then(inputs);
    });
}

/// The last segment of the URL's path, decoded: the name the file is shown under.
fn file_name_of(url: &str) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    let path = web_sys::Url::new_with_base(url, &base).map(|u| u.pathname()).unwrap_or_else(|_| url.to_owned());
    let last = path.rsplit('/').next().unwrap_or_default();
    let decoded = js_sys::decode_uri_component(last).ok().and_then(|s| s.as_string());
    match decoded.unwrap_or_else(|| last.to_owned()) {
        name if name.is_empty() => "download.raiiaf".to_owned(),
        name => name,
    }
}

async fn fetch_bytes(url: &str, progress: &dyn Fn(u64, Option<u64>)) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("the page has no window")?;
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str(url)).await.map_err(js_error)?.dyn_into().map_err(js_error)?;
    if !response.ok() {
        return Err(format!("the server answered {} {}", response.status(), response.status_text()));
    }
    let total = response.headers().get("content-length").ok().flatten().and_then(|text| text.parse::<u64>().ok());
    if total.is_some_and(|total| total > MAX_FETCH_BYTES as u64) {
        return Err(format!("{} bytes is more than the page can hold ({MAX_FETCH_BYTES})", total.unwrap_or(0)));
    }
    let body = response.body().ok_or("the response has no body")?;
    let reader: web_sys::ReadableStreamDefaultReader =
        body.get_reader().dyn_into().map_err(|object| js_error(object.into()))?;
    let mut bytes: Vec<u8> = Vec::with_capacity(usize::try_from(total.unwrap_or(0)).unwrap_or(0));
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(js_error)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map_err(js_error)?.as_bool().unwrap_or(true);
        if done {
            return Ok(bytes);
        }
        let value: js_sys::Uint8Array =
            js_sys::Reflect::get(&chunk, &"value".into()).map_err(js_error)?.dyn_into().map_err(js_error)?;
        let start = bytes.len();
        let end = start.checked_add(value.length() as usize).filter(|&end| end <= MAX_FETCH_BYTES);
        let end = end.ok_or_else(|| format!("more than the page can hold ({MAX_FETCH_BYTES} bytes)"))?;
        bytes.resize(end, 0);
        if let Some(slot) = bytes.get_mut(start..end) {
            value.copy_to(slot);
        }
        progress(end as u64, total);
    }
}

pub fn fetch(
    url: &str,
    progress: impl Fn(u64, Option<u64>) + 'static,
    then: impl FnOnce(Result<FileInput, String>) + Send + 'static,
) {
    let url = url.to_owned();
    spawn_local(async move {
        let fetched = fetch_bytes(&url, &progress).await;
        then(fetched.map(|bytes| FileInput::memory(file_name_of(&url), bytes)).map_err(|e| format!("{url}: {e}")));
    });
}
