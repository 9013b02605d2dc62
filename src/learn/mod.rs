//! Everything that touches libtorch: the models, training, evaluation and scoring, the
//! query strategies (those over plain probabilities are pure Rust) and the trainer
//! thread. The rest of the program sees only the plain types re-exported here.

pub mod data;
pub mod device;
pub mod effnet_lite0;
pub mod graph;
pub mod learner;
pub mod model;
pub mod ranking;
pub mod score;
pub mod select;
pub mod strategy;
pub mod train;
pub mod trainer;

pub use data::LearnData;
pub use device::DeviceChoice;
pub use learner::{ColdStart, Learner, LearnerConfig, RoundOutcome, RoundProgress, RoundTimes};
pub use train::TrainSchedule;
pub use trainer::{Job, Trainer, TrainerEvent, TrainerHandle};
pub use ranking::{ClassProb, RankedItem, Ranking, RankingSource};
pub use strategy::Strategy;

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
