//! The window's colours and badges, in one place: one green for what passed or matches, one red
//! for what failed, one orange for what differs or needs a look, and the verdict badge.

use egui::Color32;

use crate::format::Verdict;

/// Passed, valid, the same.
pub const GOOD: Color32 = Color32::from_rgb(40, 150, 70);
/// Failed, unreadable, a schema problem.
pub const BAD: Color32 = Color32::from_rgb(200, 60, 50);
/// Differs, invalid, cancelled: worth a look, not a failure of the program.
pub const CHANGED: Color32 = Color32::from_rgb(200, 130, 20);
/// Behind text a word diff removed, and added.
pub const REMOVED_BACKGROUND: Color32 = Color32::from_rgba_unmultiplied_const(200, 60, 50, 90);
pub const ADDED_BACKGROUND: Color32 = Color32::from_rgba_unmultiplied_const(40, 150, 70, 90);

pub fn verdict_color(verdict: Verdict) -> Color32 {
    match verdict {
        Verdict::Valid => GOOD,
        Verdict::Invalid => CHANGED,
        Verdict::Unreadable => BAD,
    }
}

/// VALID / INVALID / UNREADABLE in white on the verdict's colour.
pub fn verdict_badge(ui: &mut egui::Ui, verdict: Verdict) {
    let text = match verdict {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "INVALID",
        Verdict::Unreadable => "UNREADABLE",
    };
    egui::Frame::new()
        .fill(verdict_color(verdict))
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(6, 2))
        .show(ui, |ui| {
            ui.label(egui::RichText::new(text).color(Color32::WHITE).strong());
        });
}
