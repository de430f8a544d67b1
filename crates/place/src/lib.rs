//! Placement: deciding where a workload should run — a serverless function (`lambda`), an
//! always-on container (`ecs`) or an edge device (`edge`).
//!
//! - [`traces`]: readers for the public traces the decisions are tested on (Azure Functions
//!   2019 and 2021, measured Lambda cold starts); malformed rows are skipped and counted.
//!
//! - [`scenario`]: synthetic workloads (YAML phases, the seed's workload types, execution-time
//!   distributions), shared with the live load generator.
//! - [`replay`]: a trace as a request stream, and the `ecs_only` fleet size.
//! - [`sim`]: discrete-event simulation of a request stream on Lambda and on containers.
//! - [`strategy`]: hybrid placement per window (k tasks + Lambda overflow), the hindsight
//!   oracle and the past-only policy.
//!
//! - [`features`]: what a decision looks at (the seed's four fields plus rate, burstiness,
//!   memory, duration, concurrency).
//! - [`evaluate`]: a trace replayed under every strategy, with latency, cost, regret and SLO
//!   violations; [`histogram`] keeps the latencies.
//! - [`dataset`]: labelled rows (features, per-platform outcomes, the seed's and the
//!   objective's labels) for training the router.
//! - [`measured`]: the same rows from invocations the router really forwarded, for retraining.
//! - [`router`]: the HTTP questions — the seed's `/predict` and `/v1/route` — without HTTP.

pub mod dataset;
pub mod evaluate;
pub mod features;
pub mod histogram;
pub mod measured;
pub mod replay;
pub mod router;
pub mod scenario;
pub mod sim;
pub mod strategy;
pub mod traces;
