//! Same seed, same device: same run. Alone in its own test binary because libtorch's
//! random generator is process-wide, and other tests training at the same time would
//! draw from it.

use std::time::Duration;

use glean::learn::{Job, LearnerConfig, Strategy, Trainer, TrainerEvent};

mod support;
use support::fixtures::{labels_of, mnist_sample, quick_learner};

#[test]
fn same_seed_same_run_and_progress_events() {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&(0..60).map(|i| i * 16).collect::<Vec<_>>(), &oracle);
    let mut results = Vec::new();
    for _ in 0..2 {
        let (handle, rx) = Trainer::spawn(
            data.clone(),
            LearnerConfig {
                threads: Some(2),
                ..quick_learner(Strategy::Margin)
            },
        );
        assert!(matches!(rx.recv().unwrap(), TrainerEvent::Ready { .. }));
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
        assert_eq!(accuracy, saw_accuracy);
        results.push((ranking, accuracy));
        handle.shutdown();
    }
    assert_eq!(results[0].1, results[1].1, "same seed, different accuracy");
    assert!(
        results[0].1.unwrap() > 0.3,
        "the model learned nothing: {:?}",
        results[0].1
    );
    // Compare without printing 940 items on failure.
    let same = results[0].0 == results[1].0;
    assert!(
        same,
        "same seed, different ranking (first items {:?} vs {:?})",
        results[0].0.batch(5),
        results[1].0.batch(5)
    );
}
