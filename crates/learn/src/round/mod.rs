//! One round, stage by stage (`learner.rs`: `Learner::round`, a method per stage; what a
//! round reports is `outcome.rs`): the round's inputs (`inputs.rs`, `round_input.rs`),
//! propagation over the graph (`propagation.rs`, the graph's choice in
//! `graph_choice.rs`, the head's prior blended in `prior_blend.rs`) → the network's fit
//! on labels and pseudo-labels (`model.rs`, `network.rs`, `train.rs`) → test accuracy
//! and pool predictions (`score.rs`, batched under `no_grad`) → glean-rank's
//! strategies and ranking.

pub mod graph_choice;
pub mod inputs;
pub mod learner;
pub mod model;
pub(crate) mod network;
pub mod outcome;
pub mod prior_blend;
pub mod propagation;
pub(crate) mod round_input;
pub mod score;
pub mod train;
