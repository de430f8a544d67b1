//! The two request shapes of the energy endpoints, read field by field so that every mistake
//! is a 422 naming its field: the seed's `POST /api/predict-energy` body and the
//! `POST /v1/energy/predict` body.

use infergate_energy::device::valid_device;
use infergate_energy::Features;
use serde_json::{Map, Value};

/// A request field that is missing, of the wrong type or out of range.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field, as the request names it (`params_m`, `features.macs`).
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_string(), message: message.into() }
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, FieldError> {
    v.as_object().ok_or_else(|| err(field, format!("{field} must be a JSON object")))
}

/// A number that must be finite and positive: `None` when absent (or `null`) and optional.
/// JSON has no NaN or infinity; a string such as `"NaN"` is refused like any other non-number.
fn positive(obj: &Map<String, Value>, key: &str, field: &str, required: bool) -> Result<Option<f64>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) if !required => Ok(None),
        None => Err(err(field, format!("{field} is required (a positive number)"))),
        Some(Value::Null) => Err(err(field, format!("{field} is required (a positive number, not null)"))),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
            _ => Err(err(field, format!("{field} must be a positive number, not {v}"))),
        },
    }
}

fn string<'a>(obj: &'a Map<String, Value>, key: &str, required: bool) -> Result<Option<&'a str>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        None | Some(Value::Null) => Err(err(key, format!("{key} is required (a string)"))),
        Some(v) => Err(err(key, format!("{key} must be a non-empty string, not {v}"))),
    }
}

fn device_name(obj: &Map<String, Value>, key: &str) -> Result<String, FieldError> {
    let name = string(obj, key, true)?.unwrap_or_default();
    if valid_device(name) {
        Ok(name.to_string())
    } else {
        Err(err(key, format!("{key} {name:?} is not a device name (letters, digits, `_`, `-`, `.`)")))
    }
}

/// The optional structure features beyond MACs and parameters, read from `obj` with field
/// names prefixed by `prefix` (`""` or `"features."`). `depthwise` takes `true`/`false` or 1/0.
fn structure(obj: &Map<String, Value>, prefix: &str, f: &mut Features) -> Result<(), FieldError> {
    let name = |k: &str| format!("{prefix}{k}");
    f.layers = positive(obj, "layers", &name("layers"), false)?;
    f.input_size = positive(obj, "input_size", &name("input_size"), false)?;
    f.filters_max = positive(obj, "filters_max", &name("filters_max"), false)?;
    f.kernel_mean = positive(obj, "kernel_mean", &name("kernel_mean"), false)?;
    f.kernel_max = positive(obj, "kernel_max", &name("kernel_max"), false)?;
    f.depthwise = match obj.get("depthwise") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(if *b { 1.0 } else { 0.0 }),
        Some(v) if v.as_f64() == Some(0.0) || v.as_f64() == Some(1.0) => v.as_f64(),
        Some(v) => {
            return Err(err(&name("depthwise"), format!("{} must be true or false, not {v}", name("depthwise"))))
        }
    };
    Ok(())
}

/// `POST /api/predict-energy`, the seed's request.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRequest {
    /// `device_type`.
    pub device: String,
    /// `model_name`, echoed.
    pub model_name: Option<String>,
    /// `params_m` × 10⁶, `gmacs` × 10⁹ (or `gflops` / 2 × 10⁹), and any structure fields given.
    pub features: Features,
    /// `latency_avg_s` × 10³.
    pub latency_ms: Option<f64>,
}

