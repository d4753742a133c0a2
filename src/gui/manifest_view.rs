//! The Manifest tab: what generated the image, every generation setting, hardware, and the
//! stored JSON with search; schema problems shown at their field.

use super::style;
use serde_json::Value;

use crate::format::Inspection;
use crate::format::manifest::SchemaProblem;

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Problems at or under `pointer`, as one hover text.
fn problems_at(problems: &[SchemaProblem], pointer: &str) -> Option<String> {
    let matching: Vec<String> = problems
        .iter()
        .filter(|p| p.pointer.starts_with(pointer))
        .map(|p| format!("{}: {}", p.pointer, p.message))
        .collect();
    (!matching.is_empty()).then(|| matching.join("\n"))
}

fn field_row(ui: &mut egui::Ui, name: &str, value: Option<&Value>, pointer: &str, problems: &[SchemaProblem]) {
    ui.strong(name);
    ui.horizontal(|ui| {
        match value {
            Some(value) => {
                let text = value_text(value);
                ui.add(egui::Label::new(&text).selectable(true).wrap());
                if ui.small_button("copy").on_hover_text(format!("Copy the {name}")).clicked() {
                    ui.ctx().copy_text(text);
                }
            }
            None => {
                ui.weak("(absent)");
            }
        }
        if let Some(problem) = problems_at(problems, pointer) {
            ui.colored_label(style::BAD, "schema problem").on_hover_text(problem);
        }
    });
    ui.end_row();
}

/// A JSON value as a tree: objects and arrays open as sections, leaves as `key: value`.
fn tree_ui(ui: &mut egui::Ui, key: &str, value: &Value, pointer: &str, problems: &[SchemaProblem]) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => {
            ui.horizontal(|ui| {
                ui.strong(format!("{key}:"));
                ui.add(egui::Label::new(value_text(value)).selectable(true));
                if let Some(problem) = problems_at(problems, pointer) {
                    ui.colored_label(style::BAD, "schema problem").on_hover_text(problem);
                }
            });
            return;
        }
    };
    egui::CollapsingHeader::new(format!("{key} ({} entries)", children.len()))
        .id_salt(pointer)
        .default_open(true)
        .show(ui, |ui| {
            for (child_key, child) in children {
                tree_ui(ui, &child_key, child, &format!("{pointer}/{child_key}"), problems);
            }
        });
}

/// `pretty` is the stored manifest pretty-printed (made once, when the file was loaded).
pub fn manifest_ui(ui: &mut egui::Ui, inspection: &Inspection, pretty: &str, search: &mut String) {
    let (Some(format), Some(body)) = (inspection.format(), inspection.manifest_body()) else {
        ui.label("The manifest could not be read; see the Chunks & checks tab.");
        return;
    };
    let problems = &inspection.schema_problems;
    let root = format!("/{}", format.manifest_root());
    let model_info = body.get("model_info");
    let field = |name: &str| model_info.and_then(|m| m.get(name));
    let info_pointer = format!("{root}/model_info");
    egui::ScrollArea::vertical().id_salt("manifest-scroll").show(ui, |ui| {
        if !problems.is_empty() {
            ui.colored_label(
                style::BAD,
                format!("{} schema problem(s); hover a marked field for details", problems.len()),
            );
        }
        egui::Grid::new("manifest-fields").num_columns(2).striped(true).show(ui, |ui| {
            for (name, key) in [("Model", "model_name"), ("Version", "version"), ("Date", "date"), ("Prompt", "prompt")]
            {
                field_row(ui, name, field(key), &format!("{info_pointer}/{key}"), problems);
            }
            let settings = field("generation_settings");
            if let Some(negative) = settings.and_then(|s| s.get("negative_prompt")) {
                field_row(
                    ui,
                    "Negative prompt",
                    Some(negative),
                    &format!("{info_pointer}/generation_settings/negative_prompt"),
                    problems,
                );
            }
            let tags = field("tags")
                .and_then(Value::as_array)
                .map(|tags| Value::from(tags.iter().map(value_text).collect::<Vec<_>>().join(", ")));
            field_row(ui, "Tags", tags.as_ref(), &format!("{info_pointer}/tags"), problems);
        });
        ui.separator();
        for (title, key) in [("Generation settings", "generation_settings"), ("Hardware", "hardware_info")] {
            match field(key) {
                Some(value) => tree_ui(ui, title, value, &format!("{info_pointer}/{key}"), problems),
                None => {
                    ui.weak(format!("{title}: (absent)"));
                }
            }
        }
        for problem in problems.iter().filter(|p| !p.pointer.starts_with(&info_pointer)) {
            ui.colored_label(style::BAD, format!("{}: {}", problem.pointer, problem.message));
        }
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong("Stored manifest JSON");
            ui.add(egui::TextEdit::singleline(search).hint_text("search").desired_width(200.0));
            if ui.button("copy JSON").clicked() {
                ui.ctx().copy_text(pretty.to_string());
            }
        });
        let needle = search.to_lowercase();
        if needle.is_empty() {
            ui.add(egui::Label::new(egui::RichText::new(pretty).monospace()).selectable(true));
        } else {
            let matches: Vec<(usize, &str)> =
                pretty.lines().enumerate().filter(|(_, line)| line.to_lowercase().contains(&needle)).collect();
            ui.label(format!("{} matching line(s)", matches.len()));
            for (number, line) in matches {
                ui.monospace(format!("{:>5}  {line}", number + 1));
            }
        }
    });
}
