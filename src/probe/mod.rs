//! Captures this machine's environment the way the reference `raiiaf` 1.1.0 does, so the ENVC
//! canonical strings (and so their digests) are byte-identical, plus a `hardware_info` object for
//! the manifest. No UI code; the GUI calls [`probe`] from a worker thread.
//!
//! torch, numpy, python and cuda come from running a Python interpreter (the versions that matter
//! are those of the Python that generated an image, which Rust cannot see); os, gpu and the
//! hardware facts are read directly.
//!
//! One deliberate difference from the reference: it collects gpu components only when torch says
//! CUDA is *not* available (an inverted condition), and with pynvml versions whose
//! `nvmlDeviceGetName` returns `str` its `.decode()` fails and it collects none at all. Here every
//! NVML device is listed, which is what the format describes.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::format::{EnvComponent, Environment};

/// The interpreter's timeout when the caller names none; importing torch can take seconds.
pub const DEFAULT_PYTHON_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeOptions {
    /// Interpreter to ask about torch, numpy, python and cuda; `None` means `python3` on PATH
    /// (`python` on Windows).
    pub python: Option<PathBuf>,
    /// Extra environment variables for the interpreter, e.g. `PYTHONPATH`.
    pub python_env: Vec<(String, String)>,
    /// The interpreter is killed after this long and its components reported unavailable.
    pub timeout: Duration,
    /// Leave Python out entirely (its four components are then reported unavailable).
    pub skip_python: bool,
}

impl Default for ProbeOptions {
    fn default() -> ProbeOptions {
        ProbeOptions { python: None, python_env: Vec::new(), timeout: DEFAULT_PYTHON_TIMEOUT, skip_python: false }
    }
}

/// Whether a component could be captured.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum ProbeStatus {
    Found,
    /// The package is not installed (for cuda: torch is not installed).
    Missing(String),
    /// It could not be determined: no interpreter, a timeout, unreadable output, a broken import.
    Unavailable(String),
}

impl ProbeStatus {
    pub fn is_found(&self) -> bool {
        matches!(self, ProbeStatus::Found)
    }
}

impl std::fmt::Display for ProbeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeStatus::Found => f.write_str("found"),
            ProbeStatus::Missing(reason) => write!(f, "missing: {reason}"),
            ProbeStatus::Unavailable(reason) => write!(f, "unavailable: {reason}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbedComponent {
    pub component_id: String,
    pub status: ProbeStatus,
    /// The reference's canonical string; present exactly when the status is `Found`.
    pub canonical: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MachineProbe {
    /// torch, numpy, python, cuda, os, then one gpu per NVML device: the reference's order. The
    /// first five are always present, whatever their status.
    pub components: Vec<ProbedComponent>,
    /// Non-fatal remarks: why there is no GPU, which interpreter ran, what failed.
    pub notes: Vec<String>,
    /// For the manifest's `model_info.hardware_info`; always has `os` (the schema requires it).
    pub hardware_info: Map<String, Value>,
}

impl ProbedComponent {
    /// `found`, `missing: reason` or `unavailable: reason`, for display.
    pub fn status_text(&self) -> String {
        self.status.to_string()
    }
}

impl MachineProbe {
    /// The found components as an ENVC snapshot, in the reference's order.
    pub fn environment(&self) -> Environment {
        Environment::new(
            self.components
                .iter()
                .filter(|c| c.status.is_found())
                .filter_map(|c| {
                    let canonical = c.canonical.as_ref()?;
                    Some(EnvComponent::new(c.component_id.clone(), canonical.clone()))
                })
                .collect(),
        )
    }

    /// The `raiiaf env --json` object: every component with its status, the ENVC snapshot a pack
    /// would record, the hardware info and the notes.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "components": self.components,
            "environment": self.environment(),
            "hardware_info": self.hardware_info,
            "notes": self.notes,
        })
    }

    pub fn component(&self, component_id: &str) -> Option<&ProbedComponent> {
        self.components.iter().find(|c| c.component_id == component_id)
    }
}
