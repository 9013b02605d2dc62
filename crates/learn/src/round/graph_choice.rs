//! Which graph the graph learner propagates on, chosen by evidence rather than by data
//! set: every candidate (an embedding's kNN graph, with or without Poisson-MBO's
//! class-size step) is judged on the labels the person gave, each label predicted by a
//! propagation that did not see it. The labels are split in two folds, class by class;
//! each fold is predicted from the other (a class with a single label stays on the
//! training side, as a class without a source cannot be predicted at all). A candidate
//! replaces the one in use only when it is right on clearly more of the labels where
//! the two disagree: more than two standard deviations of a fair coin over those labels
//! (a sign test; with few labels, a noisy lead of a label or two must not move the
//! learner to a worse graph). Among those that pass, the one right most often wins.
//! Before any label can be judged the first candidate is used: deskewed PCA for
//! grayscale images, PCA of the backbone's features for photos, and the autoencoder for
//! other colour images (prepare.rs says why), followed by Poisson-MBO unless it was
//! turned off: on validation splits cut from the pools it was ahead on digits, on
//! backbone features from 20 labels and on the autoencoder of CIFAR-10's pixels
//! (`scripts/results-embedding.sh validation`), so plain Poisson is the challenger.
//!
//! Only the labels no candidate chose are judged on (`GraphLearner::propagate`): the
//! labels an active learner's ranking picked are the items its graph found hardest,
//! which would favour the other candidates.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

use crate::graph::{mbo, CgOptions, PoolGraph, Propagation};
use crate::LearnError;

/// A graph the learner may propagate on: the pool's embedding and its kNN graph.
pub struct EmbeddedGraph {
    /// What the embedding is, for logs and summaries: `deskew-pca`, `vae`, ….
    pub name: String,
    pub graph: PoolGraph,
    /// `[N, D]`: k-means and the core-set distances of a graph round use it.
    pub embeddings: Tensor,
}

/// A candidate: which graph, and whether its scores go through Poisson-MBO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub graph: usize,
    pub prior: bool,
}

/// How one candidate did in a cross-validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub choice: Choice,
    /// Whether it predicted each held-out label right, in one order for all candidates.
    pub hits: Vec<bool>,
}

impl Score {
    /// Held-out labels it predicted right.
    pub fn right(&self) -> usize {
        self.hits.iter().filter(|&&h| h).count()
    }
}

/// A challenger must win the labels where it and the candidate in use disagree by more
/// than this many standard deviations of a fair coin.
const SWITCH_SDS: f64 = 2.0;

