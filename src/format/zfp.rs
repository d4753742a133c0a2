//! zfp streams with zfp's full header, as the reference (zfpy) writes them, read and written by
//! zfp-rs: safe Rust that writes the same bytes as the C library. The tests prove that against
//! the C library itself (`zfp-sys`, a dev-dependency).
//!
//! Streams are hostile input: the header's sizes are checked against the caller's limit before
//! anything is allocated. A stream of up to 64 MiB is read whole and decoded by zfp-rs, with its
//! parallel decoder for large fields where the platform has threads (see
//! [`PARALLEL_MIN_VALUES`]; `cargo bench --bench zfp`). A longer one is decoded block by block
//! as it passes through a window refilled from its reader, so however long the stream, only the
//! decoded values and the window are in memory.

use std::io::Read;

use zfp_rs::codec::block::decode_block;
use zfp_rs::{
    ZfpBitStream, ZfpBitStreamRef, ZfpConfig, ZfpDecompressionError, ZfpDimensionality, ZfpField, ZfpFieldMut,
    ZfpHeaderError, ZfpHeaderMask, ZfpScalar, ZfpScalarType,
};

/// Why a zfp stream could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ZfpError {
    #[error("zfp cannot store shape {shape:?} (1 to 4 dimensions, each within zfp's header limits)")]
    UnsupportedShape { shape: Vec<usize> },
    #[error("shape {shape:?} does not hold {values} values")]
    ShapeMismatch { shape: Vec<usize>, values: usize },
    #[error("zfp could not compress: {0}")]
    Compress(String),
    #[error("not a zfp stream with a full header: {0}")]
    Header(ZfpHeaderError),
    #[error("zfp header declares {declared} values, over the limit of {limit}")]
    TooManyValues { declared: u64, limit: u64 },
    /// Every block takes at least the mode's minimum bits; checked before decoding, so a hostile
    /// mode cannot make a stream of a few bytes decode gigabytes of zero padding.
    #[error("zfp stream is truncated: its mode needs at least {needed} bytes, it has {len}")]
    ShorterThanMode { needed: u64, len: usize },
    #[error("zfp stream is truncated: decoding runs past its {len} bytes")]
    Truncated { len: usize },
    #[error("zfp could not decode a block: {0}")]
    Block(String),
    #[error("zfp stream: {0}")]
    Read(#[from] std::io::Error),
}

/// zfp compression modes this program writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZfpMode {
    /// Lossless (what zfpy uses when no tolerance, rate or precision is given).
    Reversible,
    /// Fixed accuracy: absolute error at most this tolerance.
    Accuracy(f64),
}

