//! Loading a session: the snapshot, then the journal records it does not hold yet.

use std::path::Path;

use super::error::{Result, SessionError};
use super::journal::{self, TornRecord};
use super::types::SessionState;
use super::{journal_path, snapshot, snapshot_path, validate_name};

/// What loading found besides the state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Journal records folded into the snapshot's state.
    pub replayed: usize,
    /// A damaged last journal record that was ignored (and, by `Session::open`, cut off).
    pub torn: Option<TornRecord>,
}

impl LoadReport {
    /// One line per thing the user should be told.
    pub fn warnings(&self) -> Vec<String> {
        self.torn.iter().map(ToString::to_string).collect()
    }
}

pub(crate) struct Loaded {
    pub state: SessionState,
    pub report: LoadReport,
    /// Length of the journal's intact prefix.
    pub journal_intact_len: u64,
}

/// How often a read that met a compaction (the snapshot replaced while the journal was
/// read, or the journal no longer following it) is tried again.
const READ_TRIES: usize = 5;

pub(crate) fn load_files(dir: &Path, name: &str) -> Result<Loaded> {
    load_files_between(dir, name, &mut || {})
}

/// [`load_files`], calling `between` after the snapshot is read and before the journal
/// (tests put a compaction there).
fn load_files_between(dir: &Path, name: &str, between: &mut dyn FnMut()) -> Result<Loaded> {
    validate_name(name)?;
    for _ in 0..READ_TRIES {
        if let Some(loaded) = read_once(dir, name, between)? {
            return Ok(loaded);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(SessionError::Invalid(format!(
        "session {name} changed while it was read, {READ_TRIES} times: try again; if this \
         repeats, {} misses records after its snapshot's",
        journal_path(dir, name).display()
    )))
}

/// What identifies a snapshot file's version: it is replaced whole (a rename) by a
/// compaction, never written in place.
fn snapshot_version(path: &Path) -> Option<(std::time::SystemTime, u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

/// One read of the snapshot and the journal; None when a compaction came between the
/// two (without the session's lock, as `export` and `sessions` read): the labels it
/// moved from the journal into a snapshot this read did not see would be missing.
fn read_once(dir: &Path, name: &str, between: &mut dyn FnMut()) -> Result<Option<Loaded>> {
    let snap_path = snapshot_path(dir, name);
    let version = snapshot_version(&snap_path);
    let bytes = match std::fs::read(&snap_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SessionError::NotFound {
                name: name.to_string(),
                dir: dir.to_path_buf(),
            })
        }
        Err(e) => return Err(SessionError::io("read", &snap_path)(e)),
    };
    between();
    let jpath = journal_path(dir, name);
    let journal = journal::read(&jpath)?;
    if snapshot_version(&snap_path) != version {
        return Ok(None);
    }
    let mut state = snapshot::parse(&bytes, &snap_path)?;
    // The file name is the session's name, even if the file was renamed by hand.
    state.name = name.to_string();
    let parsed = journal::parse(&journal, &jpath)?;
    let mut replayed = 0;
    for (line, record) in parsed.records {
        if record.seq <= state.seq {
            continue; // folded in by a compaction that crashed before emptying the journal
        }
        if record.seq != state.seq + 1 {
            // Records between the snapshot and this one are in a newer snapshot.
            return Ok(None);
        }
        state
            .check(&record.op)
            .map_err(|message| SessionError::Journal {
                path: jpath.clone(),
                line,
                message,
            })?;
        state.apply(record.op);
        state.seq = record.seq;
        state.last_used = state.last_used.max(record.time);
        replayed += 1;
    }
    Ok(Some(Loaded {
        state,
        report: LoadReport {
            replayed,
            torn: parsed.torn,
        },
        journal_intact_len: parsed.intact_len,
    }))
}

/// Reads a session without opening it for writing (no lock, no file changes): for
/// listing and exporting, also while another process has it open.
pub fn load(dir: &Path, name: &str) -> Result<(SessionState, LoadReport)> {
    let loaded = load_files(dir, name)?;
    Ok((loaded.state, loaded.report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::config;
    use crate::{Session, Source};

    /// `export` and `sessions` read without the lock: a compaction between the
    /// snapshot's read and the journal's (the journal's labels moved into a snapshot
    /// the read did not see) must not make a short read; the read is done again.
    #[test]
    fn a_compaction_between_the_two_reads_loses_no_label() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::create(dir.path(), "c", config()).unwrap();
        s.set_compact_every(1000);
        s.label("a", 0, Source::Human).unwrap();
        s.compact().unwrap();
        for item in ["b", "c", "d"] {
            s.label(item, 1, Source::Human).unwrap();
        }
        let mut compactions = 0;
        let loaded = load_files_between(dir.path(), "c", &mut || {
            if compactions == 0 {
                s.label("e", 0, Source::Human).unwrap();
                s.compact().unwrap();
            }
            compactions += 1;
        })
        .unwrap();
        assert_eq!(compactions, 2, "read again after the compaction");
        let items: Vec<&str> = loaded
            .state
            .labels
            .iter()
            .map(|l| l.item.as_str())
            .collect();
        assert_eq!(items, ["a", "b", "c", "d", "e"]);
    }

    /// A journal whose records do not follow its snapshot (records lost) is an error
    /// that says so, not a short read.
    #[test]
    fn a_journal_that_skips_records_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::create(dir.path(), "g", config()).unwrap();
        s.set_compact_every(1000);
        for item in ["a", "b", "c"] {
            s.label(item, 0, Source::Human).unwrap();
        }
        // Read while the session is open (closing it may compact).
        let path = journal_path(dir.path(), "g");
        let journal = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = journal
            .lines()
            .filter(|l| !l.contains("\"item\":\"b\""))
            .collect();
        assert_eq!(kept.len() + 1, journal.lines().count());
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        let error = load(dir.path(), "g").unwrap_err().to_string();
        assert!(error.contains("changed while it was read"), "{error}");
        drop(s);
    }
}
