//! The hybrid policy and the oracle: the policy never looks ahead (truncating the trace after
//! window t leaves its decisions for windows ≤ t unchanged), and wherever the policy meets the
//! SLO its regret against the oracle is never negative.

use infergate_place::sim::lambda::LambdaConfig;
use infergate_place::sim::Request;
use infergate_place::strategy::{ladder, oracle, play, policy_decisions, windows, Platforms};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// Eight hours of Poisson traffic whose rate changes every hour, 300 ms executions.
fn trace(seed: u64) -> Vec<Vec<Request>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rates = [0.5, 6.0, 6.0, 6.0, 12.0, 12.0, 1.0, 3.0];
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
        task_usd_per_hour: 0.01234,
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

/// The 700 Azure 2019 functions of the shared sample, a day each in hourly windows, SLO per
/// function 2 × its median duration + 200 ms: `lambda_only`, `ecs_only` (fixed fleet sized for
/// the p99 minute at 70 %), the policy and the oracle. Prints the figures; checks the policy
/// costs at most 0.75× the cheaper single platform at an SLO-violation rate no worse (the
/// regret target, ≤ 10 %, is printed but not yet met by this first policy).
#[test]
fn azure_2019_sample_evaluation() {
    use infergate_core::pricing::fargate_usd_per_hour;
    use infergate_core::PricingProfile;
    use infergate_place::replay::{duration_distribution, ecs_tasks_for, requests_from_minutes};
    use infergate_place::strategy::simulate_window;
    use infergate_place::traces::azure2019;
    let t = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/traces");
    let (functions, _) = azure2019::load(
        &t.join("azure2019_invocations_per_minute.csv"),
        &t.join("azure2019_durations.csv"),
        Some(&t.join("azure2019_memory.csv")),
    )
    .unwrap();
    let task_usd_per_hour = fargate_usd_per_hour(0.25, 0.5);
    #[derive(Default, Debug)]
    struct Totals {
        cost: f64,
        requests: usize,
        over: usize,
    }
    let (mut lam, mut ecs, mut pol, mut orc) =
        (Totals::default(), Totals::default(), Totals::default(), Totals::default());
    for (k, f) in functions.iter().enumerate() {
        let exec = duration_distribution(&f.durations);
        let requests = requests_from_minutes(&f.invocations.per_minute, &exec, k as u64);
        let median = f.durations.percentiles.iter().find(|(p, _)| *p == 50.0).map_or(0.0, |&(_, v)| v);
        let slo = 2.0 * median + 200.0;
        let memory_mb = f.memory.as_ref().map_or(128.0, |m| m.average_mb.max(128.0));
        let pricing = PricingProfile::lambda_x86(memory_mb, 0.0);
        let p = Platforms {
            lambda: LambdaConfig { pricing, ..LambdaConfig::default() },
            task_usd_per_hour,
            window_s: 3600.0,
        };
        let w = windows(&requests, 3600.0, 24);
        let fleet = ecs_tasks_for(&f.invocations.per_minute, f.durations.average_ms, 0.7);
        let choices = ladder(fleet);
        let seed = k as u64;
        for (i, reqs) in w.iter().enumerate() {
            let r = simulate_window(reqs, 0, &p, slo, seed ^ i as u64);
            lam.cost += r.cost_usd;
            lam.over += r.over_slo;
            let r = simulate_window(reqs, fleet, &p, slo, seed ^ i as u64);
            ecs.cost += r.cost_usd;
            ecs.over += r.over_slo;
            lam.requests += reqs.len();
            ecs.requests += reqs.len();
        }
        for (r, reqs) in oracle(&w, &choices, &p, slo, seed).iter().zip(&w) {
            orc.cost += r.cost_usd;
            orc.over += r.over_slo;
            orc.requests += reqs.len();
        }
        let decisions = policy_decisions(&w, &choices, &p, slo, seed);
        for (r, reqs) in play(&w, &decisions, &p, slo, seed).iter().zip(&w) {
            pol.cost += r.cost_usd;
            pol.over += r.over_slo;
            pol.requests += reqs.len();
        }
    }
    let rate = |t: &Totals| t.over as f64 / t.requests.max(1) as f64;
    println!("lambda_only {:.2} USD, over SLO {:.4}", lam.cost, rate(&lam));
    println!("ecs_only    {:.2} USD, over SLO {:.4}", ecs.cost, rate(&ecs));
    println!("policy      {:.2} USD, over SLO {:.4}", pol.cost, rate(&pol));
    println!("oracle      {:.2} USD, over SLO {:.4}", orc.cost, rate(&orc));
    let cheaper = if lam.cost <= ecs.cost { &lam } else { &ecs };
    let (ratio, regret) = (pol.cost / cheaper.cost, pol.cost / orc.cost - 1.0);
    println!(
        "policy / cheaper single platform = {ratio:.3}; regret vs oracle = {regret:.3} (target <= 0.10, not yet met)"
    );
    assert!(ratio <= 0.75, "the policy costs {ratio:.3}x the cheaper single platform (target <= 0.75)");
    assert!(rate(&pol) <= rate(cheaper), "the policy violates the SLO more often than the cheaper single platform");
    assert!(regret >= 0.0, "over the whole trace the oracle is never beaten");
}
