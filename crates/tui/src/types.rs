//! Plain data the app state is built from and talks in: what the screen shows of the
//! dataset, what the trainer is doing, and the effects the executor carries out. The
//! trainer's own events and rankings are `glean_core`'s, used as they come.

pub use glean_session::Guesses;

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
        /// It was an audit pick (`RankedItem::audit`).
        audit: bool,
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
    /// Journal a confirmed review page in one record: each of `confirmed` takes the
    /// class it was shown as, each of `corrected` the class given with it (from the
    /// auto-oracle when `oracle`).
    ConfirmPage {
        confirmed: Vec<(usize, u16)>,
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
    /// The review page that gave it (the session's number for the page): a resumed
    /// session takes such labels back a page at a time, as they were given.
    pub page: Option<u64>,
    /// The likely-mistakes page that last changed it, in a resumed session (the live
    /// ones are undo steps of their own).
    pub corrected: Option<Corrected>,
    /// Asked as an audit pick (`RankedItem::audit`): the trainer's job says so.
    pub audit: bool,
}

/// A likely-mistakes page's change of a label, as a resumed session reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrected {
    /// The session's number for the page.
    pub page: u64,
    /// How many labels stood when the page was confirmed.
    pub after: usize,
    /// The class before the page.
    pub was: u16,
}
