//! The seed's `device_metrics` (CPU, memory and disk use) plus the hottest thermal zone, from the
//! sensors crate's readers.

use std::path::PathBuf;

use infergate_core::fleet::DeviceMetrics;
use infergate_sensors::telemetry::CpuTimes;
use infergate_sensors::telemetry::{cpu_utilisation_pct, disk_usage, read_cpu_stat, read_meminfo, read_thermal_zones};
use parking_lot::Mutex;

/// Reads device metrics; CPU use is measured between consecutive reads.
#[derive(Debug)]
pub struct DeviceProbe {
    proc_root: PathBuf,
    sysfs_root: PathBuf,
    disk_path: PathBuf,
    cpu: Mutex<CpuGauge>,
}

#[derive(Debug, Default)]
struct CpuGauge {
    prev: Option<CpuTimes>,
    last: Option<f64>,
}

impl DeviceProbe {
    /// `/proc` under `proc_root`, thermal zones under `sysfs_root`, disk use of the file system
    /// holding `disk_path` (the data directory).
    pub fn new(proc_root: PathBuf, sysfs_root: PathBuf, disk_path: PathBuf) -> Self {
        let probe = DeviceProbe { proc_root, sysfs_root, disk_path, cpu: Mutex::new(CpuGauge::default()) };
        // The first CPU figure needs a previous read.
        probe.cpu_percent();
        probe
    }

    /// Busy share of all CPUs since the previous read (the last figure when no time passed).
    pub fn cpu_percent(&self) -> Option<f64> {
        let now = read_cpu_stat(&self.proc_root).ok()?.total;
        let mut gauge = self.cpu.lock();
        match gauge.prev.as_ref().and_then(|prev| cpu_utilisation_pct(prev, &now)) {
            Some(pct) => {
                gauge.last = Some(pct);
                gauge.prev = Some(now);
            }
            None if gauge.prev.is_none_or(|p| p.total() > now.total()) => gauge.prev = Some(now),
            None => {}
        }
        gauge.last
    }

    /// Memory in use, %.
    pub fn memory_percent(&self) -> Option<f64> {
        read_meminfo(&self.proc_root).ok().map(|m| m.used_pct())
    }

    /// Disk use of the data directory's file system, %.
    pub fn disk_percent(&self) -> Option<f64> {
        disk_usage(&self.disk_path).ok().map(|d| d.used_pct())
    }

    /// The hottest readable thermal zone, °C.
    pub fn temperature_c(&self) -> Option<f64> {
        read_thermal_zones(&self.sysfs_root).into_iter().filter_map(|z| z.celsius).max_by(f64::total_cmp)
    }

    /// All four.
    pub fn metrics(&self) -> DeviceMetrics {
        DeviceMetrics {
            cpu_percent: self.cpu_percent(),
            memory_percent: self.memory_percent(),
            disk_percent: self.disk_percent(),
            temperature_c: self.temperature_c(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_proc_and_thermal_tree() {
        let root = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w("proc/stat", "cpu 100 0 100 800 0 0 0 0 0 0\n");
        w("proc/meminfo", "MemTotal: 1000 kB\nMemAvailable: 250 kB\n");
        w("sys/class/thermal/thermal_zone0/temp", "41000\n");
        w("sys/class/thermal/thermal_zone1/temp", "52500\n");
        let probe = DeviceProbe::new(root.path().into(), root.path().into(), root.path().into());
        assert_eq!(probe.cpu_percent(), None, "no time passed yet");
        // 100 more busy jiffies and 100 idle ones: 50 %.
        w("proc/stat", "cpu 150 0 150 900 0 0 0 0 0 0\n");
        let m = probe.metrics();
        assert_eq!(m.cpu_percent, Some(50.0));
        assert_eq!(m.memory_percent, Some(75.0));
        assert_eq!(m.temperature_c, Some(52.5));
        assert!(m.disk_percent.is_some_and(|d| (0.0..=100.0).contains(&d)));
        // Nothing new: the last figure stands.
        assert_eq!(probe.cpu_percent(), Some(50.0));
        let empty = tempfile::tempdir().unwrap();
        let none = DeviceProbe::new(empty.path().into(), empty.path().into(), empty.path().join("nope"));
        assert_eq!(none.metrics(), DeviceMetrics::default());
    }
}
