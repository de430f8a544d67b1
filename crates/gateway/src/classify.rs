//! `POST /v1/classify`: cache lookup → decode → preprocess → infer → post-process → store.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::input::image_from_request;
use crate::state::AppState;
use axum::extract::{Query, Request, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use infergate_core::{
    classify_logits, ClassifyResponse, GroupScores, ModelRef, ModelSpec, PreprocessSpec, ScoredClass, Timings,
};
use infergate_runtime::{decode_image, preprocess, DecodeLimits, ImageFormatKind, Tensor};
use infergate_store::{InferenceRecord, StoredImage};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The handler: parses the request, runs [`classify_image`], answers JSON.
pub async fn classify_handler(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let Query(params) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let request_id = req
        .extensions()
        .get::<crate::RequestIdentity>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    // The calling key when there is one; the client's word for itself only when auth is off.
    let client_id = match caller.key_id() {
        Some(id) => Some(id.to_string()),
        None => req.headers().get("x-client-id").and_then(|v| v.to_str().ok()).map(str::to_string),
    };
    let asked_top_k = params.get("top_k").map(String::as_str).filter(|s| !s.is_empty());
    let mut top_k = parse_top_k(asked_top_k, state.config().default_top_k)?;
    let spec = state.resolve_model(params.get("model").map(String::as_str), None).await?;
    let classes = spec.num_classes();
    if classes > 0 && top_k > classes {
        if asked_top_k.is_some() {
            return Err(ApiError::bad_request("bad_top_k", format!("top_k must be at most {classes} for this model")));
        }
        // The default never asks for more classes than the model has (a two-class head).
        top_k = classes;
    }
    let (image, format) = image_from_request(req, state.config().max_body_bytes).await?;
    let input = ClassifyInput { image, format, top_k, request_id, client_id, started };
    let answer = classify_image(&state, &spec, input).await?;
    let cold = HeaderValue::from_static(if answer.cold_start { "true" } else { "false" });
    let served = crate::metrics::ServedModel(answer.model.name.clone());
    let mut response = Json(answer).into_response();
    response.headers_mut().insert("x-cold-start", cold);
    response.extensions_mut().insert(served);
    Ok(response)
}

/// `top_k`: a positive integer, default `default`.
pub fn parse_top_k(raw: Option<&str>, default: usize) -> ApiResult<usize> {
    match raw {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(k) if k >= 1 => Ok(k),
            _ => Err(ApiError::bad_request("bad_top_k", format!("top_k must be a positive integer, got {s:?}"))),
        },
    }
}

/// One image to classify, with what the request said about it.
pub struct ClassifyInput {
    /// The encoded image.
    pub image: Bytes,
    /// Its format (already sniffed).
    pub format: ImageFormatKind,
    /// How many classes to list.
    pub top_k: usize,
    /// The request's id (becomes the history record's id).
    pub request_id: String,
    /// Who asked, if known.
    pub client_id: Option<String>,
    /// When the request arrived.
    pub started: Instant,
}

