//! The value range a heatmap's colours span, percentiles and histograms.

/// How the colour range of a grid of heatmaps is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum RangeMode {
    /// Each channel from its own minimum to its own maximum.
    PerChannel,
    /// One range for all channels: the smallest minimum to the largest maximum.
    Shared,
    /// One range for all channels, centred on zero: [-m, m] with m the largest |value|.
    #[default]
    Symmetric,
    /// One range for all channels: from the `low` to the `high` percentile of all values.
    Percentile { low: f32, high: f32 },
    /// A range typed by the user.
    Manual { low: f32, high: f32 },
}

impl RangeMode {
    pub fn name(self) -> &'static str {
        match self {
            RangeMode::PerChannel => "per channel",
            RangeMode::Shared => "shared",
            RangeMode::Symmetric => "symmetric |max|",
            RangeMode::Percentile { .. } => "percentile clip",
            RangeMode::Manual { .. } => "manual",
        }
    }
}

/// Smallest and largest finite value, `None` when there is none.
pub fn finite_min_max(values: &[f32]) -> Option<(f32, f32)> {
    values.iter().filter(|v| v.is_finite()).fold(None, |range, &v| match range {
        None => Some((v, v)),
        Some((low, high)) => Some((low.min(v), high.max(v))),
    })
}

/// The `p`-th percentiles (0 to 100) of the finite values, interpolated linearly between the two
/// nearest ranks (numpy's default method). `None` when no value is finite.
pub fn percentiles(values: &[f32], ps: &[f32]) -> Option<Vec<f32>> {
    let mut finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    let last = finite.len() - 1;
    // Selection instead of a full sort: each rank costs one linear pass, which keeps a
    // percentile range over a whole grid of heatmaps inside a frame's budget.
    let mut ranked = |rank: usize| -> f64 {
        let (_, value, _) = finite.select_nth_unstable_by(rank.min(last), f32::total_cmp);
        f64::from(*value)
    };
    Some(
        ps.iter()
            .map(|&p| {
                let position = f64::from(p.clamp(0.0, 100.0)) / 100.0 * last as f64;
                let below = position.floor() as usize;
                let a = ranked(below);
                let b = if position > below as f64 { ranked(below + 1) } else { a };
                (a + (b - a) * (position - below as f64)) as f32
            })
            .collect(),
    )
}

/// The colour range of each channel under `mode`. Channels without a finite value get (0, 0).
pub fn channel_ranges(channels: &[Vec<f32>], mode: RangeMode) -> Vec<(f32, f32)> {
    match mode {
        RangeMode::Percentile { low, high } => {
            let values: Vec<f32> = channels.iter().flat_map(|c| c.iter().copied()).collect();
            let range = percentiles(&values, &[low, high]).and_then(|p| Some((*p.first()?, *p.get(1)?)));
            vec![range.unwrap_or((0.0, 0.0)); channels.len()]
        }
        _ => {
            let extremes: Vec<Option<(f32, f32)>> = channels.iter().map(|c| finite_min_max(c)).collect();
            ranges_from_extremes(&extremes, mode)
        }
    }
}

/// The colour ranges of every mode but percentiles, from each channel's finite minimum and
/// maximum (`None`: no finite value), so they can come from statistics over a whole slice.
pub fn ranges_from_extremes<T: Copy + Into<f64>>(extremes: &[Option<(T, T)>], mode: RangeMode) -> Vec<(f32, f32)> {
    let extremes: Vec<Option<(f32, f32)>> =
        extremes.iter().map(|e| e.map(|(low, high)| (low.into() as f32, high.into() as f32))).collect();
    let shared = match mode {
        RangeMode::PerChannel => None,
        RangeMode::Shared => extremes.iter().flatten().copied().reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))),
        RangeMode::Symmetric => {
            let magnitude = extremes.iter().flatten().fold(0.0f32, |m, &(low, high)| m.max(low.abs()).max(high.abs()));
            Some((-magnitude, magnitude))
        }
        RangeMode::Manual { low, high } => Some((low, high)),
        // Percentiles need the values themselves; see `channel_ranges`.
        RangeMode::Percentile { .. } => None,
    };
    extremes
        .iter()
        .map(|channel| match (mode, shared) {
            (RangeMode::PerChannel, _) => channel.unwrap_or((0.0, 0.0)),
            (_, Some(range)) => range,
            (_, None) => (0.0, 0.0),
        })
        .collect()
}

