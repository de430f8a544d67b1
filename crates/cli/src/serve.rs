//! `infergate serve`.

use crate::config::Config;
use crate::runtime_args::RuntimeOverrides;
use anyhow::{Context, Result};
use clap::Args;
use infergate_dispatch::{Dispatcher, InvocationRecorder, WorkerCommand};
use infergate_gateway::keys::{issue_first_admin_key, IssuedKey};
use infergate_gateway::metrics::Metrics;
use infergate_gateway::{router, AppState, AuthMode};
use infergate_runtime::InstancePool;
use infergate_store::Store;
use std::sync::Arc;

/// Options of `infergate serve` (each overrides the config file and environment).
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Listen address, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long)]
    addr: Option<String>,
    #[command(flatten)]
    runtime: RuntimeOverrides,
    /// Most images run as one batch (1 turns batching off).
    #[arg(long)]
    max_batch: Option<usize>,
    /// Longest the first request of a batch waits for more, in milliseconds.
    #[arg(long)]
    max_delay_ms: Option<f64>,
    /// Seconds an idle model instance stays loaded.
    #[arg(long)]
    keep_alive_s: Option<f64>,
    /// Instances of each active model version kept loaded however idle.
    #[arg(long)]
    min_warm: Option<usize>,
    /// Log lines as `text` or `json` (one JSON object per line).
    #[arg(long)]
    log_format: Option<String>,
}

