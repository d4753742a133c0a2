//! Decoded latent tensors: shape, stored dtype and values in C order.

use half::f16;
use sha2::{Digest, Sha256};

/// The dtypes a LATN chunk can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    F32,
    F16,
}

impl Dtype {
    pub fn size(self) -> u64 {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
        }
    }
    /// The chunk flags as stored in the inner header.
    pub fn flags(self) -> [u8; 4] {
        match self {
            Dtype::F32 => *b"F32\0",
            Dtype::F16 => *b"F16\0",
        }
    }
    /// The flags as the manifest stores them (NUL-stripped).
    pub fn flag_str(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
        }
    }
    /// numpy's name, as in the record's `extra.dtype`.
    pub fn numpy_name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::F16 => "float16",
        }
    }
    /// Reads flags the way the reference does: trailing NULs and surrounding whitespace removed.
    pub fn from_flags(flags: &[u8]) -> Option<Dtype> {
        let end = flags.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let text = std::str::from_utf8(flags.get(..end)?).ok()?.trim();
        match text {
            "F32" => Some(Dtype::F32),
            "F16" => Some(Dtype::F16),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LatentValues {
    F32(Vec<f32>),
    F16(Vec<f16>),
}

impl LatentValues {
    pub fn dtype(&self) -> Dtype {
        match self {
            LatentValues::F32(_) => Dtype::F32,
            LatentValues::F16(_) => Dtype::F16,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            LatentValues::F32(v) => v.len(),
            LatentValues::F16(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The raw little-endian bytes in the stored dtype (what the chunk hash covers).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            LatentValues::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            LatentValues::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
    /// Reads little-endian bytes of a dtype; `None` when the length is not a whole number of values.
    pub fn from_le_bytes(dtype: Dtype, bytes: &[u8]) -> Option<LatentValues> {
        let size = dtype.size() as usize;
        if !bytes.len().is_multiple_of(size) {
            return None;
        }
        LatentValues::read_le(dtype, bytes.len() / size, &mut &*bytes).ok()
    }
    /// Reads `count` little-endian values from `reader` through a small buffer, so the only
    /// large allocation is the values themselves.
    pub fn read_le(dtype: Dtype, count: usize, reader: &mut dyn std::io::Read) -> std::io::Result<LatentValues> {
        const BATCH: usize = 16 << 10;
        let mut buffer = vec![0u8; BATCH * dtype.size() as usize];
        let mut values = match dtype {
            Dtype::F32 => LatentValues::F32(Vec::with_capacity(count)),
            Dtype::F16 => LatentValues::F16(Vec::with_capacity(count)),
        };
        let mut remaining = count;
        while remaining > 0 {
            let batch = remaining.min(BATCH);
            let bytes = buffer.get_mut(..batch * dtype.size() as usize).unwrap_or_default();
            reader.read_exact(bytes)?;
            match &mut values {
                LatentValues::F32(v) => v.extend(le_words(bytes).map(f32::from_le_bytes)),
                LatentValues::F16(v) => v.extend(le_words(bytes).map(f16::from_le_bytes)),
            }
            remaining -= batch;
        }
        Ok(values)
    }
    /// Every value widened to f32 (exact for both dtypes).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self {
            LatentValues::F32(v) => v.clone(),
            LatentValues::F16(v) => v.iter().map(|&x| f16_to_f32_exact(x)).collect(),
        }
    }
    /// Whether no value is NaN or infinite, without a widened copy.
    pub fn all_finite(&self) -> bool {
        match self {
            LatentValues::F32(v) => v.iter().all(|x| x.is_finite()),
            LatentValues::F16(v) => v.iter().all(|x| x.is_finite()),
        }
    }
    /// Value `i` as f32.
    pub fn get_f32(&self, i: usize) -> Option<f32> {
        match self {
            LatentValues::F32(v) => v.get(i).copied(),
            LatentValues::F16(v) => v.get(i).map(|x| x.to_f32()),
        }
    }
    /// sha256 of [`Self::to_le_bytes`], streamed through a small buffer rather than a copy of
    /// the whole tensor (a latent may be hundreds of megabytes).
    pub fn sha256_hex(&self) -> String {
        const BATCH: usize = 4096;
        let mut hasher = Sha256::new();
        let mut buffer = Vec::with_capacity(BATCH * 4);
        match self {
            LatentValues::F32(v) => v.chunks(BATCH).for_each(|batch| {
                buffer.clear();
                buffer.extend(batch.iter().flat_map(|x| x.to_le_bytes()));
                hasher.update(&buffer);
            }),
            LatentValues::F16(v) => v.chunks(BATCH).for_each(|batch| {
                buffer.clear();
                buffer.extend(batch.iter().flat_map(|x| x.to_le_bytes()));
                hasher.update(&buffer);
            }),
        }
        format!("{:x}", hasher.finalize())
    }
    pub fn to_f16(&self) -> LatentValues {
        match self {
            LatentValues::F32(v) => LatentValues::F16(v.iter().map(|&x| f32_to_f16_exact(x)).collect()),
            LatentValues::F16(v) => LatentValues::F16(v.clone()),
        }
    }
}

/// float16 to float32 as numpy converts it: exact, NaNs keeping their payload and their quiet
/// bit. (`half` may use the CPU's conversion, which sets the quiet bit of a signalling NaN, so a
/// float16 latent stored as float32 zfp would not read back bit-exactly.)
pub fn f16_to_f32_exact(value: f16) -> f32 {
    if value.is_nan() {
        let bits = u32::from(value.to_bits());
        f32::from_bits(((bits & 0x8000) << 16) | 0x7f80_0000 | ((bits & 0x03ff) << 13))
    } else {
        value.to_f32()
    }
}

/// float32 to float16 as numpy's `astype` rounds it, NaNs keeping the top of their payload and
/// their quiet bit (a payload that would become zero becomes 1, so the value stays a NaN).
pub fn f32_to_f16_exact(value: f32) -> f16 {
    if value.is_nan() {
        let bits = value.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let payload = ((bits >> 13) & 0x03ff) as u16;
        f16::from_bits(sign | 0x7c00 | payload.max(1))
    } else {
        f16::from_f32(value)
    }
}

/// Summary statistics of a tensor; min/max/mean/std are over finite values only.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Stats {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation (numpy's default, ddof = 0).
    pub std: Option<f64>,
    pub nan_count: u64,
    pub inf_count: u64,
    pub count: u64,
}

impl Stats {
    pub fn of(values: impl Iterator<Item = f32>) -> Stats {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut n, mut mean, mut m2) = (0u64, 0.0f64, 0.0f64);
        let (mut nan_count, mut inf_count, mut count) = (0u64, 0u64, 0u64);
        for value in values {
            count += 1;
            if value.is_nan() {
                nan_count += 1;
                continue;
            }
            if value.is_infinite() {
                inf_count += 1;
                continue;
            }
            let x = f64::from(value);
            min = min.min(x);
            max = max.max(x);
            // Welford's update keeps the variance accurate over millions of values.
            n += 1;
            let delta = x - mean;
            mean += delta / n as f64;
            m2 += delta * (x - mean);
        }
        let finite = n > 0;
        Stats {
            min: finite.then_some(min),
            max: finite.then_some(max),
            mean: finite.then_some(mean),
            std: finite.then(|| (m2 / n as f64).sqrt()),
            nan_count,
            inf_count,
            count,
        }
    }
}

/// Which way a latent chunk was stored.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredCodec {
    Raw,
    /// zstd frame of the inner header + zfp stream (raiiaf 1.x).
    Zfp,
    /// One zstd frame of inner header + raw bytes (gen5).
    Zstd,
}

