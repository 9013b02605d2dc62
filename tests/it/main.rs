//! The root's integration tests in one binary: one build and one link of libtorch for
//! all of them, and their tests share the cores instead of each file's running alone.
//!
//! Two files stay binaries of their own: `learn_determinism.rs`, whose tests set and
//! check libtorch's process-wide state (its generator, its thread count), and
//! `tui_photos.rs`, which times glean's start and stop. Every learner here runs on one
//! thread (`support::fixtures::quick_learner`): libtorch's thread count is one per process,
//! and the tests that check a run repeats itself would see another count as a change.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

mod cli_data_args;
mod dataset_cli;
mod learn_effnet;
mod learn_graph;
mod learn_graph_choice;
mod learn_hybrid;
mod learn_mistakes;
mod learn_referee;
mod learn_strategies;
mod learn_trainer;
mod learn_zero_shot;
mod session_cli;
mod session_kill;
mod session_kill_pages;
mod simulate_cli;
mod tui_disk_full;
mod tui_e2e;
mod tui_photo_folders;
