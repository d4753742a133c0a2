//! Latent tensors as grids of per-channel heatmaps: axis mapping and slice sliders, colormap
//! and range, colour bar, value under the pointer, per-channel statistics, histogram, export.

use egui::{Color32, Rect, Sense, Vec2};

use crate::format::reader::DecodedLatent;
use crate::format::{Latent, LatentValues, Stats};
use crate::tensor::{self, AxisMapping, AxisRole, ColorTable, Colormap, RangeMode, SliceSelection};

/// How heatmaps are coloured; shared by every file and kept between sessions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HeatmapSettings {
    pub colormap: Colormap,
    pub inverted: bool,
    pub range_mode: RangeMode,
}

impl Default for HeatmapSettings {
    fn default() -> HeatmapSettings {
        HeatmapSettings { colormap: Colormap::BlueWhiteRed, inverted: false, range_mode: RangeMode::Symmetric }
    }
}

/// What an export button asked for; the app asks where to save it.
pub struct ExportRequest {
    pub suggested_name: String,
    pub bytes: Result<Vec<u8>, ExportError>,
}

/// Why an export's bytes could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the heatmap grid could not be encoded as a PNG")]
    GridSize,
    #[error("could not encode the PNG: {0}")]
    Png(#[from] image::ImageError),
    #[error(transparent)]
    Slice(#[from] crate::format::latent::LatentError),
    #[error(transparent)]
    Npy(#[from] std::io::Error),
}

/// The grid on screen and its textures; rebuilt when its key changes.
struct HeatmapTextures {
    key: (usize, AxisMapping, HeatmapSettings),
    data: tensor::HeatmapGrid,
    textures: Vec<egui::TextureHandle>,
}

fn compute_grid(latent: &Latent, selection: &SliceSelection, settings: &HeatmapSettings) -> tensor::HeatmapGrid {
    tensor::heatmap_grid(latent, selection, settings.colormap, settings.inverted, settings.range_mode)
}

#[derive(Default)]
pub struct LatentViewState {
    pub selected_latent: usize,
    pub mapping: Option<AxisMapping>,
    pub selected_channel: usize,
    pub enlarged: bool,
    pub enlarged_zoom: f32,
    /// The element under the pointer, as shown in the status line.
    pub hover_text: Option<String>,
    grid: Option<HeatmapTextures>,
}

impl LatentViewState {
    /// Whether the heatmaps of the selected latent have been built (textures uploaded).
    pub fn has_heatmaps(&self) -> bool {
        self.grid.as_ref().is_some_and(|grid| !grid.textures.is_empty())
    }
}

fn value_text(values: &LatentValues, index: usize) -> String {
    match values {
        // `{:?}` prints the shortest decimal that reads back as the same float: the exact stored value.
        LatentValues::F32(v) => v.get(index).map_or_else(|| "?".into(), |x| format!("{x:?}")),
        LatentValues::F16(v) => v.get(index).map_or_else(|| "?".into(), |x| format!("{:?} (float16)", x.to_f32())),
    }
}

/// A grid's heatmaps as one PNG (see [`tensor::grid_png`]).
pub fn heatmap_png(grid: &tensor::HeatmapGrid) -> Result<Vec<u8>, ExportError> {
    tensor::grid_png(grid).ok_or(ExportError::GridSize)
}

/// The current slice of one channel as a 2-D `.npy`, in the latent's dtype.
pub fn slice_npy(latent: &Latent, selection: &SliceSelection, channel: usize) -> Result<Vec<u8>, ExportError> {
    let slice = tensor::channel_slice(latent, selection, channel);
    let (height, width) = selection.slice_size();
    let values = LatentValues::F32(slice);
    let values = if latent.dtype() == crate::format::Dtype::F16 { values.to_f16() } else { values };
    let slice_latent = Latent::new(latent.key().to_string(), vec![height, width], values)?;
    Ok(crate::npy::write_npy(&slice_latent)?)
}

/// The whole Latents tab body for one file.
pub fn latents_ui(
    ui: &mut egui::Ui,
    state: &mut LatentViewState,
    settings: &mut HeatmapSettings,
    latents: &[DecodedLatent],
    latent_stats: &[Stats],
    stored_sizes: &[Option<u64>],
    exports: &mut Vec<ExportRequest>,
) {
    if latents.is_empty() {
        ui.label("This file has no latents that could be decoded.");
        return;
    }
    latent_table_ui(ui, state, latents, latent_stats, stored_sizes);
    let index = state.selected_latent.min(latents.len() - 1);
    let Some(decoded) = latents.get(index) else { return };
    let latent = &decoded.latent;
    let mapping = state.mapping.get_or_insert_with(|| AxisMapping::default_for(latent.shape()));
    ui.separator();
    ui.heading(format!("{}: {:?} {}", latent.key(), latent.shape(), latent.dtype().numpy_name()));
    // A texture needs at least one pixel each way; an empty tensor has nothing to map or draw.
    if let Some(axis) = crate::format::latent::zero_length_axis(latent.shape()) {
        ui.label(format!("Axis {axis} has length 0: this latent holds no values, so there is nothing to draw."));
        state.grid = None;
        return;
    }
    // Adapted before the controls show it (another latent may have been selected) and after
    // they change it, so the grid is drawn through a selection that fits this latent.
    let Some(selection) = SliceSelection::adapted(mapping, latent.shape()) else {
        ui.label("This latent has more elements than can be addressed.");
        state.grid = None;
        return;
    };
    *mapping = selection.mapping().clone();
    colour_controls_ui(ui, settings);
    axis_controls_ui(ui, mapping, latent.shape());
    let Some(selection) = SliceSelection::adapted(mapping, latent.shape()) else { return };
    *mapping = selection.mapping().clone();

    let key = (index, selection.mapping().clone(), settings.clone());
    if state.grid.as_ref().is_none_or(|shown| shown.key != key) {
        state.grid = Some(HeatmapTextures::new(ui.ctx(), key, compute_grid(latent, &selection, settings)));
    }
    let Some(grid) = &state.grid else { return };
    let shown = Shown { latent, selection: &selection, grid };
    state.selected_channel = state.selected_channel.min(grid.data.slices.len().saturating_sub(1));
    colour_bar_ui(ui, settings, grid);
    export_buttons_ui(ui, shown, state.selected_channel, exports);

    let mut hover = None;
    let mut clicked = None;
    heatmap_grid_ui(ui, shown, state.selected_channel, &mut hover, &mut clicked);
    ui.label(
        egui::RichText::new(hover.clone().unwrap_or_else(|| "Hover a heatmap to read a value.".into())).monospace(),
    )
    .on_hover_text("index tuple = exact stored value");
    if hover.is_some() {
        state.hover_text = hover;
    }
    if let Some((channel, double)) = clicked {
        state.selected_channel = channel;
        if double {
            state.enlarged = true;
        }
    }
    ui.columns(2, |columns| {
        if let [stats_column, histogram_column] = columns {
            channel_stats_ui(stats_column, grid, &mut state.selected_channel);
            histogram_ui(histogram_column, grid, state.selected_channel);
        }
    });
    if state.enlarged {
        state.enlarged = enlarged_window_ui(ui.ctx(), shown, state.selected_channel, &mut state.enlarged_zoom);
    }
}

impl HeatmapTextures {
    /// `grid`'s heatmaps uploaded as textures, one per channel.
    fn new(ctx: &egui::Context, key: (usize, AxisMapping, HeatmapSettings), grid: tensor::HeatmapGrid) -> Self {
        let index = key.0;
        let size = [grid.sampled_size.1, grid.sampled_size.0];
        let textures = grid
            .pixels
            .iter()
            .enumerate()
            .map(|(channel, pixels)| {
                let image = egui::ColorImage::from_rgba_unmultiplied(size, pixels);
                ctx.load_texture(format!("heatmap-{index}-{channel}"), image, egui::TextureOptions::NEAREST)
            })
            .collect();
        HeatmapTextures { key, data: grid, textures }
    }
}

/// What the heatmap regions draw from: the latent, the selection it is read through, and the
/// grid made from them.
#[derive(Clone, Copy)]
struct Shown<'a> {
    latent: &'a Latent,
    selection: &'a SliceSelection,
    grid: &'a HeatmapTextures,
}

fn export_buttons_ui(ui: &mut egui::Ui, shown: Shown<'_>, channel: usize, exports: &mut Vec<ExportRequest>) {
    let Shown { latent, selection, grid } = shown;
    let stem = crate::npy::safe_file_stem(latent.key());
    ui.horizontal(|ui| {
        if ui.button("Export heatmaps as PNG…").clicked() {
            exports
                .push(ExportRequest { suggested_name: format!("{stem}_heatmaps.png"), bytes: heatmap_png(&grid.data) });
        }
        if ui.button("Export this slice as .npy…").on_hover_text("The selected channel's current 2-D slice").clicked()
        {
            exports.push(ExportRequest {
                suggested_name: format!("{stem}_c{channel}_slice.npy"),
                bytes: slice_npy(latent, selection, channel),
            });
        }
        if ui.button("Export the whole latent as .npy…").clicked() {
            exports.push(ExportRequest {
                suggested_name: format!("{stem}.npy"),
                bytes: crate::npy::write_npy(latent).map_err(ExportError::from),
            });
        }
    });
}

/// One channel's heatmap in a window of its own, zoomable; false once the window is closed.
fn enlarged_window_ui(ctx: &egui::Context, shown: Shown<'_>, channel: usize, zoom: &mut f32) -> bool {
    let Shown { latent, .. } = shown;
    let mut open = true;
    if *zoom < 1.0 {
        *zoom = 4.0;
    }
    egui::Window::new(format!("{} channel {channel}", latent.key())).open(&mut open).default_size([700.0, 700.0]).show(
        ctx,
        |ui| {
            ui.add(egui::Slider::new(zoom, 1.0..=32.0).logarithmic(true).text("zoom"));
            egui::ScrollArea::both().show(ui, |ui| {
                let mut hover = None;
                heatmap_tile_ui(ui, shown, channel, *zoom, &mut hover);
                ui.monospace(hover.unwrap_or_default());
            });
        },
    );
    open
}

fn latent_table_ui(
    ui: &mut egui::Ui,
    state: &mut LatentViewState,
    latents: &[DecodedLatent],
    latent_stats: &[Stats],
    stored_sizes: &[Option<u64>],
) {
    egui::Grid::new("latent-table").striped(true).show(ui, |ui| {
        for title in ["key", "shape", "dtype", "codec", "stored bytes", "ratio", "min", "max", "mean", "std"] {
            ui.strong(title);
        }
        ui.end_row();
        for (index, decoded) in latents.iter().enumerate() {
            let latent = &decoded.latent;
            if ui.selectable_label(index == state.selected_latent, latent.key()).clicked() {
                state.selected_latent = index;
            }
            ui.label(format!("{:?}", latent.shape()));
            ui.label(latent.dtype().numpy_name());
            ui.label(decoded.codec.name());
            let raw = latent.values().len() as u64 * latent.dtype().size();
            match stored_sizes.get(index).copied().flatten() {
                Some(stored) => {
                    ui.label(stored.to_string());
                    ui.label(if stored > 0 { format!("{:.2}x", raw as f64 / stored as f64) } else { "-".into() })
                        .on_hover_text("raw size / stored size; below 1 means the codec made it larger");
                }
                None => {
                    ui.label("?");
                    ui.label("-");
                }
            }
            let stats = latent_stats.get(index);
            for value in [
                stats.and_then(|s| s.min),
                stats.and_then(|s| s.max),
                stats.and_then(|s| s.mean),
                stats.and_then(|s| s.std),
            ] {
                ui.label(value.map_or_else(|| "-".into(), |v| format!("{v:.4}")));
            }
            ui.end_row();
        }
    });
}

fn colour_controls_ui(ui: &mut egui::Ui, settings: &mut HeatmapSettings) {
    ui.horizontal_wrapped(|ui| {
        egui::ComboBox::from_label("colormap").selected_text(settings.colormap.name()).show_ui(ui, |ui| {
            for map in Colormap::ALL {
                ui.selectable_value(&mut settings.colormap, map, map.name());
            }
        });
        ui.checkbox(&mut settings.inverted, "invert");
        let percentile = match settings.range_mode {
            RangeMode::Percentile { .. } => settings.range_mode,
            _ => RangeMode::Percentile { low: 1.0, high: 99.0 },
        };
        let manual = match settings.range_mode {
            RangeMode::Manual { .. } => settings.range_mode,
            _ => RangeMode::Manual { low: -1.0, high: 1.0 },
        };
        egui::ComboBox::from_label("range").selected_text(settings.range_mode.name()).show_ui(ui, |ui| {
            for mode in [RangeMode::PerChannel, RangeMode::Shared, RangeMode::Symmetric, percentile, manual] {
                if ui.selectable_label(settings.range_mode.name() == mode.name(), mode.name()).clicked() {
                    settings.range_mode = mode;
                }
            }
        });
        match &mut settings.range_mode {
            RangeMode::Percentile { low, high } => {
                ui.add(egui::DragValue::new(low).range(0.0..=100.0).speed(0.1).prefix("low % "));
                ui.add(egui::DragValue::new(high).range(0.0..=100.0).speed(0.1).prefix("high % "));
            }
            RangeMode::Manual { low, high } => {
                ui.add(egui::DragValue::new(low).speed(0.01).prefix("min "));
                ui.add(egui::DragValue::new(high).speed(0.01).prefix("max "));
            }
            _ => {}
        }
    });
}

fn axis_controls_ui(ui: &mut egui::Ui, mapping: &mut AxisMapping, shape: &[usize]) {
    if shape.len() < 2 {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for (axis, &size) in shape.iter().enumerate() {
            let role = mapping.role_of(axis);
            egui::ComboBox::new(("axis-role", axis), format!("axis {axis} ({size})"))
                .selected_text(role.name())
                .show_ui(ui, |ui| {
                    for choice in [AxisRole::Height, AxisRole::Width, AxisRole::Channel, AxisRole::Fixed] {
                        if ui.selectable_label(role == choice, choice.name()).clicked() {
                            mapping.assign(axis, choice);
                        }
                    }
                });
        }
    });
    for axis in mapping.fixed_axes(shape.len()) {
        let size = shape.get(axis).copied().unwrap_or(1);
        if let Some(index) = mapping.indices.get_mut(axis) {
            ui.add_enabled(
                size > 1,
                egui::Slider::new(index, 0..=size.saturating_sub(1)).text(format!("axis {axis} index")),
            );
        }
    }
}

