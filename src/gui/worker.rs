//! Slow work (decoding files, probing this machine, file dialogs) on worker threads. A task
//! reports its stage, can be cancelled, and wakes the UI when it has something to show.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
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

/// One task on its own thread, producing one `T`. Dropping it (closing the tab that waits for
/// it, starting a new probe) cancels it: the worker sees `is_cancelled` and its result is discarded.
pub struct Background<T> {
    receiver: Receiver<T>,
    progress: Progress,
    finished: bool,
}

impl<T: Send + 'static> Background<T> {
    pub fn spawn(ctx: &egui::Context, work: impl FnOnce(&Progress) -> T + Send + 'static) -> Background<T> {
        let (sender, receiver) = channel();
        let progress = Progress {
            ctx: ctx.clone(),
            cancelled: Arc::new(AtomicBool::new(false)),
            stage: Arc::new(Mutex::new(String::new())),
        };
        let worker_progress = progress.clone();
        std::thread::spawn(move || {
            let result = work(&worker_progress);
            if !worker_progress.is_cancelled() {
                let _ = sender.send(result);
            }
            worker_progress.ctx.request_repaint();
        });
        Background { receiver, progress, finished: false }
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
