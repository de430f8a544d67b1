//! Element-wise ops (unary pass-through and broadcasting n-ary), Softmax and reductions, with
//! constant folding of the integer arithmetic that shape computations use.

use crate::constants::{elems, is_float_type, is_int_type, Tensor, Value, MAX_FOLD};
use crate::node::{Ctx, Eval};
use crate::shapes::broadcast_all;
use crate::ProfileError;

/// FLOPs per element of the one-input ops whose output has their input's shape; `None` for other ops.
fn unary_cost(op: &str) -> Option<u64> {
    Some(match op {
        "Identity" | "Dropout" | "Cast" => 0,
        "Relu" | "LeakyRelu" | "Clip" | "Sigmoid" | "HardSigmoid" | "HardSwish" | "Tanh" | "Elu" | "Selu" | "Celu"
        | "Gelu" | "Mish" | "Softplus" | "Softsign" | "ThresholdedRelu" | "Exp" | "Log" | "Sqrt" | "Reciprocal"
        | "Neg" | "Abs" | "Floor" | "Ceil" | "Round" | "Sign" | "Erf" | "Sin" | "Cos" | "Not" | "IsNaN" | "IsInf"
        | "QuantizeLinear" | "DequantizeLinear" | "QLinearSigmoid" | "QLinearLeakyRelu" => 1,
        "Softmax" | "LogSoftmax" | "Hardmax" => 3,
        _ => return None,
    })
}

/// Whether an op is a broadcasting element-wise op over all its inputs (one FLOP per output element per
/// input after the first).
fn is_broadcasting(op: &str) -> bool {
    matches!(
        op,
        "Add"
            | "Sub"
            | "Mul"
            | "Div"
            | "Pow"
            | "Mod"
            | "Max"
            | "Min"
            | "Sum"
            | "Mean"
            | "Equal"
            | "Less"
            | "Greater"
            | "LessOrEqual"
            | "GreaterOrEqual"
            | "And"
            | "Or"
            | "Xor"
            | "PRelu"
            | "Where"
    )
}

/// Element-wise, Softmax and reduction ops; `None` for other ops.
pub(crate) fn eval(ctx: &Ctx) -> Result<Option<Eval>, ProfileError> {
    let op = ctx.op();
    if let Some(cost) = unary_cost(op) {
        return unary(ctx, cost).map(Some);
    }
    if is_broadcasting(op) {
        return broadcasting(ctx).map(Some);
    }
    match op {
        // com.microsoft quantized binary ops: A at 0 and B at 3, the rest scales and zero points.
        "QLinearAdd" | "QLinearMul" => {
            let out = broadcast_all(ctx, &[ctx.shape(0)?, ctx.shape(3)?])?;
            let flops = elems(&out);
            Ok(Some(Eval::one(Tensor::of(out), flops)))
        }
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2"
        | "ReduceSumSquare" | "ReduceLogSum" | "ReduceLogSumExp" | "ArgMax" | "ArgMin" => reduce(ctx).map(Some),
        _ => Ok(None),
    }
}

/// One-input ops that keep their input's shape; the value is folded for the integer-safe ones, and
/// the origin (for parameter counting) passes through views, casts and (de)quantization.
fn unary(ctx: &Ctx, cost: u64) -> Result<Eval, ProfileError> {
    let x = ctx.input(0)?;
    let op = ctx.op();
    if op == "Softmax" || op == "LogSoftmax" || op == "Hardmax" {
        if let Some(axis) = ctx.attr_i("axis") {
            ctx.axis(axis, x.shape.len().max(1), false)?;
        }
    }
    let value = x.value.as_ref().and_then(|v| fold_unary(ctx, v));
    let mut y = Tensor::with_value(x.shape.clone(), value);
    if matches!(op, "Identity" | "Dropout" | "Cast" | "QuantizeLinear" | "DequantizeLinear") {
        y.origin = x.origin.clone();
    }
    let mut outputs = vec![y];
    if op == "Dropout" && ctx.node.output.len() > 1 {
        outputs.push(Tensor::of(x.shape.clone()));
    }
    Ok(Eval { outputs, flops: cost.saturating_mul(x.elems()), ..Default::default() })
}