/// The positions in `labeled` each fold holds out: per class with at least two labels,
/// its labels in a seeded order, alternately to fold 0 and fold 1.
pub fn folds(labeled: &[(usize, u16)], classes: usize, seed: u64) -> [Vec<usize>; 2] {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (pos, &(_, c)) in labeled.iter().enumerate() {
        if let Some(v) = by_class.get_mut(c as usize) {
            v.push(pos);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = [Vec::new(), Vec::new()];
    for mut positions in by_class.into_iter().filter(|p| p.len() >= 2) {
        positions.shuffle(&mut rng);
        for (i, pos) in positions.into_iter().enumerate() {
            out[i % 2].push(pos);
        }
    }
    out.iter_mut().for_each(|f| f.sort_unstable());
    out
}

/// Cross-validates every graph, with Poisson-MBO and without when `priors` is true
/// (else without only), on `labeled`; the scores in candidate order (graph by graph,
/// without MBO first) and the number of labels judged. Nothing is judged (0) when no
/// class has two labels.
pub fn cross_validate(
    graphs: &[EmbeddedGraph],
    labeled: &[(usize, u16)],
    classes: usize,
    priors: bool,
    seed: u64,
) -> Result<(Vec<Score>, usize), LearnError> {
    let folds = folds(labeled, classes, seed);
    let judged = folds[0].len() + folds[1].len();
    let mut scores: Vec<Score> = (0..graphs.len())
        .flat_map(|graph| {
            let variants: &[bool] = if priors { &[false, true] } else { &[false] };
            variants.iter().map(move |&prior| Score {
                choice: Choice { graph, prior },
                hits: Vec::new(),
            })
        })
        .collect();
    if judged == 0 {
        return Ok((scores, 0));
    }
    for held_out in &folds {
        let mut is_held = vec![false; labeled.len()];
        held_out.iter().for_each(|&p| is_held[p] = true);
        let train: Vec<(usize, u16)> = labeled
            .iter()
            .zip(&is_held)
            .filter(|(_, &h)| !h)
            .map(|(&l, _)| l)
            .collect();
        let test: Vec<(usize, u16)> = held_out.iter().map(|&p| labeled[p]).collect();
        for (g, candidate) in graphs.iter().enumerate() {
            let u = candidate.graph.propagate_trial(
                Propagation::Poisson,
                &train,
                classes,
                CgOptions::default(),
            )?;
            for score in scores.iter_mut().filter(|s| s.choice.graph == g) {
                let u = if score.choice.prior {
                    mbo::at_predicted_sizes(&candidate.graph.graph, &train, classes, &u)?
                } else {
                    u.shallow_clone()
                };
                score.hits.extend(right_predictions(&u, &test)?);
            }
        }
    }
    Ok((scores, judged))
}

/// Whether each of `test` (pool index, class) has that class as its row's argmax.
fn right_predictions(scores: &Tensor, test: &[(usize, u16)]) -> Result<Vec<bool>, LearnError> {
    let idx: Vec<i64> = test.iter().map(|&(i, _)| i as i64).collect();
    let idx = Tensor::f_from_slice(&idx)?.f_to_device(scores.device())?;
    let predicted = Vec::<i64>::try_from(
        scores
            .f_index_select(0, &idx)?
            .argmax(1, false)
            .to_device(Device::Cpu),
    )?;
    Ok(predicted
        .iter()
        .zip(test)
        .map(|(p, &(_, c))| *p == i64::from(c))
        .collect())
}

/// Whether `challenger` beats `current` clearly: on the labels only one of them got
/// right, it wins more than half by over `SWITCH_SDS` standard deviations.
fn clearly_better(challenger: &Score, current: &Score) -> bool {
    let (mut wins, mut losses) = (0usize, 0usize);
    for (&c, &k) in challenger.hits.iter().zip(&current.hits) {
        match (c, k) {
            (true, false) => wins += 1,
            (false, true) => losses += 1,
            _ => {}
        }
    }
    let split = (wins + losses) as f64;
    // Under a fair coin, wins − losses has mean 0 and standard deviation √split.
    wins as f64 - losses as f64 > SWITCH_SDS * split.sqrt()
}

/// The candidate to use: `current`, unless some candidate is clearly better than it
/// (`clearly_better`); then the one of those right most often (the earlier on a tie).
pub fn pick(current: Choice, scores: &[Score]) -> Choice {
    let Some(in_use) = scores.iter().find(|s| s.choice == current) else {
        return current;
    };
    let mut best: Option<&Score> = None;
    for s in scores.iter().filter(|s| clearly_better(s, in_use)) {
        if best.is_none_or(|b| s.right() > b.right()) {
            best = Some(s);
        }
    }
    best.map_or(current, |b| b.choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_hold_out_half_of_every_class_with_two_labels_or_more() {
        // Class 0: three labels, class 1: one, class 2: two.
        let labeled = [(10, 0), (11, 1), (12, 0), (13, 2), (14, 0), (15, 2)];
        let [a, b] = folds(&labeled, 3, 7);
        let class_of = |p: &usize| labeled[*p].1;
        // Class 1's only label is never held out; the others split between the folds.
        assert!(a.iter().chain(&b).all(|p| class_of(p) != 1));
        assert_eq!(a.len() + b.len(), 5);
        for fold in [&a, &b] {
            assert_eq!(fold.iter().filter(|p| class_of(p) == 2).count(), 1);
            let zeros = fold.iter().filter(|p| class_of(p) == 0).count();
            assert!(zeros == 1 || zeros == 2, "{fold:?}");
        }
        assert_eq!(folds(&labeled, 3, 7), [a, b]);
        // One label a class: nothing to judge.
        let [a, b] = folds(&[(1, 0), (2, 1)], 2, 7);
        assert!(a.is_empty() && b.is_empty());
    }

    fn score(graph: usize, prior: bool, hits: &[u8]) -> Score {
        Score {
            choice: Choice { graph, prior },
            hits: hits.iter().map(|&h| h == 1).collect(),
        }
    }

    #[test]
    fn a_challenger_must_win_the_disputed_labels_clearly() {
        let c = |graph, prior| Choice { graph, prior };
        // In use: right on 5 of 10. Graph 1 wins 3 disputed labels and loses none: 3 is
        // not above 2 × √3 ≈ 3.46. Graph 0 with the prior wins all 5 disputes: 5 > 2 × √5
        // ≈ 4.47.
        let scores = [
            score(0, false, &[1, 1, 1, 1, 1, 0, 0, 0, 0, 0]),
            score(1, false, &[1, 1, 1, 1, 1, 0, 1, 1, 1, 0]),
            score(0, true, &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
        ];
        assert_eq!(scores[2].right(), 10);
        assert_eq!(pick(c(0, false), &scores[..2]), c(0, false));
        assert_eq!(pick(c(0, false), &scores), c(0, true));
        // And once in use, it stays: nobody beats it clearly.
        assert_eq!(pick(c(0, true), &scores), c(0, true));
        // The class-size step in use (auto's default) is left only for a clear lead:
        // plain Poisson winning 3 of 3 disputes is not one, 5 of 5 is.
        let prior_first = [
            score(0, true, &[1, 1, 1, 1, 1, 0, 0, 0, 0, 0]),
            score(0, false, &[1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
        ];
        assert_eq!(pick(c(0, true), &prior_first), c(0, true));
        let prior_first = [prior_first[0].clone(), score(0, false, &[1; 10])];
        assert_eq!(pick(c(0, true), &prior_first), c(0, false));
        // Agreement everywhere (no disputed label) never switches.
        let same = [score(0, false, &[1, 0, 1]), score(1, false, &[1, 0, 1])];
        assert_eq!(pick(c(0, false), &same), c(0, false));
        assert_eq!(pick(c(1, false), &same), c(1, false));
    }

    /// Two clusters of points on a line, and a second "embedding" that mixes them up:
    /// cross-validation must find the graph that separates them.
    #[test]
    fn cross_validation_prefers_the_graph_that_separates_the_classes() {
        let n = 40;
        let good: Vec<f32> = (0..n)
            .map(|i| if i < 20 { i as f32 } else { 100.0 + i as f32 })
            .collect();
        // The bad embedding orders the points so that neighbours alternate classes.
        let bad: Vec<f32> = (0..n).map(|i| ((i % 20) * 2 + i / 20) as f32).collect();
        let graph_of = |v: &[f32], name: &str| {
            let emb = Tensor::from_slice(v).view([n as i64, 1]);
            EmbeddedGraph {
                name: name.into(),
                graph: PoolGraph::build(&emb, None, 4).unwrap(),
                embeddings: emb,
            }
        };
        let graphs = [graph_of(&bad, "bad"), graph_of(&good, "good")];
        let labeled: Vec<(usize, u16)> = [0, 5, 10, 15, 20, 25, 30, 35]
            .iter()
            .map(|&i| (i, u16::from(i >= 20)))
            .collect();
        let (scores, judged) = cross_validate(&graphs, &labeled, 2, true, 1).unwrap();
        assert_eq!(judged, 8);
        assert_eq!(scores.len(), 4);
        let right = |graph, prior| {
            scores
                .iter()
                .find(|s| s.choice == Choice { graph, prior })
                .unwrap()
                .right()
        };
        assert_eq!(right(1, false), 8, "{scores:?}");
        assert!(right(0, false) < 8, "{scores:?}");
        assert!(scores.iter().all(|s| s.hits.len() == 8));
        // Without the prior variants: one score a graph.
        let (scores, _) = cross_validate(&graphs, &labeled, 2, false, 1).unwrap();
        assert_eq!(scores.len(), 2);
    }
}
