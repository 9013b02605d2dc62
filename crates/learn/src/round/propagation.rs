//! The graph side of a round: Poisson learning over the pool's kNN graph turned into
//! class probabilities for the strategies, and the confident pseudo-labels the hybrid
//! learner trains its network on.

use tch::{Device, Kind, Tensor};

use crate::graph::{cpu_floats, CgOptions, Propagated, Propagation};
use crate::ranking::{Ranking, RankingSource};
use crate::round::graph_choice::{cross_validate, pick, Choice, EmbeddedGraph};
use crate::round::round_input::RankingInputs;
use crate::round::score::{min_sq_distances, Predictions};
use crate::LearnError;
use glean_rank::select::{self, Scored};
use glean_rank::Csr;

/// Softmax sharpness over Poisson scores divided by their standard deviation. Only the
/// ordering matters for the argmax; this sets how soft the probabilities the strategies
/// and the blend see are (at 4 a typical confident item gets above 0.9).
const SHARPNESS: f64 = 4.0;

/// Propagation over the pool's graph, warm-started round to round: over one graph, or
/// over the candidate the labels favour (graph_choice.rs).
pub struct GraphLearner {
    graphs: Vec<EmbeddedGraph>,
    choice: Choice,
    /// What the labels may choose: nothing when one embedding and one prior setting
    /// were asked for.
    choose: ChoiceRule,
    /// Labels at the last cross-validation (0: none yet).
    judged_at: usize,
}

