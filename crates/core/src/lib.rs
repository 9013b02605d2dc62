//! glean's core, without tch: what the learner, the session, the labeler's screens and
//! the simulation all speak. The query strategies over plain probabilities, rankings,
//! review pages, likely mistakes' ranking, the trainer's jobs and events and its handle,
//! the configuration enums a session stores, the class keys, glean's folders and the one
//! way its files are replaced.

pub mod config;
pub mod files;
pub mod keys;
pub mod mistakes;
pub mod paths;
pub mod ranking;
pub mod review;
pub mod strategy;
pub mod trainer;

pub use config::{
    ClassPrior, ClusterPick, ColdStart, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind,
    QueryOptions,
};
pub use mistakes::Suspect;
pub use ranking::{ClassProb, RankedItem, Ranking, RankingSource, TopClasses};
pub use strategy::Strategy;
pub use trainer::{
    trainer_channel, BackgroundWork, Job, Message, MistakesJob, RoundTimes, TrainerEvent,
    TrainerHandle, TrainerInbox, Waiting,
};
