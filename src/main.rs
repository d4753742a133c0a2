//! `raiiaf`: the command line and the window on a desktop; the web page's start in a browser.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    raiiaf_workbench::platform::window::mark_start();
    raiiaf_workbench::platform::write_errors_instead_of_file_size_kills();
    raiiaf_workbench::cli::main()
}

/// wasm-bindgen runs this when the page loads the module.
#[cfg(target_arch = "wasm32")]
fn main() {
    raiiaf_workbench::gui::web::start();
}
