//! Ops whose output is a value known before inference: `Shape`, `Size`, `Constant`,
//! `ConstantOfShape` and `Range`. These start the constant-folding chains.

use tract_onnx::pb::AttributeProto;

use crate::constants::{elems, tensor_of, Tensor, Value, MAX_FOLD};
use crate::node::Ctx;
use crate::ProfileError;

/// The largest tensor these ops may describe (elements); beyond it a model is taken as malformed.
const MAX_ELEMS: u64 = 1 << 48;

/// Evaluates a value-producing op.
pub(crate) fn eval(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    match ctx.op() {
        "Shape" => shape(ctx),
        "Size" => {
            let n = ctx.input(0)?.elems();
            Ok(Tensor::with_value(vec![], Some(Value::ints([i64::try_from(n).unwrap_or(i64::MAX)]))))
        }
        "Constant" => constant(ctx),
        "ConstantOfShape" => constant_of_shape(ctx),
        _ => range(ctx),
    }
}

/// Shape, with the optional `start`/`end` attributes (opset 15).
fn shape(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let rank = x.shape.len() as i64;
    let clamp = |v: i64| (if v < 0 { v.saturating_add(rank) } else { v }).clamp(0, rank) as usize;
    let start = clamp(ctx.attr_i("start").unwrap_or(0));
    let end = clamp(ctx.attr_i("end").unwrap_or(rank)).max(start);
    let dims = x.shape[start..end].iter().map(|&d| i64::try_from(d).unwrap_or(i64::MAX));
    Ok(Tensor::with_value(vec![(end - start) as u64], Some(Value::ints(dims))))
}

/// Constant: from `value` (a tensor) or `value_float(s)` / `value_int(s)`. Its output is its own
/// origin, so a weight stored in a Constant node counts as a parameter like an initializer.
fn constant(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let name = ctx.node.output.first().cloned().unwrap_or_default();
    let attr: &AttributeProto = ctx.node.attribute.first().ok_or_else(|| ctx.err("no value attribute"))?;
    let mut t = match attr.name.as_str() {
        "value" => {
            let t = attr.t.as_ref().ok_or_else(|| ctx.err("`value` holds no tensor"))?;
            tensor_of(t, &name).ok_or_else(|| ctx.err("the value has a negative dim"))?
        }
        "value_float" => Tensor::with_value(vec![], Some(Value { data: vec![attr.f.into()], int: false })),
        "value_floats" => Tensor::with_value(
            vec![attr.floats.len() as u64],
            Some(Value { data: attr.floats.iter().map(|&f| f.into()).collect(), int: false }),
        ),
        "value_int" => Tensor::with_value(vec![], Some(Value::ints([attr.i]))),
        "value_ints" => Tensor::with_value(vec![attr.ints.len() as u64], Some(Value::ints(attr.ints.iter().copied()))),
        "value_string" => Tensor::of(vec![]),
        "value_strings" => Tensor::of(vec![attr.strings.len() as u64]),
        other => {
            return Err(ctx.err(format!("unsupported value attribute `{other}` (sparse constants are not modelled)")))
        }
    };
    t.origin = Some(name);
    Ok(t)
}

/// Whether a Constant node holds floating-point data (for the parameter rule).
pub(crate) fn constant_is_float(attrs: &[AttributeProto]) -> bool {
    attrs.first().is_some_and(|a| match a.name.as_str() {
        "value" => a.t.as_ref().is_some_and(|t| crate::constants::is_float_type(t.data_type)),
        name => name.starts_with("value_float"),
    })
}

fn constant_of_shape(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let dims: Vec<u64> = ctx
        .ints(0)?
        .iter()
        .map(|&d| u64::try_from(d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| ctx.err("the shape has a negative dim"))?;
    let n = elems(&dims);
    if n > MAX_ELEMS {
        return Err(ctx.err(format!("shape {dims:?} is absurdly large")));
    }
    let fill = match ctx.attr("value").and_then(|a| a.t.as_ref()) {
        Some(t) => tensor_of(t, "").and_then(|t| t.value).and_then(|v| Some((*v.data.first()?, v.int))),
        None => Some((0.0, false)),
    };
    let value = fill.filter(|_| n <= MAX_FOLD).map(|(v, int)| Value { data: vec![v; n as usize], int });
    Ok(Tensor::with_value(dims, value))
}

/// Range(start, limit, delta): max(ceil((limit − start) / delta), 0) elements.
fn range(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let scalar = |i: usize| -> Result<(f64, bool), ProfileError> {
        let v = ctx.value(i)?;
        Ok((*v.data.first().ok_or_else(|| ctx.err(format!("input #{i} is empty")))?, v.int))
    };
    let ((start, i0), (limit, i1), (delta, i2)) = (scalar(0)?, scalar(1)?, scalar(2)?);
    let n = ((limit - start) / delta).ceil().max(0.0);
    if !n.is_finite() || n > MAX_ELEMS as f64 {
        return Err(ctx.err(format!("range({start}, {limit}, {delta}) is empty-stepped or absurdly long")));
    }
    let n = n as u64;
    let value = (n <= MAX_FOLD)
        .then(|| Value { data: (0..n).map(|k| start + k as f64 * delta).collect(), int: i0 && i1 && i2 });
    Ok(Tensor::with_value(vec![n], value))
}
