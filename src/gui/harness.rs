//! What the tests and benchmarks ask of a running window, kept apart from the app's state: a
//! `--screenshot` saved once everything has loaded and settled (then the window closes), and the
//! start-up timing (`RAIIAF_TIMING`, `?timing` on the web page), which says when the first frame
//! showing the image and every heatmap was drawn.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Filled in once a screenshot has been saved, or has failed.
pub type ScreenshotOutcome = Arc<Mutex<Option<Result<(), String>>>>;

/// Where a `--screenshot` run stands; the outcome is read by `run` after the window closes.
struct ScreenshotRequest {
    target: PathBuf,
    outcome: ScreenshotOutcome,
    settled_frames: u32,
    requested: bool,
}

/// Progress of the start-up timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstFrame {
    NotTimed,
    Waiting,
    Drawn,
    Reported,
}

pub struct Harness {
    screenshot: Option<ScreenshotRequest>,
    first_frame: FirstFrame,
}

impl Harness {
    pub fn new(screenshot: Option<PathBuf>, timing: bool) -> Harness {
        Harness {
            screenshot: screenshot.map(|target| ScreenshotRequest {
                target,
                outcome: Arc::new(Mutex::new(None)),
                settled_frames: 0,
                requested: false,
            }),
            first_frame: if timing || std::env::var_os("RAIIAF_TIMING").is_some() {
                FirstFrame::Waiting
            } else {
                FirstFrame::NotTimed
            },
        }
    }

    /// Whether the window's settings are read and saved: not for a screenshot, which must not
    /// depend on, or change, what a user's own sessions left behind.
    pub fn persists_settings(&self) -> bool {
        self.screenshot.is_none()
    }

    pub fn screenshot_outcome(&self) -> Option<ScreenshotOutcome> {
        self.screenshot.as_ref().map(|s| s.outcome.clone())
    }

    /// At the end of a frame: once everything has loaded and five frames have settled, saves
    /// the screenshot and closes the window.
    pub fn after_frame(&mut self, ctx: &egui::Context, all_loaded: bool) {
        let Some(request) = &mut self.screenshot else { return };
        if request.requested {
            return;
        }
        if all_loaded {
            request.settled_frames += 1;
        }
        if request.settled_frames >= 5 {
            request.requested = true;
            let target = request.target.clone();
            let outcome = request.outcome.clone();
            let closer = ctx.clone();
            ctx.request_screenshot(move |image| {
                let size = [image.size[0] as u32, image.size[1] as u32];
                let pixels: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
                let saved = image::RgbaImage::from_raw(size[0], size[1], pixels)
                    .ok_or_else(|| "screenshot has the wrong size".to_string())
                    .and_then(|img| img.save(&target).map_err(|e| format!("{}: {e}", target.display())));
                if let Ok(mut slot) = outcome.lock() {
                    *slot = Some(saved);
                }
                closer.send_viewport_cmd(egui::ViewportCommand::Close);
                closer.request_repaint();
            });
        }
        ctx.request_repaint();
    }

    /// Whether the timing waits for the first complete frame (the app then says, each frame,
    /// whether the one it drew was: [`Harness::first_frame_drawn`]).
    pub fn waits_for_first_frame(&self) -> bool {
        self.first_frame == FirstFrame::Waiting
    }

    /// At the end of a frame that showed the image and every heatmap: marks it.
    pub fn first_frame_drawn(&mut self, ctx: &egui::Context) {
        if self.first_frame == FirstFrame::Waiting {
            self.first_frame = FirstFrame::Drawn;
            ctx.request_repaint();
        }
    }

    /// At the start of a frame: reports the frame marked in the one before, which has been
    /// rendered and presented by now (see `platform::window::say`).
    pub fn before_frame(&mut self) {
        if self.first_frame != FirstFrame::Drawn {
            return;
        }
        if let Some(millis) = crate::platform::window::millis_since_start() {
            crate::platform::window::say(&format!(
                "raiiaf: first frame with the image and all heatmaps: {millis:.0} ms after start"
            ));
        }
        self.first_frame = FirstFrame::Reported;
    }
}
