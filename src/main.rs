fn main() -> std::process::ExitCode {
    raiiaf_workbench::gui::PROCESS_START.get_or_init(std::time::Instant::now);
    // A write past the process's file-size limit (RLIMIT_FSIZE) then fails with an error this
    // program reports, keeping the old file, instead of SIGXFSZ killing it mid-write.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" runs no handler code; nothing else in the
    // process has installed one for SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    raiiaf_workbench::cli::main()
}
