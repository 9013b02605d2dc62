//! What a session holds: its configuration, the labels, skips and rounds, and the rules
//! that fold journal operations into that state. Pure data: no files here.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::error::SessionError;
use glean_core::{
    ClassPrior, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind, QueryOptions, Strategy,
};
use glean_dataset::{Class, Holdout, Layout, ScanOptions};

/// The data a session labels, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSpec {
    pub root: PathBuf,
    pub layout: Layout,
    /// An explicit test folder (`--test`).
    pub test: Option<PathBuf>,
    /// `--label-pattern`: regex with one capture group naming the class.
    pub label_pattern: Option<String>,
    /// `--classes`, in key order, when given.
    pub classes_arg: Option<Vec<String>>,
    /// `--holdout`, as `Holdout` displays it (`2000`, `0.2`). Left out of the snapshot
    /// when absent, so snapshots without one read and write as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<String>,
}

impl DataSpec {
    /// The options that scan this data as it was scanned when session `session` was
    /// made, test split included. A recorded hold-out that no longer parses is an
    /// error: dropping it would quietly turn the test split into pool.
    pub fn scan_options(&self, session: &str) -> Result<ScanOptions, SessionError> {
        let holdout = self
            .holdout
            .as_deref()
            .map(|text| {
                text.parse::<Holdout>().map_err(|e| {
                    SessionError::Invalid(format!(
                        "session {session}: its recorded --holdout {e}; correct `holdout` \
                         in the `data` line of {session}.ron, or start a new session"
                    ))
                })
            })
            .transpose()?;
        Ok(ScanOptions {
            test: self.test.clone(),
            label_pattern: self.label_pattern.clone(),
            classes: self.classes_arg.clone(),
            holdout,
            validation: None,
        })
    }
}

/// Everything chosen when the session was made. The snapshot stores the settings by
/// their command-line names (`snapshot.rs`) and reads them back into these types.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    pub data: DataSpec,
    pub classes: Vec<Class>,
    /// Number of items in the pool (the denominator of "labeled / pool").
    pub pool_size: usize,
    pub strategy: Strategy,
    pub batch: usize,
    pub model: ModelKind,
    pub device: DeviceChoice,
    pub seed: u64,
    pub learner: LearnerKind,
    /// What the graph is built on; `auto` in older sessions.
    pub embedding: EmbeddingKind,
    /// Poisson-MBO after the graph's propagation; `auto` in older sessions.
    pub class_prior: ClassPrior,
    /// Cluster-errors' clusters and order; the defaults in older sessions.
    pub query: QueryOptions,
    /// Every this many images asked, one drawn at random (`--audit-every`); 0, none,
    /// in older sessions.
    pub audit_every: usize,
}

/// Who gave a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    Human,
    Oracle,
    /// Given by confirming a review page: the predictor's class, which the person
    /// looked at and did not mark.
    Confirmed,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Human => "human",
            Source::Oracle => "oracle",
            Source::Confirmed => "confirmed",
        }
    }
}

/// A review page confirmed with one key: its unmarked items take the class they were
/// shown as, and the items the person marked with another class take that one. One journal record,
/// so a page is on disk whole or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRecord {
    /// The class the page showed (index into `SessionConfig::classes`).
    pub class: u16,
    /// The items confirmed as `class`, in page order.
    pub confirmed: Vec<String>,
    /// On a page that small classes share: the items confirmed as the other classes
    /// they were shown as, in page order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmed_as: Vec<(String, u16)>,
    /// Items of the page given another class, with that class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrected: Vec<(String, u16)>,
    /// Who gave the corrections (the person, or the auto-oracle).
    pub source: Source,
    /// Number of rounds finished when the page was confirmed.
    pub round: u32,
    pub time: DateTime<Utc>,
}

