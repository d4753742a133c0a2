//! Tensor logic for the heatmap views, free of any UI: axis mapping and slicing, colour
//! ranges, percentiles, histograms and colormaps.

pub mod colormap;
pub mod mapping;
pub mod range;

use crate::format::{Latent, LatentValues, Stats};

pub use colormap::{ColorTable, Colormap};
pub use mapping::{AxisMapping, AxisRole, MappingError, SliceSelection};
pub use range::RangeMode;

/// Longest side of a heatmap's pixels. Larger slices are shown downsampled (every n-th row and
/// column), so that a 5000x5000 latent does not cost hundreds of megabytes of pixels and
/// textures; values under the pointer and statistics still come from every element.
pub const MAX_HEATMAP_SIDE: usize = 1024;

/// What a grid of heatmaps shows: every channel's (possibly downsampled) slice, its colour range
/// and statistics, and its RGBA pixels (row by row).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapGrid {
    /// Per channel, the displayed values: `sampled_size` of them, every `step`-th row and column.
    pub slices: Vec<Vec<f32>>,
    pub ranges: Vec<(f32, f32)>,
    /// Per channel, over every element of the slice.
    pub stats: Vec<Stats>,
    pub pixels: Vec<Vec<u8>>,
    /// (height, width) of the full slice.
    pub size: (usize, usize),
    /// (height, width) of `slices` and `pixels`.
    pub sampled_size: (usize, usize),
    pub step: usize,
}

/// Everything needed to draw the heatmaps of `latent` through `selection`, which was made for
/// its shape (what moving a slider recomputes). Ranges from minima and maxima use every element; percentile ranges use the
/// displayed values, which are every element unless the slice is larger than
/// [`MAX_HEATMAP_SIDE`].
pub fn heatmap_grid(
    latent: &Latent,
    selection: &SliceSelection,
    colormap: Colormap,
    inverted: bool,
    range_mode: RangeMode,
) -> HeatmapGrid {
    let size = selection.slice_size();
    let step = size.0.max(size.1).div_ceil(MAX_HEATMAP_SIDE).max(1);
    let channels = selection.channel_count();
    let slices: Vec<Vec<f32>> = (0..channels).map(|c| sampled_slice(latent, selection, c, step)).collect();
    let stats: Vec<Stats> = if step == 1 {
        slices.iter().map(|s| Stats::of(s.iter().copied())).collect()
    } else {
        (0..channels).map(|c| full_slice_stats(latent, selection, c)).collect()
    };
    let ranges = match range_mode {
        RangeMode::Percentile { .. } | RangeMode::Manual { .. } => range::channel_ranges(&slices, range_mode),
        _ => range::ranges_from_extremes(&stats.iter().map(|s| s.min.zip(s.max)).collect::<Vec<_>>(), range_mode),
    };
    let table = ColorTable::new(colormap, inverted);
    let pixels = slices.iter().zip(&ranges).map(|(slice, &(low, high))| table.colorize(slice, low, high)).collect();
    HeatmapGrid {
        slices,
        ranges,
        stats,
        pixels,
        size,
        sampled_size: (size.0.div_ceil(step), size.1.div_ceil(step)),
        step,
    }
}

fn sampled_slice(latent: &Latent, selection: &SliceSelection, channel: usize, step: usize) -> Vec<f32> {
    match latent.values() {
        LatentValues::F32(values) => selection.slice_sampled(values, channel, step, |v| *v),
        LatentValues::F16(values) => selection.slice_sampled(values, channel, step, |v| v.to_f32()),
    }
}

/// Statistics over every element of a slice, without copying it.
fn full_slice_stats(latent: &Latent, selection: &SliceSelection, channel: usize) -> Stats {
    let positions = selection.slice_positions(channel, 1);
    Stats::of(positions.map(|index| latent.values().get_f32(index).unwrap_or(f32::NAN)))
}

/// A grid's heatmaps as one image, tiled in a near-square grid with 2-pixel gaps, at one pixel
/// per displayed element (every element unless the slice was larger than [`MAX_HEATMAP_SIDE`]).
/// `None` when the tiles do not make an image (a size past what an image holds).
pub fn grid_image(grid: &HeatmapGrid) -> Option<image::RgbaImage> {
    let columns = (grid.pixels.len() as f64).sqrt().ceil() as usize;
    let (pixels, width, height) = colormap::tile_grid(&grid.pixels, grid.sampled_size, columns, 2);
    image::RgbaImage::from_raw(u32::try_from(width).ok()?, u32::try_from(height).ok()?, pixels)
}

/// [`grid_image`] as PNG bytes.
pub fn grid_png(grid: &HeatmapGrid) -> Option<Vec<u8>> {
    let mut png = Vec::new();
    grid_image(grid)?.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).ok()?;
    Some(png)
}

/// One channel's current 2-D slice, every element.
pub fn channel_slice(latent: &Latent, selection: &SliceSelection, channel: usize) -> Vec<f32> {
    sampled_slice(latent, selection, channel, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_of_float16_latents_widen_exactly() {
        let values: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        let f32_latent = Latent::new("a", vec![1, 2, 3, 4], LatentValues::F32(values)).unwrap();
        let f16_latent = f32_latent.to_f16();
        let mapping = SliceSelection::new(&AxisMapping::default_for(f32_latent.shape()), f32_latent.shape()).unwrap();
        assert_eq!(mapping.channel_count(), 2);
        let second = channel_slice(&f32_latent, &mapping, 1);
        assert_eq!(second[0], 3.0); // element 12
        assert_eq!(channel_slice(&f16_latent, &mapping, 1), second);
    }

    #[test]
    fn large_slices_are_drawn_downsampled_with_exact_statistics_and_ranges() {
        // Two channels of 3000 x 5; the 3000-row axis exceeds MAX_HEATMAP_SIDE, so step 3.
        let shape = vec![2usize, 3000, 5];
        let values: Vec<f32> = (0..30_000).map(|i| (i % 7919) as f32 - 3000.0).collect();
        let latent = Latent::new("big", shape.clone(), LatentValues::F32(values)).unwrap();
        let mapping = SliceSelection::new(&AxisMapping::default_for(&shape), &shape).unwrap();
        let grid = heatmap_grid(&latent, &mapping, Colormap::Greys, false, RangeMode::PerChannel);
        assert_eq!(grid.step, 3);
        assert_eq!((grid.size, grid.sampled_size), ((3000, 5), (1000, 2)));
        assert_eq!(grid.slices[1].len(), 2000);
        assert_eq!(grid.pixels[1].len(), 2000 * 4);
        for channel in 0..2 {
            let full = channel_slice(&latent, &mapping, channel);
            assert_eq!(grid.stats[channel], Stats::of(full.iter().copied()), "channel {channel}");
            let (low, high) = range::finite_min_max(&full).unwrap();
            assert_eq!(grid.ranges[channel], (low, high), "channel {channel}");
        }
    }
}
