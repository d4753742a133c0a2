//! Latent files in and out: `.npy` (through the `npyz` crate), `.npz` archives (one latent per
//! array) and ComfyUI's `.latent` files (safetensors holding `latent_tensor`).

use half::f16;
use npyz::WriterBuilder;

use crate::format::latent::le_words;
use crate::format::{Latent, LatentValues, Limits};

/// A tensor read from a `.npy` file, ready to pack.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyTensor {
    pub shape: Vec<usize>,
    pub values: LatentValues,
    /// Conversions made on the way in that the user should know about.
    pub notes: Vec<String>,
}

/// A file name made from a latent key: letters, digits, `-`, `_` and `.` kept, the rest `_`.
pub fn safe_file_stem(key: &str) -> String {
    let stem: String =
        key.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() { "latent".into() } else { stem.to_string() }
}

/// The largest `.npy` header numpy itself reads (`np.load`'s default `max_header_size`).
const MAX_NPY_HEADER_BYTES: usize = 10_000;

/// Why a latent file could not be imported; the message says where and what.
#[derive(Debug, thiserror::Error)]
pub enum LatentFileError {
    #[error("not a .npy file (no \\x93NUMPY magic)")]
    NotNpy,
    #[error("unsupported .npy version {0:?}")]
    NpyVersion(Option<u8>),
    #[error("truncated .npy header")]
    TruncatedHeader,
    #[error("the .npy header is {length} bytes, over numpy's own limit of {limit}")]
    HeaderTooLong { length: usize, limit: usize },
    #[error("the .npy header nests brackets too deeply to be an array header")]
    HeaderTooDeep,
    /// npyz's own account of a header it cannot read.
    #[error("not a readable .npy file: {0}")]
    UnreadableNpy(String),
    #[error("truncated: shape {shape:?} needs {needed} bytes of data, the file has {available}")]
    Truncated { shape: Vec<u64>, needed: u64, available: u64 },
    #[error("structured .npy arrays are not latents")]
    Structured,
    #[error("could not read the array data: {0}")]
    Data(std::io::Error),
    #[error("dtype {0} is not float16, float32 or float64")]
    Dtype(String),
    #[error("array of {rank} dimensions is over the limit of {limit}")]
    TooManyDimensions { rank: usize, limit: usize },
    #[error("array of shape {shape:?} is over the limit of {limit} values (--max-latent-elements)")]
    TooManyValues { shape: Vec<u64>, limit: u64 },
    #[error("dimension {0} is too large")]
    DimensionTooLarge(u64),
    #[error("the Fortran-order array could not be reordered: {0}")]
    Reorder(String),
    #[error("not a readable .npz file: {0}")]
    UnreadableNpz(String),
    #[error("the .npz archive holds no arrays")]
    EmptyNpz,
    /// The zip archive's own account of a member it cannot read.
    #[error("{0}")]
    Zip(String),
    #[error("array {name:?}: inflates past {cap} bytes, more than the latent limit allows")]
    MemberTooLarge { name: String, cap: u64 },
    #[error("array {name:?}: {source}")]
    Member { name: String, source: Box<LatentFileError> },
    #[error("not a readable safetensors file: {0}")]
    UnreadableSafetensors(String),
    #[error("no {COMFYUI_LATENT_TENSOR:?} among the tensors {names:?}")]
    NoLatentTensor { names: Vec<String> },
    /// safetensors' own account of a tensor it cannot give.
    #[error("{0}")]
    Tensor(String),
    #[error("tensor {name:?} has dtype {dtype}, not a float type")]
    TensorDtype { name: String, dtype: String },
    #[error("not a .npy, .npz or .latent file")]
    UnknownKind,
    #[error("{name}: {source}")]
    InFile { name: String, source: Box<LatentFileError> },
    #[error("{path}: cannot read it: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: holds {count} arrays, each keyed by its name; give it as FILE, not {key}=FILE")]
    KeyForSeveral { path: String, count: usize, key: String },
}

type Result<T> = std::result::Result<T, LatentFileError>;

