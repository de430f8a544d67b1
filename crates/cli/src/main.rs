//! `infergate`: the one binary. Each subcommand wires the library crates together; the
//! logic lives in those crates.

mod agent;
mod bench;
mod bench_http;
mod client;
mod config;
mod devices;
mod energy;
mod engine;
mod keys;
mod lambda;
mod load;
mod models;
mod process;
mod route;
mod runtime_args;
mod serve;
mod store_cmd;
mod train;
mod worker;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "infergate", version, about = "Serve ML models over HTTP and decide where each inference runs")]
struct Cli {
    /// Configuration file (TOML); INFERGATE_* variables and flags override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (database, images, model files).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Metadata database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB (default: the data directory's SQLite file).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Object store for images and model files: s3://bucket/prefix (AWS_* variables) or a directory (default: DATA_DIR/objects).
    #[arg(long, global = true)]
    object_store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP gateway.
    Serve(serve::ServeArgs),
    /// Register and list models.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Train a cat/dog head on a base model's features and register it as a model version.
    TrainHead(Box<train::TrainHeadArgs>),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Add, rotate, revoke and list the edge devices the controller manages (tokens for `infergate agent`).
    #[command(subcommand)]
    Devices(devices::DevicesCommand),
    /// Copy a whole store (database rows and objects) into another, e.g. SQLite to PostgreSQL and S3.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// Classify image files with a running server, one line per file.
    Classify(client::ClassifyArgs),
    /// Measure the server, the in-process floor or a peer, for side-by-side benchmarks.
    BenchHttp(bench_http::BenchArgs),
    /// Benchmark one model on this device: latency, throughput, telemetry and energy per inference; appends a CSV row.
    Bench(Box<bench::BenchArgs>),
    /// Placement: replay traces under every strategy, build datasets, train the router.
    #[command(subcommand)]
    Route(route::RouteCommand),
    /// Energy per inference on edge devices: train and evaluate predictors.
    #[command(subcommand)]
    Energy(energy::EnergyCommand),
    /// Open-loop HTTP load from a scenario: p50/p95/p99, errors, throughput, raw latencies CSV.
    Load(load::LoadArgs),
    /// A worker process of the local backends: POST /invoke, GET /healthz; prints its port.
    Worker(worker::WorkerArgs),
    /// The edge agent on a device: the seed's /status, /deploy, /inference/start|stop; heartbeats and telemetry.
    Agent(Box<agent::AgentArgs>),
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse_from(lambda::args());
    let mut config = config::Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.server.data_dir = dir;
    }
    if let Some(url) = cli.database_url {
        config.server.database_url = Some(url);
    }
    if let Some(url) = cli.object_store {
        config.server.object_store = Some(url);
    }
    let command = match cli.command {
        Command::Worker(args) => return worker::run(config, args),
        other => other,
    };
    // Inference runs on the model instances' own threads; the async threads only carry HTTP
    // and storage, so they can be fewer than the cores (`server.async_threads`, 0 = one per core).
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if config.server.async_threads > 0 {
        builder.worker_threads(config.server.async_threads);
    }
    let runtime = builder.enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Serve(args) => serve::run(config, args).await,
            Command::Models(cmd) => models::run(config, cmd).await,
            Command::TrainHead(args) => train::run(config, *args).await,
            Command::Keys(cmd) => keys::run(config, cmd).await,
            Command::Devices(cmd) => devices::run(config, cmd).await,
            Command::Store(cmd) => store_cmd::run(config, cmd).await,
            Command::Classify(args) => client::run(args).await,
            Command::BenchHttp(args) => bench_http::run(config, args).await,
            Command::Bench(args) => tokio::task::block_in_place(|| bench::run(config, *args)),
            Command::Route(cmd) => tokio::task::block_in_place(|| route::run(config, cmd)),
            Command::Energy(cmd) => tokio::task::block_in_place(|| energy::run(config, cmd)),
            Command::Load(args) => load::run(args).await,
            Command::Agent(args) => agent::run(config, *args).await,
            Command::Worker(_) => unreachable!("handled above"),
        }
    })
}
