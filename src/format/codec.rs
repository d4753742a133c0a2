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

thread_local! {
    /// One decompression context per thread: creating one per frame was 13% of verifying a
    /// folder of small files (three frames each).
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Decodes the one zstd frame at the start of `input`, refusing to produce more than `cap` bytes.
/// Bytes after the frame are not read; the caller decides whether they matter.
pub fn zstd_decode_frame(input: &[u8], cap: u64) -> Result<DecodedFrame, FrameError> {
    check_frame_descriptor(input)?;
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
    let data = DECOMPRESSOR
        .with(|slot| {
            let mut slot = slot.borrow_mut();
            let decompressor = match slot.as_mut() {
                Some(decompressor) => decompressor,
                None => slot.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.decompress(frame, capacity)
        })
        .map_err(|e| FrameError::Invalid(e.to_string()))?;
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
    check_frame_descriptor(input).map_err(|e| e.to_string())?;
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

/// Largest block a zstd frame may hold (the format's `Block_Maximum_Size`).
const ZSTD_MAX_BLOCK: usize = 128 << 10;

/// One zstd frame that stores `data` verbatim in raw blocks, with the content size and zstd's
/// content checksum. Any standard decoder reads it. Used for the manifest: compressed zstd data has
/// bits whose change leaves the output unchanged (so a content checksum cannot see them), while in
/// raw blocks every content bit is output, and the frame's remaining bits are sizes and flags that
/// a change makes fail to decode. The manifest is a few kilobytes, so storing it costs little.
pub fn zstd_encode_stored_frame(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u64;
    // Single segment (the window is the content), checksum flag, and the smallest content-size
    // field that holds `len`: 1 byte below 256, 2 bytes for 256..=65791 (stored minus 256), else
    // 4 or 8 bytes.
    let (size_flag, size_field): (u8, Vec<u8>) = match len {
        0..=255 => (0, vec![len as u8]),
        256..=65_791 => (1, ((len - 256) as u16).to_le_bytes().to_vec()),
        65_792..=0xffff_ffff => (2, (len as u32).to_le_bytes().to_vec()),
        _ => (3, len.to_le_bytes().to_vec()),
    };
    let descriptor = (size_flag << 6) | (1 << 5) | (1 << 2);
    let blocks = data.len().div_ceil(ZSTD_MAX_BLOCK).max(1);
    let mut out = Vec::with_capacity(4 + 1 + size_field.len() + blocks * 3 + data.len() + 4);
    out.extend_from_slice(&0xFD2F_B528u32.to_le_bytes());
    out.push(descriptor);
    out.extend_from_slice(&size_field);
    let mut pieces = data.chunks(ZSTD_MAX_BLOCK).peekable();
    if pieces.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0]); // one empty raw block, marked last
    }
    while let Some(piece) = pieces.next() {
        let last = u32::from(pieces.peek().is_none());
        // Block header: bit 0 last block, bits 1-2 type (0 = raw), bits 3-23 size.
        let block_header = last | ((piece.len() as u32) << 3);
        out.extend_from_slice(&block_header.to_le_bytes()[..3]);
        out.extend_from_slice(piece);
    }
    let checksum = xxhash_rust::xxh64::xxh64(data, 0) as u32;
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

/// Bit 4 of a zstd frame's header descriptor is unused: zstd writers leave it 0 and decoders
/// ignore it, so a flip there would go unseen. Refused here, with the other header fields zstd
/// itself checks.
fn check_frame_descriptor(input: &[u8]) -> Result<(), FrameError> {
    const UNUSED_BIT: u8 = 1 << 4;
    match input.get(4) {
        Some(descriptor) if descriptor & UNUSED_BIT != 0 => {
            Err(FrameError::Invalid("frame header sets its unused bit, which no zstd writer does".into()))
        }
        _ => Ok(()),
    }
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
}

/// Opens zfp over the `len` words at `words` and reads the full header.
///
/// # Safety
/// `words` must point to `len` initialised words that stay alive and unmoved while the returned
/// reader is used.
unsafe fn zfp_open_reader(words: *mut u64, len: usize) -> Result<ZfpReader, String> {
    // SAFETY: the bit stream covers exactly the caller's words; the handles free themselves on
    // drop.
    unsafe {
        let handles = ZfpHandles {
            field: zfp::zfp_field_alloc(),
            stream: zfp::zfp_stream_open(std::ptr::null_mut()),
            bits: zfp::stream_open(words.cast(), len * 8),
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
        if zfp::zfp_stream_maximum_size(handles.stream, handles.field) == 0 {
            return Err("zfp stream has an unsupported mode or scalar type".into());
        }
        Ok(ZfpReader { handles, shape, scalar })
    }
}

/// Bytes of zero padding after a stream so zfp's header reader (at most 192 bits) cannot run
/// past the buffer.
const ZFP_HEADER_PAD_BYTES: usize = 32;

/// Bytes of the window [`zfp_decode_from`] passes a stream through.
const ZFP_WINDOW_BYTES: usize = 1 << 20;

/// Words the window keeps past the most one block can read, as a margin.
const ZFP_SLACK_WORDS: usize = 2;

/// Most bits zfp's decoder reads for one block of a `dims`-dimensional field in a stream whose
/// mode pads every block to at least `minbits` bits.
///
/// A block is a prefix (zero-block flag, transform flag, exponent, precision: under 20 bits),
/// then at most 64 bit planes of its `4^dims` coefficients: each plane reads one bit per
/// coefficient already significant and one group test that ends the plane, and over the whole
/// block at most two more bits per coefficient that becomes significant. A block shorter than
/// `minbits` is skipped ahead to exactly `minbits`. The mode's `maxbits` is deliberately not
/// trusted: when a (hostile) header sets it below the prefix, zfp's unsigned bit budget wraps
/// around and only the bit planes bound the block.
fn zfp_block_bits_bound(dims: u32, minbits: u32) -> u64 {
    let values = 1u64 << (2 * dims.min(4));
    (256 + 66 * values).max(u64::from(minbits))
}

/// The part of a zfp stream the decoder reads from: a fixed buffer of words refilled from the
/// reader, so that however long the stream, only this much of it is in memory at once.
///
/// zfp's bit reader does not check where its buffer ends, so before each block the window holds
/// the most one block can read (plus slack) past the reading position: stream words while the
/// reader has more, else zero padding after the stream's real end. Reading into that padding is
/// how a truncated stream shows: the bits consumed then run past the stream's length.
struct ZfpWindow<'r> {
    /// Owns the words; never touched after `words` is taken from it, so that the pointer zfp
    /// holds and every access here share one provenance.
    _buffer: Vec<u64>,
    words: *mut u64,
    len: usize,
    reader: &'r mut dyn Read,
    stream_len: usize,
    /// Stream bytes read into the window so far.
    loaded: usize,
    /// Index in the stream of the window's first word.
    first_word: u64,
    /// Most bits one block can read ([`zfp_block_bits_bound`]).
    block_bits: u64,
}

impl<'r> ZfpWindow<'r> {
    /// A window of about `requested` words (at least what one block needs, at most what the
    /// stream needs) holding `head`, the stream's first bytes already read, then as much of the
    /// rest as fits.
    fn new(
        reader: &'r mut dyn Read,
        stream_len: usize,
        head: &[u8],
        block_bits: u64,
        requested: usize,
    ) -> Result<Self, String> {
        let least = Self::least_words(block_bits)?;
        let len = requested.min(stream_len.div_ceil(8).saturating_add(least)).max(least);
        let mut buffer = vec![0u64; len];
        let words = buffer.as_mut_ptr();
        let mut window =
            ZfpWindow { _buffer: buffer, words, len, reader, stream_len, loaded: 0, first_word: 0, block_bits };
        window.bytes_mut().get_mut(..head.len()).ok_or("zfp window smaller than the header")?.copy_from_slice(head);
        window.loaded = head.len();
        window.top_up(head.len())?;
        Ok(window)
    }

    /// The fewest words that hold a block's most bits starting anywhere in the first word, plus
    /// slack.
    fn least_words(block_bits: u64) -> Result<usize, String> {
        usize::try_from((block_bits + 63).div_ceil(64))
            .map(|words| words + ZFP_SLACK_WORDS)
            .map_err(|_| "zfp block too large".to_string())
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `words` points to `len` initialised words owned by `_buffer`, any bytes are
        // valid there, and the slice borrows the window mutably for as long as it lives.
        unsafe { std::slice::from_raw_parts_mut(self.words.cast::<u8>(), self.len * 8) }
    }

    /// Reads as much of the rest of the stream as fits after the window's first `kept` bytes,
    /// and zeroes whatever follows.
    fn top_up(&mut self, kept: usize) -> Result<(), String> {
        let take = self.stream_len.saturating_sub(self.loaded).min((self.len * 8).saturating_sub(kept));
        // SAFETY: as in `bytes_mut`; the slice is disjoint from `self.reader`, which is never a
        // view of the window.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.words.cast::<u8>(), self.len * 8) };
        let rest = bytes.get_mut(kept..).ok_or("zfp window overrun")?;
        let (fill, tail) = rest.split_at_mut_checked(take).ok_or("zfp window overrun")?;
        self.reader.read_exact(fill).map_err(|e| format!("zfp stream: {e}"))?;
        tail.fill(0);
        self.loaded += take;
        Ok(())
    }

    /// Words from the window's start that zfp may read: those loaded from the stream, or all of
    /// them once the whole stream is loaded (the rest being zero padding). While the stream is
    /// not all loaded, `loaded` is a whole number of words.
    fn readable_words(&self) -> u64 {
        if self.loaded >= self.stream_len {
            self.len as u64
        } else {
            (self.loaded as u64 / 8).saturating_sub(self.first_word)
        }
    }

    /// Whether a block read from bit `position` of the window stays within its readable words.
    fn fits(&self, position: u64) -> bool {
        (position + self.block_bits).div_ceil(64) + ZFP_SLACK_WORDS as u64 <= self.readable_words()
    }

    /// Makes sure the most one block can read lies ahead of `bits`' position: if it does not,
    /// moves the unread words to the front, tops the window up from the reader and re-points
    /// `bits` at the same stream position.
    ///
    /// # Safety
    /// `bits` must be the bit stream opened over this window's words.
    unsafe fn prepare_block(&mut self, bits: *mut zfp::bitstream) -> Result<(), String> {
        // SAFETY: the caller guarantees `bits` is live.
        let position = unsafe { zfp::stream_rtell(bits) };
        if self.fits(position) {
            return Ok(());
        }
        let first = position / 64;
        let valid = (self.loaded as u64).saturating_sub(self.first_word * 8).div_ceil(8);
        let kept = valid.saturating_sub(first);
        let too_large = |_| "zfp window overrun".to_string();
        let (first_index, kept_words) =
            (usize::try_from(first).map_err(too_large)?, usize::try_from(kept).map_err(too_large)?);
        if first_index.checked_add(kept_words).is_none_or(|end| end > self.len) {
            return Err("zfp window overrun".into());
        }
        // SAFETY: both ranges lie inside the window's `len` words (checked above); `copy`
        // allows them to overlap.
        unsafe { std::ptr::copy(self.words.add(first_index), self.words, kept_words) };
        self.first_word += first;
        self.top_up(kept_words * 8)?;
        // SAFETY: `bits` covers the window, and the offset lies in its first word.
        unsafe { zfp::stream_rseek(bits, position % 64) };
        if !self.fits(position % 64) {
            return Err("zfp window too small for one block".into());
        }
        Ok(())
    }

    /// Bits of the stream consumed so far, counted from its start.
    ///
    /// # Safety
    /// `bits` must be the bit stream opened over this window's words.
    unsafe fn consumed_bits(&self, bits: *mut zfp::bitstream) -> u64 {
        // SAFETY: the caller guarantees `bits` is live.
        self.first_word * 64 + unsafe { zfp::stream_rtell(bits) }
    }
}

/// A scalar type zfp decodes, with its block decoders for 1 to 4 dimensions.
trait ZfpScalar: Sized {
    /// Decodes the block at `p`: a whole one when `counts` is 4 along each of the `dims` axes,
    /// else the partial block zfp stores at the field's far edges. Each decoder takes the same
    /// bits from the stream as `zfp_decompress` would for that block.
    ///
    /// # Safety
    /// `stream`'s bit stream must hold the block's bits ahead of its position, and `p` with
    /// `strides` must address `counts` writable values along each axis.
    unsafe fn decode_block(
        stream: *mut zfp::zfp_stream,
        p: *mut Self,
        dims: u32,
        counts: [usize; 4],
        strides: [isize; 4],
    );
}

macro_rules! zfp_scalar {
    ($scalar:ty: $block1:ident, $partial1:ident, $block2:ident, $partial2:ident, $block3:ident, $partial3:ident,
     $block4:ident, $partial4:ident) => {
        impl ZfpScalar for $scalar {
            #[inline]
            unsafe fn decode_block(
                stream: *mut zfp::zfp_stream,
                p: *mut Self,
                dims: u32,
                counts: [usize; 4],
                strides: [isize; 4],
            ) {
                let [nx, ny, nz, nw] = counts;
                let [sx, sy, sz, sw] = strides;
                // SAFETY: forwarded from the caller. As in zfp_decompress, whole 1-D blocks are
                // contiguous and decoded by the unstrided decoder.
                unsafe {
                    match dims {
                        1 if nx == 4 => {
                            zfp::$block1(stream, p);
                        }
                        1 => {
                            zfp::$partial1(stream, p, nx, sx);
                        }
                        2 if nx == 4 && ny == 4 => {
                            zfp::$block2(stream, p, sx, sy);
                        }
                        2 => {
                            zfp::$partial2(stream, p, nx, ny, sx, sy);
                        }
                        3 if nx == 4 && ny == 4 && nz == 4 => {
                            zfp::$block3(stream, p, sx, sy, sz);
                        }
                        3 => {
                            zfp::$partial3(stream, p, nx, ny, nz, sx, sy, sz);
                        }
                        _ if nx == 4 && ny == 4 && nz == 4 && nw == 4 => {
                            zfp::$block4(stream, p, sx, sy, sz, sw);
                        }
                        _ => {
                            zfp::$partial4(stream, p, nx, ny, nz, nw, sx, sy, sz, sw);
                        }
                    }
                }
            }
        }
    };
}

zfp_scalar!(i32: zfp_decode_block_int32_1, zfp_decode_partial_block_strided_int32_1,
    zfp_decode_block_strided_int32_2, zfp_decode_partial_block_strided_int32_2,
    zfp_decode_block_strided_int32_3, zfp_decode_partial_block_strided_int32_3,
    zfp_decode_block_strided_int32_4, zfp_decode_partial_block_strided_int32_4);
zfp_scalar!(i64: zfp_decode_block_int64_1, zfp_decode_partial_block_strided_int64_1,
    zfp_decode_block_strided_int64_2, zfp_decode_partial_block_strided_int64_2,
    zfp_decode_block_strided_int64_3, zfp_decode_partial_block_strided_int64_3,
    zfp_decode_block_strided_int64_4, zfp_decode_partial_block_strided_int64_4);
zfp_scalar!(f32: zfp_decode_block_float_1, zfp_decode_partial_block_strided_float_1,
    zfp_decode_block_strided_float_2, zfp_decode_partial_block_strided_float_2,
    zfp_decode_block_strided_float_3, zfp_decode_partial_block_strided_float_3,
    zfp_decode_block_strided_float_4, zfp_decode_partial_block_strided_float_4);
zfp_scalar!(f64: zfp_decode_block_double_1, zfp_decode_partial_block_strided_double_1,
    zfp_decode_block_strided_double_2, zfp_decode_partial_block_strided_double_2,
    zfp_decode_block_strided_double_3, zfp_decode_partial_block_strided_double_3,
    zfp_decode_block_strided_double_4, zfp_decode_partial_block_strided_double_4);

/// Decodes every block of a `dims`-dimensional field of `size` = (nx, ny, nz, nw) values (1 for
/// unused dimensions) into the C-order array `out`, in `zfp_decompress`'s serial order (w, z,
/// y, x loops in steps of 4, x fastest; partial blocks at the far edges), making sure before
/// each block that the window holds what it can read.
///
/// # Safety
/// `stream`'s bit stream must be `bits`, opened over `window`'s words and positioned at the
/// first block.
unsafe fn zfp_decode_blocks<T: ZfpScalar>(
    out: &mut [T],
    size: [usize; 4],
    dims: u32,
    stream: *mut zfp::zfp_stream,
    bits: *mut zfp::bitstream,
    window: &mut ZfpWindow,
) -> Result<(), String> {
    if !(1..=4).contains(&dims) {
        return Err("zfp could not decode the stream".into());
    }
    let [nx, ny, nz, nw] = size;
    let plane = nx.checked_mul(ny);
    let volume = plane.and_then(|p| p.checked_mul(nz));
    let (Some(plane), Some(volume)) = (plane, volume) else { return Err("zfp field too large".into()) };
    if volume.checked_mul(nw) != Some(out.len()) {
        return Err("zfp field does not match its values".into());
    }
    let stride = |n: usize| isize::try_from(n).map_err(|_| "zfp field too large".to_string());
    let strides = [1, stride(nx)?, stride(plane)?, stride(volume)?];
    let base = out.as_mut_ptr();
    for w in (0..nw).step_by(4) {
        for z in (0..nz).step_by(4) {
            for y in (0..ny).step_by(4) {
                for x in (0..nx).step_by(4) {
                    // SAFETY: forwarded from the caller.
                    unsafe { window.prepare_block(bits)? };
                    let counts = [(nx - x).min(4), (ny - y).min(4), (nz - z).min(4), (nw - w).min(4)];
                    // SAFETY: the window holds the block's bits; the block starts inside `out`
                    // and spans `counts` values along each axis, all inside `out`.
                    unsafe {
                        T::decode_block(stream, base.add(x + y * nx + z * plane + w * volume), dims, counts, strides)
                    };
                }
            }
        }
    }
    Ok(())
}

/// Decodes a zfp stream that starts with zfp's full header, as `zfpy.decompress_numpy` does.
/// `max_elements` is checked against the header's dimensions before anything is allocated.
pub fn zfp_decode(stream_bytes: &[u8], max_elements: u64) -> Result<ZfpArray, String> {
    zfp_decode_from(stream_bytes.len(), max_elements, &mut &*stream_bytes)
}

/// [`zfp_decode`] of the `stream_len` bytes `reader` yields, decoded block by block as they pass
/// through a window of about 1 MiB: the only allocation proportional to the data is the array
/// of decoded values.
pub fn zfp_decode_from(stream_len: usize, max_elements: u64, reader: &mut dyn Read) -> Result<ZfpArray, String> {
    zfp_decode_windowed(stream_len, max_elements, reader, ZFP_WINDOW_BYTES / 8).map(|(array, _)| array)
}

/// [`zfp_decode_from`] through a window of about `window_words` words (at least what one block
/// needs); also returns the bytes consumed, as `zfp_decompress` counts them.
fn zfp_decode_windowed(
    stream_len: usize,
    max_elements: u64,
    reader: &mut dyn Read,
    window_words: usize,
) -> Result<(ZfpArray, usize), String> {
    // The header is read first, from the stream's first bytes padded with zeros, so the sizes it
    // declares are checked before anything is allocated for them.
    let mut head = vec![0u8; stream_len.min(ZFP_HEADER_PAD_BYTES)];
    reader.read_exact(&mut head).map_err(|e| format!("zfp stream: {e}"))?;
    let mut head_words = vec![0u64; (head.len() + ZFP_HEADER_PAD_BYTES).div_ceil(8)];
    copy_into_words(&mut head_words, &head);
    // SAFETY: each reader's bit stream covers a buffer that outlives it: `head_words`, then the
    // window's words, which never move; the window keeps what one block can read ahead of the
    // position before every block, and the values array holds every block's values.
    unsafe {
        let header = zfp_open_reader(head_words.as_mut_ptr(), head_words.len())?;
        let elements = header.shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).unwrap_or(u64::MAX);
        if elements > max_elements {
            return Err(format!("zfp header declares {elements} values, over the limit of {max_elements}"));
        }
        let count = usize::try_from(elements).map_err(|_| "zfp field too large".to_string())?;
        // zfp pads every block to at least `minbits` bits, so a whole stream holds at least
        // blocks x minbits bits. Checked first, so a hostile mode (up to 32768 bits per block)
        // cannot make a stream of a few bytes decode gigabytes of zero padding.
        let blocks = zfp::zfp_field_blocks(header.handles.field) as u64;
        let minbits = (*header.handles.stream).minbits;
        let min_bits = blocks.saturating_mul(u64::from(minbits));
        if min_bits > (stream_len as u64).saturating_mul(8) {
            return Err(format!(
                "zfp stream is truncated: its mode needs at least {} bytes, it has {stream_len}",
                min_bits.div_ceil(8),
            ));
        }
        let dims = zfp::zfp_field_dimensionality(header.handles.field);
        drop(header);
        let mut window = ZfpWindow::new(reader, stream_len, &head, zfp_block_bits_bound(dims, minbits), window_words)?;
        let decoder = zfp_open_reader(window.words, window.len)?;
        let field = &*decoder.handles.field;
        let size = [field.nx, field.ny, field.nz, field.nw].map(|n| n.max(1));
        let (stream, bits) = (decoder.handles.stream, decoder.handles.bits);
        let values = match decoder.scalar {
            t if t == zfp::zfp_type_zfp_type_int32 => {
                let mut v = vec![0i32; count];
                zfp_decode_blocks(&mut v, size, dims, stream, bits, &mut window)?;
                ZfpValues::I32(v)
            }
            t if t == zfp::zfp_type_zfp_type_int64 => {
                let mut v = vec![0i64; count];
                zfp_decode_blocks(&mut v, size, dims, stream, bits, &mut window)?;
                ZfpValues::I64(v)
            }
            t if t == zfp::zfp_type_zfp_type_float => {
                let mut v = vec![0f32; count];
                zfp_decode_blocks(&mut v, size, dims, stream, bits, &mut window)?;
                ZfpValues::F32(v)
            }
            t if t == zfp::zfp_type_zfp_type_double => {
                let mut v = vec![0f64; count];
                zfp_decode_blocks(&mut v, size, dims, stream, bits, &mut window)?;
                ZfpValues::F64(v)
            }
            _ => return Err("zfp stream has an unknown scalar type".into()),
        };
        // zfp_decompress ends by aligning the stream on a whole word and reports the bytes up
        // to there.
        let consumed = usize::try_from(window.consumed_bits(bits).div_ceil(64) * 8)
            .map_err(|_| "zfp stream too long".to_string())?;
        if consumed == 0 {
            return Err("zfp could not decode the stream".into());
        }
        if consumed > stream_len.next_multiple_of(8) {
            return Err(format!("zfp stream is truncated: decoding needs {consumed} bytes, it has {stream_len}"));
        }
        Ok((ZfpArray { shape: decoder.shape, values }, consumed))
    }
}