impl ZfpMode {
    fn config(self) -> ZfpConfig {
        match self {
            ZfpMode::Reversible => ZfpConfig::reversible(),
            ZfpMode::Accuracy(tolerance) => ZfpConfig::fixed_accuracy(tolerance),
        }
    }
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
fn header_max_dim(rank: usize) -> Option<u64> {
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
    match header_max_dim(shape.len()) {
        Some(max) => shape.iter().all(|&d| d >= 1 && (d as u64) <= max),
        None => false,
    }
}

/// zfp's dimensions (nx, ny, nz, nw; 0 for those not used) of a C-order shape, as zfpy sets
/// them: reversed, so that x is the last axis.
fn zfp_dims(shape: &[usize]) -> [usize; 4] {
    let mut dims = [0; 4];
    for (dim, &n) in dims.iter_mut().zip(shape.iter().rev()) {
        *dim = n;
    }
    dims
}

/// Compresses a float32 C-order array into a zfp stream with zfp's full header, as
/// `zfpy.compress_numpy` does.
pub fn zfp_encode_f32(values: &[f32], shape: &[usize], mode: ZfpMode) -> Result<Vec<u8>, ZfpError> {
    if !zfp_supports_shape(shape) {
        return Err(ZfpError::UnsupportedShape { shape: shape.to_vec() });
    }
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(values.len()) {
        return Err(ZfpError::ShapeMismatch { shape: shape.to_vec(), values: values.len() });
    }
    let compress_error = |e: &dyn std::fmt::Display| ZfpError::Compress(e.to_string());
    let field = ZfpField::new(values, zfp_dims(shape)).map_err(|e| compress_error(&e))?;
    let config = mode.config();
    let capacity = config
        .maximum_size(ZfpScalarType::F32, field.dims())
        .ok_or_else(|| ZfpError::Compress("the field is too large".into()))?;
    let mut stream = ZfpBitStream::new(capacity).map_err(|e| compress_error(&e))?;
    stream.write_header(&config, &field.metadata(), ZfpHeaderMask::FULL).map_err(|e| compress_error(&e))?;
    // zfp-rs encodes chunks of blocks in parallel and joins them bit by bit: the same stream as
    // a serial encode (`parallel_and_serial_encodes_give_the_same_stream`).
    let parallel = values.len() >= parallel_min_values();
    let size =
        crate::platform::zfp_execute(parallel, |execution| stream.compress_with_execution(&config, &field, execution))
            .map_err(|e| compress_error(&e))?;
    let bytes = stream.as_bytes();
    Ok(bytes.get(..size).unwrap_or(bytes).to_vec())
}

/// Decodes a zfp stream that starts with zfp's full header, as `zfpy.decompress_numpy` does.
/// `max_elements` is checked against the header's dimensions before anything is allocated.
pub fn zfp_decode(stream: &[u8], max_elements: u64) -> Result<ZfpArray, ZfpError> {
    zfp_decode_from(stream.len(), max_elements, &mut &*stream)
}

/// [`zfp_decode`] of the `stream_len` bytes `reader` yields. The only allocation proportional to
/// the data is the decoded values, and for a large field decoded in parallel (a stream of up to
/// 64 MiB) the stream itself.
pub fn zfp_decode_from(stream_len: usize, max_elements: u64, reader: &mut dyn Read) -> Result<ZfpArray, ZfpError> {
    decode_stream(stream_len, max_elements, reader, None).map(|decoded| decoded.array)
}

/// Streams up to this long may be decoded whole, in parallel: the stream is then held beside its
/// values.
const WHOLE_STREAM_BYTES: usize = 64 << 20;

/// Fields of at least this many values are decoded in parallel. zfp-rs's parallel decoder is
/// 1.6x its serial one on two cores from 65,536 values up once its threads run, but starting them
/// costs about 1.1 ms in a new process: on 65,536 values, `raiiaf info` took 6.8 ms in parallel
/// and 5.7 ms serially. From about 200,000 values parallel wins either way.
const PARALLEL_MIN_VALUES: usize = 1 << 18;
/// The same once the threads run (a long-lived process has started them): from here up the
/// parallel decoder is faster.
const PARALLEL_MIN_VALUES_RUNNING: usize = 1 << 16;

/// Values from which a field is decoded in parallel, now.
fn parallel_min_values() -> usize {
    if crate::platform::zfp_threads_running() { PARALLEL_MIN_VALUES_RUNNING } else { PARALLEL_MIN_VALUES }
}

/// Words of the window a stream decoded serially passes through (64 KiB). Small, so that a short
/// process does not fault in pages for a whole copy of the stream.
const WINDOW_WORDS: usize = 1 << 13;

/// Bytes of a stream read before its header is parsed: the most a full header takes (148 bits)
/// rounded up to whole words.
const HEADER_BYTES: usize = 24;

/// How a stream's blocks are decoded.
#[derive(Debug, Clone, Copy)]
enum Strategy {
    /// The whole stream in memory, decoded by zfp-rs with the platform's execution.
    Whole,
    /// Block by block through a window of about this many words, grown when one block needs
    /// more.
    Window(usize),
}

/// A decoded stream and the bytes decoding consumed, counted as `zfp_decompress` counts them
/// (up to the word after the last block).
struct Decoded {
    array: ZfpArray,
    #[cfg_attr(any(not(test), windows), expect(dead_code, reason = "the tests compare it with the C library's count"))]
    consumed: usize,
}

/// Decodes a stream as `strategy` says or, without one, whole and in parallel for a large field
/// (a stream of up to [`WHOLE_STREAM_BYTES`]) where the platform has more than one core, else
/// through a window of [`WINDOW_WORDS`].
fn decode_stream(
    stream_len: usize,
    max_elements: u64,
    reader: &mut dyn Read,
    strategy: Option<Strategy>,
) -> Result<Decoded, ZfpError> {
    // The header is read first, from the stream's first bytes padded with zeros, so the sizes it
    // declares are checked before anything is allocated for them.
    let mut head = vec![0u8; stream_len.min(HEADER_BYTES)];
    reader.read_exact(&mut head)?;
    let mut head_words = [0u64; HEADER_BYTES / 8];
    load_words(&mut head_words, &head);
    let header = ZfpBitStreamRef::from_words(&head_words).read_header(ZfpHeaderMask::FULL).map_err(ZfpError::Header)?;
    let (Some(metadata), Some(config)) = (header.metadata, header.config) else {
        return Err(ZfpError::Header(ZfpHeaderError::InvalidMetadata));
    };
    let dims = metadata.dims;
    let declared = dims.iter().filter(|&&n| n != 0).try_fold(1u64, |acc, &n| acc.checked_mul(n as u64));
    let declared = declared.unwrap_or(u64::MAX);
    if declared > max_elements {
        return Err(ZfpError::TooManyValues { declared, limit: max_elements });
    }
    let count = usize::try_from(declared).map_err(|_| ZfpError::TooManyValues { declared, limit: max_elements })?;
    let blocks = dims.iter().filter(|&&n| n != 0).fold(1u64, |acc, &n| acc.saturating_mul((n as u64).div_ceil(4)));
    let least_bits = blocks.saturating_mul(u64::from(config.min_bits()));
    if least_bits > (stream_len as u64).saturating_mul(8) {
        return Err(ZfpError::ShorterThanMode { needed: least_bits.div_ceil(8), len: stream_len });
    }
    let rank = match dims.iter().filter(|&&n| n != 0).count() {
        1 => ZfpDimensionality::D1,
        2 => ZfpDimensionality::D2,
        3 => ZfpDimensionality::D3,
        _ => ZfpDimensionality::D4,
    };
    let field = Field { dims, size: dims.map(|n| n.max(1)), rank, config, count, start: header.bits_read as u64 };
    let strategy = strategy.unwrap_or(
        if count >= parallel_min_values() && stream_len <= WHOLE_STREAM_BYTES && crate::platform::cores() > 1 {
            Strategy::Whole
        } else {
            Strategy::Window(WINDOW_WORDS)
        },
    );
    let input = Input { reader, stream_len, head: &head };
    let (values, consumed) = match metadata.scalar_type {
        ZfpScalarType::I32 => decode_values::<i32>(input, &field, strategy).map(|(v, c)| (ZfpValues::I32(v), c)),
        ZfpScalarType::I64 => decode_values::<i64>(input, &field, strategy).map(|(v, c)| (ZfpValues::I64(v), c)),
        ZfpScalarType::F32 => decode_values::<f32>(input, &field, strategy).map(|(v, c)| (ZfpValues::F32(v), c)),
        ZfpScalarType::F64 => decode_values::<f64>(input, &field, strategy).map(|(v, c)| (ZfpValues::F64(v), c)),
    }?;
    // A stream ends with its last whole word; decoding that needs more is reading past it.
    if consumed > stream_len.next_multiple_of(8) {
        return Err(ZfpError::Truncated { len: stream_len });
    }
    let shape = dims.iter().rev().copied().filter(|&n| n != 0).collect();
    Ok(Decoded { array: ZfpArray { shape, values }, consumed })
}

/// The stream: its first bytes, already read for the header, and the reader of the rest.
struct Input<'a, 'r> {
    reader: &'r mut dyn Read,
    stream_len: usize,
    head: &'a [u8],
}

/// The values of the field, decoded as `strategy` says, and the bytes consumed.
fn decode_values<T: ZfpScalar + Send>(
    input: Input,
    field: &Field,
    strategy: Strategy,
) -> Result<(Vec<T>, usize), ZfpError> {
    let stream_len = input.stream_len;
    match strategy {
        Strategy::Whole => {
            let whole = StreamWindow::new(input.reader, stream_len, input.head, stream_len.div_ceil(8))?;
            let mut values = vec![T::default(); field.count];
            let consumed = decode_whole(whole.words(), field, &mut values, stream_len)?;
            Ok((values, consumed))
        }
        Strategy::Window(words) => {
            let mut window = StreamWindow::new(input.reader, stream_len, input.head, words)?;
            let (values, end) = decode_blocks::<T>(&mut window, field)?;
            Ok((values, usize::try_from(end.div_ceil(64).saturating_mul(8)).unwrap_or(usize::MAX)))
        }
    }
}

/// Decodes the whole stream held in `words` into `values`; returns the bytes consumed.
fn decode_whole<T: ZfpScalar + Send>(
    words: &[u64],
    field: &Field,
    values: &mut [T],
    stream_len: usize,
) -> Result<usize, ZfpError> {
    let mut stream = ZfpBitStreamRef::from_words(words);
    stream.seek_read(field.start);
    let mut out = ZfpFieldMut::new(values, field.dims).map_err(|e| ZfpError::Block(e.to_string()))?;
    let parallel = field.count >= parallel_min_values();
    let decoded = crate::platform::zfp_execute(parallel, |execution| {
        stream.decompress_with_execution(&field.config, &mut out, execution)
    });
    match decoded {
        Ok(consumed) => Ok(consumed),
        Err(ZfpDecompressionError::Truncated { .. }) => Err(ZfpError::Truncated { len: stream_len }),
        Err(other) => Err(ZfpError::Block(other.to_string())),
    }
}

/// What the blocks of a stream decode into.
struct Field {
    /// nx, ny, nz, nw, with 0 for the dimensions not used, as zfp's header has them.
    dims: [usize; 4],
    /// The same with 1 for the dimensions not used.
    size: [usize; 4],
    rank: ZfpDimensionality,
    config: ZfpConfig,
    count: usize,
    /// The bit where the first block starts, after the header.
    start: u64,
}

/// Decodes every block, starting at the field's first bit in the window, into a C-order array of the
/// field's values, in zfp's serial order (w, z, y, x in steps of 4, x fastest). Returns the
/// values and the bit of the stream where the last block ends.
fn decode_blocks<T: ZfpScalar>(window: &mut StreamWindow, field: &Field) -> Result<(Vec<T>, u64), ZfpError> {
    let mut values = vec![T::default(); field.count];
    let mut block = vec![T::default(); field.rank.block_size()];
    let mut origins = BlockOrigins::new(field.size);
    let mut pending = origins.next();
    let mut position = field.start;
    while pending.is_some() {
        // Blocks are decoded from the window until one reads past what it holds; that block is
        // then decoded again from a window moved up to its start.
        let stop = {
            let mut stream = ZfpBitStreamRef::from_words(window.words());
            stream.seek_read(position);
            let held = window.held_bits();
            loop {
                let Some(origin) = pending else { break Stop::Done(stream.read_pos()) };
                let block_start = stream.read_pos();
                decode_block(&mut stream, &field.config, &mut block, field.rank)
                    .map_err(|e| ZfpError::Block(e.to_string()))?;
                if stream.read_pos() > held {
                    break Stop::Overran(block_start);
                }
                scatter(&block, &mut values, origin, field.size)?;
                pending = origins.next();
            }
        };
        position = match stop {
            Stop::Done(end) => end,
            Stop::Overran(_) if window.at_end() => return Err(ZfpError::Truncated { len: window.stream_len }),
            Stop::Overran(block_start) => window.advance_to(block_start)?,
        };
    }
    Ok((values, window.stream_bits(position)))
}

/// Where decoding from one window stopped: after the last block, or at the start of a block
/// that needs more of the stream than the window holds.
enum Stop {
    Done(u64),
    Overran(u64),
}

/// Copies the part of a decoded 4^d block that lies inside the field to its place in `values`:
/// blocks at the far edges of a dimension not a multiple of 4 are partial, as zfp stores them.
fn scatter<T: Copy>(block: &[T], values: &mut [T], origin: [usize; 4], size: [usize; 4]) -> Result<(), ZfpError> {
    let [x, y, z, w] = origin;
    let [nx, ny, nz, nw] = size;
    let [cx, cy, cz, cw] = [nx - x, ny - y, nz - z, nw - w].map(|left| left.min(4));
    let outside = || ZfpError::Block("a block lies outside its field".into());
    for dw in 0..cw {
        for dz in 0..cz {
            for dy in 0..cy {
                let from = 4 * dy + 16 * dz + 64 * dw;
                let to = x + nx * ((y + dy) + ny * ((z + dz) + nz * (w + dw)));
                let source = block.get(from..from + cx).ok_or_else(outside)?;
                let row = values.get_mut(to..to + cx).ok_or_else(outside)?;
                // Whole rows as arrays of 4: a copy the compiler inlines, where a slice copy of a
                // length known only at run time is a call (1.25 ms -> 0.97 ms on 65,536 values).
                match (<&mut [T; 4]>::try_from(&mut *row), <&[T; 4]>::try_from(source)) {
                    (Ok(row), Ok(source)) => *row = *source,
                    _ => row.copy_from_slice(source),
                }
            }
        }
    }
    Ok(())
}

/// The first value (x, y, z, w) of each block of a field, in zfp's order.
struct BlockOrigins {
    size: [usize; 4],
    next: Option<[usize; 4]>,
}

impl BlockOrigins {
    fn new(size: [usize; 4]) -> Self {
        BlockOrigins { size, next: size.iter().all(|&n| n > 0).then_some([0; 4]) }
    }
}

impl Iterator for BlockOrigins {
    type Item = [usize; 4];

