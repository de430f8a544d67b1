//! The Open Inference Protocol v2 wire format: JSON bodies and Triton's binary-data
//! extension (`Inference-Header-Content-Length`, `binary_data_size`, length-prefixed BYTES).

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Header giving the length of the JSON part when binary tensors follow it.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// An inference request (`POST …/infer`).
#[derive(Debug, Deserialize)]
pub struct InferRequest {
    /// Echoed back in the response.
    pub id: Option<String>,
    /// Request parameters (`binary_data_output`).
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// Input tensors.
    pub inputs: Vec<RequestInput>,
    /// Requested outputs (all when absent).
    pub outputs: Option<Vec<RequestOutput>>,
}

/// One input tensor as sent.
#[derive(Debug, Deserialize)]
pub struct RequestInput {
    /// Tensor name.
    pub name: String,
    /// Dimensions.
    pub shape: Vec<i64>,
    /// `FP32` or `BYTES`.
    pub datatype: String,
    /// `binary_data_size` when the data follows the JSON.
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// Values, flat or nested (absent when binary).
    pub data: Option<Value>,
}

/// One requested output.
#[derive(Debug, Deserialize)]
pub struct RequestOutput {
    /// Output name.
    pub name: String,
    /// `binary_data` and `classification`.
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

/// Decoded input values.
#[derive(Debug, PartialEq)]
pub enum InputData {
    /// FP32 values, row-major.
    Fp32(Vec<f32>),
    /// BYTES elements (e.g. encoded images).
    Bytes(Vec<Vec<u8>>),
}

/// An input with its values resolved from JSON or the binary section.
#[derive(Debug)]
pub struct DecodedInput {
    /// Tensor name.
    pub name: String,
    /// Dimensions (all ≥ 0).
    pub shape: Vec<usize>,
    /// Values.
    pub data: InputData,
}

/// Splits a body into its JSON header and binary section.
pub fn split_body<'a>(body: &'a [u8], header_len: Option<&str>) -> ApiResult<(&'a [u8], &'a [u8])> {
    match header_len {
        None => Ok((body, &[])),
        Some(raw) => {
            let n: usize = raw.trim().parse().map_err(|_| {
                ApiError::bad_request("bad_header", format!("Inference-Header-Content-Length {raw:?} is not a number"))
            })?;
            if n > body.len() {
                return Err(ApiError::bad_request(
                    "bad_header",
                    format!("Inference-Header-Content-Length {n} is larger than the body ({} bytes)", body.len()),
                ));
            }
            Ok(body.split_at(n))
        }
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("bad_inference_request", msg)
}

/// Parses the request and resolves every input's values.
pub fn decode_request(json: &[u8], mut binary: &[u8]) -> ApiResult<(InferRequest, Vec<DecodedInput>)> {
    let req: InferRequest =
        serde_json::from_slice(json).map_err(|e| bad(format!("the inference request JSON is invalid: {e}")))?;
    let mut inputs = Vec::with_capacity(req.inputs.len());
    for input in &req.inputs {
        let shape = input
            .shape
            .iter()
            .map(|&d| {
                usize::try_from(d).map_err(|_| {
                    bad(format!("input {:?}: shape {:?} has a negative dimension", input.name, input.shape))
                })
            })
            .collect::<ApiResult<Vec<usize>>>()?;
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("shape too large"))?;
        let binary_size = match input.parameters.get("binary_data_size") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| bad("binary_data_size must be a non-negative integer"))? as usize),
        };
        let raw = match (binary_size, &input.data) {
            (Some(_), Some(_)) => {
                return Err(bad(format!("input {:?} has both data and binary_data_size", input.name)))
            }
            (None, None) => return Err(bad(format!("input {:?} has no data", input.name))),
            (Some(n), None) => {
                if n > binary.len() {
                    return Err(bad(format!(
                        "input {:?}: binary_data_size {n} is past the end of the body",
                        input.name
                    )));
                }
                let (head, rest) = binary.split_at(n);
                binary = rest;
                Some(head)
            }
            (None, Some(_)) => None,
        };
        let data = match (input.datatype.as_str(), raw) {
            ("FP32", Some(bytes)) => {
                if count.checked_mul(4) != Some(bytes.len()) {
                    return Err(bad(format!(
                        "input {:?}: {} binary bytes for {count} FP32 values",
                        input.name,
                        bytes.len()
                    )));
                }
                InputData::Fp32(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
            }
            ("FP32", None) => {
                // `count` comes from the client's shape: reserve no more than a JSON body can hold.
                let mut values = Vec::with_capacity(count.min(json.len()));
                flatten_numbers(input.data.as_ref().expect("checked above"), &mut values, count)
                    .map_err(|m| bad(format!("input {:?}: {m}", input.name)))?;
                InputData::Fp32(values)
            }
            ("BYTES", Some(bytes)) => {
                InputData::Bytes(split_bytes_elements(bytes).map_err(|m| bad(format!("input {:?}: {m}", input.name)))?)
            }
            ("BYTES", None) => {
                let mut values = Vec::new();
                flatten_strings(input.data.as_ref().expect("checked above"), &mut values)
                    .map_err(|m| bad(format!("input {:?}: {m}", input.name)))?;
                InputData::Bytes(values)
            }
            (other, _) => {
                return Err(bad(format!(
                    "input {:?}: datatype {other} is not supported (use FP32 or BYTES)",
                    input.name
                )))
            }
        };
        let len = match &data {
            InputData::Fp32(v) => v.len(),
            InputData::Bytes(v) => v.len(),
        };
        if len != count {
            return Err(bad(format!("input {:?}: shape {:?} needs {count} values, got {len}", input.name, shape)));
        }
        inputs.push(DecodedInput { name: input.name.clone(), shape, data });
    }
    if !binary.is_empty() {
        return Err(bad(format!("{} bytes of binary data are not claimed by any input", binary.len())));
    }
    Ok((req, inputs))
}

