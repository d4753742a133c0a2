//! zfp decoding three ways on latents of noise, the worst case for zfp: the product's
//! block-by-block decode through a bounded window (`zfp_decode`), zfp-rs decoding the whole
//! stream in memory at once, and zfp-rs's parallel (Rayon) decode of the whole stream on the
//! machine's cores. It decides whether parallel decoding is worth holding whole streams.
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
        c.bench_function(&format!("zfp/windowed/{name}"), |b| b.iter(|| zfp_decode(&stream, u64::MAX).unwrap()));
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
