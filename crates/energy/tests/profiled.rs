//! A profiled ONNX model's features are counted as the measured datasets count them.

use infergate_energy::Features;
use std::path::PathBuf;

#[test]
fn mobilenetv2_features_from_its_profile() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/mobilenetv2-12-fp32.onnx");
    let p = infergate_profile::profile_file(&path).unwrap();
    let f = Features::from_profile(&p);
    assert_eq!((f.macs, f.params), (p.macs as f64, p.params as f64));
    // 35 convolution layers (each depthwise-separable pair once), the classifier not among them.
    assert_eq!(f.layers, Some(35.0));
    assert_eq!(
        (f.input_size, f.filters_max, f.kernel_max, f.depthwise),
        (Some(224.0), Some(1280.0), Some(3.0), Some(1.0))
    );
    assert!((f.kernel_mean.unwrap() - 71.0 / 35.0).abs() < 1e-12);
    assert!(f.validate().is_ok());
}
