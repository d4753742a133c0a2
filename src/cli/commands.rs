//! What each subcommand does.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{PackArgs, ViewArgs, exit};
use crate::format::writer::{self, image_info};
use crate::format::{self, Environment, Limits, PackRequest, Verdict};

/// `println!` that ends the process when stdout cannot be written (see [`print_line`]).
macro_rules! out {
    ($($arg:tt)*) => {
        print_line(&format!($($arg)*))
    };
}

/// One line on stdout. When stdout has been closed (`raiiaf info F | head -1`) the process ends
/// with [`exit::BROKEN_PIPE`], and on any other write error with [`exit::FAILED`]: never with a
/// success it did not reach. Commands that keep a report use [`try_print_line`] instead.
pub fn print_line(text: &str) {
    if let Err(error) = try_print_line(text) {
        std::process::exit(i32::from(stdout_failure(&error)));
    }
}

/// One line on stdout, or why it could not be written.
pub fn try_print_line(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{text}")
}

/// The exit status for a failed write to stdout: [`exit::BROKEN_PIPE`] when its reader went
/// away, else [`exit::FAILED`] (said on stderr).
pub fn stdout_failure(error: &std::io::Error) -> u8 {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        exit::BROKEN_PIPE
    } else {
        eprintln!("raiiaf: cannot write to standard output: {error}");
        exit::FAILED
    }
}

pub(super) fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("raiiaf: {message}");
    exit::FAILED
}

pub fn view(args: ViewArgs, limits: Option<Limits>) -> u8 {
    if args.compare && args.files.len() != 2 {
        eprintln!("raiiaf: --compare needs exactly two files, {} given", args.files.len());
        return exit::USAGE;
    }
    let options = crate::gui::StartOptions {
        files: args.files,
        tab: args.tab,
        step: args.step,
        screenshot: args.screenshot,
        size: args.size,
        skip_probe: false,
        compare: args.compare,
        limits,
        urls: Vec::new(),
        timing: false,
    };
    match crate::gui::run(options) {
        Ok(()) => exit::OK,
        Err(error) => fail(format!("the window could not start: {error}")),
    }
}

fn text_value(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "-".into(),
    }
}

fn fmt_stat(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.4}"))
}

pub fn info(path: &Path, as_json: bool, limits: &Limits) -> u8 {
    let inspection = format::inspect_path(path, limits);
    let verdict = inspection.verdict();
    if as_json {
        let json = format::info::info_json(&path.to_string_lossy(), &inspection);
        out!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        return verdict.exit_code();
    }
    let passed = inspection.report.checks.iter().filter(|c| c.ok).count();
    let failed = inspection.report.checks.len() - passed;
    out!("{}: {} ({} bytes)", path.display(), verdict.name().to_uppercase(), inspection.file_len);
    if let Some(error) = &inspection.fatal {
        out!("  error: {error}");
    }
    if let Some(header) = &inspection.header {
        out!(
            "  format: {} {}.{}, {} chunks, table at {} ({} bytes)",
            header.format.name(),
            header.version_major,
            header.version_minor,
            header.chunk_count,
            header.chunk_table_offset,
            header.chunk_table_size
        );
    }
    if let Some(body) = inspection.manifest_body() {
        let get = |path: &str| text_value(format::manifest::lookup(body, path));
        out!("  model: {} {}", get("model_info.model_name"), get("model_info.version"));
        out!("  date: {}", get("model_info.date"));
        out!("  prompt: {}", get("model_info.prompt"));
        if let Some(settings) =
            format::manifest::lookup(body, "model_info.generation_settings").and_then(Value::as_object)
        {
            let pairs: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={}", text_value(Some(v)))).collect();
            out!("  settings: {}", pairs.join(", "));
        }
    }
    for decoded in &inspection.latents {
        let latent = &decoded.latent;
        let stats = latent.stats();
        out!(
            "  latent {:?}: {:?} {} {}, min {} max {} mean {} std {}",
            latent.key(),
            latent.shape(),
            latent.dtype().numpy_name(),
            decoded.codec.name(),
            fmt_stat(stats.min),
            fmt_stat(stats.max),
            fmt_stat(stats.mean),
            fmt_stat(stats.std)
        );
    }
    if let Some(image) = &inspection.image {
        match image_info(&image.bytes) {
            Some((name, w, h)) => out!("  image: {name} {w}x{h}, {} bytes", image.bytes.len()),
            None => out!("  image: {} bytes in an unrecognised format", image.bytes.len()),
        }
    }
    if let Some(environment) = &inspection.environment {
        for component in &environment.components {
            let mark = if component.digest_ok() { "" } else { "  [digest mismatch]" };
            out!("  env {}: {}{mark}", component.component_id, component.canonical);
        }
    }
    out!("  checks: {passed} passed, {failed} failed");
    for check in inspection.report.failures() {
        out!("    FAIL {} ({}): {}", check.code, check.location, check.message);
    }
    verdict.exit_code()
}

