//! Data-movement ops (no FLOPs): reshapes, concatenation, slicing, padding, gathering and resizing.
//! Constant values flow through them, so Shape → Gather → Unsqueeze → Concat → Reshape chains fold.

use crate::constants::{elems, Tensor, Value, MAX_FOLD};
use crate::node::{Ctx, Eval};
use crate::shapes::broadcast;
use crate::{sources, ProfileError};

/// Data-movement ops; `None` for other ops.
pub(crate) fn eval(ctx: &Ctx) -> Result<Option<Eval>, ProfileError> {
    let outputs = match ctx.op() {
        "Flatten" => vec![flatten(ctx)?],
        "Reshape" => vec![reshape(ctx)?],
        "Squeeze" => vec![squeeze(ctx)?],
        "Unsqueeze" => vec![unsqueeze(ctx)?],
        "Concat" => vec![concat(ctx, &(0..ctx.inputs.len()).collect::<Vec<_>>())?],
        // com.microsoft: Y_scale, Y_zero_point, then (X, scale, zero point) per input.
        "QLinearConcat" => vec![concat(ctx, &(2..ctx.inputs.len()).step_by(3).collect::<Vec<_>>())?],
        "Transpose" => vec![transpose(ctx)?],
        "Pad" => vec![pad(ctx)?],
        "Gather" => vec![gather(ctx)?],
        "Slice" => vec![slice(ctx)?],
        "Split" => split(ctx)?,
        "Expand" => vec![expand(ctx)?],
        "Tile" => vec![tile(ctx)?],
        "Resize" | "Upsample" => vec![resize(ctx)?],
        "DepthToSpace" | "SpaceToDepth" => vec![depth_space(ctx)?],
        "Shape" | "Size" | "Constant" | "ConstantOfShape" | "Range" => vec![sources::eval(ctx)?],
        _ => return Ok(None),
    };
    // Resize costs one FLOP per output element (nearest); the others move data only.
    let flops = if matches!(ctx.op(), "Resize" | "Upsample") { outputs[0].elems() } else { 0 };
    Ok(Some(Eval { outputs, flops, ..Default::default() }))
}

/// The same data under a new shape: the value and origin carry over.
fn view(x: &Tensor, shape: Vec<u64>) -> Tensor {
    let mut t = Tensor::with_value(shape, x.value.clone());
    t.origin = x.origin.clone();
    t
}

/// Converts integers that must be non-negative dims.
fn dims(ctx: &Ctx, what: &str, v: &[i64]) -> Result<Vec<u64>, ProfileError> {
    v.iter().map(|&d| u64::try_from(d).map_err(|_| ctx.err(format!("{what} {v:?} has a negative dim")))).collect()
}

fn flatten(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let axis = ctx.axis(ctx.attr_i("axis").unwrap_or(1), x.shape.len(), true)?;
    Ok(view(x, vec![elems(&x.shape[..axis]), elems(&x.shape[axis..])]))
}

/// Reshape to input 1 (or the old `shape` attribute): `0` copies the input dim (unless `allowzero`),
/// `-1` takes what is left.
fn reshape(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let target = ctx.ints_from(1, "shape")?.ok_or_else(|| ctx.err("no target shape"))?;
    let allowzero = ctx.attr_i("allowzero").unwrap_or(0) != 0;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(
                *x.shape.get(i).ok_or_else(|| ctx.err(format!("target {target:?} copies dim {i} of {:?}", x.shape)))?,
            ),
            d if d >= 0 => out.push(d as u64),
            _ => return Err(ctx.err(format!("invalid target shape {target:?}"))),
        }
    }
    let total = x.elems();
    if let Some(i) = infer {
        let rest = elems(&out);
        if rest == 0 || total % rest != 0 {
            return Err(ctx.err(format!("cannot reshape {:?} to {target:?}", x.shape)));
        }
        out[i] = total / rest;
    }
    if elems(&out) != total {
        return Err(ctx.err(format!("cannot reshape {:?} ({total} elements) to {out:?}", x.shape)));
    }
    Ok(view(x, out))
}

