//! Property tests ("fuzzing" on stable Rust) for the gateway's request parsers: the Open
//! Inference Protocol JSON and binary bodies, the image body (raw, JSON base64), base64 and
//! format sniffing, and the `/api/predict-energy` and `/v1/energy/predict` bodies. For
//! arbitrary and structured-but-mutated inputs they never panic and either succeed with their
//! invariants holding or return a typed error. `PROPTEST_CASES` overrides the case count.

use axum::http::header::CONTENT_TYPE;
use base64::Engine as _;
use infergate_gateway::energy::request::{PredictRequest, SeedRequest, Subject};
use infergate_gateway::input::{check_format, decode_base64, image_from_request};
use infergate_gateway::oip::wire::{decode_request, join_bytes_elements, split_body, split_bytes_elements, InputData};
use infergate_runtime::ImageFormatKind;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Awkward scalars: huge, tiny, negative, NaN-like strings, unicode, empty.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![0.0, -0.0, 1.0, 1e308, -1e308, 5e-324, 1e-300, 3.4e38, 3.5e38, 1e300])
            .prop_map(Value::from),
        prop::sample::select(vec![
            "NaN",
            "inf",
            "-Infinity",
            "1e999",
            "",
            "0",
            "FP32",
            "BYTES",
            "jetson_nano",
            "٣",
            "😀",
            "a/b",
            "aGk=",
        ])
        .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ]
}

/// Arbitrary JSON, nested up to a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a random path inside `v` (an object key or array element at any depth).
fn mutate(v: &mut Value, path: &[prop::sample::Index], with: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    let child = match v {
        Value::Object(m) if !m.is_empty() => {
            let k = m.keys().nth(first.index(m.len())).cloned().unwrap();
            m.get_mut(&k)
        }
        Value::Array(a) if !a.is_empty() => {
            let i = first.index(a.len());
            a.get_mut(i)
        }
        _ => None,
    };
    match child {
        Some(c) => mutate(c, rest, with),
        None => *v = with,
    }
}

// ---- Open Inference Protocol -----------------------------------------------------------------

/// One input as generated: its shape and values, and how they are sent.
#[derive(Debug, Clone)]
enum Values {
    Fp32(Vec<f32>),
    Bytes(Vec<Vec<u8>>),
}

#[derive(Debug, Clone)]
struct Input {
    name: String,
    shape: Vec<usize>,
    values: Values,
    binary: bool,
    nested: bool,
}

fn oip_input() -> impl Strategy<Value = Input> {
    let shape = prop::collection::vec(0usize..4, 0..4);
    (shape, "\\PC{0,8}", any::<bool>(), any::<bool>(), any::<bool>()).prop_flat_map(
        |(shape, name, fp32, binary, nested)| {
            let count: usize = shape.iter().product();
            let values = if fp32 {
                prop::collection::vec(
                    if binary { any::<f32>().boxed() } else { prop::num::f32::NORMAL.boxed() },
                    count..=count,
                )
                .prop_map(Values::Fp32)
                .boxed()
            } else {
                prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), count..=count)
                    .prop_map(Values::Bytes)
                    .boxed()
            };
            values.prop_map(move |values| Input { name: name.clone(), shape: shape.clone(), values, binary, nested })
        },
    )
}

/// Nests a flat list of values by `shape` (row-major).
fn nest(flat: &[Value], shape: &[usize]) -> Value {
    match shape {
        [] | [_] => Value::Array(flat.to_vec()),
        [n, rest @ ..] => {
            let step = rest.iter().product::<usize>();
            Value::Array((0..*n).map(|i| nest(&flat[i * step..(i + 1) * step], rest)).collect())
        }
    }
}

