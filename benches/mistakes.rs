//! How many mis-keyed labels the likely-mistakes queue puts first (issue #15): a
//! 500-label session (balanced random items), 5 % of its labels (25) moved to a wrong
//! class at random, one graph round on them, then the suspects from the held-out
//! propagation (`Learner::likely_mistakes`: 10 folds, each judged by the other 90 %).
//! Prints, per data set and seed, how many of the 25 are in the first 50 suspects (2N)
//! and in the first 25, and the seconds the suspects took. The round before them runs
//! glean's default (Poisson-MBO unless the labels favour plain Poisson); the suspects
//! come from plain Poisson.
//!
//! `cargo bench --bench mistakes`. Data: the full MNIST (60,000 pool; make mnist) and
//! CIFAR-10 from ../shared/datasets (8,000 pool, 2,000 held out) on EfficientNet-Lite2
//! features (make effnet); either is left out when absent. Knobs (environment):
//! GLEAN_BENCH_SEEDS (default 3), GLEAN_BENCH_FIRST_SEED (1), GLEAN_BENCH_LABELS (500),
//! GLEAN_BENCH_FLIPPED (25), GLEAN_BENCH_DATA (mnist,cifar).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use std::path::Path;
use std::time::Instant;

use glean::dataset::{Holdout, ScanOptions};
use glean::learn::mistakes::{flip_labels, found_in_first};
use glean::learn::strategy::balanced_random_subset;
use glean::learn::{EmbeddingKind, GraphConfig, Learner, LearnerConfig, LearnerKind, ModelKind};
use support::{env_or, oracle_pool, OraclePool};

fn main() -> anyhow::Result<()> {
    let seeds: u64 = env_or("GLEAN_BENCH_SEEDS", 3);
    let first_seed: u64 = env_or("GLEAN_BENCH_FIRST_SEED", 1);
    let labels: usize = env_or("GLEAN_BENCH_LABELS", 500);
    let flips: usize = env_or("GLEAN_BENCH_FLIPPED", 25);
    let cache = glean::paths::cache_dir();
    let wanted = std::env::var("GLEAN_BENCH_DATA").unwrap_or_else(|_| "mnist,cifar".into());
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
    let mut sets: Vec<(&str, OraclePool, ModelKind)> = Vec::new();
    let mnist = wanted
        .contains(&"mnist")
        .then(|| support::mnist_dir("mistakes"))
        .flatten();
    if let Some(mnist) = mnist {
        sets.push((
            "MNIST",
            oracle_pool(&mnist, &ScanOptions::default(), &cache)?,
            ModelKind::Cnn,
        ));
    }
    let cifar = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/cifar10-test");
    if cifar.is_dir()
        && cache
            .join("models/efficientnet-lite2.safetensors")
            .is_file()
    {
        let scan = ScanOptions {
            holdout: Some(Holdout::Count(2000)),
            ..ScanOptions::default()
        };
        sets.push((
            "CIFAR-10 Lite2",
            oracle_pool(&cifar, &scan, &cache)?,
            ModelKind::EffnetLite2,
        ));
    } else {
        println!(
            "CIFAR-10: {} or the Lite2 weights absent; left out",
            cifar.display()
        );
    }
    println!(
        "{labels} labels, {flips} flipped to a wrong class; flipped labels among the first {} and {flips} suspects",
        2 * flips
    );
    for (name, pool, model) in &sets {
        {
            let mut found = Vec::new();
            for seed in first_seed..first_seed + seeds {
                let config = LearnerConfig {
                    learner: LearnerKind::Graph,
                    model: *model,
                    seed,
                    cache_dir: Some(cache.clone()),
                    graph: GraphConfig {
                        embedding: EmbeddingKind::Pca,
                        ..GraphConfig::default()
                    },
                    ..LearnerConfig::default()
                };
                let picks = balanced_random_subset(&pool.oracle, pool.data.classes, labels, seed);
                let right: Vec<(usize, u16)> = picks.iter().map(|&i| (i, pool.oracle[i])).collect();
                let (labeled, flipped) = flip_labels(&right, flips, pool.data.classes, seed);
                let mut learner = Learner::new(pool.data.clone(), config)?;
                let out = learner.round(&labeled, 1, &|| false, &mut |_| {})?;
                let t = Instant::now();
                let suspects = learner.likely_mistakes(&labeled)?;
                let seconds = t.elapsed().as_secs_f64();
                let (in_2n, in_n) = (
                    found_in_first(&suspects, &flipped, 2 * flips),
                    found_in_first(&suspects, &flipped, flips),
                );
                found.push(in_2n);
                println!(
                    "{name:>15}, seed {seed}: {in_2n:>3} / {flips} in the first {}, {in_n:>3} in the first {flips}; the round's graph {}; suspects in {seconds:.1} s",
                    2 * flips,
                    out.graph.as_deref().unwrap_or("-"),
                );
            }
            found.sort_unstable();
            println!(
                "{name:>15}: median {} / {flips} in the first {}",
                found[found.len() / 2],
                2 * flips
            );
        }
    }
    Ok(())
}
