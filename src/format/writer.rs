//! Writing `.raiiaf` files the reference package reads back bit-exactly.

use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value};

use super::codec;
use super::environment::{Environment, python_json_pretty, sha256_hex};
use super::error::{FormatError, Result};
use super::header::{Format, Header, RAIIAF_HEADER_SIZE};
use super::latent::{Dtype, Latent, LatentValues, StoredCodec};
use super::manifest;
use super::reader::{INNER_HEADER_SIZE, InnerHeader};
use super::zfp::{self, ZfpMode};
use crate::platform::atomic::PartialFile;

/// How to store one latent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum LatentCodec {
    /// Per chunk, the smaller of raw and lossless zfp (raw when zfp cannot store the shape).
    #[default]
    Auto,
    Raw,
    /// zfp's lossless reversible mode.
    Zfp,
    /// zfp's fixed-accuracy mode with this absolute tolerance (lossy, opt-in).
    ZfpLossy(f64),
}

impl std::str::FromStr for LatentCodec {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<LatentCodec, String> {
        match text {
            "auto" => Ok(LatentCodec::Auto),
            "raw" => Ok(LatentCodec::Raw),
            "zfp" => Ok(LatentCodec::Zfp),
            other => match other.strip_prefix("zfp-lossy:") {
                Some(tolerance) => match tolerance.parse::<f64>() {
                    Ok(t) if t > 0.0 && t.is_finite() => Ok(LatentCodec::ZfpLossy(t)),
                    _ => Err(format!("zfp-lossy needs a positive tolerance, got {tolerance:?}")),
                },
                None => Err(format!("unknown codec {other:?}: use auto, raw, zfp or zfp-lossy:TOL")),
            },
        }
    }
}

impl std::fmt::Display for LatentCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LatentCodec::Auto => write!(f, "auto"),
            LatentCodec::Raw => write!(f, "raw"),
            LatentCodec::Zfp => write!(f, "zfp"),
            LatentCodec::ZfpLossy(t) => write!(f, "zfp-lossy:{t}"),
        }
    }
}

/// A latent to pack, with how to store it.
#[derive(Debug, Clone, PartialEq)]
pub struct PackLatent {
    pub latent: Latent,
    pub codec: LatentCodec,
    /// Store as float16 (float32 values are rounded to nearest).
    pub float16: bool,
}

/// The `model_info` object of the manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelInfo {
    pub model_name: String,
    pub version: String,
    /// ISO 8601 with a UTC offset, as the reference writes it.
    pub date: String,
    pub prompt: String,
    pub tags: Vec<String>,
    pub generation_settings: Option<Map<String, Value>>,
    pub hardware_info: Option<Map<String, Value>>,
    /// Further keys (e.g. `negative_prompt`), written after the standard ones.
    pub extra: Map<String, Value>,
}

impl ModelInfo {
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("model_name".into(), Value::from(self.model_name.clone()));
        map.insert("version".into(), Value::from(self.version.clone()));
        map.insert("date".into(), Value::from(self.date.clone()));
        map.insert("prompt".into(), Value::from(self.prompt.clone()));
        map.insert("tags".into(), Value::from(self.tags.clone()));
        if let Some(settings) = &self.generation_settings {
            map.insert("generation_settings".into(), Value::Object(settings.clone()));
        }
        if let Some(hardware) = &self.hardware_info {
            map.insert("hardware_info".into(), Value::Object(hardware.clone()));
        }
        for (key, value) in &self.extra {
            map.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(map)
    }
}

/// Now, formatted like Python's `datetime.now(UTC).isoformat()`.
pub fn now_iso8601() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackRequest {
    pub latents: Vec<PackLatent>,
    /// Image file bytes (PNG, JPEG or WebP), stored verbatim.
    pub image: Option<Vec<u8>>,
    /// The DATA record's `extra`.
    pub image_extra: Map<String, Value>,
    pub model_info: ModelInfo,
    pub environment: Environment,
}

/// What became of one latent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PackedLatent {
    pub key: String,
    pub codec: StoredCodec,
    pub dtype: Dtype,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub bytes: Vec<u8>,
    pub manifest: Value,
    pub latents: Vec<PackedLatent>,
}

/// One encoded chunk and the fields of its manifest record.
struct EncodedChunk {
    bytes: Vec<u8>,
    kind: &'static str,
    flags: String,
    uncompressed_size: u64,
    hash: String,
    extra: Map<String, Value>,
    compressed: bool,
    len_header: Option<u64>,
    len_data: Option<u64>,
}

