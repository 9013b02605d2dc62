//! What a round reports at its end: the ranking, the accuracies, the time of each
//! stage. While it runs, its stages post `TrainerEvent`s themselves.

use crate::ranking::Ranking;
pub use glean_core::RoundTimes;

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
