//! Reading and checking a whole file.
//!
//! [`inspect`] never fails: it returns what it could decode together with a report of every
//! check. A file whose header or manifest cannot be read is `unreadable` and carries the error
//! in [`Inspection::fatal`]; any other failed check makes it `invalid`.

use std::path::Path;

use serde_json::Value;

use super::codec;
use super::zfp::{self, ZfpValues};
use std::borrow::Cow;

use super::source::{FileSource, SliceSource, Source};

use super::environment::{Environment, sha256_hex};
use super::error::{FormatError, Location, Result};
use super::header::{Format, Header, MAX_HEADER_SIZE};
use super::latent::{Dtype, Latent, LatentValues, StoredCodec, f32_to_f16_exact};
use super::manifest::{self, ChunkRecord};
use super::verify::{Report, Verdict, code};

/// Caps that keep hostile files from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Decompressed size of the manifest and of the ENVC chunk.
    pub max_metadata_bytes: u64,
    /// Values in one latent tensor.
    pub max_latent_elements: u64,
    /// Bytes of the stored image.
    pub max_image_bytes: u64,
    /// Pixels (width x height) of the stored image when it is decoded for display or comparison.
    pub max_image_pixels: u64,
    /// Records in the manifest's chunk list.
    pub max_chunks: u64,
    /// Dimensions of one latent tensor.
    pub max_rank: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_metadata_bytes: 64 << 20,
            max_latent_elements: 1 << 28,
            max_image_bytes: 1 << 30,
            // 11585 x 11585 at most: 512 MiB as RGBA, past any generator's output.
            max_image_pixels: 1 << 27,
            max_chunks: 100_000,
            max_rank: 32,
        }
    }
}

/// Why a limit given on the command line or in the settings is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("{0:?} is not an amount like 1000, 64K, 256M or 2G")]
    NotAnAmount(String),
    #[error("{0:?} is zero or too large")]
    ZeroOrTooLarge(String),
}

/// `1000`, `64K`, `256M`, `2G` (K, M, G are powers of 1024; a trailing `i` or `B` is allowed).
pub fn parse_amount(text: &str) -> Result<u64, AmountError> {
    let trimmed = text.trim();
    let without_unit = trimmed.trim_end_matches(['B', 'b']).trim_end_matches('i');
    let (digits, shift) = [("k", 10), ("K", 10), ("m", 20), ("M", 20), ("g", 30), ("G", 30)]
        .into_iter()
        .find_map(|(suffix, shift)| without_unit.strip_suffix(suffix).map(|digits| (digits, shift)))
        .unwrap_or((without_unit, 0));
    let number: u64 = digits.trim().parse().map_err(|_| AmountError::NotAnAmount(text.to_string()))?;
    number.checked_mul(1u64 << shift).filter(|&n| n > 0).ok_or_else(|| AmountError::ZeroOrTooLarge(text.to_string()))
}

/// `n` the way [`parse_amount`] reads it: `256M` when it is a whole number of M, else digits.
pub fn format_amount(n: u64) -> String {
    for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{suffix}", n >> shift);
        }
    }
    n.to_string()
}

/// The 12-byte header every chunk starts with (inside or outside compression).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerHeader {
    pub kind: [u8; 4],
    pub flags: [u8; 4],
    pub size: u32,
}

pub const INNER_HEADER_SIZE: usize = 12;

impl InnerHeader {
    pub fn parse(bytes: &[u8]) -> Option<InnerHeader> {
        let head = bytes.get(..INNER_HEADER_SIZE)?;
        Some(InnerHeader {
            kind: head.get(0..4)?.try_into().ok()?,
            flags: head.get(4..8)?.try_into().ok()?,
            size: u32::from_le_bytes(head.get(8..12)?.try_into().ok()?),
        })
    }
    pub fn to_bytes(self) -> [u8; INNER_HEADER_SIZE] {
        let mut out = [0u8; INNER_HEADER_SIZE];
        out[..4].copy_from_slice(&self.kind);
        out[4..8].copy_from_slice(&self.flags);
        out[8..].copy_from_slice(&self.size.to_le_bytes());
        out
    }
}

fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b.is_ascii_graphic() { char::from(b).to_string() } else { format!("\\x{b:02x}") })
        .collect()
}

/// A latent as decoded, with the record it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedLatent {
    /// Position of its record in the manifest's `chunks`.
    pub record: usize,
    pub codec: StoredCodec,
    pub latent: Latent,
    /// sha256 of the values, when they were read from a file (computed for `chunk.hash`).
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    pub record: usize,
    pub bytes: Vec<u8>,
    /// sha256 of `bytes` (computed for `chunk.hash`).
    pub sha256: String,
}

/// Everything read from one file, and the verdict on it.
#[derive(Debug)]
pub struct Inspection {
    pub file_len: u64,
    pub header: Option<Header>,
    /// The manifest document as stored.
    pub manifest: Option<Value>,
    pub records: Vec<ChunkRecord>,
    pub latents: Vec<DecodedLatent>,
    pub image: Option<DecodedImage>,
    pub environment: Option<Environment>,
    /// The manifest's schema problems, each at its JSON pointer (also failed checks in `report`).
    pub schema_problems: Vec<manifest::SchemaProblem>,
    pub report: Report,
    /// Why the file could not be read, when it could not.
    pub fatal: Option<FormatError>,
}

