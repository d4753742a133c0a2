//! zfp decoding on latents of noise, the worst case for zfp: the product's `zfp_decode` (for
//! streams of up to 64 MiB: the whole stream, zfp-rs's parallel decoder on the platform's pool),
//! against zfp-rs decoding the whole stream serially and in parallel on a pool of its own. The
//! block-by-block windowed decoder that longer streams take measured 1.25 ms, 20.8 ms and 83 ms
//! on these three latents (2026-11-27, this project's 2-core machine), when it was the only one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // benches fail loudly by design

use criterion::{Criterion, criterion_group, criterion_main};
use raiiaf_workbench::format::zfp::{ZfpMode, zfp_decode, zfp_encode_f32};
use zfp_rs::{ZfpBitStream, ZfpExecution, ZfpFieldMut, ZfpHeaderMask};

/// Roughly Gaussian noise (a sum of four uniforms), deterministic.
fn noise(count: usize) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..count).map(|_| (uniform() + uniform() + uniform() + uniform() - 2.0) * 1.7).collect()
}

fn whole_stream(stream: &[u8], out: &mut [f32], execution: ZfpExecution) {
    let mut bits = ZfpBitStream::from_bytes(stream).unwrap();
    let header = bits.read_header(ZfpHeaderMask::FULL).unwrap();
    let (metadata, config) = (header.metadata.unwrap(), header.config.unwrap());
    let mut field = ZfpFieldMut::new(out, metadata.dims).unwrap();
    bits.decompress_with_execution(&config, &mut field, execution).unwrap();
}

fn decode(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    let parallel = ZfpExecution::Rayon { threads: 0, chunk_size: 0 };
    for shape in [[1usize, 4, 128, 128], [1, 16, 256, 256], [1, 4, 1024, 1024]] {
        let name = shape.map(|n| n.to_string()).join("x");
        let values = noise(shape.iter().product());
        let stream = zfp_encode_f32(&values, &shape, ZfpMode::Reversible).unwrap();
        let mut out = vec![0f32; values.len()];
        whole_stream(&stream, &mut out, ZfpExecution::Serial);
        assert_eq!(out, values);
        c.bench_function(&format!("zfp/product/{name}"), |b| b.iter(|| zfp_decode(&stream, u64::MAX).unwrap()));
        c.bench_function(&format!("zfp/whole_serial/{name}"), |b| {
            b.iter(|| whole_stream(&stream, &mut out, ZfpExecution::Serial))
        });
        c.bench_function(&format!("zfp/whole_rayon_{}/{name}", pool.current_num_threads()), |b| {
            b.iter(|| pool.install(|| whole_stream(&stream, &mut out, parallel)))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(15);
    targets = decode
}
criterion_main!(benches);
