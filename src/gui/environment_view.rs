//! The Environment tab: the file's environment snapshot beside this machine's or another open
//! file's, component by component, with the Python interpreter used for the probe as a setting.
//! A browser cannot see its machine: there the comparison is with another file only.

use super::style;
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
    /// Compare with the open file of this name, or this machine (`None`).
    CompareWith(Option<String>),
}

/// Another open file's environment, offered for the comparison.
pub struct OtherEnvironment {
    pub name: String,
    pub components: Vec<EnvComponent>,
}

fn status_text(status: &ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Same => "same",
        ComponentStatus::Differs => "differs",
        ComponentStatus::OnlyInFile => "missing here",
        ComponentStatus::OnlyHere => "missing in file",
    }
}

/// "2 of 6 components differ: torch, gpu", or that all match `other` ("this machine", a file).
pub fn summary(rows: &[ComponentComparison], other: &str) -> String {
    let differing: Vec<&str> =
        rows.iter().filter(|r| r.status != ComponentStatus::Same).map(|r| r.component_id.as_str()).collect();
    if differing.is_empty() {
        format!("All {} components are the same as {other}.", rows.len())
    } else {
        let mut names = differing.clone();
        names.dedup();
        format!("{} of {} components differ: {}", differing.len(), rows.len(), names.join(", "))
    }
}

/// The comparison as tab-separated text, for the clipboard.
pub fn as_text(rows: &[ComponentComparison], other: &str) -> String {
    let mut text = format!("component\tfile\t{other}\tstatus\n");
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

/// What the file's environment is compared with: another open file's, this machine's (where the
/// platform can see it), or nothing yet.
struct Reference<'a> {
    other: Option<&'a OtherEnvironment>,
    /// In the picker and the text copy: a file's name, "this machine" or "another file".
    name: String,
    /// After "in the file" / before the summary's counts: "on this machine", a file's name, ...
    label: String,
    components: &'a [EnvComponent],
    /// Whether `components` are known (this machine's probe may still run).
    ready: bool,
    /// This machine's probe, when it is the reference and has finished.
    probe: Option<&'a MachineProbe>,
    /// Only this machine's probe is ever waited for; a missing file component is simply absent.
    waiting_for_probe: bool,
}

impl<'a> Reference<'a> {
    fn new(
        machine: &'a MachineEnvironment,
        others: &'a [OtherEnvironment],
        compare_with: Option<&str>,
        machine_visible: bool,
    ) -> Reference<'a> {
        let other = compare_with.and_then(|name| others.iter().find(|o| o.name == name));
        let (name, label) = match other {
            Some(other) => (other.name.clone(), other.name.clone()),
            None if machine_visible => ("this machine".to_string(), "on this machine".to_string()),
            None => ("another file".to_string(), "in another file".to_string()),
        };
        let (components, ready): (&[EnvComponent], bool) = match other {
            Some(other) => (&other.components, true),
            None if machine_visible => (&machine.components, machine.result.is_some()),
            None => (&[], false),
        };
        let on_machine = machine_visible && other.is_none();
        Reference {
            other,
            name,
            label,
            components,
            ready,
            probe: machine.result.as_ref().filter(|_| other.is_none()),
            waiting_for_probe: on_machine && machine.result.is_none(),
        }
    }
}

/// The Environment tab. `compare_with` names the open file compared against (`None`: this
/// machine, where the platform can see it).
#[allow(clippy::too_many_arguments)] // one tab's inputs, each drawn from a different owner
pub fn environment_ui(
    ui: &mut egui::Ui,
    inspection: &Inspection,
    machine: &MachineEnvironment,
    others: &[OtherEnvironment],
    compare_with: Option<&str>,
    python: &mut String,
    only_differences: &mut bool,
    commands: &mut Vec<EnvironmentCommand>,
) {
    let machine_visible = crate::platform::can_see_machine();
    let reference = Reference::new(machine, others, compare_with, machine_visible);
    reference_picker_ui(ui, &reference, machine, others, machine_visible, python, commands);
    if !machine_visible && reference.other.is_none() {
        ui.label(
            "A web page cannot see the machine it runs on, so there is no \"this machine\" to compare with here. \
            Open or drop another .raiiaf file to compare this file's environment with its own.",
        );
    }
    let file_components: &[EnvComponent] = inspection.environment.as_ref().map_or(&[], |e| &e.components);
    if inspection.environment.is_none() {
        ui.label("This file has no readable environment snapshot.");
    }
    let rows = compare(file_components, reference.components);
    ui.horizontal(|ui| {
        if reference.ready {
            ui.strong(summary(&rows, &reference.label));
        } else if machine_visible {
            ui.weak("This machine has not been probed yet.");
        }
        ui.checkbox(only_differences, "only differences");
        if ui.button("copy as text").clicked() {
            ui.ctx().copy_text(as_text(&rows, &reference.name));
        }
    });
    egui::ScrollArea::both().id_salt("environment-scroll").show(ui, |ui| {
        component_table_ui(ui, &rows, file_components, &reference, *only_differences);
        if let Some(probe) = reference.probe
            && !probe.notes.is_empty()
        {
            ui.separator();
            for note in &probe.notes {
                ui.weak(note);
            }
        }
    });
}

