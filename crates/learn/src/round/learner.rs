//! One active-learning round, the single loop both the trainer thread and `glean
//! simulate` run. Per learner kind (config.rs):
//! - cnn: fit the network on the labels, measure test accuracy, score the pool, rank;
//! - graph: propagate the labels over the pool's kNN graph, rank on its probabilities;
//! - hybrid: propagate and post that ranking at once (a preliminary `TrainerEvent::Ranked`),
//!   then fit the network on the labels plus confident pseudo-labels (the graph's, or
//!   the blend's once the referee trusts the network's side), and rank and predict
//!   with the graph or the graph-network average, as the referee picks from the labels
//!   that arrived since their last predictions (referee.rs).
//!
//! What is computed once per pool (backbone features, graph embeddings, the graph) is
//! prepared in `Learner::prepare` (prepare.rs) and cached by `features`.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Instant;

use tch::{Device, Tensor};

use crate::backbone::features::PoolFeatures;
use crate::backbone::zero_shot::{
    refine_with_prior_rows, PriorVariant, ZeroShotPrior, BALANCING, BALANCING_BEFORE_LABELS,
};
use crate::config::{ColdStart, LearnerConfig, LearnerKind, ModelKind};
use crate::data::LearnData;
use crate::graph::cpu_floats;
use crate::ranking::{Ranking, RankingSource};
use crate::round::inputs::Inputs;
use crate::round::model::EMBED_DIM;
use crate::round::network::{NetworkSpec, Trained};
use crate::round::outcome::{RoundOutcome, RoundTimes};
use crate::round::prior_blend::{self, PriorBlend};
use crate::round::propagation::{pseudo_labels_on_device, GraphLearner, GraphRound};
use crate::round::round_input::{index_tensor, Labeled, RankingInputs, RoundPrior};
use crate::round::score::{self, min_sq_distances, DevicePredictions, Want};
use crate::round::train::FitProgress;
use crate::strategies::pool_structure::{pixel_embedding, PoolStructure};
use crate::strategy::{self, Strategy};
use crate::trainer::prepare::{BackgroundGraph, BackgroundWork, Prepared};
use crate::LearnError;
use crate::TrainerEvent;
use glean_rank::referee::{Pick, Referee};
use glean_rank::select::{self, Scored};

/// The hybrid's third predictor is `w · network + (1 − w) · graph` (probabilities).
/// The network is trained on the graph's pseudo-labels, so where both agree the blend
/// changes nothing; where they disagree the more confident one wins.
pub const BLEND_NETWORK_WEIGHT: f64 = 0.5;

/// Owns the pool's inputs, the graph and the network between rounds. Every tch value
/// lives here; construct and use it on one thread.
pub struct Learner {
    config: LearnerConfig,
    data: LearnData,
    device: Device,
    /// The network actually trained (`Auto` resolved).
    model: ModelKind,
    inputs: Inputs,
    test_labels: Tensor,
    graph: Option<GraphLearner>,
    trained: Option<Trained>,
    /// Which of the hybrid's predictors ranks (referee.rs).
    referee: Referee,
    /// Last round's network probabilities for the whole pool (the graph's where the
    /// network scored nothing), for this round's pseudo-labels.
    network_pool: Option<Tensor>,
    /// A candidate graph still being built beside the rounds.
    background_graph: Option<BackgroundGraph>,
    /// The pool's clusters and fixed embedding, built at the first round of a strategy
    /// that reads them.
    structure: Option<Rc<PoolStructure>>,
    /// The backbone's zero-shot probabilities, which every prediction of a round is
    /// refined into (`set_zero_shot`).
    zero_shot: Option<ZeroShotPrior>,
    /// How the rounds blend their predictions with the zero-shot prior, and at how
    /// many labels that was fitted (`prior_blend.rs`).
    prior_blend: (PriorBlend, usize),
    /// The probabilities the last round handed out for its candidates: the labels
    /// they get next judge them (`judge_handed_out`).
    handed_out: Option<HandedOut>,
    /// Handed-out predictions (pool index, log refined probabilities) and the labels
    /// they got, the latest
    /// `prior_blend::CALIBRATION_WINDOW`.
    judged: VecDeque<(usize, Vec<f32>, u16)>,
    /// The temperature fitted on `judged`, applied with the prior blend.
    temperature: f64,
}

/// A round's predictions refined into the prior, before the blend, as logarithms.
struct HandedOut {
    /// Pool index → row of `log_refined`.
    rows: HashMap<usize, usize>,
    log_refined: Vec<f32>,
    classes: usize,
}

/// How much a photo's prior takes from its neighbours' (`GraphLearner::spread_prior`).
/// CIFAR-10 without labels, the validation split, balanced fully: 58.3 % unspread,
/// 61.3 % at 0.5, 62.4 % at 0.9, 62.6 % at 0.95; 0.9, the value the method's authors
/// use in most of their trials, short of where the gain flattens.
const SPREAD_ALPHA: f64 = 0.9;
/// Steps of the spreading: 0.9³⁰ ≈ 4 % of the mass is still to move.
const SPREAD_STEPS: usize = 30;

/// A round's labels, as its stages read them.
struct RoundLabels {
    lab: Labeled,
    /// (pool index, class), each item once.
    pairs: Vec<(usize, u16)>,
    is_labeled: Vec<bool>,
    /// How many of `pairs`, at their front, no ranking chose (`put_unchosen_first`).
    unchosen: usize,
}

/// A propagation of this round's labels that a network round goes on from.
struct Propagated {
    round: GraphRound,
}

