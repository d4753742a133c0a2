//! What `raiiaf info --json` prints about a file: its verdict and every check, the header and
//! manifest, each latent with its statistics, the image and the environment. In the library so
//! that every front end (the command line, a web page) gives the same object.

use serde_json::{Value, json};

use super::writer::image_info;
use super::{Inspection, Verdict};

/// The environment's components as `raiiaf info --json` lists them: `component_id`,
/// `canonical`, `digest` and whether the digest is that of the canonical string (`digest_ok`).
pub fn environment_json(inspection: &Inspection) -> Vec<Value> {
    inspection
        .environment
        .iter()
        .flat_map(|env| &env.components)
        .map(|c| json!({"component_id": c.component_id, "canonical": c.canonical, "digest": c.digest, "digest_ok": c.digest_ok()}))
        .collect()
}

/// The `raiiaf info --json` object for `inspection` of the file called `name`.
pub fn info_json(name: &str, inspection: &Inspection) -> Value {
    let verdict = inspection.verdict();
    let latents: Vec<Value> = inspection
        .latents
        .iter()
        .map(|decoded| {
            let latent = &decoded.latent;
            let stats = latent.stats();
            json!({
                "key": latent.key(),
                "shape": latent.shape(),
                "dtype": latent.dtype().numpy_name(),
                "codec": decoded.codec.name(),
                "sha256": decoded.sha256.clone().unwrap_or_else(|| latent.values().sha256_hex()),
                "min": stats.min, "max": stats.max, "mean": stats.mean, "std": stats.std,
                "nan_count": stats.nan_count, "inf_count": stats.inf_count,
                "stored_bytes": inspection.records.iter().find(|r| r.position == decoded.record).and_then(|r| r.compressed_size),
            })
        })
        .collect();
    let image = inspection.image.as_ref().map(|image| {
        let info = image_info(&image.bytes);
        json!({
            "format": info.map(|i| i.0),
            "width": info.map(|i| i.1),
            "height": info.map(|i| i.2),
            "bytes": image.bytes.len(),
            "sha256": image.sha256,
        })
    });
    let environment = environment_json(inspection);
    json!({
        "path": name,
        "format": inspection.format().map(|f| f.name()),
        "valid": verdict == Verdict::Valid,
        "verdict": verdict.name(),
        "error": inspection.fatal.as_ref().map(|e| e.to_string()),
        "error_kind": inspection.fatal.as_ref().map(|e| e.kind()),
        "file_size": inspection.file_len,
        "checks": inspection.report.checks,
        "header": inspection.header,
        "manifest": inspection.manifest,
        "latents": latents,
        "image": image,
        "environment": environment,
    })
}
