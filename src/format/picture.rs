//! The stored image decoded to pixels within [`Limits::max_image_pixels`]. The image's own header
//! is read first, so a few hundred bytes that claim a 100,000 x 100,000 picture are refused before
//! any pixel buffer exists.

use image::RgbaImage;

use super::Limits;

/// Bytes of decoder working memory allowed per pixel: 16-bit RGBA is 8 bytes before conversion.
const DECODER_BYTES_PER_PIXEL: u64 = 8;

/// Why an image was not decoded.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("the image cannot be read: {0}")]
    Unreadable(std::io::Error),
    #[error("not a known image format (PNG, JPEG or WebP)")]
    UnknownFormat,
    #[error("the image header does not decode: {0}")]
    Header(image::ImageError),
    #[error("the image is {width} x {height} = {pixels} pixels, over the limit of {limit} (--max-image-pixels)")]
    TooManyPixels { width: u32, height: u32, pixels: u64, limit: u64 },
    #[error("the image does not decode: {0}")]
    Decode(image::ImageError),
}

/// Width and height from the image's header, refused when their product is over the limit.
pub fn checked_dimensions(bytes: &[u8], limits: &Limits) -> Result<(u32, u32), PictureError> {
    let reader =
        image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(PictureError::Unreadable)?;
    if reader.format().is_none() {
        return Err(PictureError::UnknownFormat);
    }
    let (width, height) = reader.into_dimensions().map_err(PictureError::Header)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_image_pixels {
        return Err(PictureError::TooManyPixels { width, height, pixels, limit: limits.max_image_pixels });
    }
    Ok((width, height))
}

/// Decodes PNG, JPEG or WebP bytes to 8-bit RGBA.
pub fn decode_rgba(bytes: &[u8], limits: &Limits) -> Result<RgbaImage, PictureError> {
    let (width, height) = checked_dimensions(bytes, limits)?;
    let mut reader =
        image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(PictureError::Unreadable)?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(width);
    decoder_limits.max_image_height = Some(height);
    decoder_limits.max_alloc =
        Some((u64::from(width) * u64::from(height)).saturating_mul(DECODER_BYTES_PER_PIXEL).max(1 << 20));
    reader.limits(decoder_limits);
    let decoded = reader.decode().map_err(PictureError::Decode)?;
    Ok(decoded.to_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = RgbaImage::from_fn(width, height, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn an_image_at_the_limit_decodes_and_one_pixel_more_is_refused() {
        let bytes = png(6, 5);
        let at_limit = Limits { max_image_pixels: 30, ..Limits::default() };
        let decoded = decode_rgba(&bytes, &at_limit).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (6, 5));
        assert_eq!(decoded.get_pixel(4, 3).0, [4, 3, 7, 255]);
        let below = Limits { max_image_pixels: 29, ..Limits::default() };
        let error = decode_rgba(&bytes, &below).unwrap_err();
        assert!(error.to_string().contains("6 x 5 = 30 pixels, over the limit of 29"), "{error}");
    }

    #[test]
    fn a_png_header_claiming_a_huge_picture_is_refused_before_decoding() {
        // IHDR says 100,000 x 100,000; the image data is that of one pixel.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let error = decode_rgba(&bytes, &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("100000 x 100000"), "{error}");
    }

    #[test]
    fn bytes_that_are_no_image_say_so() {
        let error = decode_rgba(b"not an image at all", &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("not a known image format"), "{error}");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
