//! Small graphs built here with the protobuf types, profiled and checked against hand arithmetic.

mod common;

use common::*;
use infergate_profile::{profile_bytes, ModelProfile};
use tract_onnx::pb::tensor_proto::DataType;

fn profile(bytes: &[u8]) -> ModelProfile {
    profile_bytes(bytes, None).unwrap_or_else(|e| panic!("{e}"))
}

fn share(p: &ModelProfile, kernel: &str) -> f64 {
    p.kernel_mac_share.iter().find(|(k, _)| k == kernel).map_or(0.0, |(_, s)| *s)
}

/// (a) One Conv 3→8, 3x3, stride 1, pad 1, with bias, on 1×3×32×32.
#[test]
fn single_conv() {
    let bytes = model(
        vec![input("x", &[1, 3, 32, 32])],
        vec![weight("w", &[8, 3, 3, 3]), weight("b", &[8])],
        vec![node("Conv", &["x", "w", "b"], &["y"], vec![attr_ints("pads", &[1, 1, 1, 1])])],
    );
    let p = profile(&bytes);
    // Weights 8·3·3·3 = 216 plus 8 biases.
    assert_eq!(p.params, 224);
    // Output 8×32×32 (pad 1 keeps the size), each a 3·3·3 dot product: 8·32·32·27 = 221,184.
    assert_eq!(p.macs, 221_184);
    // 2 × MACs plus one bias add per output element (8·32·32 = 8,192).
    assert_eq!(p.flops, 2 * 221_184 + 8_192);
    assert_eq!(p.layers, 1);
    assert_eq!(p.input_shape, vec![1, 3, 32, 32]);
    assert_eq!(p.input_size, 32);
    assert!(!p.depthwise);
    assert_eq!(p.kernel_mac_share, vec![("3x3".to_string(), 1.0)]);
    assert_eq!((p.kernel_mean, p.kernel_max, p.filters_max), (3.0, 3, 8));
    assert_eq!((p.conv_layers, p.layer_kernel_mean), (1, 3.0));
    assert_eq!(p.op_counts.get("Conv"), Some(&1));
    assert!((p.size_mb - bytes.len() as f64 / 1e6).abs() < 1e-12);
}

/// (b) Depthwise 3x3 (group 8) + ReLU + pointwise 1x1 + global pooling + Flatten + Gemm.
#[test]
fn depthwise_pointwise_gemm() {
    let bytes = model(
        vec![input("x", &[1, 8, 16, 16])],
        vec![
            weight("dw", &[8, 1, 3, 3]),
            weight("dwb", &[8]),
            weight("pw", &[16, 8, 1, 1]),
            weight("fc", &[10, 16]),
            weight("fcb", &[10]),
        ],
        vec![
            node("Conv", &["x", "dw", "dwb"], &["a"], vec![attr_i("group", 8), attr_ints("pads", &[1, 1, 1, 1])]),
            node("Relu", &["a"], &["r"], vec![]),
            node("Conv", &["r", "pw"], &["b"], vec![]),
            node("GlobalAveragePool", &["b"], &["g"], vec![]),
            node("Flatten", &["g"], &["f"], vec![]),
            node("Gemm", &["f", "fc", "fcb"], &["y"], vec![attr_i("transB", 1)]),
        ],
    );
    let p = profile(&bytes);
    // Depthwise: 8·1·3·3 + 8 = 80; pointwise 16·8 = 128; Gemm 10·16 + 10 = 170.
    assert_eq!(p.params, 80 + 128 + 170);
    // Depthwise: 8·16·16 outputs × (8/8 channels · 9) = 18,432; pointwise: 16·16·16 × 8 = 32,768;
    // Gemm: 1·10·16 = 160.
    assert_eq!(p.macs, 18_432 + 32_768 + 160);
    // 2·MACs + depthwise bias 2,048 + ReLU 2,048 + pooling over 16·16·16 = 4,096 inputs + Gemm bias 10.
    assert_eq!(p.flops, 2 * 51_360 + 2_048 + 2_048 + 4_096 + 10);
    assert_eq!(p.layers, 3);
    assert!(p.depthwise);
    assert!((share(&p, "3x3") - 18_432.0 / 51_360.0).abs() < 1e-12);
    assert!((share(&p, "1x1") - 32_768.0 / 51_360.0).abs() < 1e-12);
    assert!((share(&p, "fc") - 160.0 / 51_360.0).abs() < 1e-12);
    // MAC-weighted kernel height over the convolutions: (18,432·3 + 32,768·1) / 51,200 = 1.72.
    assert!((p.kernel_mean - 1.72).abs() < 1e-12);
    assert_eq!((p.kernel_max, p.filters_max), (3, 16));
    // The depthwise 3x3 and its pointwise 1x1 are one separable layer, named by its 3x3 kernel.
    assert_eq!((p.conv_layers, p.layer_kernel_mean), (1, 3.0));
}

