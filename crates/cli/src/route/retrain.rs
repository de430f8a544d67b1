//! `infergate route retrain`: the router model and the latency and cost regressors trained
//! again on what the router really measured — the invocations `POST /v1/invoke/{function}`
//! recorded — optionally together with a simulated dataset. The artifacts are replaced
//! atomically where the server reads them, and a running server picks them up within a
//! second, without a restart.

use super::train::{train, LearnArgs};
use crate::config::Config;
use anyhow::{bail, Context, Result};
use clap::Args;
use infergate_dispatch::FunctionConfig;
use infergate_place::dataset::{header, write_csv, Row};
use infergate_place::measured::{measured_rows, MeasuredFunction, MeasuredInvocation, WindowCounts, Windowing};
use infergate_store::Invocation;
use serde_json::json;
use std::path::{Path, PathBuf};

/// `infergate route retrain …`
#[derive(Args, Debug)]
pub struct RetrainArgs {
    /// Window length, seconds: the invocations of each window become one row.
    #[arg(long, default_value_t = 300.0)]
    window_s: f64,
    /// Requests a platform must have served in a window for it to count as observed there.
    #[arg(long, default_value_t = 5)]
    min_requests: usize,
    /// Only invocations from this time on (RFC 3339, e.g. 2026-11-22T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Only these functions (repeat the flag; default: every configured function).
    #[arg(long = "function")]
    functions: Vec<String>,
    /// A dataset from `infergate route simulate` to train on as well (its rows first).
    #[arg(long)]
    base: Option<PathBuf>,
    /// Where to write the dataset built from the invocations (default:
    /// <data dir>/route/retrain-dataset.csv).
    #[arg(long)]
    dataset_out: Option<PathBuf>,
    #[command(flatten)]
    learn: LearnArgs,
}

/// Invocations read per query.
const PAGE: u32 = 1000;

pub fn run(config: &Config, args: RetrainArgs) -> Result<()> {
    if !(args.window_s.is_finite() && args.window_s >= 1.0) {
        bail!("--window-s must be at least 1 second");
    }
    if args.min_requests == 0 {
        bail!("--min-requests must be at least 1");
    }
    let since = match &args.since {
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .with_context(|| format!("--since {s:?}: use RFC 3339, e.g. 2026-11-22T00:00:00Z"))?
                .timestamp_millis() as f64
                / 1e3,
        ),
        None => None,
    };
    let chosen: Vec<&FunctionConfig> = if args.functions.is_empty() {
        config.functions.iter().collect()
    } else {
        let configured = || config.functions.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
        args.functions
            .iter()
            .map(|name| {
                config.functions.iter().find(|f| &f.name == name).with_context(|| {
                    format!(
                        "--function {name:?} is not configured (configured: {}); its SLO and memory size label \
                             its windows",
                        configured()
                    )
                })
            })
            .collect::<Result<_>>()?
    };
    if chosen.is_empty() {
        bail!("no functions configured: add [[functions]] to the config file (see the README's Live dispatch)");
    }
    let data_dir = &config.server.data_dir;
    let windowing = Windowing { window_s: args.window_s, min_requests: args.min_requests };
    let (rows, provenance) =
        tokio::runtime::Handle::current().block_on(measured(&config.server, &chosen, since, windowing))?;
    let labelled = rows.iter().filter(|r| r.labels.is_some()).count();
    let dataset = args.dataset_out.clone().unwrap_or_else(|| {
        infergate_gateway::placement::router_model_path(data_dir).with_file_name("retrain-dataset.csv")
    });
    let base_rows = write_dataset(&dataset, args.base.as_deref(), &rows)?;
    println!(
        "{} rows from measured invocations ({labelled} with both platforms observed, so labelled){} → {}",
        rows.len(),
        args.base.as_ref().map_or(String::new(), |b| format!(" + {base_rows} from {}", b.display())),
        dataset.display()
    );
    if labelled == 0 && base_rows == 0 {
        bail!(
            "no window saw both platforms serve at least {} requests, so none says which was better: send \
             traffic in hybrid mode (or some with ?mode=lambda and some with ?mode=ecs), lower --min-requests, \
             lengthen --window-s, or add --base with a `route simulate` dataset",
            args.min_requests
        );
    }
    let mut provenance = provenance;
    provenance["base"] = json!(args.base.as_ref().map(|b| b.display().to_string()));
    provenance["base_rows"] = json!(base_rows);
    train(data_dir, &dataset, &args.learn, Some(provenance))?;
    println!("a running server answers /predict with the new model within a second (no restart needed)");
    Ok(())
}

