//! Live placement: `POST /v1/invoke/{function}` forwarded to the platform the policy chose,
//! measured, priced and recorded.
//!
//! - [`function`]: what a function is (handler, memory, SLO, payload limit, which backend
//!   serves each platform, the routing mode), read from the configuration.
//! - [`backend`]: one [`backend::Backend`] trait with three kinds — `local-function`
//!   (serverless-style worker processes started on demand, one request each at a time, stopped
//!   after a keep-alive: real cold starts), `local-container` (a fixed pool of always-on
//!   workers with a queue) and `http` (any URL, pooled connections, timeouts, retries within
//!   a budget).
//! - [`breaker`]: a circuit breaker per backend (open after N consecutive failures, one
//!   half-open probe after a pause).
//! - [`dispatcher`]: choosing the platform (the hybrid sends the container what it can take
//!   now and the overflow to functions), one fallback to the other platform, latency and cost.
//! - [`recorder`]: every invocation written to the store, in batches, exactly once.
//! - [`load`]: open-loop load from a scenario's arrivals, and its summary (p50/p95/p99,
//!   errors, throughput, routing, cost).

pub mod backend;
pub mod breaker;
pub mod dispatcher;
pub mod function;
pub mod load;
pub mod recorder;

pub use backend::{Backend, BackendError, BackendFailure, Reply};
pub use breaker::{BreakerConfig, CircuitBreaker};
pub use dispatcher::{DispatchError, Dispatcher, InvokeAnswer, WorkerCommand};
pub use function::{BackendConfig, FunctionConfig, HandlerSpec, Platform, RoutingMode};
pub use recorder::InvocationRecorder;
