//! `infergate route …`: where workloads should run — replaying traces under every strategy
//! (`evaluate`) and building labelled datasets from the simulator (`simulate`).

mod evaluate;
mod input;
mod live;
pub mod model;
mod report;
mod simulate;
mod train;

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
    /// Compare learners on a dataset (k-fold CV, held-out test), save the best as the router
    /// model the server's /predict loads, and per-platform latency and cost regressors.
    Train(Box<train::TrainArgs>),
}

/// Runs a `route` subcommand.
pub fn run(config: Config, cmd: RouteCommand) -> Result<()> {
    match cmd {
        RouteCommand::Evaluate(args) => evaluate::run(&config, *args),
        RouteCommand::Simulate(args) => simulate::run(*args),
        RouteCommand::Train(args) => train::run(&config.server.data_dir, *args),
    }
}
