//! A generated image opened on its own (a PNG, JPEG or WebP, no container): the image, the
//! generator that wrote it, every parameter with a copy button, the raw metadata as found, and for
//! ComfyUI the graph's nodes. "Pack…" opens the packer prefilled from it.

use serde_json::Value;

use super::image_view::{ImageViewState, PreparedImage, thumbnail_ui};
use crate::format::Limits;
use crate::params::ImportedParams;
use crate::params::comfyui::GraphNode;
use crate::params::container::ImageMetadata;

/// What the view shows, read off the UI thread.
pub struct LoadedImage {
    pub image: Result<PreparedImage, String>,
    pub params: Result<Option<ImportedParams>, String>,
    pub metadata: Result<ImageMetadata, String>,
    /// The ComfyUI graph's nodes (its `prompt`, else its `workflow`), when there is one.
    pub nodes: Vec<GraphNode>,
}

impl LoadedImage {
    /// An image that could not be read: every part says why.
    pub fn failed(error: &str) -> LoadedImage {
        LoadedImage {
            image: Err(error.to_string()),
            params: Err(error.to_string()),
            metadata: Err(error.to_string()),
            nodes: Vec::new(),
        }
    }
}

pub fn load(bytes: &[u8], max_texture_side: usize, limits: &Limits) -> LoadedImage {
    // Read once: the raw metadata (with the stealth payload, which decodes the pixels) and the
    // parameters imported from it.
    let metadata = crate::params::read_image_metadata(bytes);
    let params = match &metadata {
        Ok(metadata) => crate::params::import_from_metadata(metadata).map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    let nodes = match &params {
        Ok(Some(found)) => ["comfyui_prompt", "comfyui_workflow"]
            .iter()
            .find_map(|key| found.settings.get(*key))
            .map(crate::params::comfyui::graph_nodes)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    LoadedImage {
        image: PreparedImage::decode(bytes, max_texture_side, limits),
        params,
        metadata: metadata.map_err(|e| e.to_string()),
        nodes,
    }
}

/// Longest text shown in a cell; the copy button copies all of it.
const SHOWN_CHARS: usize = 400;

fn shortened(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}… ({} characters)", text.get(..cut).unwrap_or_default(), text.chars().count()),
        None => text.to_string(),
    }
}

/// A value as shown (JSON on one line) and as copied (JSON pretty-printed); text as it is.
fn value_texts(value: &Value) -> (String, String) {
    match value {
        Value::String(text) => (text.clone(), text.clone()),
        other => (other.to_string(), serde_json::to_string_pretty(other).unwrap_or_default()),
    }
}

/// Width of a grid's value column: what the view has beside the label and the button.
fn value_width(ui: &egui::Ui) -> f32 {
    (ui.available_width() - 260.0).max(240.0)
}

/// A row of a grid: label, value (shortened, wrapped to `width`), and a button copying `copied`.
fn row_ui(ui: &mut egui::Ui, label: &str, shown: &str, copied: &str, width: f32) {
    ui.label(label);
    ui.allocate_ui(egui::vec2(width, 0.0), |ui| {
        ui.set_width(width);
        ui.add(egui::Label::new(egui::RichText::new(shortened(shown)).monospace()).wrap());
    });
    if ui.small_button("Copy").on_hover_text(format!("Copy {label}")).clicked() {
        ui.ctx().copy_text(copied.to_string());
    }
    ui.end_row();
}

fn parameters_ui(ui: &mut egui::Ui, params: &ImportedParams) {
    let width = value_width(ui);
    egui::Grid::new("generated-image-parameters").num_columns(3).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
        for (label, value) in
            [("model", &params.model_name), ("model version", &params.model_version), ("prompt", &params.prompt)]
        {
            if let Some(value) = value {
                row_ui(ui, label, value, value, width);
            }
        }
        for (key, value) in &params.settings {
            let (shown, copied) = value_texts(value);
            row_ui(ui, key, &shown, &copied, width);
        }
    });
    for note in &params.notes {
        ui.weak(format!("note: {note}"));
    }
}

