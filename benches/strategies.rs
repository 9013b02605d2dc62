//! What each query strategy costs inside a round on the full MNIST (60,000 pool, 10,000
//! test): the round's seconds and the strategy's own share (`RoundTimes::rank`: its
//! rankings, and for cluster-errors, adversarial and neighbour-kl the pool's clusters or
//! neighbours in the first round, the discriminator, the labeled items' predictions).
//! Rounds go from the k-means first batch of 20, ten labels a round, the oracle
//! labeling each round's batch.
//!
//! `cargo bench --bench strategies`. Knobs (environment):
//! - GLEAN_MNIST_DIR: the IDX folder (default: glean's cache, mnist/package/data)
//! - GLEAN_BENCH_LEARNERS: cnn,hybrid (default both; the hybrid on deskewed PCA, so that
//!   no autoencoder trains first)
//! - GLEAN_BENCH_STRATEGIES (default margin,random,cluster-errors,adversarial,neighbour-kl)
//! - GLEAN_BENCH_ROUNDS (default 4)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use std::time::Instant;

use glean::dataset::ScanOptions;
use glean::learn::{strategy, EmbeddingKind, GraphConfig, Learner, LearnerConfig, LearnerKind};
use support::{env_or, OraclePool};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let Some(mnist) = support::mnist_dir("strategies") else {
        return Ok(());
    };
    let cache = std::env::temp_dir().join("glean-bench-cache");
    let OraclePool { data, oracle, .. } =
        support::oracle_pool(&mnist, &ScanOptions::default(), &cache)?;
    let learners: Vec<LearnerKind> = std::env::var("GLEAN_BENCH_LEARNERS")
        .unwrap_or_else(|_| "cnn,hybrid".into())
        .split(',')
        .map(|s| s.parse().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let strategies = strategy::parse_list(
        &std::env::var("GLEAN_BENCH_STRATEGIES")
            .unwrap_or_else(|_| "margin,random,cluster-errors,adversarial,neighbour-kl".into()),
    )
    .map_err(anyhow::Error::msg)?;
    let rounds: usize = env_or("GLEAN_BENCH_ROUNDS", 4).max(2);
    println!(
        "MNIST: {} pool, {} test; {rounds} rounds from 20 labels, 10 a round; seconds (strategy's share)",
        data.pool_len(),
        data.test_len()
    );
    for learner_kind in learners {
        for &st in &strategies {
            let config = LearnerConfig {
                strategy: st,
                learner: learner_kind,
                cache_dir: Some(cache.clone()),
                graph: GraphConfig {
                    embedding: EmbeddingKind::Pca,
                    ..GraphConfig::default()
                },
                ..LearnerConfig::default()
            };
            let mut learner = Learner::new(data.clone(), config)?;
            let first = learner.round(&[], 0, &|| false, &mut |_| {})?;
            let mut labeled: Vec<(usize, u16)> = first
                .ranking
                .batch(20)
                .into_iter()
                .map(|i| (i, oracle[i]))
                .collect();
            let (mut totals, mut ranks) = (Vec::new(), Vec::new());
            let t = Instant::now();
            for round in 1..=rounds {
                let out = learner.round(&labeled, round as u64, &|| false, &mut |_| {})?;
                totals.push(out.times.total);
                ranks.push(out.times.rank);
                labeled.extend(out.ranking.batch(10).into_iter().map(|i| (i, oracle[i])));
            }
            let later = |v: &[f64]| median(v[1..].to_vec());
            println!(
                "{learner_kind:>6} {:>15}: first round {:6.2} s ({:5.2} s, {:4.1} %), then median {:6.2} s ({:5.2} s, {:4.1} %); {rounds} rounds in {:.1} s",
                st.name(),
                totals[0],
                ranks[0],
                100.0 * ranks[0] / totals[0],
                later(&totals),
                later(&ranks),
                100.0 * later(&ranks) / later(&totals),
                t.elapsed().as_secs_f64(),
            );
        }
    }
    Ok(())
}
