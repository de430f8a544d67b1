//! Print the power sources and telemetry found on this machine, then measure for one second.
//!
//! `cargo run -p infergate-sensors --example probe [-- <sysfs root>]` (add `--features nvml` for GPUs).

use std::path::PathBuf;
use std::time::Duration;

use infergate_sensors::telemetry::cpu_utilisation_pct;
use infergate_sensors::telemetry::{
    disk_usage, process_rss_bytes, read_cpu_stat, read_meminfo, read_thermal_zones, Pid,
};
use infergate_sensors::{discover_all, EnergyMeter};

fn main() {
    let root = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
    let discovery = discover_all(&root);
    for s in &discovery.sources {
        println!("source {} {:?} rail={} kind={:?}", s.name(), s.label(), s.rail(), s.kind());
    }
    for u in &discovery.unavailable {
        println!("unavailable {} {:?} rail={}: {}", u.name, u.label, u.rail, u.reason);
    }
    let before = read_cpu_stat(&root);
    let meter = EnergyMeter::from_discovery(discovery);
    for m in meter.idle_baseline(Duration::from_secs(1)) {
        println!("{}", describe(&m));
    }
    if let (Ok(a), Ok(b)) = (before, read_cpu_stat(&root)) {
        println!("cpu {:?} %", cpu_utilisation_pct(&a.total, &b.total));
    }
    println!("meminfo {:?}", read_meminfo(&root).map(|m| (m.total_kib, m.used_pct())));
    println!("rss {:?} bytes", process_rss_bytes(&root, Pid::SelfProcess));
    println!("disk {:?}", disk_usage(&root).map(|d| d.used_pct()));
    for z in read_thermal_zones(&root) {
        println!("thermal {} {} {:?} {:?}", z.zone, z.kind, z.celsius, z.error);
    }
}

fn describe(m: &infergate_sensors::Measurement) -> String {
    format!(
        "measurement {} {:?} rail={} energy_mj={:?} mean_mw={:?} samples={} {:.3}s {:?}",
        m.source, m.label, m.rail, m.energy_mj, m.mean_power_mw, m.samples, m.duration_s, m.error
    )
}
