//! glean: an active-learning image labeler for the terminal.
//!
//! Module borders follow `docs/DESIGN.md`: `dataset` and `session` know nothing of tch,
//! `learn` is the only place that touches it, `tui` draws, `simulate` runs the loop
//! headless.

pub mod cli;
pub mod dataset;
pub mod keys;
pub mod learn;
pub mod openmp;
pub mod paths;
pub mod review;
pub mod session;
pub mod simulate;
pub mod tui;
