//! Why a session operation failed; every message names the file and, for damaged files,
//! the line, and says how to recover.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("invalid session name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("session {name} already exists ({path}); pick another name or resume it", path = .path.display())]
    Exists { name: String, path: PathBuf },

    #[error("no session named {name} in {dir}", dir = .dir.display())]
    NotFound { name: String, dir: PathBuf },

    #[error("session {name} is open in another glean process{pid}; close it there first (lock file {lock})",
        pid = .pid.map(|p| format!(" (pid {p})")).unwrap_or_default(), lock = .lock.display())]
    Locked {
        name: String,
        pid: Option<u32>,
        lock: PathBuf,
    },

    #[error("{path}:{line}:{col}: {message}\n  The snapshot was left untouched. To recover: fix line {line} by hand (it is plain RON) \
             or restore the file from a backup; if it cannot be saved, move it aside (`mv {path} {path}.bad`) \
             and start a new session. Labels given since the last compaction are also in {journal}, one JSON \
             record per line.",
        path = .path.display(), journal = .path.with_extension("journal").display())]
    Snapshot {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },

    #[error("{path}:{line}: {message}\n  The journal was left untouched. To recover: every other line carries its own \
             checksum; keep a copy (e.g. `cp {path} {path}.bad`), delete line {line} (losing that one record), and \
             open the session again.",
        path = .path.display())]
    Journal {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("{0}")]
    Invalid(String),

    /// Writing an export to its output (a file, or stdout that may be a closed pipe).
    #[error("cannot write the export: {0}")]
    Export(#[source] std::io::Error),

    #[error("{op} {path}: {source}", path = .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SessionError {
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SessionError {
        let path = path.to_path_buf();
        move |source| SessionError::Io { op, path, source }
    }
}

pub type Result<T, E = SessionError> = std::result::Result<T, E>;
