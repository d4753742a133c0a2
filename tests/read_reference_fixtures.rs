//! Files written by the reference package (committed under tests/fixtures, made by
//! `tests/scripts/reference.py make`) must decode bit-identically to the reference's own decoder and
//! pass every check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

mod common;

use raiiaf_workbench::format::Verdict;

#[test]
fn every_reference_fixture_decodes_like_the_reference() {
    let fixtures = common::files_with_expectations(&common::fixtures_dir());
    assert!(fixtures.len() >= 20, "expected the committed reference fixtures, found {}", fixtures.len());
    let mut failures = Vec::new();
    for (path, expected) in &fixtures {
        let problems = common::differences_from_reference(path, expected);
        if !problems.is_empty() {
            failures.push(format!("{}: {}", path.display(), problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_reference_fixture_passes_every_check() {
    for (path, _) in common::files_with_expectations(&common::fixtures_dir()) {
        let inspection = common::inspect_file(&path);
        let failed: Vec<String> =
            inspection.report.failures().map(|c| format!("{} {}: {}", c.code, c.location, c.message)).collect();
        assert_eq!(inspection.verdict(), Verdict::Valid, "{}: {failed:#?} {:?}", path.display(), inspection.fatal);
    }
}

#[test]
fn fixtures_cover_every_reference_variant() {
    let inspections: Vec<_> = common::files_with_expectations(&common::fixtures_dir())
        .into_iter()
        .map(|(path, _)| common::inspect_file(&path))
        .collect();
    use raiiaf_workbench::format::{Dtype, Format, StoredCodec};
    let has = |f: &dyn Fn(&raiiaf_workbench::format::Inspection) -> bool| inspections.iter().any(f);
    assert!(has(&|i| i.format() == Some(Format::Gen5)));
    assert!(has(&|i| i.latents.iter().any(|l| l.codec == StoredCodec::Zfp && l.latent.dtype() == Dtype::F16)));
    assert!(has(&|i| i.latents.iter().any(|l| l.codec == StoredCodec::Zstd)));
    assert!(has(&|i| i.latents.iter().any(|l| l.latent.shape().len() == 8)));
    assert!(has(&|i| i.latents.len() >= 3));
    assert!(has(&|i| i.records.iter().any(|r| r.kind == "DATA" && !r.compressed)));
    assert!(has(&|i| i.environment.as_ref().is_some_and(|e| e
        .components
        .iter()
        .filter(|c| c.component_id == "gpu")
        .count()
        == 2)));
    for format in ["png", "jpeg", "webp"] {
        assert!(
            has(&|i| i.image.as_ref().and_then(|img| raiiaf_workbench::format::writer::image_format_name(&img.bytes))
                == Some(format)),
            "{format}"
        );
    }
}
