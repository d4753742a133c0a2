//! The bodies of the fuzz targets, one function per target. libFuzzer calls them through
//! `fuzz_targets/*.rs`; `tests/fuzz_regressions.rs` includes this file and replays every saved
//! crasher through the same functions, so a fixed crash stays fixed in the normal test run.
//!
//! A panic anywhere below is a finding: besides "does not crash", each target asserts what must
//! hold of whatever the parser accepts.

use raiiaf_workbench::format::header::Header;
use raiiaf_workbench::format::reader::InnerHeader;
use raiiaf_workbench::format::{Inspection, Latent, Limits, Verdict, codec, inspect, latent, picture};
use raiiaf_workbench::npy::{self, NpyTensor};
use raiiaf_workbench::params::{self, a1111, comfyui};
use raiiaf_workbench::tensor::{self, colormap::Colormap, mapping::SliceSelection, range::RangeMode};

/// Smaller than the defaults so that one execution stays fast; the defaults themselves are held
/// to their memory bound by the damage sweep and the hostile-input tests.
fn fuzz_limits() -> Limits {
    Limits {
        max_metadata_bytes: 1 << 20,
        max_latent_elements: 1 << 20,
        max_image_bytes: 4 << 20,
        max_image_pixels: 1 << 20,
        max_chunks: 1_000,
        max_rank: 32,
    }
}

/// Any input, read as a `.raiiaf` file (its first six bytes forced to the magic).
pub fn container_raiiaf(data: &[u8]) {
    check_container(&with_prefix(data, b"raiiaf"));
}

/// Any input, read as a `.gen5` file (its first four bytes forced to the magic).
pub fn container_gen5(data: &[u8]) {
    check_container(&with_prefix(data, b"GEN5"));
}

fn with_prefix(data: &[u8], magic: &[u8]) -> Vec<u8> {
    let mut bytes = data.to_vec();
    let n = bytes.len().min(magic.len());
    bytes[..n].copy_from_slice(&magic[..n]);
    bytes
}

fn check_container(bytes: &[u8]) {
    let limits = fuzz_limits();
    let inspection = inspect(bytes, &limits);
    assert_consistent(&inspection, bytes.len());
    // What the viewer and the audits do next with what was read.
    for decoded in &inspection.latents {
        draw_heatmaps(&decoded.latent);
    }
    if let Some(image) = &inspection.image
        && let Ok(pixels) = picture::decode_rgba(&image.bytes, &limits)
    {
        let pixel_count = u64::from(pixels.width()) * u64::from(pixels.height());
        assert!(pixel_count <= limits.max_image_pixels);
    }
    let _ = serde_json::to_string(&inspection.report);
}

fn assert_consistent(inspection: &Inspection, file_len: usize) {
    assert_eq!(inspection.file_len, file_len as u64);
    match inspection.verdict() {
        Verdict::Valid => {
            assert!(inspection.fatal.is_none());
            assert!(inspection.report.checks.iter().all(|check| check.ok));
        }
        Verdict::Invalid => assert!(inspection.report.checks.iter().any(|check| !check.ok)),
        Verdict::Unreadable => assert!(inspection.fatal.is_some()),
    }
    for decoded in &inspection.latents {
        let latent = &decoded.latent;
        assert_eq!(latent::element_count(latent.shape()), Some(latent.values().len()), "shape {:?}", latent.shape());
        assert!(latent.values().len() as u64 <= fuzz_limits().max_latent_elements);
    }
}

fn draw_heatmaps(latent: &Latent) {
    // Decoded latents' element counts fit (the reader checked them), so there is always a selection.
    let selection = SliceSelection::default_for(latent.shape()).expect("a decoded latent's shape is addressable");
    let grid = tensor::heatmap_grid(latent, &selection, Colormap::Viridis, false, RangeMode::Symmetric);
    assert_eq!(grid.slices.len(), selection.channel_count());
}

/// The manifest parser and everything that trusts it: the input is the manifest JSON (or, after a
/// leading 0xff byte, an environment snapshot), stored as the META chunk after the real chunks of a
/// reference-written file, so records can point at real LATN, DATA and ENVC bytes.
pub fn manifest(data: &[u8]) {
    if let Some((&0xff, environment_json)) = data.split_first() {
        if let Ok(environment) = raiiaf_workbench::format::Environment::from_json_bytes(environment_json) {
            let reparsed = raiiaf_workbench::format::Environment::from_json_bytes(&environment.to_json_bytes());
            assert_eq!(reparsed.ok().as_ref(), Some(&environment), "environment JSON does not round-trip");
        }
        return;
    }
    let bytes = with_manifest(BASE_FILE, data);
    let inspection = inspect(&bytes, &fuzz_limits());
    assert_consistent(&inspection, bytes.len());
}

/// A reference-written file whose chunks the manifest target's records point into.
const BASE_FILE: &[u8] = include_bytes!("../../fixtures/multi_latent_zfp.raiiaf");

