//! Verifying whole folders of files on all cores, streaming.
//!
//! [`discover`] lists the container files under some roots, [`verify_targets`] checks them on
//! worker threads and hands one [`FileRow`] per file to a callback in path order, and
//! [`ReportWriter`] streams those rows into a JSON or CSV report that appears atomically. Workers
//! keep only rows, never whole inspections, and may run at most a fixed window ahead of the
//! slowest file, so memory stays flat however many files there are.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, mpsc};
use std::time::Duration;

use serde_json::Value;

use crate::format::{self, EnvComponent, Inspection, Limits, Verdict};
use crate::platform::atomic::PartialFile;

/// Extensions of container files, matched without regard to case.
pub const CONTAINER_EXTENSIONS: [&str; 2] = ["raiiaf", "gen5"];

/// Columns of the CSV report, in order; the JSON report's rows have the same fields.
pub const CSV_COLUMNS: [&str; 8] =
    ["path", "valid", "verdict", "problems", "error", "model_name", "seed", "environment"];

/// Whether `path` names a container file by its extension.
pub fn is_container_file_name(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| CONTAINER_EXTENSIONS.iter().any(|known| extension.eq_ignore_ascii_case(known)))
}

// ---------------------------------------------------------------------------------------------
// Discovery.

/// One thing to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file to inspect (it may turn out missing or unreadable; the inspection says so).
    File(PathBuf),
    /// Something that cannot be inspected: a folder that could not be listed, or a container
    /// name on a FIFO or device, which opening could block on. It becomes an unreadable row.
    Unreadable { path: PathBuf, reason: String },
    /// A file already in memory (dropped on the web page); its name stands for the path.
    Memory { name: PathBuf, bytes: std::sync::Arc<[u8]> },
}

impl Target {
    pub fn path(&self) -> &Path {
        match self {
            Target::File(path) | Target::Unreadable { path, .. } | Target::Memory { name: path, .. } => path,
        }
    }

    /// A target for each file given, in their order: paths are inspected from disk.
    pub fn of_inputs(files: &[crate::platform::FileInput]) -> Vec<Target> {
        use crate::platform::FileInput;
        files
            .iter()
            .map(|file| match file {
                FileInput::Path(path) => Target::File(path.clone()),
                FileInput::Memory { name, bytes } => Target::Memory { name: PathBuf::from(name), bytes: bytes.clone() },
            })
            .collect()
    }
}

/// The targets under `roots`, sorted by path, each once. A root that is not a folder is always a
/// target, whatever its name, and so is a root that does not exist (its row says why). A folder
/// contributes its `.raiiaf` and `.gen5` files, and those of its subfolders when `recursive`.
/// Symlinks to files are included; symlinks to folders are not followed (a root given as one is),
/// so link loops cannot trap the walk. A folder that cannot be listed is an unreadable target.
pub fn discover(roots: &[PathBuf], recursive: bool) -> Vec<Target> {
    let mut targets = Vec::new();
    let mut folders = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(metadata) if metadata.is_dir() => folders.push(root.clone()),
            Ok(metadata) if !metadata.is_file() => {
                targets.push(Target::Unreadable { path: root.clone(), reason: "not a regular file".into() })
            }
            _ => targets.push(Target::File(root.clone())),
        }
        while let Some(folder) = folders.pop() {
            list_folder(&folder, recursive, &mut folders, &mut targets);
        }
    }
    targets.sort_by(|a, b| a.path().cmp(b.path()));
    targets.dedup_by(|later, earlier| later.path() == earlier.path());
    targets
}

/// Adds the container files of `folder` to `targets` and, when `recursive`, its real (not
/// symlinked) subfolders to `pending`.
fn list_folder(folder: &Path, recursive: bool, pending: &mut Vec<PathBuf>, targets: &mut Vec<Target>) {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) => {
            let reason = format!("cannot list the folder: {error}");
            return targets.push(Target::Unreadable { path: folder.to_path_buf(), reason });
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let reason = format!("listing the folder stopped: {error}");
                return targets.push(Target::Unreadable { path: folder.to_path_buf(), reason });
            }
        };
        let path = entry.path();
        // DirEntry::file_type does not follow symlinks, which is what keeps loops out.
        let Ok(file_type) = entry.file_type() else {
            if is_container_file_name(&path) {
                targets.push(Target::File(path));
            }
            continue;
        };
        if file_type.is_dir() {
            if recursive {
                pending.push(path);
            }
            continue;
        }
        if !is_container_file_name(&path) {
            continue;
        }
        // Follow a symlink only to learn whether it ends at a file; a broken one is reported.
        let is_file = if file_type.is_symlink() {
            match std::fs::metadata(&path) {
                Ok(metadata) if metadata.is_dir() => continue,
                Ok(metadata) => metadata.is_file(),
                Err(_) => true,
            }
        } else {
            file_type.is_file()
        };
        targets.push(if is_file {
            Target::File(path)
        } else {
            Target::Unreadable { path, reason: "not a regular file".into() }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Rows.

/// What the report says about one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRow {
    #[serde(serialize_with = "path_text")]
    pub path: PathBuf,
    pub valid: bool,
    pub verdict: Verdict,
    /// Codes of the failed checks, each once, in the order the checks ran.
    pub problems: Vec<String>,
    /// Why the file could not be read, when it could not.
    pub error: Option<String>,
    pub model_name: Option<String>,
    /// `model_info.generation_settings.seed`, when it is a non-negative integer.
    pub seed: Option<u64>,
    /// Component id to canonical string without its leading `name=<id>;`, in the file's order; a
    /// repeated id gets `#2`, `#3`, ... (`gpu`, `gpu#2`).
    #[serde(serialize_with = "pairs_as_map")]
    pub environment: Vec<(String, String)>,
    /// Checks run and failed, for the one-line summary; not report columns.
    #[serde(skip)]
    pub checks_run: usize,
    #[serde(skip)]
    pub checks_failed: usize,
}

/// Paths that are not UTF-8 are written lossily rather than failing the whole report.
fn path_text<S: serde::Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}

