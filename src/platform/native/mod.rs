//! Linux, Windows and macOS: threads, files, processes and the machine's own facts are there.

mod machine;
mod python;
mod system;

pub use machine::probe_machine;

use std::sync::Mutex;

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
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
