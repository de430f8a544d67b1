//! The worker process behind the local backends (`infergate worker`): a small HTTP server
//! that runs one [`Handler`] — classify an image with a model, or burn CPU for a drawn
//! duration — one request at a time.
//!
//! - `POST /invoke`: the payload in, `{"result", "exec_ms", "pid", "invocations"}` out (and
//!   `X-Exec-Ms`); a second request while one runs gets 429 (`worker_busy`): the dispatcher
//!   never sends one, so it means a caller bypassed it.
//! - `GET /healthz`: `{"status":"ok", "handler", "pid", "invocations", "uptime_s"}`.
//!
//! The process prints its bound port on the first line of stdout once the handler is ready
//! (model loaded), so a parent that waits for that line measures a real cold start.

pub mod handler;
pub mod server;

pub use handler::{ClassifyHandler, Handler, HandlerError, SleepCpuHandler};
pub use server::{app, serve};
