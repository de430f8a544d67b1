//! Building small ONNX models in tests with the prost-generated `tract_onnx::pb` types.

#![allow(dead_code)]

use prost::Message;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto,
};

/// A float graph input; a negative dim is symbolic ("N").
pub fn input(name: &str, dims: &[i64]) -> ValueInfoProto {
    typed_input(name, dims, DataType::Float)
}

/// A graph input of the given element type; a negative dim is symbolic ("N").
pub fn typed_input(name: &str, dims: &[i64], ty: DataType) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(if d < 0 { dimension::Value::DimParam("N".into()) } else { dimension::Value::DimValue(d) }),
            ..Default::default()
        })
        .collect();
    let tensor = type_proto::Tensor { elem_type: ty as i32, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

/// A float initializer of zeros (raw data).
pub fn weight(name: &str, dims: &[i64]) -> TensorProto {
    let n: i64 = dims.iter().product();
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: DataType::Float as i32,
        raw_data: vec![0; 4 * n as usize],
        ..Default::default()
    }
}

/// An initializer of the given integer type holding zeros.
pub fn int_weight(name: &str, dims: &[i64], ty: DataType) -> TensorProto {
    let n: i64 = dims.iter().product();
    let width = match ty {
        DataType::Int8 | DataType::Uint8 => 1,
        DataType::Int32 => 4,
        _ => 8,
    };
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: ty as i32,
        raw_data: vec![0; width * n as usize],
        ..Default::default()
    }
}

/// A scalar float initializer.
pub fn scalar(name: &str, v: f32) -> TensorProto {
    TensorProto { name: name.into(), data_type: DataType::Float as i32, float_data: vec![v], ..Default::default() }
}

/// An int64 initializer (1-D, or a scalar when `scalar`).
pub fn ints(name: &str, values: &[i64], scalar: bool) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: if scalar { vec![] } else { vec![values.len() as i64] },
        data_type: DataType::Int64 as i32,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

/// A node.
pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: format!("{op}_{}", outputs.first().unwrap_or(&"")),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

/// An integer attribute.
pub fn attr_i(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: v, ..Default::default() }
}

/// An integer-list attribute.
pub fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

/// A string attribute.
pub fn attr_s(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// A tensor attribute.
pub fn attr_t(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Tensor as i32, t: Some(t), ..Default::default() }
}

/// A serialized opset-13 model.
pub fn model(inputs: Vec<ValueInfoProto>, initializer: Vec<TensorProto>, node: Vec<NodeProto>) -> Vec<u8> {
    let last = node.last().and_then(|n| n.output.first()).cloned().unwrap_or_default();
    let graph = GraphProto {
        name: "test".into(),
        node,
        initializer,
        input: inputs,
        output: vec![ValueInfoProto { name: last, ..Default::default() }],
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        producer_name: "infergate-profile tests".into(),
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}
