//! The two codecs of the container: zstd frames and zfp streams.
//!
//! Both decoders treat their input as hostile: sizes are checked against caps before any
//! allocation, and the zfp decoder never lets the C library read past the buffer it is given.

use std::io::Read;

use zfp_sys as zfp;

/// zstd level the reference uses (python-zstandard's default).
pub const ZSTD_LEVEL: i32 = 3;

/// Why a zstd frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The frame header does not state the decompressed size (the reference refuses these too).
    NoContentSize,
    /// The stated size is over the caller's cap; nothing was allocated.
    TooLarge {
        declared: u64,
        cap: u64,
    },
    Invalid(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::NoContentSize => write!(f, "zstd frame header does not state the content size"),
            FrameError::TooLarge { declared, cap } => {
                write!(f, "zstd frame declares {declared} bytes, over the limit of {cap}")
            }
            FrameError::Invalid(detail) => write!(f, "zstd frame does not decode: {detail}"),
        }
    }
}

/// A decoded zstd frame and how many input bytes it took.
#[derive(Debug)]
pub struct DecodedFrame {
    pub data: Vec<u8>,
    pub frame_len: usize,
}

/// Decodes the one zstd frame at the start of `input`, refusing to produce more than `cap` bytes.
/// Bytes after the frame are not read; the caller decides whether they matter.
pub fn zstd_decode_frame(input: &[u8], cap: u64) -> Result<DecodedFrame, FrameError> {
    let declared = match zstd::zstd_safe::get_frame_content_size(input) {
        Ok(Some(size)) => size,
        Ok(None) => return Err(FrameError::NoContentSize),
        Err(_) => return Err(FrameError::Invalid("not a zstd frame header".into())),
    };
    if declared > cap {
        return Err(FrameError::TooLarge { declared, cap });
    }
    let frame_len = zstd::zstd_safe::find_frame_compressed_size(input)
        .map_err(|code| FrameError::Invalid(zstd::zstd_safe::get_error_name(code).to_string()))?;
    let frame = input.get(..frame_len).ok_or_else(|| FrameError::Invalid("frame runs past its chunk".into()))?;
    let capacity = usize::try_from(declared).map_err(|_| FrameError::TooLarge { declared, cap })?;
    let data = zstd::bulk::decompress(frame, capacity).map_err(|e| FrameError::Invalid(e.to_string()))?;
    if data.len() as u64 != declared {
        return Err(FrameError::Invalid(format!("decoded {} bytes, header declared {declared}", data.len())));
    }
    Ok(DecodedFrame { data, frame_len })
}

/// Streams the one zstd frame at the start of `input` through `consume` without holding its
/// decoded content, refusing frames that declare more than `cap` bytes. `consume` gets the
/// declared content size and a reader of the content; what it leaves unread is read and counted,
/// so the frame's checksum is verified either way.
pub fn zstd_stream_frame<T>(
    input: &[u8],
    cap: u64,
    consume: impl FnOnce(u64, &mut dyn Read) -> Result<T, String>,
) -> Result<StreamedFrame<T>, String> {
    let declared = match zstd::zstd_safe::get_frame_content_size(input) {
        Ok(Some(size)) => size,
        Ok(None) => return Err(FrameError::NoContentSize.to_string()),
        Err(_) => return Err(FrameError::Invalid("not a zstd frame header".into()).to_string()),
    };
    if declared > cap {
        return Err(FrameError::TooLarge { declared, cap }.to_string());
    }
    let invalid = |e: std::io::Error| FrameError::Invalid(e.to_string()).to_string();
    let decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(invalid)?.single_frame();
    let mut content = CountingReader { inner: decoder, count: 0 };
    let value = consume(declared, &mut content)?;
    let consumed = content.count;
    std::io::copy(&mut content, &mut std::io::sink()).map_err(invalid)?;
    if content.count != declared {
        return Err(
            FrameError::Invalid(format!("decoded {} bytes, header declared {declared}", content.count)).to_string()
        );
    }
    let after_frame = content.inner.finish().len();
    Ok(StreamedFrame { value, unread: declared - consumed, frame_len: input.len() - after_frame })
}

