//! Everything that touches libtorch: the models, training, evaluation and scoring, the
//! graph learner, the query strategies that read tensors, and the trainer thread. The
//! strategies over plain probabilities, rankings and the trainer's jobs and events are
//! glean-core's (re-exported here); the rest of the program sees only those.
//!
//! Once per pool, `Learner::prepare` (the work is in prepare.rs) sets up the network's
//! inputs (pixels, or backbone features: features.rs, effnet_lite.rs) and the kNN graph
//! (graph/). One round is `Learner::round` (learner.rs, a method per stage; what a
//! round reports is in outcome.rs): propagation over the graph (propagation.rs)
//! → fit of the network on labels and pseudo-labels (train.rs) → test accuracy and pool
//! predictions (score.rs, batched under `no_grad`) → a strategy over plain `Vec<f32>`
//! (strategy.rs, select.rs) → a `Ranking` (ranking.rs). The trainer thread (trainer.rs)
//! and `glean simulate` both call it; nothing else loops.

pub mod config;
pub mod data;
pub mod device;
pub mod discriminator;
pub mod effnet_lite;
pub mod features;
pub mod graph;
pub mod graph_choice;
pub mod inputs;
pub mod learner;
pub mod model;
mod network;
pub mod outcome;
pub mod pool_strategies;
mod pool_structure;
pub mod prepare;
pub mod prior_blend;
pub mod propagation;
pub mod referee;
mod round_input;
pub mod score;
pub mod select;
pub mod startup;
pub mod torch_rng;
pub mod train;
pub mod trainer;
pub mod zero_shot;

// The tch-free parts of what the learner speaks live in glean-core.
pub use glean_core::{mistakes, ranking, strategy};

pub use config::{
    ClassPrior, ClusterPick, ColdStart, EmbeddingKind, GraphConfig, LearnerConfig, LearnerKind,
    ModelKind, QueryOptions,
};
pub use data::LearnData;
pub use device::{DeviceChoice, ResolveDevice};
pub use glean_core::{BackgroundWork, Job, MistakesJob, TrainerEvent, TrainerHandle};
pub use learner::Learner;
pub use outcome::{RoundOutcome, RoundProgress, RoundTimes};
pub use ranking::{ClassProb, RankedItem, Ranking, RankingSource, TopClasses};
pub use startup::{provisional_order, PoolInput, ScannedPool};
pub use strategy::Strategy;
pub use train::TrainSchedule;
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
