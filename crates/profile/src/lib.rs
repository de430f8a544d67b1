//! Static profiling of ONNX models for the energy/latency predictor: from a model file alone (no
//! inference, no runtime), count its trainable parameters, multiply-accumulates, FLOPs and compute
//! layers, and describe its kernel mix, input and op histogram. Shapes are inferred by this crate
//! itself, node by node in topological order, because exported models often lack (or have had
//! stripped) their intermediate shape annotations; small integer tensors are constant-folded so
//! that `Shape → Gather → Unsqueeze → Concat → Reshape` chains resolve. Ops it cannot infer are
//! reported by name ([`ProfileError::Unsupported`]) rather than guessed.
//!
//! # Counting rules
//!
//! * **MACs**: Conv/ConvInteger/QLinearConv = output elements × (input channels / group) × kernel
//!   area (so grouped, depthwise, strided, dilated and padded convolutions are all exact);
//!   ConvTranspose = input elements × (output channels / group) × kernel area; Gemm = M × N × K;
//!   MatMul/MatMulInteger/QLinearMatMul = broadcast batch × M × N × K. Nothing else has MACs.
//! * **FLOPs**: 2 × MACs, plus one per output element for a Conv/ConvTranspose/Gemm bias, plus the
//!   element-wise work: 1 per output element for activations (Relu, Clip, Sigmoid, HardSwish, ...),
//!   (De)QuantizeLinear and Resize, 1 per output element per extra input for broadcasting ops (Add,
//!   Mul, ...), 2 per element for BatchNormalization, 5 for the other normalizations, 3 for
//!   Softmax, output elements × kernel area for pooling, input elements for global pooling and
//!   reductions. Data movement (Reshape, Concat, Transpose, Pad, Gather, ...) is free.
//! * **Parameters**: the elements of each distinct initializer (or `Constant` output) that feeds,
//!   directly or through Identity/Cast/Reshape/Transpose/(Un)Squeeze/Flatten/(De)QuantizeLinear,
//!   a weight slot: Conv/ConvTranspose weight and bias, ConvInteger weight, QLinearConv weight and
//!   bias, Gemm A/B/C and MatMul/MatMulInteger/QLinearMatMul operands that are constants, the
//!   scale and bias of BatchNormalization/InstanceNormalization/LayerNormalization (not the running
//!   mean and variance), QLinearAdd/QLinearMul constant operands with ≥ 2 elements, and float
//!   constants with ≥ 2 elements that are operands of Add/Sub/Mul/Div/PRelu or the table of a
//!   Gather (embeddings). Shape vectors, scalar clip bounds, quantization scales and zero points
//!   are therefore not parameters.
//! * **Layers**: the Conv, ConvTranspose, ConvInteger, QLinearConv, Gemm, MatMul, MatMulInteger
//!   and QLinearMatMul nodes.

mod constants;
mod elementwise;
mod graph;
mod movement;
mod node;
mod ops;
mod shapes;
mod sources;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use ops::SUPPORTED_OPS;

/// The static profile of one ONNX model (see the crate documentation for the counting rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelProfile {
    /// Trainable parameters: elements of the constants in weight slots.
    pub params: u64,
    /// Multiply-accumulates of the convolution and matrix-multiplication layers, batch 1.
    pub macs: u64,
    /// Floating-point (or integer) operations: 2 × MACs plus biases and element-wise work, batch 1.
    pub flops: u64,
    /// File size in MB (10^6 bytes); external data files are not included.
    pub size_mb: f64,
    /// Compute layers: convolution, Gemm and MatMul nodes, quantized forms included.
    pub layers: u32,
    /// The first graph input that is not an initializer, with a symbolic batch set to 1.
    pub input_shape: Vec<u64>,
    /// Spatial input size: H of an NCHW (or NHWC) image input, else the last dim.
    pub input_size: u64,
    /// Whether any convolution is depthwise (group == input channels > 1).
    pub depthwise: bool,
    /// Share of MACs per kernel ("1x1", "3x3", ..., "fc" for Gemm/MatMul), sorted by name; sums to 1 when MACs > 0.
    pub kernel_mac_share: Vec<(String, f64)>,
    /// MAC-weighted mean kernel height over the convolutions (0 if none).
    pub kernel_mean: f64,
    /// Convolution layers, a depthwise-separable pair (depthwise + pointwise 1×1) counted once, as
    /// architecture names and measured datasets count layers (fully connected layers not included).
    pub conv_layers: u32,
    /// Mean kernel height over those layers, each counted once (a separable pair by its depthwise
    /// kernel); 0 if none. The generated models' names (`K1x1_1_K3x3_3`) mean this.
    pub layer_kernel_mean: f64,
    /// Largest convolution kernel height (0 if none).
    pub kernel_max: u64,
    /// Largest number of convolution output channels (0 if none).
    pub filters_max: u64,
    /// Number of nodes per op type.
    pub op_counts: BTreeMap<String, u32>,
}

