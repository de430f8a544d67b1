//! The walk over a model: decode, resolve the inputs, order the nodes topologically, evaluate each
//! node's rule, count parameters, and aggregate the totals into a [`ModelProfile`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use prost::Message;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::pb::type_proto::Value as Type;
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, ValueInfoProto};

use crate::constants::{dims_of, is_float_type, tensor_of, Tensor};
use crate::node::{Ctx, Layer};
use crate::{ops, sources, ModelProfile, ProfileError};

/// Which constants in a node's weight slots count as parameters.
#[derive(Clone, Copy, PartialEq)]
enum Rule {
    /// Any constant.
    Any,
    /// Constants with at least two elements.
    Multi,
    /// Floating-point constants with at least two elements.
    FloatMulti,
}

/// The weight slots (input indices) of an op and the rule for them.
fn weight_slots(op: &str) -> (&'static [usize], Rule) {
    match op {
        "Conv" | "ConvTranspose" => (&[1, 2], Rule::Any),
        "ConvInteger" => (&[1], Rule::Any),
        "QLinearConv" => (&[3, 8], Rule::Any),
        "Gemm" => (&[0, 1, 2], Rule::Any),
        "MatMul" | "MatMulInteger" => (&[0, 1], Rule::Any),
        "QLinearMatMul" => (&[0, 3], Rule::Any),
        "BatchNormalization" | "InstanceNormalization" | "LayerNormalization" => (&[1, 2], Rule::Any),
        "QLinearAdd" | "QLinearMul" => (&[0, 3], Rule::Multi),
        "Add" | "Sub" | "Mul" | "Div" | "PRelu" => (&[0, 1], Rule::FloatMulti),
        "Gather" => (&[0], Rule::FloatMulti),
        _ => (&[], Rule::Any),
    }
}

/// Running totals over the nodes.
#[derive(Default)]
struct Totals {
    params: u64,
    counted: HashSet<String>,
    macs: u64,
    flops: u64,
    layers: u32,
    depthwise: bool,
    kernel_macs: BTreeMap<String, u64>,
    conv_macs: f64,
    conv_kh_macs: f64,
    conv_kh_sum: f64,
    convs: u32,
    depthwise_convs: u32,
    pointwise_convs: u32,
    kernel_max: u64,
    filters_max: u64,
    op_counts: BTreeMap<String, u32>,
}

impl Totals {
    fn add_layer(&mut self, layer: &Layer, macs: u64) {
        self.layers += 1;
        *self.kernel_macs.entry(layer.kernel.clone()).or_default() += macs;
        if layer.conv {
            self.depthwise |= layer.depthwise;
            self.conv_macs += macs as f64;
            self.conv_kh_macs += macs as f64 * layer.kernel_h as f64;
            self.conv_kh_sum += layer.kernel_h as f64;
            self.convs += 1;
            self.depthwise_convs += u32::from(layer.depthwise);
            self.pointwise_convs +=
                u32::from(layer.kernel_h == 1 && layer.kernel.chars().all(|c| c == '1' || c == 'x'));
            self.kernel_max = self.kernel_max.max(layer.kernel_h);
            self.filters_max = self.filters_max.max(layer.filters);
        }
    }
}