    fn next(&mut self) -> Option<[usize; 4]> {
        let current = self.next?;
        let mut following = current;
        self.next = None;
        for (coordinate, &n) in following.iter_mut().zip(&self.size) {
            *coordinate += 4;
            if *coordinate < n {
                self.next = Some(following);
                break;
            }
            *coordinate = 0;
        }
        Some(current)
    }
}

/// The part of a stream being decoded: words read from the reader, refilled as decoding moves
/// on. At the stream's end its last word is padded with zeros, as a whole-stream buffer would be.
struct StreamWindow<'r> {
    reader: &'r mut dyn Read,
    stream_len: usize,
    /// Stream bytes read so far.
    loaded: usize,
    /// `words[..held]` hold the stream from word `first_word` on.
    words: Vec<u64>,
    held: usize,
    first_word: u64,
}

impl<'r> StreamWindow<'r> {
    /// A window of `requested` words (fewer for a shorter stream) holding `head`, the stream's
    /// first bytes already read, then as much of the rest as fits.
    fn new(reader: &'r mut dyn Read, stream_len: usize, head: &[u8], requested: usize) -> Result<Self, ZfpError> {
        let len = requested.max(HEADER_BYTES / 8).min(stream_len.div_ceil(8).max(1));
        let mut window = StreamWindow { reader, stream_len, loaded: 0, words: vec![0; len], held: 0, first_word: 0 };
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut window.words);
        bytes.get_mut(..head.len()).ok_or(ZfpError::Truncated { len: stream_len })?.copy_from_slice(head);
        window.loaded = head.len();
        window.fill()?;
        Ok(window)
    }

    fn at_end(&self) -> bool {
        self.loaded >= self.stream_len
    }

    fn words(&self) -> &[u64] {
        self.words.get(..self.held).unwrap_or_default()
    }

    fn held_bits(&self) -> u64 {
        self.held as u64 * 64
    }

    /// The position in the whole stream of bit `bit` of the window.
    fn stream_bits(&self, bit: u64) -> u64 {
        self.first_word * 64 + bit
    }

    /// Moves the window up so that it starts with the word holding bit `bit`, doubling it if that
    /// word already starts it, then fills it; returns the bit's new position.
    fn advance_to(&mut self, bit: u64) -> Result<u64, ZfpError> {
        let first = usize::try_from(bit / 64).unwrap_or(usize::MAX).min(self.held);
        if first == 0 {
            let grown = self.words.len().saturating_mul(2).min(self.stream_len.div_ceil(8).max(1));
            self.words.resize(grown, 0);
        } else {
            self.words.copy_within(first..self.held, 0);
            self.held -= first;
            self.first_word += first as u64;
        }
        self.fill()?;
        Ok(bit - first as u64 * 64)
    }

    /// Reads as much of the rest of the stream as fits after the words held, straight into the
    /// words.
    fn fill(&mut self) -> Result<(), ZfpError> {
        let free = self.words.get_mut(self.held..).unwrap_or_default();
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(free);
        // Stream bytes already past the words held: the header's, the first time; none after.
        let present = self.loaded.saturating_sub((self.first_word as usize + self.held) * 8);
        let take = (self.stream_len - self.loaded).min(bytes.len().saturating_sub(present));
        let end = present + take;
        self.reader.read_exact(bytes.get_mut(present..end).unwrap_or_default())?;
        bytes.get_mut(end..end.next_multiple_of(8)).unwrap_or_default().fill(0);
        let filled = end.div_ceil(8);
        // zfp's words are little-endian in every stream it matches the C library on.
        for word in free.iter_mut().take(filled) {
            *word = u64::from_le(*word);
        }
        self.loaded += take;
        self.held += filled;
        Ok(())
    }
}