pub fn extract(path: &Path, output: &Path, force: bool, limits: &Limits) -> u8 {
    let inspection = format::inspect_path(path, limits);
    if let Some(error) = &inspection.fatal {
        eprintln!("raiiaf: {error}");
        return exit::UNREADABLE;
    }
    if let Err(error) = std::fs::create_dir_all(output) {
        return fail(format!("cannot create {}: {error}", output.display()));
    }
    let mut outputs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if let Some(image) = &inspection.image {
        let extension = match writer::image_format_name(&image.bytes) {
            Some("jpeg") => "jpg",
            Some(name) => name,
            None => "bin",
        };
        outputs.push((output.join(format!("image.{extension}")), image.bytes.clone()));
    }
    let mut used = std::collections::HashSet::new();
    for decoded in &inspection.latents {
        let stem = crate::npy::safe_file_stem(decoded.latent.key());
        let mut name = format!("{stem}.npy");
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{stem}_{n}.npy");
            n += 1;
        }
        match crate::npy::write_npy(&decoded.latent) {
            Ok(bytes) => outputs.push((output.join(name), bytes)),
            Err(error) => return fail(format!("cannot encode latent {:?}: {error}", decoded.latent.key())),
        }
    }
    if let Some(manifest) = &inspection.manifest {
        outputs.push((output.join("manifest.json"), pretty(manifest)));
    }
    if let Some(environment) = &inspection.environment {
        outputs.push((output.join("environment.json"), pretty(&serde_json::to_value(environment).unwrap_or_default())));
    }
    for (target, bytes) in &outputs {
        if let Err(error) = writer::write_atomic(target, bytes, force) {
            return fail(error);
        }
        out!("{}", target.display());
    }
    let verdict = inspection.verdict();
    if verdict != Verdict::Valid {
        eprintln!("raiiaf: note: {} is {}; run `raiiaf info` for the failed checks", path.display(), verdict.name());
    }
    exit::OK
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

/// Reads `JSON` or `@file` into a JSON object.
pub(super) fn json_object_arg(flag: &str, text: &str) -> Result<Map<String, Value>, String> {
    let source = match text.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file).map_err(|e| format!("{flag}: cannot read {file}: {e}"))?,
        None => text.to_string(),
    };
    match serde_json::from_str(&source) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("{flag}: expected a JSON object")),
        Err(e) => Err(format!("{flag}: not JSON: {e}")),
    }
}

pub(super) fn probe_options(python: Option<PathBuf>) -> crate::probe::ProbeOptions {
    crate::probe::ProbeOptions { python, ..Default::default() }
}

