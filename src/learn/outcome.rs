//! What a round reports: its progress while it runs, and its outcome (the ranking, the
//! accuracies, the time of each stage).

use super::ranking::Ranking;
use super::train::FitProgress;

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
    /// The strategy's own work, inside the times above: its rankings, and for the
    /// structure-reading strategies the pool's clusters or neighbours (first round),
    /// the discriminator, the labeled items' predictions.
    pub rank: f64,
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
