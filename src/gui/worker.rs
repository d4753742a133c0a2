//! Slow work (decoding files, probing this machine, file dialogs, downloads) off the frame. A
//! task reports its stage, can be cancelled, and wakes the UI when it has something to show.
//! Where it runs is the platform's business ([`crate::platform::window::spawn`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};

/// What a worker can tell the UI while it runs, and how it learns it was cancelled.
#[derive(Clone)]
pub struct Progress {
    ctx: egui::Context,
    /// Stop early: set by Cancel (the partial result is still wanted) and by dropping the task.
    cancelled: Arc<AtomicBool>,
    /// Nobody waits for the result any more (the task was dropped): it is not sent.
    abandoned: Arc<AtomicBool>,
    stage: Arc<Mutex<String>>,
}

impl Progress {
    pub fn set_stage(&self, stage: impl Into<String>) {
        if let Ok(mut current) = self.stage.lock() {
            *current = stage.into();
        }
        self.ctx.request_repaint();
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
    /// The flag [`is_cancelled`](Progress::is_cancelled) reads, for library loops that take one
    /// (`audit::folder::verify_targets`).
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancelled
    }
}

/// The sending end of a [`Background`]: whoever does the work finishes it with the result.
pub struct Completion<T> {
    sender: Sender<Result<T, String>>,
    pub progress: Progress,
}

impl<T> Completion<T> {
    pub fn finish(self, result: T) {
        self.end(Ok(result));
    }

    /// Ends the task without a result, saying why (a panic's message).
    fn fail(self, why: String) {
        self.end(Err(why));
    }

    fn end(self, outcome: Result<T, String>) {
        if !self.progress.abandoned.load(Ordering::Relaxed) {
            let _ = self.sender.send(outcome);
        }
        self.progress.ctx.request_repaint();
    }
}

/// A panic's message, as a person reads it.
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    format!("internal error: {message}")
}

/// One task producing one `T`. Dropping it (closing the tab that waits for it, starting a new
/// probe) cancels it: the worker sees `is_cancelled` and its result is discarded. [`cancel`]
/// (Background::cancel) only asks the worker to stop; what it returns then still arrives.
pub struct Background<T> {
    receiver: Receiver<Result<T, String>>,
    progress: Progress,
    finished: bool,
    /// Why the task ended without a result, once it has.
    failure: Option<String>,
}