/// (c) Reshape to [batch, −1] with the batch read from the input through Shape → Gather →
/// Unsqueeze → Concat, as exported classifiers do, then a MatMul; the batch is symbolic.
#[test]
fn reshape_through_shape_arithmetic() {
    let build = |unsqueeze_as_input: bool| {
        let mut inits = vec![weight("w", &[144, 5]), ints("zero", &[0], true), ints("minus1", &[-1], false)];
        let unsqueeze = if unsqueeze_as_input {
            inits.push(ints("axes", &[0], false));
            node("Unsqueeze", &["n", "axes"], &["n1"], vec![])
        } else {
            node("Unsqueeze", &["n"], &["n1"], vec![attr_ints("axes", &[0])])
        };
        model(
            vec![input("x", &[-1, 4, 6, 6])],
            inits,
            vec![
                node("Shape", &["x"], &["s"], vec![]),
                node("Gather", &["s", "zero"], &["n"], vec![attr_i("axis", 0)]),
                unsqueeze,
                node("Concat", &["n1", "minus1"], &["target"], vec![attr_i("axis", 0)]),
                node("Reshape", &["x", "target"], &["flat"], vec![]),
                node("MatMul", &["flat", "w"], &["y"], vec![]),
            ],
        )
    };
    for as_input in [false, true] {
        let p = profile(&build(as_input));
        // The symbolic batch is 1; the target folds to [1, -1] → [1, 4·6·6 = 144].
        assert_eq!(p.input_shape, vec![1, 4, 6, 6]);
        assert_eq!(p.input_size, 6);
        // MatMul [1,144]×[144,5]: 1·5·144 = 720 MACs; the weight has 720 elements; the index and
        // shape constants are not parameters.
        assert_eq!((p.macs, p.params, p.layers), (720, 720, 1));
        assert_eq!(p.kernel_mac_share, vec![("fc".to_string(), 1.0)]);
        assert_eq!((p.kernel_mean, p.kernel_max, p.filters_max), (0.0, 0, 0));
    }
}

/// Reshape with a `0` (copy) dim from a Constant node, and a batched MatMul with broadcasting.
#[test]
fn reshape_zero_and_batched_matmul() {
    let shape = ints("", &[0, 3, -1], false);
    let bytes = model(
        vec![input("x", &[2, 12, 4])],
        vec![weight("w", &[4, 7])],
        vec![
            node("Constant", &[], &["target"], vec![attr_t("value", shape)]),
            node("Reshape", &["x", "target"], &["r"], vec![]),
            node("Reshape", &["r", "back"], &["x2"], vec![]),
            node("MatMul", &["x2", "w"], &["y"], vec![]),
        ],
    );
    // "back" does not exist: a clear error, not a panic.
    let e = profile_bytes(&bytes, None).unwrap_err().to_string();
    assert!(e.contains("`back`") && e.contains("Reshape"), "{e}");

    let bytes = model(
        vec![input("x", &[2, 12, 4])],
        vec![weight("w", &[4, 7]), ints("back", &[0, -1, 4], false)],
        vec![
            node("Constant", &[], &["target"], vec![attr_t("value", ints("", &[0, 3, -1], false))]),
            node("Reshape", &["x", "target"], &["r"], vec![]),
            node("Reshape", &["r", "back"], &["x2"], vec![]),
            node("MatMul", &["x2", "w"], &["y"], vec![]),
        ],
    );
    let p = profile(&bytes);
    // [2,12,4] → [2,3,16] → [2,12,4]; batched MatMul [2,12,4]×[4,7]: 2·12·7·4 = 672 MACs.
    assert_eq!(p.macs, 672);
    assert_eq!(p.params, 28);
    assert_eq!(p.input_shape, vec![2, 12, 4]);
    assert_eq!(p.input_size, 4);
}

