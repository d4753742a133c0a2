//! Hand-made hostile inputs. Each one must be refused with the exact error kind (for inputs whose
//! header or manifest cannot be read) or the exact failed check code (for damage past the
//! manifest), without a panic and without a large allocation.
//!
//! This binary installs a counting global allocator that records, per thread, the largest single
//! allocation requested through Rust's allocator, so each test can assert that reading a hostile
//! file never asked for a buffer anywhere near what the file claims. (Memory that zstd's or zfp's C
//! code takes with `malloc` is not seen; every buffer sized from file contents is a Rust `Vec`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
#[path = "common/zfp_oracle.rs"]
mod zfp_oracle;

use std::collections::BTreeSet;

use counting_alloc::{measured, measured_live};
use std::io::Write;
use std::sync::OnceLock;

use raiiaf_workbench::format::environment::{python_json_pretty, sha256_hex};
use raiiaf_workbench::format::manifest::STORED_HASH_KEY;
use raiiaf_workbench::format::reader::InnerHeader;
use raiiaf_workbench::format::{
    EnvComponent, Environment, FormatError, Header, Inspection, Latent, LatentCodec, LatentValues, Limits, Location,
    PackLatent, PackRequest, Verdict, codec, inspect, inspect_path, pack,
};
use serde_json::Value;

/// The most any hostile case may allocate in one piece.
const HOSTILE_PEAK: usize = 64 << 20;

/// Inspects with the given limits and asserts the hostile-case allocation bound.
fn inspect_hostile(bytes: &[u8], limits: &Limits) -> Inspection {
    let (inspection, peak) = measured(|| inspect(bytes, limits));
    assert!(
        peak < HOSTILE_PEAK,
        "inspecting a {}-byte hostile input allocated {peak} bytes in one piece; verdict {:?}, fatal {:?}",
        bytes.len(),
        inspection.verdict(),
        inspection.fatal
    );
    inspection
}

fn inspect_default(bytes: &[u8]) -> Inspection {
    inspect_hostile(bytes, &Limits::default())
}

#[test]
fn the_allocation_counter_sees_a_large_allocation() {
    let (len, peak) = measured(|| vec![7u8; 100 << 20].len());
    assert_eq!(len, 100 << 20);
    assert!(peak >= 100 << 20, "the counter saw only {peak} bytes");
    let (_, small) = measured(|| vec![0u8; 10].len());
    assert!(small < 1 << 20, "the counter was not reset: {small}");
}

#[test]
fn opening_a_raw_latent_from_disk_costs_its_decoded_size_not_a_copy_of_the_file() {
    let values = 4 << 20;
    let bytes =
        packed(&request(vec![(latent("noise", vec![1, 4, 1024, 1024]), LatentCodec::Raw)], false, environment()));
    assert!(bytes.len() > values * 4);
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(&bytes).expect("write");
    let (inspection, live) = measured_live(|| inspect_path(file.path(), &Limits::default()));
    assert_eq!(inspection.verdict(), Verdict::Valid, "{}", describe(&inspection));
    assert_eq!(inspection.latents[0].latent, latent("noise", vec![1, 4, 1024, 1024]));
    let decoded = values * 4;
    assert!(live < decoded + decoded / 8, "opening held {live} bytes at once for a {decoded}-byte latent");
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn failed_codes(inspection: &Inspection) -> BTreeSet<&'static str> {
    inspection.report.failures().map(|c| c.code).collect()
}

fn describe(inspection: &Inspection) -> String {
    let failures: Vec<String> =
        inspection.report.failures().map(|c| format!("{} @ {}: {}", c.code, c.location, c.message)).collect();
    format!("verdict {:?}, fatal {:?}, failures {failures:#?}", inspection.verdict(), inspection.fatal)
}

fn fatal_root(inspection: &Inspection) -> &FormatError {
    inspection
        .fatal
        .as_ref()
        .map(FormatError::root)
        .unwrap_or_else(|| panic!("expected a fatal error; {}", describe(inspection)))
}

/// Asserts the file reads, and that exactly these checks failed.
fn assert_failed_exactly(inspection: &Inspection, expected: &[&str]) {
    assert!(inspection.fatal.is_none(), "{}", describe(inspection));
    assert_eq!(inspection.verdict(), Verdict::Invalid, "{}", describe(inspection));
    let expected: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(failed_codes(inspection), expected, "{}", describe(inspection));
}

/// A 33-byte raiiaf 1.0 header with the given fields.
fn raiiaf_header(table_offset: u32, table_size: u32, chunk_count: u32, file_size: u64) -> Vec<u8> {
    Header {
        format: raiiaf_workbench::format::Format::Raiiaf,
        version_major: 1,
        version_minor: 0,
        flags: 0,
        chunk_table_offset: table_offset,
        chunk_table_size: table_size,
        chunk_count,
        file_size,
        reserved: 0,
    }
    .to_bytes()
}