/// Brackets deeper than this are no plain array's header (`{'shape': (..)}` is two deep; a
/// structured dtype, refused anyway, a few more). Checked before npyz parses the header, whose
/// parser slows down exponentially on deeply nested brackets (found by the `npy` fuzz target).
const MAX_NPY_HEADER_NESTING: usize = 8;

/// Reads float16/32/64 arrays in either byte order and either memory order; float64 becomes
/// float32 (noted), Fortran order becomes C order. Refuses arrays over the limits, and data shorter
/// than the shape needs, before allocating for the values.
pub fn read_npy(bytes: &[u8], limits: &Limits) -> Result<NpyTensor> {
    let data_offset = npy_data_offset(bytes)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|e| LatentFileError::UnreadableNpy(e.to_string()))?;
    let shape = checked_shape(npy.shape(), limits)?;
    let item_size = npy.dtype().num_bytes().map_or(1, |n| n as u64);
    let needed = npy.shape().iter().try_fold(item_size, |acc, &d| acc.checked_mul(d)).unwrap_or(u64::MAX);
    let available = bytes.len().saturating_sub(data_offset) as u64;
    if needed > available {
        return Err(LatentFileError::Truncated { shape: npy.shape().to_vec(), needed, available });
    }
    tensor_of_npy(npy, shape)
}

/// Where the array data starts, after checking the header's length and nesting.
fn npy_data_offset(bytes: &[u8]) -> Result<usize> {
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(LatentFileError::NotNpy);
    }
    let (header_start, header_len) = match bytes.get(6) {
        Some(1) => (10, bytes.get(8..).and_then(|b| b.first_chunk::<2>()).map(|b| usize::from(u16::from_le_bytes(*b)))),
        Some(2 | 3) => (
            12,
            bytes
                .get(8..)
                .and_then(|b| b.first_chunk::<4>())
                .and_then(|b| usize::try_from(u32::from_le_bytes(*b)).ok()),
        ),
        other => return Err(LatentFileError::NpyVersion(other.copied())),
    };
    let header_len = header_len.ok_or(LatentFileError::TruncatedHeader)?;
    if header_len > MAX_NPY_HEADER_BYTES {
        return Err(LatentFileError::HeaderTooLong { length: header_len, limit: MAX_NPY_HEADER_BYTES });
    }
    let header = bytes.get(header_start..header_start + header_len).ok_or(LatentFileError::TruncatedHeader)?;
    let mut depth = 0usize;
    for &byte in header {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NPY_HEADER_NESTING {
                    return Err(LatentFileError::HeaderTooDeep);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(header_start + header_len)
}

fn tensor_of_npy<R: std::io::Read>(npy: npyz::NpyFile<R>, shape: Vec<usize>) -> Result<NpyTensor> {
    let fortran = npy.order() == npyz::Order::Fortran;
    let npyz::DType::Plain(type_str) = npy.dtype() else {
        return Err(LatentFileError::Structured);
    };
    let mut notes = Vec::new();
    let io = LatentFileError::Data;
    let values = match (type_str.type_char(), type_str.size_field()) {
        (npyz::TypeChar::Float, 2) => LatentValues::F16(npy.into_vec::<f16>().map_err(io)?),
        (npyz::TypeChar::Float, 4) => LatentValues::F32(npy.into_vec::<f32>().map_err(io)?),
        (npyz::TypeChar::Float, 8) => {
            notes.push(FLOAT64_NOTE.into());
            LatentValues::F32(npy.into_vec::<f64>().map_err(io)?.into_iter().map(|x| x as f32).collect())
        }
        _ => return Err(LatentFileError::Dtype(type_str.to_string())),
    };
    let values = if fortran && shape.len() > 1 {
        notes.push("Fortran-order array converted to C order".into());
        to_c_order(&shape, values)?
    } else {
        values
    };
    Ok(NpyTensor { shape, values, notes })
}

const FLOAT64_NOTE: &str = "float64 array stored as float32 (the format stores float16 or float32)";

/// The shape as `usize`s, refused when it has more values or dimensions than the limits allow.
fn checked_shape(shape: &[u64], limits: &Limits) -> Result<Vec<usize>> {
    if shape.len() > limits.max_rank {
        return Err(LatentFileError::TooManyDimensions { rank: shape.len(), limit: limits.max_rank });
    }
    let elements = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).unwrap_or(u64::MAX);
    if elements > limits.max_latent_elements {
        return Err(LatentFileError::TooManyValues { shape: shape.to_vec(), limit: limits.max_latent_elements });
    }
    shape.iter().map(|&d| usize::try_from(d).map_err(|_| LatentFileError::DimensionTooLarge(d))).collect()
}

