//! The per-op rules: output shapes and cost of each node. This module holds the dispatch and
//! the compute ops (convolutions, Gemm/MatMul, pooling, normalization); element-wise ops live in
//! `elementwise`, data movement and constant folding in `movement`.

use crate::constants::{elems, Tensor};
use crate::node::{Ctx, Eval, Layer};
use crate::shapes::{broadcast, kernel_name, window_out};
use crate::{elementwise, movement, ProfileError};

/// Every op type the profiler infers shapes for; any other op is reported as
/// [`ProfileError::Unsupported`] rather than guessed (not even as an element-wise pass-through).
pub const SUPPORTED_OPS: &[&str] = &[
    // Compute layers.
    "Conv",
    "ConvInteger",
    "QLinearConv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "MatMulInteger",
    "QLinearMatMul",
    // Pooling and normalization.
    "MaxPool",
    "AveragePool",
    "LpPool",
    "QLinearAveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GlobalLpPool",
    "QLinearGlobalAveragePool",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "LpNormalization",
    "MeanVarianceNormalization",
    "LRN",
    "Softmax",
    "LogSoftmax",
    "Hardmax",
    // Element-wise, one input (shape pass-through).
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Elu",
    "Selu",
    "Celu",
    "Gelu",
    "Mish",
    "Softplus",
    "Softsign",
    "ThresholdedRelu",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Neg",
    "Abs",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Erf",
    "Sin",
    "Cos",
    "Not",
    "IsNaN",
    "IsInf",
    "Identity",
    "Dropout",
    "Cast",
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearSigmoid",
    "QLinearLeakyRelu",
    // Element-wise with broadcasting.
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Mod",
    "Max",
    "Min",
    "Sum",
    "Mean",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Where",
    "QLinearAdd",
    "QLinearMul",
    // Reductions.
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceSumSquare",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ArgMax",
    "ArgMin",
    // Data movement and shape computation.
    "Flatten",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "QLinearConcat",
    "Transpose",
    "Pad",
    "Shape",
    "Size",
    "Gather",
    "Constant",
    "ConstantOfShape",
    "Slice",
    "Split",
    "Expand",
    "Tile",
    "Range",
    "Resize",
    "Upsample",
    "DepthToSpace",
    "SpaceToDepth",
];

/// Output shapes and cost of one node.
pub(crate) fn eval(ctx: &Ctx) -> Result<Eval, ProfileError> {
    let op = ctx.op();
    if let Some(eval) = movement::eval(ctx)? {
        return Ok(eval);
    }
    if let Some(eval) = elementwise::eval(ctx)? {
        return Ok(eval);
    }
    match op {
        "Conv" => conv(ctx, 0, 1, Some(2)),
        "ConvInteger" => conv(ctx, 0, 1, None),
        "QLinearConv" => conv(ctx, 0, 3, Some(8)),
        "ConvTranspose" => conv_transpose(ctx),
        "Gemm" => gemm(ctx),
        "MatMul" | "MatMulInteger" => matmul(ctx, 0, 1),
        "QLinearMatMul" => matmul(ctx, 0, 3),
        "MaxPool" | "AveragePool" | "LpPool" | "QLinearAveragePool" => pool(ctx),
        "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" | "QLinearGlobalAveragePool" => global_pool(ctx),
        "BatchNormalization" => {
            let x = ctx.shape(0)?;
            let channels = Tensor::of(vec![x.get(1).copied().unwrap_or(1)]);
            let mut outputs = vec![Tensor::of(x.to_vec())];
            outputs.resize(ctx.node.output.len().max(1), channels);
            Ok(Eval { outputs, flops: 2u64.saturating_mul(elems(x)), ..Default::default() })
        }
        "InstanceNormalization" | "LayerNormalization" | "LpNormalization" | "MeanVarianceNormalization" => {
            let x = ctx.shape(0)?;
            Ok(Eval::one(Tensor::of(x.to_vec()), 5u64.saturating_mul(elems(x))))
        }
        "LRN" => {
            let x = ctx.shape(0)?;
            let size = ctx.attr_i("size").unwrap_or(1).clamp(1, 1 << 20) as u64;
            Ok(Eval::one(Tensor::of(x.to_vec()), size.saturating_mul(elems(x))))
        }
        _ => Err(ProfileError::Unsupported { op: op.to_string(), node: ctx.label.to_string() }),
    }
}

