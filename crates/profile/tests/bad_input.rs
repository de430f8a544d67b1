//! Bad input is an error with a useful message, never a panic: garbage, empty and truncated files,
//! unsupported ops, inconsistent graphs, zero-sized dims and absurd attributes.

mod common;

use common::*;
use infergate_profile::{profile_bytes, profile_file, ProfileError, SUPPORTED_OPS};

fn conv_model(attrs: Vec<tract_onnx::pb::AttributeProto>) -> Vec<u8> {
    model(
        vec![input("x", &[1, 3, 32, 32])],
        vec![weight("w", &[8, 3, 3, 3]), weight("b", &[8])],
        vec![node("Conv", &["x", "w", "b"], &["y"], attrs)],
    )
}

/// A tiny deterministic generator for garbage bytes.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect()
}

#[test]
fn garbage_and_empty_files() {
    for seed in 0..200 {
        let bytes = garbage(seed, 1 + (seed as usize * 37) % 3000);
        assert!(profile_bytes(&bytes, None).is_err(), "garbage seed {seed} profiled");
    }
    let e = profile_bytes(b"", None).unwrap_err();
    assert!(matches!(e, ProfileError::NotOnnx(_)), "{e}");
    assert!(e.to_string().contains("empty"), "{e}");
    let e = profile_bytes(b"this is not a model", None).unwrap_err();
    assert!(matches!(e, ProfileError::NotOnnx(_)), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(profile_file(&empty), Err(ProfileError::NotOnnx(_))));
    let e = profile_file(&dir.path().join("missing.onnx")).unwrap_err();
    assert!(matches!(e, ProfileError::Io { .. }) && e.to_string().contains("missing.onnx"), "{e}");
}

/// Every prefix and many single-byte corruptions of a small valid model: errors or profiles, no panic.
#[test]
fn truncated_and_corrupted_small_model() {
    let bytes = conv_model(vec![attr_ints("pads", &[1, 1, 1, 1])]);
    assert!(profile_bytes(&bytes, None).is_ok());
    for len in 0..bytes.len() {
        let _ = profile_bytes(&bytes[..len], None);
    }
    for pos in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= flip;
            let _ = profile_bytes(&b, None);
        }
    }
}

#[test]
fn unsupported_op_is_named() {
    let bytes = model(
        vec![input("x", &[1, 3, 8, 8])],
        vec![],
        vec![node("Relu", &["x"], &["r"], vec![]), node("FancyActivation", &["r"], &["y"], vec![])],
    );
    let e = profile_bytes(&bytes, None).unwrap_err();
    assert!(
        matches!(&e, ProfileError::Unsupported { op, node } if op == "FancyActivation" && node == "FancyActivation_y")
    );
    assert!(e.to_string().contains("SUPPORTED_OPS"), "{e}");
}

/// Every listed op is dispatched (a one-input node may be invalid, but never unsupported), and
/// data-dependent ops are not listed.
#[test]
fn supported_ops_are_dispatched() {
    for op in SUPPORTED_OPS {
        let bytes = model(vec![input("x", &[1, 4, 8, 8])], vec![], vec![node(op, &["x"], &["y"], vec![])]);
        if let Err(ProfileError::Unsupported { .. }) = profile_bytes(&bytes, None) {
            panic!("{op} is listed but not dispatched");
        }
    }
    for op in ["NonZero", "Loop", "If", "TopK", "NonMaxSuppression", "Einsum"] {
        assert!(!SUPPORTED_OPS.contains(&op));
        let bytes = model(vec![input("x", &[1, 4, 8, 8])], vec![], vec![node(op, &["x"], &["y"], vec![])]);
        assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::Unsupported { .. })), "{op}");
    }
}

#[test]
fn absurd_attributes_are_errors() {
    let cases = vec![
        vec![attr_ints("strides", &[0, 1])],
        vec![attr_ints("strides", &[-3, 1])],
        vec![attr_ints("strides", &[1, 1, 1])],
        vec![attr_ints("dilations", &[i64::MAX, i64::MAX])],
        vec![attr_ints("pads", &[-1, 0, 0, 0])],
        vec![attr_ints("pads", &[1, 1])],
        vec![attr_i("group", 0)],
        vec![attr_i("group", i64::MAX)],
        vec![attr_i("group", -2)],
        vec![attr_ints("kernel_shape", &[5, 5])],
        vec![attr_s("auto_pad", "SIDEWAYS")],
    ];
    for attrs in cases {
        let e = profile_bytes(&conv_model(attrs.clone()), None);
        assert!(matches!(e, Err(ProfileError::InvalidNode { .. })), "{attrs:?}: {e:?}");
    }
    // Huge pads: plain arithmetic for a big output, an error once the output dim leaves u64.
    assert!(profile_bytes(&conv_model(vec![attr_ints("pads", &[1 << 40, 0, 1 << 40, 0])]), None).is_ok());
    let e = profile_bytes(&conv_model(vec![attr_ints("pads", &[i64::MAX, 0, i64::MAX, 0])]), None);
    assert!(matches!(e, Err(ProfileError::InvalidNode { .. })), "{e:?}");
}