impl Inspection {
    fn empty(file_len: u64) -> Inspection {
        Inspection {
            file_len,
            header: None,
            manifest: None,
            records: Vec::new(),
            latents: Vec::new(),
            image: None,
            environment: None,
            schema_problems: Vec::new(),
            report: Report::default(),
            fatal: None,
        }
    }
    pub fn verdict(&self) -> Verdict {
        if self.fatal.is_some() {
            Verdict::Unreadable
        } else if self.report.all_passed() {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    }
    pub fn format(&self) -> Option<Format> {
        self.header.as_ref().map(|h| h.format)
    }
    /// The manifest body (under its root key).
    pub fn manifest_body(&self) -> Option<&serde_json::Map<String, Value>> {
        manifest::body(self.format()?, self.manifest.as_ref()?)
    }
}

/// Files up to this size are read whole, in one call, and checked in memory: one read instead of
/// a seek and a buffer refill for each range, and holding a few megabytes costs little. Larger
/// files are read range by range, so a large latent goes from disk straight into its values.
pub const READ_WHOLE_MAX: u64 = 4 << 20;

/// Reads and checks the file at `path`: whole when it is small (see [`READ_WHOLE_MAX`]), else
/// range by range, a latent read from the file straight into its decoded buffer. I/O errors
/// before the chunks make the inspection unreadable.
pub fn inspect_path(path: &Path, limits: &Limits) -> Inspection {
    let opened = FileSource::open(path);
    let mut inspection = match opened {
        Ok(source) if source.len() <= READ_WHOLE_MAX => match source.read_whole() {
            Ok(bytes) => inspect(&bytes, limits),
            Err(source) => {
                let mut inspection = Inspection::empty(0);
                inspection.fatal = Some(FormatError::Io { source });
                inspection
            }
        },
        Ok(mut source) => inspect_source(&mut source, limits),
        Err(source) => {
            let mut inspection = Inspection::empty(0);
            inspection.fatal = Some(FormatError::Io { source });
            inspection
        }
    };
    inspection.fatal = inspection.fatal.map(|e| e.in_file(path));
    inspection
}

/// Reads and checks a whole file held in memory.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Inspection {
    inspect_source(&mut SliceSource(bytes), limits)
}

/// Reads and checks the file `source` holds.
pub fn inspect_source(source: &mut dyn Source, limits: &Limits) -> Inspection {
    let mut inspection = Inspection::empty(source.len());
    if let Err(error) = read_into(source, limits, &mut inspection) {
        let code = match error {
            FormatError::NotRaiiaf { .. } => code::HEADER_MAGIC,
            FormatError::UnsupportedVersion { .. } => code::HEADER_VERSION,
            FormatError::Truncated { location: Location::Header, .. } => code::HEADER_MAGIC,
            FormatError::Truncated { location: Location::Manifest, .. } => code::HEADER_TABLE_BOUNDS,
            _ => code::MANIFEST_DECODE,
        };
        let location = match &error {
            FormatError::Truncated { location, .. } | FormatError::Corrupt { location, .. } => location.clone(),
            FormatError::LimitExceeded { location, .. } => location.clone(),
            _ => Location::Header,
        };
        inspection.report.fail(code, location, error.to_string());
        inspection.fatal = Some(error);
    }
    inspection
}

