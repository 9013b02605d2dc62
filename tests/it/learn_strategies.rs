//! The strategies that read the pool's structure (cluster-errors, adversarial,
//! neighbour-kl) in real rounds on `assets/mnist` (1,000 pool, 300 test), with the
//! network alone, the graph alone and the hybrid.

use crate::support;

use glean::learn::strategy::balanced_random_subset;
use glean::learn::{Learner, LearnerConfig, LearnerKind, QueryOptions, Ranking, Strategy};
use support::fixtures::{labels_of, mnist_sample, quick_learner};

const NEW: [Strategy; 3] = [
    Strategy::ClusterErrors,
    Strategy::Adversarial,
    Strategy::NeighbourKl,
];

fn config(strategy: Strategy, learner: LearnerKind) -> LearnerConfig {
    LearnerConfig {
        learner,
        ..quick_learner(strategy)
    }
}

/// One round on 30 balanced labels.
fn rank(config: LearnerConfig) -> Ranking {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&balanced_random_subset(&oracle, 10, 30, 4), &oracle);
    let mut learner = Learner::new(data, config).unwrap();
    learner
        .round(&labeled, 1, &|| false, &mut |_| {})
        .unwrap()
        .ranking
}

#[test]
fn every_new_strategy_ranks_the_whole_pool_its_own_way_the_same_every_time() {
    let (data, oracle) = mnist_sample();
    let labeled = labels_of(&balanced_random_subset(&oracle, 10, 30, 4), &oracle);
    for learner in [LearnerKind::Cnn, LearnerKind::Graph, LearnerKind::Hybrid] {
        let margin = rank(config(Strategy::Margin, learner)).batch(10);
        for strategy in NEW {
            let ranking = rank(config(strategy, learner));
            assert_eq!(ranking.strategy, strategy);
            let mut items: Vec<usize> = ranking.items.iter().map(|i| i.pool_index).collect();
            assert!(items.iter().all(|i| !labeled.iter().any(|(l, _)| l == i)));
            items.sort_unstable();
            items.dedup();
            assert_eq!(
                items.len(),
                data.pool_len() - labeled.len(),
                "{strategy}, {learner}"
            );
            // One convention: the list is in falling score, higher asked sooner.
            assert!(
                ranking.items.windows(2).all(|w| w[0].score >= w[1].score),
                "{strategy}, {learner}: scores rise somewhere"
            );
            // Without its clusters, discriminator or neighbours the strategy would fall
            // back to margin and ask the same ten.
            assert_ne!(ranking.batch(10), margin, "{strategy}, {learner}");
            assert_eq!(
                rank(config(strategy, learner)),
                ranking,
                "{strategy}, {learner}"
            );
        }
    }
}

#[test]
fn with_one_cluster_cluster_errors_asks_what_margin_asks_and_with_more_it_does_not() {
    let clustered = |clusters| LearnerConfig {
        query: QueryOptions {
            clusters: Some(clusters),
            ..QueryOptions::default()
        },
        ..config(Strategy::ClusterErrors, LearnerKind::Cnn)
    };
    let margin = rank(config(Strategy::Margin, LearnerKind::Cnn));
    let one = rank(clustered(1));
    // The same network (the same seed and labels), one cluster: margin's order.
    let order = |r: &Ranking| r.items.iter().map(|i| i.pool_index).collect::<Vec<_>>();
    assert_eq!(order(&one), order(&margin));
    // Ten clusters, a batch of ten: one item each, so not margin's ten.
    assert_ne!(rank(clustered(10)).batch(10), margin.batch(10));
}

/// With `audit_every`, a learned ranking gives every such place to an item drawn from
/// the whole pool, marked as an audit pick; the strategy's own order holds around
/// them; random (all random already) and the cold start have none.
#[test]
fn audit_picks_take_every_tenth_place_of_a_learned_ranking() {
    for learner in [LearnerKind::Cnn, LearnerKind::Graph] {
        let plain = rank(config(Strategy::Margin, learner));
        let audited = rank(LearnerConfig {
            audit_every: 10,
            ..config(Strategy::Margin, learner)
        });
        assert!(plain.items.iter().all(|it| !it.audit));
        for (place, item) in audited.items.iter().enumerate().take(200) {
            assert_eq!(
                item.audit,
                (place + 1) % 10 == 0,
                "{learner}, place {place}"
            );
        }
        let audits: Vec<usize> = audited
            .items
            .iter()
            .filter(|it| it.audit)
            .map(|it| it.pool_index)
            .collect();
        // Drawn from the whole pool: most of them not among margin's first 300.
        let top: Vec<usize> = plain.batch(300);
        assert!(
            audits.iter().filter(|i| !top.contains(i)).count() > audits.len() / 2,
            "{learner}: {audits:?}"
        );
        let rest: Vec<usize> = audited
            .items
            .iter()
            .filter(|it| !it.audit)
            .map(|it| it.pool_index)
            .take(100)
            .collect();
        let plain_rest: Vec<usize> = plain
            .items
            .iter()
            .map(|it| it.pool_index)
            .filter(|i| !audits.contains(i))
            .take(100)
            .collect();
        assert_eq!(rest, plain_rest, "{learner}: the strategy's order stands");
    }
    let random = rank(LearnerConfig {
        audit_every: 10,
        ..config(Strategy::Random, LearnerKind::Graph)
    });
    assert!(random.items.iter().all(|it| !it.audit));
}
