//! The shared MobileNetV2 models (fp32 and int8, QLinearConv): parameters and MACs against the
//! published counts, and truncated copies rejected without a panic.

use std::path::PathBuf;

use infergate_profile::{profile_bytes, profile_file, ModelProfile, ProfileError};

fn model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models").join(name)
}

fn within(actual: u64, expected: f64, tolerance: f64) -> bool {
    (actual as f64 - expected).abs() <= expected * tolerance
}

fn profile(name: &str) -> ModelProfile {
    let p = profile_file(&model(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    println!("{name}: {}", serde_json::to_string_pretty(&p).unwrap());
    p
}

#[test]
fn mobilenetv2_fp32_matches_published_counts() {
    let p = profile("mobilenetv2-12-fp32.onnx");
    // torchvision's MobileNetV2 has 3,504,872 parameters and ~300 M MACs at 224×224.
    assert!(within(p.params, 3_504_872.0, 0.02), "params {}", p.params);
    assert!(within(p.macs, 300e6, 0.02), "macs {}", p.macs);
    assert_eq!(p.input_shape, vec![1, 3, 224, 224]);
    assert_eq!(p.input_size, 224);
    assert!(p.depthwise);
    // 52 convolutions and the classifier.
    assert_eq!(p.layers, 53);
    // The stem 3x3, 17 depthwise 3x3 each paired with its 1x1 projection, 16 1x1 expansions and the
    // final 1x1: 35 layers, (3 + 17·3 + 17·1) / 35 = 71 / 35.
    assert_eq!(p.conv_layers, 35);
    assert!((p.layer_kernel_mean - 71.0 / 35.0).abs() < 1e-12, "{}", p.layer_kernel_mean);
    assert_eq!(p.kernel_max, 3);
    assert_eq!(p.filters_max, 1280);
    let shares: f64 = p.kernel_mac_share.iter().map(|(_, s)| s).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    assert!(p.kernel_mac_share.iter().any(|(k, _)| k == "fc"));
    assert!(p.flops > 2 * p.macs);
    assert!((p.size_mb - 13.967173).abs() < 1e-9);
}

#[test]
fn mobilenetv2_int8_matches_fp32() {
    let fp32 = profile_file(&model("mobilenetv2-12-fp32.onnx")).unwrap();
    let int8 = profile("mobilenetv2-12-int8.onnx");
    assert!(within(int8.macs, fp32.macs as f64, 0.02), "int8 {} vs fp32 {}", int8.macs, fp32.macs);
    assert!(within(int8.params, fp32.params as f64, 0.02), "int8 {} vs fp32 {}", int8.params, fp32.params);
    assert_eq!(int8.layers, fp32.layers);
    assert!(int8.depthwise);
    assert!(int8.op_counts.contains_key("QLinearConv"));
}

#[test]
fn truncated_model_is_an_error() {
    let bytes = std::fs::read(model("mobilenetv2-12-fp32.onnx")).unwrap();
    for len in [1, 7, 100, 4096, bytes.len() / 2, bytes.len() - 1] {
        let e = profile_bytes(&bytes[..len], None).expect_err("a truncated model must not profile");
        assert!(matches!(e, ProfileError::NotOnnx(_)), "{len}: {e}");
    }
}

#[test]
fn input_shape_override_scales_macs() {
    let bytes = std::fs::read(model("mobilenetv2-12-fp32.onnx")).unwrap();
    let p = profile_bytes(&bytes, Some(&[1, 3, 160, 160])).unwrap();
    assert_eq!(p.input_size, 160);
    let full = profile_bytes(&bytes, None).unwrap();
    // Convolution MACs scale with the pixel count ((160/224)² ≈ 0.51); the classifier does not.
    let ratio = p.macs as f64 / full.macs as f64;
    assert!((0.45..0.56).contains(&ratio), "ratio {ratio}");
    assert_eq!(p.params, full.params);
    let e = profile_bytes(&bytes, Some(&[3, 224, 224])).unwrap_err();
    assert!(matches!(e, ProfileError::BadInputShape { .. }), "{e}");
}