/// Everything up to and including the manifest must read, or the file is unreadable; past that
/// point problems become failed checks.
fn read_into(source: &mut dyn Source, limits: &Limits, out: &mut Inspection) -> Result<()> {
    let file_len = source.len();
    let header = Header::parse(&source.bytes(0, file_len.min(MAX_HEADER_SIZE))?)?;
    let format = header.format;
    let header_size = format.header_size() as u64;
    out.header = Some(header.clone());
    check_header(&mut out.report, &header, file_len);

    // The chunk table (META chunk).
    let table_start = u64::from(header.chunk_table_offset);
    let table_end = table_start + u64::from(header.chunk_table_size);
    if table_start < header_size || table_end > file_len {
        return Err(FormatError::Truncated {
            location: Location::Manifest,
            offset: table_start,
            end: table_end,
            available: file_len,
        });
    }
    let manifest = read_manifest(source, (table_start, table_end), limits, &mut out.report)?;
    let body = manifest::body(format, &manifest).ok_or_else(|| {
        FormatError::corrupt(
            Location::Manifest,
            table_start,
            format!("manifest has no `{}` object", format.manifest_root()),
        )
    })?;
    let chunk_list = body
        .get("chunks")
        .and_then(Value::as_array)
        .ok_or_else(|| FormatError::corrupt(Location::Manifest, table_start, "manifest has no `chunks` list"))?;
    if chunk_list.len() as u64 > limits.max_chunks {
        return Err(FormatError::LimitExceeded {
            location: Location::Manifest,
            what: "chunk records",
            actual: chunk_list.len() as u64,
            limit: limits.max_chunks,
        });
    }
    let report = &mut out.report;
    report.push(
        code::HEADER_CHUNK_COUNT,
        Location::Header,
        u64::from(header.chunk_count) == chunk_list.len() as u64,
        format!("header says {} chunks, the manifest lists {}", header.chunk_count, chunk_list.len()),
    );
    let problems = manifest::validate(format, &manifest);
    if problems.is_empty() {
        report.pass(code::MANIFEST_SCHEMA, Location::Manifest, "manifest matches the schema");
    }
    for problem in &problems {
        report.fail(code::MANIFEST_SCHEMA, Location::Manifest, format!("{}: {}", problem.pointer, problem.message));
    }
    out.schema_problems = problems;
    check_file_info(report, &header, body, chunk_list.len());

    let mut records = Vec::with_capacity(chunk_list.len());
    for (position, value) in chunk_list.iter().enumerate() {
        match ChunkRecord::from_json(position, value) {
            Ok(record) => records.push(record),
            Err(problem) => report.fail(
                code::CHUNK_RECORD,
                Location::Chunk { index: position, kind: "?".into() },
                problem.to_string(),
            ),
        }
    }
    check_layout(report, &records, header_size, (table_start, table_end), file_len);
    let latents = read_latents_in_parallel(source, format, &records, limits);
    for (record, latent) in records.iter().zip(latents) {
        read_chunk(source, format, record, limits, latent, out);
    }
    out.records = records;
    out.manifest = Some(manifest);
    Ok(())
}

/// The header's own checks (its magic and version parsed already): flags, reserved, file size.
fn check_header(report: &mut Report, header: &Header, file_len: u64) {
    report.pass(code::HEADER_MAGIC, Location::Header, format!("{} magic", header.format.name()));
    report.pass(
        code::HEADER_VERSION,
        Location::Header,
        format!("version {}.{}", header.version_major, header.version_minor),
    );
    report.push(
        code::HEADER_FLAGS,
        Location::Header,
        header.flags == 0,
        format!("flags {} (expected 0)", header.flags),
    );
    report.push(
        code::HEADER_RESERVED,
        Location::Header,
        header.reserved == 0,
        format!("reserved field {} (expected 0)", header.reserved),
    );
    report.push(
        code::HEADER_FILE_SIZE,
        Location::Header,
        header.file_size == file_len,
        format!("header says {} bytes, the file has {file_len}", header.file_size),
    );
}

/// The manifest's JSON from the chunk table at `table_start..table_end` (a META chunk).
fn read_manifest(
    source: &mut dyn Source,
    (table_start, table_end): (u64, u64),
    limits: &Limits,
    report: &mut Report,
) -> Result<Value> {
    let table = source.bytes(table_start, table_end)?;
    report.pass(code::HEADER_TABLE_BOUNDS, Location::Header, format!("chunk table at {table_start}..{table_end}"));
    let meta = open_chunk(&table, true, limits.max_metadata_bytes)
        .map_err(|detail| FormatError::corrupt(Location::Manifest, table_start, detail))?;
    check_wrapped_chunk(report, Location::Manifest, code::MANIFEST_INNER_HEADER, &meta, b"META", b"0000", None);
    serde_json::from_slice(meta.payload())
        .map_err(|e| FormatError::corrupt(Location::Manifest, table_start, format!("manifest is not JSON: {e}")))
}

/// The manifest's JSON from a META chunk's bytes alone, within the metadata limit: what the
/// reference's `raiiafMetadata().metadata_parser` gives (the chunk's inner header is not checked).
pub fn manifest_from_chunk(table: &[u8], limits: &Limits) -> Result<Value> {
    let meta = open_chunk(table, true, limits.max_metadata_bytes)
        .map_err(|detail| FormatError::corrupt(Location::Manifest, 0, detail))?;
    serde_json::from_slice(meta.payload())
        .map_err(|e| FormatError::corrupt(Location::Manifest, 0, format!("manifest is not JSON: {e}")))
}

fn check_file_info(report: &mut Report, header: &Header, body: &serde_json::Map<String, Value>, chunk_count: usize) {
    let Some(info) = body.get("file_info") else {
        report.fail(code::MANIFEST_FILE_INFO, Location::Manifest, "manifest has no file_info");
        return;
    };
    let magic = info.get("magic").and_then(Value::as_str).unwrap_or("");
    let major = info.get("version_major").and_then(Value::as_u64);
    let minor = info.get("version_minor").and_then(Value::as_u64);
    let count = info.get("chunk_count").and_then(Value::as_u64);
    let format = header.format;
    let expected_magic = std::str::from_utf8(format.magic()).unwrap_or("");
    let ok = magic == expected_magic
        && major == Some(u64::from(header.version_major))
        && minor == Some(u64::from(header.version_minor))
        && count == Some(chunk_count as u64);
    // file_info.file_size is computed by the reference before its final recompression and is
    // usually a few bytes off, so it is reported but never checked.
    report.push(
        code::MANIFEST_FILE_INFO,
        Location::Manifest,
        ok,
        format!(
            "file_info: magic {magic:?}, version_major {major:?}, version_minor {minor:?}, chunk_count {count:?} (header: {expected_magic:?}, {}, {}, {chunk_count} records)",
            header.version_major, header.version_minor
        ),
    );
}