/// Conv, ConvInteger and QLinearConv: input `x_i` [N, C, spatial...], weight `w_i` [M, C/group, kernel...].
/// MACs = output elements × (C/group) × kernel area.
fn conv(ctx: &Ctx, x_i: usize, w_i: usize, bias_i: Option<usize>) -> Result<Eval, ProfileError> {
    let (x, w) = (ctx.shape(x_i)?, ctx.shape(w_i)?);
    if x.len() < 3 || w.len() != x.len() {
        return Err(ctx.err(format!("input {x:?} and weight {w:?} must both be [N, C, spatial...]")));
    }
    let group = u64::try_from(ctx.attr_i("group").unwrap_or(1))
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| ctx.err("`group` must be positive"))?;
    let (c, m) = (x[1], w[0]);
    if w[1].checked_mul(group) != Some(c) || m % group != 0 {
        return Err(ctx.err(format!("weight {w:?} with group {group} does not fit input {x:?} ({c} channels)")));
    }
    let kernel = kernel_shape(ctx, &w[2..])?;
    let mut out = vec![x[0], m];
    out.extend(window_out(ctx, &x[2..], &kernel)?);
    let out_elems = elems(&out);
    let macs = out_elems.saturating_mul(w[1]).saturating_mul(elems(&kernel));
    let bias = bias_i.is_some_and(|i| ctx.has(i));
    let flops = macs.saturating_mul(2).saturating_add(if bias { out_elems } else { 0 });
    let layer = Layer {
        kernel: kernel_name(&kernel),
        kernel_h: kernel[0],
        filters: m,
        conv: true,
        depthwise: group > 1 && group == c,
    };
    Ok(Eval { outputs: vec![Tensor::of(out)], macs, flops, layer: Some(layer) })
}

/// The `kernel_shape` attribute when given (it must match the weight), else the weight's spatial dims.
fn kernel_shape(ctx: &Ctx, weight_spatial: &[u64]) -> Result<Vec<u64>, ProfileError> {
    match ctx.attr_ints("kernel_shape") {
        Some(k) if !k.is_empty() => {
            let k: Option<Vec<u64>> = k.iter().map(|&v| u64::try_from(v).ok()).collect();
            match k {
                Some(k) if k == weight_spatial => Ok(k),
                _ => {
                    Err(ctx.err(format!("`kernel_shape` does not match the weight's spatial dims {weight_spatial:?}")))
                }
            }
        }
        _ => Ok(weight_spatial.to_vec()),
    }
}

