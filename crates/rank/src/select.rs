//! From predictions to a ranking: applies a strategy to the scored candidates and
//! assembles the plain `Ranking` the rest of the program sees. Pure Rust.

use glean_core::config::ClusterPick;
use glean_core::ranking::{top_classes, RankedItem, Ranking, RankingSource, TopClasses};
use glean_core::strategy::{self, Strategy, DIVERSITY_POOL_FACTOR};

use crate::csr::Csr;
use crate::pool_strategies;

/// What the strategies need about the scored items, in the order they were given.
#[derive(Debug, Default)]
pub struct Predictions {
    /// `n × classes`: the predictive distribution (the MC mean when sampled).
    pub probs: Vec<f32>,
    /// `t × n × classes` MC-dropout samples, when asked for.
    pub samples: Option<Vec<f32>>,
    /// `n × embed_dim`, when asked for.
    pub embeddings: Option<Vec<f32>>,
}

/// What a strategy is applied to: the pool indices that were scored, their predictions,
/// and (for the core-set methods) each one's squared embedding distance to the nearest
/// labeled item.
pub struct Scored<'a> {
    pub candidates: &'a [usize],
    pub predictions: &'a Predictions,
    pub classes: usize,
    pub embed_dim: usize,
    pub min_sq_to_labeled: Option<Vec<f32>>,
    /// What the structure-reading strategies need besides.
    pub pool: PoolContext<'a>,
}

/// The pool around the candidates, for cluster-errors, adversarial and neighbour-kl;
/// empty (the default) for the other strategies.
#[derive(Default)]
pub struct PoolContext<'a> {
    /// Items in the pool.
    pub pool_len: usize,
    /// (pool index, class) of the labeled items, in the order of `labeled_probs`.
    pub labeled: &'a [(usize, u16)],
    /// The predictor's probabilities for the labeled items, `classes` wide.
    pub labeled_probs: Option<Vec<f32>>,
    /// Each pool item's cluster, and how many clusters.
    pub clusters: Option<(&'a [u32], usize)>,
    pub cluster_pick: ClusterPick,
    /// The pool's nearest-neighbour graph.
    pub neighbours: Option<&'a Csr>,
    /// The discriminator's odds that each candidate is unlabeled.
    pub unlabeled_odds: Option<&'a [f32]>,
}