impl Learner {
    /// Prepares the learner without progress reports or cancellation.
    pub fn new(data: LearnData, config: LearnerConfig) -> Result<Self, LearnError> {
        Self::prepare(data, config, &mut |_| {}, &|| false)
    }

    /// Sets the learner up for `data`, reporting the slow steps through `progress`
    /// (`TrainerEvent::Preparing`) and stopping when `cancelled` says so.
    pub fn prepare(
        data: LearnData,
        config: LearnerConfig,
        progress: &mut dyn FnMut(TrainerEvent),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Self, LearnError> {
        Self::assemble(Prepared::new(data, config, progress, cancelled)?)
    }

    /// From now on, every round's predictions (the ranking's classes and
    /// probabilities, the test accuracy) refine the backbone's zero-shot `prior`
    /// (`zero_shot::refine_with_prior`): the classes no label has reached keep the
    /// head's probabilities. Its rows must be the learner's pool and test rows.
    pub fn set_zero_shot(&mut self, prior: ZeroShotPrior) -> Result<(), LearnError> {
        let rows = (prior.pool.size(), prior.test.size());
        let classes = self.data.classes as i64;
        let want = (
            vec![self.data.pool_len() as i64, classes],
            vec![self.data.test_len() as i64, classes],
        );
        if rows != want {
            return Err(LearnError::Data(format!(
                "a zero-shot prior of shapes {rows:?} for a pool and test of {want:?}"
            )));
        }
        // Each balancing as it is and spread over the graph, where there is one and
        // a photo's neighbours can share its class: where a class has at least as
        // many photos as a photo has neighbours. (The 118 dog photos, one per breed:
        // spread, the prior was right for 98 of them, and after 30 labels for 5 of the
        // other 88.)
        let per_class = self.data.pool_len() / self.data.classes.max(1);
        let spreads = self
            .graph
            .as_ref()
            .filter(|_| per_class >= self.config.graph.k);
        let mut balancings = Vec::with_capacity(2 * prior.balancings.len());
        for variant in &prior.balancings {
            let (pool, test) = (
                variant.pool.f_to_device(self.device)?,
                variant.test.f_to_device(self.device)?,
            );
            if let Some(g) = spreads {
                let (pool, test) = g.spread_prior(&pool, &test, SPREAD_ALPHA, SPREAD_STEPS)?;
                balancings.push(PriorVariant {
                    spread: true,
                    pool,
                    test,
                    ..*variant
                });
            }
            balancings.push(PriorVariant {
                spread: false,
                pool,
                test,
                ..*variant
            });
        }
        // Before labels: the balancing used before labels, spread where it can be.
        let before_labels = BALANCING[BALANCING_BEFORE_LABELS];
        let in_use = balancings
            .iter()
            .find(|v| v.balance == before_labels)
            .ok_or_else(|| {
                LearnError::Other("the prior lost its balancing before labels".into())
            })?;
        self.zero_shot = Some(ZeroShotPrior {
            pool: in_use.pool.shallow_clone(),
            test: in_use.test.shallow_clone(),
            balancings,
        });
        self.prior_blend = (PriorBlend::EVEN, 0);
        self.handed_out = None;
        self.judged.clear();
        self.temperature = 1.0;
        Ok(())
    }

    /// Sets the learner up over backbone features computed elsewhere (the labeler
    /// streams them in while the person labels); `data` may be `undecoded`.
    pub fn prepare_with_features(
        data: LearnData,
        config: LearnerConfig,
        model: ModelKind,
        features: PoolFeatures,
        progress: &mut dyn FnMut(TrainerEvent),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Self, LearnError> {
        Self::assemble(Prepared::with_features(
            data, config, model, features, progress, cancelled,
        )?)
    }

    fn assemble(prepared: Prepared) -> Result<Self, LearnError> {
        let Prepared {
            data,
            config,
            device,
            model,
            inputs,
            graph,
            background,
        } = prepared;
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
            background_graph: background,
            structure: None,
            zero_shot: None,
            prior_blend: (PriorBlend::EVEN, 0),
            handed_out: None,
            judged: VecDeque::new(),
            temperature: 1.0,
        };
        // A checkpoint that does not fit this network is an error now, not in round 1.
        if learner.config.weights.is_some() {
            // Its initial weights draw from libtorch's generator, which rounds elsewhere
            // in the process may hold: wait for it (the draws are thrown away).
            let _generator = crate::torch_rng::seeded(learner.config.seed);
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
    pub fn background_work(&self) -> Option<BackgroundWork> {
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
    pub(crate) fn round_seed(&self, labeled: usize) -> u64 {
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
                    Some(e) => crate::graph::kmeans_cold_start(e, k, self.config.seed),
                    None => {
                        let (features, dim) = self.data.cold_start_features()?;
                        let rows = (features.len() / dim) as i64;
                        let points = Tensor::from_slice(&features)
                            .view([rows, dim as i64])
                            .to_device(self.device);
                        crate::graph::kmeans_cold_start(&points, k, self.config.seed)
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
    /// the cold-start ranking without training. The stages: the graph's propagation and
    /// ranking (posted at once in a hybrid round), the network's fit, its test
    /// accuracy, its predictions and the referee's choice, the ranking.
    pub fn round(
        &mut self,
        labeled: &[(usize, u16)],
        job: u64,
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(TrainerEvent),
    ) -> Result<RoundOutcome, LearnError> {
        self.round_with_audits(labeled, &[], job, cancelled, progress)
    }

    /// A round on `labeled`, of which the items in `audited` were audit picks
    /// (`glean_rank::audit`): with the first batch, the labels no strategy chose, which
    /// judge the graph, the blend with the prior and the calibration.
    pub fn round_with_audits(
        &mut self,
        labeled: &[(usize, u16)],
        audited: &[usize],
        job: u64,
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(TrainerEvent),
    ) -> Result<RoundOutcome, LearnError> {
        let start = Instant::now();
        let mut lab = self.check_labeled(labeled)?;
        let unchosen = self.put_unchosen_first(&mut lab, audited);
        let is_labeled = lab.mask(self.data.pool_len());
        let unlabeled: Vec<usize> = (0..self.data.pool_len())
            .filter(|&i| !is_labeled[i])
            .collect();
        let seed = self.round_seed(lab.indices.len());
        let mut outcome = RoundOutcome {
            job,
            labeled: lab.indices.len(),
            accuracy: None,
            calibration_error: None,
            network_accuracy: None,
            graph_accuracy: None,
            final_loss: None,
            graph: None,
            ranking: Ranking {
                job,
                strategy: self.config.strategy,
                source: RankingSource::ColdStart,
                items: Vec::new(),
            },
            times: RoundTimes::default(),
        };
        if lab.indices.is_empty() {
            let picks = self.cold_start_picks()?;
            outcome.ranking =
                select::cold_start_ranking(self.config.strategy, &picks, &unlabeled, job, seed);
            // With the head's prior, the cold start predicts too: review pages, the
            // predictions file and `export --all` have classes before the first label.
            if let Some(prior) = &self.zero_shot {
                let classes = self.data.classes;
                let probs = cpu_floats(&prior.pool)?;
                for item in &mut outcome.ranking.items {
                    let row = &probs[item.pool_index * classes..(item.pool_index + 1) * classes];
                    item.top = crate::ranking::top_classes(row, 3);
                }
                if self.data.test_len() > 0 {
                    outcome.accuracy = Some(score::accuracy(&prior.test, &self.test_labels));
                    outcome.calibration_error =
                        Some(score::calibration_error(&prior.test, &self.test_labels)?);
                }
                let handed = prior
                    .pool
                    .f_index_select(0, &index_tensor(&unlabeled, self.device)?)?;
                self.remember_handed_out(&unlabeled, &handed)?;
            }
            outcome.times.score = start.elapsed().as_secs_f64();
            outcome.times.total = outcome.times.score;
            return Ok(outcome);
        }
        let candidates = self.candidates(unlabeled, seed);
        let candidate_rows = index_tensor(&candidates, self.device)?;
        let labeled_rows = index_tensor(&lab.indices, self.device)?;
        let labels = RoundLabels {
            pairs: lab.pairs(),
            lab,
            is_labeled,
            unchosen,
        };
        let t = Instant::now();
        let structure = self.pool_structure()?;
        stop_if(cancelled)?;
        let unlabeled_odds = structure
            .as_ref()
            .and_then(|s| s.standardised.as_ref())
            .map(|standardised| {
                crate::strategies::discriminator::unlabeled_odds(
                    standardised,
                    &labels.lab.indices,
                    &candidates,
                    seed,
                )
            })
            .transpose()?;
        // Judged, like the graph candidates, on the labels no ranking chose: a
        // ranking's picks are where its predictor is weakest.
        let unchosen = labels.unchosen;
        self.fit_prior_blend(&labels.pairs, unchosen)?;
        // The blend was fitted by propagations from labels like the unchosen; once the
        // strategy's picks outnumber those, they no longer say how the predictor
        // compares with the prior, and the predictor stands alone where it has labels
        // (`prior_blend::blend_in_use`).
        // Without a graph nothing fits the blend: the refinement alone, as before it.
        let blend = match self.graph {
            Some(_) => prior_blend::blend_in_use(self.prior_blend.0, unchosen, labels.pairs.len()),
            None => prior_blend::REFINED_ALONE,
        };
        // Judged only by labels drawn at random: a strategy's picks are the items its
        // predictor is least sure of, and a temperature fitted on those alone softened
        // everything (CIFAR-10, validation, margin: T 3.4 at 300 labels, calibration
        // error 21 % against 14 % uncalibrated).
        let drawn_from = match (self.config.strategy, self.config.cold_start) {
            (Strategy::Random, _) | (_, ColdStart::Random | ColdStart::Balanced) => 0,
            // The k-means first batch is the pool's most typical images: the prior is
            // surer of them than of the rest (CIFAR-10, validation: a temperature of 0.39
            // fitted on them, calibration error 21 % at 20 labels).
            (_, ColdStart::KMeans) => self.config.init.min(unchosen),
        };
        self.judge_handed_out(&labels.pairs[drawn_from..unchosen], blend)?;
        // Without audit picks, the temperature was fitted on the first batch alone, for
        // the blend; the trained predictor alone goes uncalibrated. Audit picks go on
        // fitting it to whichever is in use.
        let temperature = if blend == prior_blend::REFINED_ALONE
            && unchosen < labels.pairs.len()
            && !self.audits_in_rankings()
        {
            1.0
        } else {
            self.temperature
        };
        let prior = self
            .zero_shot
            .as_ref()
            .map(|z| {
                RoundPrior::new(
                    z,
                    &candidate_rows,
                    &labels.pairs,
                    blend.at_temperature(temperature),
                    self.data.classes,
                    self.device,
                )
            })
            .transpose()?;
        let ri = RankingInputs {
            prior: prior.as_ref(),
            candidates: &candidates,
            candidate_rows: &candidate_rows,
            labeled_rows: &labeled_rows,
            labeled: &labels.pairs,
            pool_len: self.data.pool_len(),
            strategy: self.config.strategy,
            batch: self.config.batch,
            classes: self.data.classes,
            job,
            seed,
            audit_every: if self.audits_in_rankings() {
                self.config.audit_every
            } else {
                0
            },
            structure: structure.as_deref(),
            unlabeled_odds: unlabeled_odds.as_deref(),
            cluster_pick: self.config.query.cluster_pick,
        };
        outcome.times.rank = t.elapsed().as_secs_f64();

        self.take_in_background_graph();
        let graph_round = if self.config.learner.uses_graph() {
            self.propagate(&labels, &ri, &mut outcome, cancelled, progress)?
        } else {
            None
        };
        stop_if(cancelled)?;
        if graph_round.is_some() {
            outcome.times.total = start.elapsed().as_secs_f64();
            if self.config.learner == LearnerKind::Graph {
                let judged_next =
                    ri.prior.is_some() && self.judges_the_next_labels(ri.labeled.len());
                if let Some(round) = graph_round.as_ref().filter(|_| judged_next) {
                    let refined =
                        ri.refined_only(round.pool.f_index_select(0, &candidate_rows)?)?;
                    self.remember_handed_out(&candidates, &refined)?;
                }
                return Ok(outcome);
            }
            progress(TrainerEvent::Ranked {
                ranking: outcome.ranking.clone(),
                labels: labels.pairs.len(),
                preliminary: true,
            });
        }
        let propagated = graph_round.map(|round| Propagated { round });

        // Held to the end of the round: training and BALD's masks draw from it.
        let _generator = crate::torch_rng::seeded(seed);
        let pseudo = self.pseudo_labels(&labels, propagated.as_ref())?;
        let t = Instant::now();
        let final_loss = self.fit(&labels.lab, &pseudo, cancelled, &mut |p| {
            progress(TrainerEvent::Progress {
                job,
                step: p.step,
                steps: p.steps,
                loss: p.loss,
            });
            if p.step >= p.steps {
                progress(TrainerEvent::Scoring { job });
            }
        })?;
        outcome.final_loss = Some(final_loss);
        outcome.times.train = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let network_test = self.network_test_probs(cancelled)?;
        outcome.network_accuracy = network_test
            .as_ref()
            .map(|p| score::accuracy(p, &self.test_labels));
        outcome.times.evaluate = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let mut predictions = self.predict(&candidate_rows, cancelled)?;
        let (source, test_probs) = match &propagated {
            Some(propagated) => self.referee_choice(
                &labels,
                &ri,
                propagated,
                network_test.as_ref(),
                &mut predictions,
                &outcome,
            )?,
            None => (RankingSource::Model, network_test),
        };
        // What the round hands out, refined into the zero-shot prior where there is one.
        let refined = ri.refined_only(predictions.probs.shallow_clone())?;
        if ri.prior.is_some() && self.judges_the_next_labels(ri.labeled.len()) {
            self.remember_handed_out(&candidates, &refined)?;
        }
        // The strategy ranks by the trained predictor (refined where classes have no
        // label yet); the ranking's items show the blend.
        let handed_out = ri.blended(&refined)?;
        predictions.probs = refined;
        let test_probs = test_probs.map(|t| ri.refined_test(t)).transpose()?;
        outcome.accuracy = test_probs
            .as_ref()
            .map(|p| score::accuracy(p, &self.test_labels));
        outcome.calibration_error = test_probs
            .as_ref()
            .map(|p| score::calibration_error(p, &self.test_labels))
            .transpose()?;
        if let Some(acc) = outcome.accuracy {
            progress(TrainerEvent::Evaluated {
                job,
                labels: labels.pairs.len(),
                accuracy: acc,
            });
            progress(TrainerEvent::Scoring { job });
        }
        let ranked = Instant::now();
        let labeled_probs = self.labeled_probs(&ri, propagated.as_ref(), source, cancelled)?;
        outcome.ranking = self.network_ranking(&ri, &predictions, source, labeled_probs)?;
        ri.show_handed_out(&mut outcome.ranking, &handed_out)?;
        outcome.times.rank += ranked.elapsed().as_secs_f64();
        outcome.times.score = t.elapsed().as_secs_f64();
        // Only a round that ends writes its model: a cancelled job's never replaces the
        // last one that stood.
        stop_if(cancelled)?;
        self.save_model()?;
        outcome.times.total = start.elapsed().as_secs_f64();
        Ok(outcome)
    }

    /// Whether the labels that follow `labeled` ones can be unchosen (`judge_handed_out`
    /// reads no other): under random labeling all are; else the first batch, and the
    /// audit picks where rankings have them. Past those, a round keeps nothing for them
    /// to judge.
    fn judges_the_next_labels(&self, labeled: usize) -> bool {
        self.config.strategy == Strategy::Random
            || labeled < self.config.init
            || self.audits_in_rankings()
    }

    /// Whether this round's rankings give places to audit picks: under a strategy
    /// other than random, with `LearnerConfig::audit_every`.
    fn audits_in_rankings(&self) -> bool {
        self.config.audit_every >= 2 && self.config.strategy != Strategy::Random
    }

    /// Moves the labels no ranking chose to the front of `lab` and counts them: all
    /// under random; else the first batch (the cold start's picks) and the audit picks.
    fn put_unchosen_first(&self, lab: &mut Labeled, audited: &[usize]) -> usize {
        match self.config.strategy {
            Strategy::Random => lab.indices.len(),
            _ => lab.put_first(self.config.init, audited),
        }
    }

    /// Keeps `refined` (`[candidates, classes]`: the round's predictions refined into
    /// the prior, before the blend with it) for the labels to come to judge.
    fn remember_handed_out(
        &mut self,
        candidates: &[usize],
        refined: &Tensor,
    ) -> Result<(), LearnError> {
        self.handed_out = Some(HandedOut {
            rows: candidates
                .iter()
                .enumerate()
                .map(|(row, &i)| (i, row))
                .collect(),
            log_refined: cpu_floats(&refined.f_clamp_min(1e-12)?.f_log()?)?,
            classes: self.data.classes,
        });
        Ok(())
    }

    /// The labels among `labeled` that the last round handed a prediction out for
    /// judge it; past `prior_blend::MIN_CALIBRATION` of them, the temperature of the
    /// blend in use is fitted again on the latest (`prior_blend::fit_temperature`):
    /// each prediction as the blend in use would have made it from that round's
    /// refined probabilities and the prior.
    fn judge_handed_out(
        &mut self,
        labeled: &[(usize, u16)],
        blend: PriorBlend,
    ) -> Result<(), LearnError> {
        let (Some(handed), Some(prior)) = (self.handed_out.take(), &self.zero_shot) else {
            return Ok(());
        };
        let classes = handed.classes;
        let before = self.judged.len();
        for &(i, c) in labeled {
            if let Some(&row) = handed.rows.get(&i) {
                let log_refined = handed.log_refined[row * classes..(row + 1) * classes].to_vec();
                self.judged.push_back((i, log_refined, c));
            }
        }
        while self.judged.len() > prior_blend::CALIBRATION_WINDOW {
            self.judged.pop_front();
        }
        if self.judged.len() == before || self.judged.len() < prior_blend::MIN_CALIBRATION {
            return Ok(());
        }
        let items: Vec<usize> = self.judged.iter().map(|&(i, _, _)| i).collect();
        let log_prior = cpu_floats(
            &prior
                .pool
                .f_index_select(0, &index_tensor(&items, self.device)?)?
                .f_clamp_min(1e-12)?
                .f_log()?,
        )?;
        let PriorBlend { model, prior } = blend;
        let logits: Vec<f32> = self
            .judged
            .iter()
            .zip(log_prior.chunks(classes))
            .flat_map(|((_, refined, _), log_prior)| {
                refined
                    .iter()
                    .zip(log_prior)
                    .map(|(&r, &p)| (model * f64::from(r) + prior * f64::from(p)) as f32)
                    .collect::<Vec<f32>>()
            })
            .collect();
        let labels: Vec<u16> = self.judged.iter().map(|&(_, _, c)| c).collect();
        self.temperature = prior_blend::fit_temperature(&logits, &labels, classes);
        tracing::info!(
            "temperature {:.2} fitted on {} handed-out predictions",
            self.temperature,
            labels.len()
        );
        Ok(())
    }

    /// Fits how the round blends with the zero-shot prior (`prior_blend.rs`) when the
    /// learner has a prior and a graph, there are `prior_blend::MIN_LABELS`, and the
    /// labels have grown by a quarter since the last fit (each fit costs `FOLDS`
    /// propagations).
    fn fit_prior_blend(
        &mut self,
        labeled: &[(usize, u16)],
        judged: usize,
    ) -> Result<(), LearnError> {
        let (Some(prior), Some(g)) = (&mut self.zero_shot, &self.graph) else {
            return Ok(());
        };
        let n = labeled.len();
        let judged = judged.min(n);
        let fitted_at = self.prior_blend.1;
        if judged < prior_blend::MIN_LABELS || (fitted_at > 0 && 4 * n < 5 * fitted_at) {
            return Ok(());
        }
        let classes = self.data.classes;
        let (held_out, fold_of) = g.held_out_among(
            labeled,
            judged,
            classes,
            prior_blend::FOLDS,
            self.config.seed,
        )?;
        let judged_labels = &labeled[..judged];
        let rows = index_tensor(
            &judged_labels.iter().map(|&(i, _)| i).collect::<Vec<_>>(),
            self.device,
        )?;
        let labels: Vec<u16> = judged_labels.iter().map(|&(_, c)| c).collect();
        // Each fold's propagation knew the classes of every label but the fold's.
        let known: Vec<Vec<bool>> = (0..prior_blend::FOLDS)
            .map(|fold| {
                let mut known = vec![false; classes];
                for (i, &(_, c)) in labeled.iter().enumerate() {
                    if i >= judged || fold_of[i] != fold {
                        known[usize::from(c)] = true;
                    }
                }
                known
            })
            .collect();
        // Each balancing's prior, and the propagation refined into it.
        let mut best: Option<(f64, usize, PriorBlend)> = None;
        for (b, variant) in prior.balancings.iter().enumerate() {
            let prior_rows = cpu_floats(&variant.pool.f_index_select(0, &rows)?)?;
            let mut refined = vec![0f32; judged * classes];
            for (row, &fold) in fold_of.iter().enumerate() {
                let span = row * classes..(row + 1) * classes;
                refined[span.clone()].copy_from_slice(&refine_with_prior_rows(
                    &held_out[span.clone()],
                    &prior_rows[span],
                    &known[fold],
                ));
            }
            let (fit, score) = PriorBlend::fit(&refined, &prior_rows, &labels, classes);
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, b, fit));
            }
        }
        let Some((_, b, blend)) = best else {
            return Err(LearnError::Other("a prior without a balancing".into()));
        };
        let chosen = &prior.balancings[b];
        prior.pool = chosen.pool.shallow_clone();
        prior.test = chosen.test.shallow_clone();
        tracing::info!(
            "zero-shot prior fitted on {n} labels: balanced {}{}, model^{} · prior^{}",
            chosen.balance,
            if chosen.spread { ", spread" } else { "" },
            blend.model,
            blend.prior
        );
        self.prior_blend = (blend, n);
        Ok(())
    }

    /// The unlabeled items this round ranks: all, or a seeded subset (`--pool-subset`).
    fn candidates(&self, unlabeled: Vec<usize>, seed: u64) -> Vec<usize> {
        match self.config.pool_subset {
            Some(m) if m < unlabeled.len() => strategy::random_subset(unlabeled.len(), m, seed)
                .into_iter()
                .map(|p| unlabeled[p])
                .collect(),
            _ => unlabeled,
        }
    }

    /// The labeled items, least believed first by a propagation that did not see their
    /// labels (`mistakes.rs`): where mis-keyed labels are most likely. Needs the graph
    /// (graph and hybrid learners) and a round run on these labels' pool before.
    pub fn likely_mistakes(
        &self,
        labeled: &[(usize, u16)],
    ) -> Result<Vec<crate::mistakes::Suspect>, LearnError> {
        let Some(g) = self.graph.as_ref() else {
            return Err(LearnError::Other(
                "finding likely mistakes needs the graph: use the graph or hybrid learner".into(),
            ));
        };
        let classes = self.data.classes;
        if let Some(&(i, c)) = labeled
            .iter()
            .find(|&&(i, c)| i >= self.data.pool_len() || usize::from(c) >= classes)
        {
            return Err(LearnError::Data(format!(
                "label ({i}, class {c}) is outside the pool of {} or its {classes} classes",
                self.data.pool_len()
            )));
        }
        let held_out =
            g.held_out_probs(labeled, classes, crate::mistakes::FOLDS, self.config.seed)?;
        Ok(crate::mistakes::rank_suspects(labeled, &held_out, classes))
    }

    /// A graph built beside the rounds joins the candidates once it is done.
    fn take_in_background_graph(&mut self) {
        if let Some(mut pending) = self.background_graph.take_if(|b| b.is_done()) {
            if let (Some(g), Some(done)) = (self.graph.as_mut(), pending.take_if_done()) {
                tracing::info!("the {} graph is ready: the labels will judge it", done.name);
                g.add_graph(done, pending.preferred);
            }
        }
    }

    /// Stage 1: propagates the labels over the graph and ranks by it, filling the
    /// outcome's graph fields; None without a graph. When Poisson-MBO follows the
    /// propagation, the propagation's own ranking is posted first
    /// (a preliminary `TrainerEvent::Ranked`): on 60,000 images MBO takes several seconds
    /// more.
    fn propagate(
        &mut self,
        labels: &RoundLabels,
        ri: &RankingInputs,
        outcome: &mut RoundOutcome,
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(TrainerEvent),
    ) -> Result<Option<GraphRound>, LearnError> {
        let Some(g) = self.graph.as_mut() else {
            return Ok(None);
        };
        let t = Instant::now();
        let unchosen = labels.unchosen;
        let test_labels = &self.test_labels;
        let graph_fields = |outcome: &mut RoundOutcome,
                            name: String,
                            round: &GraphRound|
         -> Result<(), LearnError> {
            outcome.graph = Some(name);
            let refined = round
                .test
                .as_ref()
                .map(|t| ri.refined_test(t.shallow_clone()))
                .transpose()?;
            outcome.graph_accuracy = refined.as_ref().map(|t| score::accuracy(t, test_labels));
            outcome.calibration_error = refined
                .as_ref()
                .map(|t| score::calibration_error(t, test_labels))
                .transpose()?;
            outcome.accuracy = outcome.graph_accuracy;
            Ok(())
        };
        let round = g.propagate(
            &labels.pairs,
            unchosen,
            self.data.classes,
            ri.seed,
            &mut |g, plain| {
                // Between the propagation and Poisson-MBO's seconds.
                stop_if(cancelled)?;
                progress(TrainerEvent::Ranked {
                    ranking: g.ranking(plain, ri)?,
                    labels: labels.pairs.len(),
                    preliminary: true,
                });
                Ok(())
            },
        )?;
        graph_fields(outcome, g.describe(), &round)?;
        let ranked = Instant::now();
        outcome.ranking = g.ranking(&round, ri)?;
        outcome.times.rank += ranked.elapsed().as_secs_f64();
        outcome.times.propagate = t.elapsed().as_secs_f64();
        Ok(Some(round))
    }

    /// The network's extra training labels in a hybrid round: the graph's surest
    /// guesses, or the blend's once the referee trusts the network's side (MNIST,
    /// margin, one trial, rounds ranked by the blend at 380-420 labels: 98.9-99.0 %
    /// against 98.5-98.7 % with the graph's pseudo-labels). None without a graph.
    fn pseudo_labels(
        &self,
        labels: &RoundLabels,
        propagated: Option<&Propagated>,
    ) -> Result<Vec<(usize, u16)>, LearnError> {
        let Some(propagated) = propagated else {
            return Ok(Vec::new());
        };
        let probs = match &self.network_pool {
            Some(network) if self.referee.pick() != Pick::Graph => {
                blend(network, &propagated.round.pool)?
            }
            _ => propagated.round.pool.shallow_clone(),
        };
        pseudo_labels_on_device(
            &probs,
            &labels.is_labeled,
            self.config.graph.pseudo_fraction,
        )
    }

    fn network_spec(&self) -> NetworkSpec<'_> {
        NetworkSpec {
            device: self.device,
            inputs: &self.inputs,
            data: &self.data,
            model: self.model,
            weights: self.config.weights.as_deref(),
        }
    }

    /// A fresh network: random weights, or the configured checkpoint.
    fn new_network(&self) -> Result<Trained, LearnError> {
        Trained::new(&self.network_spec())
    }

    /// Stage 2: fits the network (a fresh one, unless warm-started) on the labels and
    /// pseudo-labels; returns the final loss.
    fn fit(
        &mut self,
        lab: &Labeled,
        pseudo: &[(usize, u16)],
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(FitProgress),
    ) -> Result<f64, LearnError> {
        let warm = self.config.warm_start || self.config.learner.always_warm();
        // Out of the learner while it trains: a fit that fails, is cancelled or panics
        // (libtorch reports some failures so) leaves no half-trained network to warm-
        // start from.
        let trained = match self.trained.take() {
            Some(trained) if warm => trained,
            _ => self.new_network()?,
        };
        let loss = trained.fit(
            &self.inputs,
            lab,
            pseudo,
            &self.config.schedule,
            cancelled,
            progress,
        )?;
        self.trained = Some(trained);
        Ok(loss)
    }

    /// Writes the trained network where the config asks.
    fn save_model(&self) -> Result<(), LearnError> {
        match (&self.config.save_model, &self.trained) {
            (Some(path), Some(trained)) => trained.save(path),
            _ => Ok(()),
        }
    }

    #[allow(
        clippy::expect_used,
        reason = "called only after a fit, which stores the network or returns its error"
    )]
    fn network(&self) -> &Trained {
        self.trained.as_ref().expect("fit stores a network")
    }

