//! The deployment files in `deploy/`, checked as far as this machine can (no cluster, no Docker
//! daemon): the Kubernetes resources against Kubernetes 1.30's schemas with `kubernetes-validate`
//! (PyPI, installed in `.venv` by scripts/setup), the ConfigMap's TOML through the binary's own
//! configuration loader, the Knative Service's scaling and a worker command line the binary
//! accepts, and the Dockerfile building and copying this workspace's binary.

mod common;

use serde_yaml::Value;
use std::path::PathBuf;

fn deploy(path: &str) -> PathBuf {
    common::workspace().join("deploy").join(path)
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(deploy(path)).unwrap()).unwrap()
}

const RESOURCES: [&str; 5] = ["configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"];

#[test]
fn kubernetes_resources_validate_against_kubernetes_1_30() {
    let validator = common::workspace().join(".venv/bin/kubernetes-validate");
    if !validator.exists() {
        assert!(std::env::var("CI").is_err(), "CI must have {validator:?} (scripts/setup installs it)");
        eprintln!("skipped: {validator:?} missing (run scripts/setup)");
        return;
    }
    let files: Vec<PathBuf> = RESOURCES.iter().map(|f| deploy(&format!("k8s/{f}"))).collect();
    let out = std::process::Command::new(&validator).args(["--strict", "-k", "1.30.0"]).args(&files).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    // Every file the kustomization lists exists, and every resource is listed.
    let listed: Vec<String> = yaml("k8s/kustomization.yaml")["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut want: Vec<String> = RESOURCES.iter().map(|s| s.to_string()).collect();
    let mut got = listed.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn the_configmap_is_a_configuration_the_binary_accepts() {
    let toml = yaml("k8s/configmap.yaml")["data"]["infergate.toml"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("infergate.toml");
    std::fs::write(&config, &toml).unwrap();
    let out = common::infergate()
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["keys", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The deployment's probes are the server's health routes, on the port the config listens on.
    let d = yaml("k8s/deployment.yaml");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["readinessProbe"]["httpGet"]["path"].as_str(), Some("/v2/health/ready"));
    assert_eq!(c["livenessProbe"]["httpGet"]["path"].as_str(), Some("/v2/health/live"));
    assert!(toml.contains("0.0.0.0:8080"));
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));
}

#[test]
fn the_gateway_scales_out_on_a_shared_store() {
    let d = yaml("k8s/deployment.yaml");
    assert!(d["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &d["spec"]["template"]["spec"];
    let env = pod["containers"][0]["env"].as_sequence().unwrap();
    let var = |name: &str| env.iter().find(|e| e["name"].as_str() == Some(name)).unwrap_or_else(|| panic!("{name}"));
    let db = &var("INFERGATE_DATABASE_URL")["valueFrom"]["secretKeyRef"];
    assert_eq!((db["name"].as_str(), db["key"].as_str()), (Some("infergate-store"), Some("database-url")));
    assert!(var("INFERGATE_OBJECT_STORE")["value"].as_str().unwrap().starts_with("s3://"));
    // No volume ties the pods to one node or to one database file.
    for v in pod["volumes"].as_sequence().unwrap() {
        assert!(v.get("persistentVolumeClaim").is_none(), "{v:?}");
    }
    let hpa = yaml("k8s/hpa.yaml");
    assert!(hpa["spec"]["maxReplicas"].as_u64() > hpa["spec"]["minReplicas"].as_u64());
    assert_eq!(yaml("k8s/pdb.yaml")["spec"]["minAvailable"].as_u64(), Some(1));
    // The variables are the ones the binary reads.
    let config = std::fs::read_to_string(common::workspace().join("crates/cli/src/config.rs")).unwrap();
    assert!(config.contains("\"INFERGATE_DATABASE_URL\"") && config.contains("\"INFERGATE_OBJECT_STORE\""));
}

#[test]
fn the_knative_worker_scales_to_zero_with_flags_the_binary_knows() {
    let s = yaml("knative/service.yaml");
    assert_eq!((s["apiVersion"].as_str(), s["kind"].as_str()), (Some("serving.knative.dev/v1"), Some("Service")));
    let template = &s["spec"]["template"];
    assert_eq!(template["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"].as_str(), Some("0"));
    assert_eq!(template["spec"]["containerConcurrency"].as_u64(), Some(1));
    let container = &template["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(args[0], "worker");
    let help = common::infergate().args(["worker", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(help.contains(flag), "`infergate worker` has no {flag}:\n{help}");
    }
    assert_eq!(container["readinessProbe"]["httpGet"]["path"].as_str(), Some("/healthz"));
}

#[test]
fn the_dockerfile_builds_and_copies_this_workspaces_binary() {
    let text = std::fs::read_to_string(deploy("Dockerfile")).unwrap();
    assert!(text.contains("cargo build --release --locked -p infergate"), "{text}");
    assert!(text.contains("target/release/infergate"));
    let cli = std::fs::read_to_string(common::workspace().join("crates/cli/Cargo.toml")).unwrap();
    assert!(cli.contains("name = \"infergate\""), "the package the Dockerfile builds is the CLI");
    assert!(text.contains("ORT_DYLIB_PATH"), "the runtime image points Infergate at ONNX Runtime");
    assert!(text.contains("ENTRYPOINT [\"infergate\"]"));
}
