//! KServe / Triton Open Inference Protocol v2 (REST): health, metadata, readiness and
//! inference with FP32 tensors or BYTES-encoded images, plus Triton's binary-data and
//! classification extensions.

pub mod wire;

use crate::error::Path;
use crate::error::{ApiError, ApiResult};
use crate::input::read_body;
use crate::routes::{op, Endpoint, Op};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use infergate_core::{top_k, ModelSpec};
use infergate_runtime::{decode_image, preprocess, DecodeLimits, Tensor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use wire::{InputData, OutputValues, ResponseOutput};

/// The `/v2` endpoints, for the route table ([`crate::routes`]).
pub fn endpoints() -> Vec<Endpoint> {
    use axum::http::Method as M;
    let infer_op = || Op {
        body: &["application/json", "application/octet-stream"],
        ..op(M::POST, "", "Run the model: FP32 tensors or BYTES images, binary data, classification", 200)
    };
    let named = |id: &'static str, o: Op| Op { id, ..o };
    vec![
        Endpoint {
            path: "/v2",
            handler: get(server_metadata),
            ops: vec![op(M::GET, "serverMetadata", "Server metadata", 200)],
        },
        Endpoint { path: "/v2/health/live", handler: get(live), ops: vec![op(M::GET, "serverLive", "Liveness", 200)] },
        Endpoint {
            path: "/v2/health/ready",
            handler: get(ready),
            ops: vec![op(M::GET, "serverReady", "Readiness (the store answers)", 200)],
        },
        Endpoint {
            path: "/v2/models/{model}",
            handler: get(model_metadata),
            ops: vec![op(M::GET, "modelMetadata", "Model metadata (the active version)", 200)],
        },
        Endpoint {
            path: "/v2/models/{model}/ready",
            handler: get(model_ready),
            ops: vec![op(M::GET, "modelReady", "Whether the active version's file is present", 200)],
        },
        Endpoint { path: "/v2/models/{model}/infer", handler: post(infer), ops: vec![named("modelInfer", infer_op())] },
        Endpoint {
            path: "/v2/models/{model}/versions/{version}",
            handler: get(model_metadata),
            ops: vec![op(M::GET, "modelVersionMetadata", "Metadata of one version", 200)],
        },
        Endpoint {
            path: "/v2/models/{model}/versions/{version}/ready",
            handler: get(model_ready),
            ops: vec![op(M::GET, "modelVersionReady", "Whether one version's file is present", 200)],
        },
        Endpoint {
            path: "/v2/models/{model}/versions/{version}/infer",
            handler: post(infer),
            ops: vec![named("modelVersionInfer", infer_op())],
        },
    ]
}

type Target = Path<HashMap<String, String>>;

async fn resolve(state: &AppState, Path(p): Target) -> ApiResult<Arc<ModelSpec>> {
    let name = p.get("model").map(String::as_str).unwrap_or_default();
    let version = match p.get("version") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            ApiError::bad_request("bad_version", format!("model version must be an integer, got {v:?}"))
        })?),
    };
    state.resolve_model(Some(name), version).await
}

async fn server_metadata() -> Json<Value> {
    Json(json!({
        "name": "infergate",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data", "classification"],
    }))
}

async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

async fn ready(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.store().list_models().await?;
    Ok(Json(json!({ "ready": true })))
}

async fn model_metadata(State(state): State<AppState>, target: Target) -> ApiResult<Json<Value>> {
    let explicit = target.0.contains_key("version");
    let spec = resolve(&state, target).await?;
    let versions: Vec<String> = if explicit {
        vec![spec.version.to_string()]
    } else {
        let all = state.store().list_models().await?;
        all.iter().filter(|m| m.name == spec.name).map(|m| m.version.to_string()).collect()
    };
    let sig = &spec.signature;
    Ok(Json(json!({
        "name": spec.name,
        "versions": versions,
        "platform": "onnx",
        "inputs": [{ "name": sig.input_name, "datatype": "FP32", "shape": sig.input_shape }],
        "outputs": [{ "name": sig.output_name, "datatype": "FP32", "shape": sig.output_shape }],
        "parameters": { "task": spec.task, "active_version": spec.active, "image_input": "send encoded images as a BYTES input" },
    })))
}

/// Ready means the version's artifact is present and loadable (loaded or not).
async fn model_ready(State(state): State<AppState>, target: Target) -> ApiResult<Response> {
    let spec = resolve(&state, target).await?;
    let path = state.artifact_path(&spec);
    let fetched = state.artifact(&spec).await.is_ok();
    let present =
        fetched && tokio::fs::metadata(&path).await.map(|m| m.len() as i64 == spec.size_bytes).unwrap_or(false);
    if present {
        Ok(Json(json!({ "name": spec.name, "version": spec.version.to_string(), "ready": true })).into_response())
    } else {
        Err(ApiError::unavailable(
            "model_not_ready",
            format!("the artifact of {} v{} is missing or changed at {}", spec.name, spec.version, path.display()),
        ))
    }
}