fn colour_bar_ui(ui: &mut egui::Ui, settings: &HeatmapSettings, grid: &HeatmapTextures) {
    let table = ColorTable::new(settings.colormap, settings.inverted);
    ui.horizontal(|ui| {
        let per_channel = settings.range_mode == RangeMode::PerChannel;
        let (low, high) =
            if per_channel { (0.0, 1.0) } else { grid.data.ranges.first().copied().unwrap_or((0.0, 0.0)) };
        ui.monospace(if per_channel { "channel min".to_string() } else { format!("{low:.4}") });
        let (rect, _) = ui.allocate_exact_size(Vec2::new(260.0, 14.0), Sense::hover());
        let steps = 64;
        for step in 0..steps {
            let t = step as f32 / (steps - 1) as f32;
            let [r, g, b, _] = table.color_of(low + (high - low) * t, low, high);
            let x0 = rect.left() + rect.width() * step as f32 / steps as f32;
            let x1 = rect.left() + rect.width() * (step + 1) as f32 / steps as f32;
            ui.painter().rect_filled(
                Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom())),
                0.0,
                Color32::from_rgb(r, g, b),
            );
        }
        ui.monospace(if per_channel { "channel max".to_string() } else { format!("{high:.4}") });
        ui.label(format!("({}; NaN shown green)", settings.range_mode.name()));
    });
}

