//! What the window needs from its platform: running slow work off the frame, choosing files,
//! saving files, reading dropped files and fetching URLs. Every result arrives through a callback,
//! because the browser delivers them as promises where a desktop blocks a thread.

use super::FileInput;
use super::current::window as current;

/// A file-type filter of a dialog: its label and extensions without the dot.
pub type Filter<'a> = (&'a str, &'a [&'a str]);

/// Runs `task` off the current frame: on its own thread where there are threads; in the browser
/// on the page's one thread, after the frame in progress has been drawn (so the page can show
/// that work has started before it blocks).
pub fn spawn(task: impl FnOnce() + Send + 'static) {
    current::spawn(task)
}

/// Asks for files to open; `then` gets them (nothing when the dialog was cancelled). In the
/// browser the chosen files are read into memory first.
pub fn pick_files(title: &str, filters: &[Filter<'_>], then: impl FnOnce(Vec<FileInput>) + Send + 'static) {
    current::pick_files(title, filters, then)
}

/// Whether [`pick_folders`] can ask for folders (a page sees no folders).
pub fn can_pick_folders() -> bool {
    current::CAN_PICK_FOLDERS
}

/// Asks for folders; `then` gets them (nothing when cancelled or where there are no folders).
pub fn pick_folders(title: &str, then: impl FnOnce(Vec<std::path::PathBuf>) + Send + 'static) {
    current::pick_folders(title, then)
}

/// Saves a file the user names, starting from `suggested_name`: a save dialog and an atomic
/// write on a desktop, a download in the browser. `contents` makes the bytes for the name chosen
/// (a report's format follows its extension). `then` gets the file saved (`None` when cancelled;
/// in the browser, the bytes downloaded) or why it was not.
pub fn save_file(
    title: &str,
    suggested_name: &str,
    filters: &[Filter<'_>],
    contents: impl FnOnce(&str) -> Result<Vec<u8>, String> + Send + 'static,
    then: impl FnOnce(Result<Option<FileInput>, String>) + Send + 'static,
) {
    current::save_file(title, suggested_name, filters, contents, then)
}

/// The files dropped on the window, as inputs: their paths on a desktop, their bytes (read
/// asynchronously) in the browser.
pub fn read_dropped(files: Vec<egui::DroppedFileHandle>, then: impl FnOnce(Vec<FileInput>) + Send + 'static) {
    current::read_dropped(files, then)
}

/// Downloads `url` (the page's own site, or one that allows it by CORS); `progress` hears the
/// bytes received and the total when the server says it. Only the browser fetches; a desktop
/// opens files from disk and says so.
pub fn fetch(
    url: &str,
    progress: impl Fn(u64, Option<u64>) + 'static,
    then: impl FnOnce(Result<FileInput, String>) + Send + 'static,
) {
    current::fetch(url, progress, then)
}

/// A JavaScript error as text (the web page's entry points report with it).
#[cfg(target_arch = "wasm32")]
pub use super::current::window::js_error;

/// Closes the console Windows opened for this process alone, as it does for a program of the
/// console subsystem started by a double-click, so that no empty console sits behind the window.
/// A console shared with a terminal the user typed the command in is kept (and nothing happens
/// on other systems). Only a desktop opens windows this way.
#[cfg(not(target_arch = "wasm32"))]
pub fn close_console_made_for_this_process() {
    current::close_console_made_for_this_process()
}

/// Shows `title` as the window's title (the page's, in the browser).
pub fn set_title(ctx: &egui::Context, title: &str) {
    current::set_title(ctx, title)
}

/// Marks the start of the program, for [`millis_since_start`]; `main` calls it first thing.
pub fn mark_start() {
    current::mark_start()
}

/// Milliseconds since the program started (on a desktop, since [`mark_start`]) or since the page
/// was navigated to (in the browser), for start-up timings.
pub fn millis_since_start() -> Option<f64> {
    current::millis_since_start()
}

/// A line for whoever runs the app: stderr on a desktop; in the browser the console and the
/// page's `window.raiiafLog` list, where scripts and tests read it.
pub fn say(line: &str) {
    current::say(line)
}
