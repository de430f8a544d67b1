//! `infergate route …`: where workloads should run — replaying traces under every strategy
//! (`evaluate`) and building labelled datasets from the simulator (`simulate`).

mod evaluate;
mod input;
mod report;
mod simulate;

use crate::config::Config;
use anyhow::Result;
use clap::Subcommand;

/// `infergate route …`
#[derive(Subcommand, Debug)]
pub enum RouteCommand {
    /// Replay a trace or scenario under lambda_only, ecs_only, classifier, policy and oracle:
    /// a table (or --json), charts (SVG + PNG), and the results stored for the dashboard.
    Evaluate(Box<evaluate::EvaluateArgs>),
    /// Build a labelled dataset (CSV: window features, per-platform outcomes, the seed's and
    /// the objective's labels) from a trace or scenario.
    Simulate(Box<simulate::SimulateArgs>),
}

/// Runs a `route` subcommand.
pub fn run(config: Config, cmd: RouteCommand) -> Result<()> {
    match cmd {
        RouteCommand::Evaluate(args) => evaluate::run(&config, *args),
        RouteCommand::Simulate(args) => simulate::run(*args),
    }
}
