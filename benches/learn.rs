//! The learner's targets on the full MNIST (60,000 pool, 10,000 test, IDX files):
//! seconds per round (train, evaluate 10,000, re-rank the pool), and labels needed for
//! 95 / 98 % by the best strategy and by random.
//!
//! `cargo bench --bench learn`. Knobs (environment):
//! - GLEAN_MNIST_DIR: the IDX folder (default: glean's cache, mnist/package/data)
//! - GLEAN_BENCH_ROUNDS_AT: label counts to time single rounds at (default 20,300,1000)
//! - GLEAN_BENCH_STRATEGIES: strategies for the curves (default margin,random; empty = none)
//! - GLEAN_BENCH_TRIALS (default 1), GLEAN_BENCH_BUDGET (default 300),
//!   GLEAN_BENCH_BATCH (default 10), GLEAN_BENCH_INIT (default 20)
//! - GLEAN_BENCH_THREADS: libtorch threads (default: all cores)
//! - GLEAN_BENCH_LEARNER: cnn, graph or hybrid (default hybrid)
//! - GLEAN_BENCH_MAX_STEPS (default 400), GLEAN_BENCH_PSEUDO (pseudo-label share,
//!   default 0.5): the network's training per round
//! - GLEAN_BENCH_OUT: where the simulate files go (default target/bench-learn)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use support::{env_or, OraclePool};

use std::path::PathBuf;
use std::time::Instant;

use glean::dataset::ScanOptions;
use glean::learn::{
    strategy, ColdStart, DeviceChoice, GraphConfig, Learner, LearnerConfig, LearnerKind, ModelKind,
    Strategy, TrainSchedule,
};
use glean::simulate::{self, SimulateOptions};

