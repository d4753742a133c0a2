//! `raiiaf info`: the JSON it prints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

mod common;

use std::process::Command;

use serde_json::Value;

/// A file name that is not UTF-8 (possible on Linux) is printed as well as it can be, rather than
/// making the JSON serialiser fail (it used to panic).
#[cfg(unix)]
#[test]
fn info_json_names_a_file_whose_name_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(std::ffi::OsStr::from_bytes(b"bad\xffname.raiiaf"));
    std::fs::copy(common::fixtures_dir().join("f32_zfp.raiiaf"), &path).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_raiiaf")).arg("info").arg("--json").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["path"], path.to_string_lossy().as_ref());
    assert_eq!(value["verdict"], "valid");
    assert_eq!(value["latents"].as_array().map(Vec::len), Some(1));
}
