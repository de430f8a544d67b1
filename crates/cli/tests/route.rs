//! `infergate route evaluate` end to end: the real binary on the shared Azure 2021 sample and
//! on the repository's scenarios — the JSON table's shape, the charts and stored results, and
//! clear errors for bad input.

mod common;

use common::{infergate, shared, workspace};
use serde_json::Value;

const STRATEGY_KEYS: [&str; 9] =
    ["name", "requests", "mean_ms", "p95_ms", "p99_ms", "cost_usd", "regret", "slo_violation_rate", "errors"];

#[test]
fn evaluate_a_trace_prints_the_json_table_and_writes_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let data = dir.path().join("data");
    let result = infergate()
        .args(["route", "evaluate", "--json", "--trace"])
        .arg(shared().join("data/traces/azure2021_invocations_sample.csv"))
        .arg("--coldstarts")
        .arg(shared().join("data/traces/lambda_perf_coldstart.json"))
        .arg("--out")
        .arg(&out)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let doc: Value = serde_json::from_slice(&result.stdout).expect("stdout is one JSON document");
    let strategies = doc["strategies"].as_array().unwrap();
    let names: Vec<&str> = strategies.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lambda_only", "ecs_only", "policy", "oracle"], "no classifier without a trained model");
    for s in strategies {
        let keys: Vec<&str> = s.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        for k in STRATEGY_KEYS {
            assert!(keys.contains(&k), "{k} missing from {s}");
        }
        assert_eq!(s["requests"], strategies[0]["requests"], "every strategy scores the same requests");
    }
    assert_eq!(strategies[3]["regret"].as_f64(), Some(0.0), "the oracle's own regret");
    assert!(strategies[0]["requests"].as_u64().unwrap() > 0);
    for dir in [
        out.clone(),
        data.join("route/evaluations").join(std::fs::read_to_string(data.join("route/latest.txt")).unwrap()),
    ] {
        for name in ["latency_cdf", "cost_vs_p95"] {
            let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
            assert!(svg.starts_with("<svg"), "{name}.svg in {}", dir.display());
            assert_eq!(&std::fs::read(dir.join(format!("{name}.png"))).unwrap()[1..4], b"PNG");
        }
        let stored: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        assert_eq!(stored["strategies"], doc["strategies"]);
        assert!(std::fs::read_to_string(dir.join("table.txt")).unwrap().contains("policy"));
    }
}

#[test]
fn evaluate_the_scenarios_as_a_table() {
    for name in ["lightweight_api", "heavy_processing"] {
        let dir = tempfile::tempdir().unwrap();
        let result = infergate()
            .args(["route", "evaluate", "--scenario"])
            .arg(workspace().join(format!("scenarios/{name}.yaml")))
            .arg("--window-s")
            .arg("1800")
            .arg("--out")
            .arg(dir.path().join("r"))
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(result.status.success(), "{name}: {}", String::from_utf8_lossy(&result.stderr));
        let text = String::from_utf8_lossy(&result.stdout);
        for strategy in ["lambda_only", "ecs_only", "policy", "oracle"] {
            assert!(text.contains(strategy), "{name}: {text}");
        }
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad_scenario = dir.path().join("bad.yaml");
    std::fs::write(&bad_scenario, "slo_ms: -1\nworkload: {type: lightweight_api, payload_kb: 1, memory_mb: 128, exec_ms: {dist: constant, value: 5}}\nphases: [{duration_s: 10, arrival_rate: 1}]\n").unwrap();
    let wrong_file = shared().join("data/traces/azure2019_durations.csv");
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (vec!["--trace".into(), dir.path().join("missing.csv").into()], "cannot read"),
        (vec!["--scenario".into(), bad_scenario.clone().into()], "slo_ms"),
        (vec!["--trace".into(), wrong_file.into()], "--durations"),
        (
            vec![
                "--scenario".into(),
                workspace().join("scenarios/lightweight_api.yaml").into(),
                "--arch".into(),
                "sparc".into(),
            ],
            "--arch",
        ),
        (
            vec![
                "--scenario".into(),
                workspace().join("scenarios/lightweight_api.yaml").into(),
                "--coldstarts".into(),
                shared().join("data/traces/lambda_perf_coldstart.json").into(),
                "--runtime".into(),
                "cobol".into(),
            ],
            "it has:",
        ),
    ];
    for (args, expected) in cases {
        let result = infergate()
            .args(["route", "evaluate", "--data-dir"])
            .arg(dir.path())
            .arg("--out")
            .arg(dir.path().join("r"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{args:?} should fail");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `route simulate` on a scenario: the dataset's SHA-256 (printed, and of the file) is the
/// same for the same seed and different for another.
#[test]
fn simulate_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, name: &str| {
        let out = dir.path().join(name);
        let result = infergate()
            .args(["route", "simulate", "--scenario"])
            .arg(workspace().join("scenarios/thumbnail_processing.yaml"))
            .args(["--window-s", "600", "--seed", seed, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        let text = String::from_utf8_lossy(&result.stdout).to_string();
        let printed = text.lines().find_map(|l| l.strip_prefix("sha256 ")).unwrap().to_string();
        let bytes = std::fs::read(&out).unwrap();
        use sha2::Digest;
        assert_eq!(printed, hex::encode(sha2::Sha256::digest(&bytes)), "the printed hash is the file's");
        let csv = String::from_utf8(bytes).unwrap();
        assert!(
            csv.starts_with("function,window,requests,slo_ms,workload_type,payload_size_kb,time_window,load_pattern,")
        );
        assert!(csv.lines().count() > 5, "a row per 10-minute window: {csv}");
        assert!(csv.contains(",thumbnail_processing,150,"), "the scenario's type and payload: {csv}");
        printed
    };
    let a = run("3", "a.csv");
    assert_eq!(a, run("3", "b.csv"), "same seed, same dataset");
    assert_ne!(a, run("4", "c.csv"), "another seed, another dataset");
}
