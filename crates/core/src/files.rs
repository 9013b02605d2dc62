//! The one way glean replaces a file: written beside it under a temporary name
//! (`tempfile`), then renamed over it, so a reader or a crash sees the old file or the
//! new one, never part of one; a failed write leaves no temporary file behind.

use std::io;
use std::path::Path;

/// What a replaced file must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A power loss too: the new file is fsync'd before the rename, and its folder
    /// after (a session's snapshot, an export, the model).
    Synced,
    /// A crash of glean only: derived data that a checksum guards or a run recomputes
    /// (the pool, feature and graph caches, thumbnails).
    Cached,
}

/// Replaces `path` (its folder made when missing) with what `write` writes to the path
/// it is given.
pub fn replace_file(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    // The target's extension last: writers that pick a format by it (tch's
    // `VarStore::save`: safetensors) write the right one.
    let suffix = match path.extension() {
        Some(ext) => format!(".tmp.{}", ext.to_string_lossy()),
        None => ".tmp".to_string(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".glean-")
        .suffix(&suffix)
        .tempfile_in(dir)?;
    write(tmp.path())?;
    if durability == Durability::Synced {
        std::fs::File::open(tmp.path())?.sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    if durability == Durability::Synced {
        sync_folder(dir)?;
    }
    Ok(())
}

/// [`replace_file`] with `bytes`.
pub fn replace_file_with(path: &Path, durability: Durability, bytes: &[u8]) -> io::Result<()> {
    replace_file(path, durability, |tmp| std::fs::write(tmp, bytes))
}

/// Makes a rename or a new file in `dir` durable. Folders cannot be opened for syncing
/// on Windows, where renames are durable enough.
pub fn sync_folder(dir: &Path) -> io::Result<()> {
    if cfg!(unix) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/f.txt");
        replace_file_with(&path, Durability::Synced, b"one").unwrap();
        replace_file_with(&path, Durability::Cached, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let failed = replace_file(&path, Durability::Synced, |tmp| {
            std::fs::write(tmp, b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["f.txt"]);
    }
}
