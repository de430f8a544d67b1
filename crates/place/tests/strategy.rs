//! The hybrid policy and the oracle: the policy never looks ahead (truncating the trace after
//! window t leaves its decisions for windows ≤ t unchanged), and wherever the policy meets the
//! SLO its regret against the oracle is never negative.

use infergate_place::sim::lambda::LambdaConfig;
use infergate_place::sim::Request;
use infergate_place::strategy::{ladder, oracle, play, policy_decisions, windows, Platforms};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// Six hours of Poisson traffic whose rate changes every hour, 300 ms executions.
fn trace(seed: u64) -> Vec<Vec<Request>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rates = [0.5, 4.0, 6.0, 1.0, 12.0, 3.0];
    let mut requests = Vec::new();
    let mut t: f64 = 0.0;
    for (h, rate) in rates.iter().enumerate() {
        t = t.max(h as f64 * 3600.0);
        loop {
            t += -(1.0 - rng.random_range(0.0..1.0f64)).ln() / rate;
            if t >= (h + 1) as f64 * 3600.0 {
                break;
            }
            requests.push(Request { arrival_s: t, exec_ms: 300.0 });
        }
    }
    windows(&requests, 3600.0, rates.len())
}

fn platforms() -> Platforms {
    Platforms {
        lambda: LambdaConfig { init_ms: vec![400.0], ..LambdaConfig::default() },
        task_usd_per_hour: 0.04937,
        window_s: 3600.0,
    }
}

#[test]
fn the_policy_never_looks_ahead() {
    let w = trace(1);
    let choices = ladder(20);
    let all = policy_decisions(&w, &choices, &platforms(), 1000.0, 7);
    assert_eq!(all[0], 0, "nothing is known before the first window");
    for t in 0..w.len() {
        let truncated = policy_decisions(&w[..=t], &choices, &platforms(), 1000.0, 7);
        assert_eq!(truncated, all[..=t], "decisions up to window {t} changed when later windows were removed");
    }
    assert!(all.iter().any(|&k| k > 0), "busy hours get tasks: {all:?}");
}

#[test]
fn regret_is_never_negative_where_the_policy_meets_the_slo() {
    for seed in 0..4 {
        let w = trace(seed);
        let choices = ladder(20);
        let p = platforms();
        let best = oracle(&w, &choices, &p, 1000.0, seed);
        let decisions = policy_decisions(&w, &choices, &p, 1000.0, seed);
        let played = play(&w, &decisions, &p, 1000.0, seed);
        for (t, (o, pol)) in best.iter().zip(&played).enumerate() {
            if pol.meets_slo {
                assert!(o.meets_slo && o.cost_usd <= pol.cost_usd + 1e-12, "window {t}: oracle {o:?} policy {pol:?}");
            }
        }
    }
}
