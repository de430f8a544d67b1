//! The hybrid policy and the oracle: the policy never looks ahead (truncating the trace after
//! window t leaves its decisions for windows ≤ t unchanged), and wherever the policy meets the
//! SLO its regret against the oracle is never negative.

use infergate_place::sim::lambda::LambdaConfig;
use infergate_place::sim::Request;
use infergate_place::strategy::{decision_space, oracle, play, policy_decisions, windows, Decision, Platforms};
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
    let choices = decision_space(20);
    let all = policy_decisions(&w, &choices, &platforms(), 1000.0, 7);
    assert_eq!(all[0], Decision::after_first_look(all[0].tasks), "the first window starts on Lambda");
    for t in 0..w.len() {
        let truncated = policy_decisions(&w[..=t], &choices, &platforms(), 1000.0, 7);
        assert_eq!(truncated, all[..=t], "decisions up to window {t} changed when later windows were removed");
    }
    assert!(all.iter().any(|d| d.tasks > 0 && d.launch_s == 0.0), "busy hours get tasks: {all:?}");
    assert!(all.iter().all(|d| *d == Decision::from_start(d.tasks) || d == &all[0]), "{all:?}");
}

#[test]
fn regret_is_never_negative_where_the_policy_meets_the_slo() {
    for seed in 0..4 {
        let w = trace(seed);
        let choices = decision_space(20);
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
/// function 2 × its median duration + 200 ms: `lambda_only`, `ecs_only` (fixed fleet sized
/// for the p99 minute at 70 %), the policy and the oracle, scored over the whole day (the
/// policy with no history in hour 0: Lambda, then tasks after its first look) and over hours
/// 1–23 with hour 0 as history. Prints the figures; checks, for both, that the policy costs at
/// most 0.75× the cheaper single platform at an SLO-violation rate no worse, and that its
/// regret vs the oracle is between 0 and 10 %.
#[test]
fn azure_2019_sample_evaluation() {
    use infergate_place::evaluate::{evaluate, Settings, StrategyName};
    use infergate_place::replay::FunctionWorkload;
    use infergate_place::traces::azure2019;
    let t = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/traces");
    let (functions, _) = azure2019::load(
        &t.join("azure2019_invocations_per_minute.csv"),
        &t.join("azure2019_durations.csv"),
        Some(&t.join("azure2019_memory.csv")),
    )
    .unwrap();
    assert_eq!(functions.len(), 700);
    let workloads: Vec<FunctionWorkload> =
        functions.iter().enumerate().map(|(k, f)| FunctionWorkload::from_azure2019(f, k as u64)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (title, history_windows) in [("whole day", 0), ("hours 1-23 (hour 0 = history)", 1)] {
        let settings = Settings { history_windows, ..Settings::default() };
        let e = evaluate(&workloads, &settings, None, threads, &|_| {});
        println!("{title}:");
        let s = e.summaries();
        for x in &s {
            println!(
                "  {:<11} {:>9} requests  cost {:>9.2} USD  regret {:>7.3}  over SLO {:.4}  p95 {:>9.1} ms  errors {}",
                x.name.as_str(),
                x.requests,
                x.cost_usd,
                x.regret,
                x.slo_violation_rate,
                x.p95_ms,
                x.errors
            );
        }
        let get = |n: StrategyName| s.iter().find(|x| x.name == n).unwrap();
        let (lam, ecs, pol) = (get(StrategyName::LambdaOnly), get(StrategyName::EcsOnly), get(StrategyName::Policy));
        let cheaper = if lam.cost_usd <= ecs.cost_usd { lam } else { ecs };
        let ratio = pol.cost_usd / cheaper.cost_usd;
        println!(
            "  policy / cheaper single platform ({}) = {ratio:.3}; regret vs oracle = {:.3}; over SLO {:.4} vs {:.4}",
            cheaper.name.as_str(),
            pol.regret,
            pol.slo_violation_rate,
            cheaper.slo_violation_rate
        );
        assert!(ratio <= 0.75, "{title}: the policy costs {ratio:.3}x the cheaper single platform (target <= 0.75)");
        assert!(
            pol.slo_violation_rate <= cheaper.slo_violation_rate,
            "{title}: the policy violates the SLO more often than the cheaper single platform"
        );
        assert!(pol.regret <= 0.10, "{title}: regret vs the oracle {:.3} (target <= 0.10)", pol.regret);
        assert!(pol.regret >= 0.0, "{title}: over the whole trace the oracle is never beaten");
        assert!(s.iter().all(|x| x.requests == lam.requests), "every strategy scores the same requests");
    }
}
