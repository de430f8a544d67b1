mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::sleep;
use std::time::Duration;

use common::FakeRoot;
use infergate_sensors::{
    baseline_mw_for, discover_with, primary, DiscoverOptions, EnergyMeter, PowerSource, Rail, Reading, Result,
    SensorError, SourceKind,
};

/// Constant power, settable from the test.
struct FakePower {
    mw: Arc<AtomicU64>,
}

impl PowerSource for FakePower {
    fn name(&self) -> &str {
        "fake"
    }
    fn label(&self) -> &str {
        "power"
    }
    fn rail(&self) -> Rail {
        Rail::BoardInput
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Sampled
    }
    fn read(&mut self) -> Result<Reading> {
        Ok(Reading::Power { mw: self.mw.load(Ordering::SeqCst) as f64 })
    }
}

/// A counter that advances 7 mJ per read and wraps every 20 mJ (so it wraps on most reads).
struct FakeCounter {
    value: u64,
}

const STEP_UJ: u64 = 7_000;
const WRAP_UJ: u64 = 20_000;

impl PowerSource for FakeCounter {
    fn name(&self) -> &str {
        "fake"
    }
    fn label(&self) -> &str {
        "counter"
    }
    fn rail(&self) -> Rail {
        Rail::Package
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Counter
    }
    fn read(&mut self) -> Result<Reading> {
        self.value = (self.value + STEP_UJ) % WRAP_UJ;
        Ok(Reading::Energy { uj: self.value, range_uj: Some(WRAP_UJ) })
    }
}

struct Broken;

impl PowerSource for Broken {
    fn name(&self) -> &str {
        "rapl"
    }
    fn label(&self) -> &str {
        "package-0"
    }
    fn rail(&self) -> Rail {
        Rail::Package
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Counter
    }
    fn read(&mut self) -> Result<Reading> {
        Err(SensorError::PermissionDenied { path: "/sys/class/powercap/intel-rapl:0/energy_uj".into() })
    }
}

#[test]
fn no_sources_gives_none() {
    let meter = EnergyMeter::new(Vec::new());
    assert!(meter.is_empty());
    let (_, res) = meter.measure(|| sleep(Duration::from_millis(20)));
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].source, "none");
    assert_eq!(res[0].energy_mj, None);
    assert_eq!(res[0].mean_power_mw, None);
    assert!(res[0].duration_s >= 0.02);
    assert!(primary(&res).is_none());
}

#[test]
fn sampled_power_is_integrated() {
    let mw = Arc::new(AtomicU64::new(2000));
    let meter = EnergyMeter::new(vec![Box::new(FakePower { mw: mw.clone() })]).with_interval(Duration::from_millis(10));
    let (_, res) = meter.measure(|| sleep(Duration::from_millis(200)));
    let m = &res[0];
    assert_eq!((m.source.as_str(), m.label.as_str(), m.rail.clone()), ("fake", "power", Rail::BoardInput));
    assert!(m.samples >= 3, "{m:?}");
    assert!((m.mean_power_mw.unwrap() - 2000.0).abs() < 1e-6, "{m:?}");
    // Constant 2 W over ~0.2 s: energy = 2000 mW × span, span within the measured duration.
    let e = m.energy_mj.unwrap();
    assert!(e > 2000.0 * 0.19 && e <= 2000.0 * m.duration_s + 1e-9, "{m:?}");
    assert!(m.error.is_none());
}

#[test]
fn counters_wrap_many_times() {
    let meter = EnergyMeter::new(vec![Box::new(FakeCounter { value: 0 })]).with_interval(Duration::from_millis(5));
    let (_, res) = meter.measure(|| sleep(Duration::from_millis(100)));
    let m = &res[0];
    assert!(m.error.is_none(), "{m:?}");
    assert!(m.samples >= 3, "{m:?}");
    // Every read after the first adds 7 mJ, although the counter wraps every 20 mJ.
    assert_eq!(m.energy_mj, Some(7.0 * (m.samples - 1) as f64), "{m:?}");
    assert!(m.mean_power_mw.unwrap() > 0.0);
}