fn png_bytes() -> Vec<u8> {
    let image = image::RgbImage::from_fn(3, 2, |x, y| image::Rgb([(x * 80) as u8, (y * 120) as u8, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("encode a PNG");
    out.into_inner()
}

fn environment() -> Environment {
    Environment::new(vec![
        EnvComponent::new("numpy", "name=numpy;version=2.1.0"),
        EnvComponent::new("python", "name=python;version=3.12.3"),
    ])
}

fn latent(key: &str, shape: Vec<usize>) -> Latent {
    let count: usize = shape.iter().product();
    let values = (0..count).map(|i| (i as f32 * 0.37).sin()).collect();
    Latent::new(key, shape, LatentValues::F32(values)).expect("latent")
}

fn request(latents: Vec<(Latent, LatentCodec)>, image: bool, environment: Environment) -> PackRequest {
    PackRequest {
        latents: latents.into_iter().map(|(latent, codec)| PackLatent { latent, codec, float16: false }).collect(),
        image: image.then(png_bytes),
        environment,
        ..PackRequest::default()
    }
}

fn packed(request: &PackRequest) -> Vec<u8> {
    let bytes = pack(request).expect("pack").bytes;
    let inspection = inspect(&bytes, &Limits::default());
    assert_eq!(inspection.verdict(), Verdict::Valid, "baseline must be valid: {}", describe(&inspection));
    bytes
}

/// A small valid file: one raw and one zfp latent, a PNG, an environment.
fn sample_file() -> Vec<u8> {
    packed(&request(
        vec![(latent("raw", vec![2, 3, 4]), LatentCodec::Raw), (latent("zfp", vec![1, 4, 4, 4]), LatentCodec::Zfp)],
        true,
        environment(),
    ))
}

/// A file taken apart: the bytes of each chunk in record order, and the manifest.
struct Parts {
    chunks: Vec<Vec<u8>>,
    manifest: Value,
}

fn meta_json(bytes: &[u8]) -> Value {
    let header = Header::parse(bytes).expect("header");
    let start = header.chunk_table_offset as usize;
    let end = start + header.chunk_table_size as usize;
    let frame = codec::zstd_decode_frame(&bytes[start..end], 1 << 30).expect("META frame");
    serde_json::from_slice(&frame.data[12..]).expect("manifest JSON")
}

fn split(bytes: &[u8]) -> Parts {
    let manifest = meta_json(bytes);
    let chunks = records(&manifest)
        .iter()
        .map(|record| {
            let offset = record["offset"].as_u64().expect("offset") as usize;
            let size = record["compressed_size"].as_u64().expect("size") as usize;
            bytes[offset..offset + size].to_vec()
        })
        .collect();
    Parts { chunks, manifest }
}

fn records(manifest: &Value) -> &Vec<Value> {
    manifest["raiiaf_metadata"]["chunks"].as_array().expect("chunks")
}

fn records_mut(manifest: &mut Value) -> &mut Vec<Value> {
    manifest["raiiaf_metadata"]["chunks"].as_array_mut().expect("chunks")
}

fn record_of_type(manifest: &Value, kind: &str) -> usize {
    records(manifest).iter().position(|r| r["type"] == kind).unwrap_or_else(|| panic!("no {kind} record"))
}

/// Lays a file out again: the region between header and manifest as given, then a freshly
/// encoded META frame, then a header pointing at it. `file_info.file_size` is made exact, as
/// this program's writer does.
fn assemble(region: &[u8], manifest: &Value, header_chunk_count: u32) -> Vec<u8> {
    let mut manifest = manifest.clone();
    let table_offset = 33 + region.len() as u64;
    let mut file_size = table_offset;
    let mut frame = Vec::new();
    for _ in 0..8 {
        manifest["raiiaf_metadata"]["file_info"]["file_size"] = Value::from(file_size);
        let json = python_json_pretty(&manifest);
        let mut chunk = InnerHeader { kind: *b"META", flags: *b"0000", size: json.len() as u32 }.to_bytes().to_vec();
        chunk.extend_from_slice(json.as_bytes());
        frame = codec::zstd_encode_frame(&chunk).expect("zstd");
        if table_offset + frame.len() as u64 == file_size {
            break;
        }
        file_size = table_offset + frame.len() as u64;
    }
    let mut out = raiiaf_header(table_offset as u32, frame.len() as u32, header_chunk_count, file_size);
    out.extend_from_slice(region);
    out.extend_from_slice(&frame);
    out
}

/// Lays chunks out back to back after the header, fixing every record's offset, compressed_size
/// and stored hash (as a crafted file would) and both chunk counts.
fn relay(parts: &Parts) -> Vec<u8> {
    let mut manifest = parts.manifest.clone();
    let mut region = Vec::new();
    for (record, chunk) in records_mut(&mut manifest).iter_mut().zip(&parts.chunks) {
        record["offset"] = Value::from(33 + region.len() as u64);
        record["compressed_size"] = Value::from(chunk.len() as u64);
        if record.get(STORED_HASH_KEY).is_some() {
            record[STORED_HASH_KEY] = Value::from(sha256_hex(chunk));
        }
        region.extend_from_slice(chunk);
    }
    let count = parts.chunks.len();
    manifest["raiiaf_metadata"]["file_info"]["chunk_count"] = Value::from(count);
    assemble(&region, &manifest, count as u32)
}

/// A zstd frame, made by zstd's own streaming encoder, that honestly decompresses to 2 GiB:
/// a META inner header followed by zeros. About 70 KiB; zeros compress at memory speed.
fn two_gib_frame() -> &'static [u8] {
    static FRAME: OnceLock<Vec<u8>> = OnceLock::new();
    FRAME.get_or_init(|| {
        let total: u64 = 2 << 30;
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 1).expect("encoder");
        encoder.include_contentsize(true).expect("content size");
        encoder.set_pledged_src_size(Some(total)).expect("pledge");
        let head = InnerHeader { kind: *b"META", flags: *b"0000", size: (total - 12) as u32 }.to_bytes();
        encoder.write_all(&head).expect("write");
        let zeros = vec![0u8; 1 << 20];
        let mut left = total - head.len() as u64;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            encoder.write_all(&zeros[..n]).expect("write");
            left -= n as u64;
        }
        let frame = encoder.finish().expect("finish");
        assert_eq!(zstd::zstd_safe::get_frame_content_size(&frame).ok(), Some(Some(total)));
        assert_eq!(zstd::zstd_safe::find_frame_compressed_size(&frame), Ok(frame.len()));
        frame
    })
}