impl PageRecord {
    /// The labels the page gives, confirmed ones first.
    pub fn labels(&self) -> impl Iterator<Item = LabelRecord> + '_ {
        let label = |item: &String, class, source| LabelRecord {
            corrected: None,
            item: item.clone(),
            class,
            source,
            round: self.round,
            time: self.time,
            guessed: Guesses::default(),
            page: None,
            audit: false,
        };
        let confirmed = self
            .confirmed
            .iter()
            .map(move |item| (item, self.class))
            .chain(self.confirmed_as.iter().map(|(item, class)| (item, *class)))
            .map(move |(item, class)| label(item, class, Source::Confirmed));
        let corrected = self
            .corrected
            .iter()
            .map(move |(item, class)| label(item, *class, self.source));
        confirmed.chain(corrected)
    }
}

/// One label, in the order it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRecord {
    /// The dataset item id (path relative to the data root, or `idx:<n>`).
    pub item: String,
    /// Index into `SessionConfig::classes`.
    pub class: u16,
    pub source: Source,
    /// Number of rounds finished when the label was given (the model version shown).
    pub round: u32,
    pub time: DateTime<Utc>,
    /// What glean guessed for the item before this label (absent in older sessions).
    #[serde(default, skip_serializing_if = "Guesses::is_empty")]
    pub guessed: Guesses,
    /// The review page that gave it: the journal sequence number of the page's record
    /// (so that a resumed labeler still takes a page back whole). None for a label
    /// given alone, and in sessions from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Where a likely-mistakes page changed this label: that page, and the label as it
    /// was before (so that a resumed labeler still takes the page back whole). None
    /// for a label as given, and in sessions from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected: Option<Correction>,
    /// Asked as an audit pick (drawn at random, not by the strategy): the learner
    /// judges its predictors by such labels. False in sessions from before them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audit: bool,
}

/// A likely-mistakes page's change of a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// The journal sequence number of the page's record.
    pub page: u64,
    /// How many labels stood when the page was confirmed: the page comes after them in
    /// the order undo takes things back.
    pub after: usize,
    /// The label before the page changed it.
    pub was: Box<LabelRecord>,
}

/// The classes glean's predictors put first for an item before the person labeled it:
/// the trained model's (the ranking's), and the backbone's own ImageNet classifier's.
/// Kept with each label, so that each predictor can be judged on labels it had not
/// seen, on resume too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guesses {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_shot: Option<u16>,
}

impl Guesses {
    pub fn is_empty(&self) -> bool {
        self.model.is_none() && self.zero_shot.is_none()
    }
}

/// One finished training round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// The model version this round produced.
    pub model_version: u64,
    /// Number of labels it trained on.
    pub labels: usize,
    /// Accuracy on the test split, in 0..=1, when there is one.
    pub test_accuracy: Option<f64>,
    /// Wall time of the round.
    pub seconds: f64,
    /// Which learner ranked the pool after this round.
    pub learner: String,
    pub time: DateTime<Utc>,
    /// Fingerprint of the labels it trained on ([`label_digest`]), so that a resume
    /// can tell whether the labels changed since; None in rounds recorded before it
    /// was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_digest: Option<u64>,
}

/// A fingerprint of a set of labels that does not depend on their order and is the
/// same in every build (FNV-1a over the sorted item ids and classes): stored with each
/// round, so it must never change.
pub fn label_digest<'a>(labels: impl IntoIterator<Item = (&'a str, u16)>) -> u64 {
    let mut sorted: Vec<(&str, u16)> = labels.into_iter().collect();
    sorted.sort_unstable();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (item, class) in sorted {
        eat(&(item.len() as u64).to_le_bytes());
        eat(item.as_bytes());
        eat(&class.to_le_bytes());
    }
    hash
}

/// The ranked items of the batch being labeled, so a resumed session shows the same
/// next image without retraining.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Queue {
    pub model_version: u64,
    pub items: Vec<String>,
}