/// ConvTranspose: input [N, C, spatial...], weight [C, M/group, kernel...].
/// MACs = input elements × (M/group) × kernel area (every input pixel scatters a kernel).
fn conv_transpose(ctx: &Ctx) -> Result<Eval, ProfileError> {
    let (x, w) = (ctx.shape(0)?, ctx.shape(1)?);
    if x.len() < 3 || w.len() != x.len() || w[0] != x[1] {
        return Err(
            ctx.err(format!("input {x:?} and weight {w:?} must be [N, C, spatial...] and [C, M/group, kernel...]"))
        );
    }
    let n = x.len() - 2;
    let group = u64::try_from(ctx.attr_i("group").unwrap_or(1)).ok().filter(|&g| g > 0 && x[1] % g == 0);
    let group = group.ok_or_else(|| ctx.err("`group` must be positive and divide the input channels"))?;
    let m = w[1].saturating_mul(group);
    let kernel = kernel_shape(ctx, &w[2..])?;
    if kernel.contains(&0) {
        return Err(ctx.err(format!("kernel {kernel:?} has a zero dimension")));
    }
    let strides = ctx.spatial_attr("strides", n, 1)?;
    let dilations = ctx.spatial_attr("dilations", n, 1)?;
    let nonneg = |name: &str, len: usize| -> Result<Vec<i128>, ProfileError> {
        match ctx.attr_ints(name) {
            None | Some([]) => Ok(vec![0; len]),
            Some(v) if v.len() == len && v.iter().all(|&p| p >= 0) => Ok(v.iter().map(|&p| p.into()).collect()),
            Some(v) => Err(ctx.err(format!("`{name}` {v:?} must be {len} non-negative values"))),
        }
    };
    let output_padding = nonneg("output_padding", n)?;
    let auto_pad = ctx.attr_s("auto_pad").unwrap_or_default();
    let mut out = vec![x[0], m];
    match ctx.attr_ints("output_shape").filter(|s| !s.is_empty()) {
        Some(shape) if shape.len() >= n && shape.iter().all(|&d| d >= 0) => {
            out.extend(shape[shape.len() - n..].iter().map(|&d| d as u64))
        }
        Some(shape) => return Err(ctx.err(format!("`output_shape` {shape:?} does not have {n} non-negative dims"))),
        None => {
            let pads = if auto_pad == "VALID" { vec![0; 2 * n] } else { nonneg("pads", 2 * n)? };
            for i in 0..n {
                let (size, s) = (i128::from(x[2 + i]), i128::from(strides[i]));
                let d = match auto_pad.as_str() {
                    "SAME_UPPER" | "SAME_LOWER" => size * s,
                    _ => {
                        let effective = (i128::from(kernel[i]) - 1).saturating_mul(i128::from(dilations[i])) + 1;
                        s * (size - 1) + output_padding[i] + effective - pads[i] - pads[n + i]
                    }
                };
                out.push(u64::try_from(d).map_err(|_| ctx.err(format!("output dim {d} out of range")))?);
            }
        }
    }
    let macs = elems(x).saturating_mul(w[1]).saturating_mul(elems(&kernel));
    let bias = if ctx.has(2) { elems(&out) } else { 0 };
    let layer = Layer { kernel: kernel_name(&kernel), kernel_h: kernel[0], filters: m, conv: true, depthwise: false };
    Ok(Eval {
        outputs: vec![Tensor::of(out)],
        macs,
        flops: macs.saturating_mul(2).saturating_add(bias),
        layer: Some(layer),
    })
}

/// Gemm: A [M, K] (or [K, M] with transA), B [K, N] (or [N, K] with transB), optional C. MACs = M × N × K.
fn gemm(ctx: &Ctx) -> Result<Eval, ProfileError> {
    let (a, b) = (ctx.shape(0)?, ctx.shape(1)?);
    if a.len() != 2 || b.len() != 2 {
        return Err(ctx.err(format!("A {a:?} and B {b:?} must be matrices")));
    }
    let (m, k) = if ctx.attr_i("transA").unwrap_or(0) != 0 { (a[1], a[0]) } else { (a[0], a[1]) };
    let (k2, n) = if ctx.attr_i("transB").unwrap_or(0) != 0 { (b[1], b[0]) } else { (b[0], b[1]) };
    if k != k2 {
        return Err(ctx.err(format!("inner dims differ: A {a:?}, B {b:?}")));
    }
    let out = vec![m, n];
    let macs = m.saturating_mul(n).saturating_mul(k);
    let bias = if ctx.has(2) { m.saturating_mul(n) } else { 0 };
    Ok(Eval {
        outputs: vec![Tensor::of(out)],
        macs,
        flops: macs.saturating_mul(2).saturating_add(bias),
        layer: Some(fc()),
    })
}