/// Folds the unary ops that shape computations use.
fn fold_unary(ctx: &Ctx, v: &Value) -> Option<Value> {
    let map = |f: fn(f64) -> f64| Value { data: v.data.iter().map(|&x| f(x)).collect(), int: v.int };
    Some(match ctx.op() {
        "Identity" | "Dropout" => v.clone(),
        "Neg" => map(|x| -x),
        "Abs" => map(f64::abs),
        "Floor" => map(f64::floor),
        "Ceil" => map(f64::ceil),
        "Round" => map(f64::round_ties_even),
        "Relu" => map(|x| x.max(0.0)),
        "Cast" => {
            let to = ctx.attr_i("to").and_then(|t| i32::try_from(t).ok())?;
            if to == 9 {
                Value { data: v.data.iter().map(|&x| f64::from(u8::from(x != 0.0))).collect(), int: true }
            } else if is_int_type(to) {
                Value { data: v.data.iter().map(|&x| x.trunc()).collect(), int: true }
            } else if is_float_type(to) {
                Value { data: v.data.clone(), int: false }
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

/// Broadcasting ops: FLOPs = output elements × (inputs − 1); values folded for two-input arithmetic,
/// comparisons and `Where`.
fn broadcasting(ctx: &Ctx) -> Result<Eval, ProfileError> {
    let inputs: Vec<&Tensor> = (0..ctx.inputs.len()).map(|i| ctx.input(i)).collect::<Result<_, _>>()?;
    if inputs.is_empty() {
        return Err(ctx.err("no inputs"));
    }
    let shapes: Vec<&[u64]> = inputs.iter().map(|t| t.shape.as_slice()).collect();
    let out = broadcast_all(ctx, &shapes)?;
    let value = fold_broadcasting(ctx.op(), &inputs, &out);
    let flops = elems(&out).saturating_mul(inputs.len().saturating_sub(1).max(1) as u64);
    Ok(Eval::one(Tensor::with_value(out, value), flops))
}

/// For each element of `out`, the index of the corresponding element of a tensor of `shape` broadcast to it.
fn broadcast_indices(shape: &[u64], out: &[u64]) -> Vec<usize> {
    let offset = out.len() - shape.len();
    let mut strides = vec![0usize; out.len()];
    let mut stride = 1usize;
    for i in (0..shape.len()).rev() {
        strides[offset + i] = if shape[i] == 1 { 0 } else { stride };
        stride = stride.saturating_mul(shape[i] as usize);
    }
    let n = elems(out) as usize;
    let mut idx = vec![0usize; out.len()];
    let mut result = Vec::with_capacity(n);
    for _ in 0..n {
        result.push(idx.iter().zip(&strides).map(|(i, s)| i * s).sum());
        for d in (0..out.len()).rev() {
            idx[d] += 1;
            if (idx[d] as u64) < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    result
}

/// Folds a broadcasting op over constant inputs.
fn fold_broadcasting(op: &str, inputs: &[&Tensor], out: &[u64]) -> Option<Value> {
    if elems(out) > MAX_FOLD {
        return None;
    }
    let values: Vec<&Value> = inputs.iter().map(|t| t.value.as_ref()).collect::<Option<_>>()?;
    let index: Vec<Vec<usize>> = inputs.iter().map(|t| broadcast_indices(&t.shape, out)).collect();
    let at = |k: usize, j: usize| values[k].data.get(index[k][j]).copied();
    let n = elems(out) as usize;
    if op == "Where" && values.len() == 3 {
        let data = (0..n).map(|j| if at(0, j)? != 0.0 { at(1, j) } else { at(2, j) }).collect::<Option<_>>()?;
        return Some(Value { data, int: values[1].int && values[2].int });
    }
    if values.len() != 2 {
        return None;
    }
    let int = values[0].int && values[1].int;
    let f: fn(f64, f64, bool) -> f64 = match op {
        "Add" | "Sum" => |a, b, _| a + b,
        "Sub" => |a, b, _| a - b,
        "Mul" => |a, b, _| a * b,
        "Div" => |a, b, int| if int { (a / b).trunc() } else { a / b },
        "Max" => |a, b, _| a.max(b),
        "Min" => |a, b, _| a.min(b),
        "Equal" => |a, b, _| f64::from(u8::from(a == b)),
        "Less" => |a, b, _| f64::from(u8::from(a < b)),
        "Greater" => |a, b, _| f64::from(u8::from(a > b)),
        _ => return None,
    };
    let data: Vec<f64> = (0..n).map(|j| Some(f(at(0, j)?, at(1, j)?, int))).collect::<Option<_>>()?;
    if data.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let int = int || matches!(op, "Equal" | "Less" | "Greater");
    Some(Value { data, int })
}

/// Reductions: FLOPs = input elements; the axes come from the `axes` attribute or input 1
/// (`axis` for ArgMax/ArgMin); a full reduction of a constant is folded.
fn reduce(ctx: &Ctx) -> Result<Eval, ProfileError> {
    let x = ctx.input(0)?;
    let rank = x.shape.len();
    let keepdims = ctx.attr_i("keepdims").unwrap_or(1) != 0;
    let axes: Vec<i64> = if ctx.op().starts_with("Arg") {
        vec![ctx.attr_i("axis").unwrap_or(0)]
    } else {
        match ctx.ints_from(1, "axes")? {
            Some(a) if !a.is_empty() => a,
            _ if ctx.attr_i("noop_with_empty_axes").unwrap_or(0) != 0 => vec![],
            _ => (0..rank as i64).collect(),
        }
    };
    let mut reduced = vec![false; rank];
    for &a in &axes {
        reduced[ctx.axis(a, rank, false)?] = true;
    }
    let mut out = Vec::with_capacity(rank);
    for (&d, &r) in x.shape.iter().zip(&reduced) {
        match (r, keepdims) {
            (false, _) => out.push(d),
            (true, true) => out.push(1),
            (true, false) => {}
        }
    }
    let full = reduced.iter().all(|&r| r);
    let value = x.value.as_ref().filter(|v| full && !v.data.is_empty()).and_then(|v| {
        let d = &v.data;
        let r = match ctx.op() {
            "ReduceSum" => d.iter().sum(),
            "ReduceProd" => d.iter().product(),
            "ReduceMax" => d.iter().copied().fold(f64::MIN, f64::max),
            "ReduceMin" => d.iter().copied().fold(f64::MAX, f64::min),
            _ => return None,
        };
        Some(Value { data: vec![r], int: v.int })
    });
    Ok(Eval::one(Tensor::with_value(out, value), x.elems()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_index_maps() {
        assert_eq!(broadcast_indices(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(broadcast_indices(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(broadcast_indices(&[], &[2]), vec![0, 0]);
    }

    #[test]
    fn folds_integer_division_and_where() {
        let a = Tensor::with_value(vec![2], Some(Value::ints([7, -7])));
        let b = Tensor::with_value(vec![], Some(Value::ints([2])));
        assert_eq!(fold_broadcasting("Div", &[&a, &b], &[2]).unwrap().as_ints(), vec![3, -3]);
        let c = Tensor::with_value(vec![2], Some(Value::ints([1, 0])));
        assert_eq!(fold_broadcasting("Where", &[&c, &a, &b], &[2]).unwrap().as_ints(), vec![7, 2]);
    }
}
