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

/// 30 CIFAR-10 photos per class, 20 in train/ and 10 in test/, linked into a temp folder.
pub fn cifar_subset() -> Option<tempfile::TempDir> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/cifar10-test");
    if !super::needs("../shared/datasets/cifar10-test", src.is_dir()) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    for class in std::fs::read_dir(&src).unwrap() {
        let class = class.unwrap().path();
        let name = class.file_name().unwrap().to_owned();
        let mut files: Vec<_> = std::fs::read_dir(&class)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for (i, f) in files.iter().take(30).enumerate() {
            let split = if i < 20 { "train" } else { "test" };
            let to = dir.path().join(split).join(&name);
            std::fs::create_dir_all(&to).unwrap();
            std::os::unix::fs::symlink(f, to.join(f.file_name().unwrap())).unwrap();
        }
    }
    Some(dir)
}

/// `cifar_subset` loaded: a cache folder for the learner, the data and its oracle.
pub fn cifar_data() -> Option<(tempfile::TempDir, LearnData, Vec<u16>)> {
    let photos = cifar_subset()?;
    let cache = tempfile::tempdir().unwrap();
    let loaded = dataset::load(photos.path(), &ScanOptions::default(), None, cache.path()).unwrap();
    let oracle: Vec<u16> = loaded.pool.items.iter().map(|i| i.label.unwrap()).collect();
    Some((cache, LearnData::from_loaded(&loaded).unwrap(), oracle))
}
