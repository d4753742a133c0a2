//! zstd frames, the container's general-purpose codec (zfp streams are in [`super::zfp`]).
//!
//! Frames are hostile input: the size a frame declares is checked against the caller's cap
//! before anything is allocated.

use std::io::Read;

/// zstd level the reference uses (python-zstandard's default).
pub const ZSTD_LEVEL: i32 = 3;

/// Why a zstd frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame header does not state the decompressed size (the reference refuses these too).
    #[error("zstd frame header does not state the content size")]
    NoContentSize,
    /// The stated size is over the caller's cap; nothing was allocated.
    #[error("zstd frame declares {declared} bytes, over the limit of {cap}")]
    TooLarge { declared: u64, cap: u64 },
    #[error("zstd frame does not decode: {0}")]
    Invalid(String),
}

/// Why [`zstd_stream_frame`] failed: the frame itself, or what its consumer said of the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamedFrameError<E> {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("{0}")]
    Content(E),
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
pub fn zstd_stream_frame<T, E>(
    input: &[u8],
    cap: u64,
    consume: impl FnOnce(u64, &mut dyn Read) -> Result<T, E>,
) -> Result<StreamedFrame<T>, StreamedFrameError<E>> {
    check_frame_descriptor(input)?;
    let declared = match zstd::zstd_safe::get_frame_content_size(input) {
        Ok(Some(size)) => size,
        Ok(None) => return Err(FrameError::NoContentSize.into()),
        Err(_) => return Err(FrameError::Invalid("not a zstd frame header".into()).into()),
    };
    if declared > cap {
        return Err(FrameError::TooLarge { declared, cap }.into());
    }
    let invalid = |e: std::io::Error| FrameError::Invalid(e.to_string());
    let decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(invalid)?.single_frame();
    let mut content = CountingReader { inner: decoder, count: 0 };
    let value = consume(declared, &mut content).map_err(StreamedFrameError::Content)?;
    let consumed = content.count;
    std::io::copy(&mut content, &mut std::io::sink()).map_err(invalid)?;
    if content.count != declared {
        return Err(FrameError::Invalid(format!("decoded {} bytes, header declared {declared}", content.count)).into());
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