/// The request's JSON and binary section.
fn encode_request(inputs: &[Input]) -> (Value, Vec<u8>) {
    let mut binary = Vec::new();
    let list: Vec<Value> = inputs
        .iter()
        .map(|i| {
            let datatype = match i.values {
                Values::Fp32(_) => "FP32",
                Values::Bytes(_) => "BYTES",
            };
            let mut obj = json!({"name": i.name, "shape": i.shape, "datatype": datatype});
            if i.binary {
                let bytes = match &i.values {
                    Values::Fp32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                    Values::Bytes(v) => join_bytes_elements(v.iter().map(Vec::as_slice)),
                };
                obj["parameters"] = json!({"binary_data_size": bytes.len()});
                binary.extend(bytes);
            } else {
                let flat: Vec<Value> = match &i.values {
                    Values::Fp32(v) => v.iter().map(|x| json!(*x as f64)).collect(),
                    Values::Bytes(v) => {
                        v.iter().map(|b| json!(base64::engine::general_purpose::STANDARD.encode(b))).collect()
                    }
                };
                let has_zero = i.shape.contains(&0);
                obj["data"] = if i.nested && !has_zero { nest(&flat, &i.shape) } else { Value::Array(flat) };
            }
            obj
        })
        .collect();
    (json!({"id": "fuzz", "inputs": list}), binary)
}

fn check_decoded(json: &[u8], binary: &[u8]) {
    let Ok((req, inputs)) = decode_request(json, binary) else { return };
    assert_eq!(req.inputs.len(), inputs.len());
    for (raw, d) in req.inputs.iter().zip(&inputs) {
        assert_eq!(raw.name, d.name);
        assert_eq!(raw.shape.len(), d.shape.len());
        let count: usize = d.shape.iter().product();
        let len = match &d.data {
            InputData::Fp32(v) => v.len(),
            InputData::Bytes(v) => v.len(),
        };
        assert_eq!(len, count, "values match the declared shape");
    }
}

