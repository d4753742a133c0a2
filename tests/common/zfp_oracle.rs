//! The C zfp library (`zfp-sys`, a dev-dependency), wrapped for the tests that prove zfp-rs
//! writes and reads the same streams it does: the product itself has no C zfp in it.
//!
//! Shared by the zfp module's unit tests and the integration tests (included by path in both),
//! so it names no type of the crate: values go in as slices and come out as bit patterns.
#![allow(dead_code, unsafe_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use zfp_sys as zfp;

/// zfp compression modes, as zfp's C API sets them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Reversible,
    Accuracy(f64),
    Precision(u32),
    Rate(f64),
    /// (minbits, maxbits, maxprec, minexp).
    Expert(u32, u32, u32, i32),
}

pub const MIN_EXP: i32 = zfp::ZFP_MIN_EXP;

/// A scalar type zfp stores.
pub trait Scalar: Copy {
    const TYPE: zfp::zfp_type;
}
impl Scalar for i32 {
    const TYPE: zfp::zfp_type = zfp::zfp_type_zfp_type_int32;
}
impl Scalar for i64 {
    const TYPE: zfp::zfp_type = zfp::zfp_type_zfp_type_int64;
}
impl Scalar for f32 {
    const TYPE: zfp::zfp_type = zfp::zfp_type_zfp_type_float;
}
impl Scalar for f64 {
    const TYPE: zfp::zfp_type = zfp::zfp_type_zfp_type_double;
}

/// The C library's handles, freed on every path.
struct Handles {
    field: *mut zfp::zfp_field,
    stream: *mut zfp::zfp_stream,
    bits: *mut zfp::bitstream,
}

impl Handles {
    fn new() -> Handles {
        // SAFETY: plain allocations, checked below and freed in drop.
        let handles = unsafe {
            Handles {
                field: zfp::zfp_field_alloc(),
                stream: zfp::zfp_stream_open(std::ptr::null_mut()),
                bits: std::ptr::null_mut(),
            }
        };
        assert!(!handles.field.is_null() && !handles.stream.is_null());
        handles
    }

    /// Points the stream at `words` (which must outlive every use of the handles).
    fn open_bits(&mut self, words: &mut [u64]) {
        // SAFETY: the bit stream covers exactly `words`.
        unsafe {
            self.bits = zfp::stream_open(words.as_mut_ptr().cast(), words.len() * 8);
            assert!(!self.bits.is_null());
            zfp::zfp_stream_set_bit_stream(self.stream, self.bits);
            zfp::zfp_stream_rewind(self.stream);
        }
    }

    /// Describes a C-order shape the way zfpy does: dimensions reversed (nx = last axis).
    fn set_shape(&mut self, scalar: zfp::zfp_type, shape: &[usize]) {
        // SAFETY: the field is live; sizes are plain integers.
        unsafe {
            zfp::zfp_field_set_type(self.field, scalar);
            match *shape {
                [nx] => zfp::zfp_field_set_size_1d(self.field, nx),
                [ny, nx] => zfp::zfp_field_set_size_2d(self.field, nx, ny),
                [nz, ny, nx] => zfp::zfp_field_set_size_3d(self.field, nx, ny, nz),
                [nw, nz, ny, nx] => zfp::zfp_field_set_size_4d(self.field, nx, ny, nz, nw),
                _ => panic!("zfp holds 1 to 4 dimensions, not {shape:?}"),
            }
        }
    }

    fn set_mode(&mut self, mode: Mode, scalar: zfp::zfp_type, rank: usize) {
        // SAFETY: the stream is live.
        unsafe {
            match mode {
                Mode::Reversible => zfp::zfp_stream_set_reversible(self.stream),
                Mode::Accuracy(tolerance) => {
                    zfp::zfp_stream_set_accuracy(self.stream, tolerance);
                }
                Mode::Precision(precision) => {
                    zfp::zfp_stream_set_precision(self.stream, precision);
                }
                Mode::Rate(rate) => {
                    zfp::zfp_stream_set_rate(self.stream, rate, scalar, rank as u32, 0);
                }
                Mode::Expert(minbits, maxbits, maxprec, minexp) => {
                    assert_eq!(zfp::zfp_stream_set_params(self.stream, minbits, maxbits, maxprec, minexp), 1);
                }
            }
        }
    }
}

impl Drop for Handles {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or came from the matching allocator, freed once here.
        unsafe {
            zfp::zfp_stream_close(self.stream);
            if !self.bits.is_null() {
                zfp::stream_close(self.bits);
            }
            zfp::zfp_field_free(self.field);
        }
    }
}

fn bytes_of(words: &[u64], len: usize) -> Vec<u8> {
    words.iter().flat_map(|word| word.to_le_bytes()).take(len).collect()
}

fn words_of(bytes: &[u8], words: usize) -> Vec<u64> {
    let mut out = vec![0u64; words.max(bytes.len().div_ceil(8))];
    for (word, chunk) in out.iter_mut().zip(bytes.chunks(8)) {
        let mut le = [0u8; 8];
        le[..chunk.len()].copy_from_slice(chunk);
        *word = u64::from_le_bytes(le);
    }
    out
}

/// Compresses the C-order array `values` of `shape` with zfp's full header first, as zfpy does.
pub fn compress<T: Scalar>(values: &[T], shape: &[usize], mode: Mode) -> Vec<u8> {
    assert_eq!(shape.iter().product::<usize>(), values.len());
    let mut handles = Handles::new();
    handles.set_shape(T::TYPE, shape);
    handles.set_mode(mode, T::TYPE, shape.len());
    // SAFETY: zfp reads `values` only during zfp_compress, while it is borrowed; it writes at
    // most zfp_stream_maximum_size bytes into `words`, which outlives the handles.
    unsafe {
        zfp::zfp_field_set_pointer(handles.field, values.as_ptr() as *mut std::ffi::c_void);
        let max_bytes = zfp::zfp_stream_maximum_size(handles.stream, handles.field);
        assert!(max_bytes > 0);
        let mut words = vec![0u64; max_bytes.div_ceil(8)];
        handles.open_bits(&mut words);
        assert!(zfp::zfp_write_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL) > 0);
        let written = zfp::zfp_compress(handles.stream, handles.field);
        assert!(written > 0);
        drop(handles);
        bytes_of(&words, written)
    }
}