/// Profiles a serialized model.
pub(crate) fn profile(bytes: &[u8], input_shape: Option<&[u64]>) -> Result<ModelProfile, ProfileError> {
    if bytes.is_empty() {
        return Err(ProfileError::NotOnnx("the file is empty".into()));
    }
    let model =
        ModelProto::decode(bytes).map_err(|e| ProfileError::NotOnnx(format!("the protobuf does not decode ({e})")))?;
    let graph = model.graph.as_ref().ok_or_else(|| ProfileError::NotOnnx("it has no graph".into()))?;
    if graph.node.is_empty() {
        return Err(ProfileError::NotOnnx("its graph has no nodes".into()));
    }

    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut consts: HashMap<String, (u64, bool)> = HashMap::new();
    for init in &graph.initializer {
        let t = tensor_of(init, &init.name).ok_or_else(|| {
            ProfileError::InvalidModel(format!("initializer `{}` has negative dims {:?}", init.name, init.dims))
        })?;
        consts.insert(init.name.clone(), (t.elems(), is_float_type(init.data_type)));
        tensors.insert(init.name.clone(), t);
    }
    for sparse in &graph.sparse_initializer {
        let (Some(values), Some(shape)) = (&sparse.values, dims_of_i64(&sparse.dims)) else { continue };
        let nnz = values.dims.iter().map(|&d| u64::try_from(d).unwrap_or(0)).fold(1u64, u64::saturating_mul);
        consts.insert(values.name.clone(), (nnz, is_float_type(values.data_type)));
        tensors.insert(values.name.clone(), Tensor { shape, value: None, origin: Some(values.name.clone()) });
    }

    // Graph inputs that are not initializers; the first one is the model's input.
    let data_inputs: Vec<&ValueInfoProto> = graph.input.iter().filter(|i| !tensors.contains_key(&i.name)).collect();
    let first = data_inputs.first().ok_or(ProfileError::NoInput)?;
    let input = resolve_input(first, input_shape)?;
    tensors.insert(first.name.clone(), Tensor::of(input.clone()));
    let mut unresolved = HashMap::new();
    for other in &data_inputs[1..] {
        match resolve_input(other, None) {
            Ok(shape) => drop(tensors.insert(other.name.clone(), Tensor::of(shape))),
            Err(e) => drop(unresolved.insert(other.name.clone(), e.to_string())),
        }
    }

    let mut totals = Totals::default();
    for idx in topological_order(graph)? {
        let node = &graph.node[idx];
        let label = label(node, idx);
        *totals.op_counts.entry(node.op_type.clone()).or_default() += 1;
        let inputs = node
            .input
            .iter()
            .map(|name| match name.as_str() {
                "" => Ok(None),
                name => tensors.get(name).map(Some).ok_or_else(|| missing(node, &label, name, &unresolved)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ctx = Ctx { node, label: &label, inputs };
        let eval = ops::eval(&ctx)?;
        count_params(&ctx, &consts, &mut totals);
        totals.macs = totals.macs.saturating_add(eval.macs);
        totals.flops = totals.flops.saturating_add(eval.flops);
        if let Some(layer) = &eval.layer {
            totals.add_layer(layer, eval.macs);
        }
        if node.op_type == "Constant" {
            if let (Some(name), Some(t)) = (node.output.first(), eval.outputs.first()) {
                consts.insert(name.clone(), (t.elems(), sources::constant_is_float(&node.attribute)));
            }
        }
        for (name, t) in node.output.iter().zip(eval.outputs) {
            if !name.is_empty() {
                tensors.insert(name.clone(), t);
            }
        }
    }
    Ok(finish(totals, input, bytes.len()))
}

/// Dims of a sparse initializer.
fn dims_of_i64(dims: &[i64]) -> Option<Vec<u64>> {
    dims_of(&tract_onnx::pb::TensorProto { dims: dims.to_vec(), ..Default::default() })
}

/// The error for an input nothing produces (or an input whose dims are unknown).
fn missing(node: &NodeProto, label: &str, name: &str, unresolved: &HashMap<String, String>) -> ProfileError {
    match unresolved.get(name) {
        Some(reason) => ProfileError::UnknownInputDims { input: name.to_string(), dims: reason.clone() },
        None => {
            ProfileError::MissingTensor { op: node.op_type.clone(), node: label.to_string(), tensor: name.to_string() }
        }
    }
}

/// Adds the constants in the node's weight slots to the parameter count, each constant once.
fn count_params(ctx: &Ctx, consts: &HashMap<String, (u64, bool)>, totals: &mut Totals) {
    let (slots, rule) = weight_slots(ctx.op());
    for &i in slots {
        let Some(origin) = ctx.opt(i).and_then(|t| t.origin.as_ref()) else { continue };
        let Some(&(n, float)) = consts.get(origin) else { continue };
        let counts = match rule {
            Rule::Any => true,
            Rule::Multi => n >= 2,
            Rule::FloatMulti => float && n >= 2,
        };
        if counts && totals.counted.insert(origin.clone()) {
            totals.params = totals.params.saturating_add(n);
        }
    }
}

/// A node's name for messages: its name, else its index and first output.
fn label(node: &NodeProto, idx: usize) -> String {
    if node.name.is_empty() {
        format!("#{idx} -> {}", node.output.first().map_or("?", String::as_str))
    } else {
        node.name.clone()
    }
}

/// The dims of a graph input: `override_` when given, else the declared dims with a symbolic (or
/// non-positive) first dim taken as a batch of 1; any other unknown dim is an error.
fn resolve_input(vi: &ValueInfoProto, override_: Option<&[u64]>) -> Result<Vec<u64>, ProfileError> {
    let declared: Option<Vec<(Option<i64>, String)>> = match vi.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => t.shape.as_ref().map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(Dim::DimValue(v)) => (Some(*v), v.to_string()),
                    Some(Dim::DimParam(p)) => (None, p.clone()),
                    None => (None, "?".into()),
                })
                .collect()
        }),
        None => None,
    };
    let describe = |dims: &[(Option<i64>, String)]| {
        format!("[{}]", dims.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>().join(", "))
    };
    if let Some(shape) = override_ {
        let bad =
            |reason: String| ProfileError::BadInputShape { input: vi.name.clone(), shape: shape.to_vec(), reason };
        if shape.is_empty() || shape.contains(&0) {
            return Err(bad("dims must be positive".into()));
        }
        if let Some(d) = declared.as_ref().filter(|d| d.len() != shape.len()) {
            return Err(bad(format!("the model declares {} dims {}", d.len(), describe(d))));
        }
        return Ok(shape.to_vec());
    }
    let unknown = |dims: String| ProfileError::UnknownInputDims { input: vi.name.clone(), dims };
    let declared = declared.ok_or_else(|| unknown("(no shape declared)".into()))?;
    declared
        .iter()
        .enumerate()
        .map(|(i, (v, _))| match v {
            Some(v) if *v > 0 => Ok(*v as u64),
            _ if i == 0 => Ok(1),
            _ => Err(unknown(describe(&declared))),
        })
        .collect()
}

