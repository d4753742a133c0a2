//! The image: fit or 1:1, zoom by wheel and keys, pan by drag, a checkerboard under
//! transparency, and the pixel under the pointer.

use egui::{Color32, Pos2, Rect, Sense, Vec2};

/// Longest side of the texture shown. Larger images are shown downscaled (uploading a
/// 8192x8192 texture to a software renderer stalls a frame), while the pixel inspector
/// still reads the full-resolution pixels.
const PREVIEW_MAX_SIDE: usize = 4096;

use crate::format::Limits;

/// A decoded image: full-resolution pixels and the texture-sized preview.
pub struct PreparedImage {
    pub pixels: image::RgbaImage,
    pub preview: egui::ColorImage,
    pub format: &'static str,
}

impl PreparedImage {
    pub fn decode(bytes: &[u8], max_texture_side: usize, limits: &Limits) -> Result<PreparedImage, String> {
        let pixels = crate::format::picture::decode_rgba(bytes, limits).map_err(|e| e.to_string())?;
        let format =
            image::guess_format(bytes).ok().and_then(|f| f.extensions_str().first().copied()).unwrap_or("image");
        Ok(PreparedImage::from_pixels(pixels, format, max_texture_side))
    }

    /// Pixels already decoded (or computed, like a difference image), with their preview.
    pub fn from_pixels(pixels: image::RgbaImage, format: &'static str, max_texture_side: usize) -> PreparedImage {
        let side = PREVIEW_MAX_SIDE.min(max_texture_side.max(1)) as u32;
        let (width, height) = pixels.dimensions();
        let preview = if width.max(height) > side {
            let scale = f64::from(side) / f64::from(width.max(height));
            let size = ((f64::from(width) * scale).round().max(1.0), (f64::from(height) * scale).round().max(1.0));
            image::imageops::resize(&pixels, size.0 as u32, size.1 as u32, image::imageops::FilterType::Triangle)
        } else {
            pixels.clone()
        };
        let preview = egui::ColorImage::from_rgba_unmultiplied(
            [preview.width() as usize, preview.height() as usize],
            preview.as_raw(),
        );
        PreparedImage { pixels, preview, format }
    }

    pub fn size(&self) -> Vec2 {
        Vec2::new(self.pixels.width() as f32, self.pixels.height() as f32)
    }

    pub fn is_downscaled(&self) -> bool {
        self.preview.size[0] as u32 != self.pixels.width()
    }
}

#[derive(Default)]
pub struct ImageViewState {
    /// Screen points per image pixel; `None` fits the image to the view.
    pub zoom: Option<f32>,
    pub pan: Vec2,
    texture: Option<egui::TextureHandle>,
}

impl ImageViewState {
    pub fn has_texture(&self) -> bool {
        self.texture.is_some()
    }
    pub fn texture(&mut self, ctx: &egui::Context, image: &PreparedImage, name: &str) -> egui::TextureHandle {
        self.texture
            .get_or_insert_with(|| ctx.load_texture(name, image.preview.clone(), egui::TextureOptions::NEAREST))
            .clone()
    }
}

const ZOOM_LIMITS: (f32, f32) = (0.01, 64.0);

/// A small, fitted, non-interactive view (beside the heatmaps).
pub fn thumbnail_ui(ui: &mut egui::Ui, state: &mut ImageViewState, image: &PreparedImage, name: &str, max: Vec2) {
    let texture = state.texture(ui.ctx(), image, name);
    let size = image.size();
    let scale = (max.x / size.x).min(max.y / size.y);
    ui.add(egui::Image::new((texture.id(), size * scale)));
}

