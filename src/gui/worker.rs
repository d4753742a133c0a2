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
    cancelled: Arc<AtomicBool>,
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
}

/// The sending end of a [`Background`]: whoever does the work finishes it with the result.
pub struct Completion<T> {
    sender: Sender<T>,
    pub progress: Progress,
}

impl<T> Completion<T> {
    pub fn finish(self, result: T) {
        if !self.progress.is_cancelled() {
            let _ = self.sender.send(result);
        }
        self.progress.ctx.request_repaint();
    }
}

/// One task producing one `T`. Dropping it (closing the tab that waits for it, starting a new
/// probe) cancels it: the worker sees `is_cancelled` and its result is discarded.
pub struct Background<T> {
    receiver: Receiver<T>,
    progress: Progress,
    finished: bool,
}

impl<T: Send + 'static> Background<T> {
    /// A task whose result will come through the returned [`Completion`] (a dialog's callback,
    /// a download).
    pub fn pending(ctx: &egui::Context) -> (Background<T>, Completion<T>) {
        let (sender, receiver) = channel();
        let progress = Progress {
            ctx: ctx.clone(),
            cancelled: Arc::new(AtomicBool::new(false)),
            stage: Arc::new(Mutex::new(String::new())),
        };
        let completion = Completion { sender, progress: progress.clone() };
        (Background { receiver, progress, finished: false }, completion)
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

    /// `work` run off the frame.
    pub fn spawn(ctx: &egui::Context, work: impl FnOnce(&Progress) -> T + Send + 'static) -> Background<T> {
        let (task, completion) = Background::pending(ctx);
        crate::platform::window::spawn(move || {
            let result = work(&completion.progress);
            completion.finish(result);
        });
        task
    }

    /// The result, once, when the work is done.
    pub fn poll(&mut self) -> Option<T> {
        if self.finished {
            return None;
        }
        match self.receiver.try_recv() {
            Ok(result) => {
                self.finished = true;
                Some(result)
            }
            Err(TryRecvError::Empty) => None,
            // The worker ended without a result (it panicked, or was cancelled).
            Err(TryRecvError::Disconnected) => {
                self.finished = true;
                None
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn stage(&self) -> String {
        self.progress.stage.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        self.progress.cancelled.store(true, Ordering::Relaxed);
    }
}
