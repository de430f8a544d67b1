//! Azure Functions 2019 (Shahrad et al., "Serverless in the Wild"): per-minute invocation
//! counts per function, per-function duration percentiles and per-app memory percentiles.
//!
//! Both layouts found in the wild are read, by column name: the original
//! (`HashOwner,HashApp,HashFunction,Trigger,1,…,1440`) and the shared sample's
//! (`HashFunction,HashApp,HashOwner,minute_1,…,minute_1440`).

use super::{number, text, ReadReport, Table, TraceError};
use std::collections::HashMap;
use std::path::Path;

/// One function's invocations per minute of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationSeries {
    /// `HashFunction`.
    pub function: String,
    /// `HashApp`.
    pub app: String,
    /// `HashOwner`.
    pub owner: String,
    /// `Trigger` (http, timer, queue, …) when the file has it.
    pub trigger: Option<String>,
    /// Invocations in minute 1, 2, … of the day.
    pub per_minute: Vec<u32>,
}

impl InvocationSeries {
    /// Invocations over the whole day.
    pub fn total(&self) -> u64 {
        self.per_minute.iter().map(|&n| n as u64).sum()
    }
}

/// Execution time of one function over the day (milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct DurationStats {
    /// `HashFunction`.
    pub function: String,
    /// `HashApp`.
    pub app: String,
    /// Executions measured.
    pub count: u64,
    /// Mean.
    pub average_ms: f64,
    /// Percentiles `(p, ms)` for p in 0, 1, 25, 50, 75, 99, 100, ascending.
    pub percentiles: Vec<(f64, f64)>,
}

/// Allocated memory of one app over the day (MB).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryStats {
    /// `HashApp`.
    pub app: String,
    /// Samples taken.
    pub sample_count: u64,
    /// Mean allocated MB.
    pub average_mb: f64,
    /// Percentiles `(p, MB)`, ascending.
    pub percentiles: Vec<(f64, f64)>,
}

/// Reads the per-minute invocation counts.
pub fn read_invocations(path: &Path) -> Result<(Vec<InvocationSeries>, ReadReport), TraceError> {
    let mut table = Table::open(path)?;
    let (function, app, owner) = (table.column("HashFunction")?, table.column("HashApp")?, table.column("HashOwner")?);
    let trigger = table.find("Trigger");
    // Minute columns: `N` or `minute_N`, in minute order.
    let mut minutes: Vec<(u32, usize)> = table
        .header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.strip_prefix("minute_").unwrap_or(h).parse::<u32>().ok().map(|m| (m, i)))
        .collect();
    minutes.sort();
    if minutes.is_empty() || minutes.iter().enumerate().any(|(k, &(m, _))| m != k as u32 + 1) {
        return Err(TraceError::Format {
            path: path.to_path_buf(),
            message: "the minute columns are not 1, 2, 3, … (expected `1`… or `minute_1`…)".into(),
        });
    }
    Ok(table.read_all(|row| -> Result<InvocationSeries, String> {
        let per_minute = minutes
            .iter()
            .map(|&(m, i)| {
                let v = number(row, i, &format!("count of minute {m}"))?;
                if v.fract() != 0.0 || v > u32::MAX as f64 {
                    return Err(format!("count of minute {m} is not a whole number"));
                }
                Ok(v as u32)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(InvocationSeries {
            function: text(row, function, "HashFunction")?.to_string(),
            app: text(row, app, "HashApp")?.to_string(),
            owner: text(row, owner, "HashOwner")?.to_string(),
            trigger: trigger.and_then(|i| row.get(i)).map(str::trim).filter(|t| !t.is_empty()).map(String::from),
            per_minute,
        })
    }))
}

const DURATION_PERCENTILES: [(f64, &str); 7] = [
    (0.0, "percentile_Average_0"),
    (1.0, "percentile_Average_1"),
    (25.0, "percentile_Average_25"),
    (50.0, "percentile_Average_50"),
    (75.0, "percentile_Average_75"),
    (99.0, "percentile_Average_99"),
    (100.0, "percentile_Average_100"),
];

/// Reads the per-function duration percentiles. Rows whose percentiles are not ascending are
/// skipped (they cannot describe a distribution).
pub fn read_durations(path: &Path) -> Result<(Vec<DurationStats>, ReadReport), TraceError> {
    let mut table = Table::open(path)?;
    let (function, app, count, average) =
        (table.column("HashFunction")?, table.column("HashApp")?, table.column("Count")?, table.column("Average")?);
    let columns: Vec<(f64, usize)> =
        DURATION_PERCENTILES.iter().map(|&(p, c)| table.column(c).map(|i| (p, i))).collect::<Result<_, _>>()?;
    Ok(table.read_all(|row| -> Result<DurationStats, String> {
        Ok(DurationStats {
            function: text(row, function, "HashFunction")?.to_string(),
            app: text(row, app, "HashApp")?.to_string(),
            count: number(row, count, "Count")? as u64,
            average_ms: number(row, average, "Average")?,
            percentiles: percentiles(row, &columns)?,
        })
    }))
}

/// Reads the per-app memory percentiles.
pub fn read_memory(path: &Path) -> Result<(Vec<MemoryStats>, ReadReport), TraceError> {
    let mut table = Table::open(path)?;
    let (app, samples, average) =
        (table.column("HashApp")?, table.column("SampleCount")?, table.column("AverageAllocatedMb")?);
    let columns: Vec<(f64, usize)> = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 100.0]
        .iter()
        .map(|&p| table.column(&format!("AverageAllocatedMb_pct{p}")).map(|i| (p, i)))
        .collect::<Result<_, _>>()?;
    Ok(table.read_all(|row| -> Result<MemoryStats, String> {
        Ok(MemoryStats {
            app: text(row, app, "HashApp")?.to_string(),
            sample_count: number(row, samples, "SampleCount")? as u64,
            average_mb: number(row, average, "AverageAllocatedMb")?,
            percentiles: percentiles(row, &columns)?,
        })
    }))
}

