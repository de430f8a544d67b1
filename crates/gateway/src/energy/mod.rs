//! Energy per inference over HTTP, from the devices' predictors in `<data dir>/energy` (see
//! [`infergate_energy::device`]):
//! - `POST /api/predict-energy`: the seed's request and response (`success`, `data{…}`);
//! - `POST /v1/energy/predict`: a registered model (profiled from its file) or raw structure
//!   features, for one device, a list, or every device;
//! - `GET /v1/energy/devices`: what answers for each device.
//!
//! A device with a trained predictor answers from it (`source: "model"`, a 90 % interval);
//! one with only a calibrated prior answers from that (`source: "prior"`, no interval); one
//! with neither is a 404 saying how to make one. Retraining is picked up without a restart
//! ([`models`]).

pub mod models;
pub mod request;

use crate::error::{ApiError, ApiResult};
use crate::input::read_body;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use infergate_core::ModelSpec;
use infergate_energy::{DeviceModel, Features, Prediction};
use infergate_profile::{ModelProfile, ProfileError};
use models::EnergyModels;
use request::{Devices, FieldError, PredictRequest, SeedRequest, Subject};
use serde_json::{json, Value};
use std::sync::Arc;

fn field(e: FieldError) -> ApiError {
    ApiError::invalid_field(e.field, e.message)
}

async fn json_body(state: &AppState, req: Request) -> ApiResult<Value> {
    let body = read_body(req, state.config().max_body_bytes).await?;
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_request("bad_json", format!("the body is not JSON: {e}")))
}

fn energy(state: &AppState) -> ApiResult<&EnergyModels> {
    state.energy().ok_or_else(|| ApiError::unavailable("energy_unavailable", "this server has no energy directory"))
}

fn unknown_device(models: &EnergyModels, device: &str) -> ApiError {
    ApiError::not_found(
        "unknown_device",
        format!(
            "no energy predictor or prior for device {device:?} in {}: train one with `infergate energy train \
             --device {device} --data MEASUREMENTS.csv…` or calibrate a prior with `infergate energy calibrate \
             --device {device} …`; GET /v1/energy/devices lists the devices known",
            models.dir().display()
        ),
    )
}

/// The device's model, or 404.
async fn device_model(models: &EnergyModels, device: &str) -> ApiResult<Arc<DeviceModel>> {
    models.get(device).await?.ok_or_else(|| unknown_device(models, device))
}

/// Predicts; a feature the predictor needs and the request lacks is a 422 naming the request
/// field `field_of` maps it to.
fn predict(
    device: &str,
    model: &DeviceModel,
    f: &Features,
    latency_ms: Option<f64>,
    field_of: impl Fn(&str) -> String,
) -> ApiResult<Prediction> {
    model.predict(f, latency_ms).map_err(|missing| {
        let field = field_of(&missing);
        let what = if missing == "ln_latency_ms" { "the model's measured latency" } else { missing.as_str() };
        ApiError::invalid_field(
            field.clone(),
            format!("the predictor of {device} was trained with {what} and needs it: give {field}"),
        )
    })
}

/// `POST /api/predict-energy`: the seed's request (`device_type`, `params_m`, `gmacs` or
/// `gflops`, `latency_avg_s`, …) and response (`success`, `data{predicted_energy_mwh,
/// confidence_interval_lower, confidence_interval_upper, category, …}`). Errors carry
/// `"success": false` too.
pub async fn seed_handler(State(state): State<AppState>, req: Request) -> Response {
    match seed(&state, req).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response_with(&[("success", Value::Bool(false))]),
    }
}

async fn seed(state: &AppState, req: Request) -> ApiResult<Value> {
    let value = json_body(state, req).await?;
    let req = SeedRequest::parse(&value).map_err(field)?;
    let models = energy(state)?;
    let model = device_model(models, &req.device).await?;
    let p = predict(&req.device, &model, &req.features, req.latency_ms, |name| match name {
        "ln_latency_ms" => "latency_avg_s".into(),
        "ln_macs" => "gmacs".into(),
        "ln_params" => "params_m".into(),
        other => other.into(),
    })?;
    Ok(json!({
        "success": true,
        "data": {
            "predicted_energy_mwh": p.energy_mwh,
            "confidence_interval_lower": p.energy_lower_mwh,
            "confidence_interval_upper": p.energy_upper_mwh,
            "category": p.category,
            "source": p.source,
            "coverage": p.coverage,
            "predicted_latency_ms": p.latency_ms,
            "device_type": req.device,
            "model_name": req.model_name,
        },
    }))
}

