//! One container as a block of self-contained HTML, for notebooks (the Python package's
//! `Container._repr_html_`): the verdict, a thumbnail of the image, each latent's channels as
//! heatmaps on the viewer's default colormap and range, the model, prompt and settings, and the
//! failed checks. Pictures are inline PNGs; no script, no external file, so the block shows the
//! same in Jupyter, in an exported notebook and in a browser. No UI code.

use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::Value;

use crate::format::writer::image_info;
use crate::format::{Inspection, Limits, Verdict, picture};
use crate::tensor::{self, Colormap, RangeMode, SliceSelection};

/// Longest side of the image thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;
/// Longest side of one latent's grid of heatmaps, in pixels; larger grids are scaled down.
pub const HEATMAP_GRID_SIDE: u32 = 384;
/// Latents shown as heatmaps; the rest are listed in the table only.
pub const MAX_HEATMAP_LATENTS: usize = 4;
/// Channels of one latent shown as heatmaps; a latent with more shows its first ones.
pub const MAX_HEATMAP_CHANNELS: usize = 16;

/// The HTML block for `inspection` of the file called `name`. Never fails: what cannot be drawn
/// (an undecodable image, a latent that has no 2-D slice) is said in words.
pub fn container_html(name: &str, inspection: &Inspection, limits: &Limits) -> String {
    let verdict = inspection.verdict();
    let checks = &inspection.report.checks;
    let failed: Vec<_> = inspection.report.failures().collect();
    let mut html = String::new();
    let colour = match verdict {
        Verdict::Valid => "#1a7f37",
        Verdict::Invalid => "#b35900",
        Verdict::Unreadable => "#c62828",
    };
    let _ = write!(
        html,
        "<div class=\"raiiaf-container\" style=\"font-family:sans-serif;font-size:13px;line-height:1.4\">\
         <div><span style=\"background:{colour};color:#fff;padding:2px 8px;border-radius:4px;font-weight:bold\">{}</span> \
         <b>{}</b> &middot; {} of {} checks passed &middot; {} bytes</div>",
        verdict.name().to_uppercase(),
        escape(name),
        checks.len() - failed.len(),
        checks.len(),
        inspection.file_len,
    );
    if let Some(error) = &inspection.fatal {
        let _ = write!(html, "<p style=\"color:#c62828\">{}</p>", escape(&error.to_string()));
    }
    html.push_str("<div style=\"display:flex;gap:16px;align-items:flex-start;margin-top:8px\">");
    html.push_str(&image_cell(inspection, limits));
    html.push_str(&manifest_cell(inspection));
    html.push_str("</div>");
    html.push_str(&latents_section(inspection));
    if !failed.is_empty() {
        html.push_str("<div style=\"margin-top:8px\"><b>Failed checks</b><ul style=\"margin:4px 0\">");
        for check in failed {
            let _ = write!(
                html,
                "<li><code>{}</code> ({}): {}</li>",
                escape(check.code),
                escape(&check.location.to_string()),
                escape(&check.message)
            );
        }
        html.push_str("</ul></div>");
    }
    html.push_str("</div>");
    html
}

fn image_cell(inspection: &Inspection, limits: &Limits) -> String {
    let Some(image) = &inspection.image else {
        return "<div><i>no image</i></div>".into();
    };
    let described = image_info(&image.bytes)
        .map_or_else(|| "unrecognised image".to_string(), |(format, w, h)| format!("{format} {w}x{h}"));
    match picture::decode_rgba(&image.bytes, limits) {
        Ok(rgba) => {
            let thumbnail = if rgba.width().max(rgba.height()) > THUMBNAIL_SIDE {
                let scale = f64::from(THUMBNAIL_SIDE) / f64::from(rgba.width().max(rgba.height()));
                let width = ((f64::from(rgba.width()) * scale).round() as u32).max(1);
                let height = ((f64::from(rgba.height()) * scale).round() as u32).max(1);
                image::imageops::thumbnail(&rgba, width, height)
            } else {
                rgba
            };
            match png_data_uri(&thumbnail) {
                Some(uri) => format!(
                    "<div><img src=\"{uri}\" alt=\"image\" style=\"image-rendering:auto;border:1px solid #888\"/>\
                     <div style=\"color:#666\">{}</div></div>",
                    escape(&described)
                ),
                None => format!("<div><i>{}: could not be drawn</i></div>", escape(&described)),
            }
        }
        Err(error) => format!("<div><i>{}: {}</i></div>", escape(&described), escape(&error.to_string())),
    }
}