/// Every record inside the file and past the header, no two chunks overlapping, no byte of the
/// file outside a chunk.
fn check_layout(report: &mut Report, records: &[ChunkRecord], header_size: u64, table: (u64, u64), file_len: u64) {
    let mut spans: Vec<(u64, u64, String)> =
        vec![(0, header_size, "header".into()), (table.0, table.1, "chunk table".into())];
    for record in records {
        let location = Location::Chunk { index: record.position, kind: record.kind.clone() };
        match record.span() {
            Some((start, end)) if start >= header_size && end <= file_len => {
                report.pass(code::CHUNK_BOUNDS, location, format!("bytes {start}..{end}"));
                spans.push((start, end, format!("{} chunk {}", record.kind, record.position)));
            }
            Some((start, end)) => report.fail(
                code::CHUNK_BOUNDS,
                location,
                format!("bytes {start}..{end} are not inside {header_size}..{file_len}"),
            ),
            None => report.fail(code::CHUNK_BOUNDS, location, "record lacks a valid offset or compressed_size"),
        }
    }
    spans.sort_by_key(|s| (s.0, s.1));
    let mut overlaps = Vec::new();
    let mut gaps = Vec::new();
    let mut covered_to = 0u64;
    let mut last_name = String::new();
    for (start, end, name) in &spans {
        if *start < covered_to {
            overlaps.push(format!("{name} starts at {start}, inside {last_name} (ends at {covered_to})"));
        } else if *start > covered_to {
            gaps.push(format!("{covered_to}..{start}"));
        }
        if *end > covered_to {
            covered_to = *end;
            last_name = name.clone();
        }
    }
    if covered_to < file_len {
        gaps.push(format!("{covered_to}..{file_len}"));
    }
    if overlaps.is_empty() {
        report.pass(code::CHUNK_OVERLAP, Location::File, "no two chunks overlap");
    }
    for overlap in overlaps {
        report.fail(code::CHUNK_OVERLAP, Location::File, overlap);
    }
    report.push(
        code::LAYOUT_COVERAGE,
        Location::File,
        gaps.is_empty(),
        if gaps.is_empty() {
            "every byte belongs to the header or a chunk".to_string()
        } else {
            format!("bytes outside any chunk: {}", gaps.join(", "))
        },
    );
}

/// A chunk with its 12-byte inner header split off, decompressed when it was compressed.
struct OpenedChunk<'a> {
    inner: InnerHeader,
    /// Inner header and payload.
    data: Cow<'a, [u8]>,
    /// Bytes of the chunk after its zstd frame.
    after_frame: usize,
}

impl OpenedChunk<'_> {
    /// The payload as the reference slices it: `data[12 .. 12 + size]`, clipped at the end.
    fn payload(&self) -> &[u8] {
        let end = (INNER_HEADER_SIZE as u64 + u64::from(self.inner.size)).min(self.data.len() as u64);
        self.data.get(INNER_HEADER_SIZE..end as usize).unwrap_or(&[])
    }
    /// Bytes present after the header, which should equal the declared size.
    fn present(&self) -> u64 {
        self.data.len().saturating_sub(INNER_HEADER_SIZE) as u64
    }
}

/// Splits a chunk into inner header and payload; `cap` bounds the decompressed payload.
fn open_chunk(chunk: &[u8], compressed: bool, cap: u64) -> std::result::Result<OpenedChunk<'_>, String> {
    let (data, after_frame) = if compressed {
        let frame =
            codec::zstd_decode_frame(chunk, cap.saturating_add(INNER_HEADER_SIZE as u64)).map_err(|e| e.to_string())?;
        (Cow::Owned(frame.data), chunk.len().saturating_sub(frame.frame_len))
    } else {
        (Cow::Borrowed(chunk), 0)
    };
    let inner = InnerHeader::parse(&data)
        .ok_or_else(|| format!("chunk holds {} bytes, fewer than its 12-byte header", data.len()))?;
    Ok(OpenedChunk { inner, data, after_frame })
}

/// Checks the inner header of a wrapped chunk against what the record or format says, and that
/// the payload fills the chunk exactly.
fn check_wrapped_chunk(
    report: &mut Report,
    location: Location,
    code: &'static str,
    chunk: &OpenedChunk<'_>,
    kind: &[u8; 4],
    flags: &[u8],
    recorded_size: Option<u64>,
) {
    let mut problems = Vec::new();
    if &chunk.inner.kind != kind {
        problems.push(format!("type {} (expected {})", printable(&chunk.inner.kind), printable(kind)));
    }
    if chunk.inner.flags != flags {
        problems.push(format!("flags {} (expected {})", printable(&chunk.inner.flags), printable(flags)));
    }
    let size = u64::from(chunk.inner.size);
    if chunk.present() != size {
        problems.push(format!("declares {size} payload bytes, {} present", chunk.present()));
    }
    if let Some(recorded) = recorded_size
        && recorded != size
    {
        problems.push(format!("declares {size} bytes, the record says {recorded}"));
    }
    if chunk.after_frame > 0 {
        problems.push(format!("{} bytes follow the zstd frame", chunk.after_frame));
    }
    report.push(
        code,
        location,
        problems.is_empty(),
        if problems.is_empty() {
            format!("{} header, {size} bytes", printable(kind))
        } else {
            format!("inner header: {}", problems.join("; "))
        },
    );
}