impl EncodedChunk {
    /// The record's `stored_sha256`: the hash of a compressed chunk's bytes as stored.
    fn stored_hash(&self) -> Option<String> {
        self.compressed.then(|| sha256_hex(&self.bytes))
    }
}

fn wrap(kind: [u8; 4], flags: [u8; 4], payload: &[u8]) -> Result<Vec<u8>> {
    let size = u32::try_from(payload.len()).map_err(|_| {
        FormatError::invalid_input(format!("a chunk of {} bytes does not fit the format's 32-bit size", payload.len()))
    })?;
    let mut out = Vec::with_capacity(INNER_HEADER_SIZE + payload.len());
    out.extend_from_slice(&InnerHeader { kind, flags, size }.to_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

fn encode_latent(item: &PackLatent) -> Result<(EncodedChunk, PackedLatent)> {
    let latent = &item.latent;
    let invalid = |detail: String| FormatError::invalid_input(format!("latent {:?}: {detail}", latent.key()));
    if latent.shape().is_empty() || super::latent::zero_length_axis(latent.shape()).is_some() {
        return Err(invalid(format!("shape {:?} must have at least one dimension, none of them 0", latent.shape())));
    }
    if !latent.values().all_finite() {
        return Err(invalid("contains NaN or Inf values, which the reference refuses".into()));
    }
    let stored = if item.float16 { latent.values().to_f16() } else { latent.values().clone() };
    if item.float16 && !stored.all_finite() {
        return Err(invalid("has values beyond float16's range (±65504); store it as float32".into()));
    }
    let dtype = stored.dtype();
    let raw_payload = stored.to_le_bytes();
    let inner = InnerHeader {
        kind: *b"LATN",
        flags: dtype.flags(),
        size: u32::try_from(raw_payload.len()).map_err(|_| invalid("over 4 GiB of data".into()))?,
    };
    let mut extra = Map::new();
    extra.insert("shape".into(), Value::from(latent.shape().to_vec()));
    extra.insert("dtype".into(), Value::from(dtype.numpy_name()));
    extra.insert("key".into(), Value::from(latent.key().to_string()));
    let zfp_fits = zfp::zfp_supports_shape(latent.shape());
    let zfp_mode = match item.codec {
        LatentCodec::Zfp | LatentCodec::ZfpLossy(_) if !zfp_fits => {
            return Err(invalid(format!(
                "zfp stores 1-D to 4-D tensors within its header's limits; shape {:?} needs raw or auto",
                latent.shape()
            )));
        }
        LatentCodec::Raw => None,
        LatentCodec::Auto if !zfp_fits => None,
        LatentCodec::Zfp | LatentCodec::Auto => Some(ZfpMode::Reversible),
        LatentCodec::ZfpLossy(tolerance) => Some(ZfpMode::Accuracy(tolerance)),
    };
    // zfp gets the float32 values (float16 upcast exactly); the flags say what to cast back to.
    // The raw values' hash is taken on another core meanwhile: it is the record's hash for raw
    // and lossless chunks alike.
    let original = zfp_mode.map(|_| stored.to_f32_vec());
    enum Work<'a> {
        Encode(&'a [f32], ZfpMode),
        Hash(&'a [u8]),
    }
    enum Done {
        Stream(Result<Vec<u8>>),
        Hash(String),
    }
    let mut work = vec![Work::Hash(&raw_payload)];
    if let (Some(original), Some(mode)) = (&original, zfp_mode) {
        work.push(Work::Encode(original, mode));
    }
    let (mut stream, mut raw_hash) = (None, String::new());
    for done in crate::platform::map_in_parallel(work, |work| match work {
        Work::Encode(original, mode) => {
            Done::Stream(zfp::zfp_encode_f32(original, latent.shape(), mode).map_err(|e| invalid(e.to_string())))
        }
        Work::Hash(payload) => Done::Hash(sha256_hex(payload)),
    }) {
        match done {
            Done::Stream(encoded) => stream = Some(encoded),
            Done::Hash(hash) => raw_hash = hash,
        }
    }
    let raw_chunk = || -> Result<EncodedChunk> {
        Ok(EncodedChunk {
            bytes: wrap(inner.kind, inner.flags, &raw_payload)?,
            kind: "LATN",
            flags: dtype.flag_str().into(),
            uncompressed_size: raw_payload.len() as u64,
            hash: raw_hash.clone(),
            extra: extra.clone(),
            compressed: false,
            len_header: Some(INNER_HEADER_SIZE as u64),
            len_data: Some(raw_payload.len() as u64),
        })
    };
    let zfp_chunk = |stream: Vec<u8>, original: &[f32], mode: ZfpMode| -> Result<EncodedChunk> {
        let header_frame = codec::zstd_encode_frame(&inner.to_bytes())?;
        let mut chunk_extra = extra.clone();
        let hash = match mode {
            ZfpMode::Reversible => raw_hash.clone(),
            ZfpMode::Accuracy(tolerance) => {
                // Lossy: the hash covers the values a reader will get back, so the file verifies.
                chunk_extra.insert("zfp_tolerance".into(), Value::from(tolerance));
                lossy_values(&stream, original, dtype, tolerance).map_err(invalid)?.sha256_hex()
            }
        };
        let (len_header, len_data) = (header_frame.len() as u64, stream.len() as u64);
        let mut bytes = header_frame;
        bytes.extend_from_slice(&stream);
        Ok(EncodedChunk {
            bytes,
            kind: "LATN",
            flags: dtype.flag_str().into(),
            uncompressed_size: raw_payload.len() as u64,
            hash,
            extra: chunk_extra,
            compressed: true,
            len_header: Some(len_header),
            len_data: Some(len_data),
        })
    };
    let chunk = match (stream, original.as_deref(), zfp_mode) {
        (Some(stream), Some(original), Some(mode)) => {
            let zfp = zfp_chunk(stream?, original, mode)?;
            if item.codec == LatentCodec::Auto {
                let raw = raw_chunk()?;
                if zfp.bytes.len() < raw.bytes.len() { zfp } else { raw }
            } else {
                zfp
            }
        }
        _ => raw_chunk()?,
    };
    let summary = PackedLatent {
        key: latent.key().to_string(),
        codec: if chunk.compressed { StoredCodec::Zfp } else { StoredCodec::Raw },
        dtype,
        raw_bytes: raw_payload.len() as u64,
        stored_bytes: chunk.bytes.len() as u64,
    };
    Ok((chunk, summary))
}

/// The values a reader gets back from a lossy zfp `stream` of `original`, stored as `dtype`;
/// refused when one is further than `tolerance` from its original (zfp's accuracy mode can miss
/// its tolerance when one block mixes very different magnitudes).
fn lossy_values(
    stream: &[u8],
    original: &[f32],
    dtype: Dtype,
    tolerance: f64,
) -> std::result::Result<LatentValues, String> {
    let decoded = zfp::zfp_decode(stream, original.len() as u64).map_err(|e| e.to_string())?;
    let zfp::ZfpValues::F32(values) = decoded.values else {
        return Err("zfp returned an unexpected scalar type".into());
    };
    let worst = original.iter().zip(&values).map(|(a, b)| f64::from((a - b).abs())).fold(0.0, f64::max);
    if worst > tolerance || worst.is_nan() {
        return Err(format!("zfp-lossy:{tolerance} would change a value by {worst}; use zfp or raw"));
    }
    Ok(match dtype {
        Dtype::F32 => LatentValues::F32(values),
        Dtype::F16 => LatentValues::F32(values).to_f16(),
    })
}

fn encode_wrapped(kind: &'static str, payload: &[u8], extra: Map<String, Value>, level: i32) -> Result<EncodedChunk> {
    let kind_bytes: [u8; 4] =
        kind.as_bytes().try_into().map_err(|_| FormatError::invalid_input("chunk type must be 4 bytes"))?;
    let frame = codec::zstd_encode_frame_at(&wrap(kind_bytes, *b"0000", payload)?, level)?;
    Ok(EncodedChunk {
        bytes: frame,
        kind,
        flags: "0000".into(),
        uncompressed_size: payload.len() as u64,
        hash: sha256_hex(payload),
        extra,
        compressed: true,
        len_header: None,
        len_data: None,
    })
}

/// Image formats the DATA chunk accepts, by their magic bytes.
pub fn image_format_name(bytes: &[u8]) -> Option<&'static str> {
    match image::guess_format(bytes).ok()? {
        image::ImageFormat::Png => Some("png"),
        image::ImageFormat::Jpeg => Some("jpeg"),
        image::ImageFormat::WebP => Some("webp"),
        _ => None,
    }
}

/// Format name and pixel size of stored image bytes, read from the image's header only.
pub fn image_info(bytes: &[u8]) -> Option<(&'static str, u32, u32)> {
    let name = image_format_name(bytes)?;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?;
    let (width, height) = reader.into_dimensions().ok()?;
    Some((name, width, height))
}

/// What storing one latent would take, computed by encoding it (for size previews).
pub fn encoded_latent(item: &PackLatent) -> Result<PackedLatent> {
    encode_latent(item).map(|(_, summary)| summary)
}

/// The schema's problems with a `model_info`, checked on its own (before anything is encoded).
pub fn model_info_problems(info: &ModelInfo) -> Vec<manifest::SchemaProblem> {
    let document = serde_json::json!({
        "raiiaf_metadata": {
            "file_info": {"magic": "raiiaf", "version_major": 1, "version_minor": 0, "file_size": 0, "chunk_count": 0},
            "model_info": info.to_value(),
            "chunks": [],
        }
    });
    manifest::validate(Format::Raiiaf, &document)
}

/// Builds a complete file in memory.
pub fn pack(request: &PackRequest) -> Result<Packed> {
    let payload = pack_payload(&request.latents, request.image.as_deref(), &request.image_extra)?;
    pack_with(payload, &request.model_info, &request.environment)
}

/// The chunks of a file that depend on neither the manifest nor the environment: the latents and
/// the image, checked and compressed (on the platform's threads, each on its own). Made apart so
/// that a caller can compress them while it is still probing the environment.
pub struct PackPayload {
    chunks: Vec<EncodedChunk>,
    latents: Vec<PackedLatent>,
}

/// The first half of [`pack`].
pub fn pack_payload(
    latents: &[PackLatent],
    image: Option<&[u8]>,
    image_extra: &Map<String, Value>,
) -> Result<PackPayload> {
    if latents.is_empty() {
        return Err(FormatError::invalid_input(
            "at least one latent is needed (the reference refuses an empty latent dict)",
        ));
    }
    let mut keys = std::collections::HashSet::new();
    for item in latents {
        if item.latent.key().is_empty() || !keys.insert(item.latent.key()) {
            return Err(FormatError::invalid_input(format!(
                "latent keys must be unique and non-empty: {:?}",
                item.latent.key()
            )));
        }
    }
    if image.is_some_and(|image| image_info(image).is_none()) {
        return Err(FormatError::invalid_input("the image is not a readable PNG, JPEG or WebP file"));
    }
    // The latents and the image are compressed on the platform's threads, each on its own.
    enum Job<'a> {
        Latent(&'a PackLatent),
        Image(&'a [u8]),
    }
    let jobs = latents.iter().map(Job::Latent).chain(image.map(Job::Image)).collect();
    let encoded = crate::platform::map_in_parallel(jobs, |job| match job {
        Job::Latent(item) => encode_latent(item).map(|(chunk, summary)| (chunk, Some(summary))),
        Job::Image(image) => {
            encode_wrapped("DATA", image, image_extra.clone(), codec::ZSTD_LEVEL).map(|chunk| (chunk, None))
        }
    });
    let mut chunks = Vec::new();
    let mut summaries = Vec::new();
    for result in encoded {
        let (chunk, summary) = result?;
        chunks.push(chunk);
        summaries.extend(summary);
    }
    Ok(PackPayload { chunks, latents: summaries })
}

/// The second half of [`pack`]: the environment chunk, the records, the manifest and the header
/// around `payload`.
pub fn pack_with(payload: PackPayload, model_info: &ModelInfo, environment: &Environment) -> Result<Packed> {
    let PackPayload { mut chunks, latents: summaries } = payload;
    chunks.push(encode_wrapped("ENVC", &environment.to_json_bytes(), Map::new(), codec::ZSTD_LEVEL_SMALL)?);

    // The stored hashes of the compressed chunks (the latents and the image the largest), each on
    // a core of its own.
    let stored_hashes = crate::platform::map_in_parallel(chunks.iter().collect(), EncodedChunk::stored_hash);
    let mut records = Vec::with_capacity(chunks.len());
    let mut offset = RAIIAF_HEADER_SIZE as u64;
    for (index, chunk) in chunks.iter().enumerate() {
        let mut record = Map::new();
        record.insert("index".into(), Value::from(index));
        record.insert("type".into(), Value::from(chunk.kind));
        record.insert("flags".into(), Value::from(chunk.flags.clone()));
        record.insert("offset".into(), Value::from(offset));
        record.insert("compressed_size".into(), Value::from(chunk.bytes.len()));
        record.insert("uncompressed_size".into(), Value::from(chunk.uncompressed_size));
        record.insert("hash".into(), Value::from(chunk.hash.clone()));
        record.insert("extra".into(), Value::Object(chunk.extra.clone()));
        record.insert("compressed".into(), Value::from(chunk.compressed));
        record.insert("len_header".into(), chunk.len_header.map_or(Value::Null, Value::from));
        record.insert("len_data".into(), chunk.len_data.map_or(Value::Null, Value::from));
        if let Some(stored_hash) = stored_hashes.get(index).cloned().flatten() {
            record.insert(manifest::STORED_HASH_KEY.into(), Value::from(stored_hash));
        }
        records.push(Value::Object(record));
        offset += chunk.bytes.len() as u64;
    }
    let table_offset = offset;
    let chunk_count = records.len();

    let build_manifest = |file_size: u64| -> Value {
        let mut file_info = Map::new();
        file_info.insert("magic".into(), Value::from("raiiaf"));
        file_info.insert("version_major".into(), Value::from(1));
        file_info.insert("version_minor".into(), Value::from(0));
        file_info.insert("file_size".into(), Value::from(file_size));
        file_info.insert("chunk_count".into(), Value::from(chunk_count));
        let mut body = Map::new();
        body.insert("file_info".into(), Value::Object(file_info));
        body.insert("model_info".into(), model_info.to_value());
        body.insert("chunks".into(), Value::Array(records.clone()));
        let mut root = Map::new();
        root.insert("raiiaf_metadata".into(), Value::Object(body));
        Value::Object(root)
    };
    let problems = manifest::validate(Format::Raiiaf, &build_manifest(0));
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.pointer, p.message)).collect();
        return Err(FormatError::invalid_input(format!(
            "the manifest would not match the schema: {}",
            list.join("; ")
        )));
    }
    // Unlike the reference, record the exact file size: the manifest's own length depends on the
    // number it holds, so iterate until the two agree (two rounds in practice).
    let mut file_size = table_offset;
    let mut meta_frame = Vec::new();
    let mut manifest = Value::Null;
    for _ in 0..8 {
        manifest = build_manifest(file_size);
        meta_frame =
            codec::zstd_encode_stored_frame(&wrap(*b"META", *b"0000", python_json_pretty(&manifest).as_bytes())?);
        let total = table_offset + meta_frame.len() as u64;
        if total == file_size {
            break;
        }
        file_size = total;
    }
    let header = Header {
        format: Format::Raiiaf,
        version_major: 1,
        version_minor: 0,
        flags: 0,
        chunk_table_offset: u32::try_from(table_offset).map_err(|_| {
            FormatError::invalid_input(
                "the chunk table would start past 4 GiB, which the format's 32-bit offsets cannot express",
            )
        })?,
        chunk_table_size: u32::try_from(meta_frame.len())
            .map_err(|_| FormatError::invalid_input("manifest over 4 GiB"))?,
        chunk_count: u32::try_from(chunk_count).map_err(|_| FormatError::invalid_input("too many chunks"))?,
        file_size: table_offset + meta_frame.len() as u64,
        reserved: 0,
    };
    let mut bytes = Vec::with_capacity(usize::try_from(header.file_size).unwrap_or(0));
    bytes.extend_from_slice(&header.to_bytes());
    for chunk in &chunks {
        bytes.extend_from_slice(&chunk.bytes);
    }
    bytes.extend_from_slice(&meta_frame);
    Ok(Packed { bytes, manifest, latents: summaries })
}

/// Writes `bytes` to `path` atomically (see [`super::atomic`]): the destination is either left as
/// it was or replaced by the complete new file, whatever happens. An existing file is kept unless
/// `overwrite` is set.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    if !overwrite && path.exists() {
        return Err(FormatError::DestinationExists { path: path.to_path_buf() });
    }
    let failed = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            FormatError::DestinationExists { path: path.to_path_buf() }
        } else {
            FormatError::WriteFailed { path: path.to_path_buf(), source }
        }
    };
    let mut partial = PartialFile::create(path).map_err(failed)?;
    partial.file.write_all(bytes).map_err(failed)?;
    partial.commit(overwrite).map_err(failed)
}
