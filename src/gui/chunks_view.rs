//! The Chunks & checks tab: the chunk table with each chunk's hash check, then every check of
//! the file with its stable code.

use crate::format::verify::code;
use crate::format::{Inspection, Location};

use super::style;

pub fn chunks_ui(ui: &mut egui::Ui, inspection: &Inspection, only_failures: &mut bool) {
    egui::ScrollArea::both().id_salt("chunks-scroll").show(ui, |ui| {
        ui.strong(format!("{} chunk(s), file of {} bytes", inspection.records.len(), inspection.file_len));
        egui::Grid::new("chunk-table").striped(true).show(ui, |ui| {
            for title in ["#", "type", "offset", "stored", "raw", "ratio", "codec", "flags", "hash"] {
                ui.strong(title);
            }
            ui.end_row();
            for record in &inspection.records {
                ui.label(record.position.to_string());
                ui.monospace(&record.kind);
                let number = |n: Option<u64>| n.map_or_else(|| "?".into(), |n| n.to_string());
                ui.label(number(record.offset));
                ui.label(number(record.compressed_size));
                ui.label(number(record.uncompressed_size));
                let ratio = match (record.uncompressed_size, record.compressed_size) {
                    (Some(raw), Some(stored)) if stored > 0 => format!("{:.2}x", raw as f64 / stored as f64),
                    _ => "-".into(),
                };
                ui.label(ratio);
                let codec = inspection
                    .latents
                    .iter()
                    .find(|l| l.record == record.position)
                    .map(|l| l.codec.name())
                    .unwrap_or(if record.compressed { "zstd" } else { "raw" });
                ui.label(codec);
                ui.monospace(&record.flags);
                let hash_check = inspection.report.checks.iter().find(|check| {
                    check.code == code::CHUNK_HASH
                        && matches!(&check.location, Location::Chunk { index, .. } if *index == record.position)
                });
                match hash_check {
                    Some(check) if check.ok => {
                        ui.colored_label(style::GOOD, "ok").on_hover_text(&check.message);
                    }
                    Some(check) => {
                        ui.colored_label(style::BAD, format!("MISMATCH: {}", check.message));
                    }
                    None => {
                        ui.weak("not checked");
                    }
                }
                ui.end_row();
            }
        });
        ui.separator();
        let failed = inspection.report.failures().count();
        ui.horizontal(|ui| {
            ui.strong(format!("{} checks, {failed} failed", inspection.report.checks.len()));
            ui.checkbox(only_failures, "only failures");
        });
        egui::Grid::new("check-table").striped(true).show(ui, |ui| {
            for title in ["result", "code", "where", "detail"] {
                ui.strong(title);
            }
            ui.end_row();
            for check in inspection.report.checks.iter().filter(|c| !*only_failures || !c.ok) {
                if check.ok {
                    ui.colored_label(style::GOOD, "pass");
                } else {
                    ui.colored_label(style::BAD, "FAIL");
                }
                ui.monospace(check.code);
                ui.label(check.location.to_string());
                ui.label(&check.message);
                ui.end_row();
            }
        });
    });
}
