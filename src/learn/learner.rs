//! One active-learning round, the single loop both the trainer thread and `glean
//! simulate` run. Per learner kind (config.rs):
//! - cnn: fit the network on the labels, measure test accuracy, score the pool, rank;
//! - graph: propagate the labels over the pool's kNN graph, rank on its probabilities;
//! - hybrid: propagate and post that ranking at once (`RoundProgress::Preliminary`),
//!   then fit the network on the labels plus confident pseudo-labels (the graph's, or
//!   the blend's once the referee trusts the network's side), and rank and predict
//!   with the graph or the graph-network average, as the referee picks from the labels
//!   that arrived since their last predictions (referee.rs).
//!
//! What is computed once per pool (backbone features, graph embeddings, the graph) is
//! prepared in `Learner::prepare` (prepare.rs) and cached by `features`.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::config::{ColdStart, LearnerConfig, LearnerKind, ModelKind};
use super::data::LearnData;
use super::inputs::Inputs;
use super::model::EMBED_DIM;
use super::network::Trained;
use super::propagation::{pseudo_labels, GraphLearner};
use super::ranking::{Ranking, RankingSource};
use super::referee::{Pick, Referee};
use super::score::{self, Want};
use super::select::{self, Scored};
use super::strategy::{self, Strategy};
use super::train::FitProgress;
use super::LearnError;

/// The hybrid's third predictor is `w · network + (1 − w) · graph` (probabilities).
/// The network is trained on the graph's pseudo-labels, so where both agree the blend
/// changes nothing; where they disagree the more confident one wins.
pub const BLEND_NETWORK_WEIGHT: f64 = 0.5;

/// Where a round is, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum RoundProgress {
    /// Once-per-pool preparation (backbone features, graph): `done` of `total` steps,
    /// at `per_second` where the step measures its rate.
    Preparing {
        what: &'static str,
        done: usize,
        total: usize,
        per_second: Option<f64>,
    },
    Fit(FitProgress),
    /// Test accuracy is known; scoring the pool comes next.
    Evaluated {
        accuracy: f64,
    },
    /// A hybrid round's graph ranking, ready before the network trains; the round's
    /// final outcome follows.
    Preliminary(Box<RoundOutcome>),
}

/// Wall-clock seconds of each phase of a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RoundTimes {
    /// Graph propagation, with its evaluation and ranking.
    pub propagate: f64,
    pub train: f64,
    pub evaluate: f64,
    pub score: f64,
    pub total: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoundOutcome {
    pub version: u64,
    pub labeled: usize,
    /// Test accuracy of what ranked (`ranking.source`); None before any labels or
    /// without a test split.
    pub accuracy: Option<f64>,
    /// Test accuracy of the network alone and of the graph alone, where they ran.
    pub network_accuracy: Option<f64>,
    pub graph_accuracy: Option<f64>,
    pub final_loss: Option<f64>,
    /// What the graph propagated on this round (`graph_choice.rs`), where one ran.
    pub graph: Option<String>,
    pub ranking: Ranking,
    pub times: RoundTimes,
}

/// Owns the pool's inputs, the graph and the network between rounds. Every tch value
/// lives here; construct and use it on one thread.
pub struct Learner {
    pub(super) config: LearnerConfig,
    pub(super) data: LearnData,
    pub(super) device: Device,
    /// The network actually trained (`Auto` resolved).
    pub(super) model: ModelKind,
    pub(super) inputs: Inputs,
    pub(super) test_labels: Tensor,
    pub(super) graph: Option<GraphLearner>,
    pub(super) trained: Option<Trained>,
    /// Which of the hybrid's predictors ranks (referee.rs).
    referee: Referee,
    /// Last round's network probabilities for the whole pool (the graph's where the
    /// network scored nothing), for this round's pseudo-labels.
    network_pool: Option<Tensor>,
    /// A candidate graph still being built beside the rounds.
    pub(super) background_graph: Option<super::prepare::BackgroundGraph>,
}

/// Labeled pool indices and classes, checked, each item once.
pub(super) struct Labeled {
    pub(super) indices: Vec<usize>,
    pub(super) classes: Vec<i64>,
}

impl Labeled {
    pub(super) fn pairs(&self) -> Vec<(usize, u16)> {
        self.indices
            .iter()
            .zip(&self.classes)
            .map(|(&i, &c)| (i, c as u16))
            .collect()
    }
}

