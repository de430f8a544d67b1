//! Azure Functions 2021 (Zhang et al.): one row per invocation,
//! `app,func,end_timestamp,duration` (seconds since the trace start, and seconds).

use super::{number, text, ReadReport, Table, TraceError};
use std::path::Path;

/// One invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// App hash.
    pub app: String,
    /// Function hash.
    pub func: String,
    /// When it started, seconds since the trace start (`end_timestamp - duration`).
    pub start_s: f64,
    /// How long it ran, seconds.
    pub duration_s: f64,
}

/// Reads the invocations, sorted by start time. Rows whose duration exceeds their end time
/// (a start before the trace) are skipped and counted.
pub fn read_invocations(path: &Path) -> Result<(Vec<Invocation>, ReadReport), TraceError> {
    let mut table = Table::open(path)?;
    let (app, func, end, duration) =
        (table.column("app")?, table.column("func")?, table.column("end_timestamp")?, table.column("duration")?);
    let (mut out, report) = table.read_all(|row| -> Result<Invocation, String> {
        let end_s = number(row, end, "end_timestamp")?;
        let duration_s = number(row, duration, "duration")?;
        if duration_s > end_s + 1e-6 {
            return Err("starts before the trace (duration > end_timestamp)".into());
        }
        Ok(Invocation {
            app: text(row, app, "app")?.to_string(),
            func: text(row, func, "func")?.to_string(),
            start_s: (end_s - duration_s).max(0.0),
            duration_s,
        })
    });
    out.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    Ok((out, report))
}
