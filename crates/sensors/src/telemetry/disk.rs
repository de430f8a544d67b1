//! Disk use of the file system holding a path (statvfs).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SensorError};

/// Space on one file system, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskUsage {
    /// Size of the file system.
    pub total_bytes: u64,
    /// Free space, including blocks reserved for root.
    pub free_bytes: u64,
    /// Space available to unprivileged users.
    pub available_bytes: u64,
}

impl DiskUsage {
    /// Used space in percent as `df` computes it: used / (used + available).
    pub fn used_pct(&self) -> f64 {
        let used = self.total_bytes.saturating_sub(self.free_bytes);
        let denom = used + self.available_bytes;
        if denom == 0 {
            0.0
        } else {
            100.0 * used as f64 / denom as f64
        }
    }
}

/// Space on the file system that holds `path` (e.g. `/`, or the model directory).
#[cfg(unix)]
pub fn disk_usage(path: &Path) -> Result<DiskUsage> {
    let st = rustix::fs::statvfs(path).map_err(|e| SensorError::from_io(path, e.into()))?;
    let frsize = if st.f_frsize > 0 { st.f_frsize } else { st.f_bsize };
    Ok(DiskUsage {
        total_bytes: st.f_blocks.saturating_mul(frsize),
        free_bytes: st.f_bfree.saturating_mul(frsize),
        available_bytes: st.f_bavail.saturating_mul(frsize),
    })
}

/// Not supported off Unix.
#[cfg(not(unix))]
pub fn disk_usage(path: &Path) -> Result<DiskUsage> {
    Err(SensorError::Unavailable(format!("disk usage of {} is only supported on Unix", path.display())))
}
