//! The Python half of the probe: torch, numpy, python and cuda as the reference computes them.
//!
//! The canonical strings are built inside the interpreter with the reference's own expressions
//! (f-strings over `torch.__version__.split("+")[0]`, `torch.version.cuda`, `numpy.__version__`,
//! `platform.python_version()`), so they are byte-identical to what `raiiaf` 1.1.0 would write.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::probe::ProbeStatus;

/// The line prefix the script's result follows, so stray prints from imports cannot confuse us.
pub(crate) const RESULT_MARKER: &str = "RAIIAF_PROBE_JSON:";

/// Each package is imported on its own so a missing or broken torch still yields numpy and python.
/// `state` is `missing` only when the package itself is absent; an installed package that fails to
/// import (a missing dependency, a broken CUDA library) is `unavailable`. Kept to Python 3.6 syntax.
pub(crate) const PROBE_SCRIPT: &str = r#"
import importlib.util, json, os, platform, runpy, sys
def failure(module, error):
    missing = isinstance(error, ImportError) and getattr(error, "name", None) == module
    return {"state": "missing" if missing else "unavailable",
            "reason": "%s: %s" % (type(error).__name__, error)}
def version_file(package, names):
    # The package's version.py run on its own: numpy and torch take __version__ (and torch its
    # cuda) from it, and importing them costs a tenth of a second (numpy) to seconds (torch).
    # None when there is no such file or it lacks a name; the caller then imports the package.
    try:
        spec = importlib.util.find_spec(package)
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        path = os.path.join(folders[0], "version.py") if folders else ""
        if not os.path.isfile(path):
            return None
        found = runpy.run_path(path)
        return found if all(name in found for name in names) else None
    except Exception:
        return None
result = {}
python_version = platform.python_version()
result["python"] = {"state": "found", "canonical": f"name=python;version={python_version}",
                    "version": str(python_version)}
try:
    found = version_file("numpy", ["__version__"])
    if found is None:
        import numpy as np
        found = {"__version__": np.__version__}
    numpy_version = found["__version__"]
    result["numpy"] = {"state": "found", "canonical": f"name=numpy;version={numpy_version}",
                       "version": str(numpy_version)}
except Exception as error:
    result["numpy"] = failure("numpy", error)
try:
    found = version_file("torch", ["__version__", "cuda"])
    if found is None:
        import torch
        found = {"__version__": torch.__version__, "cuda": torch.version.cuda}
    torch_version = str(found["__version__"]).split("+")[0]
    cuda_version = found["cuda"]
    result["torch"] = {"state": "found", "canonical": f"name=torch;version={torch_version};cuda={cuda_version}",
                       "version": str(torch_version)}
    cuda_text = cuda_version
    if cuda_text is None:
        cuda_text = "none"
    result["cuda"] = {"state": "found", "canonical": f"name=cuda;version={cuda_text}",
                      "version": None if cuda_version is None else str(cuda_version)}
except Exception as error:
    result["torch"] = failure("torch", error)
    torch_state = result["torch"]["state"]
    result["cuda"] = {"state": torch_state, "reason": "read from torch, which is %s" % torch_state}
sys.stdout.write("\n" + "RAIIAF_PROBE_JSON:" + json.dumps(result) + "\n")
sys.stdout.flush()
"#;

/// The components the script reports, in the reference's order.
pub(crate) const PYTHON_COMPONENTS: [&str; 4] = ["torch", "numpy", "python", "cuda"];

/// Output beyond this is read and dropped, so a chatty interpreter cannot eat memory.
const OUTPUT_LIMIT: u64 = 1 << 20;
/// How long to wait for the output pipes after the child exits: a grandchild may hold them open.
const PIPE_GRACE: Duration = Duration::from_secs(2);
/// How often to look whether the interpreter has exited: every millisecond for the first 200 ms
/// (a probe takes a few tens of them, and the command that waits for it is waiting too), then
/// every 10 ms.
const POLL_INTERVAL_FIRST: Duration = Duration::from_millis(1);
const POLL_INTERVAL: Duration = Duration::from_millis(10);
const POLL_FIRST_FOR: Duration = Duration::from_millis(200);

/// What the script said about one component.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PythonComponent {
    pub status: ProbeStatus,
    pub canonical: Option<String>,
    /// The bare version (`2.5.1` for torch, `12.4` for cuda; `None` for a CPU-only torch's cuda).
    pub version: Option<String>,
}

impl PythonComponent {
    fn unavailable(reason: &str) -> PythonComponent {
        PythonComponent { status: ProbeStatus::Unavailable(reason.to_owned()), canonical: None, version: None }
    }
}

