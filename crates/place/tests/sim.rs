//! The simulators against closed forms: the M/M/c mean wait (Erlang C) for containers at a
//! fixed load, and the cold-start fraction of Poisson arrivals against a keep-alive; plus
//! throttling, billing and determinism.

use infergate_core::PricingProfile;
use infergate_place::sim::container::{self, ContainerConfig};
use infergate_place::sim::lambda::{self, LambdaConfig};
use infergate_place::sim::Request;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// Poisson arrivals at `rate` per second with exponential execution times of mean `exec_ms`
/// (or exactly `exec_ms` when `exponential` is false).
fn poisson(n: usize, rate: f64, exec_ms: f64, exponential: bool, seed: u64) -> Vec<Request> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = 0.0;
    (0..n)
        .map(|_| {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            t += -u.ln() / rate;
            let v: f64 = rng.random_range(f64::EPSILON..1.0);
            Request { arrival_s: t, exec_ms: if exponential { -v.ln() * exec_ms } else { exec_ms } }
        })
        .collect()
}

/// Erlang C: the probability that an arrival waits, for `c` servers at offered load `a`.
fn erlang_c(c: usize, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let last = term * a / c as f64 / (1.0 - a / c as f64);
    last / (sum + last)
}

#[test]
fn container_mean_wait_matches_erlang_c() {
    // λ = 8/s, mean service 200 ms (μ = 5/s), 2 tasks: ρ = 0.8.
    let (rate, mu, c) = (8.0, 5.0, 2);
    let requests = poisson(1_000_000, rate, 1000.0 / mu, true, 7);
    let config = ContainerConfig { tasks: c, usd_per_task_hour: 0.04937, gateway_usd_per_million: 0.0 };
    let span = requests.last().unwrap().arrival_s;
    let run = container::simulate(&requests, &config, span);
    let want_ms = erlang_c(c, rate / mu) / (c as f64 * mu - rate) * 1e3;
    let got_ms = run.mean_wait_ms();
    println!("M/M/2 at rho 0.8: simulated mean wait {got_ms:.1} ms, Erlang C {want_ms:.1} ms");
    assert!((got_ms - want_ms).abs() / want_ms < 0.05, "simulated {got_ms} vs {want_ms}");
}

#[test]
fn cold_start_fraction_matches_poisson_gaps() {
    // One request a minute on average, instant execution, 2-minute keep-alive: a request is
    // cold when the gap since the previous one exceeds 120 s, i.e. with probability e^-2.
    let requests = poisson(200_000, 1.0 / 60.0, 0.0, false, 11);
    let config = LambdaConfig { keep_alive_s: 120.0, ..LambdaConfig::default() };
    let run = lambda::simulate(&requests, &config, 1);
    let want = (-2.0f64).exp();
    println!("cold-start fraction {:.4}, closed form {want:.4}", run.cold_fraction());
    assert!((run.cold_fraction() - want).abs() < 0.005);
}

#[test]
fn throttling_billing_and_determinism() {
    // Two simultaneous requests, one instance allowed: the second is throttled.
    let two = [Request { arrival_s: 0.0, exec_ms: 100.0 }, Request { arrival_s: 0.01, exec_ms: 100.0 }];
    let config = LambdaConfig { concurrency_limit: 1, init_ms: vec![300.0], load_ms: 50.0, ..LambdaConfig::default() };
    let run = lambda::simulate(&two, &config, 0);
    assert!(run.outcomes[0].cold && !run.outcomes[0].throttled);
    assert_eq!(run.outcomes[0].latency_ms, 450.0, "init + load + execution");
    assert!(run.outcomes[1].throttled);
    // Billed: one request of 450 ms at 1,024 MB (throttled requests are not billed).
    let want = PricingProfile::default().cost_usd(450.0).unwrap();
    assert!((run.cost_usd - want).abs() < 1e-15);

    // A container bills the span whatever the load: 2 tasks for an hour.
    let config = ContainerConfig { tasks: 2, usd_per_task_hour: 0.04937, gateway_usd_per_million: 1.0 };
    let run = container::simulate(&two, &config, 3600.0);
    assert!((run.cost_usd - (2.0 * 0.04937 + 2.0 / 1e6)).abs() < 1e-12);
    assert_eq!(run.outcomes[1].wait_ms, 0.0, "two tasks: no queue");

    // Same seed, same run; another seed draws other init times.
    let requests = poisson(10_000, 0.05, 50.0, true, 3);
    let config = LambdaConfig { init_ms: vec![100.0, 200.0, 300.0, 400.0], ..LambdaConfig::default() };
    assert_eq!(lambda::simulate(&requests, &config, 5), lambda::simulate(&requests, &config, 5));
    assert_ne!(lambda::simulate(&requests, &config, 5), lambda::simulate(&requests, &config, 6));
}

