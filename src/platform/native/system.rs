//! What Rust can read directly: the OS string, CPU, memory, host name and NVIDIA GPUs via NVML.

use nvml_wrapper::Nvml;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

const BYTES_PER_GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One NVIDIA GPU as NVML reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GpuInfo {
    pub name: String,
    /// Total framebuffer memory in GiB, rounded to 0.1; `None` when NVML could not say.
    pub memory_gb: Option<f64>,
}

/// Everything NVML told us, or why it could not.
#[derive(Debug, Clone, Default)]
pub(crate) struct NvmlReport {
    pub gpus: Vec<GpuInfo>,
    /// The system driver version, shared by every device (the reference puts it in each gpu string).
    pub driver: Option<String>,
    /// The CUDA version the driver supports, formatted `major.minor`, e.g. `12.4`.
    pub cuda_driver_version: Option<String>,
    pub notes: Vec<String>,
}

/// `{platform.system()} {platform.release()}` as Python computes it, or why it cannot be had.
///
/// Python's `platform.system()` is `uname().sysname` on Unix-likes, so it is mapped from the
/// compile-time target OS rather than from sysinfo's distribution name; `platform.release()` is
/// `uname().release`, which is what sysinfo's `kernel_version()` reads on Linux, macOS and the BSDs.
///
/// Windows caveat: Python's `platform.release()` is the marketing major version (`10`, `11`,
/// `2022Server`, ...) and which one depends on the Python version (Pythons before 3.12 say `10` on
/// Windows 11). We take the leading number of sysinfo's `os_version()` (`11 (22631)` gives `11`),
/// which agrees with recent Pythons on client editions and may differ on Server editions.
pub(crate) fn os_version_string() -> Result<String, String> {
    let system = python_platform_system();
    let release = if cfg!(windows) {
        let version = System::os_version().map_err(|e| format!("cannot read the Windows version: {e}"))?;
        version.split_whitespace().next().unwrap_or_default().to_owned()
    } else {
        System::kernel_version().map_err(|e| format!("cannot read the kernel release: {e}"))?
    };
    if release.is_empty() {
        return Err("the OS reported an empty release".to_owned());
    }
    Ok(format!("{system} {release}"))
}

/// What Python's `platform.system()` returns on this target.
fn python_platform_system() -> &'static str {
    match std::env::consts::OS {
        "linux" | "android" => "Linux",
        "macos" | "ios" => "Darwin",
        "windows" => "Windows",
        "freebsd" => "FreeBSD",
        "netbsd" => "NetBSD",
        "openbsd" => "OpenBSD",
        "dragonfly" => "DragonFly",
        "solaris" | "illumos" => "SunOS",
        other => other,
    }
}

/// Queries NVML once. A machine without the NVML library or without NVIDIA GPUs is normal: the
/// report then has no GPUs and a note saying why.
pub(crate) fn query_nvml() -> NvmlReport {
    let mut report = NvmlReport::default();
    let nvml = match Nvml::init() {
        Ok(nvml) => nvml,
        Err(error) => {
            report.notes.push(format!("no GPU information: NVML is not available ({error})"));
            return report;
        }
    };
    match nvml.sys_driver_version() {
        Ok(driver) => report.driver = Some(driver),
        Err(error) => report.notes.push(format!("NVML did not give the driver version ({error})")),
    }
    match nvml.sys_cuda_driver_version() {
        Ok(version) => {
            let major = nvml_wrapper::cuda_driver_version_major(version);
            let minor = nvml_wrapper::cuda_driver_version_minor(version);
            report.cuda_driver_version = Some(format!("{major}.{minor}"));
        }
        Err(error) => report.notes.push(format!("NVML did not give the CUDA driver version ({error})")),
    }
    let count = match nvml.device_count() {
        Ok(count) => count,
        Err(error) => {
            report.notes.push(format!("NVML did not give the GPU count ({error})"));
            return report;
        }
    };
    if count == 0 {
        report.notes.push("NVML found no GPU".to_owned());
    }
    for index in 0..count {
        let device = match nvml.device_by_index(index) {
            Ok(device) => device,
            Err(error) => {
                report.notes.push(format!("GPU {index}: NVML gave no handle ({error}); skipped"));
                continue;
            }
        };
        let name = match device.name() {
            Ok(name) => name,
            Err(error) => {
                report.notes.push(format!("GPU {index}: NVML gave no name ({error}); skipped"));
                continue;
            }
        };
        let memory_gb = device.memory_info().ok().map(|memory| round_to_tenth(memory.total as f64 / BYTES_PER_GIB));
        report.gpus.push(GpuInfo { name, memory_gb });
    }
    report
}

/// Host, CPU and memory facts for the manifest's `hardware_info`.
#[derive(Debug, Clone)]
pub(crate) struct HostFacts {
    pub machine_name: Option<String>,
    pub cpu_brand: Option<String>,
    /// Physical cores when known, else logical CPUs; at least 1.
    pub cpu_cores: u64,
    /// Total RAM in GiB rounded to 0.1; `None` when the OS reported none.
    pub ram_gb: Option<f64>,
    pub notes: Vec<String>,
}

pub(crate) fn host_facts() -> HostFacts {
    let mut notes = Vec::new();
    let machine_name = match System::host_name() {
        Ok(name) if !name.is_empty() => Some(name),
        Ok(_) => None,
        Err(error) => {
            notes.push(format!("no host name ({error})"));
            None
        }
    };
    let refresh =
        RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()).with_memory(MemoryRefreshKind::nothing().with_ram());
    let system = match System::new_with_specifics(refresh) {
        Ok(system) => Some(system),
        Err(error) => {
            notes.push(format!("no CPU or memory information ({error})"));
            None
        }
    };
    let cpus = system.as_ref().map(|s| s.cpus()).unwrap_or_default();
    let cpu_brand = cpus.first().map(|cpu| cpu.brand().trim().to_owned()).filter(|brand| !brand.is_empty());
    let logical =
        if cpus.is_empty() { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { cpus.len() };
    let cores = System::physical_core_count().ok().filter(|&n| n > 0).unwrap_or(logical).max(1);
    let ram_gb = system
        .as_ref()
        .map(|s| s.total_memory())
        .filter(|&bytes| bytes > 0)
        .map(|bytes| round_to_tenth(bytes as f64 / BYTES_PER_GIB));
    HostFacts { machine_name, cpu_brand, cpu_cores: cores as u64, ram_gb, notes }
}

fn round_to_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_one_decimal() {
        assert_eq!(round_to_tenth(15.549), 15.5);
        assert_eq!(round_to_tenth(15.55), 15.6);
        assert_eq!(round_to_tenth(31.0), 31.0);
    }

    #[test]
    fn host_facts_are_plausible() {
        let facts = host_facts();
        assert!(facts.cpu_cores >= 1);
        // Linux, Windows and macOS all report their memory (sysinfo reads /proc/meminfo,
        // GlobalMemoryStatusEx, sysctl): none at all there is a failure, not a skip.
        let ram = facts.ram_gb.expect("the system reported its total memory");
        assert!(ram > 0.0, "{ram}");
    }
}
