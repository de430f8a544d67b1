//! `infergate route simulate`: a labelled dataset (CSV) from replaying a trace or scenario on
//! both simulated platforms, window by window.

use super::input::{self, PlatformArgs, TraceArgs};
use anyhow::{Context, Result};
use clap::Args;
use infergate_place::dataset::{function_rows, write_csv};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// `infergate route simulate …`
#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    platforms: PlatformArgs,
    /// Where to write the dataset (CSV).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let settings = input::settings(&args.platforms)?;
    let workloads = input::workloads(&args.trace, args.platforms.seed)?;
    let rows: Vec<_> = workloads.iter().enumerate().flat_map(|(i, f)| function_rows(f, &settings, i as u64)).collect();
    let mut bytes = Vec::new();
    write_csv(&rows, &mut bytes)?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("cannot write {}", args.out.display()))?;
    let lambda_seed = rows.iter().filter(|r| r.labels.is_some_and(|l| l.seed == 1)).count();
    let lambda_objective = rows.iter().filter(|r| r.labels.is_some_and(|l| l.objective == 1)).count();
    println!(
        "{} rows ({} functions) → {}\nlabels (lambda / ecs): seed rule {} / {}, objective {} / {}\nsha256 {}",
        rows.len(),
        workloads.len(),
        args.out.display(),
        lambda_seed,
        rows.len() - lambda_seed,
        lambda_objective,
        rows.len() - lambda_objective,
        hex::encode(Sha256::digest(&bytes))
    );
    Ok(())
}
