//! CPU utilisation from two reads of `/proc/stat`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SensorError};
use crate::sysfs::{read_string, under};

/// Jiffy counters of one `cpu` line of `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTimes {
    /// user + nice (guest time is already included by the kernel).
    pub busy_user: u64,
    /// system + irq + softirq + steal.
    pub busy_system: u64,
    /// idle + iowait.
    pub idle: u64,
}

impl CpuTimes {
    /// All counted time.
    pub fn total(&self) -> u64 {
        self.busy_user.saturating_add(self.busy_system).saturating_add(self.idle)
    }
}

/// The aggregate `cpu` line and one entry per `cpuN` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStat {
    /// All CPUs together.
    pub total: CpuTimes,
    /// Per CPU, in file order.
    pub per_cpu: Vec<CpuTimes>,
}

fn parse_cpu_line(fields: &[&str]) -> Option<CpuTimes> {
    let n: Vec<u64> = fields.iter().map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let at = |i: usize| n.get(i).copied().unwrap_or(0);
    if n.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal guest guest_nice
    Some(CpuTimes { busy_user: at(0) + at(1), busy_system: at(2) + at(5) + at(6) + at(7), idle: at(3) + at(4) })
}

/// Parse the text of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Result<CpuStat> {
    let mut stat = CpuStat::default();
    let mut seen_total = false;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some(key) = it.next() else { continue };
        if !key.starts_with("cpu") {
            continue;
        }
        let fields: Vec<&str> = it.collect();
        let Some(times) = parse_cpu_line(&fields) else {
            return Err(SensorError::parse("cpu times", "/proc/stat", line));
        };
        if key == "cpu" {
            stat.total = times;
            seen_total = true;
        } else {
            stat.per_cpu.push(times);
        }
    }
    if !seen_total {
        return Err(SensorError::Unavailable("/proc/stat has no aggregate cpu line".into()));
    }
    Ok(stat)
}

/// Read `<root>/proc/stat`.
pub fn read_cpu_stat(root: &Path) -> Result<CpuStat> {
    parse_proc_stat(&read_string(&under(root, "/proc/stat"))?)
}

/// Busy share of the time between two reads, in percent (0–100):
/// 100 × (Δtotal − Δidle) / Δtotal. `None` when no time passed or the counters went backwards.
pub fn cpu_utilisation_pct(before: &CpuTimes, after: &CpuTimes) -> Option<f64> {
    let total = after.total().checked_sub(before.total())?;
    let idle = after.idle.checked_sub(before.idle)?;
    if total == 0 || idle > total {
        return None;
    }
    Some(100.0 * (total - idle) as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_stat() {
        assert!(parse_proc_stat("").is_err());
        assert!(parse_proc_stat("cpu a b c d").is_err());
        assert!(parse_proc_stat("cpu 1 2").is_err());
    }
}
