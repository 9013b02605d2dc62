//! What the trainer tells the rest of the program, in plain Rust: rankings of the
//! unlabeled pool with each item's score and top predictions. The TUI and the session
//! modules see only these types, never a tensor.

use super::strategy::Strategy;

/// One class and the model's probability for it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassProb {
    pub class: u16,
    pub prob: f32,
}

/// An item's most likely classes, most likely first: at most three, held inline (a
/// ranking of a 60,000-image pool is then one allocation, not 60,001, and the UI thread
/// copies and drops it in a millisecond, not tens).
pub type TopClasses = arrayvec::ArrayVec<ClassProb, TOP_CLASSES>;

/// The most classes a ranked item keeps.
pub const TOP_CLASSES: usize = 3;

/// One unlabeled pool item in a ranking.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RankedItem {
    /// Index into the pool (`Pool::items`).
    pub pool_index: usize,
    /// The strategy's score: higher = ask sooner.
    pub score: f32,
    /// The model's most likely classes, most likely first (at most three; empty before
    /// any model exists, as in a cold start).
    pub top: TopClasses,
    /// Placed here at random, not by the strategy (an audit pick: its label is a fair
    /// sample of the pool, which judges the predictors and the calibration).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audit: bool,
}

/// Why this ranking has the order it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RankingSource {
    /// No labels yet: k-means centres of the pool first (or a seeded shuffle).
    ColdStart,
    /// The trained network and the query strategy.
    Model,
    /// Label propagation over the pool graph and the query strategy.
    Graph,
    /// The network and the graph blended, and the query strategy.
    Hybrid,
}

impl RankingSource {
    /// Whether labels, not just the pool, shaped this ranking.
    pub fn is_learned(self) -> bool {
        self != RankingSource::ColdStart
    }

    /// What ranked and predicts, as the screen names it.
    pub fn name(self) -> &'static str {
        match self {
            RankingSource::ColdStart => "cold start",
            RankingSource::Model => "network",
            RankingSource::Graph => "graph",
            RankingSource::Hybrid => "hybrid",
        }
    }

    /// What ranked and predicts, as the labeler's panel names it: the graph, the
    /// network (by its name), or both.
    pub fn learner_name(self, network: &str) -> String {
        match self {
            RankingSource::ColdStart => "no model yet".into(),
            RankingSource::Model => network.into(),
            RankingSource::Graph => "graph".into(),
            RankingSource::Hybrid => format!("graph+{network}"),
        }
    }
}

/// The unlabeled pool in the order to ask, for the labeled set of job `job`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ranking {
    pub job: u64,
    pub strategy: Strategy,
    pub source: RankingSource,
    /// Ask-sooner first. With `--pool-subset` only the scored subset is listed.
    pub items: Vec<RankedItem>,
}

impl Ranking {
    /// Why its items come in this order: the strategy's name, or `cold start` before
    /// any label.
    pub fn reason(&self) -> &'static str {
        if self.source.is_learned() {
            self.strategy.name()
        } else {
            "cold start"
        }
    }

    /// The pool indices of the first `k` items: the next batch to label.
    pub fn batch(&self, k: usize) -> Vec<usize> {
        self.items.iter().take(k).map(|it| it.pool_index).collect()
    }

    /// The pool indices of the audit picks (`RankedItem::audit`) among the first `k`.
    pub fn audits_in_batch(&self, k: usize) -> Vec<usize> {
        self.items
            .iter()
            .take(k)
            .filter(|it| it.audit)
            .map(|it| it.pool_index)
            .collect()
    }

    /// The ranked item for a pool index, if it is in this ranking.
    pub fn get(&self, pool_index: usize) -> Option<&RankedItem> {
        self.items.iter().find(|it| it.pool_index == pool_index)
    }
}

/// The `k` (at most `TOP_CLASSES`) most likely classes of one probability row, most
/// likely first (ties: lower class first).
pub fn top_classes(probs: &[f32], k: usize) -> TopClasses {
    super::strategy::top_k(probs, k.min(TOP_CLASSES))
        .into_iter()
        .map(|c| ClassProb {
            class: c as u16,
            prob: probs[c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_classes_sorted_by_probability() {
        let top = top_classes(&[0.1, 0.5, 0.05, 0.35], 3);
        let classes: Vec<u16> = top.iter().map(|c| c.class).collect();
        assert_eq!(classes, vec![1, 3, 0]);
        assert_eq!(top[0].prob, 0.5);
        assert_eq!(top_classes(&[0.4, 0.6], 3).len(), 2);
    }

    #[test]
    fn batch_takes_the_first_items() {
        let r = Ranking {
            job: 1,
            strategy: Strategy::Margin,
            source: RankingSource::Model,
            items: (0..5)
                .map(|i| RankedItem {
                    pool_index: 10 + i,
                    score: 1.0 - i as f32,
                    top: TopClasses::new(),
                    audit: false,
                })
                .collect(),
        };
        assert_eq!(r.batch(2), vec![10, 11]);
        assert_eq!(r.batch(9).len(), 5);
        assert!(r.audits_in_batch(5).is_empty());
        let mut audited = r.clone();
        audited.items[1].audit = true;
        assert_eq!(audited.audits_in_batch(1), Vec::<usize>::new());
        assert_eq!(audited.audits_in_batch(2), vec![11]);
        assert_eq!(r.get(13).unwrap().score, -2.0);
        assert!(r.get(2).is_none());
    }
}
