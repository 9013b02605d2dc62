//! Plain data the app state is built from and talks in: the seams between the TUI and the
//! dataset, session and trainer modules. Nothing here does I/O or knows about tch.

use std::time::Duration;

pub use crate::session::Guesses;

/// A class as the screen shows it: its name and the key that labels it (None: reachable
/// only through the `/` picker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassView {
    pub name: String,
    pub key: Option<char>,
}

/// A pool item the app can show: its index in the pool, the name to print (file name or
/// IDX id) and the label the auto-oracle knows, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemView {
    pub name: String,
    pub oracle: Option<u16>,
}

/// One class with the model's probability for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassProb {
    pub class: u16,
    pub prob: f32,
}

/// One ranked, still unlabeled pool item: why the strategy picked it and what the model
/// thinks it is (top classes, best first).
#[derive(Debug, Clone, PartialEq)]
pub struct RankedItem {
    pub item: usize,
    pub score: f32,
    pub top: Vec<ClassProb>,
}

/// A new ranking of the unlabeled pool, most useful first.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// Labels the ranking learned from (0 for a cold start).
    pub labels: usize,
    /// Strategy name, e.g. `margin`, shown as the reason an image was picked.
    pub strategy: String,
    /// Which learner ranked and predicts (e.g. `cnn`, `propagation`).
    pub learner: String,
    pub items: Vec<RankedItem>,
}

/// A labeled item as the likely-mistakes queue judges it: the class it has, the class
/// the graph's propagation of the other folds' labels puts first, and that
/// propagation's probability of the class it has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suspect {
    pub item: usize,
    pub given: u16,
    pub predicted: u16,
    pub prob_given: f32,
}

/// What the trainer thread reports, as plain data. The wiring turns the learn module's
/// own messages into these.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainerEvent {
    /// The trainer is computing what it needs once per pool (decoding, backbone
    /// features, the graph): `done` of `total` steps, at `per_second` when measured.
    Preparing {
        what: String,
        done: usize,
        total: usize,
        per_second: Option<f64>,
    },
    /// The backbone's own classifier's suggestions for these pool items (top classes
    /// of the session, best first), before any label.
    Suggested(Vec<(usize, Vec<ClassProb>)>),
    /// Pool items that could not be decoded, with why: they leave the queue.
    Unusable(Vec<(usize, String)>),
    /// The trainer is ready; which device it runs on.
    Ready { device: String },
    /// Work beside the rounds (e.g. the autoencoder's training) has moved on; None once
    /// it has joined the rounds.
    Background(Option<BackgroundStatus>),
    /// A round started with this many labels.
    RoundStarted { labels: usize },
    /// Training progress: optimiser step `step` of `steps`.
    Progress {
        step: usize,
        steps: usize,
        loss: f32,
    },
    /// Training done, scoring the pool.
    Scoring,
    /// Test accuracy of the new model, trained on `labels` labels.
    Evaluated { labels: usize, accuracy: f64 },
    /// The pool was re-ranked.
    Ranked(Ranking),
    /// The round finished (after its ranking): the job it ran (jobs before it are done
    /// or were replaced by it), the model version it produced, the labels it used, its
    /// test accuracy, whether it trained a model (not a cold start), and how long it took.
    RoundDone {
        job: u64,
        version: u64,
        labels: usize,
        accuracy: Option<f64>,
        trained: bool,
        elapsed: Duration,
    },
    /// Job `job` was cancelled (its labels changed); a newer one follows.
    Cancelled { job: u64 },
    /// The likely mistakes request `request` asked for, judged on its `labels` labels:
    /// every labeled item, least believed first.
    Suspects {
        request: u64,
        labels: usize,
        suspects: Vec<Suspect>,
    },
    /// Request `request` for the likely mistakes failed (e.g. no graph): why.
    MistakesFailed { request: u64, message: String },
    /// The round failed; the app keeps serving the last ranking.
    Error(String),
}

/// Work the trainer does beside its rounds, as the status line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackgroundStatus {
    pub what: String,
    /// Steps (epochs) done of `total`; 0 of 0 while nothing is counted yet.
    pub done: usize,
    pub total: usize,
    /// Done; it joins at the next round.
    pub finished: bool,
}

/// What the trainer is doing now, as the status line shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainerStatus {
    /// Setting up and computing the first ranking.
    Starting,
    /// Decoding, computing backbone features or the graph, before the first ranking.
    Preparing {
        what: String,
        done: usize,
        total: usize,
        per_second: Option<f64>,
    },
    Idle,
    /// `steps` is 0 while the round is queued or setting up.
    Training {
        step: usize,
        steps: usize,
        loss: Option<f32>,
    },
    Scoring,
}

/// Something the event loop must do for the app; the app itself does no I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Journal this label (before the next image is shown); `oracle` when the
    /// auto-oracle gave it; what glean had guessed for the item.
    Label {
        item: usize,
        class: u16,
        oracle: bool,
        guessed: Guesses,
    },
    /// Journal the undo of this label.
    Undo {
        item: usize,
        class: u16,
    },
    /// Journal a skip.
    Skip {
        item: usize,
    },
    /// Journal a confirmed review page in one record: `confirmed` take `class`, each
    /// of `corrected` the class given with it (from the auto-oracle when `oracle`).
    ConfirmPage {
        class: u16,
        confirmed: Vec<usize>,
        corrected: Vec<(usize, u16)>,
        oracle: bool,
    },
    /// Journal the undo of a page's labels (those of `items`) in one record.
    UndoPage {
        items: Vec<usize>,
    },
    /// Ask the trainer for the likely mistakes among the labels so far; `request`
    /// numbers the requests (the answer carries it).
    FindMistakes {
        request: u64,
    },
    /// Journal new classes for labeled items in one record: the corrections of a
    /// likely-mistakes page (the auto-oracle's when `oracle`).
    Relabel {
        items: Vec<(usize, u16)>,
        oracle: bool,
    },
    /// Journal the undo of a likely-mistakes page in one record: each item gets back
    /// the label it had, of the class given here.
    UndoRelabel {
        items: Vec<(usize, u16)>,
    },
    /// A batch is complete: start a training round with all labels so far.
    Retrain,
    Quit,
}

/// A recorded action, kept so `u` can take labels back in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelRecord {
    pub item: usize,
    pub class: u16,
    /// What glean had guessed for the item before the label.
    pub guessed: Guesses,
}
