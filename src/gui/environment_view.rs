//! The Environment tab: the file's environment snapshot beside this machine's, component by
//! component, with the Python interpreter used for the probe as a setting.

use crate::format::environment::{ComponentComparison, ComponentStatus, compare};
use crate::format::{EnvComponent, Inspection};
use crate::probe::MachineProbe;

/// This machine's probe: running, done, or not started.
#[derive(Default)]
pub struct MachineEnvironment {
    pub task: Option<super::worker::Background<MachineProbe>>,
    result: Option<MachineProbe>,
    /// `result`'s components with their digests, made once when the probe finished.
    components: Vec<EnvComponent>,
}

impl MachineEnvironment {
    pub fn result(&self) -> Option<&MachineProbe> {
        self.result.as_ref()
    }

    /// This machine's components, empty until the probe has finished.
    pub fn components(&self) -> &[EnvComponent] {
        &self.components
    }

    pub fn set_result(&mut self, probe: MachineProbe) {
        self.components = probe.environment().components;
        self.result = Some(probe);
    }
}

pub enum EnvironmentCommand {
    Reprobe,
}

fn status_text(status: &ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Same => "same",
        ComponentStatus::Differs => "differs",
        ComponentStatus::OnlyInFile => "missing here",
        ComponentStatus::OnlyHere => "missing in file",
    }
}

/// "2 of 6 components differ: torch, gpu", or that all match.
pub fn summary(rows: &[ComponentComparison]) -> String {
    let differing: Vec<&str> =
        rows.iter().filter(|r| r.status != ComponentStatus::Same).map(|r| r.component_id.as_str()).collect();
    if differing.is_empty() {
        format!("All {} components are the same as on this machine.", rows.len())
    } else {
        let mut names = differing.clone();
        names.dedup();
        format!("{} of {} components differ: {}", differing.len(), rows.len(), names.join(", "))
    }
}

/// The comparison as tab-separated text, for the clipboard.
pub fn as_text(rows: &[ComponentComparison]) -> String {
    let mut text = String::from("component\tfile\tthis machine\tstatus\n");
    for row in rows {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            row.component_id,
            row.file.as_deref().unwrap_or("-"),
            row.other.as_deref().unwrap_or("-"),
            status_text(&row.status)
        ));
    }
    text
}

pub fn environment_ui(
    ui: &mut egui::Ui,
    inspection: &Inspection,
    machine: &MachineEnvironment,
    python: &mut String,
    only_differences: &mut bool,
    commands: &mut Vec<EnvironmentCommand>,
) {
    ui.horizontal(|ui| {
        ui.label("Python for the torch/numpy/python/cuda probe:");
        let edit = ui.add(egui::TextEdit::singleline(python).hint_text("python3").desired_width(220.0));
        let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Probe again").clicked() || entered {
            commands.push(EnvironmentCommand::Reprobe);
        }
        if let Some(task) = &machine.task {
            ui.spinner();
            ui.label(format!("probing this machine: {}", task.stage()));
        }
    });
    let file_components: &[EnvComponent] = inspection.environment.as_ref().map_or(&[], |e| &e.components);
    if inspection.environment.is_none() {
        ui.label("This file has no readable environment snapshot.");
    }
    let rows = compare(file_components, &machine.components);
    ui.horizontal(|ui| {
        if machine.result.is_some() {
            ui.strong(summary(&rows));
        } else {
            ui.weak("This machine has not been probed yet.");
        }
        ui.checkbox(only_differences, "only differences");
        if ui.button("copy as text").clicked() {
            ui.ctx().copy_text(as_text(&rows));
        }
    });
    egui::ScrollArea::both().id_salt("environment-scroll").show(ui, |ui| {
        egui::Grid::new("environment-table").striped(true).show(ui, |ui| {
            for title in ["component", "in the file", "digest", "on this machine", "status"] {
                ui.strong(title);
            }
            ui.end_row();
            let mut file_position = 0;
            for row in &rows {
                let component = row.file.as_ref().and_then(|_| {
                    let c = file_components.get(file_position);
                    file_position += 1;
                    c
                });
                if *only_differences && row.status == ComponentStatus::Same {
                    continue;
                }
                ui.monospace(&row.component_id);
                ui.add(egui::Label::new(row.file.as_deref().unwrap_or("-")).selectable(true).extend());
                match component {
                    Some(c) if c.digest_ok() => {
                        ui.colored_label(egui::Color32::from_rgb(60, 160, 80), "ok");
                    }
                    Some(c) => {
                        ui.colored_label(egui::Color32::from_rgb(220, 80, 60), "MISMATCH")
                            .on_hover_text(format!("stored digest {}", c.digest));
                    }
                    None => {
                        ui.label("-");
                    }
                }
                let here_text = match (&row.other, machine.result.as_ref()) {
                    (Some(text), _) => text.clone(),
                    (None, Some(probe)) => probe
                        .component(&row.component_id)
                        .map_or_else(|| "-".to_string(), |c| format!("({})", c.status_text())),
                    (None, None) => "…".to_string(),
                };
                ui.add(egui::Label::new(here_text).selectable(true).extend());
                let status = if machine.result.is_some() { status_text(&row.status) } else { "-" };
                ui.label(status);
                ui.end_row();
            }
        });
        if let Some(probe) = &machine.result
            && !probe.notes.is_empty()
        {
            ui.separator();
            for note in &probe.notes {
                ui.weak(note);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_the_differing_components() {
        let file = [
            EnvComponent::new("torch", "torch==2.5.1"),
            EnvComponent::new("os", "Linux 6.1"),
            EnvComponent::new("gpu", "A"),
        ];
        let here = [EnvComponent::new("torch", "torch==2.1.0"), EnvComponent::new("os", "Linux 6.1")];
        let rows = compare(&file, &here);
        assert_eq!(summary(&rows), "2 of 3 components differ: torch, gpu");
        assert_eq!(summary(&compare(&here, &here)), "All 2 components are the same as on this machine.");
        let text = as_text(&rows);
        assert!(text.contains("gpu\tA\t-\tmissing here\n"), "{text}");
        assert!(text.contains("torch\ttorch==2.5.1\ttorch==2.1.0\tdiffers\n"), "{text}");
    }
}