fn nodes_ui(ui: &mut egui::Ui, nodes: &[GraphNode]) {
    egui::CollapsingHeader::new(format!("ComfyUI graph: {} nodes", nodes.len())).default_open(true).show(ui, |ui| {
        egui::Grid::new("comfyui-nodes").num_columns(3).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
            for node in nodes {
                ui.monospace(&node.id);
                match &node.title {
                    Some(title) if *title != node.class_type => ui.label(format!("{}\n{title}", node.class_type)),
                    _ => ui.label(&node.class_type),
                };
                let inputs: Vec<String> = node.inputs.iter().map(|(name, value)| format!("{name}: {value}")).collect();
                ui.add(egui::Label::new(egui::RichText::new(inputs.join("\n")).monospace()).wrap());
                ui.end_row();
            }
        });
    });
}

fn raw_metadata_ui(ui: &mut egui::Ui, metadata: &ImageMetadata) {
    let count = metadata.entries.len();
    let title = format!(
        "Raw metadata: {count} {} ({})",
        if count == 1 { "entry" } else { "entries" },
        metadata.container.name()
    );
    egui::CollapsingHeader::new(title).default_open(false).show(ui, |ui| {
        let width = value_width(ui);
        egui::Grid::new("raw-metadata").num_columns(3).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
            for (key, text) in &metadata.entries {
                row_ui(ui, key, text, text, width);
            }
        });
    });
    for problem in &metadata.problems {
        ui.colored_label(ui.visuals().warn_fg_color, problem);
    }
}

/// The view; true when "Pack…" was clicked.
pub fn generated_image_ui(ui: &mut egui::Ui, state: &mut ImageViewState, loaded: &LoadedImage, name: &str) -> bool {
    let mut pack = false;
    ui.horizontal(|ui| {
        let generator = match &loaded.params {
            Ok(Some(params)) => params.source.name().to_string(),
            Ok(None) => "no generation parameters found".to_string(),
            Err(error) => format!("its parameters could not be read: {error}"),
        };
        ui.heading(generator);
        pack = ui
            .button("Pack…")
            .on_hover_text("Open the packer with this image, its parameters filled in; add the latents there")
            .clicked();
    });
    ui.separator();
    egui::ScrollArea::vertical().id_salt("generated-image").show(ui, |ui| {
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| match &loaded.image {
                Ok(image) => {
                    thumbnail_ui(ui, state, image, name, egui::vec2(360.0, 360.0));
                    ui.weak(format!("{}, {} x {}", image.format, image.pixels.width(), image.pixels.height()));
                }
                Err(error) => {
                    ui.colored_label(ui.visuals().warn_fg_color, error);
                }
            });
            ui.vertical(|ui| {
                if let Ok(Some(params)) = &loaded.params {
                    parameters_ui(ui, params);
                }
                if !loaded.nodes.is_empty() {
                    ui.add_space(8.0);
                    nodes_ui(ui, &loaded.nodes);
                }
                ui.add_space(8.0);
                match &loaded.metadata {
                    Ok(metadata) => raw_metadata_ui(ui, metadata),
                    Err(error) => {
                        ui.colored_label(ui.visuals().warn_fg_color, error);
                    }
                }
            });
        });
    });
    pack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_shortened_for_showing_only() {
        assert_eq!(shortened("short"), "short");
        let long = "é".repeat(SHOWN_CHARS + 10);
        let shown = shortened(&long);
        assert!(
            shown.starts_with(&"é".repeat(SHOWN_CHARS))
                && shown.ends_with(&format!("({} characters)", SHOWN_CHARS + 10))
        );
        assert_eq!(value_texts(&Value::from("text")), ("text".into(), "text".into()));
        assert_eq!(value_texts(&serde_json::json!([1])), ("[1]".into(), "[\n  1\n]".into()));
    }
}