fn squeeze(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let rank = x.shape.len();
    let out = match ctx.ints_from(1, "axes")? {
        Some(axes) if !axes.is_empty() => {
            let mut squeezed = vec![false; rank];
            for &a in &axes {
                let a = ctx.axis(a, rank, false)?;
                if x.shape[a] != 1 {
                    return Err(ctx.err(format!("cannot squeeze dim {a} of {:?}", x.shape)));
                }
                squeezed[a] = true;
            }
            (0..rank).filter(|&i| !squeezed[i]).map(|i| x.shape[i]).collect()
        }
        _ => x.shape.iter().copied().filter(|&d| d != 1).collect(),
    };
    Ok(view(x, out))
}

fn unsqueeze(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let axes = ctx.ints_from(1, "axes")?.ok_or_else(|| ctx.err("no axes"))?;
    let rank = x.shape.len().saturating_add(axes.len());
    let axes: Vec<usize> = axes.iter().map(|&a| ctx.axis(a, rank, false)).collect::<Result<_, _>>()?;
    let mut inserted = vec![false; rank];
    for &a in &axes {
        if std::mem::replace(&mut inserted[a], true) {
            return Err(ctx.err(format!("axis {a} repeated in {axes:?}")));
        }
    }
    let mut rest = x.shape.iter();
    let out = inserted
        .iter()
        .map(|&new| if new { Some(1) } else { rest.next().copied() })
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| ctx.err("axes out of range"))?;
    Ok(view(x, out))
}

/// Concatenation of the inputs at `indices` along `axis`, folding constant values.
fn concat(ctx: &Ctx, indices: &[usize]) -> Result<Tensor, ProfileError> {
    let parts: Vec<&Tensor> = indices.iter().map(|&i| ctx.input(i)).collect::<Result<_, _>>()?;
    let first = parts.first().ok_or_else(|| ctx.err("no inputs"))?;
    let rank = first.shape.len();
    let axis = ctx.axis(ctx.attr_i("axis").ok_or_else(|| ctx.err("`axis` is missing"))?, rank, false)?;
    let mut out = first.shape.clone();
    out[axis] = 0;
    for p in &parts {
        let same = p.shape.len() == rank && (0..rank).all(|i| i == axis || p.shape[i] == out[i]);
        if !same {
            return Err(ctx.err(format!("cannot concatenate {:?} with {:?} on axis {axis}", first.shape, p.shape)));
        }
        out[axis] = out[axis].saturating_add(p.shape[axis]);
    }
    let fold = || -> Option<Value> {
        let outer = elems(&out[..axis]) as usize;
        let mut data = Vec::new();
        for o in 0..outer {
            for p in &parts {
                let chunk = elems(&p.shape[axis..]) as usize;
                data.extend_from_slice(p.value.as_ref()?.data.get(o * chunk..(o + 1) * chunk)?);
            }
        }
        Some(Value { data, int: parts.iter().all(|p| p.value.as_ref().is_some_and(|v| v.int)) })
    };
    let value = if elems(&out) <= MAX_FOLD { fold() } else { None };
    Ok(Tensor::with_value(out, value))
}

fn transpose(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let rank = x.shape.len();
    let perm: Vec<i64> = match ctx.attr_ints("perm") {
        Some(p) if !p.is_empty() => p.to_vec(),
        _ => (0..rank as i64).rev().collect(),
    };
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(rank);
    for &p in &perm {
        let p = ctx.axis(p, rank, false)?;
        if std::mem::replace(&mut seen[p], true) {
            return Err(ctx.err(format!("`perm` {perm:?} is not a permutation")));
        }
        out.push(x.shape[p]);
    }
    if out.len() != rank {
        return Err(ctx.err(format!("`perm` {perm:?} does not have {rank} entries")));
    }
    // Values only survive a transpose that does not reorder data (rank ≤ 1).
    let mut t = if rank <= 1 { view(x, out) } else { Tensor::of(out) };
    t.origin = x.origin.clone();
    Ok(t)
}