/// The four components in [`PYTHON_COMPONENTS`] order, plus notes for the caller.
#[derive(Debug, Clone)]
pub(crate) struct PythonReport {
    pub components: Vec<(&'static str, PythonComponent)>,
    pub notes: Vec<String>,
}

impl PythonReport {
    /// Every component unavailable for the same reason (no interpreter, timeout, bad output...).
    pub(crate) fn all_unavailable(reason: &str) -> PythonReport {
        PythonReport {
            components: PYTHON_COMPONENTS.iter().map(|id| (*id, PythonComponent::unavailable(reason))).collect(),
            notes: vec![format!("python probe: {reason}")],
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&PythonComponent> {
        self.components.iter().find(|(component_id, _)| *component_id == id).map(|(_, component)| component)
    }
}

/// Runs `PROBE_SCRIPT` in `python` and interprets its answer; never fails, never outlives `timeout`
/// by more than the pipe grace period.
pub(crate) fn probe_python(python: &Path, extra_env: &[(String, String)], timeout: Duration) -> PythonReport {
    let mut command = Command::new(python);
    command.arg("-c").arg(PROBE_SCRIPT);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let shown = python.display();
    let output = match run_with_timeout(command, timeout) {
        Ok(output) => output,
        Err(RunError::NotFound) => {
            return PythonReport::all_unavailable(&format!("python interpreter `{shown}` not found"));
        }
        Err(RunError::Spawn(error)) => {
            return PythonReport::all_unavailable(&format!("cannot start `{shown}`: {error}"));
        }
        Err(RunError::TimedOut) => {
            return PythonReport::all_unavailable(&format!(
                "`{shown}` timed out after {:.1} s and was killed",
                timeout.as_secs_f64()
            ));
        }
        Err(RunError::Wait(error)) => {
            return PythonReport::all_unavailable(&format!("lost track of `{shown}`: {error}"));
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(json_text) = stdout.lines().rev().find_map(|line| line.trim_end().strip_prefix(RESULT_MARKER)) else {
        let status = match output.exit_code {
            Some(code) => format!("exit status {code}"),
            None => "a signal".to_owned(),
        };
        let stderr = tail(&String::from_utf8_lossy(&output.stderr), 300);
        let detail = if stderr.is_empty() { String::new() } else { format!(": {stderr}") };
        return PythonReport::all_unavailable(&format!("`{shown}` gave no probe result (ended with {status}){detail}"));
    };
    let mut report = parse_result(json_text)
        .unwrap_or_else(|reason| PythonReport::all_unavailable(&format!("bad output from `{shown}`: {reason}")));
    report.notes.insert(0, format!("python probe ran `{shown}`"));
    report
}

/// Interprets the script's JSON object.
pub(crate) fn parse_result(json_text: &str) -> Result<PythonReport, String> {
    let value: Value = serde_json::from_str(json_text).map_err(|e| format!("not JSON ({e})"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let mut components = Vec::with_capacity(PYTHON_COMPONENTS.len());
    for id in PYTHON_COMPONENTS {
        let entry = object.get(id).and_then(Value::as_object).ok_or_else(|| format!("no `{id}` entry"))?;
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        let reason = || text("reason").unwrap_or_else(|| "no reason given".to_owned());
        let component = match entry.get("state").and_then(Value::as_str) {
            Some("found") => {
                let canonical =
                    text("canonical").ok_or_else(|| format!("`{id}` is found but has no canonical string"))?;
                PythonComponent { status: ProbeStatus::Found, canonical: Some(canonical), version: text("version") }
            }
            Some("missing") => {
                PythonComponent { status: ProbeStatus::Missing(reason()), canonical: None, version: None }
            }
            Some("unavailable") => PythonComponent::unavailable(&reason()),
            other => return Err(format!("`{id}` has an unknown state {other:?}")),
        };
        components.push((id, component));
    }
    Ok(PythonReport { components, notes: Vec::new() })
}

fn tail(text: &str, max_chars: usize) -> String {
    let trimmed = text.trim();
    let count = trimmed.chars().count();
    if count <= max_chars {
        return trimmed.to_owned();
    }
    let tail: String = trimmed.chars().skip(count - max_chars).collect();
    format!("...{tail}")
}

#[derive(Debug)]
struct CapturedOutput {
    exit_code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

#[derive(Debug)]
enum RunError {
    NotFound,
    Spawn(std::io::Error),
    TimedOut,
    Wait(std::io::Error),
}

/// Runs `command` with stdin closed and both outputs captured, killing it at `timeout`.
///
/// The pipes are drained on their own threads (a full pipe would otherwise stall the child), and
/// those threads are waited for only briefly: after a kill, a grandchild (e.g. `sleep` started by a
/// wrapper script) may keep the pipes open long after the child is gone.
fn run_with_timeout(mut command: Command, timeout: Duration) -> Result<CapturedOutput, RunError> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound,
        _ => RunError::Spawn(error),
    })?;
    let (sender, receiver) = mpsc::channel::<(bool, Vec<u8>)>();
    if let Some(stdout) = child.stdout.take() {
        spawn_drain(stdout, true, sender.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        spawn_drain(stderr, false, sender.clone());
    }
    drop(sender);

    let started = Instant::now();
    let deadline = started + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                // Ignoring errors: the child may have exited between the check and the kill.
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut);
            }
            Ok(None) => {
                thread::sleep(if started.elapsed() < POLL_FIRST_FOR { POLL_INTERVAL_FIRST } else { POLL_INTERVAL })
            }
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Wait(error));
            }
        }
    };

    let mut output = CapturedOutput { exit_code: status.code(), stdout: Vec::new(), stderr: Vec::new() };
    let pipes_deadline = Instant::now() + PIPE_GRACE;
    for _ in 0..2 {
        let remaining = pipes_deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(remaining) {
            Ok((true, bytes)) => output.stdout = bytes,
            Ok((false, bytes)) => output.stderr = bytes,
            Err(_) => break,
        }
    }
    Ok(output)
}

fn spawn_drain(mut pipe: impl Read + Send + 'static, is_stdout: bool, sender: mpsc::Sender<(bool, Vec<u8>)>) {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // Read errors just end the capture; what was read so far is still useful.
        let _ = pipe.by_ref().take(OUTPUT_LIMIT).read_to_end(&mut bytes);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        let _ = sender.send((is_stdout, bytes));
    });
}

/// The interpreter used when the caller names none.
pub(crate) fn default_python() -> OsString {
    // On Windows `python3` is often the Microsoft Store stub; `python` is the usual name there.
    if cfg!(windows) { OsString::from("python") } else { OsString::from("python3") }
}
