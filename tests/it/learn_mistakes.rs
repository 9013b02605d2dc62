//! Likely mistakes on real digits: the 1,000 + 300 of `assets/mnist`, 200 labels of
//! which 10 are moved to a wrong class; the graph's held-out propagation must put most
//! of them first. Plain Poisson keeps the test short (with Poisson-MBO each fold takes
//! several times as long); `benches/mistakes.rs` measures the default on the full MNIST
//! and CIFAR-10.

use crate::support;

use glean::learn::mistakes::{flip_labels, found_in_first};
use glean::learn::{
    ClassPrior, EmbeddingKind, GraphConfig, Learner, LearnerConfig, LearnerKind, Strategy,
};
use support::fixtures::{labels_of, mnist_sample, quick_learner};

fn graph_learner(kind: LearnerKind) -> LearnerConfig {
    LearnerConfig {
        learner: kind,
        graph: GraphConfig {
            embedding: EmbeddingKind::Pca,
            class_prior: ClassPrior::Off,
            ..GraphConfig::default()
        },
        ..quick_learner(Strategy::Margin)
    }
}

#[test]
fn the_flipped_labels_come_first_among_the_suspects_the_same_every_time() {
    let (data, oracle) = mnist_sample();
    let picks: Vec<usize> = (0..data.pool_len()).step_by(5).collect();
    let (labeled, flipped) = flip_labels(&labels_of(&picks, &oracle), 10, 10, 3);
    assert_eq!((labeled.len(), flipped.len()), (200, 10));
    let suspects = |kind| {
        let mut learner = Learner::new(data.clone(), graph_learner(kind)).unwrap();
        learner.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
        learner.likely_mistakes(&labeled).unwrap()
    };
    let graph = suspects(LearnerKind::Graph);
    assert_eq!(graph.len(), labeled.len(), "every label is judged once");
    assert!(graph.windows(2).all(|w| w[0].prob_given <= w[1].prob_given));
    let found = found_in_first(&graph, &flipped, 20);
    assert!(
        found >= 8,
        "{found} of 10 flipped labels in the first 20 suspects"
    );
    // Each flipped label is judged by a propagation that did not see it: its given
    // class is not what that propagation predicts.
    for s in graph
        .iter()
        .filter(|s| flipped.contains(&s.pool_index))
        .take(found)
    {
        assert_ne!(s.given, oracle[s.pool_index]);
    }
    assert_eq!(
        suspects(LearnerKind::Graph),
        graph,
        "same suspects per seed"
    );
    // Without a graph there is nothing to judge with: a clear error.
    let mut cnn = Learner::new(data.clone(), graph_learner(LearnerKind::Cnn)).unwrap();
    cnn.round(&labeled, 1, &|| false, &mut |_| {}).unwrap();
    let err = cnn.likely_mistakes(&labeled).unwrap_err().to_string();
    assert!(err.contains("needs the graph"), "{err}");
}