/// (d) Strides, dilations, SAME padding, asymmetric pads and a ceil-mode MaxPool.
#[test]
fn strides_pads_dilations() {
    let bytes = model(
        vec![input("x", &[1, 2, 20, 20])],
        vec![weight("w1", &[4, 2, 3, 3]), weight("w2", &[4, 4, 3, 3]), weight("w3", &[2, 4, 1, 3])],
        vec![
            node(
                "Conv",
                &["x", "w1"],
                &["a"],
                vec![attr_ints("strides", &[2, 2]), attr_ints("pads", &[1, 1, 1, 1]), attr_ints("dilations", &[2, 2])],
            ),
            node("Conv", &["a", "w2"], &["b"], vec![attr_ints("strides", &[2, 2]), attr_s("auto_pad", "SAME_UPPER")]),
            node("Conv", &["b", "w3"], &["c"], vec![attr_ints("strides", &[1, 2]), attr_ints("pads", &[0, 1, 2, 3])]),
            node(
                "MaxPool",
                &["c"],
                &["y"],
                vec![attr_ints("kernel_shape", &[2, 2]), attr_ints("strides", &[2, 2]), attr_i("ceil_mode", 1)],
            ),
        ],
    );
    let p = profile(&bytes);
    // Conv 1: dilated kernel (3−1)·2+1 = 5; out = ⌊(20 + 1 + 1 − 5) / 2⌋ + 1 = 9 → 4×9×9,
    //   MACs 4·9·9 · 2·3·3 = 5,832.
    // Conv 2: SAME_UPPER, stride 2: out = ⌈9 / 2⌉ = 5 → 4×5×5, MACs 4·5·5 · 4·3·3 = 3,600.
    // Conv 3: kernel 1×3, strides (1, 2), pads top 0, left 1, bottom 2, right 3:
    //   H = (5 + 0 + 2 − 1) / 1 + 1 = 7, W = ⌊(5 + 1 + 3 − 3) / 2⌋ + 1 = 4 → 2×7×4,
    //   MACs 2·7·4 · 4·1·3 = 672.
    assert_eq!(p.macs, 5_832 + 3_600 + 672);
    // 72 + 144 + 24 weights, no biases.
    assert_eq!(p.params, 240);
    // MaxPool 2x2/2 ceil mode on 7×4: H = ⌈(7 − 2) / 2⌉ + 1 = 4, W = ⌈(4 − 2) / 2⌉ + 1 = 2 → 2×4×2
    //   = 16 outputs × 4 = 64 FLOPs.
    assert_eq!(p.flops, 2 * 10_104 + 64);
    assert_eq!(p.kernel_max, 3);
    assert_eq!(p.filters_max, 4);
    assert!((share(&p, "1x3") - 672.0 / 10_104.0).abs() < 1e-12);
    assert!((share(&p, "3x3") - 9_432.0 / 10_104.0).abs() < 1e-12);
}

/// ConvTranspose upsampling 2× with output_padding.
#[test]
fn conv_transpose() {
    let bytes = model(
        vec![input("x", &[1, 2, 4, 4])],
        vec![weight("w", &[2, 3, 3, 3]), weight("b", &[3])],
        vec![node(
            "ConvTranspose",
            &["x", "w", "b"],
            &["y"],
            vec![attr_ints("strides", &[2, 2]), attr_ints("pads", &[1, 1, 1, 1]), attr_ints("output_padding", &[1, 1])],
        )],
    );
    let p = profile(&bytes);
    // Out = 2·(4 − 1) + 1 + 3 − 1 − 1 = 8 → 3×8×8. Each of the 2·4·4 = 32 inputs scatters
    // 3 output channels × 3·3 taps: 864 MACs. Params 2·3·3·3 + 3 = 57. Bias adds 3·8·8 = 192.
    assert_eq!((p.macs, p.params, p.flops), (864, 57, 2 * 864 + 192));
    assert_eq!(p.filters_max, 3);
}

/// QLinearConv and QLinearMatMul count the quantized weight and bias, not the scales or zero points.
#[test]
fn quantized_conv_and_matmul() {
    let q =
        |name: &str| vec![scalar(&format!("{name}_s"), 0.1), int_weight(&format!("{name}_z"), &[], DataType::Uint8)];
    let mut inits = vec![int_weight("w", &[4, 3, 3, 3], DataType::Int8), int_weight("b", &[4], DataType::Int32)];
    inits.extend(q("x").into_iter().chain(q("w")).chain(q("y")));
    inits.push(int_weight("m", &[256, 10], DataType::Int8));
    inits.push(ints("flat", &[1, -1], false));
    let bytes = model(
        vec![typed_input("x", &[1, 3, 8, 8], DataType::Uint8)],
        inits,
        vec![
            node(
                "QLinearConv",
                &["x", "x_s", "x_z", "w", "w_s", "w_z", "y_s", "y_z", "b"],
                &["c"],
                vec![attr_ints("pads", &[1, 1, 1, 1])],
            ),
            node("Reshape", &["c", "flat"], &["f"], vec![]),
            node("QLinearMatMul", &["f", "y_s", "y_z", "m", "w_s", "w_z", "y_s", "y_z"], &["y"], vec![]),
        ],
    );
    let p = profile(&bytes);
    // Conv: 4·8·8 outputs × 3·3·3 = 6,912 MACs; MatMul [1,256]×[256,10] = 2,560 MACs.
    assert_eq!(p.macs, 6_912 + 2_560);
    // 108 + 4 conv, 2,560 matmul.
    assert_eq!(p.params, 112 + 2_560);
    assert_eq!(p.layers, 2);
}

