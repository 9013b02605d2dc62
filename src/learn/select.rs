//! From predictions to a ranking: applies a strategy to the scored candidates and
//! assembles the plain `Ranking` the rest of the program sees. Pure Rust.

use super::ranking::{top_classes, RankedItem, Ranking, RankingSource};
use super::score::Predictions;
use super::strategy::{self, Strategy, DIVERSITY_POOL_FACTOR};

/// What a strategy is applied to: the pool indices that were scored, their predictions,
/// and (for the core-set methods) each one's squared embedding distance to the nearest
/// labeled item.
pub struct Scored<'a> {
    pub candidates: &'a [usize],
    pub predictions: &'a Predictions,
    pub classes: usize,
    pub embed_dim: usize,
    pub min_sq_to_labeled: Option<Vec<f32>>,
}

/// Ranks the candidates for `strategy`. The first `batch` items are the batch the
/// strategy would pick (for the core-set methods the greedy picks, in pick order); the
/// rest follow by the strategy's own score, or by margin for the core-set methods.
pub fn rank(
    strategy: Strategy,
    source: RankingSource,
    scored: Scored<'_>,
    batch: usize,
    version: u64,
    seed: u64,
) -> Ranking {
    let Scored {
        candidates,
        predictions,
        classes,
        embed_dim,
        min_sq_to_labeled,
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
    };
    let items = order
        .into_iter()
        .map(|p| RankedItem {
            pool_index: candidates[p],
            score: scores[p],
            top: top_classes(&probs[p * classes..(p + 1) * classes], 3),
        })
        .collect();
    Ranking {
        version,
        strategy,
        source,
        items,
    }
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
    version: u64,
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
            top: Vec::new(),
        })
        .collect();
    Ranking {
        version,
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

    #[test]
    fn margin_ranking_maps_positions_back_to_pool_indices() {
        let p = preds(vec![0.9, 0.1, 0.5, 0.5, 0.7, 0.3]);
        let candidates = [40, 41, 42];
        let scored = Scored {
            candidates: &candidates,
            predictions: &p,
            classes: 2,
            embed_dim: 0,
            min_sq_to_labeled: None,
        };
        let r = rank(Strategy::Margin, RankingSource::Model, scored, 1, 5, 0);
        assert_eq!(r.batch(3), vec![41, 42, 40]);
        assert_eq!(r.version, 5);
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
        };
        let r = rank(Strategy::CoreSet, RankingSource::Model, scored, 2, 1, 0);
        assert_eq!(r.batch(4), vec![3, 2, 0, 1]);
        assert!((r.items[0].score - 11.0).abs() < 1e-5);
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
