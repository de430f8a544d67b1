//! Tensors as the profiler tracks them (a shape, maybe a small constant value, maybe the
//! initializer they come from) and the decoding of small `TensorProto` values for constant folding.

use tract_onnx::pb::tensor_proto::{DataLocation, DataType};
use tract_onnx::pb::TensorProto;

/// The largest tensor (in elements) whose value is folded; shape arithmetic never needs more.
pub(crate) const MAX_FOLD: u64 = 1 << 16;

/// Float initializers up to this many elements are decoded too (Resize scales, Clip bounds).
const MAX_FLOAT_DECODE: u64 = 64;

/// A constant value known at profile time, row-major. Integers are stored exactly up to 2^53,
/// far beyond any dimension; `int` records whether the ONNX type was an integer or bool one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Value {
    pub data: Vec<f64>,
    pub int: bool,
}

impl Value {
    /// An integer value.
    pub fn ints(data: impl IntoIterator<Item = i64>) -> Self {
        Value { data: data.into_iter().map(|v| v as f64).collect(), int: true }
    }

    /// The value as integers (saturating, truncating toward zero).
    pub fn as_ints(&self) -> Vec<i64> {
        self.data.iter().map(|&v| v as i64).collect()
    }
}

/// What the profiler knows about one tensor of the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tensor {
    /// Concrete dimensions (the batch is 1).
    pub shape: Vec<u64>,
    /// The value, when it is a small constant (initializer, `Constant`, or folded).
    pub value: Option<Value>,
    /// The initializer or `Constant` output this tensor is (a view or cast of), for counting parameters.
    pub origin: Option<String>,
}

impl Tensor {
    /// A tensor of this shape with no known value.
    pub fn of(shape: Vec<u64>) -> Self {
        Tensor { shape, value: None, origin: None }
    }

    /// A tensor of this shape with a value, dropped when it does not match the shape or is too big.
    pub fn with_value(shape: Vec<u64>, value: Option<Value>) -> Self {
        let n = elems(&shape);
        let value = value.filter(|v| n <= MAX_FOLD && v.data.len() as u64 == n);
        Tensor { shape, value, origin: None }
    }

    /// Number of elements.
    pub fn elems(&self) -> u64 {
        elems(&self.shape)
    }
}

/// Number of elements of a shape (saturating).
pub(crate) fn elems(shape: &[u64]) -> u64 {
    shape.iter().fold(1u64, |acc, &d| acc.saturating_mul(d))
}

/// The dimensions of a stored tensor; `None` when one is negative.
pub(crate) fn dims_of(t: &TensorProto) -> Option<Vec<u64>> {
    t.dims.iter().map(|&d| u64::try_from(d).ok()).collect()
}

/// Whether an ONNX element type is a floating-point one.
pub(crate) fn is_float_type(data_type: i32) -> bool {
    use DataType::*;
    matches!(
        DataType::try_from(data_type),
        Ok(Float
            | Double
            | Float16
            | Bfloat16
            | Float8e4m3fn
            | Float8e4m3fnuz
            | Float8e5m2
            | Float8e5m2fnuz
            | Float4e2m1)
    )
}

/// Whether an ONNX element type is an integer or bool one.
pub(crate) fn is_int_type(data_type: i32) -> bool {
    use DataType::*;
    matches!(
        DataType::try_from(data_type),
        Ok(Uint8 | Int8 | Uint16 | Int16 | Int32 | Int64 | Bool | Uint32 | Uint64 | Uint4 | Int4)
    )
}

/// A stored tensor as the profiler tracks it: its shape, its value when small, and itself as origin.
/// `None` when its dimensions are negative.
pub(crate) fn tensor_of(t: &TensorProto, origin: &str) -> Option<Tensor> {
    let shape = dims_of(t)?;
    let n = elems(&shape);
    let small = if is_float_type(t.data_type) { n <= MAX_FLOAT_DECODE } else { n <= MAX_FOLD };
    let value = if small { decode(t, n) } else { None };
    let mut tensor = Tensor::with_value(shape, value);
    tensor.origin = Some(origin.to_string());
    Some(tensor)
}