pub fn pack(args: &PackArgs, limits: &Limits) -> u8 {
    match pack_file(args, limits) {
        Ok(packed) => {
            if let Err(error) = format::write_atomic(&args.output, &packed.bytes, args.force) {
                return fail(error);
            }
            for latent in &packed.latents {
                out!(
                    "{}: {} {}, {} bytes stored for {} raw",
                    latent.key,
                    latent.codec.name(),
                    latent.dtype.numpy_name(),
                    latent.stored_bytes,
                    latent.raw_bytes
                );
            }
            out!("wrote {} ({} bytes)", args.output.display(), packed.bytes.len());
            exit::OK
        }
        Err(message) => fail(message),
    }
}

/// The file `args` describe, in memory. The environment probe (a Python process, NVML, system
/// facts: tens of milliseconds) runs while the inputs are read, checked and compressed; a
/// mistake in them is reported without waiting for it (the process then ends, and the probe
/// with it).
fn pack_file(args: &PackArgs, limits: &Limits) -> Result<format::Packed, String> {
    let options = probe_options(args.how.python.clone());
    let probe = std::thread::spawn(move || crate::platform::probe_machine(&options));
    let request = pack_request_without_environment(args, limits)?;
    let payload = writer::pack_payload(&request.latents, request.image.as_deref(), &request.image_extra)
        .map_err(|e| e.to_string())?;
    let probe = probe.join().map_err(|_| "the environment probe failed unexpectedly".to_string())?;
    let request = complete_pack_request(request, args, probe)?;
    writer::pack_with(payload, &request.model_info, &request.environment).map_err(|e| e.to_string())
}

/// The request from the command line and the input files, before the environment is known.
fn pack_request_without_environment(args: &PackArgs, limits: &Limits) -> Result<PackRequest, String> {
    let image = crate::platform::read_within(&args.image, limits.max_image_bytes)
        .map_err(|e| format!("cannot read {}: {e}", args.image.display()))?;
    let mut latents = Vec::new();
    for spec in &args.latents {
        let (mut found, notes) = crate::pack::request::latents_from_spec(spec, args.how.codec, args.how.f16, limits)
            .map_err(|e| e.to_string())?;
        for note in notes {
            eprintln!("raiiaf: note: {note}");
        }
        latents.append(&mut found);
    }
    let choices = args.how.metadata_choices()?;
    let metadata = crate::pack::request::metadata_for(&image, &args.image.display().to_string(), &choices)
        .map_err(|e| e.to_string())?;
    for line in &metadata.lines {
        let line =
            line.strip_prefix("note: ").map_or_else(|| format!("import: {line}"), |note| format!("note: {note}"));
        eprintln!("raiiaf: {line}");
    }
    Ok(PackRequest {
        latents,
        image: Some(image),
        image_extra: Map::new(),
        model_info: metadata.model_info,
        environment: Environment::new(Vec::new()),
    })
}

/// The request with this machine's environment, and its hardware unless `--hardware` gave it.
fn complete_pack_request(
    mut request: PackRequest,
    args: &PackArgs,
    probe: crate::probe::MachineProbe,
) -> Result<PackRequest, String> {
    for note in &probe.notes {
        eprintln!("raiiaf: note: {note}");
    }
    request.model_info.hardware_info = Some(args.how.hardware_info(&probe)?);
    request.environment = probe.environment();
    Ok(request)
}

pub fn env(as_json: bool, python: Option<PathBuf>) -> u8 {
    let probe = crate::platform::probe_machine(&probe_options(python));
    if as_json {
        out!("{}", serde_json::to_string_pretty(&probe.to_json()).unwrap_or_default());
        return exit::OK;
    }
    for component in probe.environment().components {
        out!("{:<8} {}", component.component_id, component.canonical);
    }
    for component in &probe.components {
        if component.canonical.is_none() {
            out!("{:<8} ({})", component.component_id, component.status_text());
        }
    }
    out!("hardware: {}", Value::Object(probe.hardware_info.clone()));
    for note in &probe.notes {
        out!("note: {note}");
    }
    exit::OK
}
