//! One worker process (`infergate worker …`): started, waited for (it prints its port on the
//! first line of stdout once ready), called over loopback HTTP, killed when dropped.

use super::{BackendError, BackendFailure, Reply};
use crate::function::HandlerSpec;
use bytes::Bytes;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How to start a worker: the program (the `infergate` binary) and the arguments before the
/// handler's (`["worker"]`).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before the handler's.
    pub args: Vec<String>,
}

impl WorkerCommand {
    /// `program worker …`.
    pub fn infergate(program: PathBuf) -> Self {
        WorkerCommand { program, args: vec!["worker".into()] }
    }

    /// The full argument list for a handler (loopback, any free port).
    pub fn args_for(&self, handler: &HandlerSpec, seed: u64) -> Vec<String> {
        let mut args = self.args.clone();
        args.extend(["--addr".into(), "127.0.0.1:0".into(), "--exit-with-stdin".into()]);
        match handler {
            HandlerSpec::SleepCpu { exec_ms } => {
                args.extend(["--handler".into(), "sleep-cpu".into(), "--exec-ms".into()]);
                args.push(serde_json::to_string(exec_ms).expect("a distribution serialises"));
                args.extend(["--seed".into(), seed.to_string()]);
            }
            HandlerSpec::Classify { model, labels } => {
                args.extend(["--handler".into(), "classify".into(), "--model".into()]);
                args.push(model.display().to_string());
                if let Some(l) = labels {
                    args.extend(["--labels".into(), l.display().to_string()]);
                }
            }
        }
        args
    }
}

/// A running worker.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
    _stdin: Option<ChildStdin>,
    _stdout: ChildStdout,
    url: String,
    /// How long it took from exec to ready.
    pub startup: Duration,
}

impl WorkerProcess {
    /// Starts `program args` and waits up to `timeout` for its port line.
    pub async fn spawn(program: &PathBuf, args: &[String], timeout: Duration) -> Result<WorkerProcess, BackendError> {
        let started = Instant::now();
        let unavailable = |m: String| BackendError::new(BackendFailure::Unavailable, m);
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped()) // closed when we go: the worker exits with us
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| unavailable(format!("cannot start worker {}: {e}", program.display())))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| unavailable("worker has no stdout".into()))?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = tokio::time::timeout(timeout, reader.read_line(&mut line)).await;
        let port: u16 = match read {
            Ok(Ok(n)) if n > 0 => line.trim().parse().map_err(|_| {
                unavailable(format!("worker printed {:?} instead of its port on the first line", line.trim()))
            })?,
            Ok(_) => {
                let status = child.wait().await.map(|s| s.to_string()).unwrap_or_default();
                return Err(unavailable(format!("worker exited before it was ready ({status}); see its stderr")));
            }
            Err(_) => {
                return Err(unavailable(format!("worker not ready after {:.0} s", timeout.as_secs_f64())));
            }
        };
        Ok(WorkerProcess {
            child,
            _stdin: stdin,
            _stdout: reader.into_inner(),
            url: format!("http://127.0.0.1:{port}/invoke"),
            startup: started.elapsed(),
        })
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// POSTs `payload` to the worker's `/invoke`; `cold_start` and `extra_billed_ms` (its
    /// start-up, when it was started for this request) go into the reply.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        payload: Bytes,
        timeout: Duration,
        cold_start: bool,
        extra_billed_ms: f64,
    ) -> Result<Reply, BackendError> {
        let started = Instant::now();
        let outcome = client.post(&self.url).body(payload).timeout(timeout).send().await;
        let billed = |started: Instant| started.elapsed().as_secs_f64() * 1e3 + extra_billed_ms;
        let fail = |failure, message: String| BackendError { failure, message, cold_start, billed_ms: billed(started) };
        let response = outcome.map_err(|e| classify_reqwest(&e, "worker", timeout)).map_err(|(f, m)| fail(f, m))?;
        let status = response.status().as_u16();
        let content_type = content_type(&response);
        let body =
            response.bytes().await.map_err(|e| classify_reqwest(&e, "worker", timeout)).map_err(|(f, m)| fail(f, m))?;
        match status {
            200..=299 => {
                let exec_ms = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("exec_ms").and_then(|x| x.as_f64()));
                let Some(exec_ms) = exec_ms else {
                    return Err(fail(
                        BackendFailure::BadReply,
                        format!("the worker's answer is not its JSON: {}", preview(&body)),
                    ));
                };
                Ok(Reply { status, body, content_type, exec_ms: Some(exec_ms), cold_start, billed_ms: billed(started) })
            }
            429 => Err(fail(BackendFailure::Throttled, "the worker is busy (429)".into())),
            400..=499 => {
                Ok(Reply { status, body, content_type, exec_ms: None, cold_start, billed_ms: billed(started) })
            }
            _ => Err(fail(BackendFailure::ServerError, format!("the worker failed ({status}): {}", preview(&body)))),
        }
    }
}

/// The content type of a response, if any.
pub(crate) fn content_type(r: &reqwest::Response) -> Option<String> {
    r.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// A failed reqwest call as a failure kind and a sentence.
pub(crate) fn classify_reqwest(e: &reqwest::Error, who: &str, timeout: Duration) -> (BackendFailure, String) {
    if e.is_timeout() {
        (BackendFailure::Timeout, format!("the {who} did not answer within {:.1} s", timeout.as_secs_f64()))
    } else if e.is_connect() {
        (BackendFailure::Unavailable, format!("cannot connect to the {who}: {e}"))
    } else {
        let mut source: Option<&dyn std::error::Error> = Some(e);
        let mut chain = Vec::new();
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        (BackendFailure::BadReply, format!("the {who}'s answer is not valid HTTP: {}", chain.join(": ")))
    }
}

/// The first bytes of a body, printable.
pub(crate) fn preview(body: &[u8]) -> String {
    let head = &body[..body.len().min(80)];
    let text = String::from_utf8_lossy(head).replace(|c: char| c.is_control(), "?");
    if body.len() > head.len() {
        format!("{text:?}… ({} bytes)", body.len())
    } else {
        format!("{text:?}")
    }
}
