//! Scenario files: parsing, refusals naming the field, and the generated stream (rates,
//! ramps, pauses, execution-time distributions, determinism).

use infergate_place::scenario::{Distribution, Scenario, WorkloadType};
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
