//! In-process decode (read + every check) of the files `tests/scripts/bench.py` prepares in
//! RAIIAF_BENCH_DIR; without it, of the committed reference fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use raiiaf_workbench::format::{Limits, inspect};

fn bench_files() -> Vec<PathBuf> {
    let dir = std::env::var_os("RAIIAF_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "raiiaf"))
        .collect();
    files.sort();
    files
}

fn decode(c: &mut Criterion) {
    for path in bench_files() {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        c.bench_function(&format!("inspect/{name}"), |b| {
            b.iter(|| {
                let inspection = inspect(std::hint::black_box(&bytes), &Limits::default());
                assert!(inspection.fatal.is_none());
                inspection
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = decode
}
criterion_main!(benches);
