//! `raiiaf_workbench._native`: the workbench's library as Python objects. Glue only: every
//! parser, check, writer and report is the root crate's; what comes back to Python is JSON text
//! (turned into dicts by the Python layer), bytes, or numpy arrays that view the decoded values.
//! Every call that reads, decodes, packs or verifies runs with the GIL released.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use numpy::ndarray::{ArrayViewD, IxDyn};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use serde_json::{Map, Value, json};

use raiiaf_workbench::audit::compare::{self, Comparison};
use raiiaf_workbench::audit::folder::{self, FileRow, Summary, VerifyOptions};
use raiiaf_workbench::format::writer::{LatentCodec, PackLatent};
use raiiaf_workbench::format::{self, Environment, Inspection, Latent, LatentValues, Limits};
use raiiaf_workbench::pack::request::{self, MemoryPack, MetadataChoices};
use raiiaf_workbench::platform::FileInput;
use raiiaf_workbench::probe::ProbeOptions;

/// Rows a verification may hold ready beyond the one being read.
const ROWS_AHEAD: usize = 1024;

/// How often a waiting call looks for Ctrl-C (Python runs signal handlers only between calls).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn value_error(message: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(message.to_string())
}

/// `Limits` from a `{name: amount}` dict over the defaults; an unknown name is refused, so a
/// misspelt limit is not silently the default.
fn limits_from(limits: Option<&Bound<'_, PyDict>>) -> PyResult<Limits> {
    let Some(given) = limits else { return Ok(Limits::default()) };
    let Value::Object(mut fields) = serde_json::to_value(Limits::default()).map_err(value_error)? else {
        return Err(value_error("limits are not an object"));
    };
    let known: Vec<String> = fields.keys().cloned().collect();
    for (key, value) in given.iter() {
        let key: String = key.extract()?;
        let slot = fields
            .get_mut(&key)
            .ok_or_else(|| value_error(format!("unknown limit {key:?}; the limits are {known:?}")))?;
        let amount: u64 = value.extract()?;
        *slot = json!(amount);
    }
    serde_json::from_value(Value::Object(fields)).map_err(value_error)
}

/// One opened file: its inspection, kept whole so that latents can be viewed without a copy and
/// the info and HTML views made from it on demand.
#[pyclass(frozen, module = "raiiaf_workbench._native")]
struct NativeContainer {
    name: String,
    inspection: Inspection,
    limits: Limits,
}

#[pymethods]
impl NativeContainer {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// verdict, error, error_kind, format, file_size, header, manifest, environment, checks and
    /// each latent's key, shape, dtype and codec, as JSON: everything but the values and image.
    fn summary_json(&self) -> String {
        let inspection = &self.inspection;
        let latents: Vec<Value> = inspection
            .latents
            .iter()
            .map(|decoded| {
                let latent = &decoded.latent;
                json!({"key": latent.key(), "shape": latent.shape(), "dtype": latent.dtype().numpy_name(), "codec": decoded.codec.name()})
            })
            .collect();
        json_text(&json!({
            "verdict": inspection.verdict().name(),
            "error": inspection.fatal.as_ref().map(|e| e.to_string()),
            "error_kind": inspection.fatal.as_ref().map(|e| e.kind()),
            "format": inspection.format().map(|f| f.name()),
            "file_size": inspection.file_len,
            "header": inspection.header,
            "manifest": inspection.manifest,
            "environment": format::info::environment_json(inspection),
            "env_version": inspection.environment.as_ref().map(|environment| environment.env_version),
            "checks": inspection.report.checks,
            "latents": latents,
        }))
    }