fn check_hash(report: &mut Report, location: Location, recorded: Option<&str>, actual: &str) {
    match recorded {
        Some(expected) if expected.eq_ignore_ascii_case(actual) => {
            report.pass(code::CHUNK_HASH, location, format!("sha256 {actual}"))
        }
        Some(expected) => {
            report.fail(code::CHUNK_HASH, location, format!("sha256 expected {expected}, computed {actual}"))
        }
        None => report.fail(code::CHUNK_HASH, location, format!("record has no hash; computed {actual}")),
    }
}

/// Compressed bytes can change without changing what they decode to (zfp's padding of partial
/// blocks, zstd's unused code space), so the payload hash alone does not see every stored byte;
/// the stored hash does.
fn check_stored_hash(
    source: &mut dyn Source,
    (start, end): (u64, u64),
    expected: &str,
    location: Location,
    report: &mut Report,
) {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let hashed = source.reader(start, end).and_then(|mut stored| std::io::copy(&mut stored, &mut hasher));
    match hashed {
        Ok(_) => {
            let actual = format!("{:x}", hasher.finalize());
            report.push(
                code::CHUNK_STORED_HASH,
                location,
                expected.eq_ignore_ascii_case(&actual),
                format!("sha256 of the stored bytes: expected {expected}, computed {actual}"),
            );
        }
        Err(error) => report.fail(code::CHUNK_STORED_HASH, location, format!("reading the chunk: {error}")),
    }
}

/// The span of a chunk the reader decodes: inside the file (bounds are checked and reported by
/// `check_layout`; a chunk outside the file is not decoded).
fn readable_span(record: &ChunkRecord, file_len: u64) -> Option<(u64, u64)> {
    record.span().filter(|&(start, end)| start <= end && end <= file_len)
}

/// The latents of a file with several, each decoded and hashed on its own thread with its own
/// reader; one slot per record, `None` where the record is read in order instead (every record
/// when there are fewer than two latents, or no second reader can be opened).
fn read_latents_in_parallel(
    source: &dyn Source,
    format: Format,
    records: &[ChunkRecord],
    limits: &Limits,
) -> Vec<Option<std::result::Result<HashedLatent, String>>> {
    let mut slots: Vec<_> = records.iter().map(|_| None).collect();
    let latents: Vec<(usize, &ChunkRecord, (u64, u64))> = records
        .iter()
        .enumerate()
        .filter(|(_, record)| record.kind == "LATN")
        .filter_map(|(slot, record)| Some((slot, record, readable_span(record, source.len())?)))
        .collect();
    if latents.len() < 2 || crate::platform::cores() < 2 {
        return slots;
    }
    let Some(reopen) = source.reopener() else { return slots };
    let decoded = crate::platform::map_in_parallel(latents, |(slot, record, span)| {
        let read = reopen()
            .map_err(|e| format!("reading the chunk: {e}"))
            .and_then(|mut own| read_latent(&mut *own, span, format, record, limits));
        (slot, read)
    });
    for (slot, read) in decoded {
        if let Some(place) = slots.get_mut(slot) {
            *place = Some(read);
        }
    }
    slots
}

/// Reads one chunk into `out`; a latent already read (by [`read_latents_in_parallel`]) comes in
/// `latent`.
fn read_chunk(
    source: &mut dyn Source,
    format: Format,
    record: &ChunkRecord,
    limits: &Limits,
    latent: Option<std::result::Result<HashedLatent, String>>,
    out: &mut Inspection,
) {
    let location = Location::Chunk { index: record.position, kind: record.kind.clone() };
    if record.index != Some(record.position as u64) {
        out.report.fail(
            code::CHUNK_RECORD,
            location.clone(),
            format!("record index {:?} at position {}", record.index, record.position),
        );
    }
    let Some(span) = readable_span(record, source.len()) else { return };
    if let Some(expected) = &record.stored_sha256 {
        check_stored_hash(source, span, expected, location.clone(), &mut out.report);
    }
    if record.kind == "LATN" {
        match latent.unwrap_or_else(|| read_latent(source, span, format, record, limits)) {
            Ok(hashed) => {
                check_latent(&mut out.report, &location, record, &hashed);
                let decoded = hashed.read;
                out.latents.push(DecodedLatent {
                    record: record.position,
                    codec: decoded.codec,
                    latent: decoded.latent,
                    sha256: Some(hashed.values_sha256),
                });
            }
            Err(problem) => out.report.fail(code::CHUNK_DECODE, location, problem),
        }
        return;
    }
    let chunk = match source.bytes(span.0, span.1) {
        Ok(chunk) => chunk,
        Err(error) => return out.report.fail(code::CHUNK_DECODE, location, format!("reading the chunk: {error}")),
    };
    match record.kind.as_str() {
        "DATA" => read_image_chunk(&chunk, record, limits, location, out),
        "ENVC" => read_environment_chunk(&chunk, record, limits, location, out),
        other => out.report.fail(
            code::CHUNK_RECORD,
            location,
            format!("unknown chunk type {other:?} (the reference refuses the file)"),
        ),
    }
}