impl SeedRequest {
    /// Reads the seed's fields: `device_type` (required), `params_m` (required), `gmacs`
    /// (required unless `gflops` is given: then MACs = FLOPs / 2), `latency_avg_s`, and the
    /// unused `size_mb`, `throughput_iter_per_s` (checked all the same) and `model_name`. The
    /// structure fields of `/v1/energy/predict` (`layers`, `input_size`, …) may be added for a
    /// predictor trained on them.
    pub fn parse(body: &Value) -> Result<SeedRequest, FieldError> {
        let obj = object(body, "body")?;
        let device = device_name(obj, "device_type")?;
        let model_name = string(obj, "model_name", false)?.map(str::to_string);
        let params = positive(obj, "params_m", "params_m", true)?.unwrap_or_default() * 1e6;
        let gflops = positive(obj, "gflops", "gflops", false)?;
        let gmacs = match (positive(obj, "gmacs", "gmacs", false)?, gflops) {
            (Some(m), _) => m,
            (None, Some(flops)) => flops / 2.0,
            (None, None) => return Err(err("gmacs", "gmacs is required (a positive number; or give gflops)")),
        };
        positive(obj, "size_mb", "size_mb", false)?;
        positive(obj, "throughput_iter_per_s", "throughput_iter_per_s", false)?;
        // Like gmacs, checked again once scaled: a huge number of seconds is no finite number of ms.
        let latency_ms = match positive(obj, "latency_avg_s", "latency_avg_s", false)? {
            Some(s) if !(s * 1e3).is_finite() => {
                return Err(err("latency_avg_s", format!("latency_avg_s {s} is too large (seconds)")));
            }
            s => s.map(|s| s * 1e3),
        };
        let mut features = Features {
            macs: gmacs * 1e9,
            params,
            layers: None,
            input_size: None,
            filters_max: None,
            kernel_mean: None,
            kernel_max: None,
            depthwise: None,
        };
        structure(obj, "", &mut features)?;
        check(&features, "")?;
        Ok(SeedRequest { device, model_name, features, latency_ms })
    }
}

/// The scaled values are checked again (a huge `gmacs` times 10⁹ is no longer finite).
fn check(f: &Features, prefix: &str) -> Result<(), FieldError> {
    f.validate().map_err(|(name, message)| {
        let field = match (prefix, name) {
            ("", "macs") => "gmacs".to_string(),
            ("", "params") => "params_m".to_string(),
            (p, n) => format!("{p}{n}"),
        };
        err(&field, format!("{field} {message}"))
    })
}

/// Which devices a `/v1/energy/predict` request asks about.
#[derive(Debug, Clone, PartialEq)]
pub enum Devices {
    /// `"device": "…"`: one answer.
    One(String),
    /// `"devices": […]`: one answer per device.
    Some(Vec<String>),
    /// Neither: every device with a predictor or a prior.
    All,
}

/// What to predict for.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A registered model, profiled from its ONNX file.
    Model {
        /// Its name.
        name: String,
        /// Its version (default: the active one).
        version: Option<i64>,
        /// The input shape to profile for (default: the file's, batch 1).
        input_shape: Option<Vec<u64>>,
    },
    /// Raw structure features.
    Features(Features),
}

/// `POST /v1/energy/predict`.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictRequest {
    /// The device(s).
    pub devices: Devices,
    /// The model or its features.
    pub subject: Subject,
    /// The model's measured latency on the device, ms (used by predictors trained with it).
    pub latency_ms: Option<f64>,
}

const FEATURE_FIELDS: [&str; 8] =
    ["macs", "params", "layers", "input_size", "filters_max", "kernel_mean", "kernel_max", "depthwise"];

impl PredictRequest {
    /// Reads `device` or `devices` (or neither: all), exactly one of `model` (with optional
    /// `version` and `input_shape`) and `features`, and the optional `latency_ms`.
    pub fn parse(body: &Value) -> Result<PredictRequest, FieldError> {
        let obj = object(body, "body")?;
        let devices = match (obj.get("device"), obj.get("devices")) {
            (Some(_), Some(_)) => return Err(err("devices", "give device or devices, not both")),
            (Some(_), None) => Devices::One(device_name(obj, "device")?),
            (None, Some(Value::Array(list))) if !list.is_empty() => {
                let mut names = Vec::with_capacity(list.len());
                for (i, v) in list.iter().enumerate() {
                    let key = format!("devices[{i}]");
                    match v.as_str().filter(|s| valid_device(s)) {
                        Some(s) if !names.iter().any(|n| n == s) => names.push(s.to_string()),
                        Some(_) => {}
                        None => return Err(err(&key, format!("{key} must be a device name, not {v}"))),
                    }
                }
                Devices::Some(names)
            }
            (None, Some(v)) => {
                return Err(err("devices", format!("devices must be a non-empty array of names, not {v}")))
            }
            (None, None) => Devices::All,
        };
        let subject = match (obj.get("model"), obj.get("features")) {
            (Some(_), Some(_)) => return Err(err("features", "give model or features, not both")),
            (None, None) => return Err(err("model", "give model (a registered model's name) or features")),
            (Some(_), None) => {
                let name = string(obj, "model", true)?.unwrap_or_default().to_string();
                let version = match obj.get("version") {
                    None | Some(Value::Null) => None,
                    Some(v) => match v.as_i64() {
                        Some(n) if n > 0 => Some(n),
                        _ => return Err(err("version", format!("version must be a positive integer, not {v}"))),
                    },
                };
                let input_shape = match obj.get("input_shape") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(input_shape(v)?),
                };
                Subject::Model { name, version, input_shape }
            }
            (None, Some(v)) => {
                let f = object(v, "features")?;
                if let Some(unknown) = f.keys().find(|k| !FEATURE_FIELDS.contains(&k.as_str())) {
                    let field = format!("features.{unknown}");
                    return Err(err(
                        &field,
                        format!("unknown feature {unknown:?}; known: {}", FEATURE_FIELDS.join(", ")),
                    ));
                }
                let mut features = Features {
                    macs: positive(f, "macs", "features.macs", true)?.unwrap_or_default(),
                    params: positive(f, "params", "features.params", true)?.unwrap_or_default(),
                    layers: None,
                    input_size: None,
                    filters_max: None,
                    kernel_mean: None,
                    kernel_max: None,
                    depthwise: None,
                };
                structure(f, "features.", &mut features)?;
                check(&features, "features.")?;
                Subject::Features(features)
            }
        };
        for (key, what) in [("version", "model"), ("input_shape", "model")] {
            if obj.get(key).is_some_and(|v| !v.is_null()) && !matches!(subject, Subject::Model { .. }) {
                return Err(err(key, format!("{key} goes with {what}, not with features")));
            }
        }
        let latency_ms = positive(obj, "latency_ms", "latency_ms", false)?;
        Ok(PredictRequest { devices, subject, latency_ms })
    }
}