    /// The latent at `index` as a numpy array of its stored dtype and shape, viewing the decoded
    /// values in place: the array keeps this container alive, and nothing ever changes them.
    fn latent<'py>(slf: Bound<'py, Self>, index: usize) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let decoded = this
            .inspection
            .latents
            .get(index)
            .ok_or_else(|| PyIndexError::new_err(format!("no latent at position {index}")))?;
        let latent: &Latent = &decoded.latent;
        let shape = IxDyn(latent.shape());
        let container = slf.clone().into_any();
        // SAFETY: the view points into a Vec owned by this frozen object, which is never mutated
        // or moved (a frozen pyclass has no &mut access), and the array holds a reference to the
        // object as its base, so the values outlive the array.
        let array = match latent.values() {
            LatentValues::F32(values) => {
                let view = ArrayViewD::from_shape(shape, values.as_slice()).map_err(value_error)?;
                unsafe { PyArrayDyn::<f32>::borrow_from_array(&view, container) }.into_any()
            }
            LatentValues::F16(values) => {
                let view = ArrayViewD::from_shape(shape, values.as_slice()).map_err(value_error)?;
                unsafe { PyArrayDyn::<half::f16>::borrow_from_array(&view, container) }.into_any()
            }
        };
        Ok(array)
    }

    /// The stored image's bytes, as stored (PNG for the reference), or None.
    fn image_bytes<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inspection.image.as_ref().map(|image| PyBytes::new(py, &image.bytes))
    }

    /// The image decoded to RGBA within the limits: (width, height, pixels row by row).
    fn image_rgba<'py>(&self, py: Python<'py>) -> PyResult<Option<(u32, u32, Bound<'py, PyBytes>)>> {
        let Some(image) = &self.inspection.image else { return Ok(None) };
        let limits = self.limits;
        let decoded = py.detach(|| format::picture::decode_rgba(&image.bytes, &limits)).map_err(value_error)?;
        Ok(Some((decoded.width(), decoded.height(), PyBytes::new(py, decoded.as_raw()))))
    }

    /// What `raiiaf info --json` prints for this file, as JSON.
    fn info_json(&self, py: Python<'_>) -> String {
        py.detach(|| json_text(&format::info::info_json(&self.name, &self.inspection)))
    }

    /// The notebook view: self-contained HTML.
    fn html(&self, py: Python<'_>) -> String {
        py.detach(|| raiiaf_workbench::notebook::container_html(&self.name, &self.inspection, &self.limits))
    }

    /// The row `raiiaf verify --report` writes for this file, as JSON.
    fn row_json(&self) -> PyResult<String> {
        serde_json::to_string(&FileRow::from_inspection(Path::new(&self.name), &self.inspection)).map_err(value_error)
    }
}

/// Opens and checks the file at `path` as `raiiaf info` does (a large file range by range).
#[pyfunction]
#[pyo3(signature = (path, limits=None))]
fn open_path(py: Python<'_>, path: PathBuf, limits: Option<&Bound<'_, PyDict>>) -> PyResult<NativeContainer> {
    let limits = limits_from(limits)?;
    let inspection = py.detach(|| format::inspect_path(&path, &limits));
    Ok(NativeContainer { name: path.display().to_string(), inspection, limits })
}

/// Opens and checks a file's bytes, called `name` in messages.
#[pyfunction]
#[pyo3(signature = (data, name, limits=None))]
fn open_bytes(
    py: Python<'_>,
    data: &[u8],
    name: String,
    limits: Option<&Bound<'_, PyDict>>,
) -> PyResult<NativeContainer> {
    let limits = limits_from(limits)?;
    let inspection = py.detach(|| format::inspect(data, &limits));
    Ok(NativeContainer { name, inspection, limits })
}

/// The `raiiaf verify --report` row for bytes called `name`, as JSON: the function a distributed
/// verifier maps over objects.
#[pyfunction]
#[pyo3(signature = (name, data, limits=None))]
fn verify_bytes(py: Python<'_>, name: String, data: &[u8], limits: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let limits = limits_from(limits)?;
    let row = py.detach(|| folder::check_bytes(Path::new(&name), data, &limits));
    serde_json::to_string(&row).map_err(value_error)
}

enum VerifyMessage {
    Row(String),
    Done(Summary),
}

