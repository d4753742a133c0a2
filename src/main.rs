fn main() -> std::process::ExitCode {
    raiiaf_workbench::gui::PROCESS_START.get_or_init(std::time::Instant::now);
    raiiaf_workbench::cli::main()
}