impl StoredCodec {
    pub fn name(self) -> &'static str {
        match self {
            StoredCodec::Raw => "raw",
            StoredCodec::Zfp => "zfp",
            StoredCodec::Zstd => "zstd",
        }
    }
}

/// Why values and a shape do not make a [`Latent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LatentError {
    #[error("shape {shape:?} holds more values than can be addressed")]
    ShapeOverflows { shape: Vec<usize> },
    #[error("shape {shape:?} holds {expected} values, got {actual}")]
    ValueCount { shape: Vec<usize>, expected: usize, actual: usize },
}

/// A decoded latent tensor: its values are always as many as its shape holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Latent {
    key: String,
    shape: Vec<usize>,
    values: LatentValues,
}

impl Latent {
    pub fn new(key: impl Into<String>, shape: Vec<usize>, values: LatentValues) -> Result<Latent, LatentError> {
        let Some(expected) = element_count(&shape) else { return Err(LatentError::ShapeOverflows { shape }) };
        if expected != values.len() {
            return Err(LatentError::ValueCount { shape, expected, actual: values.len() });
        }
        Ok(Latent { key: key.into(), shape, values })
    }
    /// The name the manifest and the chunk table know it by.
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Every value in C order: `shape`'s product of them.
    pub fn values(&self) -> &LatentValues {
        &self.values
    }
    pub fn renamed(self, key: impl Into<String>) -> Latent {
        Latent { key: key.into(), ..self }
    }
    /// The same tensor with its values rounded to float16 (as the reference's `float16` option stores them).
    pub fn to_f16(&self) -> Latent {
        Latent { values: self.values.to_f16(), ..self.clone() }
    }
    pub fn dtype(&self) -> Dtype {
        self.values.dtype()
    }
    pub fn stats(&self) -> Stats {
        match &self.values {
            LatentValues::F32(v) => Stats::of(v.iter().copied()),
            LatentValues::F16(v) => Stats::of(v.iter().map(|x| x.to_f32())),
        }
    }
}

