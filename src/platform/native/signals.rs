//! Signals: a Ctrl-C that lets a long run stop cleanly, and a file-size limit that is an error
//! rather than a kill. Unix only for now; elsewhere these do nothing.

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

#[cfg(not(unix))]
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