/// Decodes the `n` elements of a stored tensor; `None` for external data, unsupported element
/// types, or data whose length does not match.
fn decode(t: &TensorProto, n: u64) -> Option<Value> {
    if t.data_location == Some(DataLocation::External as i32) || n > MAX_FOLD {
        return None;
    }
    let raw = &t.raw_data;
    let has_raw = !raw.is_empty();
    let ty = DataType::try_from(t.data_type).ok()?;
    let data: Vec<f64> = match ty {
        DataType::Float if has_raw => chunks::<4>(raw, |b| f32::from_le_bytes(b) as f64)?,
        DataType::Float => t.float_data.iter().map(|&v| v as f64).collect(),
        DataType::Double if has_raw => chunks::<8>(raw, f64::from_le_bytes)?,
        DataType::Double => t.double_data.clone(),
        DataType::Int64 if has_raw => chunks::<8>(raw, |b| i64::from_le_bytes(b) as f64)?,
        DataType::Int64 => t.int64_data.iter().map(|&v| v as f64).collect(),
        DataType::Int32 if has_raw => chunks::<4>(raw, |b| i32::from_le_bytes(b) as f64)?,
        DataType::Int16 if has_raw => chunks::<2>(raw, |b| i16::from_le_bytes(b) as f64)?,
        DataType::Uint16 if has_raw => chunks::<2>(raw, |b| u16::from_le_bytes(b) as f64)?,
        DataType::Int8 if has_raw => chunks::<1>(raw, |b| b[0] as i8 as f64)?,
        DataType::Uint8 | DataType::Bool if has_raw => chunks::<1>(raw, |b| b[0] as f64)?,
        DataType::Int32 | DataType::Int16 | DataType::Uint16 | DataType::Int8 | DataType::Uint8 | DataType::Bool => {
            t.int32_data.iter().map(|&v| v as f64).collect()
        }
        DataType::Uint32 if has_raw => chunks::<4>(raw, |b| u32::from_le_bytes(b) as f64)?,
        DataType::Uint64 if has_raw => chunks::<8>(raw, |b| u64::from_le_bytes(b) as f64)?,
        DataType::Uint32 | DataType::Uint64 => t.uint64_data.iter().map(|&v| v as f64).collect(),
        _ => return None,
    };
    (data.len() as u64 == n).then_some(Value { data, int: is_int_type(t.data_type) })
}

/// Little-endian fixed-width elements of raw data; `None` when the length is not a multiple of `W`.
fn chunks<const W: usize>(raw: &[u8], f: impl Fn([u8; W]) -> f64) -> Option<Vec<f64>> {
    if raw.len() % W != 0 {
        return None;
    }
    raw.chunks_exact(W).map(|c| <[u8; W]>::try_from(c).ok().map(&f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_raw_and_typed_data() {
        let t = TensorProto {
            dims: vec![2],
            data_type: DataType::Int64 as i32,
            raw_data: [3i64.to_le_bytes(), (-1i64).to_le_bytes()].concat(),
            ..Default::default()
        };
        let v = tensor_of(&t, "t").unwrap().value.unwrap();
        assert_eq!(v.as_ints(), vec![3, -1]);
        assert!(v.int);
        let t = TensorProto {
            dims: vec![3],
            data_type: DataType::Float as i32,
            float_data: vec![1.0, 2.5, 3.0],
            ..Default::default()
        };
        assert_eq!(tensor_of(&t, "f").unwrap().value.unwrap().data, vec![1.0, 2.5, 3.0]);
    }

    #[test]
    fn mismatched_or_negative_data_is_not_a_value() {
        let t = TensorProto {
            dims: vec![4],
            data_type: DataType::Int64 as i32,
            raw_data: vec![1, 2, 3],
            ..Default::default()
        };
        assert_eq!(tensor_of(&t, "t").unwrap().value, None);
        let t = TensorProto { dims: vec![-4], data_type: DataType::Int64 as i32, ..Default::default() };
        assert!(tensor_of(&t, "t").is_none());
    }
}