/// `[1, 3, 224, 224]`: 1 to 8 positive integers.
fn input_shape(v: &Value) -> Result<Vec<u64>, FieldError> {
    let bad =
        || err("input_shape", format!("input_shape must be 1 to 8 positive integers, e.g. [1, 3, 224, 224], not {v}"));
    let list = v.as_array().filter(|l| (1..=8).contains(&l.len())).ok_or_else(bad)?;
    list.iter().map(|d| d.as_u64().filter(|&n| n > 0 && n <= 1 << 20).ok_or_else(bad)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed() -> Value {
        json!({"device_type": "jetson_nano_2gb", "model_name": "mobilenetv3_small_075", "params_m": 2.04,
               "gflops": 0.087, "gmacs": 0.044, "size_mb": 8.5, "latency_avg_s": 0.012,
               "throughput_iter_per_s": 83.3})
    }

    fn field_of(r: Result<impl std::fmt::Debug, FieldError>) -> String {
        r.expect_err("refused").field
    }

    #[test]
    fn the_seed_request_scales_its_units() {
        let r = SeedRequest::parse(&seed()).unwrap();
        assert_eq!(r.device, "jetson_nano_2gb");
        assert_eq!(r.model_name.as_deref(), Some("mobilenetv3_small_075"));
        assert!((r.features.params - 2.04e6).abs() < 1e-6);
        assert!((r.features.macs - 0.044e9).abs() < 1e-3);
        assert!((r.latency_ms.unwrap() - 12.0).abs() < 1e-9);
        assert_eq!(r.features.layers, None);
        // Without gmacs, MACs are half the FLOPs.
        let mut v = seed();
        v.as_object_mut().unwrap().remove("gmacs");
        assert!((SeedRequest::parse(&v).unwrap().features.macs - 0.0435e9).abs() < 1e-3);
        // Structure fields may be added.
        v["layers"] = json!(12);
        v["depthwise"] = json!(true);
        let r = SeedRequest::parse(&v).unwrap();
        assert_eq!((r.features.layers, r.features.depthwise), (Some(12.0), Some(1.0)));
    }

    #[test]
    fn every_bad_seed_field_is_named() {
        let with = |k: &str, val: Value| {
            let mut v = seed();
            v[k] = val;
            SeedRequest::parse(&v)
        };
        let without = |keys: &[&str]| {
            let mut v = seed();
            for k in keys {
                v.as_object_mut().unwrap().remove(*k);
            }
            SeedRequest::parse(&v)
        };
        assert_eq!(field_of(with("params_m", json!(-2.04))), "params_m");
        assert_eq!(field_of(with("params_m", json!("NaN"))), "params_m");
        assert_eq!(field_of(with("params_m", Value::Null)), "params_m");
        assert_eq!(field_of(with("gmacs", json!(0))), "gmacs");
        assert_eq!(field_of(with("gmacs", json!(1e308))), "gmacs");
        assert_eq!(field_of(with("size_mb", json!(-1))), "size_mb");
        assert_eq!(field_of(with("latency_avg_s", json!("0.012"))), "latency_avg_s");
        // Found by fuzzing (crates/gateway/tests/fuzz_requests.rs): finite, but infinite in ms.
        assert_eq!(field_of(with("latency_avg_s", json!(1.7e308))), "latency_avg_s");
        assert_eq!(field_of(with("throughput_iter_per_s", json!(false))), "throughput_iter_per_s");
        assert_eq!(field_of(with("device_type", json!("../etc"))), "device_type");
        assert_eq!(field_of(with("model_name", json!(3))), "model_name");
        assert_eq!(field_of(with("depthwise", json!(2))), "depthwise");
        assert_eq!(field_of(without(&["gmacs", "gflops"])), "gmacs");
        assert_eq!(field_of(without(&["params_m"])), "params_m");
        assert_eq!(field_of(without(&["device_type"])), "device_type");
        assert_eq!(field_of(SeedRequest::parse(&json!([1, 2]))), "body");
        // Optional fields may be absent or null.
        assert!(with("size_mb", Value::Null).is_ok());
        assert!(without(&["size_mb", "latency_avg_s", "model_name", "throughput_iter_per_s"]).is_ok());
    }

    #[test]
    fn predict_requests() {
        let r = PredictRequest::parse(&json!({"device": "jetson_nano", "model": "mobilenet"})).unwrap();
        assert_eq!(r.devices, Devices::One("jetson_nano".into()));
        assert_eq!(r.subject, Subject::Model { name: "mobilenet".into(), version: None, input_shape: None });
        let r = PredictRequest::parse(
            &json!({"devices": ["a", "b", "a"], "model": "m", "version": 2, "input_shape": [1, 3, 160, 160], "latency_ms": 5}),
        )
        .unwrap();
        assert_eq!(r.devices, Devices::Some(vec!["a".into(), "b".into()]));
        assert_eq!(
            r.subject,
            Subject::Model { name: "m".into(), version: Some(2), input_shape: Some(vec![1, 3, 160, 160]) }
        );
        assert_eq!(r.latency_ms, Some(5.0));
        let r = PredictRequest::parse(&json!({"features": {"macs": 3e8, "params": 3.5e6, "depthwise": 1}})).unwrap();
        assert_eq!(r.devices, Devices::All);
        let Subject::Features(f) = r.subject else { panic!() };
        assert_eq!((f.macs, f.params, f.depthwise, f.layers), (3e8, 3.5e6, Some(1.0), None));

        let bad = |v: Value| field_of(PredictRequest::parse(&v));
        let f = |extra: Value| {
            let mut v = json!({"device": "d", "features": {"macs": 1e8, "params": 1e6}});
            for (k, x) in extra.as_object().unwrap() {
                v["features"][k] = x.clone();
            }
            v
        };
        assert_eq!(bad(f(json!({"params": -1}))), "features.params");
        assert_eq!(bad(f(json!({"macs": "NaN"}))), "features.macs");
        assert_eq!(bad(f(json!({"macs": null}))), "features.macs");
        assert_eq!(bad(f(json!({"layers": 0}))), "features.layers");
        assert_eq!(bad(f(json!({"layer": 3}))), "features.layer");
        assert_eq!(bad(json!({"device": "d", "features": {"params": 1}})), "features.macs");
        assert_eq!(bad(json!({"device": "d", "features": [1]})), "features");
        assert_eq!(bad(json!({"device": "d"})), "model");
        assert_eq!(bad(json!({"device": "d", "model": "m", "features": {}})), "features");
        assert_eq!(bad(json!({"device": "d", "devices": ["d"], "model": "m"})), "devices");
        assert_eq!(bad(json!({"devices": [], "model": "m"})), "devices");
        assert_eq!(bad(json!({"devices": ["ok", "a/b"], "model": "m"})), "devices[1]");
        assert_eq!(bad(json!({"device": 7, "model": "m"})), "device");
        assert_eq!(bad(json!({"device": "d", "model": ""})), "model");
        assert_eq!(bad(json!({"device": "d", "model": "m", "version": 0})), "version");
        assert_eq!(bad(json!({"device": "d", "model": "m", "input_shape": [1, -3]})), "input_shape");
        assert_eq!(bad(json!({"device": "d", "model": "m", "latency_ms": "fast"})), "latency_ms");
        let mut with_version = f(json!({}));
        with_version["version"] = json!(1);
        assert_eq!(bad(with_version), "version");
    }
}
