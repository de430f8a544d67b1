//! Cutting the final classifier off an ONNX image classifier, and putting a new one on.
//!
//! The model is rewritten on the wire: every field that does not change (other top-level
//! fields, every kept node and initializer, …) is copied byte for byte, so fields that the
//! ONNX message types compiled in here do not know survive. Only the removed classifier, its
//! weights, the replaced output and the new head are touched.

use crate::wire::{fields, put_bytes};
use prost::Message;
use std::collections::HashSet;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::{DataLocation, DataType};
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::type_proto;
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

const MODEL_GRAPH: u32 = 7;
const GRAPH_NODE: u32 = 1;
const GRAPH_INITIALIZER: u32 = 5;
const GRAPH_INPUT: u32 = 11;
const GRAPH_OUTPUT: u32 = 12;
const GRAPH_VALUE_INFO: u32 = 13;

/// Names of what the new head adds to the graph.
const HEAD_NODE: &str = "infergate_head";
const HEAD_WEIGHT: &str = "infergate_head.weight";
const HEAD_BIAS: &str = "infergate_head.bias";

/// Why a model cannot be cut or rewritten.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The bytes are not an ONNX model.
    #[error("not a valid ONNX model: {0}")]
    Decode(String),
    /// The model does not end in a classifier we know how to replace.
    #[error("cannot find the final classifier to replace: {0}")]
    NoClassifier(String),
    /// The model uses something this rewriter does not handle.
    #[error("unsupported model: {0}")]
    Unsupported(String),
}

/// An image classifier whose (first) output comes from a final fully connected layer — a
/// `Gemm`, or a `MatMul` followed by an `Add`, possibly followed by `Identity` nodes. The
/// tensor feeding that layer is the feature vector a new head is trained on.
#[derive(Debug, Clone)]
pub struct BaseModel {
    bytes: Vec<u8>,
    classifier: Classifier,
    output: ValueInfoProto,
    dropped: HashSet<String>,
    names: HashSet<String>,
}

/// The nodes that make up the final classifier, and what they read.
#[derive(Debug, Clone)]
struct Classifier {
    /// Indices of the classifier's nodes in the graph.
    nodes: HashSet<usize>,
    /// The tensor the classifier reads.
    features: String,
    /// Its length per image.
    feature_dim: usize,
}

impl BaseModel {
    /// Parses an ONNX model and finds its final classifier.
    pub fn parse(bytes: Vec<u8>) -> Result<BaseModel, GraphError> {
        let model = ModelProto::decode(bytes.as_slice()).map_err(|e| GraphError::Decode(e.to_string()))?;
        let graph = model.graph.as_ref().ok_or_else(|| GraphError::Decode("the model has no graph".into()))?;
        if let Some(t) = graph.initializer.iter().find(|t| t.data_location == Some(DataLocation::External as i32)) {
            return Err(GraphError::Unsupported(format!(
                "initializer {:?} keeps its data in an external file; save the model as one file",
                t.name
            )));
        }
        let output = graph.output.first().ok_or_else(|| GraphError::NoClassifier("the graph has no output".into()))?;
        let classifier = find_classifier(graph, &output.name)?;
        let consumed_elsewhere = |name: &String| {
            graph.node.iter().enumerate().any(|(i, n)| !classifier.nodes.contains(&i) && n.input.contains(name))
                || graph.output.iter().skip(1).any(|o| &o.name == name)
        };
        let removed = || classifier.nodes.iter().map(|&i| &graph.node[i]);
        if let Some(name) = removed().flat_map(|n| &n.output).find(|o| consumed_elsewhere(o)) {
            return Err(GraphError::NoClassifier(format!("the classifier's tensor {name:?} is also used elsewhere")));
        }
        let initializers: HashSet<&String> = graph.initializer.iter().map(|t| &t.name).collect();
        let dropped = removed()
            .flat_map(|n| &n.input)
            .filter(|name| initializers.contains(name) && !consumed_elsewhere(name))
            .cloned()
            .collect();
        let names = graph
            .initializer
            .iter()
            .map(|t| t.name.clone())
            .chain(graph.input.iter().map(|i| i.name.clone()))
            .chain(graph.node.iter().flat_map(|n| n.output.iter().cloned().chain([n.name.clone()])))
            .collect();
        Ok(BaseModel { output: output.clone(), classifier, dropped, names, bytes })
    }

