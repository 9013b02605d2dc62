//! libtorch's process-wide state: its random generator (same seed, same device: same
//! run, whatever else trains in the process at the time; learners take turns at it,
//! `learn::torch_rng`) and its thread count. A binary of its own, so that no other test
//! changes either while these look.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::sync::Mutex;
use std::time::Duration;

use glean::learn::{
    Job, Learner, LearnerConfig, LearnerKind, ModelKind, Strategy, Trainer, TrainerEvent,
};

#[path = "it/support/mod.rs"]
mod support;
use support::fixtures::{cifar_data, labels_of, mnist_sample, quick_learner, quick_learner_of};

/// What one round of a fresh learner gives on the first 60 labels of every 16th image:
/// its accuracies and the first 100 items of its ranking.
fn one_round(learner: LearnerKind, strategy: Strategy) -> (Option<f64>, Option<f64>, Vec<usize>) {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&(0..60).map(|i| i * 16).collect::<Vec<_>>(), &oracle);
    let mut model = Learner::new(
        data,
        LearnerConfig {
            learner,
            ..quick_learner(strategy)
        },
    )
    .unwrap();
    let out = model.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
    (out.accuracy, out.network_accuracy, out.ranking.batch(100))
}

/// libtorch's thread count is process-wide, and a run is the same per seed *and* thread
/// count: the tests that learn at different counts take turns.
static THREAD_COUNT: Mutex<()> = Mutex::new(());

/// The same learner twice at once, beside another learner and beside a thread that
/// draws from libtorch's generator itself: each run equals the same run alone.
#[test]
fn learners_running_at_once_each_run_as_alone() {
    let _threads = THREAD_COUNT.lock().unwrap_or_else(|e| e.into_inner());
    let hybrid = || one_round(LearnerKind::Hybrid, Strategy::Bald);
    let cnn = || one_round(LearnerKind::Cnn, Strategy::Margin);
    let (hybrid_alone, cnn_alone) = (hybrid(), cnn());
    assert!(hybrid_alone.1.unwrap() > 0.3, "{hybrid_alone:?}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drawing = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _generator = glean::learn::torch_rng::seeded(99);
                let _ = tch::Tensor::rand([1000], (tch::Kind::Float, tch::Device::Cpu));
            }
        })
    };
    let runs = [
        std::thread::spawn(hybrid),
        std::thread::spawn(hybrid),
        std::thread::spawn(cnn),
    ];
    let [a, b, c] = runs.map(|r| r.join().unwrap());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drawing.join().unwrap();
    assert_eq!(a, hybrid_alone, "hybrid beside others");
    assert_eq!(b, hybrid_alone, "hybrid beside others");
    assert_eq!(c, cnn_alone, "cnn beside others");
}

fn draws(seed: u64) -> Vec<f32> {
    let _generator = glean::learn::torch_rng::seeded(seed);
    let mut out = Vec::new();
    for _ in 0..50 {
        let t = tch::Tensor::rand([64], (tch::Kind::Float, tch::Device::Cpu));
        out.extend(Vec::<f32>::try_from(t).unwrap());
        std::thread::yield_now();
    }
    out
}

/// Two threads holding the generator in turn each draw what they draw alone.
#[test]
fn holders_of_the_generator_draw_what_they_draw_alone() {
    let (alone_a, alone_b) = (draws(1), draws(2));
    assert_ne!(alone_a, alone_b);
    for _ in 0..4 {
        let a = std::thread::spawn(|| draws(1));
        let b = std::thread::spawn(|| draws(2));
        assert!(a.join().unwrap() == alone_a, "seed 1 beside seed 2");
        assert!(b.join().unwrap() == alone_b, "seed 2 beside seed 1");
    }
}

/// Through the trainer thread, the progress it reports and the ranking it sends.
#[test]
fn same_seed_same_run_and_progress_events() {
    let _threads = THREAD_COUNT.lock().unwrap_or_else(|e| e.into_inner());
    for learner in [LearnerKind::Cnn, LearnerKind::Hybrid] {
        same_seed_same_run(learner);
    }
}

