//! `infergate models add|list|activate|rollback|warm`.

use crate::client::ApiKeyArg;
use crate::config::Config;
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use infergate_core::{Layout, PreprocessSpec, Task};
use infergate_gateway::admin::{ActivationAnswer, WarmAnswer};
use infergate_gateway::registry::{add_model, check_loads, AddModel, ArtifactSource};
use std::path::PathBuf;

/// `infergate models …`
#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Register a model version from a local file or a URL (verified by SHA-256).
    Add(Box<AddArgs>),
    /// List registered model versions.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make a version the active one (loaded and checked first; with --server, by the
    /// running server, which switches without a cold start).
    Activate {
        /// Model name.
        name: String,
        /// Version to activate.
        version: i64,
        /// Ask this running server to do it (else: directly in the data directory).
        #[arg(long, env = "INFERGATE_SERVER")]
        server: Option<String>,
        // An admin key, with --server.
        #[command(flatten)]
        key: ApiKeyArg,
    },
    /// Make the version that was active before the current one active again.
    Rollback {
        /// Model name.
        name: String,
        /// Ask this running server to do it (else: directly in the data directory).
        #[arg(long, env = "INFERGATE_SERVER")]
        server: Option<String>,
        // An admin key, with --server.
        #[command(flatten)]
        key: ApiKeyArg,
    },
    /// Load instances of a model in a running server ahead of traffic.
    Warm {
        /// Model name.
        name: String,
        /// Version (default: the active one).
        #[arg(long)]
        version: Option<i64>,
        /// Instances to have loaded (default 1).
        #[arg(long)]
        count: Option<usize>,
        /// Server base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "INFERGATE_SERVER")]
        server: String,
        // An admin key: warming is an admin endpoint.
        #[command(flatten)]
        key: ApiKeyArg,
    },
}

/// Options of `infergate models add`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// Model name (letters, digits, '-', '_', '.').
    name: String,
    /// ONNX file to copy into the data directory.
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    file: Option<PathBuf>,
    /// URL to download the ONNX file from (needs --sha256).
    #[arg(long)]
    url: Option<String>,
    /// Expected SHA-256 of the file (hex); required with --url, checked with --file.
    #[arg(long)]
    sha256: Option<String>,
    /// Class names, one per line: a file path or an http(s) URL.
    #[arg(long)]
    labels: Option<String>,
    /// What the output means: imagenet or cat-dog.
    #[arg(long, default_value = "imagenet")]
    task: String,
    /// Version number (default: next).
    #[arg(long)]
    version: Option<i64>,
    /// Make this version active (the first version always is).
    #[arg(long)]
    activate: bool,
    /// Side of the square model input.
    #[arg(long, default_value_t = 224)]
    input_size: u32,
    /// Shorter side after resizing, before the centre crop (default: input size / 0.875).
    #[arg(long)]
    resize: Option<u32>,
    /// Per-channel mean, e.g. 0.485,0.456,0.406.
    #[arg(long, value_parser = parse_triplet)]
    mean: Option<[f32; 3]>,
    /// Per-channel std, e.g. 0.229,0.224,0.225.
    #[arg(long, value_parser = parse_triplet)]
    std: Option<[f32; 3]>,
    /// Input layout: nchw or nhwc.
    #[arg(long, default_value = "nchw")]
    layout: String,
    /// Inference library used to check the model loads: auto, ort or tract.
    #[arg(long)]
    runtime: Option<String>,
}

fn parse_triplet(s: &str) -> Result<[f32; 3], String> {
    let v: Vec<f32> =
        s.split(',').map(|x| x.trim().parse::<f32>()).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    v.try_into().map_err(|_| "expected three comma-separated numbers".to_string())
}

fn artifact_source(s: &str) -> ArtifactSource {
    if s.starts_with("http://") || s.starts_with("https://") {
        ArtifactSource::Url(s.to_string())
    } else {
        ArtifactSource::File(PathBuf::from(s))
    }
}