    /// The name of the feature tensor (the classifier's input).
    pub fn features_name(&self) -> &str {
        &self.classifier.features
    }

    /// The length of one image's feature vector.
    pub fn feature_dim(&self) -> usize {
        self.classifier.feature_dim
    }

    /// The base model without its classifier: its output is the feature tensor,
    /// `[batch, feature_dim]`.
    pub fn feature_extractor(&self) -> Result<Vec<u8>, GraphError> {
        let output = self.value_info(&self.classifier.features, self.classifier.feature_dim);
        self.rewrite(&output, &[], &[])
    }

    /// The base model with its classifier replaced by `features · weightsᵀ + bias`, where
    /// `weights` is `[classes, feature_dim]` row-major and `bias` has `classes` entries. The
    /// output keeps the base model's output name and has shape `[batch, classes]`.
    pub fn with_linear_head(&self, weights: &[f32], bias: &[f32]) -> Result<Vec<u8>, GraphError> {
        let classes = bias.len();
        if classes == 0 || weights.len() != classes * self.classifier.feature_dim {
            return Err(GraphError::Unsupported(format!(
                "a head for {} features needs {classes} x {} weights, got {}",
                self.classifier.feature_dim,
                self.classifier.feature_dim,
                weights.len()
            )));
        }
        if let Some(taken) = [HEAD_NODE, HEAD_WEIGHT, HEAD_BIAS].into_iter().find(|n| self.names.contains(*n)) {
            return Err(GraphError::Unsupported(format!("the model already has something named {taken:?}")));
        }
        let node = NodeProto {
            input: vec![self.classifier.features.clone(), HEAD_WEIGHT.into(), HEAD_BIAS.into()],
            output: vec![self.output.name.clone()],
            name: HEAD_NODE.into(),
            op_type: "Gemm".into(),
            attribute: vec![AttributeProto {
                name: "transB".into(),
                r#type: AttributeType::Int as i32,
                i: 1,
                ..Default::default()
            }],
            ..Default::default()
        };
        let initializers = [
            float_tensor(HEAD_WEIGHT, &[classes, self.classifier.feature_dim], weights),
            float_tensor(HEAD_BIAS, &[classes], bias),
        ];
        self.rewrite(&self.value_info(&self.output.name, classes), &[node], &initializers)
    }

