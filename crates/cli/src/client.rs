//! `infergate classify --server URL FILE...`: a small client printing one line per file,
//! and the API key option every subcommand that talks to a server shares.

use anyhow::{bail, Result};
use clap::Args;
use infergate_core::ClassifyResponse;
use reqwest::RequestBuilder;
use std::path::PathBuf;

/// The API key sent to a server (`--api-key` or `INFERGATE_API_KEY`, never echoed in `--help`).
#[derive(Args, Debug, Clone, Default)]
pub struct ApiKeyArg {
    /// API key sent as `Authorization: Bearer` (not needed when the server runs with auth off).
    #[arg(long = "api-key", env = "INFERGATE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

impl ApiKeyArg {
    /// Adds the key to a request, if there is one.
    pub fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }
}

/// Options of `infergate classify`.
#[derive(Args, Debug)]
pub struct ClassifyArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "INFERGATE_SERVER")]
    server: String,
    #[command(flatten)]
    key: ApiKeyArg,
    /// Model name (default: the server's default).
    #[arg(long)]
    model: Option<String>,
    /// How many classes to print with --json.
    #[arg(long)]
    top_k: Option<usize>,
    /// Print each full JSON answer instead of a summary line.
    #[arg(long)]
    json: bool,
    /// Image files (JPEG, PNG, WebP).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Posts each file and prints `FILE<TAB>label<TAB>confidence …`, or the error.
pub async fn run(args: ClassifyArgs) -> Result<()> {
    let client = reqwest::Client::new();
    let mut url = format!("{}/v1/classify", args.server.trim_end_matches('/'));
    let mut query = Vec::new();
    if let Some(m) = &args.model {
        query.push(format!("model={m}"));
    }
    if let Some(k) = args.top_k {
        query.push(format!("top_k={k}"));
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let mut failures = 0;
    for file in &args.files {
        let line = match classify_file(&client, &args.key, &url, file).await {
            Ok((_, raw)) if args.json => raw.trim_end().replace('\n', " "),
            Ok((a, _)) => format!(
                "{}\t{}\t{:.4}\tmodel={} v{}\tcached={}\ttotal_ms={:.1}",
                file.display(),
                a.label,
                a.confidence,
                a.model.name,
                a.model.version,
                a.cached,
                a.timings_ms.total
            ),
            Err(e) => {
                failures += 1;
                format!("{}\terror: {e:#}", file.display())
            }
        };
        println!("{line}");
    }
    if failures > 0 {
        bail!("{failures} of {} files failed", args.files.len());
    }
    Ok(())
}

async fn classify_file(
    client: &reqwest::Client,
    key: &ApiKeyArg,
    url: &str,
    file: &PathBuf,
) -> Result<(ClassifyResponse, String)> {
    let bytes = tokio::fs::read(file).await?;
    let mime = match file.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    };
    let resp = key.authorize(client.post(url)).header("content-type", mime).body(bytes).send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or(text);
        bail!("HTTP {status}: {message}");
    }
    Ok((serde_json::from_str(&text)?, text))
}