pub fn read_npz(bytes: &[u8], limits: &Limits) -> Result<Vec<(String, NpyTensor)>> {
    let mut archive = npyz::npz::NpzArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| LatentFileError::UnreadableNpz(e.to_string()))?;
    let zip = archive.zip_archive();
    let members: Vec<(String, String)> = (0..zip.len())
        .filter_map(|index| {
            let entry = zip.by_index_raw(index).ok()?;
            let name = npyz::npz::array_name_from_file_name(entry.name())?;
            Some((name.to_string(), entry.name().to_string()))
        })
        .collect();
    if members.is_empty() {
        return Err(LatentFileError::EmptyNpz);
    }
    // A member is read whole (it is one array) but never past what the limits allow: a deflated
    // member can claim any size and inflate to far more than the archive.
    let cap = limits.max_latent_elements.saturating_mul(8).saturating_add(MAX_NPY_HEADER_BYTES as u64 + 64);
    let mut tensors = Vec::with_capacity(members.len());
    for (name, file_name) in members {
        let in_member =
            |source: LatentFileError| LatentFileError::Member { name: name.clone(), source: Box::new(source) };
        let member = zip.by_name(&file_name).map_err(|e| in_member(LatentFileError::Zip(e.to_string())))?;
        let mut member_bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(member, cap.saturating_add(1)), &mut member_bytes)
            .map_err(|e| in_member(LatentFileError::Zip(e.to_string())))?;
        if member_bytes.len() as u64 > cap {
            return Err(LatentFileError::MemberTooLarge { name, cap });
        }
        let tensor = read_npy(&member_bytes, limits).map_err(in_member)?;
        tensors.push((name, tensor));
    }
    Ok(tensors)
}

const COMFYUI_LATENT_TENSOR: &str = "latent_tensor";
/// The marker tensor ComfyUI adds since it stopped scaling saved latents.
const COMFYUI_FORMAT_MARKER: &str = "latent_format_version_0";

/// A ComfyUI `.latent` file: the `latent_tensor` of a safetensors file (or its only tensor).
pub fn read_comfyui_latent(bytes: &[u8], limits: &Limits) -> Result<NpyTensor> {
    use safetensors::{Dtype as St, SafeTensors};
    let file = SafeTensors::deserialize(bytes).map_err(|e| LatentFileError::UnreadableSafetensors(e.to_string()))?;
    let names = file.names();
    let name = if names.contains(&COMFYUI_LATENT_TENSOR) {
        COMFYUI_LATENT_TENSOR.to_string()
    } else {
        let candidates: Vec<&&str> = names.iter().filter(|n| **n != COMFYUI_FORMAT_MARKER).collect();
        match candidates.as_slice() {
            [only] => only.to_string(),
            _ => {
                return Err(LatentFileError::NoLatentTensor { names: names.iter().map(|n| n.to_string()).collect() });
            }
        }
    };
    let view = file.tensor(&name).map_err(|e| LatentFileError::Tensor(e.to_string()))?;
    let shape = checked_shape(&view.shape().iter().map(|&d| d as u64).collect::<Vec<_>>(), limits)?;
    let data = view.data();
    let mut notes = Vec::new();
    let values = match view.dtype() {
        St::F32 => LatentValues::F32(le_words(data).map(f32::from_le_bytes).collect()),
        St::F16 => LatentValues::F16(le_words(data).map(f16::from_le_bytes).collect()),
        St::BF16 => {
            notes.push("bfloat16 tensor stored as float32 (exact)".into());
            LatentValues::F32(le_words(data).map(|w| half::bf16::from_le_bytes(w).to_f32()).collect())
        }
        St::F64 => {
            notes.push(FLOAT64_NOTE.into());
            LatentValues::F32(le_words(data).map(|w| f64::from_le_bytes(w) as f32).collect())
        }
        other => return Err(LatentFileError::TensorDtype { name, dtype: format!("{other:?}") }),
    };
    if !names.contains(&COMFYUI_FORMAT_MARKER) {
        notes.push(format!(
            "no {COMFYUI_FORMAT_MARKER:?} marker: an older ComfyUI .latent, whose values ComfyUI divides by 0.18215 \
             when it loads them; stored here as saved"
        ));
    }
    Ok(NpyTensor { shape, values, notes })
}