/// Starts the gateway and runs until Ctrl-C or SIGTERM.
pub async fn run(mut config: Config, args: ServeArgs) -> Result<()> {
    if let Some(f) = &args.log_format {
        config.server.log_format = f.clone();
    }
    crate::process::init_logging(&config.server.log_format, "info,tower_http=warn")?;
    if let Some(v) = args.addr {
        config.server.addr = v;
    }
    args.runtime.apply(&mut config.runtime);
    let serving = &mut config.serving;
    serving.max_batch = args.max_batch.unwrap_or(serving.max_batch);
    serving.max_delay_ms = args.max_delay_ms.unwrap_or(serving.max_delay_ms);
    serving.keep_alive_s = args.keep_alive_s.unwrap_or(serving.keep_alive_s);
    serving.min_warm = args.min_warm.unwrap_or(serving.min_warm);
    config.validate()?;
    crate::lambda::seed_data_dir(&config.server.data_dir)?;
    let engine = crate::engine::build(&config.runtime)?;
    eprintln!("{}", engine.describe());
    let data_dir = config.server.data_dir.clone();
    let store = config.server.open_store().await?;
    let models = store.list_models().await?;
    // Model files registered before the object store held them (or copied in by hand) are
    // put there, so that every replica can fetch every version.
    let published = infergate_gateway::registry::publish_local_artifacts(&store, &data_dir, &models).await?;
    if published > 0 {
        eprintln!("store: put {published} model file(s) from {} into the object store", data_dir.display());
    }
    let first_admin_key = match config.server.auth {
        AuthMode::On => issue_first_admin_key(&store).await.context("cannot create the first admin key")?,
        AuthMode::Off => None,
    };
    let metrics = Arc::new(Metrics::new(std::time::Duration::from_secs_f64(config.alarms.window_s)));
    let policy = config.serving.policy_with(config.runtime.sessions);
    let pool = Arc::new(InstancePool::new(engine, policy).with_observer(metrics.clone()));
    let access = config.server.access();
    let (limits, pricing) = (config.limits.clone(), config.pricing.clone());
    let state = AppState::new(store, pool.clone(), limits, access, data_dir.clone(), metrics, pricing).with_router(
        std::sync::Arc::new(crate::route::model::load_router),
        infergate_place::sim::lambda::LambdaConfig::default(),
        infergate_core::pricing::fargate_usd_per_hour(0.25, 0.5),
    );
    let dispatcher = match config.functions.is_empty() {
        true => None,
        false => Some(Arc::new(start_dispatcher(&config, state.store().clone()).await?)),
    };
    let state = match &dispatcher {
        Some(d) => state.with_dispatcher(d.clone()),
        None => state,
    }
    .with_energy_dir(crate::energy::energy_dir(&data_dir))
    .with_fleet(config.fleet.controller());
    keep_warm(&state, &models, config.serving.min_warm);
    tokio::spawn(reap_idle_instances(pool));
    tokio::spawn(infergate_gateway::alarms::monitor(state.clone(), config.alarms.clone()));
    tokio::spawn(infergate_gateway::history::retention_sweep(state.clone()));
    tokio::spawn(infergate_gateway::fleet::telemetry_retention_sweep(state.clone()));
    if crate::lambda::in_lambda() {
        // Inside AWS Lambda the runtime API hands out the requests: no listener (see lambda.rs).
        tokio::spawn(infergate_gateway::replicas::heartbeat(state.clone(), "aws-lambda".into()));
        return crate::lambda::run(router(state), first_admin_key.as_ref().map(|k| k.key.id.as_str())).await;
    }
    let listener = tokio::net::TcpListener::bind(&config.server.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.addr))?;
    let addr = listener.local_addr()?;
    // Known to the other replicas on the database before the first request (rate shares).
    let replicas = infergate_gateway::replicas::beat(&state, &addr.to_string()).await?;
    if replicas > 1 {
        eprintln!("replicas: {replicas} gateways share this database (per-key rates are divided among them)");
    }
    let heartbeat = tokio::spawn(infergate_gateway::replicas::heartbeat(state.clone(), addr.to_string()));
    let leaving = state.clone();
    // The first line of stdout is the address, for scripts and tests that start us on port 0.
    println!("listening on http://{addr}");
    if let Some(issued) = &first_admin_key {
        print_first_admin_key(issued);
    }
    match config.server.auth {
        AuthMode::On => eprintln!("auth: on (API keys required; `infergate keys list` shows them)"),
        AuthMode::Off => tracing::warn!(
            "auth is off: every endpoint is open to anyone who can reach {addr}; for local development only \
             (INFERGATE_AUTH=on or [server] auth = \"on\" turns API keys on)"
        ),
    }
    if models.is_empty() {
        eprintln!(
            "no model registered yet: add one with\n  infergate models add mobilenet --file model.onnx --labels \
             imagenet_classes.txt --task cat-dog --data-dir {}\n(see the README for the ONNX Model Zoo URL and its SHA-256)",
            data_dir.display()
        );
    } else {
        let active: Vec<String> =
            models.iter().filter(|m| m.active).map(|m| format!("{} v{}", m.name, m.version)).collect();
        eprintln!("models: {}", active.join(", "));
    }
    // On SIGTERM or Ctrl-C: stop accepting, let in-flight and queued requests finish, but
    // for at most `shutdown_timeout_s`.
    let drain = std::time::Duration::from_secs_f64(config.server.shutdown_timeout_s);
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        crate::process::shutdown_signal().await;
        tracing::info!("shutting down: finishing the requests in flight (at most {:.0} s)", drain.as_secs_f64());
        let _ = signalled.send(());
    };
    let header_timeout = std::time::Duration::from_secs_f64(config.server.header_read_timeout_s);
    let server = serve_http(listener, router(state), header_timeout, shutdown);
    let deadline = async move {
        if on_signal.await.is_ok() {
            tokio::time::sleep(drain).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = server => {}
        _ = deadline => tracing::warn!("requests still running after {:.0} s; exiting anyway", drain.as_secs_f64()),
    }
    heartbeat.abort();
    infergate_gateway::replicas::leave(&leaving).await;
    if let Some(d) = dispatcher {
        d.shutdown().await;
    }
    Ok(())
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// the open connections to finish their requests (idle ones are closed at once).
///
/// Like `axum::serve`, plus a limit on how long a client may take to send a request's headers
/// (`server.header_read_timeout_s`): a connection that opens and trickles its headers, or sends
/// nothing, is closed then, so slow clients cannot pile up connections (slowloris). Between
/// keep-alive requests the same limit closes idle connections.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_read_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    // HTTP/1 only (and no upgrades, which the API does not use): detecting HTTP/2 would wait
    // for the first bytes without any time limit.
    let builder = builder.http1_only();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection closed: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Starts the configured functions' backends (container workers are up when this returns);
/// their workers are this binary's `worker` subcommand.
async fn start_dispatcher(config: &Config, store: Store) -> Result<Dispatcher> {
    let exe = std::env::current_exe().context("cannot find this executable to start workers")?;
    let recorder = InvocationRecorder::start(store);
    let d = Dispatcher::start(&config.functions, &WorkerCommand::infergate(exe), config.breaker, recorder)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let names: Vec<String> = d
        .status()
        .iter()
        .map(|f| {
            let platforms: Vec<String> =
                f.platforms.iter().map(|p| format!("{}={}", p.platform.as_str(), p.backend)).collect();
            format!("{} ({})", f.name, platforms.join(", "))
        })
        .collect();
    eprintln!("functions: {}", names.join("; "));
    Ok(d)
}

/// Prints the admin key created on the first start, to stdout only (never to the log).
fn print_first_admin_key(issued: &IssuedKey) {
    println!("first start: created admin API key {}; its token is shown only this once, save it now:", issued.key.id);
    println!("{}", issued.token);
    println!(
        "send it as `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN`; create client keys with \
         `infergate keys create --role client`"
    );
}

/// Marks every active version to keep `min_warm` instances and starts loading them.
fn keep_warm(state: &AppState, models: &[infergate_core::ModelSpec], min_warm: usize) {
    if min_warm == 0 {
        return;
    }
    for spec in models.iter().filter(|m| m.active) {
        let (state, spec) = (state.clone(), Arc::new(spec.clone()));
        tokio::spawn(async move {
            let path = match state.artifact(&spec).await {
                Ok(path) => path,
                Err(e) => {
                    return tracing::warn!(model = %spec.name, version = spec.version, "could not warm: {}", e.message)
                }
            };
            let version = state.pool().version(&spec, || path);
            version.set_min_warm(min_warm);
            let timeout = state.config().load_timeout();
            let warmed = tokio::task::spawn_blocking(move || version.warm(min_warm, timeout)).await;
            if let Ok(Err(e)) = warmed {
                tracing::warn!(model = %spec.name, version = spec.version, "could not warm: {e}");
            }
        });
    }
}

/// Once a second, unloads instances idle past the keep-alive.
async fn reap_idle_instances(pool: Arc<InstancePool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        pool.reap();
    }
}