/// Counts of finite values in `bins` equal bins over [low, high]; values outside are not counted.
pub fn histogram(values: &[f32], low: f32, high: f32, bins: usize) -> Vec<u64> {
    let mut counts = vec![0u64; bins];
    let width = f64::from(high) - f64::from(low);
    if bins == 0 || width.is_nan() || width < 0.0 {
        return counts;
    }
    for &value in values.iter().filter(|v| v.is_finite() && **v >= low && **v <= high) {
        let bin = if width > 0.0 { ((f64::from(value) - f64::from(low)) / width * bins as f64) as usize } else { 0 };
        if let Some(count) = counts.get_mut(bin.min(bins - 1)) {
            *count += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // Expected values worked out by hand with numpy's linear rule:
        // position = p/100 * (n-1), value = a[floor] + frac * (a[ceil] - a[floor]).
        let values = [4.0f32, 1.0, 3.0, 2.0, f32::NAN, 5.0, f32::INFINITY];
        // Finite sorted: 1 2 3 4 5 (n-1 = 4)
        let cases = [(0.0f32, 1.0f32), (100.0, 5.0), (50.0, 3.0), (10.0, 1.4), (99.0, 4.96), (37.5, 2.5)];
        let ps: Vec<f32> = cases.iter().map(|c| c.0).collect();
        let got = percentiles(&values, &ps).unwrap();
        for ((p, expected), got) in cases.iter().zip(got) {
            assert!((got - expected).abs() < 1e-5, "p{p}: {got} vs {expected}");
        }
        assert_eq!(percentiles(&[f32::NAN], &[50.0]), None);
    }

    #[test]
    fn range_modes() {
        let channels = vec![vec![-1.0f32, 0.5, 2.0], vec![-3.0, 1.0, f32::NAN], vec![f32::NAN]];
        // (mode, expected per channel)
        let cases: Vec<(RangeMode, Vec<(f32, f32)>)> = vec![
            (RangeMode::PerChannel, vec![(-1.0, 2.0), (-3.0, 1.0), (0.0, 0.0)]),
            (RangeMode::Shared, vec![(-3.0, 2.0); 3]),
            (RangeMode::Symmetric, vec![(-3.0, 3.0); 3]),
            (RangeMode::Manual { low: -0.5, high: 0.25 }, vec![(-0.5, 0.25); 3]),
            // finite values sorted: -3 -1 0.5 1 2; p0 = -3, p50 = 0.5, p100 = 2
            (RangeMode::Percentile { low: 0.0, high: 100.0 }, vec![(-3.0, 2.0); 3]),
            (RangeMode::Percentile { low: 50.0, high: 75.0 }, vec![(0.5, 1.0); 3]),
        ];
        for (mode, expected) in cases {
            assert_eq!(channel_ranges(&channels, mode), expected, "{mode:?}");
        }
    }

    #[test]
    fn histogram_bins() {
        let values = [0.0f32, 0.1, 0.25, 0.5, 0.99, 1.0, 1.5, -0.1, f32::NAN];
        assert_eq!(histogram(&values, 0.0, 1.0, 4), vec![2, 1, 1, 2]);
        assert_eq!(histogram(&values, 0.0, 1.0, 1), vec![6]);
        assert_eq!(histogram(&[2.0, 2.0], 2.0, 2.0, 3), vec![2, 0, 0]);
        assert_eq!(histogram(&values, 1.0, 0.0, 3), vec![0, 0, 0]);
    }
}