/// What may be chosen between, when the learner has several candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChoiceRule {
    /// Choose between the graphs (else the first is kept).
    pub graphs: bool,
    /// Choose whether Poisson-MBO's class-size step applies (else `prior_default`).
    pub prior: bool,
    pub prior_default: bool,
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
    /// A learner over `graphs` (at least one), starting on the first: the one used
    /// until the labels clearly favour another.
    pub fn new(graphs: Vec<EmbeddedGraph>, rule: ChoiceRule) -> GraphLearner {
        assert!(!graphs.is_empty(), "a graph learner needs a graph");
        GraphLearner {
            graphs,
            choice: Choice {
                graph: 0,
                prior: rule.prior_default,
            },
            choose: rule,
            judged_at: 0,
        }
    }

    /// Adds a candidate graph (one that finished in the background), and moves to it
    /// when it is `preferred`; the next round judges it against the others.
    pub fn add_graph(&mut self, graph: EmbeddedGraph, preferred: bool) {
        self.graphs.push(graph);
        if preferred {
            self.choice.graph = self.graphs.len() - 1;
        }
        self.judged_at = 0;
    }

    /// The names of the candidate graphs, first (the default) first.
    pub fn candidates(&self) -> Vec<String> {
        self.graphs.iter().map(|g| g.name.clone()).collect()
    }

    /// The embedding of the graph in use, `[N, D]`.
    pub fn embeddings(&self) -> &Tensor {
        &self.graphs[self.choice.graph].embeddings
    }

    /// The graph in use's weights: each item's nearest neighbours (neighbour-kl).
    pub(crate) fn neighbours(&self) -> &Csr {
        &self.graphs[self.choice.graph].graph.graph.weights
    }

    /// What the graph in use is built on, with `+mbo` when Poisson-MBO's class-size step
    /// applies.
    pub fn describe(&self) -> String {
        let name = &self.graphs[self.choice.graph].name;
        if self.choice.prior {
            format!("{name}+mbo")
        } else {
            name.clone()
        }
    }

    /// Cross-validates the candidates on `labeled` when there is a choice to make and
    /// the labels have grown by half since the last time (it costs two propagations a
    /// candidate), and takes the winner.
    fn choose(
        &mut self,
        labeled: &[(usize, u16)],
        classes: usize,
        seed: u64,
    ) -> Result<(), LearnError> {
        let rule = self.choose;
        let graphs = if rule.graphs { self.graphs.len() } else { 1 };
        if graphs * if rule.prior { 2 } else { 1 } < 2 {
            return Ok(());
        }
        if self.judged_at > 0 && 2 * labeled.len() < 3 * self.judged_at {
            return Ok(());
        }
        let (mut scores, judged) =
            cross_validate(&self.graphs[..graphs], labeled, classes, rule.prior, seed)?;
        if judged == 0 {
            return Ok(());
        }
        if !rule.prior {
            // Every score was measured without the prior: compare as such.
            scores
                .iter_mut()
                .for_each(|s| s.choice.prior = rule.prior_default);
        }
        self.judged_at = labeled.len();
        let before = self.describe();
        self.choice = pick(self.choice, &scores);
        tracing::info!(
            "graph candidates judged on {judged} of {} labels: {}; {before} → {}",
            labeled.len(),
            scores
                .iter()
                .map(|s| format!(
                    "{}{} {}",
                    self.graphs[s.choice.graph].name,
                    if s.choice.prior { "+mbo" } else { "" },
                    s.right()
                ))
                .collect::<Vec<_>>()
                .join(", "),
            self.describe()
        );
        if self.describe() != before {
            self.graphs.iter_mut().for_each(|g| g.graph.reset());
        }
        Ok(())
    }

    /// Propagates `labeled` over the graph in use, after judging the candidates (when
    /// due) on the first `unchosen` labels: those no candidate's ranking picked (the
    /// cold-start batch; every label under the random strategy). The labels a ranking
    /// picked are the items its graph found hardest, so judging on them would favour
    /// the others: on the full MNIST with margin the rule then left deskewed PCA for the
    /// autoencoder at 410 labels and fell 0.3 points.
    ///
    /// When Poisson-MBO follows, `before_mbo` is first handed plain Poisson's round
    /// (with this learner, for `ranking`): MBO takes several times as long on a large
    /// pool, and a ranking from the propagation alone can go out meanwhile.
    pub fn propagate(
        &mut self,
        labeled: &[(usize, u16)],
        unchosen: usize,
        classes: usize,
        seed: u64,
        before_mbo: &mut dyn FnMut(&GraphLearner, &GraphRound) -> Result<(), LearnError>,
    ) -> Result<GraphRound, LearnError> {
        self.choose(&labeled[..unchosen.min(labeled.len())], classes, seed)?;
        let mut out = self.graphs[self.choice.graph].graph.propagate(
            Propagation::Poisson,
            labeled,
            classes,
            CgOptions::default(),
        )?;
        if self.choice.prior {
            before_mbo(self, &probabilities(&out))?;
            self.graphs[self.choice.graph]
                .graph
                .mbo(&mut out, labeled, classes)?;
        }
        Ok(probabilities(&out))
    }

    /// Each labeled item's class probabilities from a propagation that did not see its
    /// label: `labeled` split into `folds` seeded folds (`mistakes::fold_of`), each
    /// fold judged by Poisson over the other folds' labels on the graph in use, without
    /// Poisson-MBO even when the rounds use it: MBO made the ten propagations 4-30
    /// times slower (MNIST 28-59 s instead of 7 s; `benches/mistakes.rs`) and found
    /// no more flipped labels (MNIST 25 of 25 either way, CIFAR-10 16 instead of 18).
    /// `[labeled, classes]` row-major, in `labeled`'s order.
    pub fn held_out_probs(
        &self,
        labeled: &[(usize, u16)],
        classes: usize,
        folds: usize,
        seed: u64,
    ) -> Result<Vec<f32>, LearnError> {
        Ok(self
            .held_out_among(labeled, labeled.len(), classes, folds, seed)?
            .0)
    }

    /// The first `judged` of `labeled`, each with its class probabilities from a
    /// propagation over all the other labels but those of its fold: the judged split
    /// into `folds` seeded folds, each fold held out in turn. Returns the probabilities
    /// (`[judged, classes]` row-major, as the rounds make them) and each judged label's
    /// fold.
    pub fn held_out_among(
        &self,
        labeled: &[(usize, u16)],
        judged: usize,
        classes: usize,
        folds: usize,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<usize>), LearnError> {
        let in_use = &self.graphs[self.choice.graph].graph;
        let judged = judged.min(labeled.len());
        let fold_of = crate::mistakes::fold_of(judged, folds, seed);
        let mut out = vec![0f32; judged * classes];
        for fold in 0..folds {
            let held: Vec<usize> = (0..judged).filter(|&i| fold_of[i] == fold).collect();
            if held.is_empty() {
                continue;
            }
            let others: Vec<(usize, u16)> = labeled
                .iter()
                .enumerate()
                .filter(|&(i, _)| i >= judged || fold_of[i] != fold)
                .map(|(_, &l)| l)
                .collect();
            let u = in_use.propagate_trial(
                Propagation::Poisson,
                &others,
                classes,
                CgOptions::default(),
            )?;
            // As `probabilities` makes them for the round.
            let scale = u.std(true).double_value(&[]).max(1e-12) / SHARPNESS;
            let rows: Vec<i64> = held.iter().map(|&i| labeled[i].0 as i64).collect();
            let rows = Tensor::f_from_slice(&rows)?.f_to_device(u.device())?;
            let probs = cpu_floats(&(u.index_select(0, &rows) / scale).softmax(-1, Kind::Float))?;
            for (row, &i) in held.iter().enumerate() {
                out[i * classes..(i + 1) * classes]
                    .copy_from_slice(&probs[row * classes..(row + 1) * classes]);
            }
        }
        Ok((out, fold_of))
    }

    /// The head's prior spread over the graph in use (label spreading, Zhou et al.
    /// 2004): `F ← alpha · D⁻¹WF + (1 − alpha) · prior`, from the prior, `steps` times,
    /// so that a photo's neighbours share its guess; a test item takes its
    /// neighbours' spread prior in the same proportion to its own. Rows stay
    /// distributions. Returns `(pool, test)`; `test` as given when the graph does not
    /// know the test items' neighbours.
    pub fn spread_prior(
        &self,
        pool: &Tensor,
        test: &Tensor,
        alpha: f64,
        steps: usize,
    ) -> Result<(Tensor, Tensor), LearnError> {
        let _guard = tch::no_grad_guard();
        let graph = &self.graphs[self.choice.graph].graph;
        let weights = &graph.graph.weights;
        let degree: Vec<f32> = weights
            .row_sums()
            .iter()
            .map(|d| 1.0 / d.max(1e-12))
            .collect();
        let inverse_degree = Tensor::f_from_slice(&degree)?
            .f_view([-1, 1])?
            .f_to_device(pool.device())?;
        let mut spread = pool.shallow_clone();
        for _ in 0..steps {
            spread = crate::graph::sparse::weight_product(weights, &spread, None)
                .f_mul(&inverse_degree)?
                .f_mul_scalar(alpha)?
                .f_add(&pool.f_mul_scalar(1.0 - alpha)?)?;
        }
        let test = match &graph.test {
            Some(nb) if test.size()[0] > 0 => nb
                .classify(&spread)
                .f_mul_scalar(alpha)?
                .f_add(&test.f_mul_scalar(1.0 - alpha)?)?,
            _ => test.shallow_clone(),
        };
        Ok((spread, test))
    }

    /// The name of the embedding in use, without the `+mbo` of `describe`.
    pub fn embedding_name(&self) -> &str {
        &self.graphs[self.choice.graph].name
    }
}

