//! Writes never lose data: `raiiaf pack` (the same `write_atomic` the packer window and the
//! re-packer use) is killed with SIGKILL at moments spread over its whole run, and runs out of
//! room (a file-size limit, a full disk); the destination is always the complete old file or the
//! complete new one, and no partial file outlives the next write.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use raiiaf_workbench::format::{Latent, LatentValues, Limits, Verdict, inspect_path};
use raiiaf_workbench::platform::atomic::{PARTIAL_PREFIX, PARTIAL_SUFFIX};

/// The new file's latent: 16 MiB of float32, stored raw, so writing it takes a while.
const NEW_SHAPE: [usize; 4] = [1, 4, 1024, 1024];

struct Inputs {
    dir: tempfile::TempDir,
    image: PathBuf,
    small_latent: PathBuf,
    large_latent: PathBuf,
}

fn write_npy(path: &Path, shape: &[usize], seed: f32) {
    let count: usize = shape.iter().product();
    let values = (0..count).map(|i| ((i as f32) * 0.001 + seed).sin()).collect();
    let latent = Latent::new("x", shape.to_vec(), LatentValues::F32(values)).unwrap();
    std::fs::write(path, raiiaf_workbench::npy::write_npy(&latent).unwrap()).unwrap();
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.png");
    std::fs::write(&image, common::png_with_text(8, 8, &[])).unwrap();
    let small_latent = dir.path().join("small.npy");
    write_npy(&small_latent, &[1, 4, 8, 8], 0.5);
    let large_latent = dir.path().join("large.npy");
    write_npy(&large_latent, &NEW_SHAPE, 1.5);
    Inputs { dir, image, small_latent, large_latent }
}

