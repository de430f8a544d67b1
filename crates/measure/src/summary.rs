//! The human-readable summary of a benchmark.

use std::fmt::Write as _;

use crate::run::BenchResult;

fn opt(v: Option<f64>, digits: usize, unit: &str) -> String {
    match v {
        Some(v) => format!("{v:.digits$}{unit}"),
        None => "n/a".into(),
    }
}

/// The summary `infergate bench` prints: model, latency, throughput, telemetry, energy.
pub fn render(b: &BenchResult) -> String {
    let (m, r, t, e) = (&b.model, &b.report, &b.report.telemetry, &b.report.energy);
    let l = &r.latency_ms;
    let mut s = String::new();
    let profile = match (m.params_m, m.gmacs, m.gflops) {
        (Some(p), Some(mac), Some(fl)) => format!("{p:.2} M params, {mac:.3} GMACs, {fl:.3} GFLOPs, "),
        _ => String::new(),
    };
    let _ = writeln!(s, "model      {} ({profile}{:.2} MB)", m.name, m.size_mb);
    let shape: Vec<String> = r.input_shape.iter().map(|d| d.to_string()).collect();
    let _ = writeln!(
        s,
        "run        {} on {}, input {}, {} runs after {} warm-up",
        b.runtime,
        b.device,
        shape.join("x"),
        r.runs,
        r.warmup
    );
    let _ = writeln!(
        s,
        "latency    mean {:.3} ms  min {:.3}  max {:.3}  p50 {:.3}  p95 {:.3}  std {:.3}",
        l.mean_ms, l.min_ms, l.max_ms, l.p50_ms, l.p95_ms, l.std_ms
    );
    let _ = writeln!(s, "throughput {:.2} inferences/s ({:.3} s wall)", r.throughput_iter_per_s, r.wall_s);
    let _ = writeln!(
        s,
        "cpu        {} of one core (machine {})",
        opt(t.cpu_percent, 1, " %"),
        opt(t.system_cpu_percent, 1, " %")
    );
    let _ = writeln!(s, "rss        {}", opt(t.rss_mb, 1, " MB"));
    let zone = t.temperature_zone.as_deref().map(|z| format!(" ({z})")).unwrap_or_default();
    let temp = match t.temperature_c {
        Some(_) => format!("{}{zone}", opt(t.temperature_c, 1, " °C")),
        None => "n/a (no readable thermal zone)".into(),
    };
    let _ = writeln!(s, "temp       {temp}");
    if e.measured() {
        let label = e.label.as_deref().map(|l| format!(" {l}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "energy     {} mWh per inference (energy_total), {} above idle (energy_dynamic)",
            opt(e.energy_total_mwh, 6, ""),
            opt(e.energy_dynamic_mwh, 6, " mWh")
        );
        let _ = writeln!(
            s,
            "power      {} mean over the runs, {} idle; source {}{label}, rail {}",
            opt(e.power_avg_mw, 0, " mW"),
            opt(e.idle_power_mw, 0, " mW"),
            e.source,
            e.rail.as_deref().unwrap_or("?")
        );
    } else {
        let what = if e.warnings.is_empty() { "no sensor found" } else { "not measured (see the warnings)" };
        let _ = writeln!(s, "energy     {what} (energy_source none); looked for: {}", e.looked_for.join("; "));
    }
    s
}
