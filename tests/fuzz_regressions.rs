//! Replays every input the fuzzers found a problem with (tests/fuzz/regressions/TARGET/*) through
//! the same target function libFuzzer ran, so each fixed crash, hang or blow-up stays fixed. Also
//! replays the seed files, so the targets' own assertions are checked on real inputs here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

#[allow(dead_code, reason = "shared with the fuzz crate, which calls every target")]
#[path = "fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A target: its name (the folder its inputs are in) and its function.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 9] = [
    ("container_raiiaf", targets::container_raiiaf),
    ("container_gen5", targets::container_gen5),
    ("manifest", targets::manifest),
    ("npy", targets::npy),
    ("npz", targets::npz),
    ("latent", targets::latent),
    ("png_params", targets::png_params),
    ("params_text", targets::params_text),
    ("image_params", targets::image_params),
];

/// libFuzzer's own per-input timeout in tests/fuzz/run.sh; a debug build is allowed five times it.
const HANG: Duration = Duration::from_secs(50);

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz").join(kind);
    let mut replayed = 0;
    for (name, target) in TARGETS {
        for file in files_in(&root.join(name)) {
            let bytes = std::fs::read(&file).unwrap();
            let started = Instant::now();
            // A panic names the file through the test's output; a hang is caught by the timer.
            target(&bytes);
            let took = started.elapsed();
            assert!(took < HANG, "{} took {took:?} in {name}", file.display());
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn every_saved_crasher_runs_cleanly_through_its_target() {
    let replayed = replay("regressions");
    assert!(replayed > 0, "no regression inputs found under tests/fuzz/regressions");
}

#[test]
fn every_seed_satisfies_its_targets_assertions() {
    assert!(replay("seeds") >= 8);
    // The container targets' seeds are the reference fixtures.
    for file in files_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")) {
        let bytes = std::fs::read(&file).unwrap();
        targets::container_raiiaf(&bytes);
        targets::container_gen5(&bytes);
    }
}