/// A `kind` chunk opened (inflated up to `cap` bytes) with its inner header checked; `None`,
/// with the failure reported, when it does not open.
fn open_checked<'a>(
    chunk: &'a [u8],
    record: &ChunkRecord,
    kind: [u8; 4],
    cap: u64,
    location: &Location,
    report: &mut Report,
) -> Option<OpenedChunk<'a>> {
    match open_chunk(chunk, record.compressed, cap) {
        Ok(opened) => {
            let (at, code) = (location.clone(), code::CHUNK_INNER_HEADER);
            check_wrapped_chunk(report, at, code, &opened, &kind, b"0000", record.uncompressed_size);
            Some(opened)
        }
        Err(problem) => {
            report.fail(code::CHUNK_DECODE, location.clone(), problem);
            None
        }
    }
}

/// A `DATA` chunk: its wrapper, the image's bytes and their hash.
fn read_image_chunk(chunk: &[u8], record: &ChunkRecord, limits: &Limits, location: Location, out: &mut Inspection) {
    let report = &mut out.report;
    let Some(opened) = open_checked(chunk, record, *b"DATA", limits.max_image_bytes, &location, report) else {
        return;
    };
    let image = opened.payload().to_vec();
    report.pass(code::CHUNK_DECODE, location.clone(), format!("image of {} bytes", image.len()));
    let sha256 = sha256_hex(&image);
    check_hash(report, location.clone(), record.hash.as_deref(), &sha256);
    if out.image.is_some() {
        report.fail(code::CHUNK_RECORD, location, "a second DATA chunk (the reference keeps the last)");
    }
    out.image = Some(DecodedImage { record: record.position, bytes: image, sha256 });
}

/// An `ENVC` chunk: its wrapper, its hash, the snapshot and each component's digest.
fn read_environment_chunk(
    chunk: &[u8],
    record: &ChunkRecord,
    limits: &Limits,
    location: Location,
    out: &mut Inspection,
) {
    let report = &mut out.report;
    let Some(opened) = open_checked(chunk, record, *b"ENVC", limits.max_metadata_bytes, &location, report) else {
        return;
    };
    check_hash(report, location.clone(), record.hash.as_deref(), &sha256_hex(opened.payload()));
    let environment = match Environment::from_json_bytes(opened.payload()) {
        Ok(environment) => environment,
        Err(problem) => return report.fail(code::CHUNK_DECODE, location, problem.to_string()),
    };
    report.pass(code::CHUNK_DECODE, location.clone(), format!("{} components", environment.components.len()));
    for (index, component) in environment.components.iter().enumerate() {
        report.push(
            code::ENVC_DIGEST,
            Location::EnvComponent { index },
            component.digest_ok(),
            if component.digest_ok() {
                format!("{}: digest matches {:?}", component.component_id, component.canonical)
            } else {
                format!(
                    "{}: digest {} is not the sha256 of {:?} ({})",
                    component.component_id,
                    component.digest,
                    component.canonical,
                    sha256_hex(component.canonical.as_bytes())
                )
            },
        );
    }
    if out.environment.is_some() {
        report.fail(code::CHUNK_RECORD, location, "a second ENVC chunk (the reference keeps the last)");
    }
    out.environment = Some(environment);
}

struct LatentRead {
    latent: Latent,
    codec: StoredCodec,
    inner: InnerHeader,
    /// Problems with how the chunk is framed that did not stop decoding.
    framing: Vec<String>,
}

/// A latent chunk decoded, with the sha256 of its values for `chunk.hash`.
struct HashedLatent {
    read: LatentRead,
    values_sha256: String,
}

/// A latent chunk decoded and its values hashed: the work that can run on its own thread.
fn read_latent(
    source: &mut dyn Source,
    span: (u64, u64),
    format: Format,
    record: &ChunkRecord,
    limits: &Limits,
) -> std::result::Result<HashedLatent, String> {
    let read = decode_latent(source, span, format, record, limits)?;
    let values_sha256 = read.latent.values().sha256_hex();
    Ok(HashedLatent { read, values_sha256 })
}

/// The record's shape, checked against the limits before anything is allocated.
fn latent_shape(record: &ChunkRecord, limits: &Limits) -> std::result::Result<(Vec<usize>, usize), String> {
    let shape = record.shape.as_ref().ok_or("record has no extra.shape")?;
    if shape.len() > limits.max_rank {
        return Err(format!("shape has {} dimensions, over the limit of {}", shape.len(), limits.max_rank));
    }
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= limits.max_latent_elements)
        .ok_or_else(|| {
            format!(
                "shape {shape:?} holds more than the limit of {} values (raise it with --max-latent-elements or in \
                 Settings > Limits)",
                limits.max_latent_elements
            )
        })?;
    let dims = shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| "dimension too large".to_string()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((dims, usize::try_from(elements).map_err(|_| "too many values")?))
}

