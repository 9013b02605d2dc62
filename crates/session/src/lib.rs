//! Sessions that never lose a label.
//!
//! A session `NAME` is three files in the session folder:
//! - `NAME.ron`, the snapshot: configuration, labels, skips, rounds, in pretty RON;
//! - `NAME.journal`, every change since the snapshot, one checksummed line each, fsync'd
//!   before the call that made it returns;
//! - `NAME.lock`, locked while a process has the session open;
//!
//! and, written by the labeler, `NAME.model.safetensors` (its network after the last
//! round), `NAME.predictions.csv` (every pool item's predicted class after the last
//! ranking, for `export --all`) and `NAME.start-weights.safetensors` (a copy of the
//! `--weights` checkpoint its networks start from). Each is the session's own: sessions share a folder.
//!
//! Opening folds the journal into the snapshot's state; `compact` (once the journal has
//! outgrown the snapshot, and `COMPACT_MIN_BYTES`: a replay then reads at most about
//! twice the state, and a compaction rewrites no more than the journal added; or when
//! the owner says after `defer_compaction`; on `close` and on drop) writes the folded
//! state as the new snapshot atomically and empties the journal. This module knows
//! nothing of tch.

pub mod commands;
mod error;
mod export;
mod journal;
mod list;
mod load;
mod lock;
mod predictions;
mod snapshot;
mod types;

#[cfg(test)]
mod data_spec_tests;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use error::{Result, SessionError};
pub use export::{export, export_to_file, ExportFormat, ExportScope};
pub use journal::TornRecord;
pub use list::{list, most_recent, sessions_table, SessionSummary};
pub use load::{load, LoadReport};
pub use predictions::{predictions_path, read_predictions, write_predictions, PredictedItem};
pub use snapshot::FORMAT_VERSION;
pub use types::{
    label_digest, Correction, DataSpec, Guesses, LabelRecord, PageRecord, Queue, RoundRecord,
    SessionConfig, SessionState, Source,
};

use glean_core::files::Durability;
use journal::{Record, Writer};
use load::load_files;
use lock::SessionLock;
use types::{now, Op};

/// The journal's bytes below which no compaction is due, however small the snapshot
/// (a few hundred labels' records: replayed in a blink).
pub const COMPACT_MIN_BYTES: u64 = 64 * 1024;