    /// A float tensor `[batch, width]` named `name`, with the batch dimension of the base
    /// model's output.
    fn value_info(&self, name: &str, width: usize) -> ValueInfoProto {
        let batch = match &self.output.r#type {
            Some(TypeProto { value: Some(type_proto::Value::TensorType(t)), .. }) => {
                t.shape.as_ref().and_then(|s| s.dim.first().cloned())
            }
            _ => None,
        };
        let batch =
            batch.unwrap_or(Dimension { value: Some(dimension::Value::DimParam("N".into())), ..Default::default() });
        let width = Dimension { value: Some(dimension::Value::DimValue(width as i64)), ..Default::default() };
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: DataType::Float as i32,
                    shape: Some(TensorShapeProto { dim: vec![batch, width] }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Copies the model with the classifier node, its own initializers and the first output
    /// replaced by `output`, `nodes` and `initializers`.
    fn rewrite(
        &self,
        output: &ValueInfoProto,
        nodes: &[NodeProto],
        initializers: &[TensorProto],
    ) -> Result<Vec<u8>, GraphError> {
        let mut out = Vec::with_capacity(self.bytes.len());
        let mut graphs = 0;
        for field in fields(&self.bytes).map_err(GraphError::Decode)? {
            if field.tag == MODEL_GRAPH {
                graphs += 1;
                put_bytes(MODEL_GRAPH, &self.rewrite_graph(field.payload, output, nodes, initializers)?, &mut out);
            } else {
                out.extend_from_slice(field.raw);
            }
        }
        if graphs != 1 {
            return Err(GraphError::Unsupported(format!("the model has {graphs} graph fields, expected one")));
        }
        Ok(out)
    }

    fn rewrite_graph(
        &self,
        graph: &[u8],
        output: &ValueInfoProto,
        nodes: &[NodeProto],
        initializers: &[TensorProto],
    ) -> Result<Vec<u8>, GraphError> {
        let decode_err = |e: prost::DecodeError| GraphError::Decode(e.to_string());
        let mut out = Vec::with_capacity(graph.len());
        let (mut node_index, mut output_replaced) = (0, false);
        for field in fields(graph).map_err(GraphError::Decode)? {
            let keep = match field.tag {
                GRAPH_NODE => {
                    node_index += 1;
                    !self.classifier.nodes.contains(&(node_index - 1))
                }
                GRAPH_INITIALIZER => {
                    !self.dropped.contains(&TensorProto::decode(field.payload).map_err(decode_err)?.name)
                }
                GRAPH_INPUT => !self.dropped.contains(&ValueInfoProto::decode(field.payload).map_err(decode_err)?.name),
                GRAPH_OUTPUT if !output_replaced => {
                    output_replaced = true;
                    put_bytes(GRAPH_OUTPUT, &output.encode_to_vec(), &mut out);
                    false
                }
                GRAPH_VALUE_INFO => {
                    let name = ValueInfoProto::decode(field.payload).map_err(decode_err)?.name;
                    name != self.output.name && name != output.name
                }
                _ => true,
            };
            if keep {
                out.extend_from_slice(field.raw);
            }
        }
        for node in nodes {
            put_bytes(GRAPH_NODE, &node.encode_to_vec(), &mut out);
        }
        for tensor in initializers {
            put_bytes(GRAPH_INITIALIZER, &tensor.encode_to_vec(), &mut out);
        }
        Ok(out)
    }
}

/// Walks back from the output `name` over `Identity` nodes to the fully connected layer
/// (`Gemm`, or `MatMul` then `Add`) and checks it reads `[batch, features]` with a constant
/// weight matrix.
fn find_classifier(graph: &GraphProto, name: &str) -> Result<Classifier, GraphError> {
    let refuse = |why: String| Err(GraphError::NoClassifier(why));
    let producer = |tensor: &str| graph.node.iter().position(|n| n.output.iter().any(|o| o == tensor));
    let mut nodes = HashSet::new();
    let mut tensor = name.to_string();
    loop {
        let Some(index) = producer(&tensor) else {
            return refuse(format!("no node produces {tensor:?}"));
        };
        let node = &graph.node[index];
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return refuse(format!("{tensor:?} comes from a {:?} node of domain {:?}", node.op_type, node.domain));
        }
        nodes.insert(index);
        let matmul = match node.op_type.as_str() {
            "Identity" if !node.input.is_empty() => {
                tensor = node.input[0].clone();
                continue;
            }
            "Gemm" => {
                let feature_dim = gemm_feature_dim(graph, node)?;
                return Ok(Classifier { nodes, features: node.input[0].clone(), feature_dim });
            }
            "MatMul" => node,
            "Add" => match node.input.iter().filter_map(|i| producer(i)).find(|&i| graph.node[i].op_type == "MatMul") {
                Some(i) => {
                    nodes.insert(i);
                    &graph.node[i]
                }
                None => return refuse(format!("{tensor:?} comes from an Add that does not follow a MatMul")),
            },
            other => {
                return refuse(format!("{tensor:?} comes from a {other:?} node, not a fully connected layer"));
            }
        };
        return match (matmul.input.get(1).and_then(|w| initializer_dims(graph, w)), matmul.input.first()) {
            (Some([d, _]), Some(features)) if *d > 0 => {
                Ok(Classifier { nodes, features: features.clone(), feature_dim: *d as usize })
            }
            _ => refuse("the final MatMul's weights are not a constant [features, classes] matrix".into()),
        };
    }
}

/// Checks a final `Gemm` reads `[batch, features]` with a constant weight matrix and returns
/// the number of features.
fn gemm_feature_dim(graph: &GraphProto, node: &NodeProto) -> Result<usize, GraphError> {
    let int_attr = |name: &str| node.attribute.iter().find(|a| a.name == name).map_or(0, |a| a.i);
    if int_attr("transA") != 0 {
        return Err(GraphError::NoClassifier("the final Gemm transposes its input (transA = 1)".into()));
    }
    match (node.input.get(1).and_then(|w| initializer_dims(graph, w)), int_attr("transB")) {
        (Some([_, d]), 1) | (Some([d, _]), 0) if *d > 0 => Ok(*d as usize),
        _ => Err(GraphError::NoClassifier("the final Gemm's weights are not a constant 2-D matrix".into())),
    }
}

/// The dimensions of the initializer `name`, if it is one.
fn initializer_dims<'g>(graph: &'g GraphProto, name: &str) -> Option<&'g [i64]> {
    graph.initializer.iter().find(|t| t.name == name).map(|t| t.dims.as_slice())
}

fn float_tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
