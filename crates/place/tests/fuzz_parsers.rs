//! Property tests ("fuzzing" on stable Rust) for the placement crate's input parsers: the
//! `/predict` and `/v1/route` bodies and the trace readers. For arbitrary and for
//! structured-but-mutated inputs they never panic and either succeed with their invariants
//! holding or return a typed error. `PROPTEST_CASES` overrides the case count.

use infergate_place::router::{RouteRequest, SeedRequest};
use infergate_place::traces::{azure2019, azure2021, coldstart, ReadReport};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::path::Path;

/// `cases` per property unless `PROPTEST_CASES` says otherwise (proptest's own default, used by
/// the blocks without a config, is 256 and also read from `PROPTEST_CASES`).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// Awkward scalars: huge, tiny, negative, NaN-like strings, unicode, empty.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![0.0, -0.0, 1e308, -1e308, 5e-324, 1e-300, 100_000.0, 100_000.5, 128.0, 10_240.0])
            .prop_map(Value::from),
        prop::sample::select(vec!["NaN", "inf", "-Infinity", "1e999", "", "0", "٣", "lambda", "😀", "\u{0}"])
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

/// An object with the request's own keys (valid values often, mutated values sometimes).
fn request_like(keys: &'static [(&'static str, &'static [&'static str])]) -> impl Strategy<Value = Value> {
    let fields: Vec<_> = keys
        .iter()
        .map(|&(k, valid)| {
            let good: Vec<Value> = valid.iter().map(|v| serde_json::from_str(v).unwrap_or(Value::from(*v))).collect();
            let value = prop_oneof![3 => prop::sample::select(good), 1 => json_value()];
            prop::option::weighted(0.9, value).prop_map(move |v| (k, v))
        })
        .collect();
    (fields, prop::collection::btree_map("\\PC{0,6}", scalar(), 0..3)).prop_map(|(fields, extra)| {
        let mut obj: Map<String, Value> = extra.into_iter().collect();
        for (k, v) in fields {
            if let Some(v) = v {
                obj.insert(k.to_string(), v);
            }
        }
        Value::Object(obj)
    })
}

const SEED_KEYS: &[(&str, &[&str])] = &[
    ("workload_type", &["lightweight_api", "thumbnail_processing", "medium_processing", "heavy_processing"]),
    ("payload_size_kb", &["0", "12.5", "1e308", "-1"]),
    ("time_window", &["morning", "midday", "evening", "night"]),
    ("load_pattern", &["low_load", "medium_load", "burst_load"]),
];

const ROUTE_KEYS: &[(&str, &[&str])] = &[
    ("arrival_rate", &["0", "3.5", "100000", "100001"]),
    (
        "exec_ms",
        &[
            "120",
            "{\"dist\": \"lognormal\", \"median\": 120, \"sigma\": 0.5}",
            "{\"dist\": \"lognormal\", \"median\": -1, \"sigma\": 1e308}",
            "{\"dist\": \"constant\", \"value\": 5}",
        ],
    ),
    ("memory_mb", &["128", "1769", "10240", "127"]),
    ("slo_ms", &["0", "250", "1e308"]),
    ("workload_type", &["medium_processing", "nope"]),
    ("payload_size_kb", &["0", "1"]),
];

fn check_seed(v: &Value) {
    if let Ok(req) = SeedRequest::parse(v) {
        assert!(req.payload_size_kb.is_finite() && req.payload_size_kb >= 0.0);
        // What the gateway echoes as `request_context` parses back to the same request.
        let echoed = serde_json::to_value(req).expect("serialises");
        assert_eq!(SeedRequest::parse(&echoed).expect("the echo parses"), req);
    }
}

fn check_route(v: &Value) {
    if let Ok(req) = RouteRequest::parse(v) {
        assert!(req.arrival_rate.is_finite() && (0.0..=100_000.0).contains(&req.arrival_rate));
        assert!((128.0..=10_240.0).contains(&req.memory_mb));
        assert!(req.slo_ms.is_none_or(|s| s.is_finite() && s > 0.0));
        assert!(req.payload_size_kb.is_finite() && req.payload_size_kb >= 0.0);
        serde_json::to_value(&req).expect("serialises");
    }
}

