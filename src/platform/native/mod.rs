//! Linux, Windows and macOS: threads, files, processes and the machine's own facts are there.

#[cfg(feature = "gui")]
pub mod instance;
mod machine;
mod python;
mod signals;
mod system;
#[cfg(feature = "gui")]
pub mod window;

pub use machine::probe_machine;
pub use signals::{interrupted, stop_on_interrupt, write_errors_instead_of_file_size_kills};

use std::sync::{Mutex, OnceLock};

pub const CAN_SEE_MACHINE: bool = true;

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// zfp-rs's parallel decoder and encoder run on this pool, made once with a thread per core. `None` on one
/// core, or if its threads could not be started: decoding is then serial. (Rayon's global pool is
/// not used: it panics when it cannot start its threads.)
static ZFP_POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();

fn zfp_pool() -> Option<&'static rayon::ThreadPool> {
    ZFP_POOL
        .get_or_init(|| {
            let threads = cores();
            if threads < 2 {
                return None;
            }
            rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("zfp-{i}")).build().ok()
        })
        .as_ref()
}

pub fn zfp_threads_running() -> bool {
    ZFP_POOL.get().is_some_and(Option::is_some)
}

pub fn start_zfp_threads() {
    let _ = zfp_pool();
}

pub fn zfp_execute<R: Send>(run: impl FnOnce(zfp_rs::ZfpExecution) -> R + Send) -> R {
    match zfp_pool() {
        // `threads: 0` runs on the pool the call is installed in: this one.
        Some(pool) => pool.install(|| run(zfp_rs::ZfpExecution::Rayon { threads: 0, chunk_size: 0 })),
        None => run(zfp_rs::ZfpExecution::Serial),
    }
}

pub fn map_in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = cores().min(items.len());
    if workers <= 1 {
        return items.into_iter().map(f).collect();
    }
    let count = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let work = || {
        let mut done = Vec::new();
        // A poisoned queue means another worker panicked; that panic is re-raised below.
        while let Some((index, item)) = queue.lock().ok().and_then(|mut queue| queue.next()) {
            done.push((index, f(item)));
        }
        done
    };
    let mut results: Vec<(usize, R)> = Vec::with_capacity(count);
    std::thread::scope(|scope| {
        // The calling thread works too; a thread that cannot be started only means fewer workers.
        let helpers: Vec<_> =
            (1..workers).filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok()).collect();
        results.extend(work());
        for helper in helpers {
            match helper.join() {
                Ok(done) => results.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    results.sort_unstable_by_key(|&(index, _)| index);
    results.into_iter().map(|(_, result)| result).collect()
}