/// Node indices in topological order (Kahn's algorithm, ties in file order).
fn topological_order(graph: &GraphProto) -> Result<Vec<usize>, ProfileError> {
    let n = graph.node.len();
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            producer.entry(out.as_str()).or_insert(i);
        }
    }
    let mut pending = vec![0usize; n];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in graph.node.iter().enumerate() {
        let deps: HashSet<usize> = node.input.iter().filter_map(|x| producer.get(x.as_str()).copied()).collect();
        pending[i] = deps.len();
        for d in deps {
            users[d].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| pending[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &u in &users[i] {
            pending[u] -= 1;
            if pending[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
        let node = &graph.node[stuck];
        return Err(ProfileError::Cycle { op: node.op_type.clone(), node: label(node, stuck) });
    }
    Ok(order)
}

/// H of an image input: NCHW [N, C, H, W], or NHWC when the last dim looks like channels; else the last dim.
fn spatial_size(shape: &[u64]) -> u64 {
    match shape {
        [_, h, _, c] if *c <= 4 && *h > 4 => *h,
        [_, _, h, _] => *h,
        _ => shape.last().copied().unwrap_or(0),
    }
}

/// The profile from the totals.
fn finish(t: Totals, input_shape: Vec<u64>, size_bytes: usize) -> ModelProfile {
    let total: u64 = t.kernel_macs.values().fold(0u64, |a, &m| a.saturating_add(m));
    let kernel_mac_share = if total > 0 {
        t.kernel_macs.iter().map(|(k, &m)| (k.clone(), m as f64 / total as f64)).collect()
    } else {
        Vec::new()
    };
    let kernel_mean = if t.conv_macs > 0.0 {
        t.conv_kh_macs / t.conv_macs
    } else if t.convs > 0 {
        t.conv_kh_sum / f64::from(t.convs)
    } else {
        0.0
    };
    // A depthwise-separable block (a depthwise convolution and its pointwise one) is one layer, named by
    // its depthwise kernel, as architecture names and the measured datasets count them.
    let paired = t.depthwise_convs.min(t.pointwise_convs);
    let conv_layers = t.convs - paired;
    let layer_kernel_mean =
        if conv_layers > 0 { (t.conv_kh_sum - f64::from(paired)) / f64::from(conv_layers) } else { 0.0 };
    ModelProfile {
        params: t.params,
        macs: t.macs,
        flops: t.flops,
        size_mb: size_bytes as f64 / 1e6,
        layers: t.layers,
        input_size: spatial_size(&input_shape),
        input_shape,
        depthwise: t.depthwise,
        kernel_mac_share,
        kernel_mean,
        conv_layers,
        layer_kernel_mean,
        kernel_max: t.kernel_max,
        filters_max: t.filters_max,
        op_counts: t.op_counts,
    }
}

#[cfg(test)]
mod tests {
    use super::spatial_size;

    #[test]
    fn spatial_size_of_layouts() {
        assert_eq!(spatial_size(&[1, 3, 224, 200]), 224);
        assert_eq!(spatial_size(&[1, 299, 300, 3]), 299);
        assert_eq!(spatial_size(&[1, 128]), 128);
        assert_eq!(spatial_size(&[]), 0);
    }
}
