//! The benchmark loop on the real MobileNetV2 (tract), with power from nowhere, from a fake RAPL
//! tree whose counter moves while the model runs, and from meter and tegrastats logs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use infergate_measure::power::unix_now;
use infergate_measure::{run_bench, BenchConfig, Input, PowerInput};
use infergate_runtime::tract_backend::TractBackend;
use infergate_runtime::Backend;
use infergate_sensors::Rail;

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/mobilenetv2-12-fp32.onnx")
}

fn config(runs: usize, idle_ms: u64, sysfs_root: &Path) -> BenchConfig {
    BenchConfig {
        runs,
        warmup: 1,
        idle: Duration::from_millis(idle_ms),
        proc_root: PathBuf::from("/"),
        sysfs_root: sysfs_root.to_path_buf(),
    }
}

/// Writes `content` to `path` atomically, as sysfs files change.
fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn mobilenet_without_sensor_then_with_a_moving_rapl_counter() {
    let backend = TractBackend::load(&model()).expect("the shared MobileNetV2 loads in tract");
    let input = Input::synthetic(backend.io(), 42).unwrap();
    assert_eq!(input.shape, vec![1, 3, 224, 224]);

    // No sensor at all: energy is empty, never invented.
    let empty = tempfile::tempdir().unwrap();
    let none = PowerInput::discover(Some(empty.path()));
    let r = run_bench(&backend, &input, &config(3, 0, empty.path()), &none).unwrap();
    assert_eq!((r.runs, r.warmup, r.latency_ms.count), (3, 1, 3));
    assert!(r.latency_ms.min_ms > 0.0 && r.latency_ms.min_ms <= r.latency_ms.p50_ms);
    assert!(r.latency_ms.p50_ms <= r.latency_ms.p95_ms && r.latency_ms.p95_ms <= r.latency_ms.max_ms);
    assert!(r.throughput_iter_per_s > 0.0);
    assert!((r.throughput_iter_per_s * r.wall_s - 3.0).abs() < 1e-6);
    assert_eq!(r.energy.source, "none");
    assert!(r.energy.energy_total_mwh.is_none() && r.energy.energy_dynamic_mwh.is_none());
    assert!(r.energy.power_avg_mw.is_none() && r.energy.rail.is_none());
    assert!(r.energy.looked_for[0].contains("powercap"), "{:?}", r.energy.looked_for);
    assert_eq!(r.telemetry.temperature_c, None);
    assert!(r.telemetry.rss_mb.unwrap() > 10.0, "the model is loaded: {:?}", r.telemetry.rss_mb);

    // A RAPL package whose counter a thread advances by 10 mJ every 5 ms (about 2 W).
    let fake = tempfile::tempdir().unwrap();
    let zone = fake.path().join("sys/class/powercap/intel-rapl:0");
    write(&zone.join("name"), "package-0\n");
    write(&zone.join("max_energy_range_uj"), "262143328850\n");
    write(&zone.join("energy_uj"), "1000\n");
    let stop = Arc::new(AtomicBool::new(false));
    let counter = {
        let (stop, path) = (Arc::clone(&stop), zone.join("energy_uj"));
        std::thread::spawn(move || {
            let mut uj: u64 = 1000;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
                uj += 10_000;
                write(&path, &format!("{uj}\n"));
            }
        })
    };
    let rapl = PowerInput::discover(Some(fake.path()));
    let r = run_bench(&backend, &input, &config(5, 300, fake.path()), &rapl).unwrap();
    stop.store(true, Ordering::SeqCst);
    counter.join().unwrap();
    let e = &r.energy;
    assert_eq!(
        (e.source.as_str(), e.rail.as_deref(), e.label.as_deref()),
        ("rapl", Some("package"), Some("package-0"))
    );
    let total = e.energy_total_mwh.expect("energy measured");
    let mj = e.energy_mj.unwrap();
    assert!(mj > 0.0, "{e:?}");
    assert!((total - mj / 5.0 / 3600.0).abs() < 1e-12);
    let power = e.power_avg_mw.unwrap();
    assert!(power > 0.0 && power < 10_000.0, "{power} mW from a ~2 W counter");
    let idle = e.idle_power_mw.expect("idle baseline of the same zone");
    let dynamic = e.energy_dynamic_mwh.expect("dynamic energy");
    assert!((dynamic - (mj - idle * e.duration_s.unwrap()) / 5.0 / 3600.0).abs() < 1e-9);
    // The fake counter does not follow the load, so the dynamic part may come out either way; a
    // negative one is reported as such.
    assert_eq!(e.warnings.len(), usize::from(dynamic < 0.0), "{:?}", e.warnings);
}

