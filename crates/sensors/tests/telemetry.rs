mod common;

use common::FakeRoot;
use infergate_sensors::telemetry::{
    cpu_utilisation_pct, disk_usage, process_rss_bytes, read_cpu_stat, read_meminfo, read_thermal_zones, Pid,
};
use infergate_sensors::SensorError;

#[test]
fn cpu_utilisation_from_two_proc_stat_reads() {
    let root = FakeRoot::new();
    // user nice system idle iowait irq softirq steal guest guest_nice
    root.write(
        "/proc/stat",
        "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1 2 3\nctxt 99\n",
    );
    let a = read_cpu_stat(root.path()).unwrap();
    root.write(
        "/proc/stat",
        "cpu  250 0 100 1000 50 0 0 0 0 0\ncpu0 200 0 75 400 25 0 0 0 0 0\ncpu1 50 0 25 600 25 0 0 0 0 0\nintr 1 2 3\n",
    );
    let b = read_cpu_stat(root.path()).unwrap();
    assert_eq!(a.per_cpu.len(), 2);
    // Δbusy = 150 + 50 = 200, Δidle = 200, Δtotal = 400 → 50 %.
    assert_eq!(cpu_utilisation_pct(&a.total, &b.total), Some(50.0));
    assert_eq!(cpu_utilisation_pct(&a.per_cpu[0], &b.per_cpu[0]), Some(100.0));
    assert_eq!(cpu_utilisation_pct(&a.per_cpu[1], &b.per_cpu[1]), Some(0.0));
    // No time passed, or counters going backwards: no value.
    assert_eq!(cpu_utilisation_pct(&a.total, &a.total), None);
    assert_eq!(cpu_utilisation_pct(&b.total, &a.total), None);
}

#[test]
fn proc_stat_missing_or_garbage() {
    let root = FakeRoot::new();
    assert!(matches!(read_cpu_stat(root.path()), Err(SensorError::NotFound { .. })));
    root.write("/proc/stat", "\u{0}\u{1}garbage\ncpu x y\n");
    assert!(read_cpu_stat(root.path()).is_err());
}

#[test]
fn rss_and_meminfo() {
    let root = FakeRoot::new();
    root.write("/proc/self/status", "Name:\tinfergate\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n");
    root.write("/proc/42/status", "Name:\tkthreadd\nThreads:\t1\n");
    assert_eq!(process_rss_bytes(root.path(), Pid::SelfProcess).unwrap(), 12345 * 1024);
    assert!(matches!(process_rss_bytes(root.path(), Pid::Id(42)), Err(SensorError::Unavailable(_))));
    assert!(matches!(process_rss_bytes(root.path(), Pid::Id(7)), Err(SensorError::NotFound { .. })));

    root.write("/proc/meminfo", "MemTotal:        8000000 kB\nMemFree:  1000000 kB\nMemAvailable:    2000000 kB\n");
    let m = read_meminfo(root.path()).unwrap();
    assert_eq!((m.total_kib, m.available_kib), (8_000_000, 2_000_000));
    assert_eq!(m.used_pct(), 75.0);
    // Old kernels: no MemAvailable.
    root.write("/proc/meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n");
    assert_eq!(read_meminfo(root.path()).unwrap().used_pct(), 60.0);
    root.write("/proc/meminfo", "garbage\n");
    assert!(read_meminfo(root.path()).is_err());
}

#[test]
fn real_proc_self_rss_is_positive() {
    // The real /proc, when present (Linux).
    if std::path::Path::new("/proc/self/status").exists() {
        assert!(process_rss_bytes(std::path::Path::new("/"), Pid::SelfProcess).unwrap() > 0);
    }
}

#[test]
fn thermal_zones() {
    let root = FakeRoot::new();
    root.write("/sys/class/thermal/thermal_zone0/type", "CPU-therm\n");
    root.write("/sys/class/thermal/thermal_zone0/temp", "33500\n");
    root.write("/sys/class/thermal/thermal_zone10/type", "GPU-therm\n");
    root.write("/sys/class/thermal/thermal_zone10/temp", "-5000\n");
    root.write("/sys/class/thermal/thermal_zone2/type", "acpitz\n");
    root.write("/sys/class/thermal/thermal_zone2/temp", "ERR\n");
    root.write("/sys/class/thermal/cooling_device0/type", "fan\n");
    let zones = read_thermal_zones(root.path());
    let got: Vec<(&str, &str, Option<f64>)> =
        zones.iter().map(|z| (z.zone.as_str(), z.kind.as_str(), z.celsius)).collect();
    assert_eq!(
        got,
        vec![
            ("thermal_zone0", "CPU-therm", Some(33.5)),
            ("thermal_zone2", "acpitz", None),
            ("thermal_zone10", "GPU-therm", Some(-5.0)),
        ]
    );
    assert!(zones[1].error.as_deref().unwrap().contains("cannot parse"));
    assert!(read_thermal_zones(&root.at("/nope")).is_empty());
}

#[test]
fn disk_usage_of_tempdir() {
    let root = FakeRoot::new();
    let d = disk_usage(root.path()).unwrap();
    assert!(d.total_bytes > 0);
    assert!(d.available_bytes <= d.free_bytes && d.free_bytes <= d.total_bytes);
    assert!((0.0..=100.0).contains(&d.used_pct()));
    assert!(disk_usage(&root.at("/does/not/exist")).is_err());
}
