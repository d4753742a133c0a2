//! Stealth PNG info: parameters hidden in the pixels' least significant bits, as written by the
//! AUTOMATIC1111 extension `stealth_pnginfo` and by NovelAI, so they survive sites that strip text
//! chunks but keep pixels.
//!
//! The scheme, as both writers implement it: the pixels are visited column by column (x outer,
//! y inner, from the top-left). Each pixel gives one bit, the low bit of its alpha, in "alpha"
//! mode; or three bits, the low bits of red, green and blue in that order, in "RGB" mode. The bits
//! form bytes most significant bit first. They start with a 15-byte ASCII signature naming the
//! mode and whether the payload is compressed (`stealth_pnginfo` alpha/plain, `stealth_pngcomp`
//! alpha/gzip, `stealth_rgbinfo` RGB/plain, `stealth_rgbcomp` RGB/gzip), then a 32-bit big-endian
//! count of payload *bits*, then the payload: the `parameters` text in UTF-8 (the extension), or
//! gzip of a JSON object of the PNG's text chunks, `Comment` itself a JSON string (NovelAI).
//!
//! Only lossless pixels keep these bits, so only PNG and WebP are looked at. The picture is
//! decoded within [`MAX_PIXELS`]; the payload may be no larger than the pixels can hold, nor than
//! [`MAX_PAYLOAD_BYTES`], and inflates to at most [`super::TEXT_LIMIT`].

use std::io::Read;

use super::TEXT_LIMIT;
use crate::format::{Limits, picture};

/// Pixels decoded at most to look for stealth data (4096 x 4096, as large as generators' upscaled
/// output usually is): decoding takes far more memory than the file, up to 8 bytes a pixel.
pub const MAX_PIXELS: u64 = 1 << 24;

/// Stored payload bytes read at most (before inflating).
pub const MAX_PAYLOAD_BYTES: usize = TEXT_LIMIT;

const SIGNATURE_BYTES: u64 = 15;
const HEADER_BITS: u64 = SIGNATURE_BYTES * 8 + 32;

/// A payload found in the pixels: the signature that announced it, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Stealth {
    pub signature: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Alpha,
    Rgb,
}

impl Mode {
    fn bits_per_pixel(self) -> u64 {
        match self {
            Mode::Alpha => 1,
            Mode::Rgb => 3,
        }
    }

    /// The signatures of this mode: (plain, compressed).
    fn signatures(self) -> [(&'static str, bool); 2] {
        match self {
            Mode::Alpha => [("stealth_pnginfo", false), ("stealth_pngcomp", true)],
            Mode::Rgb => [("stealth_rgbinfo", false), ("stealth_rgbcomp", true)],
        }
    }
}

/// The low bits of RGBA pixels, in the writers' column-major order.
struct Bits<'a> {
    rgba: &'a [u8],
    width: u64,
    height: u64,
    mode: Mode,
}

impl Bits<'_> {
    fn capacity(&self) -> u64 {
        self.width.saturating_mul(self.height).saturating_mul(self.mode.bits_per_pixel())
    }

    fn bit(&self, index: u64) -> Option<u8> {
        let per_pixel = self.mode.bits_per_pixel();
        let pixel = index / per_pixel;
        let channel = match self.mode {
            Mode::Alpha => 3,
            Mode::Rgb => index % per_pixel,
        };
        let (x, y) = (pixel / self.height, pixel % self.height);
        if x >= self.width {
            return None;
        }
        let offset = y.checked_mul(self.width)?.checked_add(x)?.checked_mul(4)?.checked_add(channel)?;
        Some(self.rgba.get(usize::try_from(offset).ok()?)? & 1)
    }

    /// `count` bytes starting at bit `start`; `None` past the last pixel.
    fn bytes(&self, start: u64, count: u64) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(count).ok()?);
        for byte in 0..count {
            let mut value = 0u8;
            for bit in 0..8 {
                value = (value << 1) | self.bit(start.checked_add(byte.checked_mul(8)?.checked_add(bit)?)?)?;
            }
            out.push(value);
        }
        Some(out)
    }
}