/// The longest session name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// Checks that `name` can name a session: 1 to 64 letters, digits, `-`, `_` or `.`,
/// not starting with a dot (so it cannot escape the folder or hide).
pub fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.chars().count() > MAX_NAME_LEN {
        Some("it is longer than 64 characters")
    } else if name.starts_with('.') {
        Some("it starts with a dot")
    } else if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("use only letters, digits, '-', '_' and '.'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SessionError::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

fn file_path(dir: &Path, name: &str, extension: &str) -> PathBuf {
    dir.join(format!("{name}.{extension}"))
}

/// Path of a session's snapshot.
pub fn snapshot_path(dir: &Path, name: &str) -> PathBuf {
    file_path(dir, name, "ron")
}

/// Path of a session's journal.
pub fn journal_path(dir: &Path, name: &str) -> PathBuf {
    file_path(dir, name, "journal")
}

/// Path of a session's network, written after every round.
pub fn model_path(dir: &Path, name: &str) -> PathBuf {
    file_path(dir, name, "model.safetensors")
}

/// Path of the copy of the `--weights` checkpoint a session's networks start from.
pub fn start_weights_path(dir: &Path, name: &str) -> PathBuf {
    file_path(dir, name, "start-weights.safetensors")
}

/// A session open for labeling. It holds the lock until dropped; every change is in the
/// journal on disk before the method that made it returns.
#[derive(Debug)]
pub struct Session {
    dir: PathBuf,
    state: SessionState,
    journal: Writer,
    since_compaction: usize,
    /// A compaction is also due after this many changes (tests set it).
    compact_every: Option<usize>,
    /// The size of the snapshot on disk.
    snapshot_bytes: u64,
    /// Changes leave the compaction to [`Session::compact_if_due`].
    deferred_compaction: bool,
    closed: bool,
    // Last, so the lock is released after everything else is dropped.
    _lock: SessionLock,
}

impl Session {
    /// Makes a new session; an error if one with this name exists.
    pub fn create(dir: &Path, name: &str, config: SessionConfig) -> Result<Session> {
        validate_name(name)?;
        validate_config(&config)?;
        std::fs::create_dir_all(dir).map_err(SessionError::io("create folder", dir))?;
        let lock = SessionLock::acquire(&file_path(dir, name, "lock"), name)?;
        let snap_path = snapshot_path(dir, name);
        if snap_path.exists() {
            return Err(SessionError::Exists {
                name: name.to_string(),
                path: snap_path,
            });
        }
        let jpath = journal_path(dir, name);
        if std::fs::metadata(&jpath).is_ok_and(|m| m.len() > 0) {
            return Err(SessionError::Invalid(format!(
                "{} holds labels of an earlier session {name} whose snapshot is gone; move it aside \
                 or pick another name",
                jpath.display()
            )));
        }
        let state = SessionState::new(name, config, now());
        snapshot::write_atomic(&snap_path, snapshot::to_text(&state)?.as_bytes())?;
        let journal = Writer::open(&jpath, 0)?;
        Ok(Session::with(dir, state, journal, lock))
    }

    /// Opens a saved session for labeling: the snapshot plus the journal replayed. A torn
    /// last journal record is reported in the `LoadReport` and cut off.
    pub fn open(dir: &Path, name: &str) -> Result<(Session, LoadReport)> {
        validate_name(name)?;
        if !snapshot_path(dir, name).exists() {
            return Err(SessionError::NotFound {
                name: name.to_string(),
                dir: dir.to_path_buf(),
            });
        }
        let lock = SessionLock::acquire(&file_path(dir, name, "lock"), name)?;
        let loaded = load_files(dir, name)?;
        let journal = Writer::open(&journal_path(dir, name), loaded.journal_intact_len)?;
        let mut session = Session::with(dir, loaded.state, journal, lock);
        // A session left without compacting goes on counting toward its next compaction.
        session.since_compaction = loaded.report.replayed;
        Ok((session, loaded.report))
    }

    /// Resumes session `name` if it exists (its stored configuration wins over
    /// `config`), otherwise creates it with `config`.
    pub fn open_or_create(
        dir: &Path,
        name: &str,
        config: SessionConfig,
    ) -> Result<(Session, LoadReport)> {
        match Session::open(dir, name) {
            Err(SessionError::NotFound { .. }) => {
                Ok((Session::create(dir, name, config)?, LoadReport::default()))
            }
            opened => opened,
        }
    }

    fn with(dir: &Path, state: SessionState, journal: Writer, lock: SessionLock) -> Session {
        let snapshot_bytes = std::fs::metadata(snapshot_path(dir, state.name()))
            .map(|m| m.len())
            .unwrap_or(0);
        Session {
            dir: dir.to_path_buf(),
            state,
            journal,
            since_compaction: 0,
            compact_every: None,
            snapshot_bytes,
            deferred_compaction: false,
            closed: false,
            _lock: lock,
        }
    }

    /// Everything the session holds.
    pub fn state(&self) -> &SessionState {
        &self.state
    }
    pub fn name(&self) -> &str {
        self.state.name()
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// This session's network file (`model_path`).
    pub fn model_path(&self) -> PathBuf {
        model_path(&self.dir, self.name())
    }
    /// This session's predictions of the whole folder (`predictions_path`).
    pub fn predictions_path(&self) -> PathBuf {
        predictions_path(&self.dir, self.name())
    }
    /// This session's starting checkpoint (`start_weights_path`).
    pub fn start_weights_path(&self) -> PathBuf {
        start_weights_path(&self.dir, self.name())
    }
    pub fn config(&self) -> &SessionConfig {
        self.state.config()
    }
    pub fn labels(&self) -> &[LabelRecord] {
        self.state.labels()
    }
    pub fn skipped(&self) -> &[String] {
        self.state.skipped()
    }
    pub fn rounds(&self) -> &[RoundRecord] {
        self.state.rounds()
    }

    /// Makes a compaction due also after `changes` changes (min 1), however small the
    /// journal.
    pub fn set_compact_every(&mut self, changes: usize) {
        self.compact_every = Some(changes.max(1));
    }

    /// From now on a change only appends to the journal; the owner compacts when it
    /// suits it with [`Session::compact_if_due`] (the labeler does between rankings, so
    /// that no keypress waits for the snapshot to be rewritten).
    pub fn defer_compaction(&mut self) {
        self.deferred_compaction = true;
    }

    /// Compacts when the journal has outgrown the snapshot (and `COMPACT_MIN_BYTES`);
    /// true when it did. By size, not by count: a compaction rewrites the whole state,
    /// so it waits until the journal has added as much, and a replay never reads more
    /// than about twice the state, whatever its records hold (a queue record of 500
    /// ids weighs a hundred labels).
    pub fn compact_if_due(&mut self) -> Result<bool> {
        let by_size = self.journal.bytes() >= COMPACT_MIN_BYTES.max(self.snapshot_bytes);
        let by_count = self
            .compact_every
            .is_some_and(|changes| self.since_compaction >= changes);
        if !(by_size || by_count) {
            return Ok(false);
        }
        self.compact()?;
        Ok(true)
    }

    /// Labels `item` with class index `class`. When this returns Ok the label is on disk.
    /// An item that already has a label must be undone first.
    pub fn label(&mut self, item: &str, class: u16, source: Source) -> Result<&LabelRecord> {
        self.label_guessed(item, class, source, Guesses::default(), false)
    }

    /// `label`, keeping what glean had guessed for the item, and whether it was an
    /// audit pick (`LabelRecord::audit`).
    pub fn label_guessed(
        &mut self,
        item: &str,
        class: u16,
        source: Source,
        guessed: Guesses,
        audit: bool,
    ) -> Result<&LabelRecord> {
        let record = LabelRecord {
            corrected: None,
            item: item.to_string(),
            class,
            source,
            round: u32::try_from(self.state.rounds.len()).unwrap_or(u32::MAX),
            time: now(),
            guessed,
            page: None,
            audit,
        };
        self.commit(Op::Label(record))?;
        #[allow(clippy::expect_used, reason = "commit applied the label, last")]
        Ok(self.state.labels.last().expect("label was just applied"))
    }

    /// Undoes the label of `item` and returns it (None when it has none), wherever it
    /// stands: the labeler undoes what it shows, and the session may hold later labels
    /// it does not show (of files gone from the folder since).
    pub fn undo_item(&mut self, item: &str) -> Result<Option<LabelRecord>> {
        let Some(label) = self.state.label_of(item).cloned() else {
            return Ok(None);
        };
        self.commit(Op::Undo {
            item: item.to_string(),
        })?;
        Ok(Some(label))
    }

    /// Confirms a review page: each of `confirmed` takes the class it was shown as
    /// (source `Confirmed`), each of `corrected` the class given with it (source
    /// `source`). One journal record: when this returns Ok the whole page is on disk,
    /// and a crash before leaves none of it.
    pub fn confirm_page(
        &mut self,
        confirmed: Vec<(String, u16)>,
        corrected: Vec<(String, u16)>,
        source: Source,
    ) -> Result<()> {
        // The record's class is the first confirmed one's; a page's classes come in
        // groups, so its items lead `confirmed` and the labels keep the page's order.
        let class = confirmed.first().map_or(0, |&(_, class)| class);
        let (of_class, confirmed_as): (Vec<_>, Vec<_>) =
            confirmed.into_iter().partition(|&(_, c)| c == class);
        let page = PageRecord {
            class,
            confirmed: of_class.into_iter().map(|(item, _)| item).collect(),
            confirmed_as,
            corrected,
            source,
            round: u32::try_from(self.state.rounds.len()).unwrap_or(u32::MAX),
            time: now(),
        };
        self.commit(Op::Page(page))
    }

    /// Undoes the labels of `items` (a page) in one record and returns them in the
    /// order given; an item without a label is an error and nothing is undone.
    pub fn undo_items(&mut self, items: &[String]) -> Result<Vec<LabelRecord>> {
        let undone = items
            .iter()
            .filter_map(|item| self.state.label_of(item).cloned())
            .collect();
        self.commit(Op::UndoItems {
            items: items.to_vec(),
        })?;
        Ok(undone)
    }

    /// Gives labeled items another class, with source `source`: the corrections of a
    /// likely-mistakes page. One journal record: an item without a label, a class out of
    /// range, an item twice or no item at all refuses the whole page and writes nothing.
    /// Each label keeps its place and what was guessed for it. Returns the labels as
    /// they were, for [`Session::restore_labels`].
    pub fn relabel(
        &mut self,
        items: Vec<(String, u16)>,
        source: Source,
    ) -> Result<Vec<LabelRecord>> {
        if source == Source::Confirmed {
            return Err(SessionError::Invalid(
                "a relabel is a class given, not a confirmed one".into(),
            ));
        }
        let round = u32::try_from(self.state.rounds.len()).unwrap_or(u32::MAX);
        let time = now();
        // The record this page becomes, as a review page's number is.
        let page = self.state.seq + 1;
        let after = self.state.labels.len();
        let mut old = Vec::with_capacity(items.len());
        let mut labels = Vec::with_capacity(items.len());
        for (item, class) in items {
            let Some(was) = self.state.label_of(&item) else {
                return Err(SessionError::Invalid(format!(
                    "relabel of {item:?}, which has no label"
                )));
            };
            old.push(was.clone());
            labels.push(LabelRecord {
                guessed: was.guessed,
                page: was.page,
                corrected: Some(Correction {
                    page,
                    after,
                    was: Box::new(was.clone()),
                }),
                item,
                class,
                source,
                round,
                time,
                audit: was.audit,
            });
        }
        self.commit(Op::Relabel { labels })?;
        Ok(old)
    }

    /// Puts labels back as `labels` has them (what [`Session::relabel`] returned: its
    /// undo), in one record; every item must be labeled.
    pub fn restore_labels(&mut self, labels: Vec<LabelRecord>) -> Result<()> {
        self.commit(Op::Relabel { labels })
    }

    /// Takes back the likely-mistakes page that last changed `items` (all of them, and
    /// only them, on one page): each gets its label as it was before the page, in one
    /// record. Works after a resume too: the labels keep what they were.
    pub fn undo_correction(&mut self, items: &[String]) -> Result<()> {
        let mut was = Vec::with_capacity(items.len());
        let mut page = None;
        for item in items {
            let correction = self
                .state
                .label_of(item)
                .and_then(|l| l.corrected.as_ref())
                .ok_or_else(|| {
                    SessionError::Invalid(format!(
                        "undo of a correction of {item:?}, which a likely-mistakes page did not change"
                    ))
                })?;
            if *page.get_or_insert(correction.page) != correction.page {
                return Err(SessionError::Invalid(
                    "the labels to take back were changed by different pages".into(),
                ));
            }
            was.push((*correction.was).clone());
        }
        let page_items = self
            .state
            .labels
            .iter()
            .filter(|l| l.corrected.as_ref().map(|c| c.page) == page)
            .count();
        if page.is_none() || page_items != items.len() {
            return Err(SessionError::Invalid(
                "a likely-mistakes page is taken back whole or not at all".into(),
            ));
        }
        self.restore_labels(was)
    }

    /// Undoes the last label still standing and returns it (None when there is none);
    /// call it again to undo the one before.
    pub fn undo(&mut self) -> Result<Option<LabelRecord>> {
        let Some(last) = self.state.labels.last().cloned() else {
            return Ok(None);
        };
        self.commit(Op::Undo {
            item: last.item.clone(),
        })?;
        Ok(Some(last))
    }

    /// Marks `item` as skipped (not shown again until labeled). Skipping twice is a no-op.
    pub fn skip(&mut self, item: &str) -> Result<()> {
        if let Some(label) = self.state.label_of(item) {
            return Err(SessionError::Invalid(format!(
                "cannot skip {item:?}: it is labeled {}",
                self.state.class_name(label.class)
            )));
        }
        if self.state.skipped.iter().any(|s| s == item) {
            return Ok(());
        }
        self.commit(Op::Skip {
            item: item.to_string(),
        })
    }

    /// Records a finished training round.
    pub fn record_round(&mut self, round: RoundRecord) -> Result<()> {
        self.commit(Op::Round(round))
    }

    /// Stores the ranked items of the batch being labeled, so a resume shows the same
    /// next image; `state().queue()` gives back the ones not yet labeled or skipped.
    pub fn set_queue(&mut self, model_version: u64, items: Vec<String>) -> Result<()> {
        let queue = Queue {
            model_version,
            items,
        };
        // The same queue again (a quit stores it twice) costs no journal write.
        if self.state.queue == queue {
            return Ok(());
        }
        // Derived from the last ranking: the next synced record (a label) or the
        // compaction carries it to disk, and a queue lost with a power cut only means
        // the resume shows the ranking's order from before it.
        self.commit_with(Op::Queue(queue), Durability::Cached)
    }

    /// Compares the session with the items now in the data folder's pool: sets the pool
    /// size to `pool_ids.len()` and returns the labeled or skipped items that are gone
    /// (sorted). Their labels stay in the session (the folder may come back); the trainer
    /// should use only labels of items in the pool.
    pub fn reconcile(&mut self, pool_ids: &HashSet<String>) -> Result<Vec<String>> {
        if self.state.config.pool_size != pool_ids.len() {
            self.commit(Op::PoolSize {
                size: pool_ids.len(),
            })?;
        }
        Ok(self.state.vanished(pool_ids))
    }

    /// Writes the whole state as the new snapshot (atomically) and empties the journal.
    pub fn compact(&mut self) -> Result<()> {
        self.state.last_used = now().max(self.state.last_used);
        let text = snapshot::to_text(&self.state)?;
        snapshot::write_atomic(&snapshot_path(&self.dir, self.name()), text.as_bytes())?;
        self.snapshot_bytes = text.len() as u64;
        // A crash here leaves records the snapshot already holds; their sequence numbers
        // tell the next load to skip them.
        self.journal.clear()?;
        self.since_compaction = 0;
        Ok(())
    }

    /// Compacts and releases the lock, reporting a failure (drop does the same silently).
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.compact()
    }

    /// Releases the lock, compacting only when [`Session::compact_if_due`] would: every
    /// change is in the journal already, so a quit need not wait for a snapshot's writes
    /// and syncs (the next open replays the journal and counts it toward compaction).
    pub fn leave(mut self) -> Result<()> {
        self.closed = true;
        // A queue record went without its own fsync; the next session starts from it.
        self.journal.sync()?;
        self.compact_if_due().map(|_| ())
    }

    fn commit(&mut self, op: Op) -> Result<()> {
        self.commit_with(op, Durability::Synced)
    }

    fn commit_with(&mut self, op: Op, durability: Durability) -> Result<()> {
        self.state.check(&op).map_err(SessionError::Invalid)?;
        let record = Record {
            version: journal::RECORD_VERSION,
            seq: self.state.seq + 1,
            time: now(),
            op,
        };
        self.journal.append(&record, durability)?;
        let (seq, time) = (record.seq, record.time);
        // Applied before the number moves on, as a replay applies it.
        self.state.apply(record.op);
        self.state.seq = seq;
        self.state.last_used = self.state.last_used.max(time);
        self.since_compaction += 1;
        if !self.deferred_compaction {
            // The change is already safe in the journal; a failed compaction only means
            // a longer replay next time, so it must not fail the change.
            if let Err(e) = self.compact_if_due() {
                tracing::warn!("session {}: compaction failed: {e}", self.name());
            }
        }
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.closed {
            if let Err(e) = self.compact() {
                tracing::warn!("session {}: compaction on close failed: {e}", self.name());
            }
        }
    }
}

fn validate_config(config: &SessionConfig) -> Result<()> {
    let problem = if config.classes.is_empty() {
        Some("a session needs at least one class".to_string())
    } else if config.classes.len() > usize::from(u16::MAX) {
        Some(format!("{} classes are too many", config.classes.len()))
    } else if config.batch == 0 {
        Some("the batch size must be at least 1".to_string())
    } else {
        let mut seen = HashSet::new();
        config
            .classes
            .iter()
            .find(|c| !seen.insert(&c.name))
            .map(|c| format!("class {:?} is listed twice", c.name))
    };
    match problem {
        Some(p) => Err(SessionError::Invalid(p)),
        None => Ok(()),
    }
}
