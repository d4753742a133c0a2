//! What differs between the platforms the library runs on, in one place: the format, tensor,
//! audit and parameter code call these and hold no `cfg` of their own.
//!
//! Native builds (Linux, Windows, macOS) have threads, files and processes. The browser
//! (`wasm32-unknown-unknown`) has none of them: `std::thread::spawn` compiles there but panics
//! when called, so every use goes through here. File writes ([`atomic`]) compile everywhere; in
//! the browser they fail with an error, as `std::fs` does there. Signals are native too.

pub mod atomic;
mod files;
#[cfg(feature = "gui")]
pub mod instance;
#[cfg(feature = "gui")]
pub mod window;

pub use files::{FileInput, read_within};

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as current;

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
use web as current;

/// Threads worth running at once: the machine's cores, or 1 where there are no threads.
pub fn cores() -> usize {
    current::cores()
}

/// `f` applied to every item, on up to [`cores`] threads, the results in the items' order.
/// Serial where there are no threads, for a single item, or if no thread can be started. A panic
/// in `f` reaches the caller as it would have serially.
pub fn map_in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    current::map_in_parallel(items, f)
}

/// `run` (a zfp-rs decode or encode) with zfp-rs's parallel execution on a pool of the machine's
/// cores (made once, on first use) when `parallel` asks for it and the platform has more than one
/// core; else serially. Both give the same values and the same stream.
pub fn zfp_execute<R: Send>(parallel: bool, run: impl FnOnce(zfp_rs::ZfpExecution) -> R + Send) -> R {
    if parallel { current::zfp_execute(run) } else { run(zfp_rs::ZfpExecution::Serial) }
}

/// Whether the threads [`zfp_execute`] runs on are running (they start on first use, or
/// with [`start_zfp_threads`]); once they are, parallel decoding pays off on smaller fields.
pub fn zfp_threads_running() -> bool {
    current::zfp_threads_running()
}

/// Starts the zfp decoder's threads now rather than on the first large field: for a long-lived
/// process (the Python package) that opens many small files.
pub fn start_zfp_threads() {
    current::start_zfp_threads()
}

/// The flag Ctrl-C and SIGTERM set once [`stop_on_interrupt`] has been called: a long run reads it
/// as its cancel flag, so what it has done so far is kept (a report written, not lost).
pub fn interrupted() -> &'static std::sync::atomic::AtomicBool {
    current::interrupted()
}

/// Clears [`interrupted`] and routes the next Ctrl-C or SIGTERM to it; the one after that has
/// the default effect, so a second Ctrl-C ends a run that is slow to stop. (Unix signals; on
/// Windows a console control handler, which also hears Ctrl-Break and the console closing.)
pub fn stop_on_interrupt() {
    current::stop_on_interrupt()
}

/// A write past the process's file-size limit (RLIMIT_FSIZE) then fails with an error the program
/// reports, keeping the old file, instead of SIGXFSZ killing it mid-write. Call at start.
pub fn write_errors_instead_of_file_size_kills() {
    current::write_errors_instead_of_file_size_kills()
}

/// Whether the program can see the machine it runs on (its Python, GPUs and OS): a desktop can,
/// a web page cannot, and then has no "this machine" to compare files with.
pub fn can_see_machine() -> bool {
    current::CAN_SEE_MACHINE
}

/// Probes this machine, into `probe`'s types (the probe itself is platform code: `probe` only
/// says what is recorded and how). Never fails: whatever cannot be captured is reported per
/// component or in `notes`. Takes up to `options.timeout` (plus a little) when the interpreter
/// hangs. In a browser there is no machine to probe, and every component says so.
pub fn probe_machine(options: &crate::probe::ProbeOptions) -> crate::probe::MachineProbe {
    current::probe_machine(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_items_order_for_every_count() {
        for count in [0usize, 1, 2, 3, 17, 100] {
            let items: Vec<usize> = (0..count).collect();
            let squares = map_in_parallel(items, |i| {
                // Uneven work, so threads finish out of order.
                std::thread::sleep(std::time::Duration::from_micros(((i * 7919) % 13) as u64 * 50));
                i * i
            });
            assert_eq!(squares, (0..count).map(|i| i * i).collect::<Vec<_>>(), "{count} items");
        }
    }

    #[test]
    fn parallel_map_runs_items_on_more_than_one_thread_where_there_are_cores() {
        let threads = map_in_parallel((0..64).collect(), |_: usize| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            std::thread::current().id()
        });
        let distinct: std::collections::HashSet<_> = threads.into_iter().collect();
        assert_eq!(distinct.len() > 1, cores() > 1, "{} threads on {} cores", distinct.len(), cores());
    }

    #[test]
    fn a_panic_in_the_mapped_function_reaches_the_caller() {
        let outcome = std::panic::catch_unwind(|| {
            map_in_parallel((0..8).collect(), |i: usize| {
                assert!(i != 5, "item five");
                i
            })
        });
        assert!(outcome.is_err());
    }
}