/// Draws one heatmap at `scale` screen points per element; reports the element under the pointer.
fn heatmap_tile_ui(
    ui: &mut egui::Ui,
    shown: Shown<'_>,
    channel: usize,
    scale: f32,
    hover: &mut Option<String>,
) -> egui::Response {
    let Shown { latent, selection, grid } = shown;
    let (height, width) = grid.data.size;
    let display = Vec2::new(width as f32 * scale, (height as f32 * scale).max(12.0));
    let (rect, response) = ui.allocate_exact_size(display, Sense::click());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, format!("heatmap {channel}")));
    if let Some(texture) = grid.textures.get(channel) {
        ui.painter().image(
            texture.id(),
            rect,
            Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    if let Some(pointer) = response.hover_pos() {
        let x = (((pointer.x - rect.left()) / rect.width()) * width as f32).floor() as usize;
        let y = (((pointer.y - rect.top()) / rect.height()) * height as f32).floor() as usize;
        if let (Some(tuple), Some(flat)) = (selection.index_tuple(channel, y, x), selection.flat_index(channel, y, x)) {
            *hover = Some(format!("{:?} = {}", tuple, value_text(latent.values(), flat)));
        }
    }
    response
}

fn heatmap_grid_ui(
    ui: &mut egui::Ui,
    shown: Shown<'_>,
    selected: usize,
    hover: &mut Option<String>,
    clicked: &mut Option<(usize, bool)>,
) {
    let Shown { selection, grid, .. } = shown;
    let (height, width) = grid.data.size;
    let count = grid.textures.len().max(1);
    let gap = 6.0;
    let available = ui.available_width();
    let columns = count.min(((available + gap) / (120.0 + gap)).floor().max(1.0) as usize);
    let tile_width = ((available - gap * (columns as f32 - 1.0)) / columns as f32).min(320.0);
    let scale = tile_width / width.max(1) as f32;
    // Very tall slices are limited to 320 points as well.
    let scale = scale.min(320.0 / height.max(1) as f32);
    egui::Grid::new("heatmap-grid").spacing([gap, gap]).show(ui, |ui| {
        for channel in 0..grid.textures.len() {
            ui.vertical(|ui| {
                let label = match selection.mapping().channel {
                    Some(axis) => format!("axis {axis} = {channel}"),
                    None => "slice".to_string(),
                };
                let text = egui::RichText::new(label).small();
                ui.label(if channel == selected { text.strong() } else { text });
                let response = heatmap_tile_ui(ui, shown, channel, scale, hover);
                if channel == selected {
                    ui.painter().rect_stroke(
                        response.rect.expand(1.0),
                        0.0,
                        egui::Stroke::new(2.0, ui.visuals().selection.stroke.color),
                        egui::StrokeKind::Outside,
                    );
                }
                let response = response.on_hover_text("click: select, double-click: enlarge");
                if response.double_clicked() {
                    *clicked = Some((channel, true));
                } else if response.clicked() {
                    *clicked = Some((channel, false));
                }
            });
            if (channel + 1) % columns == 0 {
                ui.end_row();
            }
        }
    });
}

fn channel_stats_ui(ui: &mut egui::Ui, grid: &HeatmapTextures, selected: &mut usize) {
    ui.strong("Statistics of the current slice");
    egui::ScrollArea::vertical().id_salt("channel-stats").max_height(220.0).show(ui, |ui| {
        egui::Grid::new("channel-stats-grid").striped(true).show(ui, |ui| {
            for title in ["channel", "min", "max", "mean", "std", "NaN", "Inf"] {
                ui.strong(title);
            }
            ui.end_row();
            for (channel, stats) in grid.data.stats.iter().enumerate() {
                if ui.selectable_label(channel == *selected, channel.to_string()).clicked() {
                    *selected = channel;
                }
                for value in [stats.min, stats.max, stats.mean, stats.std] {
                    ui.monospace(value.map_or_else(|| "-".into(), |v| format!("{v:.4}")));
                }
                ui.monospace(stats.nan_count.to_string());
                ui.monospace(stats.inf_count.to_string());
                ui.end_row();
            }
        });
    });
}

fn histogram_ui(ui: &mut egui::Ui, grid: &HeatmapTextures, channel: usize) {
    let sampled =
        if grid.data.step > 1 { format!(" (every {}th row and column)", grid.data.step) } else { String::new() };
    ui.strong(format!("Histogram of channel {channel}{sampled}"));
    let Some(slice) = grid.data.slices.get(channel) else { return };
    let Some((low, high)) = tensor::range::finite_min_max(slice) else {
        ui.label("no finite values");
        return;
    };
    let bins = 64;
    let counts = tensor::range::histogram(slice, low, high, bins);
    let width = (f64::from(high) - f64::from(low)) / bins as f64;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(bin, &count)| {
            egui_plot::Bar::new(f64::from(low) + width * (bin as f64 + 0.5), count as f64)
                .width(width.max(f64::EPSILON))
        })
        .collect();
    egui_plot::Plot::new(("histogram", channel))
        .height(200.0)
        .allow_scroll(false)
        .show(ui, |plot| plot.bar_chart(egui_plot::BarChart::new("values", bars)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_png_has_one_pixel_per_element_and_gaps() {
        let latent =
            Latent::new("x", vec![1, 4, 3, 5], LatentValues::F32((0..60).map(|i| i as f32).collect())).unwrap();
        let mapping = SliceSelection::default_for(latent.shape()).unwrap();
        let png = heatmap_png(&compute_grid(&latent, &mapping, &HeatmapSettings::default())).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_rgba8();
        // Four 3x5 tiles in a 2x2 grid with 2-pixel gaps.
        assert_eq!(image.dimensions(), (5 * 2 + 2, 3 * 2 + 2));
        assert_eq!(image.get_pixel(5, 0).0[3], 0, "gap is transparent");
        // Symmetric range [-59, 59]: element 59 (last of channel 3) is the top colour.
        let top = ColorTable::new(Colormap::BlueWhiteRed, false).color_of(59.0, -59.0, 59.0);
        assert_eq!(image.get_pixel(5 + 2 + 4, 3 + 2 + 2).0, top);
    }

    #[test]
    fn slice_npy_keeps_dtype_and_values() {
        let values: Vec<f32> = (0..24).map(|i| i as f32 - 12.0).collect();
        let latent = Latent::new("k", vec![2, 3, 4], LatentValues::F32(values)).unwrap();
        let latent16 = latent.to_f16();
        let mapping = SliceSelection::default_for(latent.shape()).unwrap();
        for source in [latent, latent16] {
            let npy = slice_npy(&source, &mapping, 1).unwrap();
            let read = crate::npy::read_npy(&npy, &crate::format::Limits::default()).unwrap();
            assert_eq!(read.shape, vec![3, 4]);
            let expected: Vec<f32> = (12..24).map(|i| i as f32 - 12.0).collect();
            assert_eq!(read.values.to_f32_vec(), expected);
            assert_eq!(read.values.dtype(), source.dtype());
        }
    }
}