/// Logs that another program writes during the run: a meter CSV in Unix seconds and a
/// tegrastats log in local time, both covering a minute around now at constant power.
#[test]
fn meter_and_tegrastats_logs_covering_the_runs() {
    let backend = TractBackend::load(&model()).unwrap();
    let input = Input::synthetic(backend.io(), 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let now = unix_now().floor();

    let meter = dir.path().join("fnb58.csv");
    let mut csv = String::from("Time(s),Voltage(V),Current(A),Power(W)\n");
    for k in -30..60 {
        csv.push_str(&format!("{},5.0,0.8,4.0\n", now + f64::from(k) * 0.5));
    }
    std::fs::write(&meter, csv).unwrap();
    let input_m = PowerInput::MeterCsv { path: meter.clone(), rail: Rail::BoardInput };
    let r = run_bench(&backend, &input, &config(3, 200, dir.path()), &input_m).unwrap();
    let e = &r.energy;
    assert_eq!((e.source.as_str(), e.rail.as_deref()), ("meter", Some("board_input")), "{:?}", e.warnings);
    // 4 W over the runs: energy = 4000 mW × duration, and no more than idle.
    assert!((e.power_avg_mw.unwrap() - 4000.0).abs() < 1e-6);
    assert!((e.energy_mj.unwrap() - 4000.0 * e.duration_s.unwrap()).abs() < 1e-6);
    assert!(e.energy_dynamic_mwh.unwrap().abs() < 1e-9);

    let tegra = dir.path().join("tegrastats.log");
    let mut log = String::new();
    for k in -10..40i64 {
        let t = chrono::DateTime::from_timestamp(now as i64 + k, 0).unwrap().with_timezone(&chrono::Local);
        log.push_str(&format!(
            "{} RAM 2000/3964MB CPU [10%@1479] POM_5V_IN 3000/3000 POM_5V_GPU 100/100 POM_5V_CPU 700/700\n",
            t.format("%m-%d-%Y %H:%M:%S")
        ));
    }
    std::fs::write(&tegra, log).unwrap();
    let input_t = PowerInput::Tegrastats { path: tegra, interval: Duration::from_secs(1) };
    let r = run_bench(&backend, &input, &config(3, 0, dir.path()), &input_t).unwrap();
    let e = &r.energy;
    assert_eq!((e.source.as_str(), e.label.as_deref()), ("tegrastats", Some("POM_5V_IN")), "{:?}", e.warnings);
    assert_eq!(e.rail.as_deref(), Some("board_input"));
    assert!((e.power_avg_mw.unwrap() - 3000.0).abs() < 1e-6);
    assert!(e.energy_dynamic_mwh.is_none(), "no idle phase, no dynamic energy");

    // A log that ended long before the runs: a warning and no energy, not a guess.
    let old = dir.path().join("old.csv");
    std::fs::write(&old, "timestamp,voltage,current\n1600000000,5,1\n1600000001,5,1\n").unwrap();
    let stale = PowerInput::MeterCsv { path: old, rail: Rail::BoardInput };
    let started = std::time::Instant::now();
    let r = run_bench(&backend, &input, &config(1, 0, dir.path()), &stale).unwrap();
    assert!(started.elapsed() >= infergate_measure::power::LOG_WAIT, "waited for the log to catch up");
    assert_eq!(r.energy.source, "none");
    assert!(r.energy.warnings.iter().any(|w| w.contains("not all of")), "{:?}", r.energy.warnings);
}