/// Target tracking: a step from 1 to 40 requests/s of 100 ms (4 busy tasks, 6 at 70 %) on a
/// fleet starting at one task. The fleet grows after the step — new tasks serve only after
/// their start-up delay, so the first requests after the step queue — then shrinks back once
/// the load is gone, and the bill is below a fleet kept at its peak size all along.
#[test]
fn autoscaling_follows_a_step_with_a_startup_delay() {
    use infergate_place::sim::container::{simulate_autoscaled, Autoscaling};
    let mut requests = Vec::new();
    let mut t = 0.0;
    let mut push_phase = |from: f64, to: f64, rate: f64, out: &mut Vec<Request>| {
        t = from;
        let step = 1.0 / rate;
        while t < to {
            out.push(Request { arrival_s: t, exec_ms: 100.0 });
            t += step;
        }
    };
    push_phase(0.0, 600.0, 1.0, &mut requests);
    push_phase(600.0, 2400.0, 40.0, &mut requests);
    push_phase(2400.0, 4200.0, 0.1, &mut requests);
    let config = ContainerConfig { tasks: 1, usd_per_task_hour: 0.1, gateway_usd_per_million: 0.0 };
    let scaling = Autoscaling::default();
    let (run, sizes) = simulate_autoscaled(&requests, &config, &scaling, 4200.0);
    let peak = *sizes.iter().max().unwrap();
    assert!((6..=8).contains(&peak), "the fleet reaches about 4 / 0.7 tasks: {sizes:?}");
    assert_eq!(*sizes.last().unwrap(), 1, "and returns to the minimum when the load is gone: {sizes:?}");
    let waits: Vec<f64> = run.outcomes.iter().map(|o| o.wait_ms).collect();
    let step = requests.iter().position(|r| r.arrival_s >= 600.0).unwrap();
    assert!(waits[step..step + 2000].iter().any(|&w| w > 1000.0), "the step queues while new tasks start");
    let late = requests.iter().position(|r| r.arrival_s >= 1800.0).unwrap();
    let late_mean = waits[late..late + 1000].iter().sum::<f64>() / 1000.0;
    assert!(late_mean < 50.0, "once scaled out, requests barely wait: {late_mean} ms");
    let fixed_at_peak = container::simulate(&requests, &ContainerConfig { tasks: peak, ..config.clone() }, 4200.0);
    assert!(run.cost_usd < fixed_at_peak.cost_usd, "{} vs {}", run.cost_usd, fixed_at_peak.cost_usd);
    assert!(run.cost_usd > 4200.0 / 3600.0 * 0.1, "at least one task is paid all along");
    // Without autoscaling (min = max = 1) it is the fixed single task.
    let pinned = Autoscaling { min_tasks: 1, max_tasks: 1, ..scaling };
    let (one, _) = simulate_autoscaled(&requests, &config, &pinned, 4200.0);
    assert_eq!(one, container::simulate(&requests, &config, 4200.0));
}