/// A verification running on worker threads; its rows arrive in path order as it goes.
#[pyclass(module = "raiiaf_workbench._native")]
struct VerifyRun {
    rows: Mutex<Receiver<VerifyMessage>>,
    cancel: Arc<AtomicBool>,
    summary: Mutex<Option<Summary>>,
    found: usize,
}

impl Drop for VerifyRun {
    fn drop(&mut self) {
        // An abandoned run stops starting files.
        self.cancel.store(true, Ordering::SeqCst);
    }
}

#[pymethods]
impl VerifyRun {
    /// Files found to check.
    #[getter]
    fn found(&self) -> usize {
        self.found
    }

    /// Stops starting new files; rows already being checked still arrive.
    fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// The next row as JSON, or None once every row has arrived. Waits with the GIL released,
    /// and raises KeyboardInterrupt on Ctrl-C after cancelling the run.
    fn next_row(&self, py: Python<'_>) -> PyResult<Option<String>> {
        loop {
            let rows = &self.rows;
            let received = py.detach(|| rows.lock().unwrap_or_else(PoisonError::into_inner).recv_timeout(SIGNAL_POLL));
            match received {
                Ok(VerifyMessage::Row(row)) => return Ok(Some(row)),
                Ok(VerifyMessage::Done(summary)) => {
                    *self.summary.lock().unwrap_or_else(PoisonError::into_inner) = Some(summary);
                    return Ok(None);
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(interrupt) = py.check_signals() {
                        self.cancel();
                        return Err(interrupt);
                    }
                }
            }
        }
    }

    /// The run's counts as JSON (`found`, `checked`, `valid`, `invalid`, `unreadable`,
    /// `cancelled`) once its last row has been read, else None.
    fn summary_json(&self) -> Option<String> {
        let summary = *self.summary.lock().unwrap_or_else(PoisonError::into_inner);
        summary.and_then(|summary| serde_json::to_string(&summary).ok())
    }
}

/// Starts verifying `paths` (files, and the containers in folders) on `workers` threads (0: one
/// per core), as `raiiaf verify` does.
#[pyfunction]
#[pyo3(signature = (paths, recursive=false, workers=0, limits=None))]
fn verify_paths(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    recursive: bool,
    workers: usize,
    limits: Option<&Bound<'_, PyDict>>,
) -> PyResult<VerifyRun> {
    let limits = limits_from(limits)?;
    let targets = py.detach(|| folder::discover(&paths, recursive));
    let found = targets.len();
    let cancel = Arc::new(AtomicBool::new(false));
    // Bounded: a verifier running ahead of a slow reader waits instead of holding a million rows.
    let (sender, receiver) = mpsc::sync_channel(ROWS_AHEAD);
    let worker_cancel = Arc::clone(&cancel);
    std::thread::Builder::new()
        .name("raiiaf-verify".into())
        .spawn(move || {
            let options = VerifyOptions { jobs: workers, limits };
            let summary = folder::verify_targets(&targets, &options, &worker_cancel, |_, _, row| {
                let text = serde_json::to_string(&row).unwrap_or_else(|_| "null".into());
                if sender.send(VerifyMessage::Row(text)).is_err() {
                    // Nobody reads any more.
                    worker_cancel.store(true, Ordering::SeqCst);
                }
            });
            let _ = sender.send(VerifyMessage::Done(summary));
        })
        .map_err(|error| PyOSError::new_err(format!("cannot start the verifier: {error}")))?;
    Ok(VerifyRun { rows: Mutex::new(receiver), cancel, summary: Mutex::new(None), found })
}

/// What `raiiaf params --json` prints for an image file (one object), as JSON.
#[pyfunction]
#[pyo3(signature = (path, raw=false, limits=None))]
fn params_path(py: Python<'_>, path: PathBuf, raw: bool, limits: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let limits = limits_from(limits)?;
    Ok(py.detach(|| {
        let bytes = raiiaf_workbench::platform::read_within(&path, limits.max_image_bytes)
            .map_err(|e| format!("cannot read {}: {e}", path.display()));
        let name = path.display().to_string();
        json_text(&raiiaf_workbench::params::report::params_json(&name, bytes.as_deref().map_err(Clone::clone), raw).0)
    }))
}