/// Kinds of latent file this program imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatentFileKind {
    Npy,
    Npz,
    ComfyUiLatent,
}

impl LatentFileKind {
    /// The kind a file's first bytes show (`.npy` magic, a zip archive, a safetensors header),
    /// else the kind its extension names.
    pub fn detect(path: &std::path::Path, bytes: &[u8]) -> Option<LatentFileKind> {
        if bytes.starts_with(b"\x93NUMPY") {
            return Some(LatentFileKind::Npy);
        }
        if bytes.starts_with(b"PK\x03\x04") {
            return Some(LatentFileKind::Npz);
        }
        if bytes.get(8) == Some(&b'{') {
            return Some(LatentFileKind::ComfyUiLatent);
        }
        LatentFileKind::from_extension(path)
    }
    /// Extensions of the files this program imports latents from.
    pub const EXTENSIONS: [&str; 4] = ["npy", "npz", "latent", "safetensors"];
    /// The kind a path's extension names.
    pub fn from_extension(path: &std::path::Path) -> Option<LatentFileKind> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "npy" => Some(LatentFileKind::Npy),
            "npz" => Some(LatentFileKind::Npz),
            "latent" | "safetensors" => Some(LatentFileKind::ComfyUiLatent),
            _ => None,
        }
    }
}

/// The latents a command-line spec names: `FILE`, or `KEY=FILE` for a file holding one latent.
pub fn read_latent_spec(spec: &str, limits: &Limits) -> Result<Vec<(String, NpyTensor)>> {
    let whole = std::path::Path::new(spec);
    let (key, path) = match spec.split_once('=') {
        Some((key, file)) if !whole.exists() => (Some(key), std::path::Path::new(file)),
        _ => (None, whole),
    };
    let mut latents = read_latent_file(path, limits)?;
    match (key, latents.as_mut_slice()) {
        (None, _) => {}
        (Some(key), [(only, _)]) => *only = key.to_string(),
        (Some(key), _) => {
            return Err(LatentFileError::KeyForSeveral {
                path: path.display().to_string(),
                count: latents.len(),
                key: key.to_string(),
            });
        }
    }
    Ok(latents)
}

/// The latents in a file, each with a key: the file stem for `.npy` and `.latent`, the array
/// name for each array of an `.npz`.
pub fn read_latent_file(path: &std::path::Path, limits: &Limits) -> Result<Vec<(String, NpyTensor)>> {
    // Room for two latents at the limit of 8-byte values, and headers: a larger file (or a device
    // that never ends) is refused, not read whole.
    let cap = limits.max_latent_elements.saturating_mul(16).saturating_add(1 << 20);
    match crate::platform::read_within(path, cap) {
        Ok(bytes) => read_latent_bytes(&path.display().to_string(), &bytes, limits),
        Err(source) => Err(LatentFileError::Read { path: path.display().to_string(), source }),
    }
}

