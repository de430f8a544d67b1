//! One node under evaluation: its inputs as tracked tensors, attribute access, and the result
//! (output tensors and cost) each op's rule returns.

use tract_onnx::pb::{AttributeProto, NodeProto};

use crate::constants::{Tensor, Value};
use crate::ProfileError;

/// A node with its resolved inputs (`None` for an omitted optional input).
pub(crate) struct Ctx<'a> {
    pub node: &'a NodeProto,
    pub label: &'a str,
    pub inputs: Vec<Option<&'a Tensor>>,
}

/// A compute layer (convolution or fully connected) found while evaluating a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layer {
    /// Kernel name: "3x3", "1x1", "5" (1-D), or "fc" for Gemm/MatMul.
    pub kernel: String,
    /// Kernel height (first spatial dim); 0 for fc.
    pub kernel_h: u64,
    /// Output channels; 0 for fc.
    pub filters: u64,
    /// Whether this is a convolution (not fc).
    pub conv: bool,
    /// Whether this is a depthwise convolution (group == input channels > 1).
    pub depthwise: bool,
}

/// What evaluating a node yields.
#[derive(Debug, Default)]
pub(crate) struct Eval {
    pub outputs: Vec<Tensor>,
    pub macs: u64,
    pub flops: u64,
    pub layer: Option<Layer>,
}

impl Eval {
    /// One output costing `flops`.
    pub fn one(output: Tensor, flops: u64) -> Self {
        Eval { outputs: vec![output], flops, ..Default::default() }
    }
}

impl<'a> Ctx<'a> {
    /// The op type.
    pub fn op(&self) -> &str {
        &self.node.op_type
    }

    /// An error about this node.
    pub fn err(&self, reason: impl Into<String>) -> ProfileError {
        ProfileError::InvalidNode { op: self.node.op_type.clone(), node: self.label.to_string(), reason: reason.into() }
    }

    /// Whether input `i` is present.
    pub fn has(&self, i: usize) -> bool {
        matches!(self.inputs.get(i), Some(Some(_)))
    }

    /// Optional input `i`.
    pub fn opt(&self, i: usize) -> Option<&'a Tensor> {
        self.inputs.get(i).copied().flatten()
    }

    /// Required input `i`.
    pub fn input(&self, i: usize) -> Result<&'a Tensor, ProfileError> {
        self.opt(i).ok_or_else(|| self.err(format!("required input #{i} is missing")))
    }

    /// The shape of required input `i`.
    pub fn shape(&self, i: usize) -> Result<&'a [u64], ProfileError> {
        Ok(&self.input(i)?.shape)
    }

    /// The constant value of required input `i`.
    pub fn value(&self, i: usize) -> Result<&'a Value, ProfileError> {
        let t = self.input(i)?;
        t.value.as_ref().ok_or_else(|| ProfileError::NotConstant {
            op: self.node.op_type.clone(),
            node: self.label.to_string(),
            tensor: self.node.input.get(i).cloned().unwrap_or_default(),
        })
    }

    /// The constant value of required input `i` as integers.
    pub fn ints(&self, i: usize) -> Result<Vec<i64>, ProfileError> {
        Ok(self.value(i)?.as_ints())
    }

    /// Integers from input `i` when present (and not an empty tensor), else from attribute `name`.
    pub fn ints_from(&self, i: usize, name: &str) -> Result<Option<Vec<i64>>, ProfileError> {
        match self.opt(i) {
            Some(t) if t.elems() > 0 => Ok(Some(self.ints(i)?)),
            _ => Ok(self.attr_ints(name).map(<[i64]>::to_vec)),
        }
    }

    /// Attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    /// Integer attribute `name`.
    pub fn attr_i(&self, name: &str) -> Option<i64> {
        self.attr(name).map(|a| a.i)
    }

    /// Integer-list attribute `name`.
    pub fn attr_ints(&self, name: &str) -> Option<&'a [i64]> {
        self.attr(name).map(|a| a.ints.as_slice())
    }

    /// Float-list attribute `name`.
    pub fn attr_floats(&self, name: &str) -> Option<&'a [f32]> {
        self.attr(name).map(|a| a.floats.as_slice())
    }

    /// String attribute `name`.
    pub fn attr_s(&self, name: &str) -> Option<String> {
        self.attr(name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    /// A per-spatial-dim integer attribute (strides, dilations): `n` positive values, default `default`.
    pub fn spatial_attr(&self, name: &str, n: usize, default: u64) -> Result<Vec<u64>, ProfileError> {
        match self.attr_ints(name) {
            None | Some([]) => Ok(vec![default; n]),
            Some(v) if v.len() != n => Err(self.err(format!("`{name}` has {} values for {n} spatial dims", v.len()))),
            Some(v) => v
                .iter()
                .map(|&x| u64::try_from(x).ok().filter(|&x| x > 0))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| self.err(format!("`{name}` must be positive, got {v:?}"))),
        }
    }

    /// Normalizes a possibly negative axis against `rank` (`rank` itself allowed when `inclusive`).
    pub fn axis(&self, axis: i64, rank: usize, inclusive: bool) -> Result<usize, ProfileError> {
        let r = rank as i64 + i64::from(inclusive);
        let a = if axis < 0 { axis.saturating_add(rank as i64) } else { axis };
        if (0..r).contains(&a) {
            Ok(a as usize)
        } else {
            Err(self.err(format!("axis {axis} is out of range for rank {rank}")))
        }
    }
}