/// The first axis of length 0, if any: such a tensor holds no values, so it can neither be shown
/// nor reproduce an image (the reference writer refuses it; its reader does not).
pub fn zero_length_axis(shape: &[usize]) -> Option<usize> {
    shape.iter().position(|&d| d == 0)
}

/// Product of the dimensions, `None` on overflow.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// `bytes` as consecutive `N`-byte words (a trailing partial word is dropped), for
/// `from_le_bytes` without indexing.
pub fn le_words<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).filter_map(|word| word.first_chunk::<N>().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_nans_keep_their_payload_and_quiet_bit_both_ways_as_in_numpy() {
        // (float16 bits, float32 bits): numpy's npy_halfbits_to_floatbits and back.
        for (half, single) in [
            (0x7caa_u16, 0x7f95_4000_u32), // signalling NaN
            (0x7eaa, 0x7fd5_4000),         // quiet NaN
            (0xfc01, 0xff80_2000),         // negative, lowest payload
            (0x7c00, 0x7f80_0000),         // infinity
            (0x3c00, 0x3f80_0000),         // 1.0
            (0x0001, 0x3380_0000),         // smallest subnormal
        ] {
            assert_eq!(f16_to_f32_exact(f16::from_bits(half)).to_bits(), single, "{half:#06x}");
            assert_eq!(f32_to_f16_exact(f32::from_bits(single)).to_bits(), half, "{single:#010x}");
        }
        // A float32 NaN whose payload lies below float16's keeps being a NaN.
        assert_eq!(f32_to_f16_exact(f32::from_bits(0x7f80_0001)).to_bits(), 0x7c01);
    }

    #[test]
    fn streamed_hash_equals_hash_of_the_byte_copy() {
        // Lengths around the batch size, so partial and whole batches are both covered.
        for len in [0usize, 1, 4095, 4096, 4097, 10_000] {
            let f32s = LatentValues::F32((0..len).map(|i| i as f32 * 0.37 - 11.0).collect());
            let f16s = f32s.to_f16();
            for values in [f32s, f16s] {
                assert_eq!(values.sha256_hex(), format!("{:x}", Sha256::digest(values.to_le_bytes())), "len {len}");
            }
        }
    }

    #[test]
    fn flags_parse_like_the_reference() {
        assert_eq!(Dtype::from_flags(b"F32\0"), Some(Dtype::F32));
        assert_eq!(Dtype::from_flags(b"F16\0"), Some(Dtype::F16));
        assert_eq!(Dtype::from_flags(b" F16"), Some(Dtype::F16));
        assert_eq!(Dtype::from_flags(b"0000"), None);
        assert_eq!(Dtype::from_flags(b"\0\0\0\0"), None);
    }

    #[test]
    fn stats_match_a_direct_computation() {
        let values = [1.0f32, 2.0, 4.0, f32::NAN, f32::INFINITY, -3.0];
        let stats = Stats::of(values.iter().copied());
        let finite = [1.0f64, 2.0, 4.0, -3.0];
        let mean = finite.iter().sum::<f64>() / 4.0;
        let var = finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert_eq!((stats.min, stats.max), (Some(-3.0), Some(4.0)));
        assert!((stats.mean.unwrap() - mean).abs() < 1e-12);
        assert!((stats.std.unwrap() - var.sqrt()).abs() < 1e-12);
        assert_eq!((stats.nan_count, stats.inf_count, stats.count), (1, 1, 6));
        assert_eq!(Stats::of(std::iter::empty()).mean, None);
    }

    #[test]
    fn le_bytes_round_trip_and_refuse_ragged_input() {
        let values = LatentValues::F32(vec![1.5, -0.25, 3.0e-8]);
        let bytes = values.to_le_bytes();
        assert_eq!(LatentValues::from_le_bytes(Dtype::F32, &bytes), Some(values));
        assert_eq!(LatentValues::from_le_bytes(Dtype::F32, &bytes[..5]), None);
        assert_eq!(LatentValues::from_le_bytes(Dtype::F16, &bytes[..5]), None);
    }
}