/// Why a model could not be profiled; each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a serialized ONNX model.
    #[error("not an ONNX model: {0}; pass a .onnx file (a serialized ONNX ModelProto)")]
    NotOnnx(String),
    /// The model is ONNX but structurally invalid (outside any one node).
    #[error("invalid ONNX model: {0}")]
    InvalidModel(String),
    /// Every graph input is an initializer: there is no data input to profile for.
    #[error("the model has no data input (every graph input is an initializer); nothing to profile")]
    NoInput,
    /// A graph input has dimensions that are neither known nor the batch.
    #[error("input `{input}` has unknown dimensions {dims}; pass --input-shape (e.g. --input-shape 1,3,224,224)")]
    UnknownInputDims {
        /// The graph input.
        input: String,
        /// Its dims as declared (`?` or the symbol for unknown ones).
        dims: String,
    },
    /// The input shape given to override the graph input's is unusable.
    #[error("input shape {shape:?} for input `{input}` is invalid: {reason}; pass --input-shape with positive dims")]
    BadInputShape {
        /// The graph input.
        input: String,
        /// The shape given.
        shape: Vec<u64>,
        /// What is wrong.
        reason: String,
    },
    /// An op whose output shape this crate cannot infer.
    #[error(
        "unsupported op `{op}` (node `{node}`): its output shape cannot be inferred statically; \
         the supported ops are listed in infergate_profile::SUPPORTED_OPS"
    )]
    Unsupported {
        /// The op type.
        op: String,
        /// The node's name (or index and first output).
        node: String,
    },
    /// A node whose inputs or attributes are inconsistent.
    #[error(
        "node `{node}` ({op}): {reason}; the model is malformed or uses this op in a way the profiler does not model"
    )]
    InvalidNode {
        /// The op type.
        op: String,
        /// The node's name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A node needs a constant input (a target shape, axes, pads) that is only known at run time.
    #[error(
        "node `{node}` ({op}) needs input `{tensor}` to be a constant, but it is computed at run time \
         from something other than shapes; its output shape cannot be inferred statically"
    )]
    NotConstant {
        /// The op type.
        op: String,
        /// The node's name.
        node: String,
        /// The input tensor.
        tensor: String,
    },
    /// A node reads a tensor nothing produces.
    #[error(
        "node `{node}` ({op}) reads `{tensor}`, which no node, initializer or graph input produces \
         (or which is an output of a node the profiler does not model); the model is malformed"
    )]
    MissingTensor {
        /// The op type.
        op: String,
        /// The node's name.
        node: String,
        /// The missing tensor.
        tensor: String,
    },
    /// The graph is not acyclic.
    #[error("the graph has a cycle through node `{node}` ({op}); ONNX graphs must be acyclic")]
    Cycle {
        /// The op type.
        op: String,
        /// The node's name.
        node: String,
    },
}

/// Profiles the ONNX model file at `path`, using the dims its first input declares.
pub fn profile_file(path: &Path) -> Result<ModelProfile, ProfileError> {
    let bytes = std::fs::read(path).map_err(|source| ProfileError::Io { path: path.to_path_buf(), source })?;
    profile_bytes(&bytes, None)
}

/// Profiles a serialized ONNX model; `input_shape`, when given, replaces the first input's dims.
pub fn profile_bytes(bytes: &[u8], input_shape: Option<&[u64]>) -> Result<ModelProfile, ProfileError> {
    graph::profile(bytes, input_shape)
}