/// One change to a session; the journal holds these, one per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Label(LabelRecord),
    /// Removes the label of `item` (an item has one label at most). Journals written
    /// before this could undo any label wrote it only for the last one, which reads the
    /// same.
    Undo {
        item: String,
    },
    Skip {
        item: String,
    },
    /// A confirmed review page.
    Page(PageRecord),
    /// Removes the labels of several items at once (the undo of a page).
    UndoItems {
        items: Vec<String>,
    },
    /// Replaces the labels of labeled items, each by the record given, in place: the
    /// corrections of a likely-mistakes page (new class and source), or their undo
    /// (the records as they were). One record for the whole page.
    Relabel {
        labels: Vec<LabelRecord>,
    },
    Round(RoundRecord),
    Queue(Queue),
    PoolSize {
        size: usize,
    },
}

/// The current time, to the millisecond (keeps snapshots readable).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// The folded state of a session: configuration plus everything labeled so far.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    pub(crate) name: String,
    pub(crate) config: SessionConfig,
    pub(crate) created: DateTime<Utc>,
    pub(crate) last_used: DateTime<Utc>,
    pub(crate) labels: Vec<LabelRecord>,
    /// Position of each labeled item in `labels`.
    pub(crate) labeled: HashMap<String, usize>,
    pub(crate) skipped: Vec<String>,
    pub(crate) rounds: Vec<RoundRecord>,
    pub(crate) queue: Queue,
    /// Sequence number of the last journal record folded into this state.
    pub(crate) seq: u64,
}

impl SessionState {
    pub(crate) fn new(name: &str, config: SessionConfig, time: DateTime<Utc>) -> SessionState {
        SessionState {
            name: name.to_string(),
            config,
            created: time,
            last_used: time,
            labels: Vec::new(),
            labeled: HashMap::new(),
            skipped: Vec::new(),
            rounds: Vec::new(),
            queue: Queue::default(),
            seq: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }
    /// Labels in the order they were given (undone ones removed).
    pub fn labels(&self) -> &[LabelRecord] {
        &self.labels
    }
    /// The label of an item, if it has one.
    pub fn label_of(&self, item: &str) -> Option<&LabelRecord> {
        self.labeled.get(item).map(|&i| &self.labels[i])
    }
    /// Items skipped and not labeled since, in the order they were skipped.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }
    pub fn rounds(&self) -> &[RoundRecord] {
        &self.rounds
    }
    /// Test accuracy of the last round that measured one.
    pub fn last_accuracy(&self) -> Option<f64> {
        self.rounds.iter().rev().find_map(|r| r.test_accuracy)
    }
    /// The ranked batch last stored with `Session::set_queue`, without the items labeled
    /// or skipped since: the images to show next, in order.
    pub fn queue(&self) -> (u64, Vec<&str>) {
        let remaining = self
            .queue
            .items
            .iter()
            .filter(|i| !self.labeled.contains_key(*i) && !self.skipped.contains(i))
            .map(String::as_str)
            .collect();
        (self.queue.model_version, remaining)
    }
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }
    pub fn last_used(&self) -> DateTime<Utc> {
        self.last_used
    }