proptest! {
    #[test]
    fn oip_round_trip(inputs in prop::collection::vec(oip_input(), 1..4)) {
        let (json, binary) = encode_request(&inputs);
        let text = serde_json::to_vec(&json).unwrap();
        let (req, decoded) = decode_request(&text, &binary).expect("a well-formed request decodes");
        prop_assert_eq!(req.id.as_deref(), Some("fuzz"));
        prop_assert_eq!(decoded.len(), inputs.len());
        for (want, got) in inputs.iter().zip(&decoded) {
            prop_assert_eq!(&want.name, &got.name);
            prop_assert_eq!(&want.shape, &got.shape);
            match (&want.values, &got.data) {
                (Values::Fp32(a), InputData::Fp32(b)) => {
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    prop_assert_eq!(bits(a), bits(b));
                }
                (Values::Bytes(a), InputData::Bytes(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "datatype changed: {:?} → {:?}", a, b),
            }
        }
        // The same body split by its header length.
        let mut body = text.clone();
        body.extend(&binary);
        let (j, b) = split_body(&body, Some(&text.len().to_string())).unwrap();
        prop_assert_eq!((j, b), (&text[..], &binary[..]));
    }

    #[test]
    fn oip_mutated(
        inputs in prop::collection::vec(oip_input(), 1..3),
        path in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        with in json_value(),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let (mut json, mut binary) = encode_request(&inputs);
        mutate(&mut json, &path, with);
        if let Some(cut) = cut.filter(|_| !binary.is_empty()) {
            binary.truncate(cut.index(binary.len()));
        }
        check_decoded(&serde_json::to_vec(&json).unwrap(), &binary);
    }

    #[test]
    fn oip_arbitrary(json in prop::collection::vec(any::<u8>(), 0..256), binary in prop::collection::vec(any::<u8>(), 0..64)) {
        check_decoded(&json, &binary);
        if let Ok(v) = serde_json::from_slice::<Value>(&json) {
            check_decoded(&serde_json::to_vec(&json!({"inputs": [v]})).unwrap(), &binary);
        }
    }

    #[test]
    fn oip_deep_nesting(depth in 1usize..200, leaf in scalar()) {
        let mut data = json!([leaf]);
        for _ in 0..depth {
            data = json!([data]);
        }
        let body = json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": data.clone()}]});
        check_decoded(&serde_json::to_vec(&body).unwrap(), &[]);
        let body = json!({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": data}]});
        check_decoded(&serde_json::to_vec(&body).unwrap(), &[]);
    }

    #[test]
    fn bytes_elements(items in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 0..6), junk in prop::collection::vec(any::<u8>(), 0..40)) {
        let joined = join_bytes_elements(items.iter().map(Vec::as_slice));
        prop_assert_eq!(split_bytes_elements(&joined).unwrap(), items);
        let _ = split_bytes_elements(&junk);
    }

    #[test]
    fn header_length(body in prop::collection::vec(any::<u8>(), 0..32), raw in "\\PC{0,24}") {
        if let Ok((j, b)) = split_body(&body, Some(&raw)) {
            prop_assert_eq!(j.len() + b.len(), body.len());
        }
    }
}

// ---- image bodies ----------------------------------------------------------------------------

proptest! {
    #[test]
    fn base64_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64), engine in 0usize..4, prefix in any::<bool>(), wrap in 1usize..20) {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
        let text = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD][engine].encode(&bytes);
        // Line-wrapped, as some clients send it.
        let wrapped: String = text.as_bytes().chunks(wrap).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n");
        let text = if prefix { format!("data:image/png;base64,{wrapped}") } else { wrapped };
        prop_assert_eq!(decode_base64(&text).unwrap(), bytes);
    }

    #[test]
    fn base64_arbitrary(text in "\\PC{0,80}") {
        let _ = decode_base64(&text);
    }

    #[test]
    fn format_sniffing(bytes in prop::collection::vec(any::<u8>(), 0..32), magic in prop::sample::select(vec![
        &b""[..], b"\xFF\xD8\xFF", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBP", b"GIF8", b"BM", b"II*\0", b"\0\0\0\0ftypavif",
    ])) {
        let mut b = magic.to_vec();
        b.extend(bytes);
        prop_assert_eq!(check_format(&b).ok(), ImageFormatKind::sniff(&b));
    }

    #[test]
    fn image_request_bodies(
        content_type in prop::sample::select(vec![
            "", "application/json", "application/json; charset=utf-8", "image/png", "image/gif", "text/plain",
            "application/octet-stream", "multipart/form-data; boundary=x", "multipart/form-data",
        ]),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..128),
            json_value().prop_map(|v| serde_json::to_vec(&json!({"image_base64": v})).unwrap()),
            prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| {
                let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
                png.extend(b);
                serde_json::to_vec(&json!({"image_base64": base64::engine::general_purpose::STANDARD.encode(png)})).unwrap()
            }),
            prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| {
                let mut m = b"--x\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n".to_vec();
                m.extend(b);
                m.extend(b"\r\n--x--\r\n");
                m
            }),
        ],
        limit in prop_oneof![Just(1usize << 20), 0usize..64],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut req = axum::http::Request::builder();
        if !content_type.is_empty() {
            req = req.header(CONTENT_TYPE, content_type);
        }
        let req = req.body(axum::body::Body::from(body)).unwrap();
        match rt.block_on(image_from_request(req, limit)) {
            Ok((bytes, kind)) => {
                prop_assert!(!bytes.is_empty());
                prop_assert_eq!(ImageFormatKind::sniff(&bytes), Some(kind));
            }
            Err(e) => prop_assert!(e.status.is_client_error(), "{:?}", e),
        }
    }
}

// ---- energy request bodies -------------------------------------------------------------------

fn seed_body() -> Value {
    json!({"device_type": "jetson_nano_2gb", "model_name": "mobilenetv3_small_075", "params_m": 2.04,
           "gflops": 0.087, "gmacs": 0.044, "size_mb": 8.5, "latency_avg_s": 0.012,
           "throughput_iter_per_s": 83.3, "layers": 12, "depthwise": true})
}

fn predict_body() -> Value {
    json!({"device": "jetson_nano", "features": {"macs": 3e8, "params": 3.5e6, "layers": 10, "input_size": 224,
           "filters_max": 1280, "kernel_mean": 2.5, "kernel_max": 3, "depthwise": 1}, "latency_ms": 5})
}