/// `base` with its META chunk replaced by one holding `manifest_json`, header fixed up.
pub fn with_manifest(base: &[u8], manifest_json: &[u8]) -> Vec<u8> {
    let Ok(header) = Header::parse(base) else { return base.to_vec() };
    let table_offset = header.chunk_table_offset as usize;
    let mut payload =
        InnerHeader { kind: *b"META", flags: *b"0000", size: manifest_json.len() as u32 }.to_bytes().to_vec();
    payload.extend_from_slice(manifest_json);
    let Ok(frame) = codec::zstd_encode_frame_at(&payload, 1) else { return base.to_vec() };
    let mut bytes = base.get(..table_offset).unwrap_or(base).to_vec();
    bytes.extend_from_slice(&frame);
    let fixed = Header { chunk_table_size: frame.len() as u32, file_size: bytes.len() as u64, ..header };
    bytes.splice(..fixed.to_bytes().len(), fixed.to_bytes());
    bytes
}

/// `.npy` import; what it accepts must write back and read again to the same values.
pub fn npy(data: &[u8]) {
    if let Ok(tensor) = npy::read_npy(data, &fuzz_limits()) {
        check_tensor("npy", &tensor);
    }
}

/// `.npz` import (zip, stored or deflated members).
pub fn npz(data: &[u8]) {
    if let Ok(tensors) = npy::read_npz(data, &fuzz_limits()) {
        for (name, tensor) in &tensors {
            check_tensor(name, tensor);
        }
    }
}

/// ComfyUI `.latent` (safetensors) import.
pub fn latent(data: &[u8]) {
    if let Ok(tensor) = npy::read_comfyui_latent(data, &fuzz_limits()) {
        check_tensor("latent_tensor", &tensor);
    }
}

fn check_tensor(key: &str, tensor: &NpyTensor) {
    assert_eq!(latent::element_count(&tensor.shape), Some(tensor.values.len()), "shape {:?}", tensor.shape);
    let Ok(latent) = Latent::new(key, tensor.shape.clone(), tensor.values.clone()) else { return };
    let Ok(written) = npy::write_npy(&latent) else { return };
    let reread = npy::read_npy(&written, &fuzz_limits());
    let reread = reread.as_ref().map(|t| (&t.shape, t.values.to_le_bytes())).map_err(ToString::to_string);
    assert_eq!(reread, Ok((&tensor.shape, tensor.values.to_le_bytes())), "written .npy does not read back");
}

/// A whole PNG: its text chunks, then AUTOMATIC1111 or ComfyUI parameters.
pub fn png_params(data: &[u8]) {
    if let Ok(Some(imported)) = params::import_from_png(data) {
        use_imported(&imported);
    }
}

/// Any input as an image's metadata: `import_from_image`, `read_image_metadata` and
/// `import_from_metadata` (PNG, JPEG and
/// WebP containers, EXIF, XMP, stealth data, every generator's reader), and the EXIF reader alone.
/// The first byte picks what the rest is given as, so that mutations reach past the magic bytes:
/// 0 as it is, 1 after a JPEG's SOI, 2 inside a RIFF/WebP header, 3 as a bare TIFF structure.
/// (PNG chunks carry CRCs that mutations break; `params_text` covers the texts they hold.)
pub fn image_params(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let bytes = match selector % 4 {
        0 => rest.to_vec(),
        1 => [&[0xFF, 0xD8, 0xFF][..], rest].concat(),
        2 => {
            let size = u32::try_from(rest.len() + 4).unwrap_or(u32::MAX);
            [&b"RIFF"[..], &size.to_le_bytes(), b"WEBP", rest].concat()
        }
        _ => {
            let exif = params::exif::read(rest);
            assert!(exif.fields.len() <= rest.len(), "more fields than bytes");
            return;
        }
    };
    let imported = params::import_from_image(&bytes);
    let metadata = params::read_image_metadata(&bytes);
    // Both read the same container the same way: one refuses the bytes only when the other does
    // (a PNG `prompt` chunk that is not JSON is the one import error of a readable image).
    if metadata.is_err() {
        assert!(imported.is_err(), "metadata refused, import accepted");
    }
    // Importing from the metadata finds what importing from the bytes finds (its notes may also
    // name a damaged stealth payload, which only the metadata looks for when other data is found).
    if let (Ok(metadata), Ok(imported)) = (&metadata, &imported) {
        let from_metadata = params::import_from_metadata(metadata).expect("the bytes were imported");
        let key = |found: &params::ImportedParams| {
            (found.source, found.prompt.clone(), found.model_name.clone(), found.settings.clone())
        };
        assert_eq!(from_metadata.as_ref().map(key), imported.as_ref().map(key));
    }
    if let Ok(Some(imported)) = imported {
        use_imported(&imported);
    }
}

/// The parameter parsers on text, without a PNG around it (libFuzzer's mutations would break the
/// PNG's CRCs). First byte even: AUTOMATIC1111 `parameters`; odd: ComfyUI `prompt`, then after a
/// NUL byte its `workflow`.
pub fn params_text(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    if selector % 2 == 0 {
        use_imported(&a1111::parse(text));
    } else {
        let (prompt, workflow) = match text.split_once('\0') {
            Some((prompt, workflow)) => (prompt, Some(workflow)),
            None => (text, None),
        };
        if let Ok(imported) = comfyui::parse(prompt, workflow) {
            use_imported(&imported);
        }
    }
}

fn use_imported(imported: &params::ImportedParams) {
    let _ = imported.summary();
    let mut info = raiiaf_workbench::format::ModelInfo::default();
    imported.fill_missing(&mut info);
    let _ = raiiaf_workbench::format::writer::model_info_problems(&info);
}
