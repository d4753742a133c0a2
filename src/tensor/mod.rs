//! Tensor logic for the heatmap views, free of any UI: axis mapping and slicing, colour
//! ranges, percentiles, histograms and colormaps.

pub mod colormap;
pub mod mapping;
pub mod range;

use crate::format::{Latent, LatentValues, Stats};

pub use colormap::{ColorTable, Colormap};
pub use mapping::{AxisMapping, AxisRole};
pub use range::RangeMode;

/// Every channel's current 2-D slice of `latent` under `mapping`, as f32.
pub fn channel_slices(latent: &Latent, mapping: &AxisMapping) -> Vec<Vec<f32>> {
    (0..mapping.channel_count(&latent.shape)).map(|channel| channel_slice(latent, mapping, channel)).collect()
}

/// What a grid of heatmaps shows: every channel's slice, its colour range and statistics, and
/// its RGBA pixels (row by row).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapGrid {
    pub slices: Vec<Vec<f32>>,
    pub ranges: Vec<(f32, f32)>,
    pub stats: Vec<Stats>,
    pub pixels: Vec<Vec<u8>>,
    /// (height, width) of each heatmap.
    pub size: (usize, usize),
}

/// Everything needed to draw the heatmaps of `latent` under `mapping` (what moving a slider
/// recomputes).
pub fn heatmap_grid(
    latent: &Latent,
    mapping: &AxisMapping,
    colormap: Colormap,
    inverted: bool,
    range_mode: RangeMode,
) -> HeatmapGrid {
    let slices = channel_slices(latent, mapping);
    let ranges = range::channel_ranges(&slices, range_mode);
    let stats = slices.iter().map(|s| Stats::of(s.iter().copied())).collect();
    let table = ColorTable::new(colormap, inverted);
    let pixels = slices.iter().zip(&ranges).map(|(slice, &(low, high))| table.colorize(slice, low, high)).collect();
    HeatmapGrid { slices, ranges, stats, pixels, size: mapping.slice_size(&latent.shape) }
}

/// One channel's current 2-D slice.
pub fn channel_slice(latent: &Latent, mapping: &AxisMapping, channel: usize) -> Vec<f32> {
    match &latent.values {
        LatentValues::F32(values) => mapping.slice(&latent.shape, values, channel, |v| *v),
        LatentValues::F16(values) => mapping.slice(&latent.shape, values, channel, |v| v.to_f32()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_of_float16_latents_widen_exactly() {
        let values: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        let f32_latent = Latent::new("a", vec![1, 2, 3, 4], LatentValues::F32(values)).unwrap();
        let f16_latent = Latent { values: f32_latent.values.to_f16(), ..f32_latent.clone() };
        let mapping = AxisMapping::default_for(&f32_latent.shape);
        let slices = channel_slices(&f32_latent, &mapping);
        assert_eq!(slices.len(), 2);
        assert_eq!(slices[1][0], 3.0); // element 12
        assert_eq!(channel_slices(&f16_latent, &mapping), slices);
    }
}