impl<T: Send + 'static> Background<T> {
    /// A task whose result will come through the returned [`Completion`] (a dialog's callback,
    /// a download).
    pub fn pending(ctx: &egui::Context) -> (Background<T>, Completion<T>) {
        let (sender, receiver) = channel();
        let progress = Progress {
            ctx: ctx.clone(),
            cancelled: Arc::new(AtomicBool::new(false)),
            abandoned: Arc::new(AtomicBool::new(false)),
            stage: Arc::new(Mutex::new(String::new())),
        };
        let completion = Completion { sender, progress: progress.clone() };
        (Background { receiver, progress, finished: false, failure: None }, completion)
    }

    /// Hands a new task's completion to `start` and keeps the task in `slot`, unless `slot` holds
    /// one already (dialogs open one at a time): then returns false and starts nothing.
    pub fn start_in(slot: &mut Option<Background<T>>, ctx: &egui::Context, start: impl FnOnce(Completion<T>)) -> bool {
        if slot.is_some() {
            return false;
        }
        let (task, done) = Background::pending(ctx);
        *slot = Some(task);
        start(done);
        true
    }

    /// `work` run off the frame. Should it panic, the task ends with the panic's message as its
    /// [`failure`](Background::failure), for the view to show.
    pub fn spawn(ctx: &egui::Context, work: impl FnOnce(&Progress) -> T + Send + 'static) -> Background<T> {
        let (task, completion) = Background::pending(ctx);
        crate::platform::window::spawn(move || {
            let progress = completion.progress.clone();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&progress))) {
                Ok(result) => completion.finish(result),
                Err(payload) => completion.fail(panic_message(payload.as_ref())),
            }
        });
        task
    }

    /// The result, once, when the work is done.
    pub fn poll(&mut self) -> Option<T> {
        if self.finished {
            return None;
        }
        match self.receiver.try_recv() {
            Ok(Ok(result)) => {
                self.finished = true;
                Some(result)
            }
            Ok(Err(why)) => {
                self.finished = true;
                self.failure = Some(why);
                None
            }
            Err(TryRecvError::Empty) => None,
            // The worker ended without a word (it was cancelled, or its thread is gone).
            Err(TryRecvError::Disconnected) => {
                self.finished = true;
                None
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Why the task ended without a result, when it said.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    pub fn stage(&self) -> String {
        self.progress.stage.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks the worker to stop early (the Cancel button); its result, partial, still arrives.
    pub fn cancel(&self) {
        self.progress.cancelled.store(true, Ordering::Relaxed);
        self.progress.ctx.request_repaint();
    }

    pub fn was_cancelled(&self) -> bool {
        self.progress.is_cancelled()
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        self.progress.abandoned.store(true, Ordering::Relaxed);
        self.progress.cancelled.store(true, Ordering::Relaxed);
    }
}

/// Something loaded off the frame: documents and comparisons are one of these. Dropping it while
/// it loads cancels the work.
pub enum Load<T> {
    Loading(Background<T>),
    Ready(Box<T>),
    /// The work ended without a result: why (a panic's message, or that the worker stopped).
    Failed(String),
}

impl<T: Send + 'static> Load<T> {
    pub fn start(ctx: &egui::Context, work: impl FnOnce(&Progress) -> T + Send + 'static) -> Load<T> {
        Load::Loading(Background::spawn(ctx, work))
    }

    /// Moves a finished load into place; true when something changed.
    pub fn poll(&mut self) -> bool {
        let Load::Loading(task) = self else { return false };
        match task.poll() {
            Some(done) => *self = Load::Ready(Box::new(done)),
            None if task.is_finished() => {
                let why = task.failure().unwrap_or("internal error: the worker stopped without a result").to_string();
                *self = Load::Failed(why);
            }
            None => return false,
        }
        true
    }

    pub fn is_loading(&self) -> bool {
        matches!(self, Load::Loading(_))
    }

    /// Asks the work to stop early; what it returns then is still delivered (a partial result).
    pub fn cancel(&self) {
        if let Load::Loading(task) = self {
            task.cancel();
        }
    }

    /// Why the work ended without a result, once it has.
    pub fn failure(&self) -> Option<&str> {
        match self {
            Load::Failed(why) => Some(why),
            _ => None,
        }
    }

    pub fn ready(&self) -> Option<&T> {
        match self {
            Load::Ready(done) => Some(done),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for<T: Send + 'static>(load: &mut Load<T>) {
        let start = std::time::Instant::now();
        while !load.poll() {
            assert!(start.elapsed() < std::time::Duration::from_secs(10), "the load never ended");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    #[test]
    fn a_load_ends_ready_or_failed_with_the_panic_message() {
        let ctx = egui::Context::default();
        let mut done = Load::start(&ctx, |progress| {
            progress.set_stage("working");
            41 + 1
        });
        wait_for(&mut done);
        assert_eq!(done.ready(), Some(&42));
        let mut failed: Load<u32> = Load::start(&ctx, |_| panic!("a worker's own words"));
        wait_for(&mut failed);
        match failed {
            Load::Failed(why) => assert!(why.contains("a worker's own words"), "{why}"),
            _ => panic!("a panicking worker must fail its load"),
        }
    }

    #[test]
    fn a_cancelled_load_still_delivers_what_its_worker_returns() {
        let ctx = egui::Context::default();
        let (started, wait_started) = std::sync::mpsc::channel();
        let mut counting = Load::start(&ctx, move |progress| {
            let _ = started.send(());
            let mut steps = 0u64;
            while !progress.is_cancelled() && steps < 10_000_000_000 {
                steps += 1;
                std::hint::spin_loop();
            }
            (progress.is_cancelled(), progress.cancel_flag().load(Ordering::Relaxed))
        });
        wait_started.recv().unwrap();
        counting.cancel();
        wait_for(&mut counting);
        assert_eq!(counting.ready(), Some(&(true, true)), "stopped early, and the partial result arrived");
    }

    #[test]
    fn a_dropped_task_stops_its_worker() {
        let ctx = egui::Context::default();
        let (started, wait_started) = std::sync::mpsc::channel();
        let (stopped, wait_stopped) = std::sync::mpsc::channel();
        let task = Background::spawn(&ctx, move |progress| {
            let _ = started.send(());
            while !progress.is_cancelled() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let _ = stopped.send(());
        });
        wait_started.recv().unwrap();
        drop(task);
        wait_stopped.recv_timeout(std::time::Duration::from_secs(10)).expect("the worker saw the drop");
    }
}