fn pairs_as_map<S: serde::Serializer>(pairs: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().map(|(key, value)| (key, value)))
}

impl FileRow {
    pub fn from_inspection(path: &Path, inspection: &Inspection) -> FileRow {
        let verdict = inspection.verdict();
        let mut problems: Vec<String> = Vec::new();
        for check in inspection.report.failures() {
            if !problems.iter().any(|code| code == check.code) {
                problems.push(check.code.to_string());
            }
        }
        let body = inspection.manifest_body();
        let field = |dotted: &str| body.and_then(|body| format::manifest::lookup(body, dotted));
        let components = inspection.environment.as_ref().map_or(&[][..], |environment| &environment.components);
        FileRow {
            path: path.to_path_buf(),
            valid: verdict == Verdict::Valid,
            verdict,
            problems,
            error: inspection.fatal.as_ref().map(|error| error.root().to_string()),
            model_name: field("model_info.model_name").and_then(Value::as_str).map(str::to_string),
            seed: field("model_info.generation_settings.seed").and_then(Value::as_u64),
            environment: environment_pairs(components),
            checks_run: inspection.report.checks.len(),
            checks_failed: inspection.report.failures().count(),
        }
    }

    /// A row for something that could not be inspected at all.
    pub fn unreadable(path: &Path, reason: impl Into<String>) -> FileRow {
        FileRow {
            path: path.to_path_buf(),
            valid: false,
            verdict: Verdict::Unreadable,
            problems: Vec::new(),
            error: Some(reason.into()),
            model_name: None,
            seed: None,
            environment: Vec::new(),
            checks_run: 0,
            checks_failed: 0,
        }
    }

    /// The third column of `raiiaf verify`'s line: the error, or how many checks failed and which.
    pub fn detail(&self) -> String {
        if let Some(error) = &self.error {
            return error.clone();
        }
        if self.checks_failed == 0 {
            format!("{} checks passed", self.checks_run)
        } else {
            format!("{} of {} checks failed: {}", self.checks_failed, self.checks_run, self.problems.join(", "))
        }
    }
}

/// The environment as report pairs (see [`FileRow::environment`]).
pub fn environment_pairs(components: &[EnvComponent]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(components.len());
    for component in components {
        let id = &component.component_id;
        let mut key = id.clone();
        let mut occurrence = 1;
        while pairs.iter().any(|(used, _)| *used == key) {
            occurrence += 1;
            key = format!("{id}#{occurrence}");
        }
        let canonical = &component.canonical;
        let prefix = format!("name={id}");
        let value = match canonical.strip_prefix(&prefix) {
            Some("") => "",
            Some(rest) => rest.strip_prefix(';').unwrap_or(canonical),
            None => canonical,
        };
        pairs.push((key, value.to_string()));
    }
    pairs
}

/// Inspects one target. A panic in the reader (a bug) costs that file, not the whole run.
pub fn check_target(target: &Target, limits: &Limits) -> FileRow {
    match target {
        Target::Unreadable { path, reason } => FileRow::unreadable(path, reason.clone()),
        Target::File(path) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            FileRow::from_inspection(path, &format::inspect_path(path, limits))
        }))
        .unwrap_or_else(|_| FileRow::unreadable(path, "internal error: the reader panicked on this file")),
        Target::Memory { name, bytes } => check_bytes(name, bytes, limits),
    }
}

/// The row for a file already in memory, called `name` (as [`check_target`] makes it): what a
/// distributed verifier maps over the objects of a bucket.
pub fn check_bytes(name: &Path, bytes: &[u8], limits: &Limits) -> FileRow {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        FileRow::from_inspection(name, &format::inspect(bytes, limits))
    }))
    .unwrap_or_else(|_| FileRow::unreadable(name, "internal error: the reader panicked on this file"))
}

// ---------------------------------------------------------------------------------------------
// The parallel verifier.

