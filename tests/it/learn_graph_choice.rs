//! The graph learner's embeddings on real digits (`assets/mnist`, 1,000 pool and 300
//! test): the autoencoder's graph beside deskewed PCA, chosen by cross-validation on the
//! labels, trained before the rounds or beside them.

use crate::support;

use std::time::{Duration, Instant};

use glean::learn::strategy::balanced_random_subset;
use glean::learn::{
    ClassPrior, EmbeddingKind, GraphConfig, Learner, LearnerConfig, LearnerKind, Strategy,
    TrainerEvent,
};
use support::fixtures::{labels_of, mnist_sample, quick_learner};

fn graph_learner(
    embedding: EmbeddingKind,
    class_prior: ClassPrior,
    background: bool,
) -> LearnerConfig {
    LearnerConfig {
        learner: LearnerKind::Graph,
        graph: GraphConfig {
            embedding,
            class_prior,
            background,
            // The sample's 1,300 digits are below the autoencoder's default minimum.
            vae_min_images: 0,
            ..GraphConfig::default()
        },
        ..quick_learner(Strategy::Margin)
    }
}

#[test]
fn auto_judges_both_embeddings_and_runs_as_it_chose_the_same_every_time() {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&balanced_random_subset(&oracle, 10, 40, 3), &oracle);
    let run = || {
        let config = graph_learner(EmbeddingKind::Auto, ClassPrior::Auto, false);
        let mut learner = Learner::new(data.clone(), config).unwrap();
        assert_eq!(learner.graph_candidates(), ["deskew-pca", "vae"]);
        let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
        (
            out.graph.expect("a graph round names its graph"),
            out.accuracy.unwrap(),
            out.ranking,
        )
    };
    let (graph, accuracy, ranking) = run();
    assert!(
        ["deskew-pca", "deskew-pca+mbo", "vae", "vae+mbo"].contains(&graph.as_str()),
        "{graph}"
    );
    assert!(accuracy > 0.75, "graph {graph}: {accuracy}");
    assert_eq!(run(), (graph, accuracy, ranking));
}

#[test]
fn auto_starts_with_poisson_mbo_before_the_labels_can_judge_it() {
    let (data, oracle) = mnist_sample();
    let round = |labels: usize| {
        let labeled = labels_of(&balanced_random_subset(&oracle, 10, labels, 3), &oracle);
        let config = graph_learner(EmbeddingKind::Pca, ClassPrior::Auto, false);
        let mut learner = Learner::new(data.clone(), config).unwrap();
        let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
        out.graph.expect("a graph round names its graph")
    };
    // One label a class: nothing to judge, so the default (on) holds.
    assert_eq!(round(10), "deskew-pca+mbo");
}

/// MBO takes several times as long as the propagation on a large pool: the
/// propagation's own ranking goes out first, the same as a round without MBO gives.
#[test]
fn a_round_with_poisson_mbo_posts_the_propagations_ranking_first() {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&balanced_random_subset(&oracle, 10, 30, 2), &oracle);
    let mut plain = Learner::new(
        data.clone(),
        graph_learner(EmbeddingKind::Pca, ClassPrior::Off, false),
    )
    .unwrap();
    let mut posted = Vec::new();
    let without = plain
        .round(&labeled, 5, &|| false, &mut |p| posted.push(p))
        .unwrap();
    assert!(
        posted
            .iter()
            .all(|p| !matches!(p, TrainerEvent::Ranked { .. })),
        "a graph round without MBO posts its ranking once, at the end"
    );
    let mut mbo = Learner::new(
        data,
        graph_learner(EmbeddingKind::Pca, ClassPrior::On, false),
    )
    .unwrap();
    let mut early = Vec::new();
    let with = mbo
        .round(&labeled, 5, &|| false, &mut |p| {
            if let TrainerEvent::Ranked {
                ranking,
                preliminary: true,
                ..
            } = p
            {
                early.push(ranking);
            }
        })
        .unwrap();
    assert_eq!(early.len(), 1);
    let early = &early[0];
    assert_eq!(without.graph.as_deref(), Some("deskew-pca"));
    assert_eq!(with.graph.as_deref(), Some("deskew-pca+mbo"));
    assert_eq!(early.job, 5);
    assert_eq!(early.items, without.ranking.items);
    assert_ne!(with.ranking.items, early.items);
}

