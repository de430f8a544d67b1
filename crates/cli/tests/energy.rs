//! `infergate energy train` and `evaluate` on the shared Jetson Nano files, through the binary.

mod common;

use serde_json::Value;

#[test]
fn train_then_evaluate_on_another_family() {
    let dir = tempfile::tempdir().unwrap();
    let nano = common::shared().join("data/edge/jetson_nano");
    let files = [
        "conv_layers_1_5__high_mac_model_info5.csv",
        "conv_layers_6_10__high_mac_model_info6.csv",
        "misc_conv_models__high_mac_model_info_1_10.csv",
    ];
    let out = common::infergate()
        .args(["energy", "train", "--device", "jetson_nano", "--data-dir"])
        .arg(dir.path())
        .arg("--data")
        .args(files.iter().map(|f| nano.join(f)))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("mean over held-out parts") && text.contains("EXCELLENT"), "{text}");
    let model = dir.path().join("energy/jetson_nano.json");
    let thresholds: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("energy/energy_thresholds.json")).unwrap()).unwrap();
    assert!(thresholds["jetson_nano"]["excellent_max_mwh"].as_f64().unwrap() > 0.0, "{thresholds}");

    let evaluate = |extra: &[&str]| {
        common::infergate()
            .args(["energy", "evaluate", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(nano.join("expanded_high_mac_2__expanded_high_mac_2.csv"))
            .args(extra)
            .output()
            .unwrap()
    };
    let out = evaluate(&["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in ["rows", "mape", "r2", "mae", "rmse", "interval_coverage"] {
        assert!(v[k].is_number(), "{k} in {v}");
        assert!(v["latency"][k].is_number(), "latency.{k} in {v}");
    }
    assert_eq!(v["rows"], 560, "one row of the file has no latency: {v}");
    assert_eq!(v["skipped"], 1);

    // A new device with 10 measurements: a prior calibrated on the trained device's profile.
    let few = dir.path().join("new_device.csv");
    let held_out = std::fs::read_to_string(nano.join("expanded_high_mac_2__expanded_high_mac_2.csv")).unwrap();
    std::fs::write(&few, held_out.lines().take(11).collect::<Vec<_>>().join("\n")).unwrap();
    let calibrate = |base: &[&str], data: &std::path::Path| {
        common::infergate()
            .args(["energy", "calibrate", "--device", "nano_b", "--data-dir"])
            .arg(dir.path())
            .arg("--data")
            .arg(data)
            .args(base)
            .output()
            .unwrap()
    };
    let out = calibrate(&["--base", "jetson_nano"], &few);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("from 10 measurement(s) on jetson_nano's profile") && text.contains("leave-one-out"),
        "{text}"
    );
    let prior: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("energy/nano_b.prior.json")).unwrap()).unwrap();
    assert_eq!((prior["prior"]["measurements"].as_u64(), prior["base"].as_str()), (Some(10), Some("jetson_nano")));
    // Refused: an unknown base, and no base with a single measurement; the prior is left as it was.
    let before = std::fs::read(dir.path().join("energy/nano_b.prior.json")).unwrap();
    let out = calibrate(&["--base", "no_such_device"], &few);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("energy train"));
    let one = dir.path().join("one.csv");
    std::fs::write(&one, held_out.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
    let out = calibrate(&[], &one);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("at least 2"));
    assert_eq!(std::fs::read(dir.path().join("energy/nano_b.prior.json")).unwrap(), before);

    // A structure-only predictor refuses --with-latency; a non-predictor file is refused clearly.
    let out = evaluate(&["--with-latency"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("drop --with-latency"));
    let out = common::infergate()
        .args(["energy", "evaluate", "--model"])
        .arg(nano.join(files[0]))
        .arg("--data")
        .arg(nano.join(files[0]))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not an energy predictor"), "{err}");
}

#[test]
fn profile_mobilenet_v2_and_refuse_what_is_not_onnx() {
    let out = common::infergate().args(["energy", "profile", "--json"]).arg(common::fp32_model()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (params, macs) = (p["params"].as_f64().unwrap(), p["macs"].as_f64().unwrap());
    assert!((params / 3.5e6 - 1.0).abs() <= 0.02, "{params} parameters (published: 3.5 M)");
    assert!((macs / 300e6 - 1.0).abs() <= 0.02, "{macs} MACs (published: ≈ 300 M)");
    assert_eq!(p["input_size"], 224);
    assert_eq!(p["depthwise"], true);
    let table = common::infergate().args(["energy", "profile"]).arg(common::fp32_model()).output().unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("3x3"), "the kernel mix is shown");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"definitely not protobuf \xff\xff").unwrap();
    let out = common::infergate().args(["energy", "profile"]).arg(&junk).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not an ONNX model"), "{err}");
}