/// The full image view.
pub fn image_ui(ui: &mut egui::Ui, state: &mut ImageViewState, image: &PreparedImage, name: &str) {
    let texture = state.texture(ui.ctx(), image, name);
    let image_size = image.size();
    ui.horizontal(|ui| {
        if ui.selectable_label(state.zoom.is_none(), "Fit").on_hover_text("Fit to the view (F)").clicked() {
            state.zoom = None;
            state.pan = Vec2::ZERO;
        }
        if ui.selectable_label(state.zoom == Some(1.0), "1:1").on_hover_text("One screen point per pixel (1)").clicked()
        {
            state.zoom = Some(1.0);
            state.pan = Vec2::ZERO;
        }
        ui.label(format!(
            "{} x {} {}{}",
            image.pixels.width(),
            image.pixels.height(),
            image.format.to_uppercase(),
            if image.is_downscaled() { ", shown from a downscaled preview" } else { "" }
        ));
    });
    let (view, response) = ui.allocate_exact_size(ui.available_size() - Vec2::new(0.0, 22.0), Sense::click_and_drag());
    let (shown, zoom) = zoom_and_pan(ui, state, view, &response, image_size, true);
    let painter = ui.painter_at(view);
    paint_checkerboard(&painter, shown.intersect(view));
    painter.image(texture.id(), shown, Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)), Color32::WHITE);

    let hovered_pixel = pixel_under_pointer(&response, shown, zoom, image_size);
    ui.horizontal(|ui| {
        ui.label(format!("zoom {:.0} %", zoom * 100.0));
        if let Some((x, y)) = hovered_pixel
            && let Some(pixel) = image.pixels.get_pixel_checked(x, y)
        {
            let [r, g, b, a] = pixel.0;
            ui.monospace(format!("x {x}, y {y}: R {r} G {g} B {b} A {a}"));
        }
    });
}

/// The image pixel under the pointer, if it is over the image.
pub fn pixel_under_pointer(response: &egui::Response, shown: Rect, zoom: f32, image_size: Vec2) -> Option<(u32, u32)> {
    response.hover_pos().and_then(|pointer| {
        let at = (pointer - shown.min) / zoom;
        let (x, y) = (at.x.floor(), at.y.floor());
        (x >= 0.0 && y >= 0.0 && x < image_size.x && y < image_size.y).then_some((x as u32, y as u32))
    })
}

/// Applies the wheel, pinch, keys (+ - 1 F) and, when `drag_pans`, dragging to `state`, and
/// returns where the image is shown in `view` and at what zoom. Views that show two images at
/// once share one state, so both move together.
pub fn zoom_and_pan(
    ui: &egui::Ui,
    state: &mut ImageViewState,
    view: Rect,
    response: &egui::Response,
    image_size: Vec2,
    drag_pans: bool,
) -> (Rect, f32) {
    let fit = (view.width() / image_size.x).min(view.height() / image_size.y);
    let mut zoom = state.zoom.unwrap_or(fit);
    if response.hovered() {
        let (scroll, pinch, keys) = ui.input(|i| {
            let keys = (
                i.key_pressed(egui::Key::Plus) || i.key_pressed(egui::Key::Equals),
                i.key_pressed(egui::Key::Minus),
                i.key_pressed(egui::Key::Num1),
                i.key_pressed(egui::Key::F),
            );
            (i.smooth_scroll_delta.y, i.zoom_delta(), keys)
        });
        let mut factor = pinch * (scroll / 200.0).exp();
        if keys.0 {
            factor *= 1.25;
        }
        if keys.1 {
            factor /= 1.25;
        }
        if (factor - 1.0).abs() > 1e-4 {
            // Zoom about the pointer, so the pixel under it stays put.
            let new_zoom = (zoom * factor).clamp(ZOOM_LIMITS.0, ZOOM_LIMITS.1);
            if let Some(pointer) = response.hover_pos() {
                let anchor = pointer - view.center() - state.pan;
                state.pan -= anchor * (new_zoom / zoom - 1.0);
            }
            zoom = new_zoom;
            state.zoom = Some(zoom);
        }
        if keys.2 {
            state.zoom = Some(1.0);
            state.pan = Vec2::ZERO;
            zoom = 1.0;
        }
        if keys.3 {
            state.zoom = None;
            state.pan = Vec2::ZERO;
            zoom = fit;
        }
    }
    if drag_pans && response.dragged() {
        state.pan += response.drag_delta();
        state.zoom = Some(zoom);
    }
    (Rect::from_center_size(view.center() + state.pan, image_size * zoom), zoom)
}

/// Light and dark squares, so transparent pixels show as transparent.
pub fn paint_checkerboard(painter: &egui::Painter, area: Rect) {
    const SQUARE: f32 = 8.0;
    if !area.is_positive() {
        return;
    }
    painter.rect_filled(area, 0.0, Color32::from_gray(200));
    let columns = (area.width() / SQUARE).ceil() as usize;
    let rows = (area.height() / SQUARE).ceil() as usize;
    for row in 0..rows {
        for column in (row % 2..columns).step_by(2) {
            let min = area.min + Vec2::new(column as f32 * SQUARE, row as f32 * SQUARE);
            let square = Rect::from_min_size(min, Vec2::splat(SQUARE)).intersect(area);
            painter.rect_filled(square, 0.0, Color32::from_gray(150));
        }
    }
}