fn decode_latent(
    source: &mut dyn Source,
    (start, end): (u64, u64),
    format: Format,
    record: &ChunkRecord,
    limits: &Limits,
) -> std::result::Result<LatentRead, String> {
    let (shape, elements) = latent_shape(record, limits)?;
    let key = record.key.clone().unwrap_or_else(|| format!("latent_{}", record.position));
    let read_error = |e: std::io::Error| format!("reading the chunk: {e}");
    let chunk_len = end - start;
    if !record.compressed {
        let mut content = source.reader(start, end).map_err(read_error)?;
        let raw = read_raw_latent(&mut *content, chunk_len, &shape, elements)?;
        let latent = Latent::new(key, shape, raw.values).map_err(|e| e.to_string())?;
        return Ok(LatentRead { latent, codec: StoredCodec::Raw, inner: raw.inner, framing: raw.framing });
    }
    if format == Format::Gen5 {
        // A zstd frame holding the inner header and the raw bytes, decoded as a stream.
        let chunk = source.bytes(start, end).map_err(read_error)?;
        let cap = (elements as u64 * Dtype::F32.size()).saturating_add(INNER_HEADER_SIZE as u64);
        let frame = codec::zstd_stream_frame(&chunk, cap, |declared, content| {
            read_raw_latent(content, declared, &shape, elements)
        })
        .map_err(|e| e.to_string())?;
        let mut raw = frame.value;
        if frame.frame_len < chunk.len() {
            raw.framing.push(format!("{} bytes follow the zstd frame", chunk.len() - frame.frame_len));
        }
        let latent = Latent::new(key, shape, raw.values).map_err(|e| e.to_string())?;
        return Ok(LatentRead { latent, codec: StoredCodec::Zstd, inner: raw.inner, framing: raw.framing });
    }
    // raiiaf compressed: zstd frame holding only the inner header, then a zfp stream.
    let mut framing = Vec::new();
    let (len_header, len_data) = match (record.len_header, record.len_data) {
        (Some(h), Some(d)) if h > 0 && d > 0 => (h, d),
        (h, d) => {
            return Err(format!(
                "compressed latent lacks positive len_header/len_data (got {h:?}/{d:?}); the reference refuses it too"
            ));
        }
    };
    let stream_end = len_header.checked_add(len_data).ok_or("len_header + len_data overflows")?;
    if stream_end > chunk_len {
        return Err(format!("len_header + len_data = {stream_end} runs past the chunk's {chunk_len} bytes"));
    }
    if stream_end != chunk_len {
        framing.push(format!("len_header + len_data = {stream_end}, compressed_size = {chunk_len}"));
    }
    let header_frame = source.bytes(start, start + len_header).map_err(read_error)?;
    let frame = codec::zstd_decode_frame(&header_frame, INNER_HEADER_SIZE as u64)
        .map_err(|e| format!("latent header frame: {e}"))?;
    if frame.frame_len != header_frame.len() {
        framing.push(format!("{} bytes follow the header frame", header_frame.len() - frame.frame_len));
    }
    drop(header_frame);
    let inner = match InnerHeader::parse(&frame.data) {
        Some(inner) if frame.data.len() == INNER_HEADER_SIZE => inner,
        _ => return Err(format!("latent header frame holds {} bytes, not 12", frame.data.len())),
    };
    let dtype = dtype_from_flags(&inner)?;
    let stream_len = usize::try_from(len_data).map_err(|_| "len_data too large")?;
    let mut stream = source.reader(start + len_header, start + stream_end).map_err(read_error)?;
    let array =
        zfp::zfp_decode_from(stream_len, elements as u64, &mut *stream).map_err(|e| format!("zfp stream: {e}"))?;
    if array.values.len() != elements {
        return Err(format!("zfp stream holds shape {:?}, the record says {shape:?}", array.shape));
    }
    let values = zfp_to_dtype(array.values, dtype);
    let latent = Latent::new(key, shape, values).map_err(|e| e.to_string())?;
    Ok(LatentRead { latent, codec: StoredCodec::Zfp, inner, framing })
}

fn dtype_from_flags(inner: &InnerHeader) -> std::result::Result<Dtype, String> {
    Dtype::from_flags(&inner.flags).ok_or_else(|| format!("unknown dtype flag {}", printable(&inner.flags)))
}

/// A latent stored as its inner header and raw little-endian values.
struct RawLatent {
    inner: InnerHeader,
    values: LatentValues,
    framing: Vec<String>,
}