/// `POST /v1/energy/predict`: `{"device" | "devices" (or neither: every device), "model"
/// [+ "version", "input_shape"] | "features", "latency_ms"?}`.
pub async fn predict_handler(State(state): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let value = json_body(&state, req).await?;
    let req = PredictRequest::parse(&value).map_err(field)?;
    let models = energy(&state)?;
    let (features, model_json, from_model) = match &req.subject {
        Subject::Features(f) => (*f, Value::Null, false),
        Subject::Model { name, version, input_shape } => {
            let spec = state.resolve_model(Some(name), *version).await?;
            let (f, profile) = model_features(&state, &spec, input_shape.clone()).await?;
            let summary = json!({
                "name": spec.name,
                "version": spec.version,
                "sha256": spec.sha256,
                "profile": {
                    "params": profile.params,
                    "macs": profile.macs,
                    "flops": profile.flops,
                    "size_mb": profile.size_mb,
                    "layers": profile.layers,
                    "conv_layers": profile.conv_layers,
                    "input_shape": profile.input_shape,
                    "input_size": profile.input_size,
                    "depthwise": profile.depthwise,
                    "kernel_mac_share": profile.kernel_mac_share,
                },
            });
            (f, summary, true)
        }
    };
    let field_of = |name: &str| match name {
        "ln_latency_ms" => "latency_ms".to_string(),
        _ if from_model => "model".to_string(),
        "ln_macs" => "features.macs".to_string(),
        "ln_params" => "features.params".to_string(),
        other => format!("features.{other}"),
    };
    let mut answer = match &req.devices {
        Devices::One(device) => {
            let model = device_model(models, device).await?;
            let p = predict(device, &model, &features, req.latency_ms, field_of)?;
            json!({ "device": device, "source": p.source, "prediction": p })
        }
        Devices::Some(_) | Devices::All => {
            let names = match &req.devices {
                Devices::Some(names) => names.clone(),
                _ => models.devices(),
            };
            let mut predictions = Vec::with_capacity(names.len());
            for device in &names {
                let answer = match device_model(models, device).await {
                    Ok(model) => predict(device, &model, &features, req.latency_ms, field_of),
                    Err(e) => Err(e),
                };
                predictions.push(match answer {
                    Ok(p) => json!({ "device": device, "source": p.source, "prediction": p }),
                    Err(e) => json!({ "device": device, "error": e.message, "code": e.code, "field": e.field }),
                });
            }
            json!({ "predictions": predictions })
        }
    };
    answer["features"] = serde_json::to_value(features).unwrap_or(Value::Null);
    if !model_json.is_null() {
        answer["model"] = model_json;
    }
    Ok(Json(answer))
}

/// A registered model's structure, from its profiled file (cached per file and input shape).
pub(crate) async fn model_features(
    state: &AppState,
    spec: &ModelSpec,
    input_shape: Option<Vec<u64>>,
) -> ApiResult<(Features, Arc<ModelProfile>)> {
    let profile = energy(state)?.profile(&state.artifact(spec).await?, input_shape).await.map_err(profile_error)?;
    let f = Features::from_profile(&profile);
    f.validate().map_err(|(feature, message)| {
        ApiError::invalid_field(
            "model",
            format!("model {:?} v{} cannot be predicted for: its {feature} {message}", spec.name, spec.version),
        )
    })?;
    Ok((f, profile))
}

/// What `POST /v1/energy/predict` answers for a registered model on `device` (structure only):
/// the controller checks deployments' budgets and plans placements with exactly this.
pub(crate) async fn predict_model_on(state: &AppState, spec: &ModelSpec, device: &str) -> ApiResult<Prediction> {
    let (f, _) = model_features(state, spec, None).await?;
    let model = device_model(energy(state)?, device).await?;
    predict(device, &model, &f, None, |_| "model".to_string())
}

fn profile_error(e: ProfileError) -> ApiError {
    match e {
        ProfileError::Io { .. } => ApiError::unavailable("model_file_unavailable", e.to_string()),
        ProfileError::UnknownInputDims { .. } | ProfileError::BadInputShape { .. } => {
            ApiError::invalid_field("input_shape", e.to_string())
        }
        other => ApiError::invalid_field("model", format!("the model cannot be profiled: {other}")),
    }
}

/// `GET /v1/energy/devices`: each device with a predictor or a prior, what answers for it
/// (`kind`: `model` or `prior`), its mode, features, rows, when it was trained and its
/// category thresholds; a file that does not load is listed with its `error`.
pub async fn devices_handler(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let models = energy(&state)?;
    let mut devices = Vec::new();
    for device in models.devices() {
        devices.push(match models.get(&device).await {
            Ok(Some(model)) => describe(&device, &model),
            Ok(None) => continue, // removed meanwhile
            Err(e) => json!({ "device": device, "error": e.message, "code": e.code }),
        });
    }
    Ok(Json(json!({ "devices": devices })))
}

fn describe(device: &str, model: &DeviceModel) -> Value {
    match model {
        DeviceModel::Trained(p) => json!({
            "device": device,
            "kind": model.kind(),
            "mode": p.mode,
            "features": p.features,
            "rows": p.rows,
            "trained_at": p.trained_at,
            "thresholds": p.thresholds,
            "interval_coverage": infergate_energy::logmodel::COVERAGE,
            "prior": p.prior,
        }),
        DeviceModel::Prior(p) => json!({
            "device": device,
            "kind": model.kind(),
            "mode": "prior",
            "features": ["ln_macs"],
            "rows": p.prior.measurements,
            "trained_at": p.calibrated_at,
            "thresholds": p.thresholds,
            "base": p.base,
            "prior": p.prior,
        }),
    }
}