fn manifest_cell(inspection: &Inspection) -> String {
    let Some(body) = inspection.manifest_body() else {
        return "<div><i>no manifest</i></div>".into();
    };
    let field = |dotted: &str| crate::format::manifest::lookup(body, dotted);
    let mut rows: Vec<(String, String)> = Vec::new();
    for (label, dotted) in
        [("model", "model_info.model_name"), ("version", "model_info.version"), ("date", "model_info.date")]
    {
        if let Some(value) = field(dotted) {
            rows.push((label.into(), value_text(value)));
        }
    }
    if let Some(prompt) = field("model_info.prompt") {
        rows.push(("prompt".into(), value_text(prompt)));
    }
    if let Some(Value::Object(settings)) = field("model_info.generation_settings") {
        rows.extend(settings.iter().map(|(key, value)| (key.clone(), value_text(value))));
    }
    if let Some(Value::Array(tags)) = field("model_info.tags")
        && !tags.is_empty()
    {
        rows.push(("tags".into(), tags.iter().map(value_text).collect::<Vec<_>>().join(", ")));
    }
    let mut html = String::from("<table style=\"border-collapse:collapse\">");
    for (key, value) in rows {
        let _ = write!(
            html,
            "<tr><th style=\"text-align:left;padding:1px 8px 1px 0;vertical-align:top\">{}</th>\
             <td style=\"text-align:left;white-space:pre-wrap;max-width:48em\">{}</td></tr>",
            escape(&key),
            escape(&value)
        );
    }
    html.push_str("</table>");
    html
}

fn latents_section(inspection: &Inspection) -> String {
    if inspection.latents.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<div style=\"margin-top:8px\"><b>Latents</b> \
         <span style=\"color:#666\">(one heatmap per channel, RdBu: blue below zero, red above, one range \
         for all channels of a latent, symmetric around zero)</span>\
         <div style=\"display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start\">",
    );
    for (position, decoded) in inspection.latents.iter().enumerate() {
        let latent = &decoded.latent;
        let stats = latent.stats();
        let number = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.4}"));
        let _ = write!(
            html,
            "<div style=\"margin-top:4px\"><div><code>{}</code> {:?} {} {}<br/>min {} max {} mean {} std {}</div>",
            escape(latent.key()),
            latent.shape(),
            latent.dtype().numpy_name(),
            decoded.codec.name(),
            number(stats.min),
            number(stats.max),
            number(stats.mean),
            number(stats.std),
        );
        if position >= MAX_HEATMAP_LATENTS {
            html.push_str("</div>");
            continue;
        }
        match heatmaps_uri(latent) {
            Some(drawn) => {
                let more = if drawn.shown < drawn.channels {
                    format!("; the first {} of {} channels", drawn.shown, drawn.channels)
                } else {
                    String::new()
                };
                let _ = write!(
                    html,
                    "<img src=\"{}\" alt=\"heatmaps of {}\" style=\"image-rendering:pixelated;display:block\"/>\
                     <div style=\"color:#666\">colours span {}{more}</div>",
                    drawn.uri,
                    escape(latent.key()),
                    escape(&drawn.range),
                );
            }
            None => html.push_str("<div><i>no 2-D slice to draw</i></div>"),
        }
        html.push_str("</div>");
    }
    html.push_str("</div></div>");
    html
}

/// A latent's channels drawn for the notebook.
struct DrawnLatent {
    /// One PNG data URI holding the channels' heatmaps in a grid.
    uri: String,
    /// Channels drawn, and channels the slice has.
    shown: usize,
    channels: usize,
    /// The values the colours span, in words.
    range: String,
}

/// A latent's channels (the viewer's default axis mapping, first slice of every other axis) as
/// one PNG.
fn heatmaps_uri(latent: &crate::format::Latent) -> Option<DrawnLatent> {
    let selection = SliceSelection::default_for(latent.shape())?;
    let mut grid = tensor::heatmap_grid(latent, &selection, Colormap::BlueWhiteRed, false, RangeMode::Symmetric);
    let channels = grid.pixels.len();
    let range = match grid.ranges.first() {
        Some(&(low, high)) if low == -high => format!("\u{b1}{high:.4}"),
        Some(&(low, high)) => format!("{low:.4} to {high:.4}"),
        None => "nothing".into(),
    };
    grid.pixels.truncate(MAX_HEATMAP_CHANNELS);
    let tiled = tensor::grid_image(&grid)?;
    let side = tiled.width().max(tiled.height());
    let shown = if side > HEATMAP_GRID_SIDE {
        let scale = f64::from(HEATMAP_GRID_SIDE) / f64::from(side);
        let width = ((f64::from(tiled.width()) * scale).round() as u32).max(1);
        let height = ((f64::from(tiled.height()) * scale).round() as u32).max(1);
        image::imageops::resize(&tiled, width, height, image::imageops::FilterType::Nearest)
    } else if side < HEATMAP_GRID_SIDE / 2 {
        // Small latents (64x64 channels) are drawn at a whole multiple, so every value stays a
        // crisp square.
        let factor = (HEATMAP_GRID_SIDE / side.max(1)).max(1);
        image::imageops::resize(
            &tiled,
            tiled.width() * factor,
            tiled.height() * factor,
            image::imageops::FilterType::Nearest,
        )
    } else {
        tiled
    };
    Some(DrawnLatent { uri: png_data_uri(&shown)?, shown: channels.min(MAX_HEATMAP_CHANNELS), channels, range })
}