/// The same for an image's bytes, called `name`.
#[pyfunction]
#[pyo3(signature = (data, name, raw=false))]
fn params_bytes(py: Python<'_>, data: &[u8], name: String, raw: bool) -> String {
    py.detach(|| json_text(&raiiaf_workbench::params::report::params_json(&name, Ok(data), raw).0))
}

fn file_input(item: &Bound<'_, PyAny>, name: &str) -> PyResult<FileInput> {
    if let Ok(bytes) = item.cast::<PyBytes>() {
        return Ok(FileInput::memory(name, bytes.as_bytes()));
    }
    Ok(FileInput::Path(item.extract::<PathBuf>()?))
}

/// What `raiiaf diff --json` prints for two files (paths, or bytes named by `a_name`/`b_name`).
#[pyfunction]
#[pyo3(signature = (a, b, a_name, b_name, all=false, limits=None))]
fn diff(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    a_name: String,
    b_name: String,
    all: bool,
    limits: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let limits = limits_from(limits)?;
    let (a, b) = (file_input(a, &a_name)?, file_input(b, &b_name)?);
    Ok(py.detach(|| {
        let (a_inspection, b_inspection) = compare::inspect_pair(&a, &b, &limits);
        json_text(&Comparison::of(&a_inspection, &b_inspection, &limits).to_json(all, &a_name, &b_name))
    }))
}

/// This machine's environment as `raiiaf env --json` prints it, asking `python` (this
/// interpreter, from the Python layer) for torch, numpy, python and cuda.
#[pyfunction]
#[pyo3(signature = (python=None))]
fn probe(py: Python<'_>, python: Option<PathBuf>) -> String {
    let options = ProbeOptions { python, ..ProbeOptions::default() };
    py.detach(|| json_text(&raiiaf_workbench::platform::probe_machine(&options).to_json()))
}

/// An array's values in C order: a C-contiguous array copied whole, any other (Fortran order,
/// strided views) element by element. (numpy's slice of a Fortran-ordered array is in its memory
/// order, which is not the latent's.)
fn c_order_values<T: numpy::Element + Copy>(array: &Bound<'_, PyArrayDyn<T>>) -> Vec<T> {
    let view = array.readonly();
    match (array.is_c_contiguous(), view.as_slice()) {
        (true, Ok(values)) => values.to_vec(),
        _ => view.as_array().iter().copied().collect(),
    }
}

/// A latent handed over for packing: its key, shape and values (one copy, into the writer's).
fn pack_latent(key: String, array: &Bound<'_, PyAny>, codec: LatentCodec, float16: bool) -> PyResult<PackLatent> {
    let (shape, values) = if let Ok(array) = array.cast::<PyArrayDyn<f32>>() {
        (array.shape().to_vec(), LatentValues::F32(c_order_values(array)))
    } else if let Ok(array) = array.cast::<PyArrayDyn<half::f16>>() {
        (array.shape().to_vec(), LatentValues::F16(c_order_values(array)))
    } else {
        return Err(value_error(format!("latent {key:?}: expected a float16 or float32 numpy array")));
    };
    let latent = Latent::new(key, shape, values).map_err(value_error)?;
    Ok(PackLatent { latent, codec, float16 })
}