async fn infer(State(state): State<AppState>, target: Target, req: Request) -> ApiResult<Response> {
    let spec = resolve(&state, target).await?;
    let header_len = req.headers().get(wire::HEADER_LENGTH).map(|v| v.to_str().unwrap_or("?").to_string());
    let body = read_body(req, state.config().max_body_bytes).await?;
    let (json_part, binary_part) = wire::split_body(&body, header_len.as_deref())?;
    let (request, mut inputs) = wire::decode_request(json_part, binary_part)?;
    if inputs.len() != 1 {
        return Err(ApiError::bad_request(
            "bad_inference_request",
            format!("this model takes exactly one input, got {}", inputs.len()),
        ));
    }
    let input = inputs.remove(0);
    let wanted = requested_outputs(&spec, &request)?;
    let limits = DecodeLimits { max_pixels: state.config().max_pixels };
    let prep_spec = spec.clone();
    let (run, ()) = state.infer(&spec, move || Ok((tensor_of(&prep_spec, input, limits)?, ()))).await?;
    let mut response = respond(&spec, request.id, wanted, run.output)?;
    let cold = HeaderValue::from_static(if run.load_ms.is_some() { "true" } else { "false" });
    response.headers_mut().insert("x-cold-start", cold);
    response.extensions_mut().insert(crate::metrics::ServedModel(spec.name.clone()));
    Ok(response)
}

/// The input tensor: FP32 tensors as they are; BYTES elements decoded and preprocessed as
/// images (on the model's worker thread).
fn tensor_of(spec: &ModelSpec, input: wire::DecodedInput, limits: DecodeLimits) -> ApiResult<Tensor> {
    let sig = &spec.signature;
    let (shape, data) = match input.data {
        InputData::Fp32(values) => {
            if input.name != sig.input_name {
                return Err(ApiError::bad_request(
                    "unknown_input",
                    format!("unknown input {:?}: this model's input is {:?}", input.name, sig.input_name),
                ));
            }
            (input.shape, values)
        }
        InputData::Bytes(images) => {
            if images.is_empty() {
                return Err(ApiError::bad_request("bad_inference_request", "the BYTES input holds no images"));
            }
            let pre = &spec.preprocess;
            let mut batch = Vec::with_capacity(images.len() * pre.tensor_shape(1).iter().product::<usize>());
            for (i, bytes) in images.iter().enumerate() {
                let in_context = |mut err: ApiError| {
                    err.message = format!("image {i} of input {:?}: {}", input.name, err.message);
                    err
                };
                crate::input::check_format(bytes).map_err(in_context)?;
                let (rgb, _) = decode_image(bytes, limits).map_err(|e| in_context(e.into()))?;
                batch.extend(preprocess(&rgb, pre));
            }
            (pre.tensor_shape(images.len()).to_vec(), batch)
        }
    };
    Ok(Tensor { shape, data })
}

/// What to send back for each requested output: `(binary, classification k)`.
type WantedOutput = (bool, Option<usize>);

/// Checks the requested outputs before any work is done.
fn requested_outputs(spec: &ModelSpec, request: &wire::InferRequest) -> ApiResult<Vec<WantedOutput>> {
    let sig = &spec.signature;
    let all_binary = request.parameters.get("binary_data_output").and_then(Value::as_bool).unwrap_or(false);
    let requested = request.outputs.as_deref().unwrap_or_default();
    if requested.is_empty() {
        return Ok(vec![(all_binary, None)]);
    }
    requested
        .iter()
        .map(|o| {
            if o.name != sig.output_name {
                return Err(ApiError::bad_request(
                    "unknown_output",
                    format!("unknown output {:?}: this model's output is {:?}", o.name, sig.output_name),
                ));
            }
            let binary = o.parameters.get("binary_data").and_then(Value::as_bool).unwrap_or(all_binary);
            let class = match o.parameters.get("classification") {
                None => None,
                Some(v) => match v.as_u64() {
                    Some(k) if k >= 1 => Some(k as usize),
                    _ => {
                        return Err(ApiError::bad_request(
                            "bad_classification",
                            "classification must be a positive integer",
                        ))
                    }
                },
            };
            Ok((binary, class))
        })
        .collect()
}

fn respond(spec: &ModelSpec, id: Option<String>, wanted: Vec<WantedOutput>, output: Tensor) -> ApiResult<Response> {
    let sig = &spec.signature;
    let batch = output.shape.first().copied().unwrap_or(1).max(1);
    let per_item = output.data.len() / batch;
    let mut tail = Vec::new();
    let outputs: Vec<ResponseOutput> = wanted
        .into_iter()
        .map(|(binary, class)| match class {
            None => ResponseOutput::encode(
                sig.output_name.clone(),
                output.shape.clone(),
                OutputValues::Fp32(output.data.clone()),
                binary,
                &mut tail,
            ),
            Some(k) => {
                let k = k.min(per_item);
                let strings = output
                    .data
                    .chunks(per_item.max(1))
                    .flat_map(|row| {
                        top_k(row, k).into_iter().map(move |i| match spec.labels.get(i) {
                            Some(label) => format!("{:.6}:{i}:{label}", row[i]),
                            None => format!("{:.6}:{i}", row[i]),
                        })
                    })
                    .collect();
                ResponseOutput::encode(
                    sig.output_name.clone(),
                    vec![batch, k],
                    OutputValues::Strings(strings),
                    binary,
                    &mut tail,
                )
            }
        })
        .collect();
    let mut body = json!({ "model_name": spec.name, "model_version": spec.version.to_string(), "outputs": outputs });
    if let Some(id) = id {
        body["id"] = Value::from(id);
    }
    let header = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    if tail.is_empty() {
        return Ok((StatusCode::OK, [(CONTENT_TYPE, "application/json")], header).into_response());
    }
    let header_len = HeaderValue::from(header.len());
    let mut bytes = header;
    bytes.extend_from_slice(&tail);
    let mut response = (StatusCode::OK, [(CONTENT_TYPE, "application/octet-stream")], bytes).into_response();
    response.headers_mut().insert(wire::HEADER_LENGTH, header_len);
    Ok(response)
}
