//! The browser (`wasm32-unknown-unknown`): one thread, no files, no processes.

#[cfg(feature = "gui")]
pub mod instance;
#[cfg(feature = "gui")]
pub mod window;

pub const CAN_SEE_MACHINE: bool = false;

pub fn cores() -> usize {
    1
}

/// No threads in the page: the decoder is always serial.
pub fn zfp_threads_running() -> bool {
    false
}

pub fn start_zfp_threads() {}

pub fn zfp_execute<R>(run: impl FnOnce(zfp_rs::ZfpExecution) -> R) -> R {
    run(zfp_rs::ZfpExecution::Serial)
}

pub fn map_in_parallel<T, R>(items: Vec<T>, f: impl Fn(T) -> R) -> Vec<R> {
    items.into_iter().map(f).collect()
}

/// A web page cannot see the machine it runs on: no interpreter to ask, no NVML, no kernel
/// release. Every component says so, and the manifest's required `os` names the platform.
pub fn probe_machine(_options: &crate::probe::ProbeOptions) -> crate::probe::MachineProbe {
    use crate::probe::{MachineProbe, ProbeStatus, ProbedComponent};
    const REASON: &str = "a web page cannot see the machine it runs on";
    let components = ["torch", "numpy", "python", "cuda", "os"]
        .into_iter()
        .map(|id| ProbedComponent {
            component_id: id.to_owned(),
            status: ProbeStatus::Unavailable(REASON.to_owned()),
            canonical: None,
        })
        .collect();
    let mut hardware_info = serde_json::Map::new();
    hardware_info.insert("os".into(), serde_json::Value::from("web browser"));
    MachineProbe { components, notes: vec![REASON.to_owned()], hardware_info }
}

/// A page has no signals: nothing sets this.
pub fn interrupted() -> &'static std::sync::atomic::AtomicBool {
    static NEVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    &NEVER
}

pub fn stop_on_interrupt() {}

pub fn write_errors_instead_of_file_size_kills() {}
