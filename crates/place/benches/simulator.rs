//! Simulator speed: one million requests (Poisson arrivals at 50 per second, exponential
//! execution times of mean 100 ms) through each platform's discrete-event simulation, reported
//! by criterion as simulated requests per second of wall time (target: ≥ 1 million).
//! Run: `cargo bench -p infergate-place --bench simulator`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use infergate_place::sim::container::{self, Autoscaling, ContainerConfig};
use infergate_place::sim::lambda::{self, LambdaConfig};
use infergate_place::sim::Request;
use infergate_place::strategy::{run_window, Decision, Platforms};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::hint::black_box;

const REQUESTS: usize = 1_000_000;

fn stream() -> Vec<Request> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut t = 0.0;
    (0..REQUESTS)
        .map(|_| {
            t += -(1.0 - rng.random_range(0.0..1.0f64)).ln() / 50.0;
            Request { arrival_s: t, exec_ms: -(1.0 - rng.random_range(0.0..1.0f64)).ln() * 100.0 }
        })
        .collect()
}

fn simulators(c: &mut Criterion) {
    let requests = stream();
    let span_s = requests.last().map_or(0.0, |r| r.arrival_s);
    let lambda_config = LambdaConfig::default();
    let fleet = ContainerConfig { tasks: 8, usd_per_task_hour: 0.01234, gateway_usd_per_million: 0.0 };
    let mut group = c.benchmark_group("simulate 1M requests");
    group.throughput(Throughput::Elements(REQUESTS as u64)).sample_size(10);
    group.bench_function("lambda", |b| b.iter(|| lambda::simulate(black_box(&requests), &lambda_config, 7)));
    group
        .bench_function("container, 8 tasks", |b| b.iter(|| container::simulate(black_box(&requests), &fleet, span_s)));
    group.bench_function("container, autoscaled", |b| {
        b.iter(|| container::simulate_autoscaled(black_box(&requests), &fleet, &Autoscaling::default(), span_s))
    });
    let p = Platforms { lambda: lambda_config.clone(), task_usd_per_hour: 0.01234, window_s: span_s };
    group.bench_function("hybrid, 3 tasks + Lambda overflow", |b| {
        b.iter(|| run_window(black_box(&requests), Decision::from_start(3), 0.0, &p, 1000.0, 7))
    });
    group.finish();
}

criterion_group!(benches, simulators);
criterion_main!(benches);
