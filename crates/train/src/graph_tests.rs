//! Tests of [`super::BaseModel`] on small hand-built graphs.

use super::*;
use prost::encoding::{encode_key, encode_varint, WireType};
use tract_onnx::pb::OperatorSetIdProto;

fn tensor_info(name: &str, dims: &[Dimension]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim: dims.to_vec() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn dim(v: i64) -> Dimension {
    Dimension { value: Some(dimension::Value::DimValue(v)), ..Default::default() }
}

fn batch() -> Dimension {
    Dimension { value: Some(dimension::Value::DimParam("batch".into())), ..Default::default() }
}

fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: format!("{op}_{output}"),
        op_type: op.into(),
        ..Default::default()
    }
}

/// The classifier as the PyTorch exporter writes it: Gemm(h, W [3, 4], b, transB = 1).
fn gemm_tail() -> Vec<NodeProto> {
    let mut gemm = node("Gemm", &["h", "W", "b"], "y");
    gemm.attribute.push(AttributeProto { name: "transB".into(), r#type: 2, i: 1, ..Default::default() });
    vec![gemm]
}

/// The classifier as in the shared MobileNetV2: MatMul(h, Wt [4, 3]) → Add(b) → Identity.
fn matmul_tail() -> Vec<NodeProto> {
    vec![node("MatMul", &["h", "Wt"], "mm"), node("Add", &["mm", "b"], "logits"), node("Identity", &["logits"], "y")]
}

/// x [batch, 4] → Relu → h → `tail` → y [batch, 3], with the classifier's weights, an
/// unrelated initializer, and unknown fields in the model, the graph and the Relu node.
fn small_model(tail: Vec<NodeProto>) -> Vec<u8> {
    let mut relu = node("Relu", &["x"], "h").encode_to_vec();
    put_bytes(50, b"node-extension", &mut relu);
    let graph = GraphProto {
        name: "small".into(),
        initializer: vec![
            float_tensor("W", &[3, 4], &[0.5; 12]),
            float_tensor("Wt", &[4, 3], &[0.5; 12]),
            float_tensor("b", &[3], &[1.0, 2.0, 3.0]),
            float_tensor("unused", &[1], &[7.0]),
        ],
        input: vec![tensor_info("x", &[batch(), dim(4)])],
        output: vec![tensor_info("y", &[batch(), dim(3)])],
        value_info: vec![tensor_info("h", &[batch(), dim(4)]), tensor_info("y", &[batch(), dim(3)])],
        ..Default::default()
    };
    let mut graph = graph.encode_to_vec();
    put_bytes(GRAPH_NODE, &relu, &mut graph);
    for n in tail {
        put_bytes(GRAPH_NODE, &n.encode_to_vec(), &mut graph);
    }
    put_bytes(40, b"graph-extension", &mut graph);
    let model = ModelProto {
        ir_version: 7,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 12 }],
        producer_name: "test".into(),
        ..Default::default()
    };
    let mut bytes = model.encode_to_vec();
    put_bytes(MODEL_GRAPH, &graph, &mut bytes);
    encode_key(99, WireType::Varint, &mut bytes);
    encode_varint(12345, &mut bytes);
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn graph_of(bytes: &[u8]) -> GraphProto {
    ModelProto::decode(bytes).unwrap().graph.unwrap()
}

fn shape_of(info: &ValueInfoProto) -> Vec<Dimension> {
    match &info.r#type {
        Some(TypeProto { value: Some(type_proto::Value::TensorType(t)), .. }) => t.shape.clone().unwrap().dim,
        _ => panic!("not a tensor"),
    }
}

#[test]
fn finds_the_fully_connected_layer_and_its_features() {
    for tail in [gemm_tail(), matmul_tail()] {
        let base = BaseModel::parse(small_model(tail)).unwrap();
        assert_eq!((base.features_name(), base.feature_dim()), ("h", 4));
        assert_eq!(base.dropped.len(), 2, "{:?}", base.dropped);
    }
}

