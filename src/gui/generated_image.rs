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
    /// The parameters' and the raw metadata's rows, made once: a ComfyUI graph serialises to
    /// hundreds of kilobytes, too much to redo every frame.
    parameter_rows: Vec<ValueRow>,
    metadata_rows: Vec<ValueRow>,
}

/// A row as drawn: its label, its value shortened for the screen, and the whole value for Copy.
#[derive(Debug, Clone, PartialEq)]
struct ValueRow {
    label: String,
    shown: String,
    copied: String,
}

impl ValueRow {
    fn text(label: &str, text: &str) -> ValueRow {
        ValueRow { label: label.to_string(), shown: shortened(text), copied: text.to_string() }
    }

    /// Text as it is; other JSON on one line, and pretty-printed when copied.
    fn value(label: &str, value: &Value) -> ValueRow {
        match value {
            Value::String(text) => ValueRow::text(label, text),
            other => ValueRow {
                label: label.to_string(),
                shown: shortened(&other.to_string()),
                copied: serde_json::to_string_pretty(other).unwrap_or_default(),
            },
        }
    }
}

fn parameter_rows(params: &ImportedParams) -> Vec<ValueRow> {
    let named = [("model", &params.model_name), ("model version", &params.model_version), ("prompt", &params.prompt)];
    let named = named.into_iter().filter_map(|(label, value)| Some(ValueRow::text(label, value.as_deref()?)));
    named.chain(params.settings.iter().map(|(key, value)| ValueRow::value(key, value))).collect()
}

impl LoadedImage {
    /// An image that could not be read: every part says why.
    pub fn failed(error: &str) -> LoadedImage {
        LoadedImage {
            image: Err(error.to_string()),
            params: Err(error.to_string()),
            metadata: Err(error.to_string()),
            nodes: Vec::new(),
            parameter_rows: Vec::new(),
            metadata_rows: Vec::new(),
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
    let parameter_rows = params.as_ref().ok().and_then(Option::as_ref).map(parameter_rows).unwrap_or_default();
    let metadata_rows = metadata
        .as_ref()
        .map(|metadata| metadata.entries.iter().map(|(key, text)| ValueRow::text(key, text)).collect())
        .unwrap_or_default();
    LoadedImage {
        image: PreparedImage::decode(bytes, max_texture_side, limits),
        params,
        metadata: metadata.map_err(|e| e.to_string()),
        nodes,
        parameter_rows,
        metadata_rows,
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

/// Width of a grid's value column: what the view has beside the label and the button.
fn value_width(ui: &egui::Ui) -> f32 {
    (ui.available_width() - 260.0).max(240.0)
}

/// A row of a grid: label, value (wrapped to `width`), and a button copying the whole value.
fn row_ui(ui: &mut egui::Ui, row: &ValueRow, width: f32) {
    ui.label(&row.label);
    ui.allocate_ui(egui::vec2(width, 0.0), |ui| {
        ui.set_width(width);
        ui.add(egui::Label::new(egui::RichText::new(&row.shown).monospace()).wrap());
    });
    if ui.small_button("Copy").on_hover_text(format!("Copy {}", row.label)).clicked() {
        ui.ctx().copy_text(row.copied.clone());
    }
    ui.end_row();
}

fn rows_ui(ui: &mut egui::Ui, id: &str, rows: &[ValueRow]) {
    let width = value_width(ui);
    egui::Grid::new(id).num_columns(3).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
        for row in rows {
            row_ui(ui, row, width);
        }
    });
}

fn parameters_ui(ui: &mut egui::Ui, params: &ImportedParams, rows: &[ValueRow]) {
    rows_ui(ui, "generated-image-parameters", rows);
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

fn raw_metadata_ui(ui: &mut egui::Ui, metadata: &ImageMetadata, rows: &[ValueRow]) {
    let count = metadata.entries.len();
    let title = format!(
        "Raw metadata: {count} {} ({})",
        if count == 1 { "entry" } else { "entries" },
        metadata.container.name()
    );
    egui::CollapsingHeader::new(title).default_open(false).show(ui, |ui| rows_ui(ui, "raw-metadata", rows));
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
                    parameters_ui(ui, params, &loaded.parameter_rows);
                }
                if !loaded.nodes.is_empty() {
                    ui.add_space(8.0);
                    nodes_ui(ui, &loaded.nodes);
                }
                ui.add_space(8.0);
                match &loaded.metadata {
                    Ok(metadata) => raw_metadata_ui(ui, metadata, &loaded.metadata_rows),
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
        let text = ValueRow::value("k", &Value::from("text"));
        assert_eq!((text.shown.as_str(), text.copied.as_str()), ("text", "text"));
        let list = ValueRow::value("k", &serde_json::json!([1]));
        assert_eq!((list.shown.as_str(), list.copied.as_str()), ("[1]", "[\n  1\n]"));
        let long_list = ValueRow::value("k", &Value::from(vec![Value::from(long.clone())]));
        assert!(long_list.shown.ends_with("characters)") && long_list.copied.contains(&long));
    }
}