#[test]
fn zero_sized_and_inconsistent_shapes() {
    // An input override with a zero dim.
    let e = profile_bytes(&conv_model(vec![]), Some(&[1, 3, 0, 32])).unwrap_err();
    assert!(matches!(e, ProfileError::BadInputShape { .. }), "{e}");
    // A declared zero dim (not the batch) is unknown.
    let bytes = model(vec![input("x", &[1, 0, 4])], vec![], vec![node("Relu", &["x"], &["y"], vec![])]);
    assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::UnknownInputDims { .. })));
    // A weight with zero output channels profiles to zero MACs; one with the wrong channels is an error.
    let zero = model(
        vec![input("x", &[1, 3, 8, 8])],
        vec![weight("w", &[0, 3, 3, 3])],
        vec![node("Conv", &["x", "w"], &["y"], vec![])],
    );
    assert_eq!(profile_bytes(&zero, None).unwrap().macs, 0);
    let wrong = model(
        vec![input("x", &[1, 3, 8, 8])],
        vec![weight("w", &[4, 5, 3, 3])],
        vec![node("Conv", &["x", "w"], &["y"], vec![])],
    );
    assert!(matches!(profile_bytes(&wrong, None), Err(ProfileError::InvalidNode { .. })));
    // Kernel larger than the input.
    let big = model(
        vec![input("x", &[1, 3, 2, 2])],
        vec![weight("w", &[4, 3, 3, 3])],
        vec![node("Conv", &["x", "w"], &["y"], vec![])],
    );
    assert!(matches!(profile_bytes(&big, None), Err(ProfileError::InvalidNode { .. })));
    // Reshape to a size that does not match, to two −1s, and to a negative dim.
    for target in [vec![7, -1], vec![-1, -1], vec![1, -5], vec![i64::MAX, 2]] {
        let bytes = model(
            vec![input("x", &[1, 4, 6, 6])],
            vec![ints("t", &target, false)],
            vec![node("Reshape", &["x", "t"], &["y"], vec![])],
        );
        assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::InvalidNode { .. })), "{target:?}");
    }
    // Gather with an index out of range of the shape vector.
    let bytes = model(
        vec![input("x", &[1, 4, 6, 6])],
        vec![ints("i", &[9], true)],
        vec![node("Shape", &["x"], &["s"], vec![]), node("Gather", &["s", "i"], &["y"], vec![])],
    );
    assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::InvalidNode { .. })));
}

#[test]
fn malformed_graphs() {
    // A reshape target computed at run time.
    let bytes = model(
        vec![input("x", &[1, 4, 6, 6])],
        vec![],
        vec![node("Relu", &["x"], &["t"], vec![]), node("Reshape", &["x", "t"], &["y"], vec![])],
    );
    let e = profile_bytes(&bytes, None).unwrap_err();
    assert!(matches!(&e, ProfileError::NotConstant { tensor, .. } if tensor == "t"), "{e}");
    // A cycle.
    let bytes = model(
        vec![input("x", &[1, 4])],
        vec![],
        vec![node("Add", &["x", "b"], &["a"], vec![]), node("Relu", &["a"], &["b"], vec![])],
    );
    assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::Cycle { .. })));
    // A dangling input.
    let bytes = model(vec![input("x", &[1, 4])], vec![], vec![node("Add", &["x", "nowhere"], &["y"], vec![])]);
    assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::MissingTensor { .. })));
    // No data input: everything is an initializer.
    let bytes = model(vec![input("w", &[2])], vec![weight("w", &[2])], vec![node("Relu", &["w"], &["y"], vec![])]);
    assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::NoInput)));
    // No nodes.
    let bytes = model(vec![input("x", &[1, 4])], vec![], vec![]);
    assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::NotOnnx(_))));
    // A negative initializer dim.
    let mut w = weight("w", &[2]);
    w.dims = vec![-2];
    let bytes = model(vec![input("x", &[1, 2])], vec![w], vec![node("Add", &["x", "w"], &["y"], vec![])]);
    assert!(matches!(profile_bytes(&bytes, None), Err(ProfileError::InvalidModel(_))));
}

#[test]
fn profile_round_trips_through_json() {
    let p = profile_bytes(&conv_model(vec![]), None).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<infergate_profile::ModelProfile>(&json).unwrap(), p);
}