fn copy_into_words(words: &mut [u64], bytes: &[u8]) {
    for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut le = [0u8; 8];
        for (byte, value) in le.iter_mut().zip(chunk) {
            *byte = *value;
        }
        *word = u64::from_ne_bytes(le);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// zfp modes the tests encode with (zfp_encode_f32 writes only the first two).
    #[derive(Debug, Clone, Copy)]
    enum Mode {
        Reversible,
        Accuracy(f64),
        Precision(u32),
        Rate(f64),
    }

    const MODES: [Mode; 6] = [
        Mode::Reversible,
        Mode::Accuracy(1e-3),
        Mode::Accuracy(0.25),
        Mode::Precision(13),
        Mode::Rate(5.0),
        Mode::Rate(19.0),
    ];

    /// Window sizes in words: 0 and 1 give the least allowed, then a few words more, then the
    /// default.
    const WINDOWS: [usize; 7] = [0, 1, 13, 17, 40, 300, ZFP_WINDOW_BYTES / 8];

    const SHAPES: [&[usize]; 18] = [
        &[1],
        &[3],
        &[4],
        &[13],
        &[64],
        &[2, 3],
        &[4, 4],
        &[5, 9],
        &[17, 6],
        &[1, 1, 1],
        &[3, 5, 2],
        &[4, 8, 4],
        &[6, 7, 9],
        &[1, 4, 4, 4],
        &[2, 3, 5, 7],
        &[5, 4, 6, 9],
        &[4, 8, 8, 8],
        &[3, 40, 50],
    ];

    /// Compresses the C-order array at `values` (`shape`, zfp scalar type `scalar`) with zfp's
    /// full header first, as zfpy (and `zfp_encode_f32`) do.
    fn encode<T>(values: &[T], scalar: zfp::zfp_type, shape: &[usize], mode: Mode) -> Vec<u8> {
        assert!(zfp_supports_shape(shape));
        assert_eq!(shape.iter().product::<usize>(), values.len());
        // SAFETY: as in zfp_encode_f32; zfp reads `values` only during zfp_compress.
        unsafe {
            let mut handles = ZfpHandles {
                field: zfp::zfp_field_alloc(),
                stream: zfp::zfp_stream_open(std::ptr::null_mut()),
                bits: std::ptr::null_mut(),
            };
            zfp::zfp_field_set_type(handles.field, scalar);
            zfp::zfp_field_set_pointer(handles.field, values.as_ptr() as *mut std::ffi::c_void);
            set_field_size(handles.field, shape);
            match mode {
                Mode::Reversible => zfp::zfp_stream_set_reversible(handles.stream),
                Mode::Accuracy(tolerance) => {
                    zfp::zfp_stream_set_accuracy(handles.stream, tolerance);
                }
                Mode::Precision(precision) => {
                    zfp::zfp_stream_set_precision(handles.stream, precision);
                }
                Mode::Rate(rate) => {
                    zfp::zfp_stream_set_rate(handles.stream, rate, scalar, shape.len() as u32, 0);
                }
            }
            let max_bytes = zfp::zfp_stream_maximum_size(handles.stream, handles.field);
            assert!(max_bytes > 0);
            let mut buffer = vec![0u64; max_bytes.div_ceil(8)];
            handles.bits = zfp::stream_open(buffer.as_mut_ptr().cast(), buffer.len() * 8);
            zfp::zfp_stream_set_bit_stream(handles.stream, handles.bits);
            zfp::zfp_stream_rewind(handles.stream);
            assert!(zfp::zfp_write_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL) > 0);
            let written = zfp::zfp_compress(handles.stream, handles.field);
            assert!(written > 0);
            drop(handles);
            buffer.iter().flat_map(|word| word.to_ne_bytes()).take(written).collect()
        }
    }

    /// The decode this module did before the window: the whole stream in one buffer padded with
    /// zeros to the most its field and mode can occupy (plus `extra_pad` bytes), then
    /// `zfp_decompress`, with the same checks and messages.
    fn whole_buffer_decode(stream: &[u8], max_elements: u64, extra_pad: usize) -> Result<(ZfpArray, usize), String> {
        let head = &stream[..stream.len().min(ZFP_HEADER_PAD_BYTES)];
        let mut head_words = vec![0u64; (head.len() + ZFP_HEADER_PAD_BYTES).div_ceil(8)];
        copy_into_words(&mut head_words, head);
        // SAFETY: each buffer outlives the reader opened over it and is padded past what the
        // (valid or deliberately padded) test streams can make zfp read.
        unsafe {
            let header = zfp_open_reader(head_words.as_mut_ptr(), head_words.len())?;
            let elements = header.shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).unwrap();
            if elements > max_elements {
                return Err(format!("zfp header declares {elements} values, over the limit of {max_elements}"));
            }
            let blocks = zfp::zfp_field_blocks(header.handles.field) as u64;
            let min_bits = blocks * u64::from((*header.handles.stream).minbits);
            if min_bits > stream.len() as u64 * 8 {
                return Err(format!(
                    "zfp stream is truncated: its mode needs at least {} bytes, it has {}",
                    min_bits.div_ceil(8),
                    stream.len()
                ));
            }
            let max_bytes = zfp::zfp_stream_maximum_size(header.handles.stream, header.handles.field);
            drop(header);
            let mut words = vec![0u64; (max_bytes.max(stream.len()) + ZFP_HEADER_PAD_BYTES + extra_pad).div_ceil(8)];
            copy_into_words(&mut words, stream);
            let reader = zfp_open_reader(words.as_mut_ptr(), words.len())?;
            let count = elements as usize;
            let mut values = match reader.scalar {
                t if t == zfp::zfp_type_zfp_type_int32 => ZfpValues::I32(vec![0; count]),
                t if t == zfp::zfp_type_zfp_type_int64 => ZfpValues::I64(vec![0; count]),
                t if t == zfp::zfp_type_zfp_type_float => ZfpValues::F32(vec![0.0; count]),
                _ => ZfpValues::F64(vec![0.0; count]),
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
            if consumed > stream.len().next_multiple_of(8) {
                return Err(format!(
                    "zfp stream is truncated: decoding needs {consumed} bytes, it has {}",
                    stream.len()
                ));
            }
            Ok((ZfpArray { shape: reader.shape, values }, consumed))
        }
    }

    /// Compares by bit pattern, so that NaNs (from hostile bits) compare equal to themselves.
    fn same(a: &Result<(ZfpArray, usize), String>, b: &Result<(ZfpArray, usize), String>) -> bool {
        fn bits(values: &ZfpValues) -> Vec<u64> {
            match values {
                ZfpValues::I32(v) => v.iter().map(|&x| x as u32 as u64).collect(),
                ZfpValues::I64(v) => v.iter().map(|&x| x as u64).collect(),
                ZfpValues::F32(v) => v.iter().map(|&x| u64::from(x.to_bits())).collect(),
                ZfpValues::F64(v) => v.iter().map(|&x| x.to_bits()).collect(),
            }
        }
        match (a, b) {
            (Ok((a, na)), Ok((b, nb))) => {
                na == nb
                    && a.shape == b.shape
                    && std::mem::discriminant(&a.values) == std::mem::discriminant(&b.values)
                    && bits(&a.values) == bits(&b.values)
            }
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }

    fn windowed(stream: &[u8], window_words: usize) -> Result<(ZfpArray, usize), String> {
        zfp_decode_windowed(stream.len(), u64::MAX, &mut &*stream, window_words)
    }

    /// A small deterministic generator (xorshift64*).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// Noise, smooth stretches and runs of zeros (all-zero blocks), in about [-8, 8].
        fn sample(&mut self, i: usize) -> f64 {
            match (i / 37) % 4 {
                0 => 0.0,
                1 => (i as f64 * 0.05).sin() * 3.0,
                _ => (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 16.0 - 8.0,
            }
        }
    }

    /// One test stream of each scalar type, with what reversible mode must give back.
    fn streams_of_every_type(shape: &[usize], mode: Mode, seed: u64) -> Vec<(Vec<u8>, ZfpValues)> {
        let n: usize = shape.iter().product();
        let mut noise = Noise(seed | 1);
        let f: Vec<f64> = (0..n).map(|i| noise.sample(i)).collect();
        let f32s: Vec<f32> = f.iter().map(|&x| x as f32).collect();
        let i32s: Vec<i32> = f.iter().map(|&x| (x * 100_000.0) as i32).collect();
        let i64s: Vec<i64> = f.iter().map(|&x| (x * 1e11) as i64).collect();
        vec![
            (encode(&f32s, zfp::zfp_type_zfp_type_float, shape, mode), ZfpValues::F32(f32s)),
            (encode(&f, zfp::zfp_type_zfp_type_double, shape, mode), ZfpValues::F64(f)),
            (encode(&i32s, zfp::zfp_type_zfp_type_int32, shape, mode), ZfpValues::I32(i32s)),
            (encode(&i64s, zfp::zfp_type_zfp_type_int64, shape, mode), ZfpValues::I64(i64s)),
        ]
    }

    #[test]
    fn windowed_decode_matches_zfp_decompress_for_every_type_mode_shape_and_window() {
        let mut cases = 0;
        for (s, shape) in SHAPES.iter().enumerate() {
            for (m, &mode) in MODES.iter().enumerate() {
                for (stream, input) in streams_of_every_type(shape, mode, (s * 10 + m) as u64) {
                    let expected = whole_buffer_decode(&stream, u64::MAX, 0);
                    let (array, consumed) = expected.as_ref().unwrap();
                    assert_eq!(*consumed, stream.len(), "{shape:?} {mode:?}");
                    assert_eq!(array.shape, shape.to_vec());
                    if let Mode::Reversible = mode {
                        assert!(same(
                            &expected,
                            &Ok((ZfpArray { shape: shape.to_vec(), values: input }, stream.len()))
                        ));
                    }
                    for window in WINDOWS {
                        let got = windowed(&stream, window);
                        assert!(same(&got, &expected), "{shape:?} {mode:?} window {window}: {got:?}");
                        cases += 1;
                    }
                    assert_eq!(zfp_decode(&stream, u64::MAX).unwrap(), array.clone());
                }
            }
        }
        assert_eq!(cases, SHAPES.len() * MODES.len() * 4 * WINDOWS.len());
    }

    #[test]
    fn f32_streams_of_the_crate_encoder_decode_to_their_input() {
        for shape in SHAPES {
            let n: usize = shape.iter().product();
            let mut noise = Noise(n as u64 | 1);
            let values: Vec<f32> = (0..n).map(|i| noise.sample(i) as f32).collect();
            let stream = zfp_encode_f32(&values, shape, ZfpMode::Reversible).unwrap();
            for window in WINDOWS {
                let (array, consumed) = windowed(&stream, window).unwrap();
                assert_eq!(consumed, stream.len());
                assert_eq!(array, ZfpArray { shape: shape.to_vec(), values: ZfpValues::F32(values.clone()) });
            }
        }
    }

    #[test]
    fn a_stream_longer_than_the_default_window_decodes_like_zfp_decompress() {
        for (shape, mode) in
            [(&[2usize, 300, 500][..], Mode::Reversible), (&[3, 7, 150, 160][..], Mode::Accuracy(1e-6))]
        {
            let n: usize = shape.iter().product();
            let mut noise = Noise(7);
            let values: Vec<f64> = (0..n).map(|_| (noise.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5).collect();
            let stream = encode(&values, zfp::zfp_type_zfp_type_double, shape, mode);
            assert!(stream.len() > 2 * ZFP_WINDOW_BYTES, "{}", stream.len());
            let expected = whole_buffer_decode(&stream, u64::MAX, 0);
            for window in [0, 1000, ZFP_WINDOW_BYTES / 8] {
                assert!(same(&windowed(&stream, window), &expected), "{shape:?} window {window}");
            }
        }
    }

    /// Hands out its bytes a few at a time, as a slow file or pipe might.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.step = self.step % 7 + 1;
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_reader_that_yields_a_few_bytes_at_a_time_decodes_the_same() {
        for shape in [&[13usize][..], &[5, 9], &[6, 7, 9], &[5, 4, 6, 9]] {
            for (stream, _) in streams_of_every_type(shape, Mode::Accuracy(1e-2), 3) {
                let expected = whole_buffer_decode(&stream, u64::MAX, 0);
                for window in [0, 40, ZFP_WINDOW_BYTES / 8] {
                    let got =
                        zfp_decode_windowed(stream.len(), u64::MAX, &mut Trickle { data: &stream, step: 0 }, window);
                    assert!(same(&got, &expected), "{shape:?} window {window}");
                }
            }
        }
    }

    #[test]
    fn a_reader_shorter_than_the_stream_length_is_an_error() {
        let (stream, _) = streams_of_every_type(&[6, 7, 9], Mode::Reversible, 5).remove(0);
        for window in [0, ZFP_WINDOW_BYTES / 8] {
            let got = zfp_decode_windowed(stream.len() + 100, u64::MAX, &mut &stream[..], window);
            assert!(got.unwrap_err().starts_with("zfp stream: "));
        }
    }

    #[test]
    fn the_element_limit_and_the_minimum_size_are_checked_first() {
        let (stream, _) = streams_of_every_type(&[6, 7, 9], Mode::Rate(8.0), 5).remove(0);
        assert_eq!(
            zfp_decode_windowed(stream.len(), 377, &mut &stream[..], 0).unwrap_err(),
            "zfp header declares 378 values, over the limit of 377"
        );
        // Fixed rate: every block takes exactly its bits, so a cut stream fails the size check.
        let cut = &stream[..100];
        let got = windowed(cut, 0);
        assert!(got.as_ref().unwrap_err().contains("its mode needs at least"), "{got:?}");
        assert!(same(&got, &whole_buffer_decode(cut, u64::MAX, 0)));
    }

    #[test]
    fn every_truncation_decodes_like_the_whole_buffer_and_deep_cuts_fail() {
        let mut streams = Vec::new();
        for (shape, mode) in [
            (&[6usize, 7, 9][..], Mode::Reversible),
            (&[2, 3, 5, 7][..], Mode::Accuracy(1e-3)),
            (&[17, 6][..], Mode::Precision(20)),
            (&[64][..], Mode::Rate(12.0)),
        ] {
            streams.extend(streams_of_every_type(shape, mode, 11).into_iter().map(|(s, _)| (s, mode)));
        }
        // Every block takes at least one bit, so a cut that leaves 64 or more blocks unread
        // (here: past the header, at most half of a stream of 500 noise blocks) always shows.
        let mut noise = Noise(5);
        let values: Vec<f64> = (0..2000).map(|_| noise.next() as f64).collect();
        let long = encode(&values, zfp::zfp_type_zfp_type_double, &[2000], Mode::Reversible);
        for len in ZFP_HEADER_PAD_BYTES..=long.len() / 2 {
            for window in [0, 17, ZFP_WINDOW_BYTES / 8] {
                let got = windowed(&long[..len], window);
                assert!(
                    got.as_ref().is_err_and(|e| e.starts_with("zfp stream is truncated: ")),
                    "cut to {len}: {got:?}"
                );
            }
        }
        streams.push((long, Mode::Reversible));
        for (stream, mode) in &streams {
            for len in 0..stream.len() {
                let cut = &stream[..len];
                let expected = whole_buffer_decode(cut, u64::MAX, 0);
                for window in [0, 17, ZFP_WINDOW_BYTES / 8] {
                    let got = windowed(cut, window);
                    assert!(
                        same(&got, &expected),
                        "{mode:?} cut to {len} of {} window {window}: {got:?}",
                        stream.len()
                    );
                }
            }
        }
    }

    /// A full header for a `shape` field of `scalar` values in zfp's expert mode with the given
    /// (minbits, maxbits, maxprec, minexp), followed by `body`.
    fn expert_stream(scalar: zfp::zfp_type, shape: &[usize], params: (u32, u32, u32, i32), body: &[u64]) -> Vec<u8> {
        let mut words = vec![0u64; 4 + body.len()];
        // SAFETY: the header takes at most 148 bits and each body word 64, all within `words`;
        // every handle is freed before `words` is read.
        unsafe {
            let handles = ZfpHandles {
                field: zfp::zfp_field_alloc(),
                stream: zfp::zfp_stream_open(std::ptr::null_mut()),
                bits: zfp::stream_open(words.as_mut_ptr().cast(), words.len() * 8),
            };
            zfp::zfp_field_set_type(handles.field, scalar);
            set_field_size(handles.field, shape);
            zfp::zfp_stream_set_bit_stream(handles.stream, handles.bits);
            let (minbits, maxbits, maxprec, minexp) = params;
            assert_eq!(zfp::zfp_stream_set_params(handles.stream, minbits, maxbits, maxprec, minexp), 1);
            assert!(zfp::zfp_write_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL) > 0);
            for &word in body {
                zfp::stream_write_bits(handles.bits, word, 64);
            }
            zfp::zfp_stream_flush(handles.stream);
            let len = zfp::stream_wtell(handles.bits).div_ceil(8) as usize;
            drop(handles);
            words.iter().flat_map(|word| word.to_ne_bytes()).take(len).collect()
        }
    }

    const EXPERT_MODES: [(u32, u32, u32, i32); 6] = [
        // maxbits below a block's prefix: zfp's bit budget wraps around.
        (1, 1, 64, zfp::ZFP_MIN_EXP),
        (1, 1, 64, zfp::ZFP_MIN_EXP - 1),
        (1, 32768, 64, zfp::ZFP_MIN_EXP),
        (1, 16658, 64, zfp::ZFP_MIN_EXP - 1),
        (5000, 32768, 64, zfp::ZFP_MIN_EXP - 1),
        (32768, 32768, 64, zfp::ZFP_MIN_EXP),
    ];

    const SCALARS: [zfp::zfp_type; 4] = [
        zfp::zfp_type_zfp_type_int32,
        zfp::zfp_type_zfp_type_int64,
        zfp::zfp_type_zfp_type_float,
        zfp::zfp_type_zfp_type_double,
    ];

    /// Bodies of hostile bits: all ones, alternating, noise.
    fn bodies(words: usize) -> Vec<Vec<u64>> {
        let mut noise = Noise(99);
        vec![vec![u64::MAX; words], vec![0xaaaa_aaaa_aaaa_aaaa; words], (0..words).map(|_| noise.next()).collect()]
    }

    /// Decodes every block of a stream from a generously padded buffer and returns the most bits
    /// one block took.
    fn most_bits_per_block(stream: &[u8]) -> u64 {
        fn run<T: ZfpScalar + Copy + Default>(reader: &ZfpReader, dims: u32, blocks: usize) -> u64 {
            let mut scratch = [T::default(); 256];
            let counts = [4, if dims > 1 { 4 } else { 1 }, if dims > 2 { 4 } else { 1 }, if dims > 3 { 4 } else { 1 }];
            let mut most = 0;
            for _ in 0..blocks {
                // SAFETY: the buffer under the reader is padded far past what these blocks read,
                // and `scratch` holds a whole contiguous block.
                unsafe {
                    let before = zfp::stream_rtell(reader.handles.bits);
                    T::decode_block(reader.handles.stream, scratch.as_mut_ptr(), dims, counts, [1, 4, 16, 64]);
                    most = most.max(zfp::stream_rtell(reader.handles.bits) - before);
                }
            }
            most
        }
        let mut words = vec![0u64; stream.len().div_ceil(8) + (1 << 16)];
        copy_into_words(&mut words, stream);
        // SAFETY: `words` outlives the reader.
        unsafe {
            let reader = zfp_open_reader(words.as_mut_ptr(), words.len()).unwrap();
            let dims = zfp::zfp_field_dimensionality(reader.handles.field);
            let blocks = zfp::zfp_field_blocks(reader.handles.field);
            match reader.scalar {
                t if t == zfp::zfp_type_zfp_type_int32 => run::<i32>(&reader, dims, blocks),
                t if t == zfp::zfp_type_zfp_type_int64 => run::<i64>(&reader, dims, blocks),
                t if t == zfp::zfp_type_zfp_type_float => run::<f32>(&reader, dims, blocks),
                _ => run::<f64>(&reader, dims, blocks),
            }
        }
    }

    #[test]
    fn no_block_of_a_hostile_expert_mode_reads_past_the_window_bound() {
        let mut most_seen = [0u64; 5];
        for scalar in SCALARS {
            for shape in [&[9usize][..], &[5, 6], &[5, 4, 6], &[5, 4, 4, 6]] {
                let dims = shape.len() as u32;
                for params in EXPERT_MODES {
                    let bound = zfp_block_bits_bound(dims, params.0);
                    // Enough body for the first blocks at the bound, so they read real bits.
                    for body in bodies((4 * bound).div_ceil(64) as usize) {
                        let stream = expert_stream(scalar, shape, params, &body);
                        let most = most_bits_per_block(&stream);
                        assert!(most <= bound, "{scalar} {shape:?} {params:?}: {most} > {bound}");
                        if params.0 == 1 {
                            most_seen[dims as usize] = most_seen[dims as usize].max(most);
                        }
                        let expected = whole_buffer_decode(&stream, u64::MAX, 1 << 19);
                        for len in [stream.len(), stream.len() / 2, stream.len() / 5, 40, 20] {
                            let cut = &stream[..len];
                            let expected = if len == stream.len() {
                                expected.clone()
                            } else {
                                whole_buffer_decode(cut, u64::MAX, 1 << 19)
                            };
                            for window in [0, 30, ZFP_WINDOW_BYTES / 8] {
                                let got = windowed(cut, window);
                                assert!(
                                    same(&got, &expected),
                                    "{scalar} {shape:?} {params:?} cut {len} window {window}"
                                );
                            }
                        }
                    }
                }
            }
        }
        // The bound is not far above what hostile blocks reach (about 0.5, 0.8, 0.93, 0.97 of it
        // for 1 to 4 dimensions), even with a maxbits of 1.
        for dims in 1..=4 {
            let unpadded = zfp_block_bits_bound(dims, 0);
            assert!(most_seen[dims as usize] * 2 > unpadded.min(32768), "{dims}: {most_seen:?}");
        }
    }

    #[test]
    fn the_window_is_small_for_small_streams_and_bounded_for_large_ones() {
        let (stream, _) = streams_of_every_type(&[200], Mode::Reversible, 1).remove(1);
        assert!(stream.len() > ZFP_HEADER_PAD_BYTES);
        let head = &stream[..ZFP_HEADER_PAD_BYTES];
        let bound = zfp_block_bits_bound(1, 1);
        let least = ZfpWindow::least_words(bound).unwrap();
        let mut rest = &stream[ZFP_HEADER_PAD_BYTES..];
        let window = ZfpWindow::new(&mut rest, stream.len(), head, bound, ZFP_WINDOW_BYTES / 8).unwrap();
        assert_eq!(window.len, stream.len().div_ceil(8) + least);
        let mut endless = std::io::repeat(0);
        let window = ZfpWindow::new(&mut endless, usize::MAX, head, bound, ZFP_WINDOW_BYTES / 8).unwrap();
        assert_eq!(window.len * 8, ZFP_WINDOW_BYTES);
        let window = ZfpWindow::new(&mut endless, usize::MAX, head, zfp_block_bits_bound(4, 32768), 0).unwrap();
        assert_eq!(window.len, 32768 / 64 + 1 + ZFP_SLACK_WORDS);
    }
}