    /// Checks that `op` can be applied; the reason when it cannot.
    pub(crate) fn check(&self, op: &Op) -> Result<(), String> {
        match op {
            Op::Label(l) => {
                if usize::from(l.class) >= self.config.classes.len() {
                    return Err(format!(
                        "class {} does not exist (the session has {} classes)",
                        l.class,
                        self.config.classes.len()
                    ));
                }
                if let Some(prev) = self.label_of(&l.item) {
                    let name = self.class_name(prev.class);
                    return Err(format!(
                        "item {:?} is already labeled {name}; undo that label first",
                        l.item
                    ));
                }
                Ok(())
            }
            Op::Undo { item } => match self.label_of(item) {
                Some(_) => Ok(()),
                None => Err(format!("undo of {item:?}, which has no label")),
            },
            Op::Page(page) => {
                let mut on_page = HashSet::new();
                for label in page.labels() {
                    self.check(&Op::Label(label.clone()))?;
                    if !on_page.insert(label.item.clone()) {
                        return Err(format!("item {:?} is twice on one page", label.item));
                    }
                }
                match page.source {
                    Source::Confirmed => {
                        Err("a page's corrections cannot be confirmed ones".into())
                    }
                    _ => Ok(()),
                }
            }
            Op::UndoItems { items } => {
                let mut seen = HashSet::new();
                for item in items {
                    if self.label_of(item).is_none() || !seen.insert(item) {
                        return Err(format!("undo of {item:?}, which has no label"));
                    }
                }
                Ok(())
            }
            Op::Relabel { labels } => {
                if labels.is_empty() {
                    return Err("a relabel of no item".into());
                }
                let mut seen = HashSet::new();
                for label in labels {
                    if usize::from(label.class) >= self.config.classes.len() {
                        return Err(format!(
                            "class {} does not exist (the session has {} classes)",
                            label.class,
                            self.config.classes.len()
                        ));
                    }
                    if self.label_of(&label.item).is_none() {
                        return Err(format!("relabel of {:?}, which has no label", label.item));
                    }
                    if !seen.insert(&label.item) {
                        return Err(format!("item {:?} is relabeled twice", label.item));
                    }
                }
                Ok(())
            }
            Op::Round(r) => {
                let finite = r.seconds.is_finite() && r.seconds >= 0.0;
                let acc_ok = r
                    .test_accuracy
                    .is_none_or(|a| a.is_finite() && (0.0..=1.0).contains(&a));
                if !finite {
                    Err(format!("round seconds {} is not a duration", r.seconds))
                } else if !acc_ok {
                    Err(format!(
                        "test accuracy {:?} is not in 0..=1",
                        r.test_accuracy
                    ))
                } else {
                    Ok(())
                }
            }
            Op::Skip { .. } | Op::Queue(_) | Op::PoolSize { .. } => Ok(()),
        }
    }

    /// Applies an operation that passed `check`.
    pub(crate) fn apply(&mut self, op: Op) {
        match op {
            Op::Label(l) => {
                self.skipped.retain(|s| *s != l.item);
                self.labeled.insert(l.item.clone(), self.labels.len());
                self.labels.push(l);
            }
            Op::Undo { item } => self.remove_labels(&[item]),
            Op::Page(page) => {
                // Applied as record `seq + 1`, in the journal and in its replay alike.
                let number = self.seq + 1;
                for label in page.labels() {
                    self.apply(Op::Label(LabelRecord {
                        page: Some(number),
                        ..label
                    }));
                }
            }
            Op::UndoItems { items } => self.remove_labels(&items),
            Op::Relabel { labels } => {
                for label in labels {
                    if let Some(&at) = self.labeled.get(&label.item) {
                        self.labels[at] = label;
                    }
                }
            }
            Op::Skip { item } => {
                if !self.skipped.contains(&item) {
                    self.skipped.push(item);
                }
            }
            Op::Round(r) => self.rounds.push(r),
            Op::Queue(q) => self.queue = q,
            Op::PoolSize { size } => self.config.pool_size = size,
        }
    }

    /// Removes the labels of `items` (those that have one) and re-indexes the rest once.
    fn remove_labels(&mut self, items: &[String]) {
        let gone: HashSet<&String> = items.iter().collect();
        let before = self.labels.len();
        self.labels.retain(|l| !gone.contains(&l.item));
        if self.labels.len() == before {
            return;
        }
        self.labeled = self
            .labels
            .iter()
            .enumerate()
            .map(|(at, l)| (l.item.clone(), at))
            .collect();
    }

    /// [`label_digest`] of the labels standing now.
    pub fn label_digest(&self) -> u64 {
        label_digest(self.labels.iter().map(|l| (l.item.as_str(), l.class)))
    }

    /// The class's name, or its number when it is out of range.
    pub fn class_name(&self, class: u16) -> String {
        self.config
            .classes
            .get(usize::from(class))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("#{class}"))
    }

    /// Items with a label or a skip that are not in `present`, sorted.
    pub(crate) fn vanished(&self, present: &HashSet<String>) -> Vec<String> {
        let mut gone: Vec<String> = self
            .labels
            .iter()
            .map(|l| &l.item)
            .chain(self.skipped.iter())
            .filter(|i| !present.contains(*i))
            .cloned()
            .collect();
        gone.sort();
        gone.dedup();
        gone
    }
}