fn same_seed_same_run(learner: LearnerKind) {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&(0..60).map(|i| i * 16).collect::<Vec<_>>(), &oracle);
    let mut results = Vec::new();
    for _ in 0..2 {
        let (handle, rx) = Trainer::spawn(
            data.clone(),
            LearnerConfig {
                threads: Some(2),
                learner,
                ..quick_learner(Strategy::Margin)
            },
        );
        // The graph learners prepare (embeddings, graph) before they are ready.
        loop {
            match rx.recv().unwrap() {
                TrainerEvent::Preparing { .. } => assert_eq!(learner, LearnerKind::Hybrid),
                TrainerEvent::Ready { .. } => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        handle.submit(Job::new(3, labeled.clone()));
        let mut saw_progress = false;
        let mut saw_accuracy = None;
        let mut ranking = None;
        let accuracy = loop {
            match rx.recv_timeout(Duration::from_secs(120)).unwrap() {
                TrainerEvent::RoundStarted { job, labels } => assert_eq!((job, labels), (3, 60)),
                TrainerEvent::Progress { job, loss, .. } => {
                    assert_eq!(job, 3);
                    assert!(loss.is_finite());
                    saw_progress = true;
                }
                TrainerEvent::Scoring { job } => assert_eq!(job, 3),
                TrainerEvent::Evaluated { accuracy, .. } => saw_accuracy = Some(accuracy),
                TrainerEvent::Ranked {
                    preliminary: true, ..
                } => assert_eq!(learner, LearnerKind::Hybrid),
                TrainerEvent::Ranked { ranking: last, .. } => ranking = Some(last),
                TrainerEvent::RoundDone { job, accuracy, .. } => {
                    assert_eq!(job, 3);
                    break accuracy;
                }
                other => panic!("unexpected {other:?}"),
            }
        };
        assert!(saw_progress);
        let ranking = ranking.expect("a final ranking before the round's end");
        if learner == LearnerKind::Cnn {
            // (The hybrid's first round reports the graph's accuracy, not the network's.)
            assert_eq!(accuracy, saw_accuracy);
        }
        results.push((ranking, accuracy));
        handle.shutdown();
    }
    assert_eq!(
        results[0].1, results[1].1,
        "{learner}: same seed, different accuracy"
    );
    assert!(
        results[0].1.unwrap() > 0.3,
        "the model learned nothing: {:?}",
        results[0].1
    );
    // Compare without printing 940 items on failure.
    let same = results[0].0 == results[1].0;
    assert!(
        same,
        "{learner}: same seed, different ranking (first items {:?} vs {:?})",
        results[0].0.batch(5),
        results[1].0.batch(5)
    );
}

/// The backbone's head learns CIFAR-10 photos from two labels a class, on one thread;
/// a network after it gets every core back.
#[test]
fn the_backbone_head_learns_photos_from_few_labels_on_one_thread() {
    let _threads = THREAD_COUNT.lock().unwrap_or_else(|e| e.into_inner());
    let weights = glean::learn::trainer::prepare::default_backbone_weights(
        glean::learn::backbone::effnet_lite::Backbone::Lite0,
    );
    if !support::needs("the Lite0 weights (make effnet)", weights.is_file()) {
        return;
    }
    let Some((cache, data, oracle)) = cifar_data() else {
        return;
    };
    assert_eq!(
        (data.pool_len(), data.test_len(), data.channels),
        (200, 100, 3)
    );
    // Only Lite0 installed: `auto` falls back to it from Lite2.
    let models = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        &weights,
        models.path().join("efficientnet-lite0.safetensors"),
    )
    .unwrap();
    let config = LearnerConfig {
        model: ModelKind::Auto,
        models_dir: Some(models.path().to_path_buf()),
        cache_dir: Some(cache.path().to_path_buf()),
        // The full schedule: training the head on features takes milliseconds.
        schedule: Default::default(),
        threads: None,
        ..quick_learner_of(LearnerKind::Cnn)
    };
    let mut prepared = Vec::new();
    let mut learner = Learner::prepare(
        data,
        config,
        &mut |p| {
            if let TrainerEvent::Preparing {
                what, done, total, ..
            } = p
            {
                prepared.push((what, done, total));
            }
        },
        &|| false,
    )
    .unwrap();
    assert_eq!(learner.model(), ModelKind::EffnetLite0);
    assert_eq!(prepared.last(), Some(&("backbone features", 300, 300)));
    // Two labels per class, spread over the pool (sorted by class, 20 each).
    let labeled = labels_of(&(0..20).map(|i| i * 10).collect::<Vec<_>>(), &oracle);
    let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
    let acc = out.accuracy.unwrap();
    // Chance is 0.10; ImageNet features make 2 labels per class worth far more.
    assert!(acc > 0.4, "accuracy {acc} from 20 labels");

    // The head trains on one thread; the next network gets every core back (the
    // setting belongs to the thread that trains).
    assert_eq!(tch::get_num_threads(), 1);
    let (digits, _) = mnist_sample();
    let config = LearnerConfig {
        threads: None,
        ..quick_learner(Strategy::Margin)
    };
    let cnn = Learner::new(digits, config).unwrap();
    assert_eq!(cnn.model(), ModelKind::Cnn);
    assert_eq!(
        tch::get_num_threads() as usize,
        glean::learn::trainer::prepare::default_threads()
    );
}