/// A full header for a `shape` field of `T` in `mode`, followed by the bits of `body`: a stream
/// whose blocks are whatever those bits say.
pub fn header_then<T: Scalar>(shape: &[usize], mode: Mode, body: &[u64]) -> Vec<u8> {
    let mut handles = Handles::new();
    handles.set_shape(T::TYPE, shape);
    handles.set_mode(mode, T::TYPE, shape.len());
    let mut words = vec![0u64; 4 + body.len()];
    handles.open_bits(&mut words);
    // SAFETY: the header takes at most 148 bits and each body word 64, all within `words`.
    unsafe {
        assert!(zfp::zfp_write_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL) > 0);
        for &word in body {
            zfp::stream_write_bits(handles.bits, word, 64);
        }
        zfp::zfp_stream_flush(handles.stream);
        let len = zfp::stream_wtell(handles.bits).div_ceil(8) as usize;
        drop(handles);
        bytes_of(&words, len)
    }
}

/// What the C library made of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// C-order shape from the header.
    pub shape: Vec<usize>,
    /// `i32`, `i64`, `f32` or `f64`.
    pub scalar: &'static str,
    /// Each value's bits (integers sign-extended to 64), so NaNs compare equal to themselves.
    pub bits: Vec<u64>,
    /// Bytes `zfp_decompress` reports it consumed.
    pub consumed: usize,
}

/// Why the C library could not decode a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `zfp_read_header` refused the header, or the mode it names has no size.
    Header,
    /// The field holds more values than `max_values`.
    TooManyValues,
    /// The stream is shorter than its mode's minimum bits per block.
    ShorterThanMode,
    /// Decoding read past the stream (rounded up to whole words).
    Truncated,
}

/// Decodes a stream with `zfp_decompress` from a buffer padded with zeros past what its field and
/// mode can occupy (plus `extra_pad` bytes), so the C library never reads outside it.
pub fn decompress(stream: &[u8], max_values: u64, extra_pad: usize) -> Result<Decoded, Failure> {
    let mut head = words_of(&stream[..stream.len().min(32)], 8);
    let mut handles = Handles::new();
    handles.open_bits(&mut head);
    // SAFETY: every buffer outlives the handles opened over it and is padded past what the
    // header reader and (for `words`) the field's blocks can read.
    unsafe {
        if zfp::zfp_read_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL) == 0 {
            return Err(Failure::Header);
        }
        let max_bytes = zfp::zfp_stream_maximum_size(handles.stream, handles.field);
        if max_bytes == 0 {
            return Err(Failure::Header);
        }
        let field = &*handles.field;
        let shape: Vec<usize> = [field.nw, field.nz, field.ny, field.nx].into_iter().filter(|&d| d != 0).collect();
        let count: u64 = shape.iter().map(|&d| d as u64).product();
        if count > max_values {
            return Err(Failure::TooManyValues);
        }
        let blocks = zfp::zfp_field_blocks(handles.field) as u64;
        if blocks * u64::from((*handles.stream).minbits) > stream.len() as u64 * 8 {
            return Err(Failure::ShorterThanMode);
        }
        let scalar = field.type_;
        drop(handles);
        let mut words = words_of(stream, (max_bytes.max(stream.len()) + 64 + extra_pad).div_ceil(8));
        let mut handles = Handles::new();
        handles.open_bits(&mut words);
        assert_ne!(zfp::zfp_read_header(handles.stream, handles.field, zfp::ZFP_HEADER_FULL), 0);
        let count = count as usize;
        let (name, bits, consumed) = match scalar {
            t if t == zfp::zfp_type_zfp_type_int32 => {
                let (values, consumed) = run::<i32>(&handles, count);
                ("i32", values.iter().map(|&x| x as i64 as u64).collect(), consumed)
            }
            t if t == zfp::zfp_type_zfp_type_int64 => {
                let (values, consumed) = run::<i64>(&handles, count);
                ("i64", values.iter().map(|&x| x as u64).collect(), consumed)
            }
            t if t == zfp::zfp_type_zfp_type_float => {
                let (values, consumed) = run::<f32>(&handles, count);
                ("f32", values.iter().map(|&x| u64::from(x.to_bits())).collect(), consumed)
            }
            _ => {
                let (values, consumed) = run::<f64>(&handles, count);
                ("f64", values.iter().map(|&x| x.to_bits()).collect(), consumed)
            }
        };
        if consumed == 0 || consumed > stream.len().next_multiple_of(8) {
            return Err(Failure::Truncated);
        }
        Ok(Decoded { shape, scalar: name, bits, consumed })
    }
}

/// `zfp_decompress` into a fresh array of `count` values of `T`.
fn run<T: Scalar + Default + Clone>(handles: &Handles, count: usize) -> (Vec<T>, usize) {
    let mut values = vec![T::default(); count];
    // SAFETY: the field describes `count` values of `T`, which `values` holds; the stream's
    // buffer is padded past what decoding can read (see `decompress`).
    let consumed = unsafe {
        zfp::zfp_field_set_pointer(handles.field, values.as_mut_ptr().cast());
        zfp::zfp_decompress(handles.stream, handles.field)
    };
    (values, consumed)
}