impl Learner {
    /// Prepares the learner without progress reports or cancellation.
    pub fn new(data: LearnData, config: LearnerConfig) -> Result<Self, LearnError> {
        Self::prepare(data, config, &mut |_| {}, &|| false)
    }

    pub(super) fn assemble(
        config: LearnerConfig,
        data: LearnData,
        device: Device,
        model: ModelKind,
        inputs: Inputs,
        graph: Option<GraphLearner>,
    ) -> Result<Self, LearnError> {
        let labels: Vec<i64> = data.test_labels.iter().map(|&l| l as i64).collect();
        let test_labels = Tensor::f_from_slice(&labels)?.f_to_device(device)?;
        let learner = Self {
            config,
            data,
            device,
            model,
            inputs,
            test_labels,
            graph,
            trained: None,
            referee: Referee::default(),
            network_pool: None,
            background_graph: None,
        };
        // A checkpoint that does not fit this network is an error now, not in round 1.
        if learner.config.weights.is_some() {
            // Its initial weights draw from libtorch's generator, which rounds elsewhere
            // in the process may hold: wait for it (the draws are thrown away).
            let _generator = super::torch_rng::seeded(learner.config.seed);
            learner.new_network()?;
        }
        Ok(learner)
    }

    pub fn config(&self) -> &LearnerConfig {
        &self.config
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn data(&self) -> &LearnData {
        &self.data
    }

    /// The network this learner trains (`auto` resolved).
    pub fn model(&self) -> ModelKind {
        self.model
    }

    /// The graphs the graph learner may propagate on (empty without a graph); one still
    /// training in the background joins at the first round after it is done.
    pub fn graph_candidates(&self) -> Vec<String> {
        self.graph
            .as_ref()
            .map_or_else(Vec::new, |g| g.candidates())
    }

    /// What this learner does beside its rounds (the autoencoder training for the
    /// graph), until the round that takes it in; None when nothing.
    pub fn background_work(&self) -> Option<super::prepare::BackgroundWork> {
        self.background_graph.as_ref().map(|b| b.work())
    }

    /// What the learner's predictions come from: `hybrid`, `graph`, or the network's
    /// name (the graph learners fall back to the network on pools too small for a graph).
    pub fn describe(&self) -> String {
        match (self.config.learner, &self.graph) {
            (LearnerKind::Cnn, _) | (_, None) => self.model.name().to_string(),
            (kind, Some(_)) => format!("{} ({})", kind.name(), self.model.name()),
        }
    }

    /// Seed of everything random in the round that follows `labeled` labels: the same
    /// seed and labeled set give the same round.
    pub(super) fn round_seed(&self, labeled: usize) -> u64 {
        self.config
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(labeled as u64)
    }

    /// The cold-start picks for an empty labeled set: the items nearest the k-means
    /// centres of the graph embeddings (or the backbone features, or downsampled pixels).
    pub fn cold_start_picks(&self) -> Result<Vec<usize>, LearnError> {
        let k = self.config.init.min(self.data.pool_len());
        match self.config.cold_start {
            ColdStart::KMeans => {
                let embeddings = match (&self.graph, &self.inputs) {
                    (Some(g), _) => Some(g.embeddings()),
                    (None, Inputs::Features { pool, .. }) => Some(pool),
                    _ => None,
                };
                match embeddings {
                    Some(e) => super::graph::kmeans_cold_start(e, k, self.config.seed),
                    None => {
                        let (features, dim) = self.data.cold_start_features()?;
                        Ok(strategy::kmeans_cold_start(
                            &features,
                            dim,
                            k,
                            10_000,
                            self.config.seed,
                        ))
                    }
                }
            }
            ColdStart::Random => Ok(strategy::random_subset(
                self.data.pool_len(),
                k,
                self.config.seed,
            )),
            ColdStart::Balanced => Err(LearnError::Data(
                "a class-balanced first batch needs every item's label: the simulation picks it (strategy::balanced_random_subset)".into(),
            )),
        }
    }

    /// Runs one round for `labeled` (pool index, class). With nothing labeled, returns
    /// the cold-start ranking without training.
    pub fn round(
        &mut self,
        labeled: &[(usize, u16)],
        version: u64,
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(RoundProgress),
    ) -> Result<RoundOutcome, LearnError> {
        let start = Instant::now();
        let lab = self.check_labeled(labeled)?;
        let mut is_labeled = vec![false; self.data.pool_len()];
        for &i in &lab.indices {
            is_labeled[i] = true;
        }
        let unlabeled: Vec<usize> = (0..self.data.pool_len())
            .filter(|&i| !is_labeled[i])
            .collect();
        let seed = self.round_seed(lab.indices.len());
        let mut outcome = RoundOutcome {
            version,
            labeled: lab.indices.len(),
            accuracy: None,
            network_accuracy: None,
            graph_accuracy: None,
            final_loss: None,
            graph: None,
            ranking: Ranking {
                version,
                strategy: self.config.strategy,
                source: RankingSource::ColdStart,
                items: Vec::new(),
            },
            times: RoundTimes::default(),
        };
        if lab.indices.is_empty() {
            let picks = self.cold_start_picks()?;
            outcome.ranking =
                select::cold_start_ranking(self.config.strategy, &picks, &unlabeled, version, seed);
            outcome.times.score = start.elapsed().as_secs_f64();
            outcome.times.total = outcome.times.score;
            return Ok(outcome);
        }
        let candidates = match self.config.pool_subset {
            Some(m) if m < unlabeled.len() => strategy::random_subset(unlabeled.len(), m, seed)
                .into_iter()
                .map(|p| unlabeled[p])
                .collect(),
            _ => unlabeled,
        };
        let cand_tensor = index_tensor(&candidates, self.device)?;
        let pairs = lab.pairs();

        let mut graph_round = None;
        if self.background_graph.as_ref().is_some_and(|b| b.is_done()) {
            let mut pending = self.background_graph.take().expect("checked above");
            if let (Some(g), Some(done)) = (self.graph.as_mut(), pending.take_if_done()) {
                tracing::info!("the {} graph is ready: the labels will judge it", done.name);
                g.add_graph(done, pending.preferred);
            }
        }
        if self.config.learner.uses_graph() {
            if let Some(g) = self.graph.as_mut() {
                let t = Instant::now();
                // The labels no ranking chose: the first batch, or all under random.
                let unchosen = match self.config.strategy {
                    Strategy::Random => pairs.len(),
                    _ => self.config.init,
                };
                let round = g.propagate(&pairs, unchosen, self.data.classes, seed)?;
                outcome.graph = Some(g.describe());
                outcome.graph_accuracy = round
                    .test
                    .as_ref()
                    .map(|t| score::accuracy(t, &self.test_labels));
                outcome.accuracy = outcome.graph_accuracy;
                outcome.ranking =
                    self.graph_ranking(&round, &candidates, &cand_tensor, &lab, version, seed)?;
                outcome.times.propagate = t.elapsed().as_secs_f64();
                if self.config.learner == LearnerKind::Graph {
                    outcome.times.total = start.elapsed().as_secs_f64();
                    return Ok(outcome);
                }
                outcome.times.total = start.elapsed().as_secs_f64();
                progress(RoundProgress::Preliminary(Box::new(outcome.clone())));
                graph_round = Some(round);
            }
        }

        // The network: on the labels, plus the graph's surest guesses in a hybrid round.
        // Held to the end of the round: training and BALD's masks draw from it.
        let _generator = super::torch_rng::seeded(seed);
        let graph_pool_probs = match &graph_round {
            Some(round) => Some(Vec::<f32>::try_from(
                round.pool.to_device(Device::Cpu).view([-1]),
            )?),
            None => None,
        };
        // Pseudo-labels come from the graph until the referee trusts the network's side:
        // then from the blend of this graph and last round's network, which is surer
        // (MNIST, margin, one trial, rounds ranked by the blend at 380-420 labels: 98.9-99.0 %
        // against 98.5-98.7 % with the graph's pseudo-labels).
        let blended = match (&graph_round, &self.network_pool) {
            (Some(round), Some(network)) if self.referee.pick() != Pick::Graph => {
                Some(Vec::<f32>::try_from(
                    blend(network, &round.pool)
                        .to_device(Device::Cpu)
                        .view([-1]),
                )?)
            }
            _ => None,
        };
        let pseudo = match blended.as_ref().or(graph_pool_probs.as_ref()) {
            Some(probs) => pseudo_labels(
                probs,
                self.data.classes,
                &is_labeled,
                self.config.graph.pseudo_fraction,
            ),
            None => Vec::new(),
        };
        let t = Instant::now();
        let final_loss = self.fit(&lab, &pseudo, cancelled, &mut |p| {
            progress(RoundProgress::Fit(p))
        })?;
        outcome.final_loss = Some(final_loss);
        outcome.times.train = t.elapsed().as_secs_f64();
        self.save_model()?;
        let net = &self.trained.as_ref().expect("fit stores a network").net;

        let t = Instant::now();
        let graph_test = graph_round.as_ref().and_then(|g| g.test.as_ref());
        let mut network_test = None;
        if self.data.test_len() > 0 {
            let probs = score::test_probs(net.as_ref(), &self.inputs, cancelled)?;
            outcome.network_accuracy = Some(score::accuracy(&probs, &self.test_labels));
            network_test = Some(probs);
        }
        outcome.times.evaluate = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let st = self.config.strategy;
        let wants_embeddings = st.needs_embeddings();
        let want = Want {
            mc_samples: if st.needs_mc_samples() {
                self.config.mc_samples.max(2)
            } else {
                0
            },
            embeddings: wants_embeddings,
        };
        let mut predictions =
            score::predict(net.as_ref(), &self.inputs, &cand_tensor, want, cancelled)?;
        let mut source = RankingSource::Model;
        let mut test_probs = network_test.as_ref().map(|p| p.shallow_clone());
        if let (Some(round), Some(graph_pool_probs)) = (&graph_round, &graph_pool_probs) {
            let classes = self.data.classes as i64;
            let network_p = Tensor::f_from_slice(&predictions.probs)?
                .f_view([-1, classes])?
                .f_to_device(self.device)?;
            let graph_p = round.pool.index_select(0, &cand_tensor);
            let blend_p = blend(&network_p, &graph_p);
            self.network_pool = Some(round.pool.f_index_copy(0, &cand_tensor, &network_p)?);
            // Judge last round's predictions on the labels that came since, remember
            // this round's, and rank with the graph or the blend, as the referee says.
            self.referee.observe(&pairs);
            // Both from the copies already on the CPU.
            let width = self.data.classes;
            let graph_all: Vec<Option<u16>> =
                argmax_rows(graph_pool_probs, width).map(Some).collect();
            let mut network_all = vec![None; self.data.pool_len()];
            for (&i, c) in candidates
                .iter()
                .zip(argmax_rows(&predictions.probs, width))
            {
                network_all[i] = Some(c);
            }
            self.referee.remember(&is_labeled, [graph_all, network_all]);
            let pick = self.referee.pick();
            let (chosen, test) = match pick {
                Pick::Graph => (graph_p, graph_test.map(|t| t.shallow_clone())),
                Pick::Blend => (
                    blend_p,
                    network_test
                        .as_ref()
                        .zip(graph_test)
                        .map(|(n, g)| blend(n, g)),
                ),
            };
            source = match pick {
                Pick::Graph => RankingSource::Graph,
                Pick::Blend => RankingSource::Hybrid,
            };
            let pct = |a: Option<f64>| a.map_or("-".into(), |a| format!("{:.2}%", a * 100.0));
            let [graph_only, network_only] = self.referee.split();
            tracing::debug!(
                "hybrid round, {} labels: {pick:?} ranks; test accuracy graph {}, network {}, picked {}; fresh labels only one got right: graph {}, network {} ({:.1} sd past a healthy network's share); graph and network disagree on {:.2}% of the unlabeled pool; {} conjugate-gradient steps",
                pairs.len(),
                pct(outcome.graph_accuracy),
                pct(outcome.network_accuracy),
                pct(test.as_ref().map(|t| score::accuracy(t, &self.test_labels))),
                graph_only,
                network_only,
                self.referee.graph_lead(),
                self.referee.disagreement() * 100.0,
                round.iterations,
            );
            predictions.probs = Vec::<f32>::try_from(chosen.to_device(Device::Cpu).view([-1]))?;
            test_probs = test;
        }
        outcome.accuracy = test_probs
            .as_ref()
            .map(|p| score::accuracy(p, &self.test_labels));
        if let Some(acc) = outcome.accuracy {
            progress(RoundProgress::Evaluated { accuracy: acc });
        }
        let min_sq = if wants_embeddings {
            let emb = predictions
                .embeddings
                .as_ref()
                .expect("embeddings were asked for");
            let cand = Tensor::f_from_slice(emb)?
                .f_view([-1, EMBED_DIM])?
                .f_to_device(self.device)?;
            let labeled_idx = index_tensor(&lab.indices, self.device)?;
            let labeled_emb =
                tch::no_grad(|| net.embed(&self.inputs.pool_rows(&labeled_idx), false));
            Some(min_sq_distances(&cand, &labeled_emb)?)
        } else {
            None
        };
        let scored = Scored {
            candidates: &candidates,
            predictions: &predictions,
            classes: self.data.classes,
            embed_dim: EMBED_DIM as usize,
            min_sq_to_labeled: min_sq,
        };
        outcome.ranking = select::rank(st, source, scored, self.config.batch, version, seed);
        outcome.times.score = t.elapsed().as_secs_f64();
        outcome.times.total = start.elapsed().as_secs_f64();
        Ok(outcome)
    }

    /// Trains on all of `labeled` and returns the network's test accuracy, without
    /// scoring the pool (the "every label known" baseline drawn next to the curves).
    pub fn fit_and_evaluate(
        &mut self,
        labeled: &[(usize, u16)],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<f64>, LearnError> {
        let lab = self.check_labeled(labeled)?;
        let _generator = super::torch_rng::seeded(self.round_seed(lab.indices.len()));
        self.fit(&lab, &[], cancelled, &mut |_| {})?;
        let net = &self.trained.as_ref().expect("fit stores a network").net;
        if self.data.test_len() == 0 {
            return Ok(None);
        }
        let probs = score::test_probs(net.as_ref(), &self.inputs, cancelled)?;
        Ok(Some(score::accuracy(&probs, &self.test_labels)))
    }

    pub(super) fn check_labeled(&self, labeled: &[(usize, u16)]) -> Result<Labeled, LearnError> {
        let mut seen = vec![false; self.data.pool_len()];
        let mut indices = Vec::with_capacity(labeled.len());
        let mut classes = Vec::with_capacity(labeled.len());
        for &(i, c) in labeled {
            if i >= self.data.pool_len() {
                return Err(LearnError::Data(format!(
                    "pool index {i} is beyond the {} pool items",
                    self.data.pool_len()
                )));
            }
            if c as usize >= self.data.classes {
                return Err(LearnError::Data(format!(
                    "class {c} is not below the {} classes",
                    self.data.classes
                )));
            }
            // A relabeled item counts once, with its newest label.
            if seen[i] {
                let at = indices
                    .iter()
                    .position(|&j| j == i)
                    .expect("seen items are listed");
                classes[at] = c as i64;
                continue;
            }
            seen[i] = true;
            indices.push(i);
            classes.push(c as i64);
        }
        Ok(Labeled { indices, classes })
    }
}

/// The most likely class of each row of `probs` (`classes` wide; ties: lower class).
fn argmax_rows(probs: &[f32], classes: usize) -> impl Iterator<Item = u16> + '_ {
    probs
        .chunks(classes)
        .map(|row| strategy::top_k(row, 1)[0] as u16)
}

/// The hybrid prediction: see `BLEND_NETWORK_WEIGHT`.
fn blend(network: &Tensor, graph: &Tensor) -> Tensor {
    network * BLEND_NETWORK_WEIGHT + graph * (1.0 - BLEND_NETWORK_WEIGHT)
}

/// Each row of `cand`'s squared distance to its nearest row of `labeled`, by blocked
/// matrix products on the device.
pub(super) fn min_sq_distances(cand: &Tensor, labeled: &Tensor) -> Result<Vec<f32>, LearnError> {
    let lab_sq = labeled.square().sum_dim_intlist(1, false, Kind::Float);
    let n = cand.size()[0];
    let mut out = Vec::with_capacity(n as usize);
    let mut start = 0;
    while start < n {
        let len = 4096.min(n - start);
        let c = cand.narrow(0, start, len);
        let c_sq = c.square().sum_dim_intlist(1, true, Kind::Float);
        let d = (c_sq - c.matmul(&labeled.tr()) * 2.0 + lab_sq.unsqueeze(0)).clamp_min(0.0);
        out.extend(Vec::<f32>::try_from(d.amin(1, false))?);
        start += len;
    }
    Ok(out)
}

pub(super) fn index_tensor(indices: &[usize], device: Device) -> Result<Tensor, LearnError> {
    let v: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Ok(Tensor::f_from_slice(&v)?.f_to_device(device)?)
}