/// `raiiaf pack` of `latent` into `output`, overwriting, with no Python or NVML probe.
fn pack_command(inputs: &Inputs, latent: &Path, output: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_raiiaf"));
    command
        .args([
            "pack",
            "--force",
            "--codec",
            "raw",
            "--model",
            "test-model",
            "--model-version",
            "1.0",
            "--prompt",
            "a test",
        ])
        .args(["--settings", r#"{"seed": 1, "steps": 20, "sampler": "euler"}"#, "--hardware", r#"{"os": "Linux"}"#])
        .arg("--python")
        .arg(inputs.dir.path().join("no-such-python"))
        .arg("--image")
        .arg(&inputs.image)
        .arg("--latent")
        .arg(format!("noise={}", latent.display()))
        .arg("-o")
        .arg(output)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn run(mut command: Command) -> Output {
    command.output().unwrap()
}

fn partial_files(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(PARTIAL_PREFIX) && name.ends_with(PARTIAL_SUFFIX))
        .collect()
}

/// The file written from the large latent, complete: valid, with that latent's shape.
fn is_complete_new_file(path: &Path) -> bool {
    let inspection = inspect_path(path, &Limits::default());
    inspection.verdict() == Verdict::Valid
        && inspection.latents.len() == 1
        && inspection.latents[0].latent.shape() == NEW_SHAPE
}

#[test]
fn a_pack_killed_at_any_moment_leaves_the_old_file_or_the_complete_new_one() {
    let inputs = inputs();
    let output_dir = tempfile::tempdir().unwrap();
    let output = output_dir.path().join("out.raiiaf");
    let made = run(pack_command(&inputs, &inputs.small_latent, &output));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let old = std::fs::read(&output).unwrap();

    // How long a whole run takes, to spread the kills over it.
    let started = Instant::now();
    let full = run(pack_command(&inputs, &inputs.large_latent, &output_dir.path().join("timing.raiiaf")));
    let full_run = started.elapsed();
    assert!(full.status.success(), "{}", String::from_utf8_lossy(&full.stderr));

    // Half the kills are spread over the whole run; the other half land just after the partial
    // file appears, while the bytes are being written and flushed.
    const SPREAD_KILLS: u32 = 16;
    const WRITING_KILLS: u32 = 16;
    let (mut kept_old, mut got_new, mut left_partial) = (0, 0, 0);
    for attempt in 0..SPREAD_KILLS + WRITING_KILLS {
        std::fs::write(&output, &old).unwrap();
        let mut child = pack_command(&inputs, &inputs.large_latent, &output).spawn().unwrap();
        if attempt < SPREAD_KILLS {
            // From the start to well past the end of a typical run (a loaded machine runs slower).
            std::thread::sleep(full_run.mul_f64(f64::from(attempt) / f64::from(SPREAD_KILLS) * 2.0));
        } else {
            let waiting = Instant::now();
            while partial_files(output_dir.path()).is_empty() && waiting.elapsed() < full_run * 4 {
                std::thread::yield_now();
            }
            std::thread::sleep(std::time::Duration::from_micros(u64::from(attempt - SPREAD_KILLS) * 500));
        }
        let _ = child.kill(); // SIGKILL; an error means the run had already finished
        child.wait().unwrap();
        let now = std::fs::read(&output).expect("the destination never disappears");
        if now == old {
            kept_old += 1;
        } else {
            assert!(
                is_complete_new_file(&output),
                "kill {attempt}: the destination is neither the old file nor complete"
            );
            got_new += 1;
        }
        if !partial_files(output_dir.path()).is_empty() {
            left_partial += 1;
        }
    }
    println!(
        "{} kills around a {full_run:?} run: {kept_old} kept the old file, {got_new} left the complete new one, \
         {left_partial} left a partial file behind",
        SPREAD_KILLS + WRITING_KILLS
    );
    assert!(left_partial >= WRITING_KILLS / 2, "too few kills landed while the file was being written");
    assert!(kept_old > 0 && got_new > 0, "the kills did not span the run");

    // The next write removes what the killed ones left.
    let next = run(pack_command(&inputs, &inputs.small_latent, &output));
    assert!(next.status.success(), "{}", String::from_utf8_lossy(&next.stderr));
    assert_eq!(partial_files(output_dir.path()), Vec::<String>::new());
}

/// Runs `command` with its file-size limit (RLIMIT_FSIZE) set to `bytes`.
fn with_file_size_limit(mut command: Command, bytes: u64) -> Command {
    // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        });
    }
    command
}

fn assert_failed_cleanly(outcome: &Output, folder: &Path, output: &Path, old: &[u8], hint: &str) {
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    assert_eq!(outcome.status.code(), Some(3), "exit status; stderr: {stderr}");
    assert!(stderr.contains("could not write") && stderr.contains(hint), "stderr: {stderr}");
    assert!(stderr.contains("unchanged"), "stderr: {stderr}");
    assert_eq!(std::fs::read(output).unwrap(), old, "the old file must be intact");
    assert_eq!(partial_files(folder), Vec::<String>::new());
}

#[test]
fn a_write_past_the_file_size_limit_fails_clearly_and_keeps_the_old_file() {
    let inputs = inputs();
    let output_dir = tempfile::tempdir().unwrap();
    let output = output_dir.path().join("out.raiiaf");
    assert!(run(pack_command(&inputs, &inputs.small_latent, &output)).status.success());
    let old = std::fs::read(&output).unwrap();
    let outcome = run(with_file_size_limit(pack_command(&inputs, &inputs.large_latent, &output), 1 << 20));
    assert_failed_cleanly(&outcome, output_dir.path(), &output, &old, "file-size limit");
}

/// A 1 MiB tmpfs, unmounted when dropped; `None` where this process may not mount one.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "raiiaf-test"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_fails_clearly_and_keeps_the_old_file() {
    let Some(disk) = SmallDisk::mount() else {
        // Mounting needs root (CI runs as root on these machines); the file-size limit test above
        // covers the same path everywhere.
        assert!(std::env::var_os("CI").is_none(), "CI must be able to mount a tmpfs for this test");
        println!("skipped: cannot mount a tmpfs here");
        return;
    };
    let inputs = inputs();
    let output = disk.dir.path().join("out.raiiaf");
    assert!(run(pack_command(&inputs, &inputs.small_latent, &output)).status.success());
    let old = std::fs::read(&output).unwrap();
    let outcome = run(pack_command(&inputs, &inputs.large_latent, &output));
    assert_failed_cleanly(&outcome, disk.dir.path(), &output, &old, "the disk is full");
}
