//! Colormaps (from `colorous`) and turning a slice of values into RGBA pixels.

/// The colormaps offered for heatmaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Colormap {
    /// Blue below zero, white at zero, red above (ColorBrewer RdBu, reversed): the default,
    /// because latents are signed and centred on zero.
    #[default]
    BlueWhiteRed,
    Viridis,
    Inferno,
    Magma,
    Greys,
    Turbo,
}

impl Colormap {
    pub const ALL: [Colormap; 6] = [
        Colormap::BlueWhiteRed,
        Colormap::Viridis,
        Colormap::Inferno,
        Colormap::Magma,
        Colormap::Greys,
        Colormap::Turbo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Colormap::BlueWhiteRed => "RdBu (diverging)",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Magma => "magma",
            Colormap::Greys => "greys",
            Colormap::Turbo => "turbo",
        }
    }

    pub fn is_diverging(self) -> bool {
        self == Colormap::BlueWhiteRed
    }

    /// The colour at `t` in [0, 1] (clamped), low to high.
    pub fn eval(self, t: f64) -> [u8; 3] {
        let t = t.clamp(0.0, 1.0);
        let color = match self {
            // colorous' RED_BLUE runs red to blue; reversed so that high values are red.
            Colormap::BlueWhiteRed => colorous::RED_BLUE.eval_continuous(1.0 - t),
            Colormap::Viridis => colorous::VIRIDIS.eval_continuous(t),
            Colormap::Inferno => colorous::INFERNO.eval_continuous(t),
            Colormap::Magma => colorous::MAGMA.eval_continuous(t),
            // colorous' GREYS runs white to black; reversed so that high values are light.
            Colormap::Greys => colorous::GREYS.eval_continuous(1.0 - t),
            Colormap::Turbo => colorous::TURBO.eval_continuous(t),
        };
        [color.r, color.g, color.b]
    }
}

/// Colour of values that are not numbers; deliberately outside every map (a bright green).
pub const NAN_COLOR: [u8; 4] = [0, 255, 0, 255];

/// A colormap sampled at 256 levels, so colouring a pixel is a table lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorTable {
    colors: Vec<[u8; 4]>,
}

impl ColorTable {
    pub const LEVELS: usize = 256;

    pub fn new(colormap: Colormap, inverted: bool) -> ColorTable {
        let colors = (0..Self::LEVELS)
            .map(|level| {
                let t = level as f64 / (Self::LEVELS - 1) as f64;
                let [r, g, b] = colormap.eval(if inverted { 1.0 - t } else { t });
                [r, g, b, 255]
            })
            .collect();
        ColorTable { colors }
    }

    /// The colour of `value` on the range `[low, high]`: values outside it (±infinity too) take
    /// the end colours, NaN takes [`NAN_COLOR`]. A range of zero width maps everything to its
    /// middle colour.
    pub fn color_of(&self, value: f32, low: f32, high: f32) -> [u8; 4] {
        if value.is_nan() {
            return NAN_COLOR;
        }
        let last = Self::LEVELS - 1;
        let width = f64::from(high) - f64::from(low);
        let t = if width > 0.0 && width.is_finite() { (f64::from(value) - f64::from(low)) / width } else { 0.5 };
        let level = (t.clamp(0.0, 1.0) * last as f64).round() as usize;
        self.colors.get(level.min(last)).copied().unwrap_or(NAN_COLOR)
    }

    /// RGBA bytes (row by row, 4 per value) for a slice of values.
    pub fn colorize(&self, values: &[f32], low: f32, high: f32) -> Vec<u8> {
        values.iter().flat_map(|&v| self.color_of(v, low, high)).collect()
    }
}