/// Counts over the rows delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Targets given to the verifier.
    pub found: usize,
    /// Rows delivered (fewer than `found` when cancelled).
    pub checked: usize,
    pub valid: usize,
    pub invalid: usize,
    pub unreadable: usize,
    pub cancelled: bool,
}

impl Summary {
    pub fn count(&mut self, row: &FileRow) {
        self.checked += 1;
        match row.verdict {
            Verdict::Valid => self.valid += 1,
            Verdict::Invalid => self.invalid += 1,
            Verdict::Unreadable => self.unreadable += 1,
        }
    }
    /// The most severe verdict delivered (valid when none was).
    pub fn worst(&self) -> Verdict {
        if self.unreadable > 0 {
            Verdict::Unreadable
        } else if self.invalid > 0 {
            Verdict::Invalid
        } else {
            Verdict::Valid
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    pub limits: Limits,
}

/// How far past the next row to deliver a worker may start a file, per worker: enough to keep
/// every worker busy behind one slow file, few enough that waiting rows stay a few kilobytes.
const LOOKAHEAD_PER_WORKER: usize = 8;

/// How often a worker waiting for the window re-reads the cancel flag, which nobody signals.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Sets a flag when dropped, so workers also stop when the delivering thread unwinds.
struct RaiseOnDrop<'a>(&'a AtomicBool);

impl Drop for RaiseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Checks `targets` on worker threads and calls `on_row(index, total, row)` on the calling thread
/// for each one, in the order of `targets` (index 0, 1, 2, ...). `cancel` is read between files:
/// once it is set, no new file is started, rows already finished in order are still delivered,
/// and the summary says `cancelled`. Blocks until done; run it on a thread of its own to keep a
/// window responsive.
pub fn verify_targets(
    targets: &[Target],
    options: &VerifyOptions,
    cancel: &AtomicBool,
    mut on_row: impl FnMut(usize, usize, FileRow),
) -> Summary {
    let total = targets.len();
    let requested = if options.jobs == 0 { crate::platform::cores() } else { options.jobs };
    let jobs = requested.clamp(1, total.max(1));
    let window = jobs * LOOKAHEAD_PER_WORKER;
    let next_target = AtomicUsize::new(0);
    let delivered = Mutex::new(0usize);
    let delivered_changed = Condvar::new();
    let stop = AtomicBool::new(false);
    let limits = options.limits;
    let mut summary = Summary { found: total, ..Summary::default() };
    // One job needs no thread, and where there are none (the browser) must not start one.
    if jobs == 1 {
        for (index, target) in targets.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let row = check_target(target, &limits);
            summary.count(&row);
            on_row(index, total, row);
        }
        summary.cancelled = summary.checked < total;
        return summary;
    }

    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, FileRow)>();
        for _ in 0..jobs {
            let sender = sender.clone();
            let (next_target, delivered, delivered_changed, stop) =
                (&next_target, &delivered, &delivered_changed, &stop);
            scope.spawn(move || {
                let halted = || cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed);
                while !halted() {
                    let index = next_target.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(index) else { break };
                    // The row at `delivered` is always held by some worker, which is inside the
                    // window, so waiting here cannot deadlock.
                    let mut done = delivered.lock().unwrap_or_else(PoisonError::into_inner);
                    while index >= *done + window && !halted() {
                        done =
                            delivered_changed.wait_timeout(done, CANCEL_POLL).unwrap_or_else(PoisonError::into_inner).0;
                    }
                    drop(done);
                    if halted() {
                        break;
                    }
                    if sender.send((index, check_target(target, &limits))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let _stop_workers_on_unwind = RaiseOnDrop(&stop);
        let mut waiting: BTreeMap<usize, FileRow> = BTreeMap::new();
        let mut next_out = 0;
        for (index, row) in receiver {
            waiting.insert(index, row);
            let before = next_out;
            while let Some(row) = waiting.remove(&next_out) {
                summary.count(&row);
                on_row(next_out, total, row);
                next_out += 1;
            }
            if next_out != before {
                *delivered.lock().unwrap_or_else(PoisonError::into_inner) = next_out;
                delivered_changed.notify_all();
            }
        }
    });
    summary.cancelled = summary.checked < total;
    summary
}

// ---------------------------------------------------------------------------------------------
// Reports.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `{"files": [row, ...], "summary": {...}}`, one row per line.
    Json,
    /// A header line of [`CSV_COLUMNS`], then one line per row.
    Csv,
}

