//! Scenario files: parsing, refusals naming the field, and the generated stream (rates,
//! ramps, pauses, execution-time distributions, determinism).

use infergate_place::scenario::{Arrivals, Distribution, Scenario, WorkloadType};
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

const EXAMPLE: &str = r#"
name: thumbnails at lunch
slo_ms: 800
workload:
  type: thumbnail_processing
  payload_kb: 120
  memory_mb: 256
  exec_ms: { dist: lognormal, median: 180, sigma: 0.4 }
phases:
  - { duration_s: 600, arrival_rate: 2 }
  - { duration_s: 600, arrival_rate: 0, ramp_to: 20 }
  - { pause: 120 }
  - { duration_s: 60, arrival_rate: 5 }
"#;

#[test]
fn parses_and_generates_the_phases() {
    let s = Scenario::from_yaml(EXAMPLE).unwrap();
    assert_eq!(s.workload.kind, WorkloadType::ThumbnailProcessing);
    assert_eq!(s.duration_s(), 1380.0);
    let requests = s.requests(42);
    assert!(requests.windows(2).all(|w| w[0].arrival_s <= w[1].arrival_s));
    let count = |from: f64, to: f64| requests.iter().filter(|r| r.arrival_s >= from && r.arrival_s < to).count() as f64;
    // Phase 1: 2/s for 600 s ≈ 1200 (Poisson sd ≈ 35).
    assert!((count(0.0, 600.0) - 1200.0).abs() < 150.0, "{}", count(0.0, 600.0));
    // Phase 2 ramps 0 → 20/s: ≈ 6000 requests, a quarter of them in the first half.
    let (first, second) = (count(600.0, 900.0), count(900.0, 1200.0));
    assert!((first + second - 6000.0).abs() < 400.0 && first < second / 2.0, "{first} {second}");
    assert_eq!(count(1200.0, 1320.0), 0.0, "nothing during the pause");
    assert!((count(1320.0, 1380.0) - 300.0).abs() < 70.0);
    // Lognormal execution times: median ≈ 180 ms.
    let mut exec: Vec<f64> = requests.iter().map(|r| r.exec_ms).collect();
    exec.sort_by(f64::total_cmp);
    let median = exec[exec.len() / 2];
    assert!((median - 180.0).abs() < 10.0, "median {median}");
    // Deterministic per seed.
    assert_eq!(s.requests(42), requests);
    assert_ne!(s.requests(43), requests);
}

#[test]
fn uniform_arrivals_are_evenly_spaced_at_the_rate() {
    let s = Scenario::from_yaml(&format!("arrivals: uniform\n{EXAMPLE}")).unwrap();
    assert_eq!(s.arrivals, Arrivals::Uniform);
    let requests = s.requests(42);
    let times: Vec<f64> = requests.iter().map(|r| r.arrival_s).collect();
    let count = |from: f64, to: f64| times.iter().filter(|&&t| t >= from && t < to).count();
    // Phase 1: exactly 2/s for 600 s, half a gap from the start, 0.5 s apart.
    assert_eq!(count(0.0, 600.0), 1200);
    assert!((times[0] - 0.25).abs() < 1e-9, "{}", times[0]);
    assert!(times[..1200].windows(2).all(|w| (w[1] - w[0] - 0.5).abs() < 1e-9));
    // Phase 2 ramps 0 → 20/s: 6000 requests, a quarter in the first half, gaps shrinking.
    let (first, second) = (count(600.0, 900.0), count(900.0, 1200.0));
    assert_eq!(first + second, 6000);
    assert!((first as i64 - 1500).abs() <= 1, "{first}");
    let ramp = &times[1200..7200];
    assert!(ramp.windows(3).all(|w| w[2] - w[1] <= w[1] - w[0] + 1e-9), "gaps shrink as the rate rises");
    assert_eq!(count(1200.0, 1320.0), 0, "nothing during the pause");
    assert_eq!(count(1320.0, 1380.0), 300);
    // A falling ramp: 20 → 0/s over 100 s is 1000 requests, three quarters in the first half.
    let down = Scenario::from_yaml(&format!(
        "arrivals: uniform\n{}",
        EXAMPLE.replace(
            "{ duration_s: 600, arrival_rate: 0, ramp_to: 20 }",
            "{ duration_s: 100, arrival_rate: 20, ramp_to: 0 }"
        )
    ))
    .unwrap();
    let t: Vec<f64> =
        down.requests(1).iter().map(|r| r.arrival_s - 600.0).filter(|&t| (0.0..100.0).contains(&t)).collect();
    assert_eq!(t.len(), 1000);
    assert!((t.iter().filter(|&&x| x < 50.0).count() as i64 - 750).abs() <= 1);
    // Poisson stays the default, and other values are refused.
    assert_eq!(Scenario::from_yaml(EXAMPLE).unwrap().arrivals, Arrivals::Poisson);
    assert!(Scenario::from_yaml(&format!("arrivals: bursty\n{EXAMPLE}")).unwrap_err().contains("unknown variant"));
}

#[test]
fn refusals_name_the_field() {
    let replace = |from: &str, to: &str| Scenario::from_yaml(&EXAMPLE.replace(from, to)).unwrap_err();
    assert!(replace("thumbnail_processing", "video").contains("unknown variant"));
    assert!(replace("slo_ms: 800", "slo_ms: -1").contains("slo_ms"));
    assert!(replace("payload_kb: 120", "payload_kb: -5").contains("payload_kb"));
    assert!(replace("sigma: 0.4", "sigma: -1").contains("exec_ms.median"));
    assert!(replace("{ pause: 120 }", "{ pause: 120, arrival_rate: 3 }").contains("phases[2]"));
    assert!(replace("{ duration_s: 60, arrival_rate: 5 }", "{ duration_s: 60 }").contains("phases[3]"));
    assert!(replace("memory_mb: 256", "memory_mb: 256\n  cpus: 2").contains("unknown field"));
    assert!(Scenario::from_yaml("phases: []\nslo_ms: 1\nworkload: {type: lightweight_api, payload_kb: 1, memory_mb: 128, exec_ms: {dist: constant, value: 5}}").unwrap_err().contains("phases"));
}

#[test]
fn empirical_distribution_follows_its_percentiles() {
    // An Azure-style duration profile.
    let d = Distribution::Empirical { percentiles: vec![(0.0, 10.0), (50.0, 100.0), (99.0, 900.0), (100.0, 1000.0)] };
    d.validate().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut draws: Vec<f64> = (0..100_000).map(|_| d.sample(&mut rng)).collect();
    draws.sort_by(f64::total_cmp);
    assert!((draws[50_000] - 100.0).abs() < 3.0, "median {}", draws[50_000]);
    assert!((draws[99_000] - 900.0).abs() < 20.0, "p99 {}", draws[99_000]);
    assert!(draws[0] >= 10.0 && draws[99_999] <= 1000.0);
    let unsorted = Distribution::Empirical { percentiles: vec![(50.0, 100.0), (10.0, 5.0)] };
    assert!(unsorted.validate().is_err());
}
