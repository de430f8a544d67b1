//! Property tests ("fuzzing" on stable Rust) for image decoding and preprocessing: arbitrary
//! bytes behind each format's magic, real encoded images of random sizes cut short or with
//! bytes changed, and PNG headers declaring random (huge) dimensions never panic; a decoded
//! image is within the pixel limit and its buffer matches its dimensions; preprocessing any
//! image gives `input_size² × 3` finite values. `PROPTEST_CASES` overrides the case count.

use image::{DynamicImage, ImageFormat, RgbImage};
use infergate_core::{Layout, PreprocessSpec};
use infergate_runtime::{decode_image, preprocess, DecodeError, DecodeLimits, ImageFormatKind};
use proptest::prelude::*;
use std::io::Cursor;

/// `cases` per property unless `PROPTEST_CASES` says otherwise (proptest's own default, used by
/// the blocks without a config, is 256 and also read from `PROPTEST_CASES`).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

const LIMITS: DecodeLimits = DecodeLimits { max_pixels: 4_000_000 };

fn check_decode(bytes: &[u8]) -> Option<RgbImage> {
    match decode_image(bytes, LIMITS) {
        Ok((img, kind)) => {
            let (w, h) = img.dimensions();
            assert!(w > 0 && h > 0 && w as u64 * h as u64 <= LIMITS.max_pixels);
            assert_eq!(img.as_raw().len(), w as usize * h as usize * 3);
            assert_eq!(ImageFormatKind::sniff(bytes), Some(kind));
            Some(img)
        }
        Err(DecodeError::Empty) => {
            assert!(bytes.is_empty());
            None
        }
        Err(DecodeError::Unsupported) => {
            assert!(ImageFormatKind::sniff(bytes).is_none());
            None
        }
        Err(DecodeError::TooManyPixels { pixels, limit, .. }) => {
            assert!(pixels > limit);
            None
        }
        Err(DecodeError::Corrupt { .. }) => None,
    }
}

fn check_preprocess(img: &RgbImage, spec: &PreprocessSpec) {
    assert!(spec.validate().is_ok());
    let t = preprocess(img, spec);
    assert_eq!(t.len(), spec.input_size as usize * spec.input_size as usize * 3);
    assert!(t.iter().all(|v| v.is_finite()), "non-finite value for {:?}", img.dimensions());
}

fn encode(img: &RgbImage, fmt: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.clone()).write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

fn format() -> impl Strategy<Value = ImageFormat> {
    prop::sample::select(vec![ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP])
}

/// A small image with random content.
fn image(max_side: u32) -> impl Strategy<Value = RgbImage> {
    (1..=max_side, 1..=max_side, any::<u64>()).prop_map(|(w, h, seed)| {
        RgbImage::from_fn(w, h, |x, y| {
            let v = seed.wrapping_mul(x as u64 * 31 + y as u64 * 17 + 1).rotate_left(x % 64);
            image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
        })
    })
}

/// A mutation of encoded bytes: cut short, bytes overwritten, a chunk dropped or repeated.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(prop::sample::Index),
    Overwrite(Vec<(prop::sample::Index, u8)>),
    Remove(prop::sample::Index, usize),
    Duplicate(prop::sample::Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8).prop_map(Mutation::Overwrite),
        (any::<prop::sample::Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Remove(i, n)),
        (any::<prop::sample::Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    // The first bytes (the magic) are kept so that the decoder, not the sniffer, sees the damage.
    let keep = 12.min(bytes.len());
    let room = bytes.len() - keep;
    if room == 0 {
        return bytes;
    }
    match m {
        Mutation::Truncate(i) => bytes.truncate(keep + i.index(room)),
        Mutation::Overwrite(list) => {
            for (i, b) in list {
                bytes[keep + i.index(room)] = *b;
            }
        }
        Mutation::Remove(i, n) => {
            let at = keep + i.index(room);
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Duplicate(i, n) => {
            let at = keep + i.index(room);
            let end = (at + n).min(bytes.len());
            let chunk = bytes[at..end].to_vec();
            bytes.splice(at..at, chunk);
        }
    }
    bytes
}

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

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend(data);
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
}

