//! The hybrid learner's referee with real networks on real digits (`assets/mnist`): one
//! that learned nothing hands the ranking to the graph, one that is merely behind the
//! graph stays in the blend.

use glean::learn::{Learner, LearnerKind, RankingSource, RoundOutcome};

use crate::support;
use support::fixtures::{cold_start_labels, labels_of, mnist_sample, quick_learner_of};

/// A hybrid learner whose network trains at `learning_rate`, after 16 rounds of labels
/// taken from the top of its own rankings (180 labels): the last round.
fn hybrid_after_sixteen_batches(learning_rate: f64) -> RoundOutcome {
    let (data, oracle) = mnist_sample();
    let mut config = quick_learner_of(LearnerKind::Hybrid);
    config.schedule.learning_rate = learning_rate;
    let mut hybrid = Learner::new(data, config).unwrap();
    let mut labeled = cold_start_labels(&mut hybrid, &oracle);
    for version in 1..=16 {
        let out = hybrid
            .round(&labeled, version, &|| false, &mut |_| {})
            .unwrap();
        labeled.extend(labels_of(&out.ranking.batch(10), &oracle));
    }
    hybrid.round(&labeled, 17, &|| false, &mut |_| {}).unwrap()
}

#[test]
fn a_network_that_learned_nothing_leaves_the_ranking_to_the_graph() {
    // Adam at 20 leaves the network at one class everywhere (10 % on this sample), with
    // nearly flat probabilities, so the blend is about the graph (measured: within 0.7
    // points) until the referee has the evidence: at 130 labels, the graph winning 57
    // of the 67 labels only one of them got right (3.2 sd past a healthy network's ⅔).
    let out = hybrid_after_sixteen_batches(20.0);
    let network = out.network_accuracy.unwrap();
    assert!(network < 0.3, "network {network}");
    assert_eq!(out.ranking.source, RankingSource::Graph);
    assert_eq!(out.accuracy, out.graph_accuracy);
}

#[test]
fn a_network_behind_the_graph_still_ranks_with_it() {
    // At 0.02 the network stays several points behind the graph (measured in the rounds
    // at 20-130 labels: 77-89 % against 91-93 %), yet the blend beats both, and the
    // referee keeps it.
    let out = hybrid_after_sixteen_batches(0.02);
    let (graph, network) = (out.graph_accuracy.unwrap(), out.network_accuracy.unwrap());
    assert!(network < graph, "network {network}, graph {graph}");
    assert_eq!(out.ranking.source, RankingSource::Hybrid);
    assert!(
        out.accuracy.unwrap() > graph,
        "{:?} vs graph {graph}",
        out.accuracy
    );
}