/// Ranks the candidates for `strategy`. The first `batch` items are the batch the
/// strategy would pick (for the core-set methods the greedy picks, in pick order); the
/// rest follow by the strategy's own score, or by margin for the core-set methods.
pub fn rank(
    strategy: Strategy,
    source: RankingSource,
    scored: Scored<'_>,
    batch: usize,
    job: u64,
    seed: u64,
) -> Ranking {
    let Scored {
        candidates,
        predictions,
        classes,
        embed_dim,
        min_sq_to_labeled,
        pool,
    } = scored;
    let probs = &predictions.probs;
    let (order, scores): (Vec<usize>, Vec<f32>) = match strategy {
        Strategy::Random => {
            let s = strategy::random_scores(candidates.len(), seed);
            (strategy::rank_order(&s), s)
        }
        Strategy::LeastConfidence => by_score(strategy::least_confidence(probs, classes)),
        Strategy::Margin => by_score(strategy::margin(probs, classes)),
        Strategy::Entropy => by_score(strategy::entropy(probs, classes)),
        Strategy::Bald => match &predictions.samples {
            Some(samples) if !samples.is_empty() => {
                let t = samples.len() / probs.len().max(1);
                by_score(strategy::bald(samples, t, classes))
            }
            // Without samples, entropy of the prediction is the nearest stand-in.
            _ => by_score(strategy::entropy(probs, classes)),
        },
        Strategy::CoreSet | Strategy::MarginCoreSet => {
            let margins = strategy::margin(probs, classes);
            let by_margin = strategy::rank_order(&margins);
            let positions: Vec<usize> = if strategy == Strategy::CoreSet {
                (0..candidates.len()).collect()
            } else {
                by_margin
                    .iter()
                    .copied()
                    .take(batch * DIVERSITY_POOL_FACTOR)
                    .collect()
            };
            let picks = match (&predictions.embeddings, &min_sq_to_labeled) {
                (Some(emb), Some(min_sq)) => strategy::k_center_greedy_from(
                    emb,
                    embed_dim,
                    &positions,
                    positions.iter().map(|&p| min_sq[p]).collect(),
                    batch,
                ),
                (Some(emb), None) => {
                    strategy::k_center_greedy(emb, embed_dim, &positions, &[], batch)
                }
                _ => Vec::new(),
            };
            let mut scores = margins;
            let mut order: Vec<usize> = picks.iter().map(|&(p, _)| p).collect();
            for &(p, distance) in &picks {
                // The greedy picks carry their distance, above every margin (≤ 2).
                scores[p] = 2.0 + distance;
            }
            let mut picked = vec![false; candidates.len()];
            for &p in &order {
                picked[p] = true;
            }
            order.extend(by_margin.into_iter().filter(|&p| !picked[p]));
            (order, scores)
        }
        Strategy::ClusterErrors => cluster_errors(candidates, probs, classes, &pool, batch, seed),
        Strategy::Adversarial => {
            let margins = strategy::margin(probs, classes);
            match pool.unlabeled_odds {
                Some(odds) => by_score(pool_strategies::adversarial(odds, &margins)),
                None => by_score(margins),
            }
        }
        Strategy::NeighbourKl => match (pool.neighbours, &pool.labeled_probs) {
            (Some(graph), Some(labeled_probs)) => {
                let mut pool_probs = vec![0.0f32; pool.pool_len * classes];
                let mut known = vec![false; pool.pool_len];
                let rows = candidates.iter().zip(probs.chunks(classes)).chain(
                    pool.labeled
                        .iter()
                        .map(|(i, _)| i)
                        .zip(labeled_probs.chunks(classes)),
                );
                for (&i, row) in rows {
                    pool_probs[i * classes..(i + 1) * classes].copy_from_slice(row);
                    known[i] = true;
                }
                let means = pool_strategies::neighbour_means(
                    candidates,
                    &pool_probs,
                    &known,
                    classes,
                    graph,
                );
                by_score(pool_strategies::neighbour_kl(probs, &means, classes))
            }
            _ => by_score(strategy::margin(probs, classes)),
        },
    };
    let items = order
        .into_iter()
        .map(|p| RankedItem {
            pool_index: candidates[p],
            score: scores[p],
            top: top_classes(&probs[p * classes..(p + 1) * classes], 3),
            audit: false,
        })
        .collect();
    Ranking {
        job,
        strategy,
        source,
        items,
    }
}

/// Cluster-errors' order: the clusters' quotas (`pool_strategies::cluster_quota`) taken
/// by margin or a seeded shuffle inside each cluster, scored from 3 down towards 2 in
/// pick order; then the rest by margin (scores ≤ 2). Without clusters or the labeled
/// items' predictions, margin.
fn cluster_errors(
    candidates: &[usize],
    probs: &[f32],
    classes: usize,
    pool: &PoolContext<'_>,
    batch: usize,
    seed: u64,
) -> (Vec<usize>, Vec<f32>) {
    let margins = strategy::margin(probs, classes);
    let (Some((cluster_of, clusters)), Some(labeled_probs)) = (pool.clusters, &pool.labeled_probs)
    else {
        return by_score(margins);
    };
    let errors =
        pool_strategies::cluster_errors(pool.labeled, labeled_probs, classes, cluster_of, clusters);
    let candidate_cluster: Vec<u32> = candidates.iter().map(|&i| cluster_of[i]).collect();
    let mut available = vec![0usize; clusters];
    for &c in &candidate_cluster {
        available[c as usize] += 1;
    }
    let quota = pool_strategies::cluster_quota(batch, &errors, &available);
    let by_margin = strategy::rank_order(&margins);
    let within = match pool.cluster_pick {
        ClusterPick::Margin => by_margin.clone(),
        ClusterPick::Random => {
            strategy::rank_order(&strategy::random_scores(candidates.len(), seed))
        }
    };
    let picks = pool_strategies::cluster_picks(&candidate_cluster, &quota, &within);
    let mut scores = margins;
    let mut picked = vec![false; candidates.len()];
    for (pos, &p) in picks.iter().enumerate() {
        scores[p] = 3.0 - pos as f32 / picks.len() as f32;
        picked[p] = true;
    }
    tracing::debug!("cluster-errors: mistakes per cluster {errors:?}, picks per cluster {quota:?}");
    let mut order = picks;
    order.extend(by_margin.into_iter().filter(|&p| !picked[p]));
    (order, scores)
}