/// Fills `words` from `bytes` (little-endian, as zfp writes on every platform it matches the C
/// library on), the last word padded with zeros.
fn load_words(words: &mut [u64], bytes: &[u8]) {
    for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut le = [0u8; 8];
        for (byte, value) in le.iter_mut().zip(chunk) {
            *byte = *value;
        }
        *word = u64::from_le_bytes(le);
    }
}

// The C library the oracle calls is built for Linux only (tests/windows/run.sh builds the unit
// tests for Windows without it).
#[cfg(test)]
#[cfg(not(windows))]
#[path = "../../tests/common/zfp_oracle.rs"]
mod oracle;

#[cfg(test)]
#[cfg(not(windows))]
mod tests {
    use super::oracle::{self, Failure, Mode};
    use super::*;

    const MODES: [Mode; 6] = [
        Mode::Reversible,
        Mode::Accuracy(1e-3),
        Mode::Accuracy(0.25),
        Mode::Precision(13),
        Mode::Rate(5.0),
        Mode::Rate(19.0),
    ];

    /// Windows in words (0 and 1 give the least, the header's 3 words, then a few more, then
    /// the default), and the whole stream at once.
    const STRATEGIES: [Strategy; 8] = [
        Strategy::Window(0),
        Strategy::Window(1),
        Strategy::Window(13),
        Strategy::Window(17),
        Strategy::Window(40),
        Strategy::Window(300),
        Strategy::Window(WINDOW_WORDS),
        Strategy::Whole,
    ];

