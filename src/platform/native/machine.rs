//! This machine's environment, as the reference captures it: torch, numpy, python and cuda from
//! a Python interpreter run with a timeout ([`python`]), os, gpus and hardware facts read
//! directly ([`system`]).

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{python, system};
use crate::probe::{MachineProbe, ProbeOptions, ProbeStatus, ProbedComponent};

/// [`crate::platform::probe_machine`] on a machine with processes, files and (perhaps) NVML.
pub fn probe_machine(options: &ProbeOptions) -> MachineProbe {
    let python_report = if options.skip_python {
        None
    } else {
        let interpreter = options.python.clone().unwrap_or_else(|| PathBuf::from(python::default_python()));
        let extra_env = options.python_env.clone();
        let timeout = options.timeout;
        // Python (seconds, when torch is imported) runs while NVML and sysinfo are queried here.
        Some(std::thread::spawn(move || python::probe_python(&interpreter, &extra_env, timeout)))
    };
    let os_version = system::os_version_string();
    let nvml = system::query_nvml();
    let host = system::host_facts();
    let python_report = match python_report {
        None => python::PythonReport::all_unavailable("skipped on request"),
        Some(handle) => {
            handle.join().unwrap_or_else(|_| python::PythonReport::all_unavailable("the probe thread panicked"))
        }
    };
    assemble(python_report, os_version, nvml, host)
}

fn assemble(
    python_report: python::PythonReport,
    os_version: Result<String, String>,
    nvml: system::NvmlReport,
    host: system::HostFacts,
) -> MachineProbe {
    let mut components = Vec::new();
    let mut notes = python_report.notes.clone();
    for (id, component) in &python_report.components {
        components.push(ProbedComponent {
            component_id: (*id).to_owned(),
            status: component.status.clone(),
            canonical: component.canonical.clone(),
        });
    }

    components.push(match &os_version {
        Ok(version) => ProbedComponent {
            component_id: "os".to_owned(),
            status: ProbeStatus::Found,
            canonical: Some(format!("name=os;version={version}")),
        },
        Err(reason) => ProbedComponent {
            component_id: "os".to_owned(),
            status: ProbeStatus::Unavailable(reason.clone()),
            canonical: None,
        },
    });

    match &nvml.driver {
        Some(driver) => components.extend(nvml.gpus.iter().map(|gpu| ProbedComponent {
            component_id: "gpu".to_owned(),
            status: ProbeStatus::Found,
            canonical: Some(format!("name=gpu;model={};driver={driver}", gpu.name)),
        })),
        // The canonical string needs the driver version; without it no gpu component can match.
        None if !nvml.gpus.is_empty() => notes.push("gpu components left out: no driver version".to_owned()),
        None => {}
    }
    notes.extend(nvml.notes.iter().cloned());
    notes.extend(host.notes.iter().cloned());

    let hardware_info = hardware_info(&python_report, &os_version, &nvml, &host);
    MachineProbe { components, notes, hardware_info }
}

