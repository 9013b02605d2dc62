//! Helpers shared by the integration tests: a real terminal (tmux) and small fixtures.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

pub mod fixtures;
pub mod kill;
pub mod tmux;

#[allow(unused_imports)]
pub use glean_test_support::needs;

#[allow(unused_imports)]
pub use tmux::*;
