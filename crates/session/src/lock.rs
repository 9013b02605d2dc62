//! `<name>.lock`: an exclusive advisory lock held while a session is open, so a second
//! glean process gets a clear error instead of interleaving its writes. The file holds
//! the owner's pid for that message; it is left in place on close (removing it would
//! race with a process that is about to lock it).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use super::error::{Result, SessionError};

#[derive(Debug)]
pub(crate) struct SessionLock {
    // Closing the file releases the lock.
    _file: File,
}

impl SessionLock {
    pub fn acquire(path: &Path, name: &str) -> Result<SessionLock> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(SessionError::io("open lock file", path))?;
        let locked = FileExt::try_lock_exclusive(&file).map_err(SessionError::io("lock", path))?;
        if !locked {
            return Err(SessionError::Locked {
                name: name.to_string(),
                pid: read_pid(&mut file),
                lock: PathBuf::from(path),
            });
        }
        let pid = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .and_then(|_| file.flush())
            .map_err(SessionError::io("write lock file", path))?;
        Ok(SessionLock { _file: file })
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
