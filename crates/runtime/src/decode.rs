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
        let essence = mime
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
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
        DecodeLimits {
            max_pixels: 50_000_000,
        }
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
pub fn decode_image(
    bytes: &[u8],
    limits: DecodeLimits,
) -> Result<(RgbImage, ImageFormatKind), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = ImageFormatKind::sniff(bytes).ok_or(DecodeError::Unsupported)?;
    let corrupt = |e: image::ImageError| DecodeError::Corrupt {
        format: format.mime(),
        message: e.to_string(),
    };
    if format == ImageFormatKind::Jpeg && !jpeg_is_complete(bytes) {
        return Err(DecodeError::Corrupt {
            format: format.mime(),
            message: "missing end-of-image marker".into(),
        });
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
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            pixels,
            limit: limits.max_pixels,
        });
    }
    if pixels == 0 {
        return Err(DecodeError::Corrupt {
            format: format.mime(),
            message: "zero-sized image".into(),
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
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
        DynamicImage::ImageRgb8(img.clone())
            .write_to(&mut out, fmt)
            .unwrap();
        out.into_inner()
    }

    fn sample() -> RgbImage {
        RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, 128])
        })
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
        assert!(matches!(
            decode_image(b"GIF89a....", lim),
            Err(DecodeError::Unsupported)
        ));
        for fmt in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let bytes = encode(&sample(), fmt);
            let cut = &bytes[..bytes.len() / 2];
            assert!(
                matches!(decode_image(cut, lim), Err(DecodeError::Corrupt { .. })),
                "{fmt:?}"
            );
        }
        let small = DecodeLimits { max_pixels: 100 };
        let bytes = encode(&sample(), ImageFormat::Png);
        assert!(matches!(
            decode_image(&bytes, small),
            Err(DecodeError::TooManyPixels { pixels: 1200, .. })
        ));
    }

    #[test]
    fn mime_and_sniff_agree() {
        for fmt in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let kind = ImageFormatKind::sniff(&encode(&sample(), fmt)).unwrap();
            assert_eq!(ImageFormatKind::from_mime(kind.mime()), Some(kind));
        }
        assert_eq!(
            ImageFormatKind::from_mime("image/PNG; q=1"),
            Some(ImageFormatKind::Png)
        );
        assert_eq!(ImageFormatKind::from_mime("image/gif"), None);
    }
}