/// A hand-made single-segment zstd frame of one raw block holding `content`, whose header
/// declares `declared` bytes (which may be a lie).
fn raw_block_frame(content: &[u8], declared: u32) -> Vec<u8> {
    assert!(content.len() < 128 << 10);
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD];
    frame.push(0b1010_0000); // FCS field of 4 bytes, single segment, no checksum, no dictionary
    frame.extend_from_slice(&declared.to_le_bytes());
    let block_header = ((content.len() as u32) << 3) | 1; // raw block, last block
    frame.extend_from_slice(&block_header.to_le_bytes()[..3]);
    frame.extend_from_slice(content);
    assert_eq!(zstd::zstd_safe::get_frame_content_size(&frame).ok(), Some(Some(u64::from(declared))));
    frame
}

// ---------------------------------------------------------------------------------------------
// Inputs whose header cannot be read.

#[test]
fn png_bytes_are_not_raiiaf() {
    let inspection = inspect_default(&png_bytes());
    assert!(matches!(fatal_root(&inspection), FormatError::NotRaiiaf { found } if found.starts_with(b"\x89PNG")));
    assert_eq!(inspection.verdict(), Verdict::Unreadable);
    assert_eq!(failed_codes(&inspection), BTreeSet::from(["header.magic"]));
}

#[test]
fn empty_and_almost_magic_inputs_are_not_raiiaf() {
    for bytes in [&b""[..], b"r", b"raiia", b"RAIIAF\x01\x00", b"GEN", b"gen5"] {
        let inspection = inspect_default(bytes);
        assert!(
            matches!(fatal_root(&inspection), FormatError::NotRaiiaf { .. }),
            "{bytes:?}: {}",
            describe(&inspection)
        );
        assert_eq!(inspection.verdict(), Verdict::Unreadable);
        assert_eq!(failed_codes(&inspection), BTreeSet::from(["header.magic"]));
    }
}

#[test]
fn major_version_2_is_unsupported() {
    let mut bytes = raiiaf_header(33, 0, 0, 33);
    bytes[6] = 2;
    bytes[7] = 5;
    let inspection = inspect_default(&bytes);
    assert!(
        matches!(fatal_root(&inspection), FormatError::UnsupportedVersion { format: "raiiaf", major: 2, minor: 5, .. }),
        "{}",
        describe(&inspection)
    );
    assert_eq!(failed_codes(&inspection), BTreeSet::from(["header.version"]));
    // raiiaf never had a major version 0 (gen5 did).
    bytes[6] = 0;
    assert!(matches!(fatal_root(&inspect_default(&bytes)), FormatError::UnsupportedVersion { major: 0, .. }));
    let mut gen5 = b"GEN5".to_vec();
    gen5.extend_from_slice(&[2, 0]);
    gen5.resize(32, 0);
    assert!(matches!(
        fatal_root(&inspect_default(&gen5)),
        FormatError::UnsupportedVersion { format: "gen5", major: 2, .. }
    ));
}

