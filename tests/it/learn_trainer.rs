//! The learner and its trainer thread on real digits (`assets/mnist`, 1,000 pool and
//! 300 test images).

use std::time::Duration;

use glean::learn::{
    ColdStart, DeviceChoice, Job, Learner, LearnerConfig, RankingSource, Strategy, Trainer,
    TrainerEvent,
};

use crate::support;
use support::fixtures::{labels_of, mnist_sample, quick_learner};

#[test]
fn a_round_learns_and_ranks_only_unlabeled_items() {
    let (data, oracle) = mnist_sample();
    assert_eq!(data.test_len(), 300);
    for strategy in [Strategy::Margin, Strategy::Bald, Strategy::MarginCoreSet] {
        let mut learner = Learner::new(data.clone(), quick_learner(strategy)).unwrap();
        // The pool is sorted by class folder; a spread of 200 items covers every digit.
        let labeled = labels_of(&(0..200).map(|i| i * 5).collect::<Vec<_>>(), &oracle);
        let out = learner.round(&labeled, 7, &|| false, &mut |_| {}).unwrap();
        let acc = out.accuracy.unwrap();
        assert!(acc > 0.7, "{strategy}: accuracy {acc} after 200 labels");
        assert_eq!(out.ranking.job, 7);
        assert_eq!(out.ranking.source, RankingSource::Model);
        assert_eq!(out.ranking.items.len(), 800);
        assert!(out.ranking.items.iter().all(|it| it.pool_index % 5 != 0));
        assert_eq!(out.ranking.items[0].top.len(), 3);
        if strategy != Strategy::MarginCoreSet {
            assert!(
                out.ranking
                    .items
                    .windows(2)
                    .all(|w| w[0].score >= w[1].score),
                "{strategy}"
            );
        }
    }
}

#[test]
fn kmeans_cold_start_covers_the_classes() {
    let (data, oracle) = mnist_sample();
    let mut learner = Learner::new(data.clone(), quick_learner(Strategy::Margin)).unwrap();
    let out = learner.round(&[], 0, &|| false, &mut |_| {}).unwrap();
    assert_eq!(out.ranking.source, RankingSource::ColdStart);
    assert!(out.accuracy.is_none());
    let mut classes: Vec<u16> = out.ranking.batch(20).iter().map(|&i| oracle[i]).collect();
    classes.sort_unstable();
    classes.dedup();
    assert!(classes.len() >= 9, "k-means start covers only {classes:?}");
    let random = LearnerConfig {
        cold_start: ColdStart::Random,
        ..quick_learner(Strategy::Margin)
    };
    let picks = Learner::new(data, random)
        .unwrap()
        .cold_start_picks()
        .unwrap();
    assert_eq!(picks.len(), 20);
}

