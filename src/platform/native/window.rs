//! The desktop's side of [`crate::platform::window`]: threads and rfd's native dialogs, run on
//! a worker so that the window keeps drawing while a dialog is open.

use std::path::PathBuf;

use crate::platform::FileInput;
use crate::platform::window::Filter;

pub const CAN_PICK_FOLDERS: bool = true;

static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn set_title(ctx: &egui::Context, title: &str) {
    ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.to_owned()));
}

pub fn mark_start() {
    START.get_or_init(std::time::Instant::now);
}

pub fn millis_since_start() -> Option<f64> {
    START.get().map(|start| start.elapsed().as_secs_f64() * 1000.0)
}

#[cfg(windows)]
pub fn close_console_made_for_this_process() {
    use windows_sys::Win32::System::Console::{
        FreeConsole, GetConsoleMode, GetConsoleProcessList, GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE,
        STD_OUTPUT_HANDLE, SetStdHandle,
    };
    let mut processes = [0u32; 2];
    // SAFETY: the list has room for the 2 ids asked for; the count says how many are attached.
    let attached = unsafe { GetConsoleProcessList(processes.as_mut_ptr(), 2) };
    if attached != 1 {
        return;
    }
    // The standard handles that are the console's, found before it goes (redirected ones stay).
    let console_handles: Vec<_> = [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE]
        .into_iter()
        .filter(|&which| {
            let mut mode = 0;
            // SAFETY: GetStdHandle has no preconditions; GetConsoleMode only writes `mode`, and
            // fails for a handle that is no console's.
            unsafe { GetConsoleMode(GetStdHandle(which), &mut mode) != 0 }
        })
        .collect();
    // SAFETY: detaches this process from its console, then clears the handles that were the
    // console's: std writes nothing to a missing handle, where a stale one could fail or reach
    // whatever reuses its value.
    unsafe {
        FreeConsole();
        for which in console_handles {
            SetStdHandle(which, std::ptr::null_mut());
        }
    }
}

#[cfg(not(windows))]
pub fn close_console_made_for_this_process() {}

pub fn say(line: &str) {
    eprintln!("{line}");
}

pub fn spawn(task: impl FnOnce() + Send + 'static) {
    std::thread::spawn(task);
}

fn dialog(title: &str, filters: &[Filter<'_>]) -> rfd::FileDialog {
    filters.iter().fold(rfd::FileDialog::new().set_title(title), |dialog, (name, extensions)| {
        dialog.add_filter(*name, extensions)
    })
}

pub fn pick_files(title: &str, filters: &[Filter<'_>], then: impl FnOnce(Vec<FileInput>) + Send + 'static) {
    let dialog = dialog(title, filters);
    spawn(move || then(dialog.pick_files().unwrap_or_default().into_iter().map(FileInput::Path).collect()));
}

pub fn pick_folders(title: &str, then: impl FnOnce(Vec<PathBuf>) + Send + 'static) {
    let dialog = rfd::FileDialog::new().set_title(title);
    spawn(move || then(dialog.pick_folders().unwrap_or_default()));
}

pub fn save_file(
    title: &str,
    suggested_name: &str,
    filters: &[Filter<'_>],
    contents: impl FnOnce(&str) -> Result<Vec<u8>, String> + Send + 'static,
    then: impl FnOnce(Result<Option<FileInput>, String>) + Send + 'static,
) {
    let dialog = dialog(title, filters).set_file_name(suggested_name);
    let extensions: Vec<String> = filters.iter().flat_map(|(_, e)| e.iter().map(|e| e.to_string())).collect();
    spawn(move || {
        let Some(path) = dialog.save_file() else { return then(Ok(None)) };
        let path = with_extension_from(path, &extensions);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // The dialog has already asked before replacing an existing file.
        then(contents(&name).and_then(|bytes| {
            crate::format::write_atomic(&path, &bytes, true).map_err(|e| e.to_string())?;
            Ok(Some(FileInput::Path(path)))
        }))
    });
}

/// The chosen path, with the first of `extensions` added when its name ends in none of them
/// (dialogs on some desktops do not add it); unchanged when there are none.
fn with_extension_from(path: PathBuf, extensions: &[String]) -> PathBuf {
    let has =
        path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)));
    match extensions.first() {
        Some(first) if !has => {
            let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(format!(".{first}"));
            path.with_file_name(name)
        }
        _ => path,
    }
}

pub fn read_dropped(files: Vec<egui::DroppedFileHandle>, then: impl FnOnce(Vec<FileInput>) + Send + 'static) {
    then(
        files
            .iter()
            .map(|file| file.path().to_path_buf())
            .filter(|path| !path.as_os_str().is_empty())
            .map(FileInput::Path)
            .collect(),
    )
}

pub fn fetch(
    url: &str,
    _progress: impl Fn(u64, Option<u64>) + 'static,
    then: impl FnOnce(Result<FileInput, String>) + Send + 'static,
) {
    then(Err(format!("{url}: the desktop app opens files from disk; download it first")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_name_gets_the_filters_first_extension_unless_it_has_one_of_them() {
        let raiiaf = ["raiiaf".to_string()];
        let reports = ["json".to_string(), "csv".to_string()];
        for (path, extensions, expected) in [
            ("/t/out", &raiiaf[..], "/t/out.raiiaf"),
            ("/t/a.png", &raiiaf[..], "/t/a.png.raiiaf"),
            ("/t/b.RAIIAF", &raiiaf[..], "/t/b.RAIIAF"),
            ("/t/report", &reports[..], "/t/report.json"),
            ("/t/report.CSV", &reports[..], "/t/report.CSV"),
            ("/t/heatmaps.png", &[][..], "/t/heatmaps.png"),
        ] {
            assert_eq!(with_extension_from(PathBuf::from(path), extensions), PathBuf::from(expected), "{path}");
        }
    }
}
