//! `infergate route …`: where workloads should run — replaying traces under every strategy
//! (`evaluate`), building labelled datasets from the simulator (`simulate`), training the
//! router on them (`train`) and again on what live dispatch measured (`retrain`).

mod evaluate;
mod input;
mod live;
pub mod model;
mod report;
mod retrain;
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
    /// Train the router model and regressors again on the invocations live dispatch recorded
    /// (windows where both platforms served are labelled by what they measured), optionally
    /// with a simulated dataset; a running server swaps the new model in without a restart.
    Retrain(Box<retrain::RetrainArgs>),
}

/// Runs a `route` subcommand.
pub fn run(config: Config, cmd: RouteCommand) -> Result<()> {
    match cmd {
        RouteCommand::Evaluate(args) => evaluate::run(&config, *args),
        RouteCommand::Simulate(args) => simulate::run(*args),
        RouteCommand::Train(args) => train::run(&config.server.data_dir, *args),
        RouteCommand::Retrain(args) => retrain::run(&config, *args),
    }
}
