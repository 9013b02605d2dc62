//! Test data: images made on the fly, and the bundled MNIST sample as learner input.

use std::path::Path;

use glean::dataset::{self, ScanOptions};
use glean::learn::{
    DeviceChoice, LearnData, Learner, LearnerConfig, LearnerKind, RankingSource, Strategy,
    TrainSchedule,
};

#[allow(unused_imports)]
pub use glean_test_support::png;

/// The pool of `assets/mnist` as the learner takes it, with each item's oracle label.
pub fn mnist_sample() -> (LearnData, Vec<u16>) {
    let cache = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
    let loaded = dataset::load(&root, &ScanOptions::default(), None, cache.path()).unwrap();
    let oracle = loaded
        .pool
        .items
        .iter()
        .map(|it| it.label.unwrap())
        .collect();
    (LearnData::from_loaded(&loaded).unwrap(), oracle)
}

/// A network-only learner small enough for tests: CPU, one thread, a short training
/// schedule.
pub fn quick_learner(strategy: Strategy) -> LearnerConfig {
    LearnerConfig {
        device: DeviceChoice::Cpu,
        strategy,
        learner: LearnerKind::Cnn,
        mc_samples: 5,
        threads: Some(1),
        schedule: TrainSchedule {
            min_steps: 60,
            max_steps: 80,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The oracle's labels for the pool indices `picks`.
pub fn labels_of(picks: &[usize], oracle: &[u16]) -> Vec<(usize, u16)> {
    picks.iter().map(|&i| (i, oracle[i])).collect()
}

/// `quick_learner` with margin ranking, for the learner `kind`.
pub fn quick_learner_of(kind: LearnerKind) -> LearnerConfig {
    LearnerConfig {
        learner: kind,
        ..quick_learner(Strategy::Margin)
    }
}

/// The k-means cold start of `learner`, labeled by the oracle.
pub fn cold_start_labels(learner: &mut Learner, oracle: &[u16]) -> Vec<(usize, u16)> {
    let first = learner.round(&[], 0, &|| false, &mut |_| {}).unwrap();
    assert_eq!(first.ranking.source, RankingSource::ColdStart);
    labels_of(&first.ranking.batch(20), oracle)
}
