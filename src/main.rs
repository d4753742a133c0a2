fn main() -> std::process::ExitCode {
    raiiaf_workbench::cli::main()
}