#[test]
fn auto_leaves_the_autoencoder_out_below_its_minimum_of_images() {
    let (data, _) = mnist_sample();
    let mut config = graph_learner(EmbeddingKind::Auto, ClassPrior::Auto, false);
    config.graph.vae_min_images = data.pool_len() + data.test_len() + 1;
    let learner = Learner::new(data, config).unwrap();
    assert_eq!(learner.graph_candidates(), ["deskew-pca"]);
}

#[test]
fn each_embedding_alone_learns_the_digits() {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&balanced_random_subset(&oracle, 10, 40, 3), &oracle);
    for (embedding, name) in [
        (EmbeddingKind::Pca, "deskew-pca"),
        (EmbeddingKind::Vae, "vae"),
    ] {
        let config = graph_learner(embedding, ClassPrior::Off, false);
        let mut learner = Learner::new(data.clone(), config).unwrap();
        assert_eq!(learner.graph_candidates(), [name]);
        let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
        assert_eq!(out.graph.as_deref(), Some(name));
        let accuracy = out.accuracy.unwrap();
        // 40 labels of 1,000 digits; chance is 10 %.
        assert!(accuracy > 0.7, "{name}: {accuracy}");
    }
    let prior = graph_learner(EmbeddingKind::Pca, ClassPrior::On, false);
    let mut learner = Learner::new(data.clone(), prior).unwrap();
    let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
    assert_eq!(out.graph.as_deref(), Some("deskew-pca+mbo"));
    let accuracy = out.accuracy.unwrap();
    assert!(accuracy > 0.7, "deskew-pca+mbo: {accuracy}");
}

#[test]
fn the_labeler_rounds_on_the_first_graph_while_the_autoencoder_trains() {
    let (data, oracle) = mnist_sample();
    let config = graph_learner(EmbeddingKind::Auto, ClassPrior::Off, true);
    let mut learner = Learner::new(data, config).unwrap();
    // Built at once: the PCA graph; the autoencoder's comes later.
    assert_eq!(learner.graph_candidates(), ["deskew-pca"]);
    let mut labels = 20;
    let started = Instant::now();
    loop {
        let labeled = labels_of(&balanced_random_subset(&oracle, 10, labels, 1), &oracle);
        let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
        assert!(out.graph.is_some());
        if learner.graph_candidates().len() == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the autoencoder's graph never joined"
        );
        std::thread::sleep(Duration::from_millis(200));
        labels = (labels + 1).min(200);
    }
    assert_eq!(learner.graph_candidates(), ["deskew-pca", "vae"]);
}

#[test]
fn the_autoencoder_refuses_photos_too_big_for_it() {
    let (data, _) = mnist_sample();
    // 28×28 grayscale fits; a 64×64 colour image (12,288 values) would not.
    assert!(
        data.channels * data.size * data.size <= glean::learn::backbone::features::VAE_MAX_INPUTS
    );
    let big = glean::learn::LearnData::new(
        3,
        64,
        3,
        std::sync::Arc::new(vec![0u8; 40 * 3 * 64 * 64]),
        std::sync::Arc::new(Vec::new()),
        Vec::new(),
    )
    .unwrap();
    let config = LearnerConfig {
        model: glean::learn::ModelKind::Cnn,
        ..graph_learner(EmbeddingKind::Vae, ClassPrior::Off, false)
    };
    let e = Learner::new(big, config).err().expect("refused");
    assert!(e.to_string().contains("at most"), "{e}");
}

