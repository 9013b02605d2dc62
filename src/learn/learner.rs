//! One active-learning round, the single loop both the trainer thread and `glean
//! simulate` run: fit on the labeled set, measure test accuracy, score the unlabeled
//! pool, rank it with the strategy. The pool stays one u8 tensor on the device and is
//! normalised per batch.

use std::time::Instant;

use tch::{nn, Device, Kind, Tensor};

use super::data::LearnData;
use super::device::DeviceChoice;
use super::model::{Cnn, EMBED_DIM};
use super::ranking::Ranking;
use super::score::{self, Predictions, Want};
use super::select::{self, Scored};
use super::strategy::{self, Strategy};
use super::train::{self, FitProgress, Normalise, TrainSchedule};
use super::LearnError;

/// How the first batch is chosen, before there is any model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ColdStart {
    /// The items nearest the centres of k-means on (downsampled) pixels.
    #[default]
    KMeans,
    Random,
}

impl std::str::FromStr for ColdStart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kmeans" | "k-means" => Ok(ColdStart::KMeans),
            "random" => Ok(ColdStart::Random),
            other => Err(format!(
                "unknown cold start `{other}` (expected kmeans or random)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LearnerConfig {
    pub device: DeviceChoice,
    pub strategy: Strategy,
    /// Items labeled per round; batch-aware strategies (core-set) pick this many jointly.
    pub batch: usize,
    pub cold_start: ColdStart,
    /// Size of the first (cold-start) batch.
    pub init: usize,
    /// MC-dropout passes for BALD.
    pub mc_samples: usize,
    /// Score only a seeded random subset of this many unlabeled items per round.
    pub pool_subset: Option<usize>,
    /// Keep the weights between rounds instead of training from scratch.
    pub warm_start: bool,
    pub seed: u64,
    /// libtorch intra-op threads; None = all cores.
    pub threads: Option<usize>,
    pub schedule: TrainSchedule,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            strategy: Strategy::Margin,
            batch: 10,
            cold_start: ColdStart::KMeans,
            init: 20,
            mc_samples: 20,
            pool_subset: None,
            warm_start: false,
            seed: 1,
            threads: None,
            schedule: TrainSchedule::default(),
        }
    }
}

/// Where a round is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RoundProgress {
    Fit(FitProgress),
    /// Test accuracy is known; scoring the pool comes next.
    Evaluated {
        accuracy: f64,
    },
}

/// Wall-clock seconds of each phase of a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RoundTimes {
    pub train: f64,
    pub evaluate: f64,
    pub score: f64,
    pub total: f64,
}

#[derive(Debug, Clone)]
pub struct RoundOutcome {
    pub version: u64,
    pub labeled: usize,
    /// Test accuracy; None before any model (cold start) or without a test split.
    pub accuracy: Option<f64>,
    pub final_loss: Option<f64>,
    pub ranking: Ranking,
    pub times: RoundTimes,
}

struct Trained {
    vs: nn::VarStore,
    net: Cnn,
}

/// Owns the pool and test tensors and the model between rounds. Every tch value lives
/// here; construct and use it on one thread.
pub struct Learner {
    config: LearnerConfig,
    data: LearnData,
    device: Device,
    pool: Tensor,
    test: Tensor,
    test_labels: Tensor,
    norm: Normalise,
    model: Option<Trained>,
}