/// Scores as class probabilities: a softmax over them divided by their standard
/// deviation (`SHARPNESS`).
fn probabilities(out: &Propagated) -> GraphRound {
    let scale = out.pool.std(true).double_value(&[]).max(1e-12) / SHARPNESS;
    let probs = |u: &Tensor| (u / scale).softmax(-1, Kind::Float);
    GraphRound {
        pool: probs(&out.pool),
        test: out.test.as_ref().map(probs),
        iterations: out.iterations,
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

/// [`pseudo_labels`] on the device: the same pairs in the same order (per class,
/// surest first, ties by pool index), computed where `probs` (`[pool, classes]`) are;
/// only the chosen indices come to the host.
pub fn pseudo_labels_on_device(
    probs: &Tensor,
    is_labeled: &[bool],
    fraction: f64,
) -> Result<Vec<(usize, u16)>, LearnError> {
    let (rows, classes) = probs.size2()?;
    let device = probs.device();
    // The first of equal maxima, as the host's scan takes it.
    let best = probs.f_argmax(-1, false)?;
    let margin = if classes > 1 {
        let (top, _) = probs.f_topk(2, -1, true, true)?;
        top.select(1, 0) - top.select(1, 1)
    } else {
        probs.select(1, 0) - f64::from(f32::MIN)
    };
    let unlabeled: Vec<bool> = (0..rows as usize)
        .map(|i| !is_labeled.get(i).copied().unwrap_or(true))
        .collect();
    let unlabeled = Tensor::from_slice(&unlabeled).to_device(device);
    let share = fraction.clamp(0.0, 1.0);
    let mut out = Vec::new();
    for class in 0..classes {
        // Ascending pool index, so a stable sort keeps ties in index order.
        let members = best.eq(class).logical_and(&unlabeled).nonzero().view([-1]);
        let take = ((members.size()[0] as f64) * share).ceil() as i64;
        if take == 0 {
            continue;
        }
        let (_, order) = margin.index_select(0, &members).sort_stable(true, 0, true);
        let chosen = members.index_select(0, &order.narrow(0, 0, take));
        let chosen = Vec::<i64>::try_from(chosen.to_device(Device::Cpu))?;
        out.extend(chosen.into_iter().map(|i| (i as usize, class as u16)));
    }
    Ok(out)
}

impl GraphLearner {
    /// The ranking a graph round gives: the strategy over the propagated probabilities
    /// (the core-set methods measure distance in the graph's embedding space).
    pub(crate) fn ranking(
        &self,
        round: &GraphRound,
        ri: &RankingInputs,
    ) -> Result<Ranking, LearnError> {
        let refined = ri.refined_only(round.pool.f_index_select(0, ri.candidate_rows)?)?;
        let probs = cpu_floats(&refined)?;
        let (embeddings, min_sq) = if ri.strategy.needs_embeddings() {
            let cand = self.embeddings().index_select(0, ri.candidate_rows);
            let labeled = self.embeddings().index_select(0, ri.labeled_rows);
            let flat = Vec::<f32>::try_from(cand.to_device(Device::Cpu).view([-1]))?;
            (Some(flat), Some(min_sq_distances(&cand, &labeled)?))
        } else {
            (None, None)
        };
        let labeled_probs = ri
            .strategy
            .needs_labeled_predictions()
            .then(|| cpu_floats(&round.pool.index_select(0, ri.labeled_rows)))
            .transpose()?;
        let predictions = Predictions {
            probs,
            samples: None,
            embeddings,
        };
        let scored = Scored {
            candidates: ri.candidates,
            predictions: &predictions,
            classes: ri.classes,
            embed_dim: self.embeddings().size()[1] as usize,
            min_sq_to_labeled: min_sq,
            pool: ri.pool_context(labeled_probs, Some(self.neighbours())),
        };
        let mut ranking = select::rank(
            ri.strategy,
            RankingSource::Graph,
            scored,
            ri.batch,
            ri.job,
            ri.seed,
        );
        ri.show_handed_out(&mut ranking, &ri.blended(&refined)?)?;
        ri.place_audits(&mut ranking);
        Ok(ranking)
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

    /// The device's pseudo-labels are the host's, ties included (probabilities on a
    /// coarse grid make equal maxima and equal margins common).
    #[test]
    fn pseudo_labels_on_the_device_equal_the_hosts() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for (rows, classes) in [(200, 10), (57, 3), (40, 2), (5, 1)] {
            let probs: Vec<f32> = (0..rows * classes)
                .map(|_| rng.random_range(0..6) as f32 / 5.0)
                .collect();
            let labeled: Vec<bool> = (0..rows).map(|_| rng.random_bool(0.2)).collect();
            let tensor = Tensor::from_slice(&probs).view([rows as i64, classes as i64]);
            for fraction in [0.0, 0.1, 0.33, 0.5, 1.0] {
                assert_eq!(
                    pseudo_labels_on_device(&tensor, &labeled, fraction).unwrap(),
                    pseudo_labels(&probs, classes, &labeled, fraction),
                    "{rows}×{classes} at {fraction}"
                );
            }
        }
    }
}