/// Why a stealth payload was not read.
#[derive(Debug, thiserror::Error)]
pub enum StealthError {
    #[error("stealth data not looked for: {0}")]
    Pixels(#[from] picture::PictureError),
    /// A signature was found; what follows it is unusable.
    #[error("{signature}: {problem}")]
    Payload { signature: &'static str, problem: PayloadProblem },
}

/// What is wrong with the payload after a stealth signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadProblem {
    #[error("the image ends inside the payload's length")]
    LengthCut,
    #[error("a payload of {bits} bits is more than the image holds ({room} bits)")]
    LongerThanImage { bits: u64, room: u64 },
    #[error("a payload of {bits} bits is not a whole number of bytes")]
    NotWholeBytes { bits: u64 },
    #[error("a payload of {bytes} bytes is over the limit of {limit}")]
    OverLimit { bytes: u64, limit: usize },
    #[error("the image ends inside the payload")]
    PayloadCut,
    #[error("the payload is not valid gzip: {detail}")]
    NotGzip { detail: String },
    #[error("the payload inflates to more than {limit} bytes")]
    InflatesPastLimit { limit: usize },
}

/// Looks for a stealth payload in a PNG or WebP's pixels: alpha mode first (the extension's
/// default, and NovelAI's), then RGB. `Ok(None)` when there is none; `Err` when the pixels do not
/// decode, or a signature is there but what follows it is unusable.
pub fn read(image_bytes: &[u8]) -> Result<Option<Stealth>, StealthError> {
    let limits = Limits { max_image_pixels: MAX_PIXELS, ..Limits::default() };
    let rgba = picture::decode_rgba(image_bytes, &limits)?;
    let (width, height) = (u64::from(rgba.width()), u64::from(rgba.height()));
    if width == 0 || height == 0 {
        return Ok(None);
    }
    for mode in [Mode::Alpha, Mode::Rgb] {
        let bits = Bits { rgba: rgba.as_raw(), width, height, mode };
        if let Some(found) =
            read_mode(&bits).map_err(|(signature, problem)| StealthError::Payload { signature, problem })?
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The payload after a signature of `bits`' mode, if one is there; a problem names the signature.
fn read_mode(bits: &Bits<'_>) -> Result<Option<Stealth>, (&'static str, PayloadProblem)> {
    let Some(signature) = bits.bytes(0, SIGNATURE_BYTES) else { return Ok(None) };
    let Some(&(name, compressed)) = bits.mode.signatures().iter().find(|(name, _)| name.as_bytes() == signature) else {
        return Ok(None);
    };
    let length = bits
        .bytes(SIGNATURE_BYTES * 8, 4)
        .and_then(|b| Some(u32::from_be_bytes(b.try_into().ok()?)))
        .ok_or((name, PayloadProblem::LengthCut))?;
    let length = u64::from(length);
    let room = bits.capacity().saturating_sub(HEADER_BITS);
    if length > room {
        return Err((name, PayloadProblem::LongerThanImage { bits: length, room }));
    }
    if length % 8 != 0 {
        return Err((name, PayloadProblem::NotWholeBytes { bits: length }));
    }
    let byte_count = length / 8;
    if byte_count > MAX_PAYLOAD_BYTES as u64 {
        return Err((name, PayloadProblem::OverLimit { bytes: byte_count, limit: MAX_PAYLOAD_BYTES }));
    }
    let payload = bits.bytes(HEADER_BITS, byte_count).ok_or((name, PayloadProblem::PayloadCut))?;
    let bytes = if compressed { gunzip(&payload).map_err(|problem| (name, problem))? } else { payload };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        // The extension drops what is not UTF-8 from a plain payload; a replacement character
        // shows where.
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    };
    Ok(Some(Stealth { signature: name, text }))
}

/// Inflates one gzip member, refusing more than [`TEXT_LIMIT`] bytes of output.
fn gunzip(data: &[u8]) -> Result<Vec<u8>, PayloadProblem> {
    let mut out = Vec::new();
    let limit = u64::try_from(TEXT_LIMIT).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| PayloadProblem::NotGzip { detail: e.to_string() })?;
    if out.len() > TEXT_LIMIT {
        return Err(PayloadProblem::InflatesPastLimit { limit: TEXT_LIMIT });
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// The bit stream a writer hides: signature, 32-bit length in bits, payload.
    pub(crate) fn stream(signature: &str, payload: &[u8], length_bits: Option<u32>) -> Vec<u8> {
        let mut out = signature.as_bytes().to_vec();
        out.extend(length_bits.unwrap_or(payload.len() as u32 * 8).to_be_bytes());
        out.extend(payload);
        out
    }

    /// An opaque RGBA picture with `data`'s bits in the low bits, column by column, written to
    /// PNG the way the extension and NovelAI write theirs.
    pub(crate) fn stealth_png(width: u32, height: u32, data: &[u8], rgb: bool) -> Vec<u8> {
        let mut image = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([x as u8, y as u8, 200, 255]));
        let bits: Vec<u8> = data.iter().flat_map(|byte| (0..8).rev().map(move |i| (byte >> i) & 1)).collect();
        let per_pixel = if rgb { 3 } else { 1 };
        assert!(bits.len() <= (width * height) as usize * per_pixel, "test data does not fit");
        for (index, bit) in bits.iter().enumerate() {
            let pixel = index / per_pixel;
            let (x, y) = ((pixel / height as usize) as u32, (pixel % height as usize) as u32);
            let channel = if rgb { index % 3 } else { 3 };
            let value = &mut image.get_pixel_mut(x, y).0[channel];
            *value = (*value & !1) | bit;
        }
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_from_an_encoder_written_apart_read_back() {
        // `tests/scripts/make_stealth_fixtures.py` wrote these with its own encoder, from the
        // layout as the extension writes it; this reader's tests otherwise use their own.
        const TEXT: &str = "a lighthouse at dusk, film grain\nNegative prompt: fog\nSteps: 24, Sampler: Euler a, \
            CFG scale: 6.5, Seed: 90210, Size: 48x40, Model hash: 0123abcd, Model: beacon_v2";
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/params");
        for signature in ["stealth_pngcomp", "stealth_rgbinfo"] {
            let image = std::fs::read(dir.join(format!("{signature}.png"))).unwrap();
            let found = read(&image).unwrap().unwrap_or_else(|| panic!("{signature}: nothing found"));
            assert_eq!((found.signature, found.text.as_str()), (signature, TEXT));
            let imported = crate::params::import_from_image(&image).unwrap().unwrap();
            assert_eq!(imported.settings.get("seed"), Some(&serde_json::json!(90210)), "{signature}");
            assert_eq!(imported.model_name.as_deref(), Some("beacon_v2"), "{signature}");
        }
    }

    #[test]
    fn all_four_signatures_are_read() {
        let text = "a cat, ünïcödé\nSteps: 20, Sampler: Euler a, Seed: 5";
        for (signature, rgb, compressed) in [
            ("stealth_pnginfo", false, false),
            ("stealth_pngcomp", false, true),
            ("stealth_rgbinfo", true, false),
            ("stealth_rgbcomp", true, true),
        ] {
            let payload = if compressed { gzip(text.as_bytes()) } else { text.as_bytes().to_vec() };
            // A narrow, tall picture: column-major order matters (the data spans several columns).
            let png = stealth_png(40, 23, &stream(signature, &payload, None), rgb);
            let found = read(&png).unwrap().unwrap();
            assert_eq!(found, Stealth { signature, text: text.into() });
        }
    }

    #[test]
    fn row_major_bits_are_not_mistaken_for_stealth_data() {
        // The same bits written row by row: the signature does not appear in column order.
        let data = stream("stealth_pnginfo", b"hello", None);
        let (width, height) = (40u32, 23u32);
        let mut image = image::RgbaImage::from_pixel(width, height, image::Rgba([1, 2, 3, 255]));
        let bits: Vec<u8> = data.iter().flat_map(|byte| (0..8).rev().map(move |i| (byte >> i) & 1)).collect();
        for (index, bit) in bits.iter().enumerate() {
            let (x, y) = (index as u32 % width, index as u32 / width);
            image.get_pixel_mut(x, y).0[3] = 254 | bit;
        }
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        assert_eq!(read(&out.into_inner()).unwrap(), None);
    }

    #[test]
    fn images_without_stealth_data() {
        let plain = stealth_png(20, 20, &[], false);
        assert_eq!(read(&plain).unwrap(), None);
        // Too small to hold a signature.
        let tiny = stealth_png(3, 3, &[], false);
        assert_eq!(read(&tiny).unwrap(), None);
        assert!(read(b"not an image").is_err());
    }

    #[test]
    fn broken_payloads_are_errors_never_panics() {
        let cases: [(&str, Vec<u8>, &str); 5] = [
            (
                "length larger than the image",
                stream("stealth_pnginfo", b"abc", Some(1_000_000)),
                "more than the image holds",
            ),
            ("length not whole bytes", stream("stealth_pnginfo", b"abc", Some(20)), "not a whole number of bytes"),
            ("bad gzip", stream("stealth_pngcomp", b"this is not gzip at all", None), "not valid gzip"),
            (
                "truncated gzip",
                stream("stealth_pngcomp", &gzip(b"some text to compress")[..12], None),
                "not valid gzip",
            ),
            ("length cut off", b"stealth_pnginfo\x00".to_vec(), "ends inside the payload's length"),
        ];
        for (name, data, problem) in cases {
            // 40 x 23 = 920 alpha bits: the header and 96 bytes. The cut-off case fills a 16 x 8
            // picture to its last pixel, leaving 8 bits where the length's 32 belong.
            let png = if name == "length cut off" {
                stealth_png(16, 8, &data, false)
            } else {
                stealth_png(40, 23, &data, false)
            };
            let error = read(&png).unwrap_err();
            assert!(error.to_string().contains(problem), "{name}: {error}");
        }
        // A payload that inflates past the limit.
        let bomb = gzip(&vec![b'a'; TEXT_LIMIT + 1]);
        let side = ((HEADER_BITS as usize + bomb.len() * 8) as f64).sqrt() as u32 + 2;
        let png = stealth_png(side, side, &stream("stealth_pngcomp", &bomb, None), false);
        assert!(matches!(
            read(&png),
            Err(StealthError::Payload {
                signature: "stealth_pngcomp",
                problem: PayloadProblem::InflatesPastLimit { .. }
            })
        ));
    }
}