/// Reads a raw latent from `content` (`content_len` bytes: inner header, then values), the
/// values going straight into their own buffer.
fn read_raw_latent(
    content: &mut dyn std::io::Read,
    content_len: u64,
    shape: &[usize],
    elements: usize,
) -> std::result::Result<RawLatent, String> {
    let mut head = [0u8; INNER_HEADER_SIZE];
    let inner = match content.read_exact(&mut head) {
        Ok(()) if content_len >= INNER_HEADER_SIZE as u64 => InnerHeader::parse(&head),
        _ => None,
    }
    .ok_or_else(|| format!("chunk holds {content_len} bytes, fewer than its 12-byte header"))?;
    let dtype = dtype_from_flags(&inner)?;
    let size = u64::from(inner.size);
    let needed = elements as u64 * dtype.size();
    if size != needed {
        return Err(format!(
            "inner header says {size} bytes but shape {shape:?} of {} needs {needed}",
            dtype.numpy_name()
        ));
    }
    let present = content_len - INNER_HEADER_SIZE as u64;
    if present < size {
        return Err(format!("truncated latent: {size} bytes declared, {present} present"));
    }
    let mut framing = Vec::new();
    if present > size {
        framing.push(format!("{} bytes after the latent data", present - size));
    }
    let values = LatentValues::read_le(dtype, elements, content).map_err(|e| format!("reading the latent: {e}"))?;
    Ok(RawLatent { inner, values, framing })
}

/// Casts decoded zfp values to the dtype the flags name, rounding as numpy's `astype` does.
fn zfp_to_dtype(values: ZfpValues, dtype: Dtype) -> LatentValues {
    use half::f16;
    match (values, dtype) {
        (ZfpValues::F32(v), Dtype::F32) => LatentValues::F32(v),
        (ZfpValues::F32(v), Dtype::F16) => LatentValues::F16(v.into_iter().map(f32_to_f16_exact).collect()),
        (ZfpValues::F64(v), Dtype::F32) => LatentValues::F32(v.into_iter().map(|x| x as f32).collect()),
        (ZfpValues::F64(v), Dtype::F16) => LatentValues::F16(v.into_iter().map(f16::from_f64).collect()),
        (ZfpValues::I32(v), Dtype::F32) => LatentValues::F32(v.into_iter().map(|x| x as f32).collect()),
        (ZfpValues::I32(v), Dtype::F16) => {
            LatentValues::F16(v.into_iter().map(|x| f16::from_f64(f64::from(x))).collect())
        }
        (ZfpValues::I64(v), Dtype::F32) => LatentValues::F32(v.into_iter().map(|x| x as f32).collect()),
        (ZfpValues::I64(v), Dtype::F16) => LatentValues::F16(v.into_iter().map(|x| f16::from_f64(x as f64)).collect()),
    }
}

fn check_latent(report: &mut Report, location: &Location, record: &ChunkRecord, hashed: &HashedLatent) {
    let read = &hashed.read;
    let latent = &read.latent;
    let dtype = latent.dtype();
    report.pass(
        code::CHUNK_DECODE,
        location.clone(),
        format!("{:?} {} via {}", latent.shape(), dtype.numpy_name(), read.codec.name()),
    );
    let mut problems = read.framing.clone();
    if &read.inner.kind != b"LATN" {
        problems.push(format!("type {} (expected LATN)", printable(&read.inner.kind)));
    }
    if Dtype::from_flags(record.flags.as_bytes()) != Some(dtype) {
        problems.push(format!("record flags {:?}, inner flags {}", record.flags, printable(&read.inner.flags)));
    }
    // Dtype::from_flags is lenient (it trims NULs and spaces, as the reference does); every
    // writer stores exactly `F32\0` or `F16\0`, so anything else is damage.
    if read.inner.flags != dtype.flags() {
        problems.push(format!("inner flags {} (expected {})", printable(&read.inner.flags), printable(&dtype.flags())));
    }
    if record.uncompressed_size != Some(u64::from(read.inner.size)) {
        problems
            .push(format!("inner size {}, record uncompressed_size {:?}", read.inner.size, record.uncompressed_size));
    }
    report.push(
        code::CHUNK_INNER_HEADER,
        location.clone(),
        problems.is_empty(),
        if problems.is_empty() {
            format!("LATN header, {} flags, {} bytes", dtype.flag_str(), read.inner.size)
        } else {
            problems.join("; ")
        },
    );
    let nbytes = latent.values().len() as u64 * dtype.size();
    let dtype_named = record.dtype.as_deref().is_none_or(|name| name == dtype.numpy_name());
    report.push(
        code::CHUNK_SHAPE,
        location.clone(),
        record.uncompressed_size == Some(nbytes) && dtype_named,
        format!(
            "shape {:?} x {} bytes = {nbytes}; uncompressed_size {:?}; extra.dtype {:?}",
            latent.shape(),
            dtype.size(),
            record.uncompressed_size,
            record.dtype
        ),
    );
    if let Some(axis) = super::latent::zero_length_axis(latent.shape()) {
        report.fail(
            code::CHUNK_SHAPE,
            location.clone(),
            format!(
                "axis {axis} of shape {:?} has length 0: the latent holds no values (the reference writer refuses such a shape)",
                latent.shape()
            ),
        );
    }
    check_hash(report, location.clone(), record.hash.as_deref(), &hashed.values_sha256);
}
