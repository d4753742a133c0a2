//! A closed standard output (`raiiaf verify DIR | head -1`) never turns into success: every
//! subcommand either finishes with its real status or exits 141 (128 + SIGPIPE), and `verify`
//! still writes its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BROKEN_PIPE: i32 = 141;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A folder of `count` copies of a valid file and, sorted last, one damaged file.
fn folder_with_one_damaged(count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(fixture("f32_raw.raiiaf")).unwrap();
    for i in 0..count {
        std::fs::write(dir.path().join(format!("{i:05}.raiiaf")), &good).unwrap();
    }
    let mut damaged = good.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xFF;
    std::fs::write(dir.path().join("zz-damaged.raiiaf"), damaged).unwrap();
    dir
}

/// Runs `raiiaf args` with its stdout a pipe nobody reads (the read end is closed before the
/// program starts), and returns its exit status and stderr.
fn run_into_closed_pipe(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_raiiaf"))
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .env("RAIIAF_NO_SINGLE_INSTANCE", "1")
        .output()
        .unwrap();
    (output.status.code().unwrap(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn every_subcommand_exits_141_when_nobody_reads_its_output() {
    let a = fixture("f32_raw.raiiaf");
    let b = fixture("f16_raw.raiiaf");
    let out = tempfile::tempdir().unwrap();
    let folder = folder_with_one_damaged(3);
    let image = out.path().join("image.png");
    let latent = out.path().join("noise.npy");
    // An image and a latent to pack: extracted from a fixture.
    let status = Command::new(env!("CARGO_BIN_EXE_raiiaf"))
        .args([std::ffi::OsStr::new("extract"), a.as_os_str(), "-o".as_ref(), out.path().join("x").as_os_str()])
        .output()
        .unwrap();
    assert!(status.status.success());
    let extracted: Vec<PathBuf> =
        std::fs::read_dir(out.path().join("x")).unwrap().map(|entry| entry.unwrap().path()).collect();
    let png = extracted.iter().find(|p| p.extension().is_some_and(|e| e == "png")).unwrap();
    let npy = extracted.iter().find(|p| p.extension().is_some_and(|e| e == "npy")).unwrap();
    std::fs::copy(png, &image).unwrap();
    std::fs::copy(npy, &latent).unwrap();
    let packed = out.path().join("packed.raiiaf");
    let extract_to = out.path().join("again");
    let cases: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["info".as_ref(), a.as_os_str()],
        vec!["info".as_ref(), "--json".as_ref(), a.as_os_str()],
        vec!["verify".as_ref(), folder.path().as_os_str()],
        vec!["diff".as_ref(), a.as_os_str(), b.as_os_str()],
        vec!["diff".as_ref(), "--json".as_ref(), a.as_os_str(), b.as_os_str()],
        vec!["params".as_ref(), image.as_os_str()],
        vec!["extract".as_ref(), a.as_os_str(), "-o".as_ref(), extract_to.as_os_str()],
        vec![
            "pack".as_ref(),
            "-o".as_ref(),
            packed.as_os_str(),
            "--image".as_ref(),
            image.as_os_str(),
            "--latent".as_ref(),
            latent.as_os_str(),
            "--model".as_ref(),
            "m".as_ref(),
            "--model-version".as_ref(),
            "1".as_ref(),
            "--prompt".as_ref(),
            "p".as_ref(),
            "--hardware".as_ref(),
            r#"{"os": "test"}"#.as_ref(),
        ],
    ];
    for args in cases {
        let (status, stderr) = run_into_closed_pipe(&args);
        assert_eq!(status, BROKEN_PIPE, "{args:?}: {stderr}");
    }
}

#[test]
fn verify_into_a_reader_that_stops_early_exits_141_and_keeps_its_report() {
    // More lines than a pipe holds, so the program is still writing when `head -1` has gone.
    let folder = folder_with_one_damaged(2000);
    let report = folder.path().join("report.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_raiiaf"))
        .args([
            std::ffi::OsStr::new("verify"),
            "--jobs".as_ref(),
            "1".as_ref(),
            "--report".as_ref(),
            report.as_os_str(),
        ])
        .arg(folder.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("valid\t"), "{first}");
    // The reader is dropped here: what `head -1` does after its line.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(BROKEN_PIPE), "{stderr}");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["summary"]["cancelled"], true);
    let files = written["files"].as_array().unwrap();
    assert!(!files.is_empty() && files.len() < 2001, "{}", files.len());
}

#[test]
fn a_reader_that_reads_everything_gets_the_real_status() {
    // The control: the same folder read to the end exits 1 (one file is invalid), not 141.
    let folder = folder_with_one_damaged(50);
    let output = Command::new(env!("CARGO_BIN_EXE_raiiaf")).arg("verify").arg(folder.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 51);
}