/// Classifies the image with `spec` (from the cache when these bytes were seen before with
/// this model version), stores the record, and returns the answer.
pub async fn classify_image(
    state: &AppState,
    spec: &Arc<ModelSpec>,
    input: ClassifyInput,
) -> ApiResult<ClassifyResponse> {
    let ClassifyInput { image, format, top_k, request_id, client_id, started } = input;
    let sha256 = hex::encode(Sha256::digest(&image));
    let store = state.store();
    let mut timings = Timings::default();
    let hit = store.cached_output(&sha256, &spec.name, spec.version).await?;
    state.metrics().cache_lookup(spec, hit.is_some());
    // Whether the image object was there before this request (a cache hit, or the same bytes
    // stored earlier): then it must be confirmed once the row is in (see below).
    let mut reused_object = true;
    let (logits, cached, ran) = match hit {
        Some(hit) => (hit.logits, true, None),
        None => {
            let limits = DecodeLimits { max_pixels: state.config().max_pixels };
            let pre = spec.preprocess.clone();
            let store_image = image_writer(store, &sha256);
            let bytes = image.clone();
            let (run, (t, image_stored)) =
                state.infer(spec, move || prepare(&bytes, limits, &pre, store_image)).await?;
            timings = t;
            timings.queue = run.queued.as_secs_f64() * 1e3;
            timings.inference = run.compute.as_secs_f64() * 1e3;
            // The image was being written while the model ran; the row waits for it.
            let created =
                image_stored.await.map_err(|e| ApiError::internal(format!("image store task failed: {e}")))??;
            reused_object = !created;
            (run.output.data, false, Some((run.load_ms, run.batch_size)))
        }
    };
    let result = classify_logits(&logits, spec.task, top_k, |i| spec.label(i));
    timings.total = ms(started);
    let cost_usd = state.pricing().cost_usd(timings.total);
    let answer = ClassifyResponse {
        request_id,
        model: ModelRef { name: spec.name.clone(), version: spec.version },
        label: result.label,
        confidence: result.confidence,
        group_scores: result.group_scores.map(|(cat, dog)| GroupScores { cat, dog }),
        in_domain: result.in_domain,
        top_k: result
            .top_k
            .iter()
            .map(|&(index, score)| ScoredClass { index, label: spec.label(index), score })
            .collect(),
        cached,
        cold_start: ran.is_some_and(|(load_ms, _)| load_ms.is_some()),
        load_ms: ran.and_then(|(load_ms, _)| load_ms),
        batch_size: ran.map(|(_, size)| size),
        timings_ms: timings,
        cost_usd,
    };
    let record = InferenceRecord {
        id: answer.request_id.clone(),
        created_at: infergate_store::now_rfc3339(),
        model: answer.model.clone(),
        label: answer.label.clone(),
        confidence: answer.confidence,
        in_domain: answer.in_domain,
        cached,
        timings_ms: answer.timings_ms,
        image: StoredImage {
            object_key: infergate_store::Store::image_key(&sha256),
            sha256,
            content_type: format.mime().to_string(),
            size_bytes: image.len() as i64,
        },
        client_id,
        answer: answer.clone(),
    };
    // A cached answer's image is already stored (its output was cached with it).
    store.insert_inference(&record, (!cached).then_some(logits.as_slice())).await?;
    if reused_object {
        // A cleanup that found no row for this image (history deletion, `store check
        // --repair`) may have deleted it after this request saw it: with the row in, no
        // cleanup can delete it any more, so store it again if it is gone.
        let key = &record.image.object_key;
        if store.objects().restore_if_missing(key, image).await? {
            tracing::warn!(key = %key, "the image was deleted by a concurrent cleanup while its row was written; stored again");
        }
    }
    Ok(answer)
}

/// A pending write of the image to the object store; resolves to whether it created the
/// object (false: the same bytes were there already).
type ImageWrite = tokio::task::JoinHandle<Result<bool, infergate_store::StoreError>>;

/// Starts writing the image under its content address; called once the image has decoded,
/// so bad input is never stored.
fn image_writer(store: &infergate_store::Store, sha256: &str) -> impl FnOnce(Bytes) -> ImageWrite + Send + 'static {
    let objects = store.objects().clone();
    let key = infergate_store::Store::image_key(sha256);
    let runtime = tokio::runtime::Handle::current();
    move |bytes| runtime.spawn(async move { objects.put_if_absent(&key, bytes).await })
}

/// Decodes and preprocesses one image (on the model's worker thread). Once the image has
/// decoded, `store_image` starts storing it, concurrently with the inference. Returns the
/// input tensor, the decode/preprocess timings and the pending image write.
fn prepare(
    bytes: &Bytes,
    limits: DecodeLimits,
    pre: &PreprocessSpec,
    store_image: impl FnOnce(Bytes) -> ImageWrite,
) -> ApiResult<(Tensor, (Timings, ImageWrite))> {
    let t = Instant::now();
    let (rgb, _) = decode_image(bytes, limits)?;
    let decode = ms(t);
    let image_stored = store_image(bytes.clone());
    let t = Instant::now();
    let data = preprocess(&rgb, pre);
    drop(rgb);
    let timings = Timings { decode, preprocess: ms(t), ..Timings::default() };
    Ok((Tensor { shape: pre.tensor_shape(1).to_vec(), data }, (timings, image_stored)))
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}
