//! glean: an active-learning image labeler for the terminal.
//!
//! The binary is the composition root: the workspace's crates are the borders of
//! `docs/DESIGN.md` (`glean-core`, `glean-dataset` and `glean-session` know nothing of
//! tch, `glean-learn` is the only crate that touches it, `glean-tui` draws); this crate
//! wires them together (`label`), parses the command line (`cli`) and runs the loop
//! headless (`simulate`). The crates are re-exported under their old module names.

pub use glean_core::{keys, paths, review};
pub use glean_dataset as dataset;
pub use glean_learn as learn;
pub use glean_session as session;
pub use glean_tui as tui;

pub mod cli;
pub mod label;
pub mod openmp;
pub mod simulate;
