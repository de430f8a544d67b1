//! Shape arithmetic shared by the op rules: numpy broadcasting and the output size of a sliding
//! window (convolutions and pooling) under strides, dilations, pads, `auto_pad` and `ceil_mode`.

use crate::node::Ctx;
use crate::ProfileError;

/// Numpy-style broadcast of two shapes; `None` when they are incompatible.
pub(crate) fn broadcast(a: &[u64], b: &[u64]) -> Option<Vec<u64>> {
    let rank = a.len().max(b.len());
    let at = |s: &[u64], i: usize| if i + s.len() < rank { 1 } else { s[i + s.len() - rank] };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Broadcast of any number of shapes, with an error naming them when they are incompatible.
pub(crate) fn broadcast_all(ctx: &Ctx, shapes: &[&[u64]]) -> Result<Vec<u64>, ProfileError> {
    let mut out: Vec<u64> = Vec::new();
    for s in shapes {
        out = broadcast(&out, s).ok_or_else(|| ctx.err(format!("shapes {shapes:?} do not broadcast")))?;
    }
    Ok(out)
}

/// The kernel name of a convolution: its spatial dims joined by "x" ("3x3", "1x7", "5").
pub(crate) fn kernel_name(kernel: &[u64]) -> String {
    kernel.iter().map(u64::to_string).collect::<Vec<_>>().join("x")
}

/// Output spatial dims of a sliding window of size `kernel` over `input` (spatial dims only),
/// reading the node's `strides`, `dilations`, `pads`, `auto_pad` and `ceil_mode` attributes.
pub(crate) fn window_out(ctx: &Ctx, input: &[u64], kernel: &[u64]) -> Result<Vec<u64>, ProfileError> {
    let n = input.len();
    if kernel.len() != n {
        return Err(ctx.err(format!("kernel {kernel:?} does not match the {n} spatial dims of input {input:?}")));
    }
    if kernel.contains(&0) {
        return Err(ctx.err(format!("kernel {kernel:?} has a zero dimension")));
    }
    let strides = ctx.spatial_attr("strides", n, 1)?;
    let dilations = ctx.spatial_attr("dilations", n, 1)?;
    let ceil = ctx.attr_i("ceil_mode").unwrap_or(0) != 0;
    let auto_pad = ctx.attr_s("auto_pad").unwrap_or_default();
    let pads: Vec<i64> = match ctx.attr_ints("pads") {
        None | Some([]) => vec![0; 2 * n],
        Some(p) if p.len() == 2 * n && p.iter().all(|&x| x >= 0) => p.to_vec(),
        Some(p) => return Err(ctx.err(format!("`pads` {p:?} must be {} non-negative values", 2 * n))),
    };
    (0..n)
        .map(|i| {
            let (size, s) = (i128::from(input[i]), i128::from(strides[i]));
            let effective = (i128::from(kernel[i]) - 1).saturating_mul(i128::from(dilations[i])) + 1;
            let out = match auto_pad.as_str() {
                "SAME_UPPER" | "SAME_LOWER" => (size + s - 1) / s,
                "VALID" | "NOTSET" | "" => {
                    let (begin, end) = if auto_pad == "VALID" { (0, 0) } else { (pads[i].into(), pads[n + i].into()) };
                    let span = size + begin + end - effective;
                    if span < 0 {
                        return Err(ctx.err(format!(
                            "kernel {kernel:?} (dilated) is larger than the padded input {input:?} on spatial dim {i}"
                        )));
                    }
                    let mut out = if ceil { (span + s - 1) / s + 1 } else { span / s + 1 };
                    // With ceil_mode the last window must start inside the input or its left padding.
                    if ceil && (out - 1) * s >= size + begin {
                        out -= 1;
                    }
                    out
                }
                other => return Err(ctx.err(format!("unknown auto_pad `{other}`"))),
            };
            u64::try_from(out).map_err(|_| ctx.err(format!("output dim {out} out of range")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast(&[1, 8, 4, 4], &[8, 1, 1]), Some(vec![1, 8, 4, 4]));
        assert_eq!(broadcast(&[3], &[]), Some(vec![3]));
        assert_eq!(broadcast(&[3], &[4]), None);
        assert_eq!(broadcast(&[0, 1], &[1, 5]), Some(vec![0, 5]));
    }

    #[test]
    fn kernel_names() {
        assert_eq!(kernel_name(&[3, 3]), "3x3");
        assert_eq!(kernel_name(&[7]), "7");
    }
}
