//! `infergate route evaluate`: a trace replayed under every strategy.

use super::input::{self, PlatformArgs, TraceArgs};
use super::report;
use crate::config::Config;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// `infergate route evaluate …`
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    platforms: PlatformArgs,
    /// Print the table as JSON (`{"strategies": [...]}`) instead of text.
    #[arg(long)]
    json: bool,
    /// Directory for the table, summary.json and the charts (SVG + PNG).
    #[arg(long, default_value = "route-evaluation")]
    out: PathBuf,
    /// A router model (from `infergate route train`) for the `classifier` strategy; default:
    /// the data directory's route/router.json when there is one.
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Threads replaying functions (0: one per core); results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Play the --scenario for real, three times, against worker processes on this machine
    /// (all local-function, all local-container, hybrid) instead of simulating.
    #[arg(long, requires = "scenario")]
    live: bool,
    /// --live: always-on workers of `ecs_only` (default: sized for the scenario's p99 minute
    /// at 70 %).
    #[arg(long, requires = "live")]
    live_tasks: Option<usize>,
}

pub fn run(config: &Config, args: EvaluateArgs) -> Result<()> {
    if args.live {
        return run_live(config, &args);
    }
    let settings = input::settings(&args.platforms)?;
    let workloads = input::workloads(&args.trace, args.platforms.seed)?;
    let threads = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let bar = ProgressBar::new(workloads.len() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} functions, {elapsed} elapsed, ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let classifier_path = args.classifier.clone().or_else(|| {
        let default = infergate_gateway::placement::router_model_path(&config.server.data_dir);
        default.exists().then_some(default)
    });
    let classifier = match &classifier_path {
        Some(path) => Some(super::model::load_classifier(path).map_err(anyhow::Error::msg)?.0),
        None => {
            eprintln!("note: no router model (train one with `infergate route train`): no classifier row");
            None
        }
    };
    bar.set_message("replaying");
    let as_strategy = classifier.as_ref().map(|c| c as &dyn infergate_place::evaluate::PlatformClassifier);
    let evaluation = infergate_place::evaluate::evaluate(&workloads, &settings, as_strategy, threads, &|done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();

    let input = match (&args.trace.scenario, &args.trace.trace) {
        (Some(s), _) => format!("scenario {}", s.display()),
        (None, Some(t)) => format!("trace {}", t.display()),
        (None, None) => String::new(),
    };
    let summaries = evaluation.summaries();
    let table = report::table(&summaries);
    let document = report::document(&evaluation, &input, settings.history_windows);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print!("{table}");
        let history = match settings.history_windows {
            0 => String::new(),
            n => format!("; the first {n} per function history only"),
        };
        println!(
            "{} functions, {} windows scored ({} s each{history})",
            evaluation.functions, evaluation.windows_scored, settings.window_s
        );
    }
    let charts = report::charts(&evaluation, classifier.as_ref().map(|c| c.importance.as_slice()));
    report::write(&args.out, &document, &table, &charts)?;
    // A copy under the data directory, for the dashboard: route/evaluations/<UTC time>/ and
    // route/latest.txt naming it.
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let base = config.server.data_dir.join("route");
    report::write(&base.join("evaluations").join(&stamp), &document, &table, &charts)?;
    std::fs::write(base.join("latest.txt"), &stamp)?;
    eprintln!("charts and table in {} (and {})", args.out.display(), base.join("evaluations").join(&stamp).display());
    Ok(())
}

fn run_live(config: &Config, args: &EvaluateArgs) -> Result<()> {
    let path = args.trace.scenario.as_ref().expect("clap requires --scenario with --live");
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let scenario = infergate_place::scenario::Scenario::from_yaml(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if args.live_tasks == Some(0) {
        anyhow::bail!("--live-tasks must be at least 1");
    }
    let settings = input::settings(&args.platforms)?;
    let live = super::live::LiveSettings {
        scenario: &scenario,
        seed: args.platforms.seed,
        tasks: args.live_tasks,
        task_usd_per_hour: settings.task_usd_per_hour,
    };
    let rows =
        tokio::runtime::Handle::current().block_on(super::live::evaluate_live(&live, &config.server.data_dir))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "strategies": rows }))?);
    } else {
        print!("{}", super::live::table(&rows));
    }
    Ok(())
}