/// What [`zstd_stream_frame`] returns.
#[derive(Debug)]
pub struct StreamedFrame<T> {
    pub value: T,
    /// Content bytes the consumer did not read.
    pub unread: u64,
    /// Bytes of input the frame took.
    pub frame_len: usize,
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Encodes one zstd frame the way this program writes every frame: level 3, the content size in
/// the frame header (the reference needs it) and zstd's content checksum (so a flipped bit is caught).
pub fn zstd_encode_frame(data: &[u8]) -> std::io::Result<Vec<u8>> {
    zstd_encode_frame_at(data, ZSTD_LEVEL)
}

/// zstd level for the small JSON chunks (manifest, environment): a few kilobytes, so the
/// strongest level costs microseconds and keeps files no larger than the reference's.
pub const ZSTD_LEVEL_SMALL: i32 = 19;

/// [`zstd_encode_frame`] at a chosen level.
pub fn zstd_encode_frame_at(data: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    use zstd::zstd_safe::CParameter;
    let mut compressor = zstd::bulk::Compressor::new(level)?;
    compressor.set_parameter(CParameter::ChecksumFlag(true))?;
    compressor.set_parameter(CParameter::ContentSizeFlag(true))?;
    compressor.compress(data)
}

/// zfp compression modes this program writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZfpMode {
    /// Lossless (what zfpy uses when no tolerance, rate or precision is given).
    Reversible,
    /// Fixed accuracy: absolute error at most this tolerance.
    Accuracy(f64),
}