/// MatMul, MatMulInteger and QLinearMatMul with numpy semantics (1-D operands, batch broadcasting).
/// MACs = batch × M × N × K.
fn matmul(ctx: &Ctx, a_i: usize, b_i: usize) -> Result<Eval, ProfileError> {
    let (a, b) = (ctx.shape(a_i)?, ctx.shape(b_i)?);
    if a.is_empty() || b.is_empty() {
        return Err(ctx.err("MatMul operands must not be scalars"));
    }
    let a2: Vec<u64> = if a.len() == 1 { vec![1, a[0]] } else { a.to_vec() };
    let b2: Vec<u64> = if b.len() == 1 { vec![b[0], 1] } else { b.to_vec() };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        return Err(ctx.err(format!("inner dims differ: A {a:?}, B {b:?}")));
    }
    let batch = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])
        .ok_or_else(|| ctx.err(format!("batch dims of A {a:?} and B {b:?} do not broadcast")))?;
    let macs = elems(&batch).saturating_mul(m).saturating_mul(n).saturating_mul(k);
    let mut out = batch;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(Eval { outputs: vec![Tensor::of(out)], macs, flops: macs.saturating_mul(2), layer: Some(fc()) })
}

/// The layer record of Gemm/MatMul.
fn fc() -> Layer {
    Layer { kernel: "fc".into(), kernel_h: 0, filters: 0, conv: false, depthwise: false }
}

/// Splits a pooled input into (batch, channels, spatial) honouring `channels_last` (com.microsoft ops).
fn pool_layout<'a>(ctx: &Ctx, x: &'a [u64]) -> Result<(bool, u64, &'a [u64]), ProfileError> {
    if x.len() < 3 {
        return Err(ctx.err(format!("input {x:?} must be [N, C, spatial...]")));
    }
    if ctx.attr_i("channels_last").unwrap_or(0) != 0 {
        Ok((true, x[x.len() - 1], &x[1..x.len() - 1]))
    } else {
        Ok((false, x[1], &x[2..]))
    }
}

/// Rebuilds a pooled shape from its parts in the input's layout.
fn pool_shape(x: &[u64], channels_last: bool, channels: u64, spatial: Vec<u64>) -> Vec<u64> {
    let mut out = vec![x[0]];
    if !channels_last {
        out.push(channels);
    }
    out.extend(spatial);
    if channels_last {
        out.push(channels);
    }
    out
}

/// MaxPool, AveragePool, LpPool, QLinearAveragePool: FLOPs = output elements × kernel area.
fn pool(ctx: &Ctx) -> Result<Eval, ProfileError> {
    let x = ctx.shape(0)?;
    let (channels_last, c, spatial) = pool_layout(ctx, x)?;
    let kernel: Option<Vec<u64>> =
        ctx.attr_ints("kernel_shape").unwrap_or_default().iter().map(|&k| u64::try_from(k).ok()).collect();
    let kernel = kernel.filter(|k| !k.is_empty()).ok_or_else(|| ctx.err("`kernel_shape` is missing or negative"))?;
    let out = pool_shape(x, channels_last, c, window_out(ctx, spatial, &kernel)?);
    let flops = elems(&out).saturating_mul(elems(&kernel));
    // MaxPool's optional second output (indices) has the output's shape.
    let outputs = vec![Tensor::of(out); ctx.node.output.len().max(1)];
    Ok(Eval { outputs, flops, ..Default::default() })
}

/// Global pooling: every spatial dim becomes 1; FLOPs = input elements.
fn global_pool(ctx: &Ctx) -> Result<Eval, ProfileError> {
    let x = ctx.shape(0)?;
    let (channels_last, c, spatial) = pool_layout(ctx, x)?;
    let out = pool_shape(x, channels_last, c, vec![1; spatial.len()]);
    Ok(Eval::one(Tensor::of(out), elems(x)))
}
