//! Property tests ("fuzzing" on stable Rust) for the checks on a `POST /deploy` command, which
//! run before anything is downloaded: for arbitrary JSON bodies and for commands with mutated
//! fields they never panic, and a command they accept has a usable name, an http(s) URL with a
//! host, finite non-negative energies and a lowercase 64-hex-digit hash. `PROPTEST_CASES`
//! overrides the case count.

use super::{same_origin, validate, DeployError};
use infergate_core::fleet::DeployCommand;
use proptest::prelude::*;
use serde_json::{json, Value};

fn check(cmd: &DeployCommand) {
    match validate(cmd) {
        Ok(hash) => {
            assert!(!cmd.model_name.trim().is_empty());
            let url = reqwest::Url::parse(&cmd.model_url).expect("an accepted URL parses");
            assert!(matches!(url.scheme(), "http" | "https") && url.host().is_some());
            for v in [cmd.energy_budget_mwh, cmd.predicted_energy_mwh].into_iter().flatten() {
                assert!(v.is_finite() && v >= 0.0);
            }
            if let Some(h) = hash {
                assert!(h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
                assert!(cmd.sha256.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&h)));
            } else {
                assert!(cmd.sha256.is_none());
            }
            assert!(same_origin(&cmd.model_url, &cmd.model_url), "a URL is on its own origin");
        }
        Err(DeployError::Invalid(message)) => assert!(!message.is_empty()),
        Err(other) => panic!("validation answered {other:?}"),
    }
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "http://controller:8080/v1/artifacts/m.onnx",
            "https://[::1]:443/m",
            "http://127.0.0.1/",
            "http://bücher.example/ü",
            "http://h:99999/",
            "http://",
            "http:/x",
            "https:///m",
            "ftp://h/m",
            "file:///etc/passwd",
            "data:text/plain,hi",
            "HTTP://H/",
            "http://user:pw@h/m",
            "http://%00/",
            "http://[fe80::1%25eth0]/",
            "",
            " http://h/ ",
            "😀",
        ])
        .prop_map(String::from),
        ("(http|https|ftp)://", "\\PC{0,20}").prop_map(|(s, rest)| format!("{s}{rest}")),
        "\\PC{0,30}",
    ]
}

fn energy() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, 5e-324, -1.0]),
    ])
}

fn sha() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        "[0-9a-fA-F]{64}",
        "[0-9a-fA-F]{60,68}",
        "[0-9a-fA-Fg-z]{64}",
        "\\PC{0,70}",
        Just("é".repeat(32)),
    ])
}

fn command() -> impl Strategy<Value = DeployCommand> {
    (
        prop_oneof![Just("mobilenet".to_string()), Just(" ".to_string()), "\\PC{0,16}"],
        url(),
        energy(),
        sha(),
        prop::option::of("\\PC{0,12}"),
        prop::option::of(any::<i64>()),
        energy(),
    )
        .prop_map(|(model_name, model_url, energy_budget_mwh, sha256, deployment_id, version, predicted)| {
            DeployCommand {
                model_name,
                model_url,
                energy_budget_mwh,
                sha256,
                deployment_id,
                version,
                predicted_energy_mwh: predicted,
            }
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(1e308)),
        "\\PC{0,16}".prop_map(Value::from),
        url().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn structured_commands(cmd in command()) {
        check(&cmd);
    }

    #[test]
    fn json_bodies(
        fields in prop::collection::btree_map(
            prop::sample::select(vec![
                "model_name", "model_url", "energy_budget_mwh", "sha256", "deployment_id", "version",
                "predicted_energy_mwh", "extra",
            ]),
            json_value(),
            0..8,
        ),
        base in any::<bool>(),
    ) {
        // The agent parses the body with serde into a DeployCommand, then validates it.
        let mut body = if base {
            json!({"model_name": "m", "model_url": "http://h/m.onnx", "energy_budget_mwh": 1.5})
        } else {
            json!({})
        };
        for (k, v) in fields {
            body[k] = v;
        }
        if let Ok(cmd) = serde_json::from_value::<DeployCommand>(body) {
            check(&cmd);
        }
    }

    #[test]
    fn origins(a in url(), b in url()) {
        prop_assert_eq!(same_origin(&a, &b), same_origin(&b, &a));
    }
}