proptest! {
    #[test]
    fn predict_body_never_panics(v in json_value()) {
        check_seed(&v);
        check_route(&v);
    }

    #[test]
    fn predict_body_structured(v in request_like(SEED_KEYS)) {
        check_seed(&v);
    }

    #[test]
    fn route_body_structured(v in request_like(ROUTE_KEYS)) {
        check_route(&v);
    }

    #[test]
    fn predict_body_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // The handler parses the body with serde_json first; anything that parses goes on.
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            check_seed(&v);
            check_route(&v);
        }
    }
}

// ---- trace readers -------------------------------------------------------------------------

/// A CSV field: numbers of every kind, NaN-like text, quoting, embedded separators, unicode.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u32..2000).prop_map(|n| n.to_string()),
        2 => any::<f64>().prop_map(|f| f.to_string()),
        1 => prop::sample::select(vec![
            "", " ", "-1", "NaN", "inf", "-inf", "1e400", "4294967296", "4294967295", "1.5", "0.0", "\"a,b\"",
            "\"multi\nline\"", "\"", "x\"y", "٣", "😀", "\u{feff}1",
        ])
        .prop_map(String::from),
        1 => "\\PC{0,6}",
    ]
}

/// A CSV file: a header drawn mostly from `columns` (shuffled, some dropped, some extra) and
/// rows of random width, then possibly cut short or with a byte flipped.
fn csv_text(columns: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let header = prop::collection::vec(
        prop_oneof![8 => prop::sample::select(columns.to_vec()).prop_map(String::from), 1 => "\\PC{0,5}"],
        0..columns.len() + 3,
    );
    let header = prop_oneof![4 => Just(columns.iter().map(|c| c.to_string()).collect::<Vec<_>>()), 1 => header];
    let rows = prop::collection::vec(prop::collection::vec(field(), 0..columns.len() + 3), 0..8);
    (header, rows, prop::option::of((any::<prop::sample::Index>(), any::<u8>())), any::<bool>()).prop_map(
        |(header, rows, mutation, truncate)| {
            let mut text = header.join(",");
            for r in rows {
                text.push('\n');
                text.push_str(&r.join(","));
            }
            let mut bytes = text.into_bytes();
            if let Some((at, byte)) = mutation {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    if truncate {
                        bytes.truncate(i);
                    } else {
                        bytes[i] = byte;
                    }
                }
            }
            bytes
        },
    )
}

const INVOCATION_COLUMNS: &[&str] =
    &["HashOwner", "HashApp", "HashFunction", "Trigger", "1", "2", "3", "minute_4", "minute_1", "5"];
const DURATION_COLUMNS: &[&str] = &[
    "HashOwner",
    "HashApp",
    "HashFunction",
    "Average",
    "Count",
    "Minimum",
    "percentile_Average_0",
    "percentile_Average_1",
    "percentile_Average_25",
    "percentile_Average_50",
    "percentile_Average_75",
    "percentile_Average_99",
    "percentile_Average_100",
];
const MEMORY_COLUMNS: &[&str] = &[
    "HashOwner",
    "HashApp",
    "SampleCount",
    "AverageAllocatedMb",
    "AverageAllocatedMb_pct1",
    "AverageAllocatedMb_pct5",
    "AverageAllocatedMb_pct25",
    "AverageAllocatedMb_pct50",
    "AverageAllocatedMb_pct75",
    "AverageAllocatedMb_pct95",
    "AverageAllocatedMb_pct99",
    "AverageAllocatedMb_pct100",
];
const AZURE2021_COLUMNS: &[&str] = &["app", "func", "end_timestamp", "duration"];

/// Data records the readers' own CSV settings see (each must be read or skipped).
fn records(path: &Path) -> usize {
    csv::ReaderBuilder::new().flexible(true).from_path(path).map_or(0, |mut r| r.records().count())
}

