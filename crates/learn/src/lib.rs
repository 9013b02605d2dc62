//! Everything that touches libtorch: the models, training, evaluation and scoring, the
//! graph learner, the query strategies that read tensors, and the trainer thread. The
//! strategies over plain probabilities, rankings and the trainer's jobs and events are
//! glean-core's (re-exported here); the rest of the program sees only those.
//!
//! Folders by what they do:
//! - `trainer/`: the trainer thread, and the pool's preparation before its first job
//!   (`startup.rs`, `prepare.rs`: the network's inputs, the kNN graph, the cold start);
//! - `round/`: one round's stages (`Learner::round` in `learner.rs`): propagation over
//!   the graph → the network's fit → test accuracy and pool predictions → a strategy
//!   over plain `Vec<f32>` (glean-rank's `select`, glean-core's `strategy`) → a
//!   `Ranking`;
//! - `strategies/`: what the pool-reading strategies need from tensors;
//! - `graph/`: embeddings, the kNN graph, Poisson learning, Poisson-MBO, k-means;
//! - `backbone/`: EfficientNet-Lite, its cached features, the zero-shot prior.
//!
//! The trainer thread and `glean simulate` both call `Learner::round`; nothing else
//! loops. What needs no libtorch (the step from predictions to a ranking, the referee,
//! the sparse graph and its CPU solver) is glean-rank's, tested without libtorch.

pub mod backbone;
pub mod config;
pub mod data;
pub mod device;
pub mod graph;
pub mod round;
pub mod strategies;
pub mod torch_rng;
pub mod trainer;

// The tch-free parts of what the learner speaks live in glean-core.
pub use glean_core::{mistakes, ranking, strategy};

pub use config::{
    ClassPrior, ClusterPick, ColdStart, EmbeddingKind, GraphConfig, LearnerConfig, LearnerKind,
    ModelKind, QueryOptions,
};
pub use data::LearnData;
pub use device::{DeviceChoice, ResolveDevice};
pub use glean_core::{BackgroundWork, Job, MistakesJob, TrainerEvent, TrainerHandle};
pub use ranking::{ClassProb, RankedItem, Ranking, RankingSource, TopClasses};
pub use round::learner::Learner;
pub use round::outcome::{RoundOutcome, RoundTimes};
pub use round::train::TrainSchedule;
pub use strategy::Strategy;
pub use trainer::startup::{provisional_order, PoolInput, ScannedPool};
pub use trainer::Trainer;

/// Everything that can go wrong while learning; the trainer turns these into error
/// events rather than crashing.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("device: {0}")]
    Device(String),
    #[error("data: {0}")]
    Data(String),
    #[error("training diverged: the loss became {0} (try a lower learning rate or another seed)")]
    NonFiniteLoss(f64),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Other(String),
}