fn pad(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let rank = x.shape.len();
    let pads = match ctx.ints_from(1, "pads")? {
        Some(p) => p,
        None => ctx.attr_ints("paddings").map(<[i64]>::to_vec).ok_or_else(|| ctx.err("no pads"))?,
    };
    let axes: Vec<usize> = match ctx.opt(3) {
        Some(_) => ctx.ints(3)?.iter().map(|&a| ctx.axis(a, rank, false)).collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(ctx.err(format!("pads {pads:?} do not fit {} axes", axes.len())));
    }
    let mut out = x.shape.clone();
    for (k, &a) in axes.iter().enumerate() {
        let d = i128::from(out[a]) + i128::from(pads[k]) + i128::from(pads[axes.len() + k]);
        out[a] = u64::try_from(d).map_err(|_| ctx.err(format!("pads {pads:?} crop {:?} below zero", x.shape)))?;
    }
    Ok(Tensor::of(out))
}

/// Gather along `axis`; out = data[..axis] + indices + data[axis+1..], folding constant data.
fn gather(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let (data, indices) = (ctx.input(0)?, ctx.input(1)?);
    let axis = ctx.axis(ctx.attr_i("axis").unwrap_or(0), data.shape.len(), false)?;
    let dim = data.shape[axis];
    let mut out = data.shape[..axis].to_vec();
    out.extend(&indices.shape);
    out.extend(&data.shape[axis + 1..]);
    let mut value = None;
    if let (Some(d), Some(ix)) = (&data.value, &indices.value) {
        let positions: Vec<u64> = ix
            .as_ints()
            .iter()
            .map(|&i| u64::try_from(if i < 0 { i.saturating_add(dim as i64) } else { i }).ok().filter(|&i| i < dim))
            .collect::<Option<_>>()
            .ok_or_else(|| ctx.err(format!("indices {:?} out of range for dim {dim}", ix.as_ints())))?;
        if elems(&out) <= MAX_FOLD {
            let inner = elems(&data.shape[axis + 1..]) as usize;
            let mut v = Vec::new();
            for o in 0..elems(&data.shape[..axis]) as usize {
                for &p in &positions {
                    let start = (o * dim as usize + p as usize) * inner;
                    v.extend_from_slice(d.data.get(start..start + inner).unwrap_or_default());
                }
            }
            value = Some(Value { data: v, int: d.int });
        }
    }
    Ok(Tensor::with_value(out, value))
}

/// The first element and length of `start:end:step` over a dim of size `dim` (numpy clamping).
fn slice_dim(start: i64, end: i64, step: i64, dim: u64) -> (i128, u64) {
    let d = i128::from(dim);
    if d == 0 {
        return (0, 0);
    }
    let wrap = |v: i64| if v < 0 { i128::from(v) + d } else { i128::from(v) };
    let (s, e, st) = (wrap(start), wrap(end), i128::from(step));
    let (s, len) = if st > 0 {
        let (s, e) = (s.clamp(0, d), e.clamp(0, d));
        (s, if e > s { (e - s + st - 1) / st } else { 0 })
    } else {
        let (s, e) = (s.clamp(0, d - 1), e.clamp(-1, d - 1));
        (s, if s > e { (s - e - st - 1) / -st } else { 0 })
    };
    (s, len as u64)
}