    /// The smallest and the default window, and the whole stream.
    const FEW: [Strategy; 3] = [Strategy::Window(0), Strategy::Window(WINDOW_WORDS), Strategy::Whole];

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

    /// Our decode, in the oracle's terms.
    fn ours_from(
        stream_len: usize,
        reader: &mut dyn Read,
        strategy: Option<Strategy>,
    ) -> Result<oracle::Decoded, Failure> {
        match decode_stream(stream_len, u64::MAX, reader, strategy) {
            Ok(Decoded { array, consumed }) => {
                let (scalar, bits): (&str, Vec<u64>) = match array.values {
                    ZfpValues::I32(v) => ("i32", v.iter().map(|&x| i64::from(x) as u64).collect()),
                    ZfpValues::I64(v) => ("i64", v.iter().map(|&x| x as u64).collect()),
                    ZfpValues::F32(v) => ("f32", v.iter().map(|&x| u64::from(x.to_bits())).collect()),
                    ZfpValues::F64(v) => ("f64", v.iter().map(|&x| x.to_bits()).collect()),
                };
                Ok(oracle::Decoded { shape: array.shape, scalar, bits, consumed })
            }
            Err(ZfpError::Header(_)) => Err(Failure::Header),
            Err(ZfpError::TooManyValues { .. }) => Err(Failure::TooManyValues),
            Err(ZfpError::ShorterThanMode { .. }) => Err(Failure::ShorterThanMode),
            Err(ZfpError::Truncated { .. }) => Err(Failure::Truncated),
            Err(other) => panic!("unexpected error: {other}"),
        }
    }