/// The latents of a latent file's bytes; `name` (a path or a file name) gives the kind when the
/// bytes do not, the key of a `.npy` or `.latent` (its stem), and the errors' prefix.
pub fn read_latent_bytes(name: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<(String, NpyTensor)>> {
    let path = std::path::Path::new(name);
    let read = || {
        let stem = path.file_stem().map_or_else(|| "latent".to_string(), |s| s.to_string_lossy().into_owned());
        match LatentFileKind::detect(path, bytes) {
            Some(LatentFileKind::Npy) => Ok(vec![(stem, read_npy(bytes, limits)?)]),
            Some(LatentFileKind::Npz) => read_npz(bytes, limits),
            Some(LatentFileKind::ComfyUiLatent) => Ok(vec![(stem, read_comfyui_latent(bytes, limits)?)]),
            None => Err(LatentFileError::UnknownKind),
        }
    };
    read().map_err(|source| LatentFileError::InFile { name: name.to_string(), source: Box::new(source) })
}

fn to_c_order(shape: &[usize], values: LatentValues) -> Result<LatentValues> {
    use ndarray::{ArrayD, IxDyn, ShapeBuilder};
    fn convert<T: Clone>(shape: &[usize], data: Vec<T>) -> Result<Vec<T>> {
        let array =
            ArrayD::from_shape_vec(IxDyn(shape).f(), data).map_err(|e| LatentFileError::Reorder(e.to_string()))?;
        Ok(array.as_standard_layout().iter().cloned().collect())
    }
    Ok(match values {
        LatentValues::F32(v) => LatentValues::F32(convert(shape, v)?),
        LatentValues::F16(v) => LatentValues::F16(convert(shape, v)?),
    })
}

/// A latent as `.npy` bytes in its stored dtype, C order.
pub fn write_npy(latent: &Latent) -> std::io::Result<Vec<u8>> {
    let shape: Vec<u64> = latent.shape().iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    match latent.values() {
        LatentValues::F32(values) => {
            let mut writer = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut out).begin_nd()?;
            writer.extend(values.iter().copied())?;
            writer.finish()?;
        }
        LatentValues::F16(values) => {
            let mut writer = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut out).begin_nd()?;
            writer.extend(values.iter().copied())?;
            writer.finish()?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_npy_reads_back_identically() {
        for values in
            [LatentValues::F32(vec![1.0, -2.5, 3.25, 0.0, 7.0, -0.0]), LatentValues::F32(vec![0.5; 6]).to_f16()]
        {
            let latent = Latent::new("x", vec![2, 3], values.clone()).unwrap();
            let tensor = read_npy(&write_npy(&latent).unwrap(), &Limits::default()).unwrap();
            assert_eq!(tensor.shape, vec![2, 3]);
            assert_eq!(tensor.values, values);
            assert!(tensor.notes.is_empty());
        }
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        // A 2x3 array [[0,1,2],[3,4,5]] stored column-major is 0,3,1,4,2,5.
        let mut bytes = Vec::new();
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 3])
            .order(npyz::Order::Fortran)
            .writer(&mut bytes)
            .begin_nd()
            .unwrap();
        writer.extend([0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0]).unwrap();
        writer.finish().unwrap();
        let tensor = read_npy(&bytes, &Limits::default()).unwrap();
        assert_eq!(tensor.values, LatentValues::F32(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]));
        assert_eq!(tensor.notes.len(), 2, "{:?}", tensor.notes);
    }

    #[test]
    fn integer_arrays_are_refused() {
        let mut bytes = Vec::new();
        let mut writer = npyz::WriteOptions::new().default_dtype().shape(&[2]).writer(&mut bytes).begin_nd().unwrap();
        writer.extend([1i32, 2]).unwrap();
        writer.finish().unwrap();
        assert!(read_npy(&bytes, &Limits::default()).unwrap_err().to_string().contains("not float16"));
    }

    fn npz_of(arrays: &[(&str, &[usize], &[f32])]) -> Vec<u8> {
        let mut cursor = std::io::Cursor::new(Vec::new());
        {
            let mut npz = npyz::npz::NpzWriter::new(&mut cursor);
            for (name, shape, values) in arrays {
                let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
                let mut writer = npz
                    .array::<f32>(name, Default::default())
                    .unwrap()
                    .default_dtype()
                    .shape(&shape)
                    .begin_nd()
                    .unwrap();
                writer.extend(values.iter().copied()).unwrap();
                writer.finish().unwrap();
            }
        }
        cursor.into_inner()
    }

    #[test]
    fn every_array_of_an_npz_is_a_latent_named_after_it() {
        let bytes = npz_of(&[("initial_noise", &[1, 2, 2], &[1.0, -1.0, 0.5, 2.0]), ("final", &[3], &[7.0, 8.0, 9.0])]);
        let tensors = read_npz(&bytes, &Limits::default()).unwrap();
        let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["initial_noise", "final"]);
        assert_eq!(tensors[0].1.shape, vec![1, 2, 2]);
        assert_eq!(tensors[1].1.values, LatentValues::F32(vec![7.0, 8.0, 9.0]));
        assert!(read_npz(b"PK\x03\x04 truncated", &Limits::default()).is_err());
        assert!(read_npz(&npz_of(&[]), &Limits::default()).unwrap_err().to_string().contains("no arrays"));
    }

    fn safetensors_of(tensors: &[(&str, safetensors::Dtype, &[usize], Vec<u8>)]) -> Vec<u8> {
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .map(|(name, dtype, shape, data)| {
                (name.to_string(), safetensors::tensor::TensorView::new(*dtype, shape.to_vec(), data).unwrap())
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    #[test]
    fn comfyui_latent_files_read_their_latent_tensor() {
        use safetensors::Dtype as St;
        let values = [0.25f32, -1.5, 3.0, 0.0, 1.0, -2.0];
        let f32_bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let bf16_bytes: Vec<u8> = values.iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()).collect();
        // As SaveLatent writes it: the tensor and the empty version marker.
        let saved = safetensors_of(&[
            ("latent_tensor", St::F32, &[1, 1, 2, 3], f32_bytes.clone()),
            ("latent_format_version_0", St::F32, &[0], Vec::new()),
        ]);
        let tensor = read_comfyui_latent(&saved, &Limits::default()).unwrap();
        assert_eq!(tensor.shape, vec![1, 1, 2, 3]);
        assert_eq!(tensor.values, LatentValues::F32(values.to_vec()));
        assert!(tensor.notes.is_empty(), "{:?}", tensor.notes);
        // Older files lack the marker: read as saved, with a note; bfloat16 widens exactly.
        let old = safetensors_of(&[("latent_tensor", St::BF16, &[2, 3], bf16_bytes)]);
        let tensor = read_comfyui_latent(&old, &Limits::default()).unwrap();
        assert_eq!(tensor.values, LatentValues::F32(values.to_vec()));
        assert_eq!(tensor.notes.len(), 2, "{:?}", tensor.notes);
        // A file with another tensor name only, and one with two candidates.
        let other = safetensors_of(&[("samples", St::F32, &[6], f32_bytes.clone())]);
        assert_eq!(read_comfyui_latent(&other, &Limits::default()).unwrap().shape, vec![6]);
        let two = safetensors_of(&[("a", St::F32, &[6], f32_bytes.clone()), ("b", St::F32, &[6], f32_bytes)]);
        assert!(
            read_comfyui_latent(&two, &Limits::default()).unwrap_err().to_string().contains("no \"latent_tensor\"")
        );
        let ints = safetensors_of(&[("latent_tensor", St::I32, &[1], vec![0, 0, 0, 0])]);
        assert!(read_comfyui_latent(&ints, &Limits::default()).unwrap_err().to_string().contains("not a float type"));
        assert!(read_comfyui_latent(b"\x10\0\0\0\0\0\0\0{not json}", &Limits::default()).is_err());
    }

    #[test]
    fn latent_files_are_recognised_by_content_before_extension() {
        let dir = tempfile::tempdir().unwrap();
        let npy = write_npy(&Latent::new("x", vec![2], LatentValues::F32(vec![1.0, 2.0])).unwrap()).unwrap();
        let npz = npz_of(&[("a", &[1], &[1.0]), ("b", &[1], &[2.0])]);
        // An .npz saved with a .npy name is still read as an archive.
        for (name, bytes, keys) in
            [("noise.npy", &npy, vec!["noise"]), ("pair.npy", &npz, vec!["a", "b"]), ("x.latent", &npy, vec!["x"])]
        {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let read = read_latent_file(&path, &Limits::default()).unwrap();
            let got: Vec<&str> = read.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(got, keys, "{name}");
        }
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        assert!(
            read_latent_file(&text, &Limits::default())
                .unwrap_err()
                .to_string()
                .contains("not a .npy, .npz or .latent")
        );
        assert!(
            read_latent_file(&dir.path().join("missing.npy"), &Limits::default())
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }
}
