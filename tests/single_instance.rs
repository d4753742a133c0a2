#![cfg(unix)] // Xvfb and a socket file; Windows is tested under Wine by tests/windows/run.sh
//! The real binary under a virtual X server: a second `raiiaf FILE` while a window is open hands
//! the file to that window (which then shows two tabs) and exits at once; `--screenshot` runs
//! and `RAIIAF_NO_SINGLE_INSTANCE=1` stay independent; the socket a killed window leaves behind
//! is replaced by the next window. The windows say which tab they opened on stderr
//! (`RAIIAF_LOG_OPENED=1`). Runs its own `Xvfb` when installed, else uses `DISPLAY`, else skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_raiiaf");
/// A window's start under a software renderer on a busy 2-core machine.
const WINDOW_WAIT: Duration = Duration::from_secs(120);
/// A hand-over needs no window, only a connection; far longer than that means a window opened.
const HANDOVER_LIMIT: Duration = Duration::from_secs(15);
/// A running window shows a handed-over file at its next frame.
const TAB_WAIT: Duration = Duration::from_secs(30);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").canonicalize().unwrap()
}

/// A child process killed (SIGKILL, as in a crash) when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Xvfb, stopped with SIGTERM so that it removes its lock file and socket.
struct Xvfb(Killed);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.0.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.0.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Our own Xvfb on a free display number when Xvfb is installed, else `$DISPLAY`.
fn display() -> Option<(String, Option<Xvfb>)> {
    let have_xvfb =
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("Xvfb").is_file()));
    if have_xvfb {
        for attempt in 0..20 {
            let number = 300 + (std::process::id() % 400) + attempt * 11;
            if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
                || Path::new(&format!("/tmp/.X{number}-lock")).exists()
            {
                continue;
            }
            let child = Command::new("Xvfb")
                .args([format!(":{number}").as_str(), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut xvfb = Xvfb(Killed(child));
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
                    return Some((format!(":{number}"), Some(xvfb)));
                }
                if xvfb.0.0.try_wait().unwrap().is_some() {
                    break; // the number was taken after all
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("could not start Xvfb");
    }
    std::env::var("DISPLAY").ok().filter(|d| !d.is_empty()).map(|d| (d, None))
}

/// The environment every `raiiaf` here runs in: the display, a private runtime directory for
/// the socket, and a HOME of its own so that no user's settings are read or written.
struct Session {
    root: tempfile::TempDir,
    display: String,
}

impl Session {
    fn runtime_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        let home = self.root.path().join("home");
        command
            .args(args)
            .env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("RAIIAF_LOG_OPENED", "1")
            .env_remove("RAIIAF_NO_SINGLE_INSTANCE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }

    /// Starts a window and waits until it reports its first tab.
    fn window(&self, command: &mut Command, first_file: &Path) -> Window {
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut window = Window { _process: Killed(child), lines, seen: Vec::new() };
        window.expect_tab(1, first_file, WINDOW_WAIT);
        window
    }

    /// Runs a `raiiaf` that must finish by itself: its status, stderr and how long it took.
    fn run(&self, command: &mut Command, limit: Duration) -> (ExitStatus, String, Duration) {
        let start = Instant::now();
        let mut child = Killed(command.spawn().unwrap());
        loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                let mut stderr = String::new();
                child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
                return (status, stderr, start.elapsed());
            }
            assert!(start.elapsed() < limit, "raiiaf {:?} still running after {limit:?}", command.get_args());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Window {
    /// Killed when the window is dropped.
    _process: Killed,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Window {
    /// Waits for the window to say it opened `path` as tab `index`.
    fn expect_tab(&mut self, index: usize, path: &Path, within: Duration) {
        let wanted = format!("raiiaf: opened tab {index}: {}", path.display());
        let deadline = Instant::now() + within;
        while !self.seen.contains(&wanted) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no {wanted:?} within {within:?}; the window said {:#?}", self.seen)
                }
            }
        }
    }

    /// The tabs the window has reported opening so far (after a short wait for stragglers).
    fn tabs_opened(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(1500)) {
            self.seen.push(line);
        }
        self.seen.iter().filter(|l| l.starts_with("raiiaf: opened tab ")).cloned().collect()
    }
}

#[test]
fn a_second_start_opens_its_files_as_tabs_of_the_running_window() {
    let Some((display, _xvfb)) = display() else {
        eprintln!("skipped: neither Xvfb nor DISPLAY is available to run the window");
        return;
    };
    let session = Session { root: tempfile::tempdir().unwrap(), display };
    // Private, as XDG requires of a runtime directory (a looser one is not used).
    std::fs::DirBuilder::new().mode(0o700).create(session.runtime_dir()).unwrap();
    let socket = PathBuf::from(raiiaf_workbench::platform::instance::endpoint_in(&session.runtime_dir()).to_string());
    let first_file = fixtures().join("f32_raw.raiiaf");
    let second_file = fixtures().join("gen5_zstd.gen5");
    let third_file = fixtures().join("rank2_raw.raiiaf");

    let mut first = session.window(&mut session.command(&[first_file.to_str().unwrap()]), &first_file);
    assert!(socket.exists(), "the first window listens on {}", socket.display());

    // What a double-click runs, with a relative path from another working directory.
    let (status, stderr, took) =
        session.run(session.command(&["gen5_zstd.gen5"]).current_dir(fixtures()), HANDOVER_LIMIT);
    assert!(status.success(), "second start failed: {status}, {stderr}");
    assert!(stderr.contains("1 file(s) handed to the running window"), "{stderr}");
    eprintln!("hand-over took {took:?}");
    first.expect_tab(2, &second_file, TAB_WAIT);

    // A screenshot run opens its own window, saves and exits; the running window gets nothing.
    let shot = session.root.path().join("shot.png");
    let (status, stderr, _) = session.run(
        &mut session.command(&[
            "view",
            third_file.to_str().unwrap(),
            "--size",
            "800x600",
            "--screenshot",
            shot.to_str().unwrap(),
        ]),
        WINDOW_WAIT,
    );
    assert!(status.success(), "screenshot run failed: {status}, {stderr}");
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
    assert_eq!(first.tabs_opened().len(), 2, "the screenshot run must not reach the running window");

    // Still listening after that: a third file becomes tab 3.
    let (status, stderr, _) = session.run(&mut session.command(&[third_file.to_str().unwrap()]), HANDOVER_LIMIT);
    assert!(status.success(), "{stderr}");
    first.expect_tab(3, &third_file, TAB_WAIT);

    // A crash (SIGKILL) leaves the socket file behind with nobody listening.
    drop(first);
    assert!(socket.exists(), "a killed window cannot remove its socket");

    // The next start sees nobody answering, opens its own window and takes the socket over.
    let mut next = session.window(&mut session.command(&[first_file.to_str().unwrap()]), &first_file);
    let (status, stderr, _) = session.run(&mut session.command(&[second_file.to_str().unwrap()]), HANDOVER_LIMIT);
    assert!(status.success(), "{stderr}");
    next.expect_tab(2, &second_file, TAB_WAIT);

    // Turned off: a window of its own, and the running one gets nothing.
    let mut alone = session
        .window(session.command(&[third_file.to_str().unwrap()]).env("RAIIAF_NO_SINGLE_INSTANCE", "1"), &third_file);
    assert_eq!(next.tabs_opened().len(), 2, "RAIIAF_NO_SINGLE_INSTANCE=1 must not reach the running window");
    assert_eq!(alone.tabs_opened().len(), 1);
}
