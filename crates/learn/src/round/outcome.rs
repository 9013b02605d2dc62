//! What a round reports: its progress while it runs, and its outcome (the ranking, the
//! accuracies, the time of each stage).

use crate::ranking::Ranking;
use crate::round::train::FitProgress;
pub use glean_core::RoundTimes;

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

#[derive(Debug, Clone, PartialEq)]
pub struct RoundOutcome {
    pub job: u64,
    pub labeled: usize,
    /// Test accuracy of what ranked (`ranking.source`); None before any labels or
    /// without a test split.
    pub accuracy: Option<f64>,
    /// Expected calibration error of the same predictions on the test split
    /// (`score::calibration_error`).
    pub calibration_error: Option<f64>,
    /// Test accuracy of the network alone and of the graph alone, where they ran.
    pub network_accuracy: Option<f64>,
    pub graph_accuracy: Option<f64>,
    pub final_loss: Option<f64>,
    /// What the graph propagated on this round (`graph_choice.rs`), where one ran.
    pub graph: Option<String>,
    pub ranking: Ranking,
    pub times: RoundTimes,
}