#[test]
fn a_20_byte_header_is_truncated() {
    let bytes = &raiiaf_header(33, 0, 0, 33)[..20];
    let inspection = inspect_default(bytes);
    assert!(
        matches!(
            fatal_root(&inspection),
            FormatError::Truncated { location: Location::Header, offset: 0, end: 33, available: 20 }
        ),
        "{}",
        describe(&inspection)
    );
    assert_eq!(inspection.verdict(), Verdict::Unreadable);
    // gen5's header is 32 bytes.
    let gen5 = b"GEN5\x01\x00\x00\x00\x20\x00\x00\x00";
    assert!(matches!(
        fatal_root(&inspect_default(gen5)),
        FormatError::Truncated { location: Location::Header, end: 32, available: 12, .. }
    ));
}

#[test]
fn a_header_claiming_a_4_gib_chunk_table_is_truncated_without_allocating() {
    let cases: [(u32, u32); 4] = [
        (33, u32::MAX - 33), // table ends just under 4 GiB
        (33, u32::MAX),      // table ends past 4 GiB
        (u32::MAX, u32::MAX),
        (u32::MAX - 1, 1),
    ];
    for (offset, size) in cases {
        for file_size in [33u64, u64::from(offset) + u64::from(size)] {
            let bytes = raiiaf_header(offset, size, 1, file_size);
            let inspection = inspect_default(&bytes);
            let expected_end = u64::from(offset) + u64::from(size);
            assert!(
                matches!(
                    fatal_root(&inspection),
                    FormatError::Truncated { location: Location::Manifest, offset: o, end, available: 33 }
                        if *o == u64::from(offset) && *end == expected_end
                ),
                "table {offset}+{size}: {}",
                describe(&inspection)
            );
            assert!(failed_codes(&inspection).contains("header.table_bounds"));
        }
    }
    // A little real data after the header changes nothing.
    let mut bytes = raiiaf_header(33, u32::MAX - 33, 1, 1 << 32);
    bytes.extend_from_slice(&[0x28, 0xB5, 0x2F, 0xFD, 0, 0, 0, 0]);
    assert!(matches!(
        fatal_root(&inspect_default(&bytes)),
        FormatError::Truncated { location: Location::Manifest, .. }
    ));
}

#[test]
fn a_chunk_table_inside_the_header_is_refused() {
    // A table that starts inside the header would make the header's own bytes the manifest.
    let mut bytes = raiiaf_header(0, 40, 0, 40);
    bytes.resize(40, 0);
    let inspection = inspect_default(&bytes);
    assert!(
        matches!(fatal_root(&inspection), FormatError::Truncated { location: Location::Manifest, offset: 0, .. }),
        "{}",
        describe(&inspection)
    );
}

// ---------------------------------------------------------------------------------------------
// Decompression bombs and lying frames.

#[test]
fn a_manifest_frame_declaring_2_gib_is_refused_before_decompressing() {
    let frame = two_gib_frame();
    let mut bytes = raiiaf_header(33, frame.len() as u32, 0, 33 + frame.len() as u64);
    bytes.extend_from_slice(frame);
    let inspection = inspect_default(&bytes);
    match fatal_root(&inspection) {
        FormatError::Corrupt { location: Location::Manifest, offset: 33, detail } => {
            assert!(detail.contains("declares 2147483648 bytes, over the limit"), "{detail}")
        }
        other => panic!("expected a corrupt manifest, got {other:?}"),
    }
    assert_eq!(inspection.verdict(), Verdict::Unreadable);
    assert!(failed_codes(&inspection).contains("manifest.decode"));
    // With a cap above the declared size it would decode; the cap is what refuses it.
    assert!(Limits::default().max_metadata_bytes < 2 << 30);
}

#[test]
fn envc_and_data_frames_declaring_2_gib_fail_their_decode_check() {
    for kind in ["ENVC", "DATA"] {
        let mut parts = split(&sample_file());
        let position = record_of_type(&parts.manifest, kind);
        parts.chunks[position] = two_gib_frame().to_vec();
        let inspection = inspect_default(&relay(&parts));
        assert!(inspection.fatal.is_none(), "{}", describe(&inspection));
        let decode = inspection
            .report
            .failures()
            .find(|c| c.code == "chunk.decode")
            .unwrap_or_else(|| panic!("{kind}: {}", describe(&inspection)));
        assert_eq!(decode.location, Location::Chunk { index: position, kind: kind.into() });
        assert!(decode.message.contains("over the limit"), "{}", decode.message);
        assert_eq!(failed_codes(&inspection), BTreeSet::from(["chunk.decode"]), "{kind}: {}", describe(&inspection));
    }
}