fn slice(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let rank = x.shape.len();
    let from_inputs = ctx.inputs.len() >= 3;
    let get = |i: usize, name: &str| {
        if from_inputs {
            ctx.ints_from(i, "")
        } else {
            Ok(ctx.attr_ints(name).map(<[i64]>::to_vec))
        }
    };
    let starts = get(1, "starts")?.ok_or_else(|| ctx.err("no starts"))?;
    let ends = get(2, "ends")?.ok_or_else(|| ctx.err("no ends"))?;
    let axes = get(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = if from_inputs { ctx.ints_from(4, "")? } else { None }.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(ctx.err("starts, ends, axes and steps differ in length"));
    }
    let mut out = x.shape.clone();
    let mut first = 0;
    let mut step1 = 1;
    for k in 0..starts.len() {
        let a = ctx.axis(axes[k], rank, false)?;
        if steps[k] == 0 {
            return Err(ctx.err("a step is 0"));
        }
        let (s, len) = slice_dim(starts[k], ends[k], steps[k], x.shape[a]);
        out[a] = len;
        (first, step1) = (s, i128::from(steps[k]));
    }
    // Values are folded for 1-D data (the shape vectors of shape computations).
    let value = x.value.as_ref().filter(|_| rank == 1).and_then(|v| {
        let data = (0..out[0] as i128).map(|j| v.data.get(usize::try_from(first + j * step1).ok()?).copied());
        Some(Value { data: data.collect::<Option<_>>()?, int: v.int })
    });
    Ok(Tensor::with_value(out, value))
}

fn split(ctx: &Ctx) -> Result<Vec<Tensor>, ProfileError> {
    let x = ctx.input(0)?;
    let axis = ctx.axis(ctx.attr_i("axis").unwrap_or(0), x.shape.len(), false)?;
    let dim = x.shape[axis];
    let parts = ctx.node.output.len() as u64;
    let sizes = match ctx.ints_from(1, "split")? {
        Some(s) if !s.is_empty() => dims(ctx, "split", &s)?,
        _ => {
            let n = ctx.attr_i("num_outputs").and_then(|n| u64::try_from(n).ok()).unwrap_or(parts);
            if n != parts || n == 0 {
                return Err(ctx.err(format!("`num_outputs` {n} does not match the {parts} outputs")));
            }
            let chunk = dim.div_ceil(n);
            (0..n).map(|i| chunk.min(dim.saturating_sub(i * chunk))).collect()
        }
    };
    if sizes.iter().fold(0u64, |a, &s| a.saturating_add(s)) != dim || sizes.len() as u64 != parts {
        return Err(ctx.err(format!("split {sizes:?} does not divide dim {dim} into {parts} outputs")));
    }
    let mut offset = 0usize;
    let mut outputs = Vec::new();
    for s in sizes {
        let mut shape = x.shape.clone();
        shape[axis] = s;
        let value = x
            .value
            .as_ref()
            .filter(|_| x.shape.len() == 1)
            .and_then(|v| Some(Value { data: v.data.get(offset..offset + s as usize)?.to_vec(), int: v.int }));
        offset = offset.saturating_add(s as usize);
        outputs.push(Tensor::with_value(shape, value));
    }
    Ok(outputs)
}

fn expand(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let target = dims(ctx, "shape", &ctx.ints(1)?)?;
    let out =
        broadcast(&x.shape, &target).ok_or_else(|| ctx.err(format!("cannot expand {:?} to {target:?}", x.shape)))?;
    let value = x.value.as_ref().filter(|v| v.data.len() == 1 && elems(&out) <= MAX_FOLD);
    let value = value.map(|v| Value { data: vec![v.data[0]; elems(&out) as usize], int: v.int });
    Ok(Tensor::with_value(out, value))
}

fn tile(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.input(0)?;
    let repeats = dims(ctx, "repeats", &ctx.ints(1)?)?;
    if repeats.len() != x.shape.len() {
        return Err(ctx.err(format!("repeats {repeats:?} do not match rank of {:?}", x.shape)));
    }
    Ok(Tensor::of(x.shape.iter().zip(&repeats).map(|(d, r)| d.saturating_mul(*r)).collect()))
}

