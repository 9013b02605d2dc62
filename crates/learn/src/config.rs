//! How a learner is set up: which model, which learner (network, graph, or both), the
//! query strategy and the training schedule. Plain data, serialisable with a session.

use std::path::PathBuf;

use super::strategy::Strategy;
use crate::round::train::TrainSchedule;
pub use glean_core::config::{
    ClassPrior, ClusterPick, ColdStart, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind,
    QueryOptions,
};

/// The graph learner's knobs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GraphConfig {
    /// Neighbours per item in the kNN graph.
    pub k: usize,
    /// Share of the unlabeled pool, per predicted class and most confident first, the
    /// hybrid learner trains the network on as pseudo-labels.
    pub pseudo_fraction: f64,
    /// What the graph is built on.
    pub embedding: EmbeddingKind,
    /// Whether the propagated scores go through Poisson-MBO (`graph/mbo.rs`).
    pub class_prior: ClassPrior,
    /// Train the autoencoder of `EmbeddingKind::Auto` beside the rounds, which run on
    /// the first graph until it is ready (the labeler); else before the first round, so
    /// that a run is the same whatever the timing (simulations, tests).
    pub background: bool,
    /// `EmbeddingKind::Auto` trains the autoencoder only for at least this many images
    /// (pool and test): 50 passes over a few hundred are too few steps to learn from
    /// (300 CIFAR-10 photos: chance).
    pub vae_min_images: usize,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            k: 10,
            pseudo_fraction: 0.5,
            embedding: EmbeddingKind::Auto,
            class_prior: ClassPrior::Auto,
            background: false,
            vae_min_images: 2_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LearnerConfig {
    pub device: DeviceChoice,
    pub strategy: Strategy,
    pub learner: LearnerKind,
    pub model: ModelKind,
    /// Items labeled per round; batch-aware strategies (core-set) pick this many jointly.
    pub batch: usize,
    pub cold_start: ColdStart,
    /// Size of the first (cold-start) batch.
    pub init: usize,
    /// MC-dropout passes for BALD.
    pub mc_samples: usize,
    /// Every this many places of a learned ranking, an item drawn at random instead of
    /// the strategy's (`glean_rank::audit`; not under random, which is all audit): their
    /// labels judge the predictors and fit the calibration without the strategy's bias.
    /// 0: none.
    #[serde(default)]
    pub audit_every: usize,
    /// Score only a seeded random subset of this many unlabeled items per round.
    pub pool_subset: Option<usize>,
    /// Keep the network's weights between rounds instead of training from scratch.
    /// The hybrid learner always does: its pseudo-labels change little from round to
    /// round, and its network needs the training it accumulates to pass the graph
    /// (MNIST, margin, 400 labels: 98.7 % warm against 96.3-98.3 % from scratch).
    pub warm_start: bool,
    pub seed: u64,
    /// libtorch intra-op threads; None = all cores, except one for a head on backbone
    /// features on the CPU.
    pub threads: Option<usize>,
    pub schedule: TrainSchedule,
    pub graph: GraphConfig,
    /// Cluster-errors' clusters and order.
    pub query: QueryOptions,
    /// A checkpoint (tch VarStore file) every new network starts from instead of random
    /// weights: a user's own model, or one a session saved.
    pub weights: Option<PathBuf>,
    /// The folder with the backbones' weights (`efficientnet-lite0.safetensors`, …);
    /// None: the cache's `models/`, where `scripts/setup-effnet.sh` puts them.
    pub models_dir: Option<PathBuf>,
    /// Folder for backbone features, embeddings and graphs, keyed by the pixels'
    /// `cache_key`; None: nothing is cached.
    pub cache_dir: Option<PathBuf>,
    /// Write the trained network here after every round (safetensors).
    pub save_model: Option<PathBuf>,
    /// Model versions made before this learner (a resumed session's rounds): the
    /// trainer's first new model is the next one. Not the learner's setting, so not
    /// stored with it.
    #[serde(skip)]
    pub models_made: u64,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            strategy: Strategy::Margin,
            learner: LearnerKind::Hybrid,
            model: ModelKind::Auto,
            batch: 10,
            cold_start: ColdStart::KMeans,
            init: 20,
            mc_samples: 20,
            audit_every: 0,
            pool_subset: None,
            warm_start: false,
            seed: 1,
            threads: None,
            schedule: TrainSchedule::default(),
            graph: GraphConfig::default(),
            query: QueryOptions::default(),
            weights: None,
            models_dir: None,
            cache_dir: None,
            save_model: None,
            models_made: 0,
        }
    }
}
