//! The labeling screen: app state (pure), its views, block-art and graphics-protocol
//! image rendering, and the event loop that ties keys, the trainer and the session
//! together. Nothing here depends on tch: the trainer is reached through its handle and
//! its events (`glean_core::trainer`); the binary wires the real one in.

pub mod app;
pub mod blockart;
pub mod chrome;
pub mod derived;
pub mod event_loop;
pub mod executor;
pub mod guess;
pub mod images;
pub mod keymap;
pub mod mistakes_view;
pub mod overlays;
pub mod picker;
pub mod render_mode;
pub mod review_view;
pub mod terminal;
pub mod types;
pub mod view;

pub use app::{
    App, AppConfig, Mark, MistakesPage, MistakesQueue, Mode, Overlay, Restored, ReviewPage,
};
pub use glean_core::{
    BackgroundWork, ClassProb, RankedItem, Ranking, RankingSource, Suspect, TopClasses,
    TrainerEvent,
};
pub use keymap::{Action, Command, Direction, Keymap};
pub use types::{ClassView, Corrected, Effect, Guesses, ItemView, LabelRecord, TrainerStatus};