#[test]
fn subset_scoring_ranks_only_the_subset() {
    let (data, oracle) = mnist_sample();
    let config = LearnerConfig {
        pool_subset: Some(100),
        ..quick_learner(Strategy::Entropy)
    };
    let mut learner = Learner::new(data, config).unwrap();
    let out = learner
        .round(
            &labels_of(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &oracle),
            1,
            &|| false,
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(out.ranking.items.len(), 100);
}

#[test]
fn bad_labels_are_errors_not_panics() {
    let (data, _) = mnist_sample();
    let mut learner = Learner::new(data, quick_learner(Strategy::Margin)).unwrap();
    let err = learner
        .round(&[(5000, 1)], 1, &|| false, &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("5000"), "{err}");
    let err = learner
        .round(&[(1, 10)], 1, &|| false, &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("class 10"), "{err}");
}

fn next_final(rx: &crossbeam_channel::Receiver<TrainerEvent>) -> TrainerEvent {
    loop {
        let ev = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("trainer event");
        if matches!(
            ev,
            TrainerEvent::Ranked { .. }
                | TrainerEvent::Cancelled { .. }
                | TrainerEvent::Error { .. }
        ) {
            return ev;
        }
    }
}

#[test]
fn jobs_coalesce_and_cancel() {
    let (data, oracle) = mnist_sample();
    let (handle, rx) = Trainer::spawn(data, quick_learner(Strategy::Margin));
    assert!(matches!(rx.recv().unwrap(), TrainerEvent::Ready { .. }));
    // Jobs 2 and 3 arrive while 1 waits or runs: 3 replaces 2, which never runs.
    for v in 1..=3u64 {
        handle.submit(Job::new(
            v,
            labels_of(&(0..(10 * v as usize)).collect::<Vec<_>>(), &oracle),
        ));
    }
    let mut ranked = Vec::new();
    while ranked.last() != Some(&3) {
        match next_final(&rx) {
            TrainerEvent::Ranked { ranking, .. } => ranked.push(ranking.job),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(!ranked.contains(&2), "{ranked:?}");

    // A cancelled job ends with Cancelled, and the next one still runs.
    handle.submit(Job::new(4, labels_of(&[0, 1, 2], &oracle)));
    handle.cancel(4);
    assert_eq!(next_final(&rx), TrainerEvent::Cancelled { job: 4 });
    handle.submit(Job::new(5, labels_of(&[0, 1, 2], &oracle)));
    assert!(matches!(next_final(&rx), TrainerEvent::Ranked { ranking, .. } if ranking.job == 5));
    handle.shutdown();
}

/// The events of job `job`'s round, from the trainer taking it to its end (work beside
/// the rounds left out).
fn round_events(rx: &crossbeam_channel::Receiver<TrainerEvent>, job: u64) -> Vec<TrainerEvent> {
    let mut events = Vec::new();
    loop {
        let ev = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("trainer event");
        match &ev {
            TrainerEvent::Background(_) => continue,
            TrainerEvent::Error { message, .. } => panic!("{message}"),
            TrainerEvent::Cancelled { .. } => panic!("cancelled: {events:?}"),
            _ => {}
        }
        let done = matches!(ev, TrainerEvent::RoundDone { job: j, .. } if j == job);
        events.push(ev);
        if done {
            return events;
        }
    }
}

/// What a round's end says: (labels, model version, trained, accuracy).
fn round_done(events: &[TrainerEvent]) -> (usize, u64, bool, Option<f64>) {
    match events.last() {
        Some(TrainerEvent::RoundDone {
            labels,
            model,
            trained,
            accuracy,
            times,
            ..
        }) => {
            assert!(times.total > 0.0, "{times:?}");
            (*labels, *model, *trained, *accuracy)
        }
        other => panic!("a round ending in {other:?}"),
    }
}

/// The trainer numbers the models it makes: a round that trains on new labels makes
/// the next version (from `models_made`), a cold start or a refresh (the labels of the
/// model in use) does not. Each round starts with `RoundStarted`, ends with its final
/// ranking and then `RoundDone`, and says when it scores.
#[test]
fn rounds_start_and_end_with_the_model_version_they_leave() {
    let (data, oracle) = mnist_sample();
    let (handle, rx) = Trainer::spawn(data.clone(), quick_learner(Strategy::Margin));
    assert!(matches!(rx.recv().unwrap(), TrainerEvent::Ready { .. }));
    let labeled = labels_of(&(0..100).map(|i| i * 10).collect::<Vec<_>>(), &oracle);

    // A cold start: no labels, no model.
    handle.submit(Job::new(1, Vec::new()));
    let events = round_events(&rx, 1);
    assert_eq!(events[0], TrainerEvent::RoundStarted { job: 1, labels: 0 });
    assert!(matches!(
        &events[events.len() - 2],
        TrainerEvent::Ranked { ranking, labels: 0, preliminary: false }
            if ranking.job == 1 && ranking.source == RankingSource::ColdStart
    ));
    assert_eq!(round_done(&events), (0, 0, false, None));

    // The first round that trains makes model 1, and says so after its ranking.
    handle.submit(Job::new(2, labeled.clone()));
    let events = round_events(&rx, 2);
    assert_eq!(
        events[0],
        TrainerEvent::RoundStarted {
            job: 2,
            labels: 100
        }
    );
    let (labels, model, trained, accuracy) = round_done(&events);
    assert_eq!((labels, model, trained), (100, 1, true));
    assert!(matches!(
        &events[events.len() - 2],
        TrainerEvent::Ranked { ranking, labels: 100, preliminary: false }
            if ranking.job == 2 && ranking.source == RankingSource::Model
    ));
    let evaluated = events.iter().find_map(|ev| match ev {
        TrainerEvent::Evaluated {
            job: 2,
            labels: 100,
            accuracy,
        } => Some(*accuracy),
        _ => None,
    });
    assert!(evaluated.is_some(), "{events:?}");
    assert_eq!(accuracy, evaluated);
    // Scoring follows the last fit step.
    let last_step = events
        .iter()
        .rposition(|ev| matches!(ev, TrainerEvent::Progress { job: 2, .. }))
        .expect("fit progress");
    assert!(
        matches!(
            &events[last_step],
            TrainerEvent::Progress { step, steps, .. } if step == steps
        ),
        "{:?}",
        events[last_step]
    );
    assert_eq!(events[last_step + 1], TrainerEvent::Scoring { job: 2 });

    // A refresh on the same labels ranks anew but makes no new model.
    handle.submit(Job {
        refresh: true,
        ..Job::new(3, labeled.clone())
    });
    let events = round_events(&rx, 3);
    assert_eq!(
        events[0],
        TrainerEvent::RoundStarted {
            job: 3,
            labels: 100
        }
    );
    let (_, model, trained, _) = round_done(&events);
    assert_eq!((model, trained), (1, true));

    // New labels after it: the next version.
    let mut more = labeled.clone();
    more.extend(labels_of(&[1, 2, 3], &oracle));
    handle.submit(Job::new(4, more));
    let (labels, model, trained, _) = round_done(&round_events(&rx, 4));
    assert_eq!((labels, model, trained), (103, 2, true));
    handle.shutdown();

    // A resumed session's trainer counts on from the versions it made before.
    let config = LearnerConfig {
        models_made: 7,
        ..quick_learner(Strategy::Margin)
    };
    let (handle, rx) = Trainer::spawn(data, config);
    handle.submit(Job::new(1, labeled));
    let events = round_events(&rx, 1);
    assert_eq!(round_done(&events).1, 8);
    handle.shutdown();
}

#[test]
fn a_missing_cuda_device_is_an_error_event() {
    let (data, _) = mnist_sample();
    let config = LearnerConfig {
        device: DeviceChoice::Cuda(64),
        ..quick_learner(Strategy::Margin)
    };
    let (_handle, rx) = Trainer::spawn(data, config);
    match rx.recv_timeout(Duration::from_secs(60)).unwrap() {
        TrainerEvent::Error { job: None, message } => {
            assert!(message.contains("cuda:64"), "{message}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn warm_start_continues_from_the_last_weights() {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&(0..100).map(|i| i * 10).collect::<Vec<_>>(), &oracle);
    let first_loss = |learner: &mut Learner| {
        let mut first = None;
        learner
            .round(&labeled, 1, &|| false, &mut |p| {
                if let glean::learn::TrainerEvent::Progress { loss, .. } = p {
                    first.get_or_insert(loss);
                }
            })
            .unwrap();
        first.unwrap()
    };
    let mut warm = Learner::new(
        data.clone(),
        LearnerConfig {
            warm_start: true,
            ..quick_learner(Strategy::Margin)
        },
    )
    .unwrap();
    let (warm_1, warm_2) = (first_loss(&mut warm), first_loss(&mut warm));
    let mut cold = Learner::new(data, quick_learner(Strategy::Margin)).unwrap();
    let (cold_1, cold_2) = (first_loss(&mut cold), first_loss(&mut cold));
    // From scratch, the second round starts as lost as the first; warm, it starts trained.
    assert!(warm_2 < warm_1 * 0.5, "warm: {warm_1} then {warm_2}");
    assert!(cold_2 > cold_1 * 0.5, "cold: {cold_1} then {cold_2}");
}

/// The trainer's likely-mistakes job on real digits: 200 labels, 10 moved to a wrong
/// class. Two requests sent before the trainer is ready coalesce (only the newer is
/// answered); the answer judges every label, least believed first, with most of the
/// flipped labels among the first 20. A learner without the graph answers with why.
#[test]
fn the_mistakes_job_finds_flipped_labels_and_says_why_without_a_graph() {
    use glean::learn::mistakes::{flip_labels, found_in_first};
    use glean::learn::{ClassPrior, EmbeddingKind, GraphConfig, LearnerKind, MistakesJob};
    let (data, oracle) = mnist_sample();
    let picks: Vec<usize> = (0..data.pool_len()).step_by(5).collect();
    let (labeled, flipped) = flip_labels(&labels_of(&picks, &oracle), 10, 10, 3);
    let config = |learner| LearnerConfig {
        learner,
        graph: GraphConfig {
            embedding: EmbeddingKind::Pca,
            class_prior: ClassPrior::Off,
            ..GraphConfig::default()
        },
        ..quick_learner(Strategy::Margin)
    };
    let (handle, rx) = Trainer::spawn(data.clone(), config(LearnerKind::Graph));
    for request in 1..=2 {
        handle.find_mistakes(MistakesJob {
            request,
            labeled: labeled.clone(),
        });
    }
    let answer = loop {
        match rx
            .recv_timeout(Duration::from_secs(120))
            .expect("an answer")
        {
            TrainerEvent::Suspects {
                request,
                labels,
                suspects,
                ..
            } => break (request, labels, suspects),
            TrainerEvent::MistakesFailed { message, .. } => panic!("{message}"),
            _ => {}
        }
    };
    let (request, labels, suspects) = answer;
    assert_eq!((request, labels, suspects.len()), (2, 200, 200));
    assert!(suspects
        .windows(2)
        .all(|w| w[0].prob_given <= w[1].prob_given));
    let found = found_in_first(&suspects, &flipped, 20);
    assert!(found >= 8, "{found} of 10 flipped labels in the first 20");
    assert!(flipped.contains(&suspects[0].pool_index));
    // Request 1 was replaced while it waited: nothing more comes.
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    handle.shutdown();

    let (handle, rx) = Trainer::spawn(data, config(LearnerKind::Cnn));
    handle.find_mistakes(MistakesJob {
        request: 7,
        labeled,
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(60)).expect("an answer") {
            TrainerEvent::MistakesFailed { request, message } => {
                assert_eq!(request, 7);
                assert!(message.contains("needs the graph"), "{message}");
                break;
            }
            TrainerEvent::Suspects { .. } => panic!("suspects without a graph"),
            _ => {}
        }
    }
    handle.shutdown();
}

/// Quitting stops the trainer after the step it is in: a round and a request for the
/// likely mistakes still waiting never run, whatever runs when the stop comes.
#[test]
fn a_stop_runs_no_waiting_round_or_mistakes_request() {
    use glean::learn::{ClassPrior, EmbeddingKind, GraphConfig, LearnerKind, MistakesJob};
    let (data, oracle) = mnist_sample();
    let config = LearnerConfig {
        learner: LearnerKind::Graph,
        graph: GraphConfig {
            embedding: EmbeddingKind::Pca,
            class_prior: ClassPrior::Off,
            ..GraphConfig::default()
        },
        ..quick_learner(Strategy::Margin)
    };
    let (handle, rx) = Trainer::spawn(data.clone(), config);
    // Ready once the graph is built.
    while !matches!(
        rx.recv_timeout(Duration::from_secs(120))
            .expect("the trainer gets ready"),
        TrainerEvent::Ready { .. }
    ) {}
    let labeled = labels_of(
        &(0..data.pool_len()).step_by(2).collect::<Vec<_>>(),
        &oracle,
    );
    let request = |request| MistakesJob {
        request,
        labeled: labeled.clone(),
    };
    handle.find_mistakes(request(1));
    handle.submit(Job::new(1, labeled.clone()));
    handle.find_mistakes(request(2));
    let asked = std::time::Instant::now();
    assert!(
        handle.stop_by(asked + Duration::from_secs(60)),
        "the trainer did not stop"
    );
    let after: Vec<TrainerEvent> = rx.try_iter().collect();
    assert!(
        after.iter().all(|ev| matches!(
            ev,
            TrainerEvent::Suspects { request: 1, .. } | TrainerEvent::Background(_)
        )),
        "{after:?}"
    );
}