/// Lays out equal-sized RGBA tiles in a grid with `gap` transparent pixels between them; returns
/// the pixels and (width, height). Used to export a grid of heatmaps as one image.
pub fn tile_grid(tiles: &[Vec<u8>], tile_size: (usize, usize), columns: usize, gap: usize) -> (Vec<u8>, usize, usize) {
    let (tile_height, tile_width) = tile_size;
    let columns = columns.clamp(1, tiles.len().max(1));
    let rows = tiles.len().div_ceil(columns);
    let width = columns * tile_width + columns.saturating_sub(1) * gap;
    let height = rows * tile_height + rows.saturating_sub(1) * gap;
    let mut pixels = vec![0u8; width * height * 4];
    for (index, tile) in tiles.iter().enumerate() {
        let (left, top) = ((index % columns) * (tile_width + gap), (index / columns) * (tile_height + gap));
        for y in 0..tile_height {
            let source = tile.get(y * tile_width * 4..(y + 1) * tile_width * 4);
            let start = ((top + y) * width + left) * 4;
            if let (Some(source), Some(target)) = (source, pixels.get_mut(start..start + tile_width * 4)) {
                target.copy_from_slice(source);
            }
        }
    }
    (pixels, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_map_is_blue_white_red() {
        let [r0, _, b0] = Colormap::BlueWhiteRed.eval(0.0);
        let [r1, _, b1] = Colormap::BlueWhiteRed.eval(1.0);
        let [rm, gm, bm] = Colormap::BlueWhiteRed.eval(0.5);
        assert!(b0 > r0, "low end is blue");
        assert!(r1 > b1, "high end is red");
        assert!(rm > 230 && gm > 230 && bm > 230, "middle is near white: {rm} {gm} {bm}");
    }

    #[test]
    fn sequential_maps_get_lighter_towards_high_values() {
        let luminance = |[r, g, b]: [u8; 3]| 0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b);
        for map in [Colormap::Viridis, Colormap::Inferno, Colormap::Magma, Colormap::Greys] {
            assert!(luminance(map.eval(1.0)) > luminance(map.eval(0.0)) + 100.0, "{map:?}");
        }
    }

    #[test]
    fn values_map_to_levels() {
        let table = ColorTable::new(Colormap::Greys, false);
        // (value, low, high, expected level)
        let cases = [
            (0.0f32, 0.0f32, 1.0f32, 0usize),
            (1.0, 0.0, 1.0, 255),
            (0.5, 0.0, 1.0, 128),
            (-5.0, -1.0, 1.0, 0),
            (f32::INFINITY, -1.0, 1.0, 255),
            (f32::NEG_INFINITY, -1.0, 1.0, 0),
            (3.0, 3.0, 3.0, 128), // empty range: the middle
        ];
        for (value, low, high, level) in cases {
            let t = level as f64 / 255.0;
            let [r, g, b] = Colormap::Greys.eval(t);
            assert_eq!(table.color_of(value, low, high), [r, g, b, 255], "{value} on [{low}, {high}]");
        }
        assert_eq!(table.color_of(f32::NAN, 0.0, 1.0), NAN_COLOR);
    }

    #[test]
    fn inverted_table_is_the_table_reversed() {
        let table = ColorTable::new(Colormap::Viridis, false);
        let inverted = ColorTable::new(Colormap::Viridis, true);
        for level in 0..ColorTable::LEVELS {
            let value = level as f32 / 255.0;
            assert_eq!(table.color_of(value, 0.0, 1.0), inverted.color_of(1.0 - value, 0.0, 1.0), "level {level}");
        }
    }

    #[test]
    fn grid_places_tiles_in_rows() {
        // Three 1x2 tiles, two columns, gap 1: a 5x3 image.
        let tiles: Vec<Vec<u8>> = (1..=3u8).map(|n| vec![n; 2 * 4]).collect();
        let (pixels, width, height) = tile_grid(&tiles, (1, 2), 2, 1);
        assert_eq!((width, height), (5, 3));
        let at = |x: usize, y: usize| pixels[(y * width + x) * 4];
        assert_eq!([at(0, 0), at(1, 0), at(2, 0), at(3, 0), at(4, 0)], [1, 1, 0, 2, 2]);
        assert_eq!([at(0, 1), at(0, 2), at(1, 2), at(3, 2)], [0, 3, 3, 0]);
    }
}
