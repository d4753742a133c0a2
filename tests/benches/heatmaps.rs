//! CPU cost of moving a slice slider: recomputing every heatmap of a 1x16x32x128x128 latent
//! (slices, ranges, statistics, colours) for a new frame index. Texture upload is not included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

use criterion::{Criterion, criterion_group, criterion_main};
use raiiaf_workbench::format::{Latent, LatentValues};
use raiiaf_workbench::tensor::{AxisMapping, Colormap, RangeMode, SliceSelection, heatmap_grid};

fn slider(c: &mut Criterion) {
    let shape = vec![1usize, 16, 32, 128, 128];
    let count = shape.iter().product::<usize>();
    // Deterministic pseudo-noise (a linear congruential sequence), no RNG dependency needed.
    let mut state = 0x2545_f491u32;
    let values: Vec<f32> = (0..count)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 * 6.0 - 3.0
        })
        .collect();
    let latent = Latent::new("frames", shape.clone(), LatentValues::F32(values)).unwrap();
    // Default mapping: 32 channels (axis 2) of 128x128; the slider is axis 1 (16 frames).
    let mut mapping = AxisMapping::default_for(&shape);
    for (name, mode) in [
        ("symmetric", RangeMode::Symmetric),
        ("per_channel", RangeMode::PerChannel),
        ("percentile", RangeMode::Percentile { low: 1.0, high: 99.0 }),
    ] {
        c.bench_function(&format!("slider_move_1x16x32x128x128/{name}"), |b| {
            let mut frame = 0;
            b.iter(|| {
                frame = (frame + 1) % 16;
                mapping.indices[1] = frame;
                // Checked every frame, as the Latents tab does.
                let selection = SliceSelection::new(&mapping, &shape).unwrap();
                let grid = heatmap_grid(&latent, &selection, Colormap::BlueWhiteRed, false, mode);
                assert_eq!(grid.pixels.len(), 32);
                grid
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = slider
}
criterion_main!(benches);