/// The manifest's `hardware_info`, keys in the schema's order.
fn hardware_info(
    python_report: &python::PythonReport,
    os_version: &Result<String, String>,
    nvml: &system::NvmlReport,
    host: &system::HostFacts,
) -> Map<String, Value> {
    let mut info = Map::new();
    if let Some(name) = &host.machine_name {
        info.insert("machine_name".into(), Value::from(name.clone()));
    }
    // `os` is required by the schema, so an unreadable OS still gets the system name.
    let os = match os_version {
        Ok(version) => version.clone(),
        Err(_) => std::env::consts::OS.to_owned(),
    };
    info.insert("os".into(), Value::from(os));
    if let Some(cpu) = &host.cpu_brand {
        info.insert("cpu".into(), Value::from(cpu.clone()));
    }
    info.insert("cpu_cores".into(), Value::from(host.cpu_cores.max(1)));
    if let Some(ram) = host.ram_gb {
        info.insert("ram_gb".into(), Value::from(ram));
    }
    if !nvml.gpus.is_empty() {
        let gpus = nvml
            .gpus
            .iter()
            .map(|gpu| {
                let mut entry = Map::new();
                entry.insert("name".into(), Value::from(gpu.name.clone()));
                if let Some(memory) = gpu.memory_gb {
                    entry.insert("memory_gb".into(), Value::from(memory));
                }
                if let Some(driver) = &nvml.driver {
                    entry.insert("driver".into(), Value::from(driver.clone()));
                }
                if let Some(cuda) = &nvml.cuda_driver_version {
                    entry.insert("cuda_version".into(), Value::from(cuda.clone()));
                }
                Value::Object(entry)
            })
            .collect();
        info.insert("gpu".into(), Value::Array(gpus));
    }
    let found_version =
        |id: &str| python_report.get(id).filter(|c| c.status.is_found()).and_then(|c| c.version.clone());
    if let Some(torch) = found_version("torch") {
        info.insert("framework".into(), Value::from(format!("torch {torch}")));
    }
    // A CPU-only torch has cuda version None: no compute_lib then.
    if let Some(cuda) = found_version("cuda") {
        info.insert("compute_lib".into(), Value::from(format!("cuda {cuda}")));
    }
    info
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::platform::probe_machine as probe;
    #[cfg(unix)]
    use std::io::Write;
    use std::path::Path;
    use std::process::Command;
    #[cfg(unix)]
    use std::time::{Duration, Instant};

    fn canonical<'a>(probe: &'a MachineProbe, id: &str) -> Option<&'a str> {
        probe.component(id).and_then(|c| c.canonical.as_deref())
    }

    /// Writes an executable shell script standing in for a Python interpreter.
    #[cfg(unix)]
    fn fake_python(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-python");
        let mut file = std::fs::File::create(&path).expect("create fake interpreter");
        write!(file, "#!/bin/sh\n{body}\n").expect("write fake interpreter");
        drop(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod fake interpreter");
        path
    }

    #[cfg(unix)]
    fn probe_with_fake(body: &str, timeout: Duration) -> MachineProbe {
        let dir = tempfile::tempdir().expect("temp dir");
        let python = fake_python(dir.path(), body);
        probe(&ProbeOptions { python: Some(python), timeout, ..ProbeOptions::default() })
    }

    /// A shell line printing `json` after the marker, with noise before it as real imports may print.
    #[cfg(unix)]
    fn printing(json: &str) -> String {
        format!("echo 'some import chatter'\ncat <<'RAIIAF_END'\n{}{json}\nRAIIAF_END", python::RESULT_MARKER)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn os_component_is_linux_and_uname_release() {
        let uname = Command::new("uname").arg("-r").output().expect("run uname -r");
        let release = String::from_utf8(uname.stdout).expect("uname output is UTF-8");
        let probe = probe(&ProbeOptions { skip_python: true, ..ProbeOptions::default() });
        let expected = format!("name=os;version=Linux {}", release.trim_end());
        assert_eq!(canonical(&probe, "os"), Some(expected.as_str()));
        assert_eq!(probe.hardware_info.get("os").and_then(Value::as_str), Some(&expected["name=os;version=".len()..]));
    }

    #[test]
    fn skipping_python_reports_four_unavailable_components_then_os() {
        let probe = probe(&ProbeOptions { skip_python: true, ..ProbeOptions::default() });
        let ids: Vec<_> = probe.components.iter().map(|c| c.component_id.as_str()).take(5).collect();
        assert_eq!(ids, ["torch", "numpy", "python", "cuda", "os"]);
        for id in ["torch", "numpy", "python", "cuda"] {
            let component = probe.component(id).expect("component listed");
            assert!(matches!(component.status, ProbeStatus::Unavailable(_)), "{id}: {:?}", component.status);
            assert_eq!(component.canonical, None);
        }
        assert!(probe.components[5..].iter().all(|c| c.component_id == "gpu"));
        let cores = probe.hardware_info.get("cpu_cores").and_then(Value::as_u64).expect("cpu_cores");
        assert!(cores >= 1);
        assert!(!probe.hardware_info.contains_key("framework"));
        // The found ones only: os and gpus.
        assert_eq!(probe.environment().components.first().map(|c| c.component_id.as_str()), Some("os"));
    }

    #[cfg(unix)]
    #[test]
    fn fake_interpreter_output_is_parsed_in_reference_order() {
        let json = r#"{"python": {"state": "found", "canonical": "name=python;version=3.11.7", "version": "3.11.7"}, "numpy": {"state": "found", "canonical": "name=numpy;version=2.1.0", "version": "2.1.0"}, "torch": {"state": "found", "canonical": "name=torch;version=2.5.1;cuda=12.4", "version": "2.5.1"}, "cuda": {"state": "found", "canonical": "name=cuda;version=12.4", "version": "12.4"}}"#;
        let probe = probe_with_fake(&printing(json), Duration::from_secs(10));
        let environment = probe.environment();
        let listed: Vec<_> =
            environment.components.iter().map(|c| (c.component_id.as_str(), c.canonical.as_str())).take(4).collect();
        assert_eq!(
            listed,
            [
                ("torch", "name=torch;version=2.5.1;cuda=12.4"),
                ("numpy", "name=numpy;version=2.1.0"),
                ("python", "name=python;version=3.11.7"),
                ("cuda", "name=cuda;version=12.4"),
            ]
        );
        assert_eq!(environment.components.get(4).map(|c| c.component_id.as_str()), Some("os"));
        let torch_digest = crate::format::environment::sha256_hex(b"name=torch;version=2.5.1;cuda=12.4");
        assert_eq!(environment.components[0].digest, torch_digest);
        assert_eq!(probe.hardware_info.get("framework").and_then(Value::as_str), Some("torch 2.5.1"));
        assert_eq!(probe.hardware_info.get("compute_lib").and_then(Value::as_str), Some("cuda 12.4"));
    }

    #[cfg(unix)]
    #[test]
    fn missing_torch_still_yields_numpy_and_python() {
        let json = r#"{"python": {"state": "found", "canonical": "name=python;version=3.12.1", "version": "3.12.1"}, "numpy": {"state": "found", "canonical": "name=numpy;version=1.26.4", "version": "1.26.4"}, "torch": {"state": "missing", "reason": "ModuleNotFoundError: No module named 'torch'"}, "cuda": {"state": "missing", "reason": "read from torch, which is missing"}}"#;
        let probe = probe_with_fake(&printing(json), Duration::from_secs(10));
        let torch = probe.component("torch").expect("torch listed");
        assert_eq!(torch.status, ProbeStatus::Missing("ModuleNotFoundError: No module named 'torch'".to_owned()));
        assert!(matches!(probe.component("cuda").map(|c| &c.status), Some(ProbeStatus::Missing(_))));
        let ids: Vec<_> = probe.environment().components.iter().map(|c| c.component_id.clone()).take(3).collect();
        assert_eq!(ids, ["numpy", "python", "os"]);
        assert!(!probe.hardware_info.contains_key("framework"));
        assert!(!probe.hardware_info.contains_key("compute_lib"));
    }

    #[cfg(unix)]
    #[test]
    fn cpu_only_torch_has_no_compute_lib() {
        let json = r#"{"python": {"state": "found", "canonical": "name=python;version=3.11.7", "version": "3.11.7"}, "numpy": {"state": "missing", "reason": "ModuleNotFoundError: No module named 'numpy'"}, "torch": {"state": "found", "canonical": "name=torch;version=2.5.1;cuda=None", "version": "2.5.1"}, "cuda": {"state": "found", "canonical": "name=cuda;version=none", "version": null}}"#;
        let probe = probe_with_fake(&printing(json), Duration::from_secs(10));
        assert_eq!(canonical(&probe, "cuda"), Some("name=cuda;version=none"));
        assert_eq!(probe.hardware_info.get("framework").and_then(Value::as_str), Some("torch 2.5.1"));
        assert!(!probe.hardware_info.contains_key("compute_lib"));
    }

    #[cfg(unix)]
    #[test]
    fn hanging_interpreter_is_killed_at_the_timeout() {
        // Not `exec sleep`: the orphaned `sleep` keeps the pipes open, which must not stall us.
        let started = Instant::now();
        let probe = probe_with_fake("sleep 30", Duration::from_secs(1));
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
        for id in ["torch", "numpy", "python", "cuda"] {
            let status = probe.component(id).expect("listed").status.to_string();
            assert!(status.starts_with("unavailable: ") && status.contains("timed out"), "{id}: {status}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn garbage_output_is_unavailable_not_a_panic() {
        let probe = probe_with_fake(&printing("{\"python\": 3"), Duration::from_secs(10));
        let status = &probe.component("python").expect("listed").status;
        assert!(status.to_string().contains("bad output"), "{status}");
        let probe = probe_with_fake("echo 'Traceback: boom' >&2\nexit 1", Duration::from_secs(10));
        let status = probe.component("numpy").expect("listed").status.to_string();
        assert!(status.contains("exit status 1") && status.contains("boom"), "{status}");
    }

    #[test]
    fn absent_interpreter_is_unavailable() {
        let options = ProbeOptions {
            python: Some(PathBuf::from("/nonexistent/raiiaf-no-such-python3")),
            ..ProbeOptions::default()
        };
        let probe = probe(&options);
        for id in ["torch", "numpy", "python", "cuda"] {
            let status = probe.component(id).expect("listed").status.to_string();
            assert!(status.starts_with("unavailable: ") && status.contains("not found"), "{id}: {status}");
        }
    }

    #[test]
    fn parse_rejects_found_without_canonical_string() {
        let json = r#"{"python": {"state": "found"}, "numpy": {"state": "missing"},
                       "torch": {"state": "missing"}, "cuda": {"state": "missing"}}"#;
        assert!(python::parse_result(json).is_err());
    }

    #[test]
    fn script_prints_the_marker_the_parser_looks_for() {
        assert!(python::PROBE_SCRIPT.contains(python::RESULT_MARKER));
    }

    /// The inline script must be valid Python and agree with the interpreter it runs in.
    #[test]
    fn script_runs_in_the_system_python() {
        let interpreter = python::default_python();
        let version =
            Command::new(&interpreter).args(["-c", "import platform; print(platform.python_version())"]).output();
        let Some(version) = version.ok().filter(|output| output.status.success()) else {
            eprintln!("skipped: no {interpreter:?} on PATH");
            return;
        };
        let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        let probe = probe(&ProbeOptions::default());
        // python is found only from parsed script output, so this proves the script ran cleanly.
        let expected = format!("name=python;version={version}");
        assert_eq!(canonical(&probe, "python"), Some(expected.as_str()), "notes: {:?}", probe.notes);
    }

    /// torch and numpy versions are read from their version.py without importing them (torch
    /// takes seconds to import): packages whose import fails prove the file alone was read.
    #[test]
    fn versions_come_from_version_files_without_importing_the_packages() {
        let interpreter = python::default_python();
        if Command::new(&interpreter).arg("-c").arg("pass").output().is_err() {
            eprintln!("skipped: no {interpreter:?} on PATH");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for (package, version_py) in [
            ("torch", "from typing import Optional\n__version__ = '2.5.1+cu124'\ncuda: Optional[str] = '12.4'\n"),
            ("numpy", "version = '9.8.7'\n__version__ = version\n"),
        ] {
            let folder = dir.path().join(package);
            std::fs::create_dir(&folder).unwrap();
            std::fs::write(folder.join("__init__.py"), "raise RuntimeError('imported')\n").unwrap();
            std::fs::write(folder.join("version.py"), version_py).unwrap();
        }
        let options = ProbeOptions {
            python: Some(PathBuf::from(&interpreter)),
            python_env: vec![("PYTHONPATH".into(), dir.path().display().to_string())],
            ..ProbeOptions::default()
        };
        let read = probe(&options);
        assert_eq!(canonical(&read, "torch"), Some("name=torch;version=2.5.1;cuda=12.4"), "{:?}", read.notes);
        assert_eq!(canonical(&read, "cuda"), Some("name=cuda;version=12.4"));
        assert_eq!(canonical(&read, "numpy"), Some("name=numpy;version=9.8.7"));
        // Without version.py the package is imported, and its failure reported.
        std::fs::remove_file(dir.path().join("numpy/version.py")).unwrap();
        let imported = probe(&options);
        let numpy = imported.component("numpy").unwrap();
        assert!(matches!(&numpy.status, ProbeStatus::Unavailable(reason) if reason.contains("imported")), "{numpy:?}");
    }

    /// Compares with the reference package itself when `RAIIAF_REFERENCE_PYTHON` names a Python
    /// that has numpy and `raiiaf` 1.1.0; torch comes from the stand-in in tests/python.
    #[test]
    fn canonical_strings_match_the_reference_package() {
        let Some(reference_python) = std::env::var_os("RAIIAF_REFERENCE_PYTHON") else {
            eprintln!("skipped: RAIIAF_REFERENCE_PYTHON is not set");
            return;
        };
        let stand_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("python");
        let stand_in = stand_in.to_str().expect("UTF-8 path").to_owned();
        let script = "import json\n\
                      from raiiaf.chunks.env import raiiafEnv\n\
                      chunk = raiiafEnv().env_chunk_populator()\n\
                      rows = [[c.component_id, c.cononical_str, c.component_sha256_digest.hex()] for c in chunk.components]\n\
                      print(json.dumps(rows))";
        let output = Command::new(&reference_python)
            .args(["-c", script])
            .env("PYTHONPATH", &stand_in)
            .output()
            .expect("run the reference");
        assert!(output.status.success(), "reference failed: {}", String::from_utf8_lossy(&output.stderr));
        let reference: Vec<(String, String, String)> = serde_json::from_slice(&output.stdout).expect("reference JSON");

        let options = ProbeOptions {
            python: Some(PathBuf::from(&reference_python)),
            python_env: vec![("PYTHONPATH".to_owned(), stand_in)],
            ..ProbeOptions::default()
        };
        let ours = probe(&options).environment();
        // gpu is left out: the reference lists GPUs only under an inverted condition (see the module docs).
        let ids = ["torch", "numpy", "python", "cuda", "os"];
        let pick = |list: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
            list.into_iter().filter(|(id, _, _)| ids.contains(&id.as_str())).collect()
        };
        let ours = pick(ours.components.into_iter().map(|c| (c.component_id, c.canonical, c.digest)).collect());
        let reference = pick(reference);
        assert_eq!(ours.len(), ids.len(), "ours: {ours:?}");
        assert_eq!(ours, reference);
    }
}