fn by_score(scores: Vec<f32>) -> (Vec<usize>, Vec<f32>) {
    (strategy::rank_order(&scores), scores)
}

/// The ranking before any model: `first` (the cold-start picks) in order, then the
/// rest of `unlabeled` in a seeded shuffle. Scores fall from 1 to 0 down the list.
pub fn cold_start_ranking(
    strategy: Strategy,
    first: &[usize],
    unlabeled: &[usize],
    job: u64,
    seed: u64,
) -> Ranking {
    let mut rest: Vec<usize> = unlabeled
        .iter()
        .copied()
        .filter(|i| !first.contains(i))
        .collect();
    let shuffle = strategy::random_scores(rest.len(), seed);
    let order = strategy::rank_order(&shuffle);
    rest = order.into_iter().map(|p| rest[p]).collect();
    let all: Vec<usize> = first.iter().copied().chain(rest).collect();
    let len = all.len().max(1) as f32;
    let items = all
        .into_iter()
        .enumerate()
        .map(|(pos, pool_index)| RankedItem {
            pool_index,
            score: 1.0 - pos as f32 / len,
            top: TopClasses::new(),
            audit: false,
        })
        .collect();
    Ranking {
        job,
        strategy,
        source: RankingSource::ColdStart,
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(probs: Vec<f32>) -> Predictions {
        Predictions {
            probs,
            samples: None,
            embeddings: None,
        }
    }

    /// Two-class predictions for `candidates`, with `pool` for the strategies that read it.
    fn two_class<'a>(
        candidates: &'a [usize],
        predictions: &'a Predictions,
        pool: PoolContext<'a>,
    ) -> Scored<'a> {
        Scored {
            candidates,
            predictions,
            classes: 2,
            embed_dim: 0,
            min_sq_to_labeled: None,
            pool,
        }
    }

    #[test]
    fn margin_ranking_maps_positions_back_to_pool_indices() {
        let p = preds(vec![0.9, 0.1, 0.5, 0.5, 0.7, 0.3]);
        let candidates = [40, 41, 42];
        let scored = two_class(&candidates, &p, PoolContext::default());
        let r = rank(Strategy::Margin, RankingSource::Model, scored, 1, 5, 0);
        assert_eq!(r.batch(3), vec![41, 42, 40]);
        assert_eq!(r.job, 5);
        assert!((r.items[0].score - 1.0).abs() < 1e-6);
        assert_eq!(r.items[2].top[0].class, 0);
    }

    #[test]
    fn coreset_puts_greedy_picks_first() {
        // Embeddings on a line at 0, 1, 5, 9; the labeled item sits at 0 (squared
        // distances 0, 1, 25, 81). Greedy picks 9 (position 3), then 5 (position 2).
        let mut p = preds(vec![0.5, 0.5, 0.6, 0.4, 0.9, 0.1, 0.99, 0.01]);
        p.embeddings = Some(vec![0.0, 1.0, 5.0, 9.0]);
        let candidates = [0, 1, 2, 3];
        let scored = Scored {
            candidates: &candidates,
            predictions: &p,
            classes: 2,
            embed_dim: 1,
            min_sq_to_labeled: Some(vec![0.0, 1.0, 25.0, 81.0]),
            pool: PoolContext::default(),
        };
        let r = rank(Strategy::CoreSet, RankingSource::Model, scored, 2, 1, 0);
        assert_eq!(r.batch(4), vec![3, 2, 0, 1]);
        assert!((r.items[0].score - 11.0).abs() < 1e-5);
    }

    #[test]
    fn cluster_errors_gives_the_cluster_with_mistakes_more_of_the_batch() {
        // Labeled: item 0 (class 0, cluster 0) predicted right, item 1 (class 1,
        // cluster 1) predicted wrong: errors [0, 1]. Batch 3: one a cluster, the third
        // to cluster 1. Margin scores: item 2 0.8, 3 0.2, 4 0.1, 5 0.6.
        let p = preds(vec![0.6, 0.4, 0.9, 0.1, 0.95, 0.05, 0.7, 0.3]);
        let candidates = [2, 3, 4, 5];
        let clusters = [0, 1, 0, 0, 1, 1];
        let labeled = [(0, 0u16), (1, 1)];
        let scored = two_class(
            &candidates,
            &p,
            PoolContext {
                pool_len: 6,
                labeled: &labeled,
                labeled_probs: Some(vec![0.8, 0.2, 0.7, 0.3]),
                clusters: Some((&clusters, 2)),
                ..PoolContext::default()
            },
        );
        let r = rank(
            Strategy::ClusterErrors,
            RankingSource::Model,
            scored,
            3,
            1,
            0,
        );
        // Cluster 0 takes its best margin (2); cluster 1 its two (5, then 4); then 3.
        // Margin alone would ask 2, 5, 3, 4.
        assert_eq!(r.batch(4), vec![2, 5, 4, 3]);
        let scores: Vec<f32> = r.items.iter().map(|i| i.score).collect();
        assert_eq!(
            scores,
            [3.0, 3.0 - 1.0 / 3.0, 3.0 - 2.0 / 3.0, 1.0 - (0.9 - 0.1)]
        );
    }

    #[test]
    fn neighbour_kl_asks_first_where_the_neighbourhood_disagrees() {
        // Path 0 - 1 - 2 (weights 1); item 0 labeled and predicted [1, 0].
        // Item 1 [0.6, 0.4] against its neighbours' mean [0.75, 0.25]: KL 0.0541;
        // item 2 [0.5, 0.5] against [0.6, 0.4]: KL 0.0204. Margin would ask 2 first.
        let graph = Csr::from_triples(3, &[(0, 1, 1.0), (1, 0, 1.0), (1, 2, 1.0), (2, 1, 1.0)]);
        let p = preds(vec![0.6, 0.4, 0.5, 0.5]);
        let candidates = [1, 2];
        let labeled = [(0, 0u16)];
        let scored = two_class(
            &candidates,
            &p,
            PoolContext {
                pool_len: 3,
                labeled: &labeled,
                labeled_probs: Some(vec![1.0, 0.0]),
                neighbours: Some(&graph),
                ..PoolContext::default()
            },
        );
        let r = rank(Strategy::NeighbourKl, RankingSource::Model, scored, 1, 1, 0);
        assert_eq!(r.batch(2), vec![1, 2]);
        let expected = [
            0.6 * (0.6f32 / 0.75).ln() + 0.4 * (0.4f32 / 0.25).ln(),
            0.5 * (0.5f32 / 0.6).ln() + 0.5 * (0.5f32 / 0.4).ln(),
        ];
        for (item, want) in r.items.iter().zip(expected) {
            assert!((item.score - want).abs() < 1e-6, "{} vs {want}", item.score);
        }
    }

    #[test]
    fn adversarial_ranks_by_the_rank_of_the_odds_of_being_unlabeled_times_margin() {
        // Margin scores 1.0, 0.4, 0.8; odds 0.2, 0.9, 0.6, surest first 1, 2, 0: by rank
        // 1/3, 1, 2/3; products 1/3, 0.4, 0.533.
        let p = preds(vec![0.5, 0.5, 0.8, 0.2, 0.6, 0.4]);
        let candidates = [0, 1, 2];
        let odds = [0.2, 0.9, 0.6];
        let scored = two_class(
            &candidates,
            &p,
            PoolContext {
                unlabeled_odds: Some(&odds),
                ..PoolContext::default()
            },
        );
        let r = rank(Strategy::Adversarial, RankingSource::Model, scored, 1, 1, 0);
        assert_eq!(r.batch(3), vec![2, 1, 0]);
        assert!((r.items[0].score - 0.8 * 2.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn cold_start_ranking_starts_with_the_picks() {
        let r = cold_start_ranking(Strategy::Margin, &[7, 3], &[1, 3, 5, 7, 9], 0, 1);
        assert_eq!(&r.batch(2), &[7, 3]);
        let mut all = r.batch(10);
        all.sort_unstable();
        assert_eq!(all, vec![1, 3, 5, 7, 9]);
        assert_eq!(r.source, RankingSource::ColdStart);
        assert!(r.items.windows(2).all(|w| w[0].score > w[1].score));
    }
}
