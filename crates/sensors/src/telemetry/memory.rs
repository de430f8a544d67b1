//! Memory use from `/proc/meminfo` and process RSS from `/proc/<pid>/status`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SensorError};
use crate::sysfs::{read_string, under};

/// System memory, from `/proc/meminfo` (values in KiB, as the kernel prints them with "kB").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemInfo {
    /// MemTotal, KiB.
    pub total_kib: u64,
    /// MemAvailable, KiB (MemFree + Buffers + Cached on kernels older than 3.14).
    pub available_kib: u64,
}

impl MemInfo {
    /// Used memory in percent: 100 × (total − available) / total.
    pub fn used_pct(&self) -> f64 {
        if self.total_kib == 0 {
            return 0.0;
        }
        100.0 * self.total_kib.saturating_sub(self.available_kib) as f64 / self.total_kib as f64
    }
}

/// Value in kB of the `Key:   1234 kB` line of a procfs file.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Read `<root>/proc/meminfo`.
pub fn read_meminfo(root: &Path) -> Result<MemInfo> {
    let path = under(root, "/proc/meminfo");
    let text = read_string(&path)?;
    let total_kib = kib_field(&text, "MemTotal").ok_or_else(|| SensorError::parse("MemTotal", "/proc/meminfo", ""))?;
    let available_kib = kib_field(&text, "MemAvailable")
        .or_else(|| Some(kib_field(&text, "MemFree")? + kib_field(&text, "Buffers")? + kib_field(&text, "Cached")?))
        .ok_or_else(|| SensorError::parse("MemAvailable", "/proc/meminfo", ""))?;
    Ok(MemInfo { total_kib, available_kib })
}

/// Which process to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pid {
    /// `/proc/self`.
    SelfProcess,
    /// `/proc/<pid>`.
    Id(u32),
}

/// Resident set size of a process in bytes, from `VmRSS` in `<root>/proc/<pid>/status`.
/// Kernel threads have no `VmRSS`: that is an error, not 0.
pub fn process_rss_bytes(root: &Path, pid: Pid) -> Result<u64> {
    let rel = match pid {
        Pid::SelfProcess => "/proc/self/status".to_string(),
        Pid::Id(id) => format!("/proc/{id}/status"),
    };
    let path = under(root, &rel);
    let text = read_string(&path)?;
    kib_field(&text, "VmRSS")
        .map(|kib| kib.saturating_mul(1024))
        .ok_or_else(|| SensorError::Unavailable(format!("no VmRSS in {}", path.display())))
}