#[test]
fn the_feature_extractor_ends_at_the_features_and_keeps_unknown_fields() {
    for (tail, kept) in [(gemm_tail(), "Wt"), (matmul_tail(), "W")] {
        let bytes = BaseModel::parse(small_model(tail)).unwrap().feature_extractor().unwrap();
        let graph = graph_of(&bytes);
        assert_eq!(graph.node.iter().map(|n| n.op_type.as_str()).collect::<Vec<_>>(), vec!["Relu"]);
        let inits: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(inits, vec![kept, "unused"], "the classifier's weights go, the rest stays");
    }
    let base = BaseModel::parse(small_model(gemm_tail())).unwrap();
    let bytes = base.feature_extractor().unwrap();
    let graph = graph_of(&bytes);
    assert_eq!(graph.output.len(), 1);
    assert_eq!(graph.output[0].name, "h");
    assert_eq!(shape_of(&graph.output[0]), vec![batch(), dim(4)]);
    assert!(graph.value_info.is_empty(), "annotations of the replaced tensors go");
    for marker in [&b"node-extension"[..], b"graph-extension"] {
        assert!(contains(&bytes, marker), "{}", String::from_utf8_lossy(marker));
    }
    let mut model_extension = Vec::new();
    encode_key(99, WireType::Varint, &mut model_extension);
    encode_varint(12345, &mut model_extension);
    assert!(bytes.ends_with(&model_extension));
    assert_eq!(ModelProto::decode(bytes.as_slice()).unwrap().producer_name, "test");
}

#[test]
fn a_linear_head_replaces_the_classifier() {
    let base = BaseModel::parse(small_model(matmul_tail())).unwrap();
    let weights: Vec<f32> = (0..8).map(|i| i as f32).collect();
    let bytes = base.with_linear_head(&weights, &[0.25, -0.25]).unwrap();
    let graph = graph_of(&bytes);
    let ops: Vec<(&str, &str)> = graph.node.iter().map(|n| (n.op_type.as_str(), n.name.as_str())).collect();
    assert_eq!(ops, vec![("Relu", "Relu_h"), ("Gemm", HEAD_NODE)]);
    assert_eq!(graph.node[1].input, vec!["h", HEAD_WEIGHT, HEAD_BIAS]);
    assert_eq!(graph.node[1].output, vec!["y"]);
    assert_eq!(graph.output[0].name, "y");
    assert_eq!(shape_of(&graph.output[0]), vec![batch(), dim(2)]);
    let w = graph.initializer.iter().find(|t| t.name == HEAD_WEIGHT).unwrap();
    assert_eq!(w.dims, vec![2, 4]);
    assert_eq!(w.raw_data.len(), 8 * 4);
    assert_eq!(&w.raw_data[4..8], &1f32.to_le_bytes());
    assert!(contains(&bytes, b"node-extension") && contains(&bytes, b"graph-extension"));
    assert!(BaseModel::parse(bytes).is_ok(), "the result is itself a base model");
}

#[test]
fn refusals() {
    let err = BaseModel::parse(small_model(vec![node("Softmax", &["h"], "y")])).unwrap_err();
    assert!(err.to_string().contains("not a fully connected layer"), "{err}");
    let err = BaseModel::parse(small_model(vec![node("Add", &["h", "b"], "y")])).unwrap_err();
    assert!(err.to_string().contains("does not follow a MatMul"), "{err}");
    let err = BaseModel::parse(small_model(vec![node("MatMul", &["h", "x"], "y")])).unwrap_err();
    assert!(err.to_string().contains("not a constant"), "{err}");
    let mut shared = matmul_tail();
    shared.push(node("Relu", &["mm"], "side"));
    let err = BaseModel::parse(small_model(shared)).unwrap_err();
    assert!(err.to_string().contains("also used elsewhere"), "{err}");
    assert!(matches!(BaseModel::parse(b"\xff\xff not onnx".to_vec()), Err(GraphError::Decode(_))));
    let base = BaseModel::parse(small_model(gemm_tail())).unwrap();
    assert!(base.with_linear_head(&[0.0; 7], &[0.0, 0.0]).is_err(), "wrong number of weights");
    assert!(base.with_linear_head(&[], &[]).is_err(), "no classes");
}