/// A PNG with a valid IHDR (random dimensions, bit depth and colour type) and an IDAT of
/// random (usually too short) zlib data.
fn png_with_header() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![1u32..64, any::<u32>()],
        prop_oneof![1u32..64, any::<u32>()],
        prop::sample::select(vec![1u8, 2, 4, 8, 16]),
        prop::sample::select(vec![0u8, 2, 3, 4, 6, 5]),
        0u8..2,
        prop::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(|(w, h, depth, colour, interlace, idat, end)| {
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            let mut ihdr = w.to_be_bytes().to_vec();
            ihdr.extend(h.to_be_bytes());
            ihdr.extend([depth, colour, 0, 0, interlace]);
            png_chunk(&mut png, b"IHDR", &ihdr);
            if colour == 3 {
                png_chunk(&mut png, b"PLTE", &[0, 0, 0, 255, 255, 255]);
            }
            let mut z = vec![0x78, 0x9c];
            z.extend(idat);
            png_chunk(&mut png, b"IDAT", &z);
            if end {
                png_chunk(&mut png, b"IEND", &[]);
            }
            png
        })
}

/// A JPEG start: SOI, a SOF0 with random dimensions and components, then random bytes.
fn jpeg_with_header() -> impl Strategy<Value = Vec<u8>> {
    (any::<u16>(), any::<u16>(), 1u8..5, prop::collection::vec(any::<u8>(), 0..128), any::<bool>()).prop_map(
        |(w, h, comps, tail, eoi)| {
            let mut j = vec![0xFF, 0xD8];
            let mut sof = vec![8];
            sof.extend(h.to_be_bytes());
            sof.extend(w.to_be_bytes());
            sof.push(comps);
            for c in 0..comps {
                sof.extend([c + 1, 0x11, 0]);
            }
            j.extend([0xFF, 0xC0]);
            j.extend(((sof.len() + 2) as u16).to_be_bytes());
            j.extend(sof);
            j.extend([0xFF, 0xDA]);
            j.extend(tail);
            if eoi {
                j.extend([0xFF, 0xD9]);
            }
            j
        },
    )
}

fn spec() -> impl Strategy<Value = PreprocessSpec> {
    // Only specs that `PreprocessSpec::validate` accepts (what a registered model has).
    (1u32..300, 0u32..200, prop::sample::select(vec![Layout::Nchw, Layout::Nhwc]), any::<[u8; 3]>()).prop_map(
        |(input_size, extra, layout, m)| PreprocessSpec {
            input_size,
            resize_shorter: input_size + extra,
            mean: m.map(|v| v as f32 / 255.0),
            std: m.map(|v| 0.05 + v as f32 / 255.0),
            layout,
        },
    )
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn arbitrary_bytes_behind_each_magic(
        magic in prop::sample::select(vec![
            &b""[..], b"\xFF\xD8\xFF", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBPVP8 ", b"RIFF\x10\0\0\0WEBPVP8L", b"GIF89a",
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend(tail);
        check_decode(&bytes);
    }

    #[test]
    fn mutated_real_images(img in image(48), fmt in format(), m in mutation()) {
        let bytes = apply(encode(&img, fmt), &m);
        if let Some(decoded) = check_decode(&bytes) {
            check_preprocess(&decoded, &PreprocessSpec::default());
        }
    }

    #[test]
    fn png_headers_with_random_dimensions(png in png_with_header(), m in prop::option::of(mutation())) {
        let png = match m { Some(m) => apply(png, &m), None => png };
        check_decode(&png);
    }

    #[test]
    fn jpeg_headers_with_random_dimensions(jpeg in jpeg_with_header()) {
        check_decode(&jpeg);
    }

    #[test]
    fn intact_images_round_trip(img in image(48), fmt in format()) {
        let (decoded, kind) = decode_image(&encode(&img, fmt), LIMITS).expect("an encoded image decodes");
        prop_assert_eq!(decoded.dimensions(), img.dimensions());
        prop_assert_eq!(kind.mime(), fmt.to_mime_type());
    }

    #[test]
    fn preprocess_any_shape_and_spec(
        (w, h) in prop_oneof![(1u32..64, 1u32..64), (1u32..4, 1u32..3000), (1u32..3000, 1u32..4)],
        spec in spec(),
        seed in any::<u8>(),
    ) {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([seed ^ x as u8, y as u8, seed]));
        check_preprocess(&img, &spec);
    }
}