fn png_data_uri(image: &image::RgbaImage) -> Option<String> {
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).ok()?;
    Some(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)))
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Environment, Latent, LatentCodec, LatentValues, ModelInfo, PackLatent, PackRequest};

    fn packed(prompt: &str, channels: usize) -> Vec<u8> {
        let values: Vec<f32> = (0..channels * 64).map(|i| (i as f32 * 0.37).sin()).collect();
        let latent = Latent::new("initial_noise", vec![1, channels, 8, 8], LatentValues::F32(values)).unwrap();
        let mut png = Vec::new();
        image::RgbaImage::from_pixel(600, 300, image::Rgba([10, 20, 30, 255]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let settings = serde_json::json!({"seed": 42, "steps": 20, "sampler": "euler"});
        let request = PackRequest {
            latents: vec![PackLatent { latent, codec: LatentCodec::Raw, float16: false }],
            image: Some(png),
            image_extra: Default::default(),
            model_info: ModelInfo {
                model_name: "sd-test".into(),
                version: "1.0".into(),
                date: "2026-12-04T00:00:00".into(),
                prompt: prompt.into(),
                generation_settings: settings.as_object().cloned(),
                ..ModelInfo::default()
            },
            environment: Environment::new(Vec::new()),
        };
        crate::format::pack(&request).unwrap().bytes
    }

    fn image_sources(html: &str) -> Vec<&str> {
        html.split("src=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect()
    }

    #[test]
    fn a_valid_file_shows_its_verdict_picture_heatmaps_and_escaped_prompt() {
        let bytes = packed("a <b>cat</b> & \"dog\"", 4);
        let inspection = crate::format::inspect(&bytes, &Limits::default());
        let html = container_html("cat.raiiaf", &inspection, &Limits::default());
        assert!(html.contains(">VALID<"), "{html}");
        assert!(html.contains("a &lt;b&gt;cat&lt;/b&gt; &amp; &quot;dog&quot;"), "prompt not escaped: {html}");
        assert!(!html.contains("<b>cat</b>"));
        assert!(html.contains("sd-test") && html.contains(">seed<") && html.contains(">42<"), "{html}");
        assert!(!html.contains("<script"), "no scripts");
        let sources = image_sources(&html);
        assert_eq!(sources.len(), 2, "thumbnail and one heatmap grid: {sources:?}");
        let decoded: Vec<image::RgbaImage> = sources
            .iter()
            .map(|uri| {
                let data = uri.strip_prefix("data:image/png;base64,").unwrap();
                let png = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
                image::load_from_memory(&png).unwrap().to_rgba8()
            })
            .collect();
        assert_eq!((decoded[0].width(), decoded[0].height()), (THUMBNAIL_SIDE, THUMBNAIL_SIDE / 2));
        assert_eq!(decoded[0].get_pixel(5, 5).0, [10, 20, 30, 255]);
        // Four 8x8 channels in a 2x2 grid with a 2-pixel gap, scaled by a whole factor.
        let side = decoded[1].width();
        assert_eq!(side, decoded[1].height());
        assert_eq!(side % 18, 0, "a whole multiple of the 18-pixel grid: {side}");
    }

    #[test]
    fn failed_checks_are_listed_and_many_channels_are_capped() {
        let mut bytes = packed("p", 20);
        // A latent value byte flipped: the chunk's hash fails.
        let at = crate::format::header::Format::Raiiaf.header_size() + 40;
        bytes[at] ^= 0x55;
        let inspection = crate::format::inspect(&bytes, &Limits::default());
        assert_eq!(inspection.verdict(), Verdict::Invalid);
        let html = container_html("bad.raiiaf", &inspection, &Limits::default());
        assert!(html.contains(">INVALID<") && html.contains("Failed checks"), "{html}");
        assert!(html.contains("<code>chunk.hash</code>"), "{html}");
        assert!(html.contains("the first 16 of 20 channels"), "{html}");
        assert!(html.contains("colours span \u{b1}"), "{html}");
    }

    #[test]
    fn an_unreadable_file_says_why_without_pictures() {
        let inspection = crate::format::inspect(b"not a container at all", &Limits::default());
        let html = container_html("junk.bin", &inspection, &Limits::default());
        assert!(html.contains(">UNREADABLE<") && html.contains("no image") && html.contains("no manifest"), "{html}");
        assert!(image_sources(&html).is_empty());
    }
}