    /// Stage 3: the network's test-split probabilities; None without a test split.
    fn network_test_probs(
        &self,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<Tensor>, LearnError> {
        if self.data.test_len() == 0 {
            return Ok(None);
        }
        let net = &self.network().net;
        Ok(Some(score::test_probs(
            net.as_ref(),
            &self.inputs,
            cancelled,
        )?))
    }

    /// Stage 4: the network's predictions for the candidates, with what the strategy
    /// needs besides (MC-dropout samples, embeddings).
    fn predict(
        &self,
        candidate_rows: &Tensor,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<DevicePredictions, LearnError> {
        let st = self.config.strategy;
        let want = Want {
            mc_samples: if st.needs_mc_samples() {
                self.config.mc_samples.max(2)
            } else {
                0
            },
            embeddings: st.needs_embeddings(),
        };
        let net = &self.network().net;
        score::predict(net.as_ref(), &self.inputs, candidate_rows, want, cancelled)
    }

    /// Stage 5, in a hybrid round: the referee judges last round's predictions on the
    /// labels that came since, remembers this round's, and picks the graph or the blend
    /// to rank and predict with. Replaces the predictions' probabilities with the pick's
    /// and returns its source and test probabilities.
    fn referee_choice(
        &mut self,
        labels: &RoundLabels,
        ri: &RankingInputs,
        propagated: &Propagated,
        network_test: Option<&Tensor>,
        predictions: &mut DevicePredictions,
        outcome: &RoundOutcome,
    ) -> Result<(RankingSource, Option<Tensor>), LearnError> {
        let round = &propagated.round;
        let network_p = predictions.probs.shallow_clone();
        let graph_p = round.pool.f_index_select(0, ri.candidate_rows)?;
        let blend_p = blend(&network_p, &graph_p)?;
        self.network_pool = Some(round.pool.f_index_copy(0, ri.candidate_rows, &network_p)?);
        self.referee.observe(&labels.pairs);
        // What the referee keeps are classes, not probabilities: argmax on the device.
        let graph_all: Vec<Option<u16>> = argmax_rows(&round.pool)?.into_iter().map(Some).collect();
        let mut network_all = vec![None; self.data.pool_len()];
        for (&i, c) in ri.candidates.iter().zip(argmax_rows(&network_p)?) {
            network_all[i] = Some(c);
        }
        self.referee
            .remember(&labels.is_labeled, [graph_all, network_all]);
        let pick = self.referee.pick();
        let graph_test = round.test.as_ref();
        let (chosen, test) = match pick {
            Pick::Graph => (graph_p, graph_test.map(|t| t.shallow_clone())),
            Pick::Blend => (
                blend_p,
                network_test
                    .zip(graph_test)
                    .map(|(n, g)| blend(n, g))
                    .transpose()?,
            ),
        };
        let source = match pick {
            Pick::Graph => RankingSource::Graph,
            Pick::Blend => RankingSource::Hybrid,
        };
        let pct = |a: Option<f64>| a.map_or("-".into(), |a| format!("{:.2}%", a * 100.0));
        let [graph_only, network_only] = self.referee.split();
        tracing::debug!(
            "hybrid round, {} labels: {pick:?} ranks; test accuracy graph {}, network {}, picked {}; fresh labels only one got right: graph {}, network {} ({:.1} sd past a healthy network's share); graph and network disagree on {:.2}% of the unlabeled pool; {} conjugate-gradient steps",
            labels.pairs.len(),
            pct(outcome.graph_accuracy),
            pct(outcome.network_accuracy),
            pct(test.as_ref().map(|t| score::accuracy(t, &self.test_labels))),
            graph_only,
            network_only,
            self.referee.graph_lead(),
            self.referee.disagreement() * 100.0,
            round.iterations,
        );
        predictions.probs = chosen;
        Ok((source, test))
    }

    /// The ranking predictor's probabilities for the labeled items, when the strategy
    /// reads them: the network's, the graph's, or their blend, as `source` says.
    fn labeled_probs(
        &self,
        ri: &RankingInputs,
        propagated: Option<&Propagated>,
        source: RankingSource,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<f32>>, LearnError> {
        if !ri.strategy.needs_labeled_predictions() {
            return Ok(None);
        }
        let graph = propagated
            .map(|p| p.round.pool.f_index_select(0, ri.labeled_rows))
            .transpose()?;
        let chosen = match (source, graph) {
            (RankingSource::Graph, Some(graph)) => graph,
            (_, graph) => {
                let net = &self.network().net;
                let network = score::predict(
                    net.as_ref(),
                    &self.inputs,
                    ri.labeled_rows,
                    Want::default(),
                    cancelled,
                )?;
                let network = network.probs;
                match graph {
                    Some(graph) => blend(&network, &graph)?,
                    None => network,
                }
            }
        };
        Ok(Some(cpu_floats(&chosen)?))
    }

    /// The pool's structure for the strategies that read it, built on first use on
    /// the embedding the cold start clusters (the graph's, the backbone's features, or
    /// a PCA of the pixels); None for the other strategies.
    fn pool_structure(&mut self) -> Result<Option<Rc<PoolStructure>>, LearnError> {
        if !self.config.strategy.needs_pool_structure() {
            return Ok(None);
        }
        if self.structure.is_none() {
            let t = Instant::now();
            let embeddings = match (&self.graph, &self.inputs) {
                (Some(g), _) => g.embeddings().shallow_clone(),
                (None, Inputs::Features { pool, .. }) => pool.shallow_clone(),
                _ => {
                    let (features, dim) = self.data.cold_start_features()?;
                    pixel_embedding(&features, dim, self.device)?
                }
            };
            let structure = PoolStructure::build(
                &embeddings,
                self.config.strategy,
                self.config.query,
                self.data.classes,
                self.graph.is_some(),
                self.config.seed,
            )?;
            tracing::info!(
                "{}: the pool's structure ({} dimensions) in {:.1} s",
                self.config.strategy,
                embeddings.size()[1],
                t.elapsed().as_secs_f64()
            );
            self.structure = Some(Rc::new(structure));
        }
        Ok(self.structure.clone())
    }

    /// Stage 6: the strategy over the predictions (the core-set methods measure
    /// distance in the network's embedding space), copied to the host here, once.
    fn network_ranking(
        &self,
        ri: &RankingInputs,
        predictions: &DevicePredictions,
        source: RankingSource,
        labeled_probs: Option<Vec<f32>>,
    ) -> Result<Ranking, LearnError> {
        let min_sq = if ri.strategy.needs_embeddings() {
            let cand = predictions
                .embeddings
                .as_ref()
                .ok_or_else(|| LearnError::Other("the predictions lack their embeddings".into()))?;
            let net = &self.network().net;
            let labeled_emb =
                tch::no_grad(|| net.embed(&self.inputs.pool_rows(ri.labeled_rows), false));
            Some(min_sq_distances(cand, &labeled_emb)?)
        } else {
            None
        };
        let predictions = predictions.to_host()?;
        let scored = Scored {
            candidates: ri.candidates,
            predictions: &predictions,
            classes: ri.classes,
            embed_dim: EMBED_DIM as usize,
            min_sq_to_labeled: min_sq,
            pool: ri.pool_context(labeled_probs, self.graph.as_ref().map(|g| g.neighbours())),
        };
        let mut ranking = select::rank(ri.strategy, source, scored, ri.batch, ri.job, ri.seed);
        ri.place_audits(&mut ranking);
        Ok(ranking)
    }

    /// Trains on all of `labeled` and returns the network's test accuracy, without
    /// scoring the pool (the "every label known" baseline drawn next to the curves).
    pub fn fit_and_evaluate(
        &mut self,
        labeled: &[(usize, u16)],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<f64>, LearnError> {
        let lab = self.check_labeled(labeled)?;
        let _generator = crate::torch_rng::seeded(self.round_seed(lab.indices.len()));
        self.fit(&lab, &[], cancelled, &mut |_| {})?;
        Ok(self
            .network_test_probs(cancelled)?
            .map(|probs| score::accuracy(&probs, &self.test_labels)))
    }

    fn check_labeled(&self, labeled: &[(usize, u16)]) -> Result<Labeled, LearnError> {
        Labeled::check(labeled, self.data.pool_len(), self.data.classes)
    }
}

/// The most likely class of each row of `probs` (`[n, classes]`; ties: the lower
/// class), computed on its device.
/// Ends a round whose job was cancelled, between two of its stages.
fn stop_if(cancelled: &dyn Fn() -> bool) -> Result<(), LearnError> {
    if cancelled() {
        return Err(LearnError::Cancelled);
    }
    Ok(())
}

fn argmax_rows(probs: &Tensor) -> Result<Vec<u16>, LearnError> {
    let best = Vec::<i64>::try_from(probs.f_argmax(-1, false)?.to_device(Device::Cpu))?;
    Ok(best.into_iter().map(|c| c as u16).collect())
}

/// The hybrid prediction: see `BLEND_NETWORK_WEIGHT`.
fn blend(network: &Tensor, graph: &Tensor) -> Result<Tensor, LearnError> {
    Ok(network
        .f_mul_scalar(BLEND_NETWORK_WEIGHT)?
        .f_add(&graph.f_mul_scalar(1.0 - BLEND_NETWORK_WEIGHT)?)?)
}
