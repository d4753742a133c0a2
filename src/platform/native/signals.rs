//! Signals: a Ctrl-C that lets a long run stop cleanly (a signal handler on Unix, a console
//! control handler on Windows), and a file-size limit that is an error rather than a kill (Unix).

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by Ctrl-C or SIGTERM once [`stop_on_interrupt`] has routed them here.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn interrupted() -> &'static AtomicBool {
    &INTERRUPTED
}

#[cfg(unix)]
extern "C" fn note_interrupt(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

#[cfg(unix)]
pub fn stop_on_interrupt() {
    INTERRUPTED.store(false, Ordering::Relaxed);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe; the sigaction
        // struct is fully initialised (zeroed, then an empty mask) before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Ctrl-C, Ctrl-Break or the console closing: the first sets the flag and is handled here; once
/// it is set, the next is left to Windows' default handler, which ends the process.
#[cfg(windows)]
unsafe extern "system" fn note_console_interrupt(_event: u32) -> windows_sys::core::BOOL {
    i32::from(!INTERRUPTED.swap(true, Ordering::Relaxed))
}

#[cfg(windows)]
pub fn stop_on_interrupt() {
    INTERRUPTED.store(false, Ordering::Relaxed);
    // SAFETY: the handler only swaps an atomic; Windows calls it on a thread of its own.
    unsafe {
        windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(note_console_interrupt), 1);
    }
}

#[cfg(not(any(unix, windows)))]
pub fn stop_on_interrupt() {
    INTERRUPTED.store(false, Ordering::Relaxed);
}

#[cfg(unix)]
pub fn write_errors_instead_of_file_size_kills() {
    // SAFETY: setting a signal's disposition to "ignore" runs no handler code; nothing else in the
    // process has installed one for SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

#[cfg(not(unix))]
pub fn write_errors_instead_of_file_size_kills() {}