fn main() -> anyhow::Result<()> {
    let mnist: PathBuf = std::env::var_os("GLEAN_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| glean::paths::cache_dir().join("mnist/package/data"));
    if !mnist.exists() {
        println!(
            "learn bench: {} is missing; skipped (set GLEAN_MNIST_DIR)",
            mnist.display()
        );
        return Ok(());
    }
    let threads: Option<usize> = std::env::var("GLEAN_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok());
    let learner_kind: LearnerKind = std::env::var("GLEAN_BENCH_LEARNER")
        .unwrap_or_else(|_| "hybrid".into())
        .parse()
        .map_err(anyhow::Error::msg)?;
    let cache = std::env::temp_dir().join("glean-bench-cache");
    let t = Instant::now();
    let OraclePool {
        data,
        oracle,
        from_cache,
        ..
    } = support::oracle_pool(&mnist, &ScanOptions::default(), &cache)?;
    println!(
        "MNIST: {} pool, {} test, loaded in {:.1} s (cache: {}); libtorch threads: {}; learner {learner_kind}",
        data.pool_len(),
        data.test_len(),
        t.elapsed().as_secs_f64(),
        from_cache,
        threads.map_or("all".to_string(), |n| n.to_string())
    );

    let rounds_at: Vec<usize> = std::env::var("GLEAN_BENCH_ROUNDS_AT")
        .unwrap_or_else(|_| "20,300,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let schedule = TrainSchedule {
        max_steps: env_or("GLEAN_BENCH_MAX_STEPS", TrainSchedule::default().max_steps),
        ..TrainSchedule::default()
    };
    let graph = GraphConfig {
        pseudo_fraction: env_or("GLEAN_BENCH_PSEUDO", GraphConfig::default().pseudo_fraction),
        ..GraphConfig::default()
    };
    for strategy in [Strategy::Margin, Strategy::Bald] {
        let config = LearnerConfig {
            device: DeviceChoice::Auto,
            strategy,
            threads,
            learner: learner_kind,
            cache_dir: Some(cache.clone()),
            schedule: schedule.clone(),
            graph: graph.clone(),
            ..Default::default()
        };
        let t = Instant::now();
        let mut learner = Learner::new(data.clone(), config)?;
        println!(
            "{}: set up in {:.2} s",
            learner.describe(),
            t.elapsed().as_secs_f64()
        );
        for &n in &rounds_at {
            let labeled: Vec<(usize, u16)> = strategy::random_subset(data.pool_len(), n, 7)
                .into_iter()
                .map(|i| (i, oracle[i]))
                .collect();
            let out = learner.round(&labeled, 1, &|| false, &mut |_| {})?;
            let pct = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{:.2}%", a * 100.0));
            println!(
                "round {:>14} {:>5} labels: {:.2} s (propagate {:.2}, train {:.2}, evaluate {:.2}, score {} items {:.2}), accuracy {} (graph {}, network {})",
                strategy.name(),
                n,
                out.times.total,
                out.times.propagate,
                out.times.train,
                out.times.evaluate,
                out.ranking.items.len(),
                out.times.score,
                pct(out.accuracy),
                pct(out.graph_accuracy),
                pct(out.network_accuracy),
            );
        }
    }

    // The cold start against a random first batch: test accuracy after 20 labels.
    for cold_start in [ColdStart::KMeans, ColdStart::Random] {
        let mut accs = Vec::new();
        for seed in 1..=3u64 {
            let config = LearnerConfig {
                cold_start,
                seed,
                threads,
                learner: LearnerKind::Cnn,
                ..Default::default()
            };
            let mut learner = Learner::new(data.clone(), config)?;
            let picks = learner.cold_start_picks()?;
            let labeled: Vec<(usize, u16)> = picks.iter().map(|&i| (i, oracle[i])).collect();
            let mut classes: Vec<u16> = labeled.iter().map(|l| l.1).collect();
            classes.sort_unstable();
            classes.dedup();
            let acc = learner
                .fit_and_evaluate(&labeled, &|| false)?
                .unwrap_or(f64::NAN);
            accs.push(format!("{:.2}% ({} classes)", acc * 100.0, classes.len()));
        }
        println!(
            "cold start {cold_start:?}, 20 labels, seeds 1-3: {}",
            accs.join(", ")
        );
    }

    let strategies = strategy::parse_list(
        &std::env::var("GLEAN_BENCH_STRATEGIES").unwrap_or_else(|_| "margin,random".into()),
    );
    let Ok(strategies) = strategies else {
        println!("no curves (GLEAN_BENCH_STRATEGIES is empty)");
        return Ok(());
    };
    let opts = SimulateOptions {
        data: mnist,
        scan: ScanOptions::default(),
        strategies,
        init: env_or("GLEAN_BENCH_INIT", 20),
        batch: env_or("GLEAN_BENCH_BATCH", 10),
        budget: env_or("GLEAN_BENCH_BUDGET", 300),
        trials: env_or("GLEAN_BENCH_TRIALS", 1),
        seed: 1,
        out: std::env::var_os("GLEAN_BENCH_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target/bench-learn")),
        device: DeviceChoice::Auto,
        cold_start: Default::default(),
        pool_subset: std::env::var("GLEAN_BENCH_POOL_SUBSET")
            .ok()
            .and_then(|v| v.parse().ok()),
        audit_every: 0,
        full_baseline: false,
        without_zero_shot: false,
        warm_start: false,
        learner: learner_kind,
        model: ModelKind::Auto,
        weights: None,
        schedule: TrainSchedule::default(),
        cache_dir: cache,
        progress: true,
        accuracy_on: Default::default(),
        graph: Default::default(),
        query: Default::default(),
        review: None,
    };
    println!(
        "curves: {} × {} trial(s), init {}, batch {}, budget {} → {}",
        opts.strategies
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(","),
        opts.trials,
        opts.init,
        opts.batch,
        opts.budget,
        opts.out.display()
    );
    // One strategy at a time, so a long run shows its figures as it goes.
    let mut all = Vec::new();
    for &strategy in &opts.strategies {
        let one = SimulateOptions {
            strategies: vec![strategy],
            out: opts.out.join(strategy.name()),
            ..opts.clone()
        };
        let out = simulate::run(&one)?;
        simulate::report::table(&out.curves, &mut std::io::stdout())?;
        all.extend(out.curves);
    }
    println!("all strategies:");
    simulate::report::table(&all, &mut std::io::stdout())?;
    Ok(())
}