    fn ours(stream: &[u8], strategy: Strategy) -> Result<oracle::Decoded, Failure> {
        ours_from(stream.len(), &mut &*stream, Some(strategy))
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

    /// One stream of each scalar type written by the C library, with the input's bits.
    fn c_streams_of_every_type(shape: &[usize], mode: Mode, seed: u64) -> Vec<(Vec<u8>, Vec<u64>)> {
        let n: usize = shape.iter().product();
        let mut noise = Noise(seed | 1);
        let f: Vec<f64> = (0..n).map(|i| noise.sample(i)).collect();
        let f32s: Vec<f32> = f.iter().map(|&x| x as f32).collect();
        let i32s: Vec<i32> = f.iter().map(|&x| (x * 100_000.0) as i32).collect();
        let i64s: Vec<i64> = f.iter().map(|&x| (x * 1e11) as i64).collect();
        vec![
            (oracle::compress(&f32s, shape, mode), f32s.iter().map(|x| u64::from(x.to_bits())).collect()),
            (oracle::compress(&f, shape, mode), f.iter().map(|x| x.to_bits()).collect()),
            (oracle::compress(&i32s, shape, mode), i32s.iter().map(|&x| i64::from(x) as u64).collect()),
            (oracle::compress(&i64s, shape, mode), i64s.iter().map(|&x| x as u64).collect()),
        ]
    }

    #[test]
    fn decoding_matches_the_c_library_for_every_type_mode_shape_and_window() {
        let mut cases = 0;
        for (s, shape) in SHAPES.iter().enumerate() {
            for (m, &mode) in MODES.iter().enumerate() {
                for (stream, input) in c_streams_of_every_type(shape, mode, (s * 10 + m) as u64) {
                    let expected = oracle::decompress(&stream, u64::MAX, 0).unwrap();
                    assert_eq!(expected.consumed, stream.len(), "{shape:?} {mode:?}");
                    assert_eq!(expected.shape, shape.to_vec());
                    if mode == Mode::Reversible {
                        assert_eq!(expected.bits, input, "{shape:?}");
                    }
                    for strategy in STRATEGIES {
                        assert_eq!(ours(&stream, strategy), Ok(expected.clone()), "{shape:?} {mode:?} {strategy:?}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, SHAPES.len() * MODES.len() * 4 * STRATEGIES.len());
    }

    #[test]
    fn the_encoder_writes_the_c_library_bytes_for_every_shape_and_both_modes() {
        for shape in SHAPES {
            let n: usize = shape.iter().product();
            let mut noise = Noise(n as u64 | 1);
            let values: Vec<f32> = (0..n).map(|i| noise.sample(i) as f32).collect();
            for (mode, c_mode) in [
                (ZfpMode::Reversible, Mode::Reversible),
                (ZfpMode::Accuracy(1e-3), Mode::Accuracy(1e-3)),
                (ZfpMode::Accuracy(0.5), Mode::Accuracy(0.5)),
            ] {
                let stream = zfp_encode_f32(&values, shape, mode).unwrap();
                assert_eq!(stream, oracle::compress(&values, shape, c_mode), "{shape:?} {mode:?}");
                let decoded = zfp_decode(&stream, n as u64).unwrap();
                assert_eq!(decoded.shape, shape.to_vec());
                if mode == ZfpMode::Reversible {
                    assert_eq!(decoded.values, ZfpValues::F32(values.clone()), "{shape:?}");
                }
            }
        }
    }

    #[test]
    fn parallel_and_serial_encodes_give_the_same_stream() {
        // Past the parallel threshold (on a machine of several cores the pool encodes it in
        // chunks joined bit by bit): the C library's serial stream, byte for byte.
        let shape = [1usize, 4, 256, 256];
        let n: usize = shape.iter().product();
        assert!(n >= PARALLEL_MIN_VALUES);
        let mut noise = Noise(7);
        let values: Vec<f32> = (0..n).map(|i| noise.sample(i) as f32).collect();
        let stream = zfp_encode_f32(&values, &shape, ZfpMode::Reversible).unwrap();
        assert_eq!(stream, oracle::compress(&values, &shape, Mode::Reversible));
        let serial = crate::platform::zfp_execute(false, |execution| {
            let field = ZfpField::new(&values, zfp_dims(&shape)).unwrap();
            let config = ZfpMode::Reversible.config();
            let mut out = ZfpBitStream::new(config.maximum_size(ZfpScalarType::F32, field.dims()).unwrap()).unwrap();
            out.write_header(&config, &field.metadata(), ZfpHeaderMask::FULL).unwrap();
            let size = out.compress_with_execution(&config, &field, execution).unwrap();
            out.as_bytes()[..size].to_vec()
        });
        assert_eq!(stream, serial);
    }

    #[test]
    fn the_encoder_refuses_shapes_zfp_cannot_hold() {
        assert!(matches!(
            zfp_encode_f32(&[0.0; 32], &[2; 5], ZfpMode::Reversible),
            Err(ZfpError::UnsupportedShape { .. })
        ));
        assert!(matches!(zfp_encode_f32(&[0.0; 5], &[2, 3], ZfpMode::Reversible), Err(ZfpError::ShapeMismatch { .. })));
        assert!(matches!(zfp_encode_f32(&[], &[0], ZfpMode::Reversible), Err(ZfpError::UnsupportedShape { .. })));
    }

    #[test]
    fn a_stream_longer_than_the_default_window_decodes_like_the_c_library() {
        for (shape, mode) in
            [(&[2usize, 300, 500][..], Mode::Reversible), (&[3, 7, 150, 160][..], Mode::Accuracy(1e-6))]
        {
            let n: usize = shape.iter().product();
            let mut noise = Noise(7);
            let values: Vec<f64> = (0..n).map(|_| (noise.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5).collect();
            let stream = oracle::compress(&values, shape, mode);
            assert!(stream.len() > 2 * WINDOW_WORDS * 8, "{}", stream.len());
            let expected = oracle::decompress(&stream, u64::MAX, 0);
            assert!(n >= PARALLEL_MIN_VALUES, "decoded whole, these take the parallel decoder");
            assert_eq!(ours_from(stream.len(), &mut &stream[..], None), expected, "the automatic choice, {shape:?}");
            for strategy in
                [Strategy::Window(0), Strategy::Window(1000), Strategy::Window(WINDOW_WORDS), Strategy::Whole]
            {
                assert_eq!(ours(&stream, strategy), expected, "{shape:?} {strategy:?}");
            }
            for len in [stream.len() - 1, stream.len() - 9, stream.len() / 2, 64] {
                let cut = &stream[..len];
                let expected = oracle::decompress(cut, u64::MAX, 0);
                for strategy in [Strategy::Window(WINDOW_WORDS), Strategy::Whole] {
                    assert_eq!(ours(cut, strategy), expected, "{shape:?} cut to {len} {strategy:?}");
                }
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
            for (stream, _) in c_streams_of_every_type(shape, Mode::Accuracy(1e-2), 3) {
                let expected = oracle::decompress(&stream, u64::MAX, 0);
                for strategy in FEW {
                    let got = ours_from(stream.len(), &mut Trickle { data: &stream, step: 0 }, Some(strategy));
                    assert_eq!(got, expected, "{shape:?} {strategy:?}");
                }
            }
        }
    }

    #[test]
    fn a_reader_shorter_than_the_stream_length_is_an_error() {
        let (stream, _) = c_streams_of_every_type(&[6, 7, 9], Mode::Reversible, 5).remove(0);
        for strategy in FEW {
            let got = decode_stream(stream.len() + 100, u64::MAX, &mut &stream[..], Some(strategy));
            assert!(matches!(got, Err(ZfpError::Read(_))), "{got:?}", got = got.err());
        }
    }

    #[test]
    fn the_element_limit_and_the_minimum_size_are_checked_first() {
        let (stream, _) = c_streams_of_every_type(&[6, 7, 9], Mode::Rate(8.0), 5).remove(0);
        let refused = decode_stream(stream.len(), 377, &mut &stream[..], None).err().unwrap();
        assert_eq!(refused.to_string(), "zfp header declares 378 values, over the limit of 377");
        assert_eq!(oracle::decompress(&stream, 377, 0), Err(Failure::TooManyValues));
        // Fixed rate: every block takes exactly its bits, so a cut stream fails the size check.
        let cut = &stream[..100];
        assert_eq!(ours(cut, Strategy::Window(0)), Err(Failure::ShorterThanMode));
        assert_eq!(ours(cut, Strategy::Whole), Err(Failure::ShorterThanMode));
        assert_eq!(oracle::decompress(cut, u64::MAX, 0), Err(Failure::ShorterThanMode));
    }

    #[test]
    fn every_truncation_decodes_like_the_c_library_and_deep_cuts_fail() {
        let mut streams = Vec::new();
        for (shape, mode) in [
            (&[6usize, 7, 9][..], Mode::Reversible),
            (&[2, 3, 5, 7][..], Mode::Accuracy(1e-3)),
            (&[17, 6][..], Mode::Precision(20)),
            (&[64][..], Mode::Rate(12.0)),
        ] {
            streams.extend(c_streams_of_every_type(shape, mode, 11).into_iter().map(|(s, _)| (s, mode)));
        }
        // Every block takes at least one bit, so a cut that leaves 64 or more blocks unread
        // (here: past the header, at most half of a stream of 500 noise blocks) always shows.
        let mut noise = Noise(5);
        let values: Vec<f64> = (0..2000).map(|_| noise.next() as f64).collect();
        let long = oracle::compress(&values, &[2000], Mode::Reversible);
        for len in 32..=long.len() / 2 {
            for strategy in FEW {
                let got = ours(&long[..len], strategy);
                assert!(matches!(got, Err(Failure::Truncated | Failure::ShorterThanMode)), "cut to {len}: {got:?}");
            }
        }
        streams.push((long, Mode::Reversible));
        for (stream, mode) in &streams {
            for len in 0..stream.len() {
                let cut = &stream[..len];
                let expected = oracle::decompress(cut, u64::MAX, 0);
                for strategy in FEW {
                    assert_eq!(ours(cut, strategy), expected, "{mode:?} cut to {len} of {} {strategy:?}", stream.len());
                }
            }
        }
    }

    /// Expert modes a hostile header can name: maxbits below a block's prefix (the C library's
    /// bit budget wraps around; zfp-rs gives the block none), the largest blocks, and minbits
    /// that pad every block.
    const EXPERT_MODES: [Mode; 6] = [
        Mode::Expert(1, 1, 64, oracle::MIN_EXP),
        Mode::Expert(1, 1, 64, oracle::MIN_EXP - 1),
        Mode::Expert(1, 32768, 64, oracle::MIN_EXP),
        Mode::Expert(1, 16658, 64, oracle::MIN_EXP - 1),
        Mode::Expert(5000, 32768, 64, oracle::MIN_EXP - 1),
        Mode::Expert(32768, 32768, 64, oracle::MIN_EXP),
    ];

    /// Bodies of hostile bits: all ones, alternating, noise.
    fn bodies(words: usize) -> Vec<Vec<u64>> {
        let mut noise = Noise(99);
        vec![vec![u64::MAX; words], vec![0xaaaa_aaaa_aaaa_aaaa; words], (0..words).map(|_| noise.next()).collect()]
    }

    fn hostile_streams(shape: &[usize], mode: Mode, body: &[u64]) -> Vec<Vec<u8>> {
        vec![
            oracle::header_then::<i32>(shape, mode, body),
            oracle::header_then::<i64>(shape, mode, body),
            oracle::header_then::<f32>(shape, mode, body),
            oracle::header_then::<f64>(shape, mode, body),
        ]
    }

    #[test]
    fn hostile_expert_modes_decode_like_the_c_library_wherever_it_is_defined() {
        let mut compared = 0;
        let mut differ = 0;
        for shape in [&[9usize][..], &[5, 6], &[5, 4, 6], &[5, 4, 4, 6]] {
            for mode in EXPERT_MODES {
                // Enough body for several of the largest blocks, so they read real bits.
                for body in bodies(4 * 32768 / 64) {
                    for stream in hostile_streams(shape, mode, &body) {
                        for len in [stream.len(), stream.len() / 2, stream.len() / 5, 40, 20] {
                            let cut = &stream[..len];
                            let expected = oracle::decompress(cut, u64::MAX, 1 << 19);
                            for strategy in FEW {
                                let got = ours(cut, strategy);
                                // The C library's wrapped budget for maxbits below the prefix
                                // is its bug (zfp-rs documents it); there the two may part.
                                if matches!(mode, Mode::Expert(_, 1, ..)) {
                                    differ += usize::from(got != expected);
                                } else {
                                    assert_eq!(got, expected, "{shape:?} {mode:?} cut {len} {strategy:?}");
                                    compared += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(compared, 4 * 4 * 3 * 4 * 5 * 3);
        // Where the C library's budget wraps, its blocks read thousands of bits more.
        assert!(differ > 0);
    }
}
