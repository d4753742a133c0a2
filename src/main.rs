fn main() -> std::process::ExitCode {
    raiiaf_workbench::gui::PROCESS_START.get_or_init(std::time::Instant::now);
    raiiaf_workbench::platform::write_errors_instead_of_file_size_kills();
    raiiaf_workbench::cli::main()
}