/// The rows of every chosen function, and what they came from (for the artifact).
async fn measured(
    server: &crate::config::ServerSection,
    functions: &[&FunctionConfig],
    since: Option<f64>,
    windowing: Windowing,
) -> Result<(Vec<Row>, serde_json::Value)> {
    let store = server.open_store().await?;
    let mut rows = Vec::new();
    let mut per_function = Vec::new();
    for f in functions {
        let mut invocations = Vec::new();
        let mut unreadable = 0usize;
        for page in 0.. {
            let batch = store.list_invocations(Some(&f.name), PAGE, page * PAGE as u64).await?;
            for i in &batch {
                match measured_invocation(i) {
                    Some(m) if since.is_none_or(|s| m.arrival_s >= s) => invocations.push(m),
                    Some(_) => {}
                    None => unreadable += 1,
                }
            }
            if batch.len() < PAGE as usize {
                break;
            }
        }
        let used = invocations.len();
        let function = MeasuredFunction {
            name: f.name.clone(),
            memory_mb: f.memory_mb,
            slo_ms: f.slo_ms,
            task_usd_per_hour: f.task_usd_per_hour,
            invocations,
        };
        let (mut function_rows, counts) = measured_rows(&function, windowing);
        print_counts(&f.name, used, unreadable, &counts);
        per_function
            .push(json!({"function": f.name, "invocations": used, "unreadable": unreadable, "windows": counts}));
        rows.append(&mut function_rows);
    }
    let provenance = json!({
        "source": "measured invocations",
        "window_s": windowing.window_s,
        "min_requests": windowing.min_requests,
        "functions": per_function,
    });
    Ok((rows, provenance))
}

fn print_counts(name: &str, used: usize, unreadable: usize, c: &WindowCounts) {
    println!(
        "{name}: {used} invocations{} in {} windows — {} with both platforms, {} lambda only, {} ecs only, {} with \
         too few requests",
        if unreadable > 0 { format!(" ({unreadable} unreadable, skipped)") } else { String::new() },
        c.windows,
        c.labelled,
        c.lambda_only,
        c.ecs_only,
        c.too_few
    );
}

/// One recorded invocation as the windows need it; `None` for a record with an unknown
/// platform or time.
fn measured_invocation(i: &Invocation) -> Option<MeasuredInvocation> {
    let on_lambda = match i.platform.as_str() {
        "lambda" => true,
        "ecs" => false,
        _ => return None,
    };
    let arrival = chrono::DateTime::parse_from_rfc3339(&i.created_at).ok()?;
    Some(MeasuredInvocation {
        arrival_s: arrival.timestamp_millis() as f64 / 1e3,
        on_lambda,
        ok: i.outcome == "ok",
        latency_ms: i.latency_ms,
        exec_ms: i.exec_ms.unwrap_or(i.latency_ms),
        cold_start: i.cold_start,
        cost_usd: i.cost_usd,
        payload_kb: i.payload_bytes as f64 / 1024.0,
    })
}

/// Writes the base dataset's rows (when given; its header must be this version's) then
/// `rows`; returns how many base rows there were.
fn write_dataset(path: &Path, base: Option<&Path>, rows: &[Row]) -> Result<usize> {
    let mut bytes = Vec::new();
    write_csv(rows, &mut bytes)?;
    let mut base_rows = 0;
    if let Some(base) = base {
        let mut reader = csv::Reader::from_path(base).with_context(|| format!("cannot read {}", base.display()))?;
        if reader.headers()?.iter().ne(header().iter().map(String::as_str)) {
            bail!(
                "{}: not a dataset of this version's columns; rebuild it with `infergate route simulate`",
                base.display()
            );
        }
        let mut merged = csv::Writer::from_writer(Vec::new());
        merged.write_record(header())?;
        for record in reader.records() {
            merged.write_record(&record.with_context(|| format!("{}: unreadable row", base.display()))?)?;
            base_rows += 1;
        }
        let mut measured = csv::Reader::from_reader(bytes.as_slice());
        for record in measured.records() {
            merged.write_record(&record?)?;
        }
        bytes = merged.into_inner().context("writing the dataset")?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(base_rows)
}
