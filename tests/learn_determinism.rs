//! Same seed, same device: same run. Alone in its own test binary because libtorch's
//! random generator is process-wide, and other tests training at the same time would
//! draw from it.

use std::time::Duration;

use glean::learn::{Job, LearnerConfig, LearnerKind, Strategy, Trainer, TrainerEvent};

mod support;
use support::fixtures::{labels_of, mnist_sample, quick_learner};

/// One test for both learners, one after the other: in parallel they would share the
/// generator.
#[test]
fn same_seed_same_run_and_progress_events() {
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
        handle.submit(Job {
            version: 3,
            labeled: labeled.clone(),
        });
        let mut saw_progress = false;
        let mut saw_accuracy = None;
        let ranked = loop {
            match rx.recv_timeout(Duration::from_secs(120)).unwrap() {
                TrainerEvent::Progress { version, loss, .. } => {
                    assert_eq!(version, 3);
                    assert!(loss.is_finite());
                    saw_progress = true;
                }
                TrainerEvent::Evaluated { accuracy, .. } => saw_accuracy = Some(accuracy),
                TrainerEvent::Ranked {
                    preliminary: true, ..
                } => assert_eq!(learner, LearnerKind::Hybrid),
                ev @ TrainerEvent::Ranked { .. } => break ev,
                other => panic!("unexpected {other:?}"),
            }
        };
        assert!(saw_progress);
        let TrainerEvent::Ranked {
            ranking, accuracy, ..
        } = ranked
        else {
            unreachable!()
        };
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
