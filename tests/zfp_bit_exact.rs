//! zfp-rs, the product's zfp, against the C library (`zfp-sys`): the same stream bytes and the
//! same decoded values, for every zfp stream in the fixtures and examples (all written by the
//! reference through zfpy) and for generated arrays of every rank zfp holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

mod common;
#[path = "common/zfp_oracle.rs"]
mod zfp_oracle;

use std::path::{Path, PathBuf};

use half::f16;
use proptest::prelude::*;
use raiiaf_workbench::format::LatentValues;
use raiiaf_workbench::format::latent::f32_to_f16_exact;
use raiiaf_workbench::format::zfp::{ZfpMode, ZfpValues, zfp_decode, zfp_encode_f32};

/// The zfp streams of a container file: each compressed latent's bytes after its header frame.
fn zfp_streams(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let inspection = common::inspect_file(path);
    let mut streams = Vec::new();
    for record in &inspection.records {
        if record.kind != "LATN" || !record.compressed {
            continue;
        }
        let (Some(offset), Some(len_header), Some(len_data)) = (record.offset, record.len_header, record.len_data)
        else {
            continue;
        };
        let start = (offset + len_header) as usize;
        let name = format!("{} {}", path.display(), record.key.clone().unwrap_or_default());
        streams.push((name, bytes[start..start + len_data as usize].to_vec()));
    }
    streams
}

fn bits_of(values: &ZfpValues) -> (&'static str, Vec<u64>) {
    match values {
        ZfpValues::I32(v) => ("i32", v.iter().map(|&x| i64::from(x) as u64).collect()),
        ZfpValues::I64(v) => ("i64", v.iter().map(|&x| x as u64).collect()),
        ZfpValues::F32(v) => ("f32", v.iter().map(|&x| u64::from(x.to_bits())).collect()),
        ZfpValues::F64(v) => ("f64", v.iter().map(|&x| x.to_bits()).collect()),
    }
}

#[test]
fn every_zfp_stream_in_the_fixtures_and_examples_decodes_and_re_encodes_as_the_c_library_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [common::fixtures_dir(), root.join("assets/examples")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "raiiaf" || e == "gen5") {
                files.push(path);
            }
        }
    }
    let mut checked = Vec::new();
    for path in &files {
        for (name, stream) in zfp_streams(path) {
            let ours = zfp_decode(&stream, u64::MAX).unwrap();
            let c = zfp_oracle::decompress(&stream, u64::MAX, 0).unwrap();
            let (scalar, bits) = bits_of(&ours.values);
            assert_eq!((ours.shape.clone(), scalar, bits), (c.shape.clone(), c.scalar, c.bits), "{name}");
            // zfpy wrote these losslessly, so encoding the decoded values again must give the
            // stored bytes exactly, in both implementations.
            let ZfpValues::F32(values) = &ours.values else { panic!("{name}: zfpy stored {scalar}") };
            let encoded = zfp_encode_f32(values, &ours.shape, ZfpMode::Reversible).unwrap();
            assert_eq!(encoded, zfp_oracle::compress(values, &ours.shape, zfp_oracle::Mode::Reversible), "{name}");
            assert_eq!(encoded, stream, "{name}");
            checked.push(name);
        }
    }
    // f16_zfp, f32_zfp, multi_latent_zfp (several), rank1_zfp to rank3_zfp, and the examples.
    assert!(checked.len() >= 8, "only {} zfp streams found: {checked:?}", checked.len());
}

/// A C-order shape of rank 1 to 4 with sides of 1 to 9: every mix of whole and partial blocks.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=9, 1..=4)
}

/// Values a latent holds: noise at a scale, smooth ramps, runs of zeros, and (for lossless
/// modes only) infinities and NaN. Magnitudes stay above 2^-98, below which the C library's
/// lossy encoder loses a block's values and zfp-rs, by design, does not (zfp-rs documents this
/// as its one difference in output on finite floats).
fn values(count: usize, specials: bool) -> impl Strategy<Value = Vec<f32>> {
    let value = prop_oneof![
        4 => (-1000i32..1000, -20i32..20).prop_map(|(m, e)| m as f32 * 2f32.powi(e)),
        1 => Just(0.0f32),
        1 => (0u32..64).prop_map(|i| (i as f32 * 0.1).sin()),
    ];
    let special = prop_oneof![Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(f32::NAN), Just(-0.0f32)];
    let value = if specials { prop_oneof![9 => value, 1 => special].boxed() } else { value.boxed() };
    prop::collection::vec(value, count)
}

fn shaped_values(specials: bool) -> impl Strategy<Value = (Vec<usize>, Vec<f32>)> {
    shape().prop_flat_map(move |shape| {
        let count = shape.iter().product();
        (Just(shape), values(count, specials))
    })
}

fn check_against_c(values: &[f32], shape: &[usize], mode: ZfpMode) -> Result<Vec<f32>, TestCaseError> {
    let c_mode = match mode {
        ZfpMode::Reversible => zfp_oracle::Mode::Reversible,
        ZfpMode::Accuracy(tolerance) => zfp_oracle::Mode::Accuracy(tolerance),
    };
    let ours = zfp_encode_f32(values, shape, mode).unwrap();
    let c = zfp_oracle::compress(values, shape, c_mode);
    prop_assert_eq!(&ours, &c, "{:?} {:?}", shape, mode);
    let decoded = zfp_decode(&ours, u64::MAX).unwrap();
    let c_decoded = zfp_oracle::decompress(&c, u64::MAX, 0).unwrap();
    let (scalar, bits) = bits_of(&decoded.values);
    prop_assert_eq!((decoded.shape, scalar, bits), (c_decoded.shape, c_decoded.scalar, c_decoded.bits));
    let ZfpValues::F32(decoded) = decoded.values else { unreachable!("checked as f32 above") };
    Ok(decoded)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn reversible_streams_match_the_c_library_and_give_every_bit_back((shape, values) in shaped_values(true)) {
        let decoded = check_against_c(&values, &shape, ZfpMode::Reversible)?;
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&decoded), bits(&values));
    }

    #[test]
    fn fixed_accuracy_streams_match_the_c_library((shape, values) in shaped_values(false),
                                                 tolerance in prop_oneof![Just(1e-6), Just(1e-3), Just(0.05), Just(1.0)]) {
        check_against_c(&values, &shape, ZfpMode::Accuracy(tolerance))?;
    }

    /// float16 latents are stored as zfp streams of their exact float32 values.
    #[test]
    fn float16_upcasts_match_the_c_library_and_come_back_exact((shape, halves) in shape().prop_flat_map(|shape| {
        let count: usize = shape.iter().product();
        (Just(shape), prop::collection::vec(any::<u16>().prop_map(f16::from_bits), count))
    })) {
        let upcast = LatentValues::F16(halves.clone()).to_f32_vec();
        let decoded = check_against_c(&upcast, &shape, ZfpMode::Reversible)?;
        let back: Vec<u16> = decoded.iter().map(|&x| f32_to_f16_exact(x).to_bits()).collect();
        let expected: Vec<u16> = halves.iter().map(|h| h.to_bits()).collect();
        // Signalling NaNs and their payloads survive the round trip through float32 too.
        prop_assert_eq!(back, expected);
    }
}