/// Runs a `models` subcommand.
pub async fn run(mut config: Config, cmd: ModelsCommand) -> Result<()> {
    match &cmd {
        ModelsCommand::Warm { name, version, count, server, key } => {
            let mut query = Vec::new();
            query.extend(version.map(|v| ("version", v.to_string())));
            query.extend(count.map(|c| ("count", c.to_string())));
            let answer: WarmAnswer = admin_post(server, key, &[name, "warm"], &query, None).await?;
            let loads: Vec<String> = answer.loaded_ms.iter().map(|ms| format!("{ms:.0} ms")).collect();
            let how = if loads.is_empty() {
                " (already warm)".into()
            } else {
                format!(" (loaded now: {})", loads.join(", "))
            };
            println!("{} v{}: {} instance(s) loaded{how}", answer.model, answer.version, answer.instances);
            return Ok(());
        }
        ModelsCommand::Activate { name, version, server: Some(server), key } => {
            let body = serde_json::json!({ "version": version });
            let answer: ActivationAnswer = admin_post(server, key, &[name, "activate"], &[], Some(body)).await?;
            return print_switch(&answer);
        }
        ModelsCommand::Rollback { name, server: Some(server), key } => {
            let answer: ActivationAnswer = admin_post(server, key, &[name, "rollback"], &[], None).await?;
            return print_switch(&answer);
        }
        _ => {}
    }
    let store = config.server.open_store().await?;
    match cmd {
        ModelsCommand::Warm { .. } => unreachable!("handled above"),
        ModelsCommand::Activate { name, version, .. } => {
            let spec = store.model_version(&name, version).await?.ok_or_else(|| {
                anyhow!("model {name:?} has no version {version} (infergate models list shows the versions)")
            })?;
            check_loads(&local_engine(&mut config)?, &store, &spec, &config.server.data_dir).await?;
            let (now, before) = store.activate_model_version(&name, version).await?;
            print_switch(&ActivationAnswer {
                model: now.name,
                version: now.version,
                previous_version: before,
                load_ms: None,
            })?;
        }
        ModelsCommand::Rollback { name, .. } => {
            let (from, to) = store
                .rollback_target(&name)
                .await?
                .ok_or_else(|| anyhow!("model {name:?} has no earlier active version to roll back to"))?;
            let spec =
                store.model_version(&name, to).await?.ok_or_else(|| anyhow!("version {to} of {name:?} vanished"))?;
            check_loads(&local_engine(&mut config)?, &store, &spec, &config.server.data_dir).await?;
            let now = store.rollback_model(&name, from, to).await?;
            print_switch(&ActivationAnswer {
                model: now.name,
                version: now.version,
                previous_version: Some(from),
                load_ms: None,
            })?;
        }
        ModelsCommand::Add(args) => {
            if let Some(r) = &args.runtime {
                config.runtime.runtime = r.clone();
            }
            let engine = local_engine(&mut config)?;
            let mut preprocess = PreprocessSpec::with_input_size(args.input_size);
            if let Some(r) = args.resize {
                preprocess.resize_shorter = r;
            }
            if let Some(m) = args.mean {
                preprocess.mean = m;
            }
            if let Some(s) = args.std {
                preprocess.std = s;
            }
            preprocess.layout = args.layout.parse::<Layout>().map_err(|e| anyhow!(e))?;
            let task: Task = args.task.parse()?;
            let source = match (args.file, args.url) {
                (Some(f), None) => ArtifactSource::File(f),
                (None, Some(u)) => ArtifactSource::Url(u),
                _ => bail!("give exactly one of --file and --url"),
            };
            let req = AddModel {
                name: args.name,
                version: args.version,
                source,
                sha256: args.sha256,
                labels: args.labels.as_deref().map(artifact_source),
                task,
                preprocess,
                activate: args.activate,
            };
            let spec = add_model(&store, &engine, &config.server.data_dir, req).await?;
            println!(
                "added {} v{} ({}, sha256 {}, {} classes){}",
                spec.name,
                spec.version,
                spec.task,
                spec.sha256,
                spec.num_classes(),
                if spec.active { ", active" } else { ", inactive" }
            );
        }
        ModelsCommand::List { json } => {
            let models = store.list_models().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&models)?);
            } else if models.is_empty() {
                println!("no models registered (infergate models add NAME --file model.onnx)");
            } else {
                println!(
                    "{:<20} {:>7} {:>6} {:<9} {:>8} {:<16} created",
                    "NAME", "VERSION", "ACTIVE", "TASK", "CLASSES", "SHA256"
                );
                for m in models {
                    println!(
                        "{:<20} {:>7} {:>6} {:<9} {:>8} {:<16} {}",
                        m.name,
                        m.version,
                        if m.active { "yes" } else { "" },
                        m.task.to_string(),
                        m.num_classes(),
                        &m.sha256[..16.min(m.sha256.len())],
                        m.created_at
                    );
                }
            }
        }
    }
    Ok(())
}

/// The engine used to check a model loads (one session is enough).
fn local_engine(config: &mut Config) -> Result<infergate_runtime::Engine> {
    config.runtime.sessions = 1;
    crate::engine::build(&config.runtime)
}

fn print_switch(a: &ActivationAnswer) -> Result<()> {
    let before = a.previous_version.map(|v| format!(" (was v{v})")).unwrap_or_default();
    let load = a.load_ms.map(|ms| format!("; loaded in {ms:.0} ms")).unwrap_or_default();
    println!("{} v{} is active{before}{load}", a.model, a.version);
    Ok(())
}

/// POSTs to `/v1/models/{segments…}` on a running server and decodes the JSON answer.
async fn admin_post<T: serde::de::DeserializeOwned>(
    server: &str,
    key: &ApiKeyArg,
    segments: &[&str],
    query: &[(&str, String)],
    body: Option<serde_json::Value>,
) -> Result<T> {
    let mut url = reqwest::Url::parse(server).map_err(|e| anyhow!("bad --server URL {server:?}: {e}"))?;
    url.path_segments_mut()
        .map_err(|_| anyhow!("bad --server URL {server:?}: not an http(s) URL"))?
        .pop_if_empty()
        .extend(["v1", "models"])
        .extend(segments);
    for (k, v) in query {
        url.query_pairs_mut().append_pair(k, v);
    }
    let mut request = reqwest::Client::new().post(url.clone());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = key
        .authorize(request)
        .send()
        .await
        .map_err(|e| anyhow!("cannot reach the server at {server} ({e}); is `infergate serve` running?"))?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("{url} answered HTTP {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}