#[test]
fn failing_source_reports_error_not_zero() {
    let meter = EnergyMeter::new(vec![Box::new(Broken)]).with_interval(Duration::from_millis(10));
    let (_, res) = meter.measure(|| sleep(Duration::from_millis(30)));
    let m = &res[0];
    assert_eq!(m.energy_mj, None);
    assert_eq!(m.mean_power_mw, None);
    assert_eq!(m.samples, 0);
    assert!(m.error.as_deref().unwrap().contains("permission denied"), "{m:?}");
}

#[test]
fn idle_baseline_and_dynamic_energy() {
    let mw = Arc::new(AtomicU64::new(1500));
    let meter = EnergyMeter::new(vec![Box::new(FakePower { mw: mw.clone() })]).with_interval(Duration::from_millis(10));
    let baseline = meter.idle_baseline(Duration::from_millis(100));
    assert!((baseline[0].mean_power_mw.unwrap() - 1500.0).abs() < 1e-6);
    mw.store(2500, Ordering::SeqCst);
    let (_, res) = meter.measure(|| sleep(Duration::from_millis(100)));
    let b = baseline_mw_for(&baseline, &res[0]).unwrap();
    let dynamic = res[0].dynamic_energy_mj(b).unwrap();
    // (2500 − 1500) mW over ~0.1 s ≈ 100 mJ. The sampled span is a little shorter than
    // duration_s; the bound allows a 50 ms gap on a loaded machine and still tells a missing
    // baseline subtraction (≈ 250 mJ) apart.
    assert!((dynamic - 1000.0 * res[0].duration_s).abs() < 2500.0 * 0.05, "{dynamic} {:?}", res[0]);
}

#[test]
fn fake_sysfs_tree_end_to_end() {
    let root = FakeRoot::new();
    // RAPL package about to wrap, and an unreadable DRAM zone.
    root.write("/sys/class/powercap/intel-rapl:0/name", "package-0\n");
    root.write("/sys/class/powercap/intel-rapl:0/max_energy_range_uj", "1000000\n");
    root.write("/sys/class/powercap/intel-rapl:0/energy_uj", "999000\n");
    root.write("/sys/class/powercap/intel-rapl:0:0/name", "dram\n");
    std::fs::create_dir_all(root.at("/sys/class/powercap/intel-rapl:0:0/energy_uj")).unwrap();
    // Jetson Orin INA3221: 5 V × 1 A on VDD_IN.
    root.write("/sys/class/hwmon/hwmon0/name", "ina3221\n");
    root.write("/sys/class/hwmon/hwmon0/in1_label", "VDD_IN\n");
    root.write("/sys/class/hwmon/hwmon0/in1_input", "5000\n");
    root.write("/sys/class/hwmon/hwmon0/curr1_input", "1000\n");

    let discovery = discover_with(&DiscoverOptions::files_only(root.path()));
    assert_eq!(discovery.sources.len(), 2, "{discovery:?}");
    assert_eq!(discovery.unavailable.len(), 1);
    let meter = EnergyMeter::from_discovery(discovery).with_interval(Duration::from_millis(10));
    let running = meter.start();
    sleep(Duration::from_millis(50));
    // The counter wraps: 999000 → 4000 is 5000 µJ = 5 mJ.
    root.write("/sys/class/powercap/intel-rapl:0/energy_uj", "4000\n");
    sleep(Duration::from_millis(50));
    let res = running.stop();
    assert_eq!(res.len(), 3);

    let rapl = res.iter().find(|m| m.source == "rapl" && m.label == "package-0").unwrap();
    assert_eq!(rapl.energy_mj, Some(5.0));
    assert_eq!(rapl.rail, Rail::Package);
    let board = res.iter().find(|m| m.source == "hwmon:ina3221").unwrap();
    assert!((board.mean_power_mw.unwrap() - 5000.0).abs() < 1e-6, "{board:?}");
    let dram = res.iter().find(|m| m.label == "package-0/dram").unwrap();
    assert_eq!(dram.energy_mj, None);
    assert!(dram.error.is_some());
    assert_eq!(primary(&res).unwrap().label, "VDD_IN");
}
