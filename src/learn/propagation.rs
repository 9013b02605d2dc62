//! The graph side of a round: Poisson learning over the pool's kNN graph turned into
//! class probabilities for the strategies, and the confident pseudo-labels the hybrid
//! learner trains its network on.

use tch::{Device, Kind, Tensor};

use super::graph::{CgOptions, PoolGraph, Propagation};
use super::learner::{index_tensor, min_sq_distances, Labeled, Learner};
use super::ranking::{Ranking, RankingSource};
use super::score::Predictions;
use super::select::{self, Scored};
use super::LearnError;

/// Softmax sharpness over Poisson scores divided by their standard deviation. Only the
/// ordering matters for the argmax; this sets how soft the probabilities the strategies
/// and the blend see are (at 4 a typical confident item gets above 0.9).
const SHARPNESS: f64 = 4.0;

/// A propagation over the pool graph, warm-started round to round.
pub struct GraphLearner {
    graph: PoolGraph,
    /// The pool embeddings the graph was built on, `[N, D]`: k-means and the core-set
    /// distances of a graph-only round use them.
    pub embeddings: Tensor,
}

/// One round of propagation, as probabilities.
pub struct GraphRound {
    /// `[pool, classes]`.
    pub pool: Tensor,
    /// `[test, classes]`, when the graph knows the test items' neighbours.
    pub test: Option<Tensor>,
    pub iterations: usize,
}

impl GraphLearner {
    pub fn new(graph: PoolGraph, embeddings: Tensor) -> GraphLearner {
        GraphLearner { graph, embeddings }
    }

    pub fn propagate(
        &mut self,
        labeled: &[(usize, u16)],
        classes: usize,
    ) -> Result<GraphRound, LearnError> {
        let out =
            self.graph
                .propagate(Propagation::Poisson, labeled, classes, CgOptions::default())?;
        let scale = out.pool.std(true).double_value(&[]).max(1e-12) / SHARPNESS;
        let probs = |u: &Tensor| (u / scale).softmax(-1, Kind::Float);
        Ok(GraphRound {
            pool: probs(&out.pool),
            test: out.test.as_ref().map(probs),
            iterations: out.iterations,
        })
    }
}

/// The unlabeled items the graph is surest of: per predicted class, the most confident
/// `fraction` of that class's items by margin (top probability minus the second). Per
/// class, so that a class the graph finds hard still gets its share. Returns (pool
/// index, class) pairs.
pub fn pseudo_labels(
    probs: &[f32],
    classes: usize,
    is_labeled: &[bool],
    fraction: f64,
) -> Vec<(usize, u16)> {
    let mut by_class: Vec<Vec<(f32, usize)>> = vec![Vec::new(); classes];
    for (i, row) in probs.chunks(classes).enumerate() {
        if is_labeled.get(i).copied().unwrap_or(true) {
            continue;
        }
        let (mut best, mut second) = ((0usize, f32::MIN), f32::MIN);
        for (c, &p) in row.iter().enumerate() {
            if p > best.1 {
                second = best.1;
                best = (c, p);
            } else if p > second {
                second = p;
            }
        }
        by_class[best.0].push((best.1 - second, i));
    }
    let mut out = Vec::new();
    for (class, mut items) in by_class.into_iter().enumerate() {
        items.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let take = ((items.len() as f64) * fraction.clamp(0.0, 1.0)).ceil() as usize;
        out.extend(items.into_iter().take(take).map(|(_, i)| (i, class as u16)));
    }
    out
}

impl Learner {
    /// The ranking a graph round gives: the strategy over the propagated probabilities
    /// (the core-set methods measure distance in the graph's embedding space).
    pub(super) fn graph_ranking(
        &self,
        round: &GraphRound,
        candidates: &[usize],
        cand_tensor: &Tensor,
        lab: &Labeled,
        version: u64,
        seed: u64,
    ) -> Result<Ranking, LearnError> {
        let g = self.graph.as_ref().expect("a graph round has a graph");
        let st = self.config.strategy;
        let probs = Vec::<f32>::try_from(
            round
                .pool
                .index_select(0, cand_tensor)
                .to_device(Device::Cpu)
                .view([-1]),
        )?;
        let wants_embeddings = st.needs_embeddings();
        let (embeddings, min_sq) = if wants_embeddings {
            let cand = g.embeddings.index_select(0, cand_tensor);
            let labeled = g
                .embeddings
                .index_select(0, &index_tensor(&lab.indices, self.device)?);
            let flat = Vec::<f32>::try_from(cand.to_device(Device::Cpu).view([-1]))?;
            (Some(flat), Some(min_sq_distances(&cand, &labeled)?))
        } else {
            (None, None)
        };
        let predictions = Predictions {
            probs,
            samples: None,
            embeddings,
        };
        let scored = Scored {
            candidates,
            predictions: &predictions,
            classes: self.data.classes,
            embed_dim: g.embeddings.size()[1] as usize,
            min_sq_to_labeled: min_sq,
        };
        Ok(select::rank(
            st,
            RankingSource::Graph,
            scored,
            self.config.batch,
            version,
            seed,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_labels_take_the_surest_share_of_each_class() {
        // Five items, two classes; item 4 is labeled already.
        let probs = [
            0.9, 0.1, // class 0, margin 0.8
            0.6, 0.4, // class 0, margin 0.2
            0.3, 0.7, // class 1, margin 0.4
            0.45, 0.55, // class 1, margin 0.1
            0.99, 0.01, // labeled: never a pseudo-label
        ];
        let labeled = [false, false, false, false, true];
        let half = pseudo_labels(&probs, 2, &labeled, 0.5);
        assert_eq!(half, vec![(0, 0), (2, 1)]);
        let all = pseudo_labels(&probs, 2, &labeled, 1.0);
        assert_eq!(all, vec![(0, 0), (1, 0), (2, 1), (3, 1)]);
        assert!(pseudo_labels(&probs, 2, &labeled, 0.0).is_empty());
    }
}