/// Values of a decoded zfp stream, in the scalar type its header names.
#[derive(Debug, Clone, PartialEq)]
pub enum ZfpValues {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl ZfpValues {
    pub fn len(&self) -> usize {
        match self {
            ZfpValues::I32(v) => v.len(),
            ZfpValues::I64(v) => v.len(),
            ZfpValues::F32(v) => v.len(),
            ZfpValues::F64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZfpArray {
    /// C-order shape rebuilt from the stream header (nw, nz, ny, nx, zeros dropped).
    pub shape: Vec<usize>,
    pub values: ZfpValues,
}

/// Largest dimension zfp's full header can record for a field of `rank` dimensions.
fn zfp_header_max_dim(rank: usize) -> Option<u64> {
    match rank {
        1 => Some(1 << 32),
        2 => Some(1 << 24),
        3 => Some(1 << 16),
        4 => Some(1 << 12),
        _ => None,
    }
}

/// Whether zfp can store a C-order array of this shape with its full header.
pub fn zfp_supports_shape(shape: &[usize]) -> bool {
    match zfp_header_max_dim(shape.len()) {
        Some(max) => shape.iter().all(|&d| d >= 1 && (d as u64) <= max),
        None => false,
    }
}

/// Owns zfp's C objects and frees them on every path.
struct ZfpHandles {
    field: *mut zfp::zfp_field,
    stream: *mut zfp::zfp_stream,
    bits: *mut zfp::bitstream,
}

impl Drop for ZfpHandles {
    fn drop(&mut self) {
        // SAFETY: each pointer is either null or was returned by the matching zfp allocator and
        // is freed exactly once here.
        unsafe {
            if !self.stream.is_null() {
                zfp::zfp_stream_close(self.stream);
            }
            if !self.bits.is_null() {
                zfp::stream_close(self.bits);
            }
            if !self.field.is_null() {
                zfp::zfp_field_free(self.field);
            }
        }
    }
}

/// Describes a C-order shape to zfp the way zfpy does: dimensions reversed (nx = last axis).
/// Contiguous strides are zfp's default, so none are set.
///
/// # Safety
/// `field` must be a live zfp field.
unsafe fn set_field_size(field: *mut zfp::zfp_field, shape: &[usize]) {
    // SAFETY: the caller guarantees `field` is live; sizes are plain integers.
    unsafe {
        match *shape {
            [nx] => zfp::zfp_field_set_size_1d(field, nx),
            [ny, nx] => zfp::zfp_field_set_size_2d(field, nx, ny),
            [nz, ny, nx] => zfp::zfp_field_set_size_3d(field, nx, ny, nz),
            [nw, nz, ny, nx] => zfp::zfp_field_set_size_4d(field, nx, ny, nz, nw),
            _ => {}
        }
    }
}

/// Compresses a float32 C-order array into a zfp stream with zfp's full header, as
/// `zfpy.compress_numpy` does.
pub fn zfp_encode_f32(values: &[f32], shape: &[usize], mode: ZfpMode) -> Result<Vec<u8>, String> {
    if !zfp_supports_shape(shape) {
        return Err(format!("zfp cannot store shape {shape:?} (1 to 4 dimensions, each within zfp's header limits)"));
    }
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(values.len()) {
        return Err(format!("shape {shape:?} does not hold {} values", values.len()));
    }
    // SAFETY: zfp reads `values` through the field pointer only during zfp_compress, while
    // `values` is borrowed; the output buffer outlives the bitstream that writes into it, and
    // zfp_stream_maximum_size bounds how much zfp writes.
    unsafe {
        let mut handles = ZfpHandles {
            field: zfp::zfp_field_alloc(),
            stream: zfp::zfp_stream_open(std::ptr::null_mut()),
            bits: std::ptr::null_mut(),
        };
        if handles.field.is_null() || handles.stream.is_null() {
            return Err("zfp could not allocate its structures".into());
        }
        zfp::zfp_field_set_type(handles.field, zfp::zfp_type_zfp_type_float);
        zfp::zfp_field_set_pointer(handles.field, values.as_ptr() as *mut std::ffi::c_void);
        set_field_size(handles.field, shape);
        match mode {
            ZfpMode::Reversible => zfp::zfp_stream_set_reversible(handles.stream),
            ZfpMode::Accuracy(tolerance) => {
                zfp::zfp_stream_set_accuracy(handles.stream, tolerance);
            }
        }
        let max_bytes = zfp::zfp_stream_maximum_size(handles.stream, handles.field);
        if max_bytes == 0 {
            return Err("zfp refused the field".into());
        }
        let mut buffer = vec![0u64; max_bytes.div_ceil(8)];
        handles.bits = zfp::stream_open(buffer.as_mut_ptr().cast(), buffer.len() * 8);
        if handles.bits.is_null() {
            return Err("zfp could not open its bit stream".into());
        }
        zfp::zfp_stream_set_bit_stream(handles.stream, handles.bits);
        zfp::zfp_stream_rewind(handles.stream);
        if zfp::zfp_write_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL) == 0 {
            return Err("zfp could not write its header".into());
        }
        let written = zfp::zfp_compress(handles.stream, handles.field);
        if written == 0 {
            return Err("zfp compression failed".into());
        }
        drop(handles);
        let bytes: Vec<u8> = buffer.iter().flat_map(|word| word.to_ne_bytes()).take(written).collect();
        Ok(bytes)
    }
}

/// A bit stream reader positioned just after a zfp full header.
struct ZfpReader {
    handles: ZfpHandles,
    shape: Vec<usize>,
    scalar: zfp::zfp_type,
    /// Most bytes a stream of this field and mode can occupy, header included.
    max_bytes: usize,
}

/// Opens zfp over `words` and reads the full header.
///
/// # Safety
/// `words` must stay alive and unmoved while the returned reader is used.
unsafe fn zfp_open_reader(words: &mut [u64]) -> Result<ZfpReader, String> {
    // SAFETY: the bit stream covers exactly `words`; the handles free themselves on drop.
    unsafe {
        let handles = ZfpHandles {
            field: zfp::zfp_field_alloc(),
            stream: zfp::zfp_stream_open(std::ptr::null_mut()),
            bits: zfp::stream_open(words.as_mut_ptr().cast(), words.len() * 8),
        };
        if handles.field.is_null() || handles.stream.is_null() || handles.bits.is_null() {
            return Err("zfp could not allocate its structures".into());
        }
        zfp::zfp_stream_set_bit_stream(handles.stream, handles.bits);
        zfp::zfp_stream_rewind(handles.stream);
        if zfp::zfp_read_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL) == 0 {
            return Err("not a zfp stream with a full header (magic, field, mode)".into());
        }
        let field = &*handles.field;
        let shape: Vec<usize> = [field.nw, field.nz, field.ny, field.nx].into_iter().filter(|&d| d != 0).collect();
        let scalar = field.type_;
        let max_bytes = zfp::zfp_stream_maximum_size(handles.stream, handles.field);
        if max_bytes == 0 {
            return Err("zfp stream has an unsupported mode or scalar type".into());
        }
        Ok(ZfpReader { handles, shape, scalar, max_bytes })
    }
}

/// Bytes of zero padding after a stream so zfp's header reader (at most 192 bits) cannot run
/// past the buffer.
const ZFP_HEADER_PAD_BYTES: usize = 32;

/// Decodes a zfp stream that starts with zfp's full header, as `zfpy.decompress_numpy` does.
/// `max_elements` is checked against the header's dimensions before anything is allocated.
pub fn zfp_decode(stream_bytes: &[u8], max_elements: u64) -> Result<ZfpArray, String> {
    zfp_decode_from(stream_bytes.len(), max_elements, &mut &*stream_bytes)
}

/// [`zfp_decode`] of the `stream_len` bytes `reader` yields, read straight into the buffer zfp
/// decodes from.
pub fn zfp_decode_from(stream_len: usize, max_elements: u64, reader: &mut dyn Read) -> Result<ZfpArray, String> {
    // zfp's bit reader does not check where its buffer ends, so it reads from a word-aligned
    // buffer padded with zeros up to the most that a stream of the declared field and mode can
    // occupy; afterwards the amount it consumed is compared with the real length. The header is
    // read first, from the stream's first bytes, to learn that size.
    let read_error = |e: std::io::Error| format!("zfp stream: {e}");
    let mut head = vec![0u8; stream_len.min(ZFP_HEADER_PAD_BYTES)];
    reader.read_exact(&mut head).map_err(read_error)?;
    let mut head_words = vec![0u64; (head.len() + ZFP_HEADER_PAD_BYTES).div_ceil(8)];
    copy_into_words(&mut head_words, &head);
    // SAFETY: each buffer outlives the reader opened over it.
    unsafe {
        let header = zfp_open_reader(&mut head_words)?;
        let elements = header.shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).unwrap_or(u64::MAX);
        if elements > max_elements {
            return Err(format!("zfp header declares {elements} values, over the limit of {max_elements}"));
        }
        let count = usize::try_from(elements).map_err(|_| "zfp field too large".to_string())?;
        // zfp pads every block to at least `minbits` bits, so a whole stream holds at least
        // blocks x minbits bits. Checking that first keeps a hostile mode (up to 32768 bits per
        // block) from sizing the padded buffer below at gigabytes for a stream of a few bytes.
        let blocks = zfp::zfp_field_blocks(header.handles.field) as u64;
        let min_bits = blocks.saturating_mul(u64::from((*header.handles.stream).minbits));
        if min_bits > (stream_len as u64).saturating_mul(8) {
            return Err(format!(
                "zfp stream is truncated: its mode needs at least {} bytes, it has {stream_len}",
                min_bits.div_ceil(8),
            ));
        }
        // Zeroed allocation: the padding past the stream is never written, so for a sound stream
        // its pages are never touched and cost no memory.
        let mut words = vec![0u64; (header.max_bytes.max(stream_len) + ZFP_HEADER_PAD_BYTES).div_ceil(8)];
        drop(header);
        copy_into_words(&mut words, &head);
        let mut batch = vec![0u8; 64 << 10];
        let mut filled = head.len();
        while filled < stream_len {
            let take = (stream_len - filled).min(batch.len());
            let bytes = batch.get_mut(..take).ok_or("zfp read batch")?;
            reader.read_exact(bytes).map_err(read_error)?;
            // `filled` stays a multiple of 8 until the last batch, so batches land on whole words.
            copy_into_words(words.get_mut(filled / 8..).ok_or("zfp buffer too small")?, bytes);
            filled += take;
        }
        let reader = zfp_open_reader(&mut words)?;
        let mut values = match reader.scalar {
            t if t == zfp::zfp_type_zfp_type_int32 => ZfpValues::I32(vec![0; count]),
            t if t == zfp::zfp_type_zfp_type_int64 => ZfpValues::I64(vec![0; count]),
            t if t == zfp::zfp_type_zfp_type_float => ZfpValues::F32(vec![0.0; count]),
            t if t == zfp::zfp_type_zfp_type_double => ZfpValues::F64(vec![0.0; count]),
            _ => return Err("zfp stream has an unknown scalar type".into()),
        };
        let pointer: *mut std::ffi::c_void = match &mut values {
            ZfpValues::I32(v) => v.as_mut_ptr().cast(),
            ZfpValues::I64(v) => v.as_mut_ptr().cast(),
            ZfpValues::F32(v) => v.as_mut_ptr().cast(),
            ZfpValues::F64(v) => v.as_mut_ptr().cast(),
        };
        zfp::zfp_field_set_pointer(reader.handles.field, pointer);
        let consumed = zfp::zfp_decompress(reader.handles.stream, reader.handles.field);
        if consumed == 0 {
            return Err("zfp could not decode the stream".into());
        }
        if consumed > stream_len.next_multiple_of(8) {
            return Err(format!("zfp stream is truncated: decoding needs {consumed} bytes, it has {stream_len}"));
        }
        Ok(ZfpArray { shape: reader.shape, values })
    }
}

fn copy_into_words(words: &mut [u64], bytes: &[u8]) {
    for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut le = [0u8; 8];
        le[..chunk.len()].copy_from_slice(chunk);
        *word = u64::from_ne_bytes(le);
    }
}
