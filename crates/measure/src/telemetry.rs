//! What the machine and this process did around the measured runs: CPU use, memory, temperature.
//!
//! `/proc` is read under `proc_root` and the thermal zones under `sysfs_root` (both `/` in
//! production), so tests can point either at a fake tree.

use std::path::Path;
use std::time::Instant;

use infergate_sensors::telemetry::{
    cpu_utilisation_pct, process_cpu_pct, process_rss_bytes, read_cpu_stat, read_process_cpu, read_thermal_zones,
    CpuTimes, Pid, ProcessCpu,
};
use serde::{Deserialize, Serialize};

/// Telemetry over the measured runs; a value that could not be read is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// CPU time of this process over the runs ÷ their wall time, in percent of one core (as `top`
    /// shows it: 200 = two cores busy).
    pub cpu_percent: Option<f64>,
    /// Busy share of all CPUs of the machine over the runs, 0–100.
    pub system_cpu_percent: Option<f64>,
    /// Resident set size of this process after the runs, MB (10^6 bytes).
    pub rss_mb: Option<f64>,
    /// Highest temperature over the thermal zones after the runs, °C (`None` without a readable zone).
    pub temperature_c: Option<f64>,
    /// Type of the zone that temperature comes from (`x86_pkg_temp`, `CPU-therm`, ...).
    pub temperature_zone: Option<String>,
}

/// Counters read just before the measured runs.
#[derive(Debug, Clone)]
pub struct Before {
    at: Instant,
    process: Option<ProcessCpu>,
    system: Option<CpuTimes>,
}

/// Reads the CPU counters before the runs.
pub fn before(proc_root: &Path) -> Before {
    Before {
        at: Instant::now(),
        process: read_process_cpu(proc_root, Pid::SelfProcess).ok(),
        system: read_cpu_stat(proc_root).ok().map(|s| s.total),
    }
}

/// Reads the counters again after the runs and everything else once.
pub fn after(before: &Before, proc_root: &Path, sysfs_root: &Path) -> Telemetry {
    let wall_s = before.at.elapsed().as_secs_f64();
    let process = read_process_cpu(proc_root, Pid::SelfProcess).ok();
    let system = read_cpu_stat(proc_root).ok().map(|s| s.total);
    let hottest = read_thermal_zones(sysfs_root)
        .into_iter()
        .filter_map(|z| z.celsius.map(|c| (c, z.kind)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Telemetry {
        cpu_percent: before.process.zip(process).and_then(|(a, b)| process_cpu_pct(&a, &b, wall_s)),
        system_cpu_percent: before.system.zip(system).and_then(|(a, b)| cpu_utilisation_pct(&a, &b)),
        rss_mb: process_rss_bytes(proc_root, Pid::SelfProcess).ok().map(|b| b as f64 / 1e6),
        temperature_c: hottest.as_ref().map(|h| h.0),
        temperature_zone: hottest.map(|h| h.1).filter(|k| !k.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_a_fake_thermal_tree() {
        let fake = tempfile::tempdir().unwrap();
        for (zone, kind, temp) in [("thermal_zone0", "acpitz", "41000\n"), ("thermal_zone1", "x86_pkg_temp", "57500\n")]
        {
            let dir = fake.path().join("sys/class/thermal").join(zone);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("type"), kind).unwrap();
            std::fs::write(dir.join("temp"), temp).unwrap();
        }
        let b = before(Path::new("/"));
        // Keep a core busy for a moment so that the process used some CPU.
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_millis() < 30 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert_ne!(x, 1);
        let t = after(&b, Path::new("/"), fake.path());
        assert_eq!(t.temperature_c, Some(57.5));
        assert_eq!(t.temperature_zone.as_deref(), Some("x86_pkg_temp"));
        if cfg!(target_os = "linux") {
            assert!(t.rss_mb.unwrap() > 0.0);
            assert!(t.cpu_percent.is_some());
        }
        // No thermal zone: no temperature, not 0.
        let none = after(&b, Path::new("/"), &fake.path().join("nothing"));
        assert_eq!(none.temperature_c, None);
    }
}