#[test]
fn a_frame_holding_more_than_it_declares_is_corrupt() {
    // 100 KiB of content behind a header that says 100 bytes.
    let mut content = InnerHeader { kind: *b"META", flags: *b"0000", size: 100_000 }.to_bytes().to_vec();
    content.resize(100_000, b' ');
    let frame = raw_block_frame(&content, 100);
    let mut bytes = raiiaf_header(33, frame.len() as u32, 0, 33 + frame.len() as u64);
    bytes.extend_from_slice(&frame);
    let (inspection, peak) = measured(|| inspect(&bytes, &Limits::default()));
    assert!(
        matches!(fatal_root(&inspection), FormatError::Corrupt { location: Location::Manifest, .. }),
        "{}",
        describe(&inspection)
    );
    assert!(peak < 64 << 10, "decoding a frame that declares 100 bytes allocated {peak}");
}

#[test]
fn a_frame_declaring_more_than_it_holds_is_corrupt_and_bounded_by_the_cap() {
    let limits = Limits { max_metadata_bytes: 1 << 20, ..Limits::default() };
    let content = InnerHeader { kind: *b"META", flags: *b"0000", size: 20 }.to_bytes();
    // Just over the cap (cap + 12-byte inner header + 1): refused before allocating.
    let over = raw_block_frame(&content, (1 << 20) + 13);
    let mut bytes = raiiaf_header(33, over.len() as u32, 0, 33 + over.len() as u64);
    bytes.extend_from_slice(&over);
    let (inspection, peak) = measured(|| inspect(&bytes, &limits));
    match fatal_root(&inspection) {
        FormatError::Corrupt { location: Location::Manifest, detail, .. } => {
            assert!(detail.contains("over the limit"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(peak < 64 << 10, "allocated {peak}");
    // At the cap: the reader may reserve the declared size, but no more, and still refuses.
    let at = raw_block_frame(&content, (1 << 20) + 12);
    let mut bytes = raiiaf_header(33, at.len() as u32, 0, 33 + at.len() as u64);
    bytes.extend_from_slice(&at);
    let (inspection, peak) = measured(|| inspect(&bytes, &limits));
    assert!(
        matches!(fatal_root(&inspection), FormatError::Corrupt { location: Location::Manifest, .. }),
        "{}",
        describe(&inspection)
    );
    assert!(peak <= (1 << 20) + 12 + 4096, "allocated {peak}, over the 1 MiB cap");
}

// ---------------------------------------------------------------------------------------------
// Latent records that claim absurd sizes.

#[test]
fn a_latent_shape_of_2_pow_48_values_fails_decode_without_allocating() {
    let shapes: [Value; 3] = [
        serde_json::json!([1u64 << 24, 1u64 << 24]),
        serde_json::json!([1u64 << 32, 1u64 << 32, 1u64 << 32]), // overflows u64
        Value::from(vec![2u64; 40]),                             // 2^40 values, and over max_rank
    ];
    for codec in [LatentCodec::Raw, LatentCodec::Zfp] {
        for shape in &shapes {
            let mut parts = split(&packed(&request(vec![(latent("x", vec![2, 4, 4]), codec)], false, environment())));
            records_mut(&mut parts.manifest)[0]["extra"]["shape"] = shape.clone();
            let inspection = inspect_default(&relay(&parts));
            assert!(inspection.fatal.is_none(), "{}", describe(&inspection));
            assert_eq!(inspection.verdict(), Verdict::Invalid);
            assert!(inspection.latents.is_empty());
            let decode: Vec<_> = inspection.report.failures().filter(|c| c.code == "chunk.decode").collect();
            assert_eq!(decode.len(), 1, "{}", describe(&inspection));
            assert!(
                decode[0].message.contains("over the limit") || decode[0].message.contains("more than the limit"),
                "{}",
                decode[0].message
            );
            assert_eq!(
                failed_codes(&inspection),
                BTreeSet::from(["chunk.decode"]),
                "{codec:?} {shape}: {}",
                describe(&inspection)
            );
        }
    }
}

/// A zfp stream that is nothing but a full header declaring a 1-D float field of `n` values in
/// zfp's expert mode with `bits` bits per block of 4 values, then a few zero bytes.
fn zfp_header_only_stream(n: usize, bits: u32) -> Vec<u8> {
    let mode = zfp_oracle::Mode::Expert(bits, bits, 32, zfp_oracle::MIN_EXP);
    let mut bytes = zfp_oracle::header_then::<f32>(&[n], mode, &[0; 2]);
    bytes.resize(32, 0);
    bytes
}

#[test]
fn a_zfp_stream_whose_mode_claims_huge_blocks_cannot_force_a_huge_buffer() {
    // 2^20 values (4 MiB as float32, well within the limits) in blocks of 32768 bits: a reader
    // that pads its copy of the stream to the most such a field could occupy would ask for
    // 2^18 blocks x 4 KiB = 1 GiB for a 32-byte stream.
    let n = 1usize << 20;
    let stream = zfp_header_only_stream(n, 32768);
    let mut parts = split(&packed(&request(vec![(latent("x", vec![4, 4]), LatentCodec::Zfp)], false, environment())));
    let record = &mut records_mut(&mut parts.manifest)[0];
    let len_header = record["len_header"].as_u64().expect("len_header") as usize;
    let inner = InnerHeader { kind: *b"LATN", flags: *b"F32\0", size: (n * 4) as u32 };
    let mut chunk = codec::zstd_encode_frame(&inner.to_bytes()).expect("zstd");
    assert_eq!(chunk.len(), len_header);
    chunk.extend_from_slice(&stream);
    record["extra"]["shape"] = Value::from(vec![n]);
    record["uncompressed_size"] = Value::from(n * 4);
    record["len_data"] = Value::from(stream.len());
    parts.chunks[0] = chunk;
    let inspection = inspect_default(&relay(&parts));
    assert!(inspection.fatal.is_none(), "{}", describe(&inspection));
    let decode: Vec<_> = inspection.report.failures().filter(|c| c.code == "chunk.decode").collect();
    assert_eq!(decode.len(), 1, "{}", describe(&inspection));
    assert!(decode[0].message.contains("zfp stream"), "{}", decode[0].message);
    assert_eq!(failed_codes(&inspection), BTreeSet::from(["chunk.decode"]), "{}", describe(&inspection));
}

// ---------------------------------------------------------------------------------------------
// Damage past the manifest: the file reads, and the right check fails.

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures_dir().join(name)).expect("fixture")
}

#[test]
fn a_flipped_byte_in_a_reference_zfp_stream_fails_the_right_check() {
    let original = fixture("f32_zfp.raiiaf");
    let manifest = meta_json(&original);
    let record = &records(&manifest)[record_of_type(&manifest, "LATN")];
    assert_eq!(record["compressed"], true);
    let offset = record["offset"].as_u64().expect("offset") as usize;
    let stream_start = offset + record["len_header"].as_u64().expect("len_header") as usize;
    let stream_len = record["len_data"].as_u64().expect("len_data") as usize;
    assert_eq!(inspect_default(&original).verdict(), Verdict::Valid);

    // The first byte of zfp's magic: the stream no longer decodes.
    let mut bytes = original.clone();
    bytes[stream_start] ^= 0x01;
    let inspection = inspect_default(&bytes);
    assert_failed_exactly(&inspection, &["chunk.decode"]);
    assert!(inspection.report.failures().any(|c| c.message.contains("not a zfp stream")), "{}", describe(&inspection));

    // A byte in the middle of the compressed bits: the stream decodes to other values.
    let mut bytes = original.clone();
    bytes[stream_start + stream_len / 2] ^= 0x10;
    assert_failed_exactly(&inspect_default(&bytes), &["chunk.hash"]);
}

#[test]
fn a_flipped_byte_in_a_reference_zstd_frame_fails_the_right_check() {
    let original = fixture("f32_zfp.raiiaf");
    let manifest = meta_json(&original);
    let latn = &records(&manifest)[record_of_type(&manifest, "LATN")];
    let envc_index = record_of_type(&manifest, "ENVC");
    let envc = &records(&manifest)[envc_index];
    let envc_offset = envc["offset"].as_u64().expect("offset") as usize;

    // zstd's magic number of the ENVC frame.
    let mut bytes = original.clone();
    bytes[envc_offset] ^= 0x01;
    let inspection = inspect_default(&bytes);
    assert_failed_exactly(&inspection, &["chunk.decode"]);
    assert!(
        inspection.report.failures().all(|c| c.location == Location::Chunk { index: envc_index, kind: "ENVC".into() })
    );

    // The frame of the latent's 12-byte inner header.
    let mut bytes = original.clone();
    bytes[latn["offset"].as_u64().expect("offset") as usize] ^= 0x80;
    assert_failed_exactly(&inspect_default(&bytes), &["chunk.decode"]);

    // Inside the META frame: the manifest no longer reads, so the file is unreadable.
    let header = Header::parse(&original).expect("header");
    let mut bytes = original.clone();
    bytes[header.chunk_table_offset as usize + 2] ^= 0x04;
    let inspection = inspect_default(&bytes);
    assert!(
        matches!(fatal_root(&inspection), FormatError::Corrupt { location: Location::Manifest, .. }),
        "{}",
        describe(&inspection)
    );
}

#[test]
fn a_tampered_envc_digest_fails_envc_digest() {
    let mut tampered = environment();
    tampered.components[1].digest = tampered.components[0].digest.clone();
    let bytes = pack(&request(vec![(latent("x", vec![2, 2]), LatentCodec::Raw)], false, tampered)).expect("pack").bytes;
    let inspection = inspect_default(&bytes);
    assert_failed_exactly(&inspection, &["envc.digest"]);
    let failure = inspection.report.failures().next().expect("one failure");
    assert_eq!(failure.location, Location::EnvComponent { index: 1 });
}

#[test]
fn a_wrong_chunk_count_fails_its_check() {
    let original = sample_file();
    let parts = split(&original);
    let count = parts.chunks.len() as u32;
    // The header's count.
    for wrong in [count + 1, count - 1, 0, u32::MAX] {
        let mut bytes = relay(&parts);
        bytes[17..21].copy_from_slice(&wrong.to_le_bytes());
        assert_failed_exactly(&inspect_default(&bytes), &["header.chunk_count"]);
    }
    // The manifest's file_info.chunk_count.
    let mut edited = Parts { chunks: parts.chunks.clone(), manifest: parts.manifest.clone() };
    edited.manifest["raiiaf_metadata"]["file_info"]["chunk_count"] = Value::from(count + 1);
    let mut region = Vec::new();
    for chunk in &edited.chunks {
        region.extend_from_slice(chunk);
    }
    assert_failed_exactly(&inspect_default(&assemble(&region, &edited.manifest, count)), &["manifest.file_info"]);
    // A record dropped from the list while the header still counts it.
    let mut dropped = Parts { chunks: parts.chunks.clone(), manifest: parts.manifest.clone() };
    let envc = record_of_type(&dropped.manifest, "ENVC");
    records_mut(&mut dropped.manifest).remove(envc);
    dropped.chunks.remove(envc);
    let mut bytes = relay(&dropped);
    bytes[17..21].copy_from_slice(&count.to_le_bytes());
    assert_failed_exactly(&inspect_default(&bytes), &["header.chunk_count"]);
}

#[test]
fn two_records_sharing_one_chunk_fail_chunk_overlap() {
    // Two latents with identical bytes; the second record is pointed at the first chunk and its
    // own chunk removed, so every other check (hashes, sizes, coverage) still passes.
    let base = packed(&request(
        vec![(latent("a", vec![3, 5]), LatentCodec::Raw), (latent("b", vec![3, 5]), LatentCodec::Raw)],
        false,
        environment(),
    ));
    let parts = split(&base);
    assert_eq!(parts.chunks[0], parts.chunks[1]);
    let without_b = Parts {
        chunks: vec![parts.chunks[0].clone(), parts.chunks[2].clone()],
        manifest: {
            let mut m = parts.manifest.clone();
            records_mut(&mut m).remove(1);
            m
        },
    };
    let laid = relay(&without_b);
    let mut manifest = meta_json(&laid);
    let mut shared = records(&manifest)[0].clone();
    shared["index"] = Value::from(1);
    shared["extra"]["key"] = Value::from("b");
    records_mut(&mut manifest).insert(1, shared);
    records_mut(&mut manifest)[2]["index"] = Value::from(2);
    manifest["raiiaf_metadata"]["file_info"]["chunk_count"] = Value::from(3);
    let region = laid[33..Header::parse(&laid).expect("header").chunk_table_offset as usize].to_vec();
    let inspection = inspect_default(&assemble(&region, &manifest, 3));
    assert_failed_exactly(&inspection, &["chunk.overlap"]);
    assert_eq!(inspection.latents.len(), 2);

    // Partly overlapping records: the ENVC record starts 4 bytes early, inside the latent.
    let mut parts = split(&sample_file());
    let envc = record_of_type(&parts.manifest, "ENVC");
    let laid = relay(&parts);
    let mut manifest = meta_json(&laid);
    let start = records(&manifest)[envc]["offset"].as_u64().expect("offset");
    records_mut(&mut manifest)[envc]["offset"] = Value::from(start - 4);
    parts.manifest = manifest;
    let region = laid[33..Header::parse(&laid).expect("header").chunk_table_offset as usize].to_vec();
    let inspection = inspect_default(&assemble(&region, &parts.manifest, parts.chunks.len() as u32));
    let failed = failed_codes(&inspection);
    assert!(failed.contains("chunk.overlap"), "{}", describe(&inspection));
    assert!(inspection.fatal.is_none());
}

#[test]
fn a_data_hash_mismatch_fails_chunk_hash() {
    let mut parts = split(&sample_file());
    let data = record_of_type(&parts.manifest, "DATA");
    let record = &mut records_mut(&mut parts.manifest)[data];
    let hash = record["hash"].as_str().expect("hash").to_string();
    let flipped: String =
        hash.chars().enumerate().map(|(i, c)| if i == 10 { if c == '0' { '1' } else { '0' } } else { c }).collect();
    record["hash"] = Value::from(flipped);
    let inspection = inspect_default(&relay(&parts));
    assert_failed_exactly(&inspection, &["chunk.hash"]);
    assert!(inspection.report.failures().all(|c| c.location == Location::Chunk { index: data, kind: "DATA".into() }));
}

#[test]
fn a_flipped_bit_in_a_raw_latent_fails_chunk_hash() {
    let bytes = packed(&request(vec![(latent("x", vec![4, 4]), LatentCodec::Raw)], false, environment()));
    let manifest = meta_json(&bytes);
    let offset = records(&manifest)[0]["offset"].as_u64().expect("offset") as usize;
    let mut flipped = bytes.clone();
    flipped[offset + 12 + 7] ^= 0x02; // inside the value bytes, past the 12-byte inner header
    assert_failed_exactly(&inspect_default(&flipped), &["chunk.hash"]);
}

#[test]
fn a_header_minor_version_that_disagrees_with_the_manifest_fails_file_info() {
    let mut bytes = sample_file();
    bytes[7] = 1;
    assert_failed_exactly(&inspect_default(&bytes), &["manifest.file_info"]);
    // Both saying 1.1 is consistent (the reference reads any 1.x).
    let mut parts = split(&sample_file());
    parts.manifest["raiiaf_metadata"]["file_info"]["version_minor"] = Value::from(1);
    let mut bytes = relay(&parts);
    bytes[7] = 1;
    let inspection = inspect_default(&bytes);
    assert_eq!(inspection.verdict(), Verdict::Valid, "{}", describe(&inspection));
}

#[test]
fn non_canonical_latent_flags_fail_the_inner_header_check() {
    // `F32\0` -> `F32 `: the lenient flag parser (like the reference's) still reads float32.
    let bytes = packed(&request(vec![(latent("x", vec![4, 4]), LatentCodec::Raw)], false, environment()));
    let manifest = meta_json(&bytes);
    let offset = records(&manifest)[0]["offset"].as_u64().expect("offset") as usize;
    assert_eq!(&bytes[offset + 4..offset + 8], b"F32\0");
    let mut damaged = bytes.clone();
    damaged[offset + 7] = b' ';
    let inspection = inspect_default(&damaged);
    assert_failed_exactly(&inspection, &["chunk.inner_header"]);
    assert!(
        inspection.report.failures().any(|c| c.message.contains("inner flags F32\\x20 (expected F32\\x00)")),
        "{}",
        describe(&inspection)
    );
}

// ---------------------------------------------------------------------------------------------
// Truncation at every length.

fn assert_every_truncation_refused(original: &[u8]) {
    assert_eq!(inspect_default(original).verdict(), Verdict::Valid);
    for len in 0..original.len() {
        let (inspection, peak) = measured(|| inspect(&original[..len], &Limits::default()));
        assert_ne!(inspection.verdict(), Verdict::Valid, "truncated to {len} bytes and still valid");
        assert!(peak < HOSTILE_PEAK, "truncated to {len}: allocated {peak}");
        if len < 33 {
            assert!(inspection.fatal.is_some(), "{len}");
        }
    }
}

#[test]
fn every_truncation_of_a_reference_fixture_is_refused() {
    assert_every_truncation_refused(&fixture("f32_zfp.raiiaf"));
}

#[test]
fn every_truncation_of_a_packed_file_is_refused() {
    assert_every_truncation_refused(&sample_file());
}

#[test]
fn every_truncation_of_a_packed_file_with_its_header_fixed_up_is_refused() {
    // Truncated, then the header's file_size corrected, so only the content can tell.
    let original = sample_file();
    let header = Header::parse(&original).expect("header");
    let table = header.chunk_table_offset as usize;
    for len in 33..table {
        // Chunks cut short, the manifest moved up to follow them.
        let mut bytes = original[..len].to_vec();
        bytes.extend_from_slice(&original[table..]);
        let new_table = len as u32;
        bytes[9..13].copy_from_slice(&new_table.to_le_bytes());
        let size = bytes.len() as u64;
        bytes[21..29].copy_from_slice(&size.to_le_bytes());
        let (inspection, peak) = measured(|| inspect(&bytes, &Limits::default()));
        assert_eq!(inspection.verdict(), Verdict::Invalid, "chunks cut at {len}: {}", describe(&inspection));
        assert!(peak < HOSTILE_PEAK);
    }
}