fn write(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.csv");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn accounted<T>(path: &Path, rows: &[T], report: &ReadReport) {
    assert_eq!(report.read, rows.len(), "{report}");
    assert_eq!(report.read + report.skipped_total(), records(path), "{report}");
    assert!(report.examples.len() <= 5);
}

fn finite_non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn azure2019_invocations(bytes in csv_text(INVOCATION_COLUMNS)) {
        let (_dir, path) = write(&bytes);
        if let Ok((rows, report)) = azure2019::read_invocations(&path) {
            accounted(&path, &rows, &report);
            let minutes = rows.first().map(|r| r.per_minute.len());
            for r in &rows {
                assert!(!r.function.is_empty() && !r.app.is_empty() && !r.owner.is_empty());
                assert_eq!(Some(r.per_minute.len()), minutes, "every series has every minute");
            }
        }
    }

    #[test]
    fn azure2019_durations(bytes in csv_text(DURATION_COLUMNS)) {
        let (_dir, path) = write(&bytes);
        if let Ok((rows, report)) = azure2019::read_durations(&path) {
            accounted(&path, &rows, &report);
            for r in &rows {
                assert!(finite_non_negative(r.average_ms));
                assert_eq!(r.percentiles.len(), 7);
                assert!(r.percentiles.iter().all(|&(_, v)| finite_non_negative(v)));
                assert!(r.percentiles.windows(2).all(|w| w[0].1 <= w[1].1));
            }
        }
    }

    #[test]
    fn azure2019_memory(bytes in csv_text(MEMORY_COLUMNS)) {
        let (_dir, path) = write(&bytes);
        if let Ok((rows, report)) = azure2019::read_memory(&path) {
            accounted(&path, &rows, &report);
            for r in &rows {
                assert!(finite_non_negative(r.average_mb));
                assert_eq!(r.percentiles.len(), 8);
                assert!(r.percentiles.windows(2).all(|w| w[0].1 <= w[1].1));
            }
        }
    }

    #[test]
    fn azure2021_invocations(bytes in csv_text(AZURE2021_COLUMNS)) {
        let (_dir, path) = write(&bytes);
        if let Ok((rows, report)) = azure2021::read_invocations(&path) {
            accounted(&path, &rows, &report);
            assert!(rows.windows(2).all(|w| w[0].start_s <= w[1].start_s), "sorted by start");
            for r in &rows {
                assert!(finite_non_negative(r.start_s) && finite_non_negative(r.duration_s));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_any_trace(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (_dir, path) = write(&bytes);
        let _ = azure2019::read_invocations(&path);
        let _ = azure2019::read_durations(&path);
        let _ = azure2019::read_memory(&path);
        let _ = azure2021::read_invocations(&path);
        let _ = coldstart::read(&path);
    }

    #[test]
    fn coldstart_json(entries in prop::collection::vec(
        prop_oneof![
            3 => (json_value(), json_value(), prop::collection::vec(scalar(), 0..5), json_value()).prop_map(
                |(r, m, i, a)| json!({"r": r, "p": "zip", "d": "python 3.12", "i": i, "m": m, "a": a})),
            3 => (0u32..10_240, prop::collection::vec(-10.0f64..1e6, 0..5)).prop_map(
                |(m, i)| json!({"r": "id", "p": "zip", "d": "rt", "i": i, "m": m, "a": "arm64"})),
            1 => json_value(),
        ],
        0..6,
    )) {
        let n = entries.len();
        let text = serde_json::to_vec(&json!({"runtimeData": entries})).unwrap();
        let (_dir, path) = write(&text);
        let (rows, report) = coldstart::read(&path).expect("a runtimeData array always reads");
        assert_eq!(report.read, rows.len());
        assert_eq!(report.read + report.skipped_total(), n);
        for r in &rows {
            assert!(!r.init_ms.is_empty() && r.init_ms.iter().all(|v| v.is_finite() && *v > 0.0));
        }
    }
}