impl Learner {
    pub fn new(data: LearnData, config: LearnerConfig) -> Result<Self, LearnError> {
        let device = config.device.resolve()?;
        if let Some(n) = config.threads {
            tch::set_num_threads(n.max(1) as i32);
        }
        if config.batch == 0 {
            return Err(LearnError::Data("the batch size must be at least 1".into()));
        }
        let shape = |n: usize| {
            [
                n as i64,
                data.channels as i64,
                data.size as i64,
                data.size as i64,
            ]
        };
        let pool = Tensor::f_from_slice(&data.pool)?
            .f_view(shape(data.pool_len()))?
            .f_to_device(device)?;
        let test = Tensor::f_from_slice(&data.test)?
            .f_view(shape(data.test_len()))?
            .f_to_device(device)?;
        let labels: Vec<i64> = data.test_labels.iter().map(|&l| l as i64).collect();
        let test_labels = Tensor::f_from_slice(&labels)?.f_to_device(device)?;
        let norm = Normalise::of(&pool);
        Ok(Self {
            config,
            data,
            device,
            pool,
            test,
            test_labels,
            norm,
            model: None,
        })
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

    /// Seed of everything random in the round that follows `labeled` labels: the same
    /// seed and labeled set give the same round.
    fn round_seed(&self, labeled: usize) -> u64 {
        self.config
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(labeled as u64)
    }

    /// The cold-start picks for an empty labeled set.
    pub fn cold_start_picks(&self) -> Vec<usize> {
        let k = self.config.init.min(self.data.pool_len());
        match self.config.cold_start {
            ColdStart::KMeans => {
                let (features, dim) = self.data.cold_start_features();
                strategy::kmeans_cold_start(&features, dim, k, 10_000, self.config.seed)
            }
            ColdStart::Random => strategy::random_subset(self.data.pool_len(), k, self.config.seed),
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
        let (indices, classes) = self.check_labeled(labeled)?;
        let mut is_labeled = vec![false; self.data.pool_len()];
        for &i in &indices {
            is_labeled[i] = true;
        }
        let unlabeled: Vec<usize> = (0..self.data.pool_len())
            .filter(|&i| !is_labeled[i])
            .collect();
        let seed = self.round_seed(indices.len());
        if indices.is_empty() {
            let picks = self.cold_start_picks();
            let ranking =
                select::cold_start_ranking(self.config.strategy, &picks, &unlabeled, version, seed);
            let total = start.elapsed().as_secs_f64();
            let times = RoundTimes {
                score: total,
                total,
                ..Default::default()
            };
            return Ok(RoundOutcome {
                version,
                labeled: 0,
                accuracy: None,
                final_loss: None,
                ranking,
                times,
            });
        }

        tch::manual_seed(seed as i64 & i64::MAX);
        let (final_loss, train_s) = self.fit(&indices, &classes, cancelled, &mut |p| {
            progress(RoundProgress::Fit(p))
        })?;
        let net = &self.model.as_ref().expect("fit stores a model").net;

        let t = Instant::now();
        let accuracy = if self.data.test_len() > 0 {
            let acc = score::accuracy(net, &self.test, &self.test_labels, self.norm, cancelled)?;
            progress(RoundProgress::Evaluated { accuracy: acc });
            Some(acc)
        } else {
            None
        };
        let evaluate_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let candidates = match self.config.pool_subset {
            Some(m) if m < unlabeled.len() => strategy::random_subset(unlabeled.len(), m, seed)
                .into_iter()
                .map(|p| unlabeled[p])
                .collect(),
            _ => unlabeled,
        };
        let st = self.config.strategy;
        let wants_embeddings = matches!(st, Strategy::CoreSet | Strategy::MarginCoreSet);
        let want = Want {
            mc_samples: if st.needs_mc_samples() {
                self.config.mc_samples.max(2)
            } else {
                0
            },
            embeddings: wants_embeddings,
        };
        let cand_tensor = index_tensor(&candidates, self.device)?;
        let predictions =
            score::predict(net, &self.pool, &cand_tensor, self.norm, want, cancelled)?;
        let min_sq = if wants_embeddings {
            Some(self.min_sq_to_labeled(&predictions, &indices)?)
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
        let ranking = select::rank(st, scored, self.config.batch, version, seed);
        let score_s = t.elapsed().as_secs_f64();
        let times = RoundTimes {
            train: train_s,
            evaluate: evaluate_s,
            score: score_s,
            total: start.elapsed().as_secs_f64(),
        };
        Ok(RoundOutcome {
            version,
            labeled: indices.len(),
            accuracy,
            final_loss: Some(final_loss),
            ranking,
            times,
        })
    }

    /// Trains on all of `labeled` and returns the test accuracy, without scoring the pool
    /// (the "every label known" baseline drawn next to the curves).
    pub fn fit_and_evaluate(
        &mut self,
        labeled: &[(usize, u16)],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<f64>, LearnError> {
        let (indices, classes) = self.check_labeled(labeled)?;
        tch::manual_seed(self.round_seed(indices.len()) as i64 & i64::MAX);
        self.fit(&indices, &classes, cancelled, &mut |_| {})?;
        let net = &self.model.as_ref().expect("fit stores a model").net;
        if self.data.test_len() == 0 {
            return Ok(None);
        }
        Ok(Some(score::accuracy(
            net,
            &self.test,
            &self.test_labels,
            self.norm,
            cancelled,
        )?))
    }

    fn check_labeled(
        &self,
        labeled: &[(usize, u16)],
    ) -> Result<(Vec<usize>, Vec<i64>), LearnError> {
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
        Ok((indices, classes))
    }

    fn fit(
        &mut self,
        indices: &[usize],
        classes: &[i64],
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(FitProgress),
    ) -> Result<(f64, f64), LearnError> {
        let t = Instant::now();
        if !self.config.warm_start || self.model.is_none() {
            let vs = nn::VarStore::new(self.device);
            let net = Cnn::new(
                &vs.root(),
                self.data.channels,
                self.data.size,
                self.data.classes,
            );
            self.model = Some(Trained { vs, net });
        }
        let model = self.model.as_ref().expect("just built");
        let images = self
            .pool
            .f_index_select(0, &index_tensor(indices, self.device)?)?;
        let labels = Tensor::f_from_slice(classes)?.f_to_device(self.device)?;
        let result = train::fit(
            &model.vs,
            &model.net,
            &images,
            &labels,
            self.norm,
            &self.config.schedule,
            cancelled,
            progress,
        );
        if result.is_err() {
            // A half-trained or diverged model must not be warm-started from.
            self.model = None;
        }
        Ok((result?, t.elapsed().as_secs_f64()))
    }

    /// Each candidate's squared embedding distance to its nearest labeled item, by one
    /// blocked matrix product on the device.
    fn min_sq_to_labeled(
        &self,
        predictions: &Predictions,
        labeled: &[usize],
    ) -> Result<Vec<f32>, LearnError> {
        let net = &self.model.as_ref().expect("a trained model").net;
        let emb = predictions
            .embeddings
            .as_ref()
            .expect("embeddings were asked for");
        let cand = Tensor::f_from_slice(emb)?
            .f_view([-1, EMBED_DIM])?
            .f_to_device(self.device)?;
        let lab = tch::no_grad(|| -> Result<Tensor, LearnError> {
            let pixels = self
                .pool
                .f_index_select(0, &index_tensor(labeled, self.device)?)?;
            Ok(net.embed(&self.norm.apply(&pixels), false))
        })?;
        let lab_sq = lab.square().sum_dim_intlist(1, false, Kind::Float);
        let mut out = Vec::with_capacity(cand.size()[0] as usize);
        let n = cand.size()[0];
        let mut start = 0;
        while start < n {
            let len = 4096.min(n - start);
            let c = cand.narrow(0, start, len);
            let c_sq = c.square().sum_dim_intlist(1, true, Kind::Float);
            let d = (c_sq - c.matmul(&lab.tr()) * 2.0 + lab_sq.unsqueeze(0)).clamp_min(0.0);
            out.extend(Vec::<f32>::try_from(d.amin(1, false))?);
            start += len;
        }
        Ok(out)
    }
}

fn index_tensor(indices: &[usize], device: Device) -> Result<Tensor, LearnError> {
    let v: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Ok(Tensor::f_from_slice(&v)?.f_to_device(device)?)
}
