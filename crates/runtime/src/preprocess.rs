//! RGB pixels → the model's input tensor: resize the shorter side, centre-crop, normalise.

use fast_image_resize::{
    images::{Image, ImageRef},
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::RgbImage;
use infergate_core::{Layout, PreprocessSpec};

/// Resizes the shorter side to `spec.resize_shorter` (bilinear, antialiased like PIL),
/// centre-crops `spec.input_size`², scales to [0, 1] and normalises with the spec's mean
/// and std. Returns `input_size² × 3` floats in the spec's layout (batch dimension implied).
///
/// The crop is done inside the resize (the same source window the reference crops after
/// resizing), so only the cropped pixels are computed.
pub fn preprocess(img: &RgbImage, spec: &PreprocessSpec) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let side = spec.input_size;
    // Same integer geometry as the reference: scale so the shorter side is `resize_shorter`,
    // round, and never go below the crop size.
    let scale = spec.resize_shorter as f64 / w.min(h) as f64;
    let rw = ((w as f64 * scale).round() as u32).max(side);
    let rh = ((h as f64 * scale).round() as u32).max(side);
    let (left, top) = ((rw - side) / 2, (rh - side) / 2);
    let (sx, sy) = (w as f64 / rw as f64, h as f64 / rh as f64);

    let src =
        ImageRef::new(w, h, img.as_raw(), PixelType::U8x3).expect("an RgbImage buffer always matches its dimensions");
    let mut dst = Image::new(side, side, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)).crop(
        left as f64 * sx,
        top as f64 * sy,
        side as f64 * sx,
        side as f64 * sy,
    );
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("resize between two U8x3 images with a valid crop box cannot fail");
    normalise(dst.buffer(), side as usize, spec)
}

fn normalise(rgb: &[u8], side: usize, spec: &PreprocessSpec) -> Vec<f32> {
    let plane = side * side;
    let mut out = vec![0f32; plane * 3];
    // Per channel: (v / 255 - mean) / std == v * a + b.
    let a: [f32; 3] = std::array::from_fn(|c| 1.0 / (255.0 * spec.std[c]));
    let b: [f32; 3] = std::array::from_fn(|c| -spec.mean[c] / spec.std[c]);
    match spec.layout {
        Layout::Nchw => {
            for (i, px) in rgb.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    out[c * plane + i] = px[c] as f32 * a[c] + b[c];
                }
            }
        }
        Layout::Nhwc => {
            for (i, v) in rgb.iter().enumerate() {
                let c = i % 3;
                out[i] = *v as f32 * a[c] + b[c];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_image_normalises_to_known_values() {
        let img = RgbImage::from_pixel(500, 300, image::Rgb([255, 128, 0]));
        let spec = PreprocessSpec::default();
        let t = preprocess(&img, &spec);
        assert_eq!(t.len(), 3 * 224 * 224);
        let expect = |v: f32, c: usize| (v / 255.0 - spec.mean[c]) / spec.std[c];
        for c in 0..3 {
            let v = [255.0, 128.0, 0.0][c];
            let got = t[c * 224 * 224 + 1000];
            assert!((got - expect(v, c)).abs() < 1e-4, "channel {c}: {got}");
        }
    }

    #[test]
    fn nhwc_is_a_transpose_of_nchw() {
        let img = RgbImage::from_fn(300, 260, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8]));
        let nchw = preprocess(&img, &PreprocessSpec::default());
        let nhwc = preprocess(&img, &PreprocessSpec { layout: Layout::Nhwc, ..Default::default() });
        let plane = 224 * 224;
        for i in [0, 777, plane - 1] {
            for c in 0..3 {
                assert_eq!(nchw[c * plane + i], nhwc[i * 3 + c]);
            }
        }
    }

    #[test]
    fn crop_takes_the_centre() {
        // Left half black, right half white, wide image: the centre crop straddles both.
        let img =
            RgbImage::from_fn(1024, 256, |x, _| if x < 512 { image::Rgb([0, 0, 0]) } else { image::Rgb([255; 3]) });
        let t = preprocess(&img, &PreprocessSpec { mean: [0.0; 3], std: [1.0; 3], ..Default::default() });
        assert!(t[10] < 0.01, "left edge of the crop is black");
        assert!(t[223] > 0.99, "right edge of the crop is white");
    }
}