/// Unknown input dims are an error until an input shape is given.
#[test]
fn input_shape_override() {
    let mut x = input("x", &[-1, 3, -1, -1]);
    let bytes = model(
        vec![x.clone()],
        vec![weight("w", &[8, 3, 3, 3])],
        vec![node("Conv", &["x", "w"], &["y"], vec![attr_ints("pads", &[1, 1, 1, 1])])],
    );
    let e = profile_bytes(&bytes, None).unwrap_err().to_string();
    assert!(e.contains("--input-shape") && e.contains("`x`"), "{e}");
    let p = profile_bytes(&bytes, Some(&[1, 3, 32, 32])).unwrap();
    assert_eq!(p.macs, 221_184);
    // No declared shape at all: same error.
    x.r#type = None;
    let bytes = model(vec![x], vec![weight("w", &[8, 3, 3, 3])], vec![node("Conv", &["x", "w"], &["y"], vec![])]);
    assert!(profile_bytes(&bytes, None).unwrap_err().to_string().contains("--input-shape"));
    assert_eq!(profile_bytes(&bytes, Some(&[1, 3, 5, 5])).unwrap().macs, 8 * 3 * 3 * 27);
}

/// Nodes listed out of order are evaluated in topological order.
#[test]
fn nodes_out_of_order() {
    let bytes = model(
        vec![input("x", &[1, 3, 32, 32])],
        vec![weight("w", &[8, 3, 3, 3])],
        vec![
            node("Relu", &["c"], &["y"], vec![]),
            node("Conv", &["x", "w"], &["c"], vec![attr_ints("pads", &[1, 1, 1, 1])]),
        ],
    );
    let p = profile(&bytes);
    assert_eq!(p.macs, 221_184);
    assert_eq!(p.flops, 2 * 221_184 + 8_192);
}

/// Normalization, padding, slicing, resizing, splitting, concatenation, transposition and
/// reductions: shapes flow through, FLOPs add up, and only BatchNorm's scale and bias are parameters.
#[test]
fn data_movement_and_elementwise_ops() {
    let mut scales = weight("scales", &[4]);
    scales.raw_data = [1f32, 1.0, 2.0, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = model(
        vec![input("x", &[1, 4, 8, 8])],
        vec![
            weight("s", &[4]),
            weight("b", &[4]),
            weight("m", &[4]),
            weight("v", &[4]),
            ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1], false),
            ints("starts", &[1, 1], false),
            ints("ends", &[9, 9], false),
            ints("axes", &[2, 3], false),
            scales,
            ints("split", &[1, 3], false),
        ],
        vec![
            node("BatchNormalization", &["x", "s", "b", "m", "v"], &["bn"], vec![]),
            node("Pad", &["bn", "pads"], &["p"], vec![]),
            node("Slice", &["p", "starts", "ends", "axes"], &["sl"], vec![]),
            node("Resize", &["sl", "", "scales"], &["up"], vec![]),
            node("Split", &["up", "split"], &["a", "b2"], vec![attr_i("axis", 1)]),
            node("Concat", &["b2", "a"], &["c"], vec![attr_i("axis", 1)]),
            node("Transpose", &["c"], &["t"], vec![attr_ints("perm", &[0, 2, 3, 1])]),
            node("ReduceMean", &["t"], &["r"], vec![attr_ints("axes", &[1, 2]), attr_i("keepdims", 0)]),
            node("Softmax", &["r"], &["y"], vec![attr_i("axis", -1)]),
        ],
    );
    let p = profile(&bytes);
    // BatchNorm 2·(4·8·8) = 512; Pad → 4×10×10; Slice [1:9] → 4×8×8; Resize ×2 → 4×16×16 = 1,024
    // (one per output); Split/Concat/Transpose free → 16×16×4; ReduceMean over 1,024 inputs → [1, 4];
    // Softmax 3·4 = 12.
    assert_eq!(p.flops, 512 + 1_024 + 1_024 + 12);
    assert_eq!((p.macs, p.layers, p.params), (0, 0, 8));
    assert!(p.kernel_mac_share.is_empty());
    assert_eq!(p.op_counts.len(), 9);
}
