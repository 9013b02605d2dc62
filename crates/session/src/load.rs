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

pub(crate) fn load_files(dir: &Path, name: &str) -> Result<Loaded> {
    validate_name(name)?;
    let snap_path = snapshot_path(dir, name);
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
    let mut state = snapshot::parse(&bytes, &snap_path)?;
    // The file name is the session's name, even if the file was renamed by hand.
    state.name = name.to_string();
    let jpath = journal_path(dir, name);
    let parsed = journal::parse(&journal::read(&jpath)?, &jpath)?;
    let mut replayed = 0;
    for (line, record) in parsed.records {
        if record.seq <= state.seq {
            continue; // folded in by a compaction that crashed before emptying the journal
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
    Ok(Loaded {
        state,
        report: LoadReport {
            replayed,
            torn: parsed.torn,
        },
        journal_intact_len: parsed.intact_len,
    })
}

/// Reads a session without opening it for writing (no lock, no file changes): for
/// listing and exporting, also while another process has it open.
pub fn load(dir: &Path, name: &str) -> Result<(SessionState, LoadReport)> {
    let loaded = load_files(dir, name)?;
    Ok((loaded.state, loaded.report))
}
