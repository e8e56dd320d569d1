//! Benchmarks: the event queue, one replication of the bundled scenario (also under a
//! calibration's posterior), the fit of `calibrate`, the check-rate independence of fcfs,
//! and a sweep of 1000 replications.
//!
//! Run with `cargo bench --bench engine`; figures are recorded in BENCHMARKS.md.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};
use slotsim::engine::EventQueue;
use slotsim::model::streams::{Purpose, Streams};
use slotsim::runner::calibrate::Posterior;
use slotsim::runner::{self, Plan, Replication, Sink};
use slotsim::scenario::Scenario;
use slotsim::stats::abc::{Fitter, Prior, ReferenceTable, Settings};

fn bundled() -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/embassy.toml");
    let text = std::fs::read_to_string(path).expect("scenarios/embassy.toml is bundled");
    Scenario::from_toml_str(&text).expect("the bundled scenario is valid")
}

fn event_queue(c: &mut Criterion) {
    // 100,000 events at seeded random times, popped in order: the engine's hot path.
    let mut rng = Streams::new(1).stream(Purpose::Policy, 0);
    let times: Vec<i64> = (0..100_000).map(|_| rng.integer(0, 365 * 86_400)).collect();
    c.bench_function("event_queue/100k_schedule_pop", |b| {
        b.iter(|| {
            let mut q = EventQueue::new(0);
            for (i, &t) in times.iter().enumerate() {
                q.schedule(t, (i % 8) as u8, i as u32).unwrap();
            }
            let mut sum = 0u64;
            while let Some((_, e)) = q.pop() {
                sum += u64::from(e);
            }
            black_box(sum)
        })
    });
}

fn replication(c: &mut Criterion) {
    let config = bundled().model_config().unwrap();
    let mut group = c.benchmark_group("replication");
    group.sample_size(20);
    group.bench_function("embassy_one_year", |b| b.iter(|| black_box(slotsim::model::simulate(&config, 1).events)));
    // The same under a posterior of 400 draws of two fields, every draw at the scenario's
    // own values (so the simulation is the same): what picking a draw by the seed costs.
    let scenario = bundled();
    let draws = (0..400).map(|d| (d, 1.0 + f64::from(d % 3), vec![50.0, 4500.0])).collect();
    let posterior = std::sync::Arc::new(
        Posterior::new(vec!["demand.arrivals_per_day".into(), "demand.initial_backlog".into()], draws).unwrap(),
    );
    let mut plan = Plan::new(&scenario, Some(&["base".to_string()]), 1, 1).unwrap();
    plan.attach_posterior(&posterior).unwrap();
    let cell = plan.cells[0].clone();
    group.bench_function("embassy_one_year_posterior", |b| b.iter(|| black_box(cell.simulate(1).events)));
    group.finish();
}

fn calibration_fit(c: &mut Criterion) {
    // The fit of `calibrate` alone (no simulation): a table of 4000 members, 2 parameters
    // and 24 features (two columns of 12 blocks), the coverage check of 200 members
    // included, then one posterior.
    let mut rng = Streams::new(1).stream(Purpose::Policy, 0);
    let mut table = ReferenceTable::default();
    for _ in 0..4000 {
        let (a, b) = (rng.uniform() * 10.0, rng.uniform() * 10.0);
        table.parameters.push(vec![a, b]);
        table.features.push((0..24).map(|j| if j % 2 == 0 { a } else { a + b } + rng.uniform() * 3.0).collect());
    }
    let priors = vec![Prior::new(0.0, 10.0, false, false).unwrap(); 2];
    let observed: Vec<f64> = (0..24).map(|j| if j % 2 == 0 { 4.0 } else { 9.0 }).collect();
    let mut group = c.benchmark_group("calibration");
    group.sample_size(10);
    group.bench_function("fit_4000_members_24_features", |b| {
        b.iter(|| {
            let fitter = Fitter::new(priors.clone(), table.clone(), Settings::default()).unwrap();
            black_box(fitter.posterior(&observed).estimate)
        })
    });
    group.finish();
}

fn check_rate(c: &mut Criterion) {
    // Scripts checking every second vs every hour: the fcfs race must cost the same.
    let mut group = c.benchmark_group("check_rate");
    group.sample_size(20);
    for interval in [1.0, 3600.0] {
        let mut s = bundled();
        s.behaviour.bot_share = 0.3;
        s.behaviour.bot_check_interval_seconds = interval;
        let config = s.model_config().unwrap();
        group.bench_function(format!("bot_interval_{interval}s"), |b| {
            b.iter(|| black_box(slotsim::model::simulate(&config, 1).events))
        });
    }
    group.finish();
}

struct Discard;
impl Sink for Discard {
    type Error = std::convert::Infallible;
    fn chunk(&mut self, _: usize, rows: Vec<Replication>) -> Result<(), Self::Error> {
        black_box(rows);
        Ok(())
    }
}

fn sweep(c: &mut Criterion) {
    // 1000 replications of the bundled one-year scenario on both cores. Scaling from one
    // thread to two is measured with the command line (BENCHMARKS.md): a one-thread
    // sample here would take a minute each.
    let scenario = bundled();
    let plan = Plan::new(&scenario, Some(&["base".to_string()]), 1, 1000).unwrap();
    let chunks: Vec<usize> = (0..plan.chunks()).collect();
    let stop = AtomicBool::new(false);
    let mut group = c.benchmark_group("sweep");
    group.sample_size(10);
    group.bench_function("embassy_1000_replications_2_threads", |b| {
        b.iter(|| runner::sweep(&plan, &chunks, 2, &stop, &mut Discard, &|_| {}).unwrap())
    });
    group.finish();
}

criterion_group!(benches, event_queue, replication, calibration_fit, check_rate, sweep);
criterion_main!(benches);