fn model_body() -> Value {
    json!({"devices": ["a", "b"], "model": "m", "version": 2, "input_shape": [1, 3, 224, 224], "latency_ms": 5})
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn check_energy(v: &Value) {
    if let Ok(r) = SeedRequest::parse(v) {
        assert!(r.features.validate().is_ok(), "{r:?}");
        assert!(r.latency_ms.is_none_or(positive), "{r:?}");
        assert!(infergate_energy::device::valid_device(&r.device));
    }
    if let Ok(r) = PredictRequest::parse(v) {
        assert!(r.latency_ms.is_none_or(positive), "{r:?}");
        match r.subject {
            Subject::Features(f) => assert!(f.validate().is_ok(), "{f:?}"),
            Subject::Model { name, version, input_shape } => {
                assert!(!name.is_empty());
                assert!(version.is_none_or(|v| v > 0));
                assert!(input_shape.is_none_or(|s| (1..=8).contains(&s.len()) && s.iter().all(|&d| d > 0)));
            }
        }
    }
}

proptest! {
    #[test]
    fn energy_bodies_arbitrary(v in json_value()) {
        check_energy(&v);
    }

    #[test]
    fn energy_bodies_mutated(
        which in 0usize..3,
        path in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        with in json_value(),
        extra in prop::option::of(("\\PC{0,8}", scalar())),
    ) {
        let mut v = [seed_body(), predict_body(), model_body()][which].clone();
        mutate(&mut v, &path, with);
        if let (Some((k, x)), Some(obj)) = (extra, v.as_object_mut()) {
            obj.insert(k, x);
        }
        check_energy(&v);
    }

    #[test]
    fn energy_numbers_at_the_edges(
        key in prop::sample::select(vec!["params_m", "gmacs", "gflops", "latency_avg_s", "size_mb", "layers", "depthwise"]),
        x in prop_oneof![any::<f64>(), prop::sample::select(vec![1e300, 1e305, 1.7e308, 5e-324, 1e-310, 0.0, -0.0])],
    ) {
        let mut v = seed_body();
        v[key] = serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number);
        check_energy(&v);
        let mut p = predict_body();
        let k = key.trim_end_matches("_m").trim_end_matches("_avg_s");
        p["features"][k] = v[key].clone();
        p["latency_ms"] = v[key].clone();
        if let Some(o) = p["features"].as_object_mut() {
            o.retain(|k, _| ["macs", "params", "layers", "input_size", "filters_max", "kernel_mean", "kernel_max", "depthwise"].contains(&k.as_str()));
        }
        check_energy(&p);
    }
}

/// Found by `energy_numbers_at_the_edges`: `latency_avg_s` of 1.7e308 is a finite number of
/// seconds but an infinite number of milliseconds, and was accepted as `latency_ms: inf`.
#[test]
fn regression_latency_overflow_is_refused() {
    let mut v = seed_body();
    v["latency_avg_s"] = json!(1.7e308);
    assert_eq!(SeedRequest::parse(&v).expect_err("refused").field, "latency_avg_s");
}

/// Found by the long run of the OIP properties: a shape whose element count fits in `usize`
/// but whose FP32 values do not fit in memory made the decoder reserve them all up front, and
/// the allocation failure aborted the whole gateway process. One request is now one 400.
#[test]
fn regression_huge_shape_does_not_abort() {
    for shape in [json!([555_404_044_177_962_536i64]), json!([1i64 << 31, 1i64 << 31]), json!([i64::MAX])] {
        let body = json!({"inputs": [{"name": "x", "shape": shape, "datatype": "FP32", "data": [1.0]}]});
        assert!(decode_request(&serde_json::to_vec(&body).unwrap(), &[]).is_err());
    }
    // The binary form: 4 × count overflowed (a panic in debug builds, 0 bytes expected in release).
    let body = json!({"inputs": [{"name": "x", "shape": [1i64 << 62], "datatype": "FP32",
                                  "parameters": {"binary_data_size": 0}}]});
    assert!(decode_request(&serde_json::to_vec(&body).unwrap(), &[]).is_err());
}