impl ReportFormat {
    /// The format a report path's extension names (`.json` or `.csv`, any case).
    pub fn from_path(path: &Path) -> Result<ReportFormat, ReportError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Ok(ReportFormat::Json),
            Some("csv") => Ok(ReportFormat::Csv),
            _ => Err(ReportError::UnknownFormat { path: path.to_path_buf() }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: the report's name must end in .json or .csv")]
    UnknownFormat { path: PathBuf },
    #[error("cannot write the report {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Where a report's text goes, row by row: the partial file of a [`ReportWriter`], or memory.
enum Sink<W: Write> {
    Json(BufWriter<W>),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Sink<W> {
    /// Writes the report's opening.
    fn open(format: ReportFormat, out: W) -> io::Result<Sink<W>> {
        Ok(match format {
            ReportFormat::Json => {
                let mut out = BufWriter::new(out);
                out.write_all(b"{\n  \"files\": [")?;
                Sink::Json(out)
            }
            ReportFormat::Csv => {
                let mut out = Box::new(csv::Writer::from_writer(out));
                out.write_record(CSV_COLUMNS)?;
                Sink::Csv(out)
            }
        })
    }

    /// Writes row number `index` (from 0).
    fn row(&mut self, index: usize, row: &FileRow) -> io::Result<()> {
        match self {
            Sink::Json(out) => {
                out.write_all(if index == 0 { b"\n    " } else { b",\n    " })?;
                serde_json::to_writer(&mut *out, row).map_err(io::Error::from)
            }
            Sink::Csv(out) => out.write_record(csv_record(row)).map_err(io::Error::from),
        }
    }

    /// Writes the summary (JSON only; CSV has no place for it) after `rows` rows, and returns the
    /// writer, flushed.
    fn close(self, rows: usize, summary: &Summary) -> io::Result<W> {
        match self {
            Sink::Json(mut out) => {
                let close: &[u8] = if rows == 0 { b"],\n  \"summary\": " } else { b"\n  ],\n  \"summary\": " };
                out.write_all(close)?;
                serde_json::to_writer(&mut out, summary).map_err(io::Error::from)?;
                out.write_all(b"\n}\n")?;
                out.into_inner().map_err(|e| e.into_error())
            }
            Sink::Csv(mut out) => {
                out.flush()?;
                out.into_inner().map_err(|e| io::Error::new(e.error().kind(), e.error().to_string()))
            }
        }
    }
}

/// A whole report in memory, in the format its `name` ends with (what the browser downloads).
pub fn report_bytes(rows: &[FileRow], summary: &Summary, name: &str) -> Result<Vec<u8>, ReportError> {
    let path = Path::new(name);
    let io_error = |source| ReportError::Io { path: path.to_path_buf(), source };
    let mut sink = Sink::open(ReportFormat::from_path(path)?, Vec::new()).map_err(io_error)?;
    for (index, row) in rows.iter().enumerate() {
        sink.row(index, row).map_err(io_error)?;
    }
    sink.close(rows.len(), summary).map_err(io_error)
}

/// A report written row by row into a partial file beside its destination (see
/// [`crate::platform::atomic`]), which replaces the destination only when [`ReportWriter::finish`]
/// succeeds; dropped unfinished, it leaves nothing, and killed, the next write removes it.
pub struct ReportWriter {
    destination: PathBuf,
    partial: PartialFile,
    sink: Sink<File>,
    rows: usize,
}

impl ReportWriter {
    /// Creates the temporary file and writes the report's opening, so an unwritable folder is
    /// known before any file is checked.
    pub fn create(destination: &Path) -> Result<ReportWriter, ReportError> {
        let format = ReportFormat::from_path(destination)?;
        let io_error = |source| ReportError::Io { path: destination.to_path_buf(), source };
        let partial = PartialFile::create(destination).map_err(io_error)?;
        // A second handle on the same open file (and lock) for the buffered writers to own.
        let file = partial.file.try_clone().map_err(io_error)?;
        let sink = Sink::open(format, file).map_err(io_error)?;
        Ok(ReportWriter { destination: destination.to_path_buf(), partial, sink, rows: 0 })
    }

    pub fn destination(&self) -> &Path {
        &self.destination
    }

    pub fn write_row(&mut self, row: &FileRow) -> Result<(), ReportError> {
        let result = self.sink.row(self.rows, row);
        self.rows += 1;
        result.map_err(|source| ReportError::Io { path: self.destination.clone(), source })
    }

    /// Writes the summary (JSON only; CSV has no place for it), flushes the file to disk and
    /// moves it over the destination.
    pub fn finish(self, summary: &Summary) -> Result<(), ReportError> {
        let destination = self.destination;
        let io_error = |source| ReportError::Io { path: destination.clone(), source };
        // The sink's own handle on the file is closed, at the end of this block, before the rename.
        {
            let _sink_file = self.sink.close(self.rows, summary).map_err(io_error)?;
        }
        self.partial.commit(true).map_err(io_error)
    }
}

/// A row as CSV fields: problems joined with `;`, the environment as `id=value` joined with
/// ` | `, absent values empty. Text taken from files goes through [`spreadsheet_text`].
pub fn csv_record(row: &FileRow) -> [String; 8] {
    let environment: Vec<String> = row.environment.iter().map(|(id, value)| format!("{id}={value}")).collect();
    [
        spreadsheet_text(row.path.to_string_lossy().into_owned()),
        row.valid.to_string(),
        row.verdict.name().to_string(),
        row.problems.join(";"),
        spreadsheet_text(row.error.clone().unwrap_or_default()),
        spreadsheet_text(row.model_name.clone().unwrap_or_default()),
        row.seed.map(|seed| seed.to_string()).unwrap_or_default(),
        spreadsheet_text(environment.join(" | ")),
    ]
}

/// A CSV field that spreadsheets show as text. A file's model name such as `=HYPERLINK(…)` would
/// otherwise run as a formula when a curator opens the report (CSV injection); a leading `'` is
/// what spreadsheets read as "text follows" and hide. The JSON report keeps the exact text.
pub fn spreadsheet_text(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r', '|']) { format!("'{text}") } else { text }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

    use super::*;
    use crate::format::{Environment, LatentCodec, LatentValues, ModelInfo, PackLatent, PackRequest};
    use serde_json::json;

    fn packed(model: &str, seed: u64, components: Vec<EnvComponent>) -> Vec<u8> {
        let values = (0..64).map(|i| (i as f32 * 0.37 + seed as f32).sin()).collect();
        let latent = format::Latent::new("noise", vec![1, 4, 4, 4], LatentValues::F32(values)).unwrap();
        let settings = json!({"seed": seed, "steps": 20, "sampler": "euler"});
        let request = PackRequest {
            latents: vec![PackLatent { latent, codec: LatentCodec::Raw, float16: false }],
            model_info: ModelInfo {
                model_name: model.into(),
                version: "1".into(),
                date: "2025-01-01T00:00:00+00:00".into(),
                prompt: "p".into(),
                generation_settings: settings.as_object().cloned(),
                ..ModelInfo::default()
            },
            environment: Environment::new(components),
            ..PackRequest::default()
        };
        format::pack(&request).unwrap().bytes
    }

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn paths(targets: &[Target]) -> Vec<PathBuf> {
        targets.iter().map(|t| t.path().to_path_buf()).collect()
    }

    #[test]
    fn discovery_takes_container_extensions_in_any_case_and_descends_only_when_recursive() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in
            ["b.raiiaf", "a.GEN5", "c.RaIiAf", "notes.txt", "image.png", "raiiaf", "sub/d.raiiaf", "sub/deeper/e.gen5"]
        {
            write(&root.join(name), b"x");
        }
        std::fs::create_dir_all(root.join("folder.raiiaf")).unwrap(); // a folder, whatever its name
        write(&root.join("folder.raiiaf/f.raiiaf"), b"x");

        let flat = discover(&[root.to_path_buf()], false);
        assert_eq!(paths(&flat), vec![root.join("a.GEN5"), root.join("b.raiiaf"), root.join("c.RaIiAf")]);
        assert!(flat.iter().all(|t| matches!(t, Target::File(_))));

        let deep = discover(&[root.to_path_buf()], true);
        let expected: Vec<PathBuf> =
            ["a.GEN5", "b.raiiaf", "c.RaIiAf", "folder.raiiaf/f.raiiaf", "sub/d.raiiaf", "sub/deeper/e.gen5"]
                .iter()
                .map(|n| root.join(n))
                .collect();
        assert_eq!(paths(&deep), expected);
    }

    #[test]
    fn discovery_keeps_direct_files_and_missing_roots_and_removes_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("x/one.raiiaf"), b"x");
        write(&root.join("given.txt"), b"x");
        let missing = root.join("missing.raiiaf");
        let roots = vec![
            root.join("x"),
            root.to_path_buf(),
            root.join("x/one.raiiaf"),
            root.join("given.txt"),
            missing.clone(),
        ];
        let found = discover(&roots, true);
        assert_eq!(paths(&found), vec![root.join("given.txt"), missing.clone(), root.join("x/one.raiiaf")]);
        // The missing root is checked like any file and comes out unreadable.
        let row = check_target(&found[1], &Limits::default());
        assert_eq!(row.verdict, Verdict::Unreadable);
        // ENOENT and ERROR_FILE_NOT_FOUND are both 2.
        assert!(row.error.as_deref().unwrap_or("").contains("(os error 2)"), "{:?}", row.error);
    }

