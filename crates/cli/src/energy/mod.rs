//! `infergate energy …`: profile a model, train an energy predictor for a device on measured models, score one
//! on other measurements.

mod calibrate;
mod profile;
mod train;

use crate::config::Config;
use anyhow::Result;
use clap::Subcommand;

/// `infergate energy …`
#[derive(Subcommand, Debug)]
pub enum EnergyCommand {
    /// Profile an ONNX model from its graph: parameters, MACs, FLOPs, size, layers, input size,
    /// depthwise convolutions and the share of MACs per kernel size.
    Profile(Box<profile::ProfileArgs>),
    /// Train a device's energy (and latency) predictor on measurements (the Jetson Nano files
    /// or the seed's schema): held-out-family evaluation printed, the predictor and the
    /// device's category thresholds saved.
    Train(Box<train::TrainArgs>),
    /// Calibrate a physics prior for a device from its first few measurements (e.g. `infergate
    /// bench` rows) on another device's profile; it answers for the device until one is trained.
    Calibrate(Box<calibrate::CalibrateArgs>),
    /// Score a trained predictor on other measurements (same CSV formats).
    Evaluate(Box<train::EvaluateArgs>),
}

/// Runs an `energy` subcommand.
pub fn run(config: Config, cmd: EnergyCommand) -> Result<()> {
    match cmd {
        EnergyCommand::Profile(args) => profile::run(*args),
        EnergyCommand::Train(args) => train::train(&config.server.data_dir, *args),
        EnergyCommand::Evaluate(args) => train::evaluate(*args),
        EnergyCommand::Calibrate(args) => calibrate::run(&config.server.data_dir, *args),
    }
}

/// The directory of the devices' predictors and priors under the data directory (the server
/// loads them from there).
pub fn energy_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("energy")
}

/// Where a device's predictor lives under the data directory.
pub fn predictor_path(data_dir: &std::path::Path, device: &str) -> std::path::PathBuf {
    infergate_energy::device::predictor_path(&energy_dir(data_dir), device)
}