/// "Compare with" and, for this machine, the probe's interpreter and its progress.
fn reference_picker_ui(
    ui: &mut egui::Ui,
    reference: &Reference<'_>,
    machine: &MachineEnvironment,
    others: &[OtherEnvironment],
    machine_visible: bool,
    python: &mut String,
    commands: &mut Vec<EnvironmentCommand>,
) {
    let other = reference.other;
    ui.horizontal(|ui| {
        ui.label("Compare with:");
        egui::ComboBox::from_id_salt("environment-reference").selected_text(&reference.name).show_ui(ui, |ui| {
            if machine_visible && ui.selectable_label(other.is_none(), "this machine").clicked() {
                commands.push(EnvironmentCommand::CompareWith(None));
            }
            for candidate in others {
                let chosen = other.is_some_and(|o| o.name == candidate.name);
                if ui.selectable_label(chosen, &candidate.name).clicked() {
                    commands.push(EnvironmentCommand::CompareWith(Some(candidate.name.clone())));
                }
            }
        });
        if machine_visible && other.is_none() {
            ui.separator();
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
        }
    });
}

/// One row per component: the file's canonical string, its digest check, the reference's string
/// and how the two relate.
fn component_table_ui(
    ui: &mut egui::Ui,
    rows: &[ComponentComparison],
    file_components: &[EnvComponent],
    reference: &Reference<'_>,
    only_differences: bool,
) {
    egui::Grid::new("environment-table").striped(true).show(ui, |ui| {
        let reference_title =
            if reference.other.is_some() { format!("in {}", reference.name) } else { reference.label.clone() };
        for title in ["component", "in the file", "digest", reference_title.as_str(), "status"] {
            ui.strong(title);
        }
        ui.end_row();
        let mut file_position = 0;
        for row in rows {
            let component = row.file.as_ref().and_then(|_| {
                let c = file_components.get(file_position);
                file_position += 1;
                c
            });
            if only_differences && row.status == ComponentStatus::Same {
                continue;
            }
            ui.monospace(&row.component_id);
            ui.add(egui::Label::new(row.file.as_deref().unwrap_or("-")).selectable(true).extend());
            match component {
                Some(c) if c.digest_ok() => {
                    ui.colored_label(style::GOOD, "ok");
                }
                Some(c) => {
                    ui.colored_label(style::BAD, "MISMATCH").on_hover_text(format!("stored digest {}", c.digest));
                }
                None => {
                    ui.label("-");
                }
            }
            let here_text = match (&row.other, reference.probe) {
                (Some(text), _) => text.clone(),
                (None, Some(probe)) => probe
                    .component(&row.component_id)
                    .map_or_else(|| "-".to_string(), |c| format!("({})", c.status_text())),
                (None, None) if reference.waiting_for_probe => "…".to_string(),
                (None, None) => "-".to_string(),
            };
            ui.add(egui::Label::new(here_text).selectable(true).extend());
            ui.label(if reference.ready { status_text(&row.status) } else { "-" });
            ui.end_row();
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
        assert_eq!(summary(&rows, "on this machine"), "2 of 3 components differ: torch, gpu");
        assert_eq!(summary(&compare(&here, &here), "in b.raiiaf"), "All 2 components are the same as in b.raiiaf.");
        let text = as_text(&rows, "this machine");
        assert!(text.starts_with("component\tfile\tthis machine\tstatus\n"), "{text}");
        assert!(text.contains("gpu\tA\t-\tmissing here\n"), "{text}");
        assert!(text.contains("torch\ttorch==2.5.1\ttorch==2.1.0\tdiffers\n"), "{text}");
    }
}
