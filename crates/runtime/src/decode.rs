//! Image bytes → RGB pixels, with the limits checked before pixels are allocated.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// The encoded image formats we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormatKind {
    /// JPEG (`image/jpeg`).
    Jpeg,
    /// PNG (`image/png`).
    Png,
    /// WebP (`image/webp`).
    Webp,
}

impl ImageFormatKind {
    /// Recognises an accepted format from its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    /// Recognises an accepted format from a MIME type such as `image/jpeg`.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
        }
    }
}

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest accepted width × height.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_pixels: 50_000_000 }
    }
}

/// Why an image could not be decoded. All variants are the client's mistake.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Nothing to decode.
    #[error("the image is empty")]
    Empty,
    /// Not JPEG, PNG or WebP.
    #[error("unsupported image format: send JPEG, PNG or WebP")]
    Unsupported,
    /// The header declares more pixels than allowed.
    #[error("image is {width}x{height} = {pixels} pixels, over the limit of {limit} pixels")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// width × height.
        pixels: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The bytes are cut short or damaged.
    #[error("the {format} image is truncated or corrupt: {message}")]
    Corrupt {
        /// Format that was detected.
        format: &'static str,
        /// What the decoder said.
        message: String,
    },
}

/// Decodes JPEG, PNG or WebP bytes to RGB, applying EXIF orientation.
///
/// The pixel count is checked from the header before the image is decoded, so a
/// "decompression bomb" is refused without allocating its pixels.
pub fn decode_image(bytes: &[u8], limits: DecodeLimits) -> Result<(RgbImage, ImageFormatKind), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = ImageFormatKind::sniff(bytes).ok_or(DecodeError::Unsupported)?;
    let corrupt = |e: image::ImageError| DecodeError::Corrupt { format: format.mime(), message: e.to_string() };
    if format == ImageFormatKind::Jpeg && !jpeg_is_complete(bytes) {
        return Err(DecodeError::Corrupt { format: format.mime(), message: "missing end-of-image marker".into() });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format.image_format());
    let mut lim = Limits::default();
    // Room for the decoded RGB(A) image plus decoder working memory.
    lim.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(lim);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    let pixels = width as u64 * height as u64;
    if pixels > limits.max_pixels {
        return Err(DecodeError::TooManyPixels { width, height, pixels, limit: limits.max_pixels });
    }
    if pixels == 0 {
        return Err(DecodeError::Corrupt { format: format.mime(), message: "zero-sized image".into() });
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    img.apply_orientation(orientation);
    Ok((img.into_rgb8(), format))
}

/// A JPEG must end its last scan with an end-of-image marker; a file cut short does not.
///
/// (The decoder itself fills missing data with grey, which would silently answer for
/// half an image; the reference pipeline refuses truncated files, and so do we.)
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((last_sos, eoi), (Some(s), Some(e)) if e > s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: &RgbImage, fmt: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img.clone()).write_to(&mut out, fmt).unwrap();
        out.into_inner()
    }

    fn sample() -> RgbImage {
        RgbImage::from_fn(40, 30, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, 128]))
    }

    #[test]
    fn decodes_all_three_formats() {
        for fmt in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let bytes = encode(&sample(), fmt);
            let (img, _) = decode_image(&bytes, DecodeLimits::default()).unwrap();
            assert_eq!(img.dimensions(), (40, 30), "{fmt:?}");
        }
    }

    #[test]
    fn rejects_empty_unknown_truncated_and_huge() {
        let lim = DecodeLimits::default();
        assert!(matches!(decode_image(&[], lim), Err(DecodeError::Empty)));
        assert!(matches!(decode_image(b"GIF89a....", lim), Err(DecodeError::Unsupported)));
        for fmt in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let bytes = encode(&sample(), fmt);
            let cut = &bytes[..bytes.len() / 2];
            assert!(matches!(decode_image(cut, lim), Err(DecodeError::Corrupt { .. })), "{fmt:?}");
        }
        let small = DecodeLimits { max_pixels: 100 };
        let bytes = encode(&sample(), ImageFormat::Png);
        assert!(matches!(decode_image(&bytes, small), Err(DecodeError::TooManyPixels { pixels: 1200, .. })));
    }

    /// Inserts an EXIF APP1 segment with the given orientation right after the JPEG SOI.
    fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = b"II*\0".to_vec();
        tiff.extend(8u32.to_le_bytes()); // first IFD offset
        tiff.extend(1u16.to_le_bytes()); // one entry
        tiff.extend(0x0112u16.to_le_bytes()); // Orientation
        tiff.extend(3u16.to_le_bytes()); // SHORT
        tiff.extend(1u32.to_le_bytes()); // count
        tiff.extend((orientation as u32).to_le_bytes()); // value, left-justified
        tiff.extend(0u32.to_le_bytes()); // no next IFD
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend([0xFF, 0xE1]);
        out.extend(((app1.len() + 2) as u16).to_be_bytes());
        out.extend(app1);
        out.extend(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_applied() {
        // A 40x30 image whose left half is dark: rotated 90° clockwise it is 30x40 with the
        // dark half on top.
        let img = RgbImage::from_fn(40, 30, |x, _| if x < 20 { image::Rgb([0; 3]) } else { image::Rgb([255; 3]) });
        let jpeg = encode(&img, ImageFormat::Jpeg);
        let (plain, _) = decode_image(&jpeg, DecodeLimits::default()).unwrap();
        assert_eq!(plain.dimensions(), (40, 30));
        let (rotated, _) = decode_image(&with_exif_orientation(&jpeg, 6), DecodeLimits::default()).unwrap();
        assert_eq!(rotated.dimensions(), (30, 40));
        assert!(rotated.get_pixel(15, 5)[0] < 60, "top is the former left (dark) half");
        assert!(rotated.get_pixel(15, 35)[0] > 200, "bottom is the former right (light) half");
    }

    #[test]
    fn huge_declared_dimensions_are_refused_before_decoding() {
        // A PNG header claiming 60000 x 60000 (10.8 GB of RGB) with no pixel data at all.
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = 0xFFFF_FFFFu32;
            for &b in bytes {
                crc ^= b as u32;
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
            !crc
        }
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(60000u32.to_be_bytes());
        ihdr.extend(60000u32.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc32(&ihdr).to_be_bytes());
        let idat = b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01";
        png.extend(((idat.len() - 4) as u32).to_be_bytes());
        png.extend(idat);
        png.extend(crc32(idat).to_be_bytes());
        match decode_image(&png, DecodeLimits::default()) {
            Err(DecodeError::TooManyPixels { width: 60000, height: 60000, .. }) => {}
            other => panic!("expected TooManyPixels, got {:?}", other.map(|(i, _)| i.dimensions())),
        }
    }

    #[test]
    fn mime_and_sniff_agree() {
        for fmt in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let kind = ImageFormatKind::sniff(&encode(&sample(), fmt)).unwrap();
            assert_eq!(ImageFormatKind::from_mime(kind.mime()), Some(kind));
        }
        assert_eq!(ImageFormatKind::from_mime("image/PNG; q=1"), Some(ImageFormatKind::Png));
        assert_eq!(ImageFormatKind::from_mime("image/gif"), None);
    }
}
