//! `infergate route evaluate`: a trace replayed under every strategy.

use super::input::{self, PlatformArgs, TraceArgs};
use super::report;
use crate::config::Config;
use anyhow::Result;
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
    /// Threads replaying functions (0: one per core); results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

pub fn run(config: &Config, args: EvaluateArgs) -> Result<()> {
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
    bar.set_message("replaying");
    let evaluation = infergate_place::evaluate::evaluate(&workloads, &settings, None, threads, &|done| {
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
        println!(
            "{} functions, {} windows scored ({} s each; the first {} per function are the policy's history)",
            evaluation.functions, evaluation.windows_scored, settings.window_s, settings.history_windows
        );
    }
    let charts = report::charts(&evaluation, None);
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