/// The sample's digits as 3-channel images: colour images for which glean has neither
/// a deskew nor a backbone (`--model cnn`).
fn colour_digits() -> (glean::learn::LearnData, Vec<u16>) {
    let (gray, oracle) = mnist_sample();
    let plane = gray.size * gray.size;
    let triple = |pixels: &[u8]| -> Vec<u8> {
        pixels
            .chunks(plane)
            .flat_map(|img| img.iter().chain(img).chain(img).copied())
            .collect()
    };
    let [pool, test] = gray.pixels().unwrap();
    let data = glean::learn::LearnData::new(
        3,
        gray.size,
        gray.classes,
        std::sync::Arc::new(triple(pool)),
        std::sync::Arc::new(triple(test)),
        gray.test_labels.clone(),
    )
    .unwrap();
    (data, oracle)
}

#[test]
fn colour_images_without_a_backbone_start_on_the_autoencoder() {
    let (data, oracle) = colour_digits();
    // One label a digit: nothing can be judged, so the preferred graph is used.
    let labeled = labels_of(&balanced_random_subset(&oracle, 10, 10, 2), &oracle);
    let config = LearnerConfig {
        model: glean::learn::ModelKind::Cnn,
        ..graph_learner(EmbeddingKind::Auto, ClassPrior::Off, false)
    };
    let mut learner = Learner::new(data.clone(), config.clone()).unwrap();
    assert_eq!(learner.graph_candidates(), ["vae", "pixel-pca"]);
    let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
    assert_eq!(out.graph.as_deref(), Some("vae"));

    // In the labeler the autoencoder comes later, and is moved to when it does.
    let background = LearnerConfig {
        graph: GraphConfig {
            background: true,
            ..config.graph.clone()
        },
        ..config
    };
    let mut learner = Learner::new(data, background).unwrap();
    assert_eq!(learner.graph_candidates(), ["pixel-pca"]);
    let started = Instant::now();
    let graph = loop {
        let out = learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
        if learner.graph_candidates().len() == 2 {
            break out.graph;
        }
        assert_eq!(out.graph.as_deref(), Some("pixel-pca"));
        assert!(started.elapsed() < Duration::from_secs(300), "never joined");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(graph.as_deref(), Some("vae"));
}

/// The trainer tells the labeler how far the autoencoder beside the rounds is, while it
/// waits for jobs, and that it is gone once a round has taken its graph in.
#[test]
fn the_trainer_reports_the_autoencoder_until_a_round_takes_it_in() {
    use glean::learn::{BackgroundWork, Job, Trainer, TrainerEvent};
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&balanced_random_subset(&oracle, 10, 20, 4), &oracle);
    let (trainer, events) = Trainer::spawn(
        data,
        graph_learner(EmbeddingKind::Auto, ClassPrior::Off, true),
    );
    let next = || {
        events
            .recv_timeout(Duration::from_secs(300))
            .expect("the trainer goes on")
    };
    let mut seen: Vec<BackgroundWork> = Vec::new();
    // No job yet: the idle trainer looks in on the autoencoder until it is done.
    while !seen.last().is_some_and(|w| w.finished) {
        match next() {
            TrainerEvent::Background(Some(work)) => {
                assert_eq!(work.what, "autoencoder");
                seen.push(work);
            }
            TrainerEvent::Background(None) => panic!("gone before any round: {seen:?}"),
            TrainerEvent::Error { message, .. } => panic!("{message}"),
            _ => {}
        }
    }
    assert!(
        seen.iter()
            .any(|w| w.total > 0 && w.done > 0 && w.done < w.total),
        "no epoch between the first and the last: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done), "{seen:?}");
    trainer.submit(Job::new(1, labeled));
    let mut ranked = false;
    loop {
        match next() {
            TrainerEvent::Ranked {
                preliminary: false, ..
            } => ranked = true,
            TrainerEvent::Background(None) => break,
            TrainerEvent::Background(Some(work)) => panic!("still {work:?} after {seen:?}"),
            TrainerEvent::Error { message, .. } => panic!("{message}"),
            _ => {}
        }
    }
    assert!(
        ranked,
        "reported gone before the round that took it in ended"
    );
}