/// Packs a container as `raiiaf pack` does and returns (its bytes, the manifest as JSON, the
/// lines for the user). `environment` is the ENVC snapshot as JSON (a probe's `environment`),
/// None for none, or a container whose snapshot to copy.
#[pyfunction]
#[pyo3(signature = (image, image_name, image_extra_json, latents, model_name, model_version, prompt, tags, settings_json, hardware_json, codec, float16, import_params, environment))]
#[allow(clippy::too_many_arguments)]
fn pack<'py>(
    py: Python<'py>,
    image: Option<&[u8]>,
    image_name: String,
    image_extra_json: Option<String>,
    latents: Vec<(String, Bound<'py, PyAny>)>,
    model_name: Option<String>,
    model_version: Option<String>,
    prompt: Option<String>,
    tags: Vec<String>,
    settings_json: Option<String>,
    hardware_json: Option<String>,
    codec: &str,
    float16: bool,
    import_params: bool,
    environment: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, String, Vec<String>)> {
    let codec: LatentCodec = codec.parse().map_err(value_error)?;
    let latents = latents
        .into_iter()
        .map(|(key, array)| pack_latent(key, &array, codec, float16))
        .collect::<PyResult<Vec<_>>>()?;
    let object = |name: &str, text: Option<String>| -> PyResult<Option<Map<String, Value>>> {
        match text.map(|text| serde_json::from_str::<Value>(&text)).transpose().map_err(value_error)? {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(value_error(format!("{name} must be a dict"))),
        }
    };
    let environment = if let Ok(container) = environment.cast::<NativeContainer>() {
        container.get().inspection.environment.clone().unwrap_or_else(|| Environment::new(Vec::new()))
    } else if environment.is_none() {
        Environment::new(Vec::new())
    } else {
        Environment::from_json_bytes(environment.extract::<String>()?.as_bytes()).map_err(value_error)?
    };
    let request = MemoryPack {
        image: image.map(<[u8]>::to_vec),
        image_name,
        image_extra: object("extra_image", image_extra_json)?.unwrap_or_default(),
        latents,
        choices: MetadataChoices {
            model_name,
            version: model_version,
            prompt,
            tags,
            settings: object("settings", settings_json)?,
            import_params,
        },
        hardware: object("hardware_info", hardware_json)?,
        environment,
    };
    let (packed, lines) = py.detach(|| request::pack_in_memory(request)).map_err(value_error)?;
    Ok((PyBytes::new(py, &packed.bytes), json_text(&packed.manifest), lines))
}

/// Writes `data` to `path` atomically (a temporary file beside it, then a rename), refusing to
/// replace a file unless `overwrite`.
#[pyfunction]
#[pyo3(signature = (path, data, overwrite=false))]
fn write_atomic(py: Python<'_>, path: PathBuf, data: &[u8], overwrite: bool) -> PyResult<()> {
    py.detach(|| format::write_atomic(&path, data, overwrite)).map_err(|error| PyOSError::new_err(error.to_string()))
}

/// The manifest in a META chunk's bytes, as JSON (the reference's `metadata_parser`).
#[pyfunction]
#[pyo3(signature = (chunk, limits=None))]
fn manifest_from_chunk(py: Python<'_>, chunk: &[u8], limits: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let limits = limits_from(limits)?;
    py.detach(|| format::reader::manifest_from_chunk(chunk, &limits))
        .map(|value| json_text(&value))
        .map_err(value_error)
}

/// Runs the `raiiaf` command line (`argv[0]` is the program's name) and returns its exit status:
/// the package's `raiiaf` command, the window included.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| raiiaf_workbench::cli::run_args(argv))
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    // A notebook opens many files in one process: the zfp decoder's threads start once, here.
    raiiaf_workbench::platform::start_zfp_threads();
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<NativeContainer>()?;
    module.add_class::<VerifyRun>()?;
    for function in [
        wrap_pyfunction!(open_path, module)?,
        wrap_pyfunction!(open_bytes, module)?,
        wrap_pyfunction!(verify_bytes, module)?,
        wrap_pyfunction!(verify_paths, module)?,
        wrap_pyfunction!(params_path, module)?,
        wrap_pyfunction!(params_bytes, module)?,
        wrap_pyfunction!(diff, module)?,
        wrap_pyfunction!(probe, module)?,
        wrap_pyfunction!(pack, module)?,
        wrap_pyfunction!(write_atomic, module)?,
        wrap_pyfunction!(manifest_from_chunk, module)?,
        wrap_pyfunction!(run_cli, module)?,
    ] {
        module.add_function(function)?;
    }
    Ok(())
}