    #[cfg(unix)]
    #[test]
    fn discovery_does_not_follow_symlinked_folders_so_loops_end() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("a/file.raiiaf"), b"x");
        write(&root.join("elsewhere/target.raiiaf"), b"x");
        std::os::unix::fs::symlink(root, root.join("a/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("a/linked_folder.raiiaf")).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere/target.raiiaf"), root.join("a/linked_file.raiiaf")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("a/broken.raiiaf")).unwrap();
        let found = discover(&[root.join("a")], true);
        assert_eq!(
            paths(&found),
            vec![root.join("a/broken.raiiaf"), root.join("a/file.raiiaf"), root.join("a/linked_file.raiiaf")]
        );
        // A symlinked folder given as a root is followed: the user named it.
        assert_eq!(paths(&discover(&[root.join("a/loop")], false)), Vec::<PathBuf>::new());
        assert_eq!(
            paths(&discover(&[root.join("a/linked_folder.raiiaf")], false)),
            vec![root.join("a/linked_folder.raiiaf/target.raiiaf")]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_with_a_container_name_is_reported_without_being_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.raiiaf");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().map(|s| s.success()).unwrap_or(false);
        assert!(made, "mkfifo is needed for this test");
        let found = discover(&[dir.path().to_path_buf()], false);
        assert_eq!(found, vec![Target::Unreadable { path: fifo.clone(), reason: "not a regular file".into() }]);
        assert_eq!(discover(std::slice::from_ref(&fifo), false), found);
        assert_eq!(check_target(&found[0], &Limits::default()).verdict, Verdict::Unreadable);
    }

    #[test]
    fn a_folder_that_cannot_be_listed_becomes_an_unreadable_target() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let (mut pending, mut targets) = (Vec::new(), Vec::new());
        list_folder(&gone, true, &mut pending, &mut targets);
        assert!(pending.is_empty());
        match targets.as_slice() {
            [Target::Unreadable { path, reason }] => {
                assert_eq!(path, &gone);
                assert!(reason.starts_with("cannot list the folder"), "{reason}");
            }
            other => panic!("expected one unreadable target, got {other:?}"),
        }
    }

    #[test]
    fn a_row_carries_model_seed_environment_and_failed_codes() {
        let dir = tempfile::tempdir().unwrap();
        let components = vec![
            EnvComponent::new("torch", "name=torch;version=2.5.1;cuda=12.1"),
            EnvComponent::new("gpu", "name=gpu;model=A;driver=1"),
            EnvComponent::new("gpu", "name=gpu;model=B;driver=1"),
            EnvComponent::new("odd", "version=3"),
        ];
        let bytes = packed("sdxl", 1234, components);
        let path = dir.path().join("f.raiiaf");
        write(&path, &bytes);
        let row = check_target(&Target::File(path.clone()), &Limits::default());
        assert_eq!((row.valid, row.verdict), (true, Verdict::Valid));
        assert!(row.problems.is_empty() && row.error.is_none());
        assert_eq!(row.model_name.as_deref(), Some("sdxl"));
        assert_eq!(row.seed, Some(1234));
        let environment: Vec<(&str, &str)> = row.environment.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            environment,
            vec![
                ("torch", "version=2.5.1;cuda=12.1"),
                ("gpu", "model=A;driver=1"),
                ("gpu#2", "model=B;driver=1"),
                ("odd", "version=3")
            ]
        );
        assert_eq!(row.detail(), format!("{} checks passed", row.checks_run));

        // The same file with the last byte of its raw latent flipped.
        let inspection = format::inspect_path(&path, &Limits::default());
        let latent_record = inspection.records.iter().find(|r| r.kind == "LATN").unwrap();
        let (_, latent_end) = latent_record.span().unwrap();
        let mut damaged = bytes.clone();
        damaged[latent_end as usize - 1] ^= 0x40;
        write(&path, &damaged);
        let row = check_target(&Target::File(path.clone()), &Limits::default());
        let inspection = format::inspect_path(&path, &Limits::default());
        let mut codes: Vec<&str> = Vec::new();
        for check in inspection.report.failures() {
            if !codes.contains(&check.code) {
                codes.push(check.code);
            }
        }
        assert!(codes.contains(&format::verify::code::CHUNK_HASH), "{codes:?}");
        assert_eq!(row.verdict, Verdict::Invalid);
        assert_eq!(row.problems, codes);
        assert!(row.detail().ends_with(&codes.join(", ")), "{}", row.detail());

        write(&path, b"garbage");
        let row = check_target(&Target::File(path), &Limits::default());
        assert_eq!(row.verdict, Verdict::Unreadable);
        assert!(row.error.is_some() && row.model_name.is_none() && row.environment.is_empty());
    }

    #[test]
    fn repeated_ids_never_collide_with_ids_that_look_numbered() {
        let components = vec![
            EnvComponent::new("gpu", "name=gpu;a"),
            EnvComponent::new("gpu#2", "name=gpu#2"),
            EnvComponent::new("gpu", "name=gpu;b"),
        ];
        let keys: Vec<String> = environment_pairs(&components).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["gpu", "gpu#2", "gpu#3"]);
        assert_eq!(environment_pairs(&components)[1].1, "");
    }

    fn sample_row(path: &str, verdict: Verdict) -> FileRow {
        FileRow {
            path: PathBuf::from(path),
            valid: verdict == Verdict::Valid,
            verdict,
            problems: vec!["chunk.hash".into(), "layout.coverage".into()],
            error: Some("line one\nline \"two\", end".into()),
            model_name: Some("model, \"quoted\"".into()),
            seed: Some(u64::MAX),
            environment: vec![("torch".into(), "version=2;cuda=none".into()), ("gpu#2".into(), "model=x, y".into())],
            checks_run: 9,
            checks_failed: 2,
        }
    }

    #[test]
    fn csv_report_quotes_commas_quotes_and_newlines_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.csv");
        let rows = [
            sample_row("dir, with comma/\"q\"\nname.raiiaf", Verdict::Invalid),
            sample_row("plain.raiiaf", Verdict::Valid),
        ];
        let mut writer = ReportWriter::create(&report).unwrap();
        for row in &rows {
            writer.write_row(row).unwrap();
        }
        assert!(!report.exists(), "the report appears only when finished");
        writer.finish(&Summary::default()).unwrap();
        let text = std::fs::read_to_string(&report).unwrap();
        assert!(text.starts_with("path,valid,verdict,problems,error,model_name,seed,environment\n"), "{text}");
        assert!(text.contains("\"dir, with comma/\"\"q\"\"\nname.raiiaf\",false,invalid,"), "{text}");
        let mut reader = csv::Reader::from_path(&report).unwrap();
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), CSV_COLUMNS);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), rows.len());
        for (record, row) in records.iter().zip(&rows) {
            assert_eq!(
                record.iter().collect::<Vec<_>>(),
                csv_record(row).iter().map(String::as_str).collect::<Vec<_>>()
            );
            assert_eq!(&record[0], row.path.to_str().unwrap());
            assert_eq!(&record[3], "chunk.hash;layout.coverage");
            assert_eq!(&record[4], "line one\nline \"two\", end");
            assert_eq!(&record[6], u64::MAX.to_string());
            assert_eq!(&record[7], "torch=version=2;cuda=none | gpu#2=model=x, y");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("report.csv")]);
    }

    #[test]
    fn csv_fields_that_a_spreadsheet_would_run_as_formulas_are_marked_as_text() {
        let table = [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("|calc", "'|calc"),
            ("sd-1.5 = good", "sd-1.5 = good"),
            ("", ""),
            ("'already", "'already"),
        ];
        for (text, expected) in table {
            assert_eq!(spreadsheet_text(text.to_string()), expected, "{text:?}");
        }
        let mut row = sample_row("=cmd.raiiaf", Verdict::Unreadable);
        row.model_name = Some("=1+1".into());
        row.error = Some("@bad".into());
        row.environment = vec![("=x".into(), "y".into())];
        let fields = csv_record(&row);
        assert_eq!([&fields[0], &fields[4], &fields[5], &fields[7]], ["'=cmd.raiiaf", "'@bad", "'=1+1", "'=x=y"]);
        // The JSON report, read by programs, keeps the text as it is.
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["model_name"], "=1+1");
    }

    #[test]
    fn json_report_holds_rows_and_summary_and_an_unfinished_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.JSON");
        std::fs::write(&report, "old").unwrap();
        let rows = [sample_row("a.raiiaf", Verdict::Invalid), sample_row("b.raiiaf", Verdict::Unreadable)];
        let mut summary = Summary { found: 3, ..Summary::default() };
        let mut writer = ReportWriter::create(&report).unwrap();
        for row in &rows {
            writer.write_row(row).unwrap();
            summary.count(row);
        }
        writer.finish(&summary).unwrap();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let files = value["files"].as_array().unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[1]["verdict"], "unreadable");
        assert_eq!(files[0]["valid"], false);
        assert_eq!(files[0]["seed"], u64::MAX);
        assert_eq!(files[0]["environment"], json!({"torch": "version=2;cuda=none", "gpu#2": "model=x, y"}));
        let keys: Vec<&str> = files[0].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, CSV_COLUMNS);
        assert_eq!(
            value["summary"],
            json!({"found": 3, "checked": 2, "valid": 0, "invalid": 1, "unreadable": 1, "cancelled": false})
        );

        let empty = dir.path().join("empty.json");
        ReportWriter::create(&empty).unwrap().finish(&Summary::default()).unwrap();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&empty).unwrap()).unwrap();
        assert_eq!(value["files"], json!([]));

        let abandoned = dir.path().join("abandoned.json");
        let mut writer = ReportWriter::create(&abandoned).unwrap();
        writer.write_row(&rows[0]).unwrap();
        drop(writer);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(matches!(ReportFormat::from_path(Path::new("r.txt")), Err(ReportError::UnknownFormat { .. })));
        assert!(matches!(ReportWriter::create(Path::new("noextension")), Err(ReportError::UnknownFormat { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_still_makes_a_json_report() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.json");
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(b"bad\xffname.raiiaf"));
        let mut writer = ReportWriter::create(&report).unwrap();
        writer.write_row(&FileRow::unreadable(&path, "x")).unwrap();
        writer.finish(&Summary::default()).unwrap();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(value["files"][0]["path"], "bad\u{fffd}name.raiiaf");
    }

    /// Files of very different costs (large latents, tiny files, unreadable targets that need no
    /// reading) so workers finish out of order.
    fn mixed_targets(root: &Path, count: usize) -> Vec<Target> {
        let small = packed("m", 1, Vec::new());
        let mut targets = Vec::new();
        for i in 0..count {
            let path = root.join(format!("{i:04}.raiiaf"));
            match i % 5 {
                0 => {
                    let values = (0..(1 << 16)).map(|v| v as f32).collect();
                    let latent = format::Latent::new("big", vec![1, 4, 128, 128], LatentValues::F32(values)).unwrap();
                    let request = PackRequest {
                        latents: vec![PackLatent { latent, codec: LatentCodec::Zfp, float16: false }],
                        ..PackRequest::default()
                    };
                    write(&path, &format::pack(&request).unwrap().bytes);
                    targets.push(Target::File(path));
                }
                1 => targets.push(Target::Unreadable { path, reason: format!("reason {i}") }),
                2 => {
                    write(&path, &small[..small.len() / 2]);
                    targets.push(Target::File(path));
                }
                _ => {
                    write(&path, &small);
                    targets.push(Target::File(path));
                }
            }
        }
        targets
    }

    #[test]
    fn files_in_memory_give_the_rows_their_copies_on_disk_give() {
        let dir = tempfile::tempdir().unwrap();
        let on_disk: Vec<Target> =
            mixed_targets(dir.path(), 15).into_iter().filter(|t| matches!(t, Target::File(_))).collect();
        let inputs: Vec<crate::platform::FileInput> = on_disk
            .iter()
            .map(|t| crate::platform::FileInput::memory(t.path().to_string_lossy(), std::fs::read(t.path()).unwrap()))
            .collect();
        let in_memory = Target::of_inputs(&inputs);
        assert!(in_memory.iter().all(|t| matches!(t, Target::Memory { .. })));
        for jobs in [1, 2] {
            let options = VerifyOptions { jobs, ..VerifyOptions::default() };
            let mut rows = (Vec::new(), Vec::new());
            verify_targets(&on_disk, &options, &AtomicBool::new(false), |_, _, row| rows.0.push(row));
            let summary = verify_targets(&in_memory, &options, &AtomicBool::new(false), |_, _, row| rows.1.push(row));
            assert_eq!(rows.0, rows.1, "jobs {jobs}");
            assert!(summary.valid > 0 && summary.invalid + summary.unreadable > 0, "{summary:?}");
        }
    }

    #[test]
    fn parallel_rows_arrive_in_target_order_and_equal_the_sequential_ones() {
        let dir = tempfile::tempdir().unwrap();
        let targets = mixed_targets(dir.path(), 120);
        let sequential: Vec<FileRow> = targets.iter().map(|t| check_target(t, &Limits::default())).collect();
        for jobs in [1, 3, 8] {
            let mut rows = Vec::new();
            let options = VerifyOptions { jobs, ..VerifyOptions::default() };
            let summary = verify_targets(&targets, &options, &AtomicBool::new(false), |index, total, row| {
                assert_eq!((index, total), (rows.len(), targets.len()));
                rows.push(row);
            });
            assert_eq!(rows, sequential, "jobs {jobs}");
            let mut expected = Summary { found: targets.len(), ..Summary::default() };
            sequential.iter().for_each(|row| expected.count(row));
            assert_eq!(summary, expected);
            assert!(expected.valid > 0 && expected.invalid + expected.unreadable > 0);
        }
        let none = verify_targets(&[], &VerifyOptions::default(), &AtomicBool::new(false), |_, _, _| panic!("no rows"));
        assert_eq!(none, Summary::default());
    }

    #[test]
    fn cancelling_stops_new_files_and_keeps_delivered_rows_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let targets = mixed_targets(dir.path(), 200);
        let cancel = AtomicBool::new(false);
        let mut indexes = Vec::new();
        let options = VerifyOptions { jobs: 4, ..VerifyOptions::default() };
        let summary = verify_targets(&targets, &options, &cancel, |index, _, row| {
            assert_eq!(row.path, targets[index].path());
            indexes.push(index);
            if index == 9 {
                cancel.store(true, Ordering::SeqCst);
            }
        });
        assert!(summary.cancelled);
        assert_eq!(summary.checked, indexes.len());
        assert_eq!(indexes, (0..indexes.len()).collect::<Vec<_>>());
        // Only files already started when the flag was set can follow: at most the window.
        assert!(indexes.len() >= 10 && indexes.len() <= 10 + 4 * LOOKAHEAD_PER_WORKER, "{}", indexes.len());

        let cancelled_before = AtomicBool::new(true);
        let summary = verify_targets(&targets, &options, &cancelled_before, |_, _, _| panic!("no rows"));
        assert_eq!((summary.checked, summary.cancelled), (0, true));
    }

    #[test]
    fn a_panicking_callback_stops_the_workers_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let targets = mixed_targets(dir.path(), 100);
        let options = VerifyOptions { jobs: 3, ..VerifyOptions::default() };
        let outcome = std::panic::catch_unwind(|| {
            verify_targets(&targets, &options, &AtomicBool::new(false), |index, _, _| {
                assert!(index < 2, "deliberate");
            })
        });
        assert!(outcome.is_err());
    }
}