/// Resize (sizes, else scales: floor(dim × scale)) and the older Upsample.
fn resize(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.shape(0)?;
    let rank = x.len();
    let (scales_i, sizes_i) = if ctx.op() == "Upsample" || ctx.inputs.len() == 2 { (1, usize::MAX) } else { (2, 3) };
    let axes: Vec<usize> = match ctx.attr_ints("axes") {
        Some(a) if !a.is_empty() => a.iter().map(|&a| ctx.axis(a, rank, false)).collect::<Result<_, _>>()?,
        _ => (0..rank).collect(),
    };
    let mut out = x.to_vec();
    if let Some(sizes) = ctx.ints_from(sizes_i, "")?.filter(|s| !s.is_empty()) {
        let sizes = dims(ctx, "sizes", &sizes)?;
        if sizes.len() != axes.len() {
            return Err(ctx.err(format!("sizes {sizes:?} do not fit {} axes", axes.len())));
        }
        let ratios = axes.iter().zip(&sizes).map(|(&a, &s)| s as f64 / x[a].max(1) as f64);
        let policy = ctx.attr_s("keep_aspect_ratio_policy").unwrap_or_default();
        let scale = match policy.as_str() {
            "not_larger" => Some(ratios.fold(f64::INFINITY, f64::min)),
            "not_smaller" => Some(ratios.fold(0.0, f64::max)),
            _ => None,
        };
        for (&a, &s) in axes.iter().zip(&sizes) {
            out[a] = scale.map_or(s, |r| (x[a] as f64 * r).round() as u64);
        }
        return Ok(Tensor::of(out));
    }
    let scales: Vec<f64> = match ctx.opt(scales_i).filter(|t| t.elems() > 0) {
        Some(_) => ctx.value(scales_i)?.data.clone(),
        None => ctx.attr_floats("scales").unwrap_or_default().iter().map(|&s| f64::from(s)).collect(),
    };
    if scales.len() != axes.len() || scales.iter().any(|s| !s.is_finite() || *s <= 0.0) {
        return Err(ctx.err(format!("needs sizes or {} positive scales, got scales {scales:?}", axes.len())));
    }
    for (&a, &s) in axes.iter().zip(&scales) {
        let d = (x[a] as f64 * s).floor();
        if d >= u64::MAX as f64 {
            return Err(ctx.err(format!("scale {s} is too large")));
        }
        out[a] = d as u64;
    }
    Ok(Tensor::of(out))
}

fn depth_space(ctx: &Ctx) -> Result<Tensor, ProfileError> {
    let x = ctx.shape(0)?;
    let b = ctx.attr_i("blocksize").and_then(|b| u64::try_from(b).ok()).filter(|&b| b > 0);
    let b = b.ok_or_else(|| ctx.err("`blocksize` must be positive"))?;
    let bb = b.saturating_mul(b);
    match x {
        [n, c, h, w] if ctx.op() == "DepthToSpace" && c % bb == 0 => {
            Ok(Tensor::of(vec![*n, c / bb, h.saturating_mul(b), w.saturating_mul(b)]))
        }
        [n, c, h, w] if ctx.op() == "SpaceToDepth" && h % b == 0 && w % b == 0 => {
            Ok(Tensor::of(vec![*n, c.saturating_mul(bb), h / b, w / b]))
        }
        _ => Err(ctx.err(format!("input {x:?} does not fit blocksize {b}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::slice_dim;

    #[test]
    fn slices_like_numpy() {
        assert_eq!(slice_dim(0, i64::MAX, 1, 4), (0, 4));
        assert_eq!(slice_dim(-1, i64::MIN, -1, 4), (3, 4));
        assert_eq!(slice_dim(1, 3, 2, 4), (1, 1));
        assert_eq!(slice_dim(5, 9, 1, 4), (4, 0));
        assert_eq!(slice_dim(0, -1, -1, 0), (0, 0));
    }
}