fn percentiles(row: &csv::StringRecord, columns: &[(f64, usize)]) -> Result<Vec<(f64, f64)>, String> {
    let values: Vec<(f64, f64)> = columns
        .iter()
        .map(|&(p, i)| number(row, i, &format!("percentile {p}")).map(|v| (p, v)))
        .collect::<Result<_, _>>()?;
    if values.windows(2).any(|w| w[1].1 < w[0].1) {
        return Err("percentiles not ascending".into());
    }
    Ok(values)
}

/// The three files joined: each function's invocations with its durations and its app's
/// memory. Functions without duration statistics are skipped and counted in `report`.
#[derive(Debug, Clone)]
pub struct FunctionTrace {
    /// Invocations per minute.
    pub invocations: InvocationSeries,
    /// Execution time.
    pub durations: DurationStats,
    /// The app's memory, when the memory file has the app.
    pub memory: Option<MemoryStats>,
}

/// Reads and joins the invocation, duration and (optional) memory files.
pub fn load(
    invocations: &Path,
    durations: &Path,
    memory: Option<&Path>,
) -> Result<(Vec<FunctionTrace>, ReadReport), TraceError> {
    let (series, mut report) = read_invocations(invocations)?;
    let (stats, durations_report) = read_durations(durations)?;
    merge_skips(&mut report, &durations_report, "durations file");
    let mut by_function: HashMap<(String, String), DurationStats> =
        stats.into_iter().map(|d| ((d.function.clone(), d.app.clone()), d)).collect();
    let mut apps: HashMap<String, MemoryStats> = HashMap::new();
    if let Some(path) = memory {
        let (mem, memory_report) = read_memory(path)?;
        merge_skips(&mut report, &memory_report, "memory file");
        apps = mem.into_iter().map(|m| (m.app.clone(), m)).collect();
    }
    let mut out = Vec::new();
    report.read = 0;
    for s in series {
        match by_function.remove(&(s.function.clone(), s.app.clone())) {
            Some(d) => {
                report.read += 1;
                let memory = apps.get(&s.app).cloned();
                out.push(FunctionTrace { invocations: s, durations: d, memory });
            }
            None => report.skip(0, "function without duration statistics"),
        }
    }
    Ok((out, report))
}

fn merge_skips(into: &mut ReadReport, from: &ReadReport, file: &str) {
    for (reason, n) in &from.skipped {
        *into.skipped.entry(format!("{file}: {reason}")).or_default() += n;
    }
}