fn flatten_numbers(v: &Value, out: &mut Vec<f32>, cap: usize) -> Result<(), String> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| flatten_numbers(i, out, cap)),
        Value::Number(n) => {
            if out.len() >= cap {
                return Err("more values than the shape holds".into());
            }
            out.push(n.as_f64().ok_or("not a number")? as f32);
            Ok(())
        }
        other => Err(format!("FP32 data must be numbers, found {other}")),
    }
}

/// BYTES elements in JSON are strings: base64 when they decode as such (binary content such
/// as images), otherwise the UTF-8 bytes of the string itself.
fn flatten_strings(v: &Value, out: &mut Vec<Vec<u8>>) -> Result<(), String> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| flatten_strings(i, out)),
        Value::String(s) => {
            out.push(crate::input::decode_base64(s).unwrap_or_else(|_| s.as_bytes().to_vec()));
            Ok(())
        }
        other => Err(format!("BYTES data must be strings, found {other}")),
    }
}

/// Splits Triton's BYTES serialisation: each element is a 4-byte little-endian length and
/// that many bytes.
pub fn split_bytes_elements(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 4 {
            return Err("truncated BYTES element length".into());
        }
        let n = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        bytes = &bytes[4..];
        if n > bytes.len() {
            return Err(format!("BYTES element of {n} bytes runs past the end of the data"));
        }
        out.push(bytes[..n].to_vec());
        bytes = &bytes[n..];
    }
    Ok(out)
}

/// Serialises BYTES elements the Triton way.
pub fn join_bytes_elements<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// One output tensor of the response.
#[derive(Debug, Serialize)]
pub struct ResponseOutput {
    /// Output name.
    pub name: String,
    /// `FP32` or `BYTES`.
    pub datatype: &'static str,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// `binary_data_size` when the data follows the JSON.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
    /// Values (absent when binary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// Output values before encoding.
pub enum OutputValues {
    /// FP32 values.
    Fp32(Vec<f32>),
    /// Strings (classification results).
    Strings(Vec<String>),
}

impl ResponseOutput {
    /// Encodes `values` as JSON data or, when `binary`, appends them to `tail`.
    pub fn encode(name: String, shape: Vec<usize>, values: OutputValues, binary: bool, tail: &mut Vec<u8>) -> Self {
        let mut parameters = Map::new();
        let (datatype, data) = match values {
            OutputValues::Fp32(v) if binary => {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                parameters.insert("binary_data_size".into(), bytes.len().into());
                tail.extend_from_slice(&bytes);
                ("FP32", None)
            }
            OutputValues::Fp32(v) => ("FP32", Some(Value::from(v))),
            OutputValues::Strings(s) if binary => {
                let bytes = join_bytes_elements(s.iter().map(|x| x.as_bytes()));
                parameters.insert("binary_data_size".into(), bytes.len().into());
                tail.extend_from_slice(&bytes);
                ("BYTES", None)
            }
            OutputValues::Strings(s) => ("BYTES", Some(Value::from(s))),
        };
        ResponseOutput { name, datatype, shape, parameters, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fp32_nested_and_flat() {
        let body = br#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]}]}"#;
        let (_, inputs) = decode_request(body, &[]).unwrap();
        assert_eq!(inputs[0].data, InputData::Fp32(vec![1.0, 2.0, 3.0, 4.5]));
        let short = br#"{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}"#;
        assert!(decode_request(short, &[]).is_err());
        let long = br#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1,2]}]}"#;
        assert!(decode_request(long, &[]).is_err());
    }

    #[test]
    fn binary_sections_in_order() {
        let json = br#"{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},
            {"name":"b","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":7}}]}"#;
        let mut bin: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        bin.extend(join_bytes_elements([&b"abc"[..]]));
        let (_, inputs) = decode_request(json, &bin).unwrap();
        assert_eq!(inputs[0].data, InputData::Fp32(vec![1.5, -2.0]));
        assert_eq!(inputs[1].data, InputData::Bytes(vec![b"abc".to_vec()]));
        let mut extra = bin.clone();
        extra.push(0);
        assert!(decode_request(json, &extra).is_err());
        assert!(decode_request(json, &bin[..10]).is_err());
    }

    #[test]
    fn rejects_bad_requests() {
        for body in [
            &br#"{"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}]}"#[..],
            br#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[1]}]}"#,
            br#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}"#,
            br#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["a"]}]}"#,
            br#"not json"#,
        ] {
            assert!(decode_request(body, &[]).is_err(), "{}", String::from_utf8_lossy(body));
        }
        assert!(split_body(b"{}", Some("9")).is_err());
        assert!(split_body(b"{}", Some("x")).is_err());
        assert!(split_bytes_elements(&[5, 0, 0, 0, 1]).is_err());
    }
}
