//! A small parallel directory walker that never stops on a bad entry: each entry is a
//! file (with size and mtime), a folder, or a skip with its reason. Symlinks are
//! followed; loops are detected by (device, inode) of the folders above.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;

use super::SkipReason;

/// Extensions taken for images; anything else is counted as "not an image".
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"];

/// Whether a file's name says it is an image.
pub(crate) fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Photo formats glean cannot decode, by extension, so they are reported for what they
/// are rather than as "not an image".
const UNSUPPORTED_EXTENSIONS: &[(&str, SkipReason)] = &[
    ("heic", SkipReason::UnsupportedHeif),
    ("heif", SkipReason::UnsupportedHeif),
    ("avif", SkipReason::UnsupportedHeif),
    ("cr2", SkipReason::UnsupportedRaw),
    ("cr3", SkipReason::UnsupportedRaw),
    ("nef", SkipReason::UnsupportedRaw),
    ("nrw", SkipReason::UnsupportedRaw),
    ("arw", SkipReason::UnsupportedRaw),
    ("dng", SkipReason::UnsupportedRaw),
    ("raf", SkipReason::UnsupportedRaw),
    ("orf", SkipReason::UnsupportedRaw),
    ("rw2", SkipReason::UnsupportedRaw),
    ("pef", SkipReason::UnsupportedRaw),
    ("srw", SkipReason::UnsupportedRaw),
];

/// Why a file whose name does not say it is an image is left out.
pub(crate) fn not_image_reason(path: &Path) -> SkipReason {
    path.extension()
        .and_then(|e| e.to_str())
        .and_then(|e| {
            UNSUPPORTED_EXTENSIONS
                .iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(e))
        })
        .map_or(SkipReason::NotImage, |&(_, reason)| reason)
}

/// A regular file found by the walk.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub path: PathBuf,
    /// Path below the folder the walk started from.
    pub rel: PathBuf,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u64,
}

/// What one directory entry turned out to be.
#[derive(Debug)]
pub(crate) enum EntryKind {
    File(FileEntry),
    Dir { path: PathBuf, id: (u64, u64) },
    Skip(SkipReason),
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub name: OsString,
    pub kind: EntryKind,
}

/// Files and skips below a folder.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub files: Vec<FileEntry>,
    /// Skipped entries with their path relative to the walk's start.
    pub skipped: Vec<(SkipReason, PathBuf)>,
}

impl Walk {
    fn extend(&mut self, other: Walk) {
        self.files.extend(other.files);
        self.skipped.extend(other.skipped);
    }
}

/// (device, inode) of a folder, for loop detection.
pub(crate) fn dir_id(path: &Path) -> io::Result<(u64, u64)> {
    let m = fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

/// The entries of one folder, sorted by name; hidden entries (`.name`) are left out.
/// `rel` is the folder's path relative to the walk's start.
pub(crate) fn list_dir(dir: &Path, rel: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = match entry {
            Ok(e) => e,
            // An entry that vanished or cannot be read mid-listing is not worth failing
            // the folder for; it has no name we could report.
            Err(_) => continue,
        };
        let name = entry.file_name();
        if name.as_encoded_bytes().first() == Some(&b'.') {
            continue;
        }
        let path = entry.path();
        let kind = classify(&entry, &path, &rel.join(&name));
        entries.push(Entry { name, kind });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn classify(entry: &fs::DirEntry, path: &Path, rel: &Path) -> EntryKind {
    let file_type = match entry.file_type() {
        Ok(t) => t,
        Err(e) => return EntryKind::Skip(reason_for(&e)),
    };
    // Follow symlinks: the target decides what the entry is.
    let meta = if file_type.is_symlink() {
        fs::metadata(path)
    } else {
        entry.metadata()
    };
    let meta = match meta {
        Ok(m) => m,
        Err(e) => return EntryKind::Skip(reason_for(&e)),
    };
    if meta.is_dir() {
        EntryKind::Dir {
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
        }
    } else if meta.is_file() {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        EntryKind::File(FileEntry {
            path: path.to_path_buf(),
            rel: rel.to_path_buf(),
            size: meta.len(),
            mtime_ns,
        })
    } else {
        EntryKind::Skip(SkipReason::NotRegularFile)
    }
}

/// ELOOP is "too many levels of symbolic links"; everything else is unreadable.
pub(crate) fn reason_for(e: &io::Error) -> SkipReason {
    const ELOOP: i32 = 40;
    if e.raw_os_error() == Some(ELOOP) {
        SkipReason::SymlinkLoop
    } else {
        SkipReason::Unreadable
    }
}

/// Every file below `dir` (recursively, sub-folders walked in parallel). `ancestors`
/// holds the (device, inode) of the folders above, `dir` included. Folders whose
/// name looks like an image file are reported as not regular files, not entered.
pub(crate) fn walk(dir: &Path, rel: &Path, ancestors: &[(u64, u64)]) -> Walk {
    let mut out = Walk::default();
    let entries = match list_dir(dir, rel) {
        Ok(e) => e,
        Err(e) => {
            out.skipped.push((reason_for(&e), rel.to_path_buf()));
            return out;
        }
    };
    let mut subdirs = Vec::new();
    for entry in entries {
        let entry_rel = rel.join(&entry.name);
        match entry.kind {
            EntryKind::File(f) => out.files.push(f),
            EntryKind::Skip(reason) => out.skipped.push((reason, entry_rel)),
            EntryKind::Dir { id, .. } if ancestors.contains(&id) => {
                out.skipped.push((SkipReason::SymlinkLoop, entry_rel))
            }
            EntryKind::Dir { .. } if has_image_extension(Path::new(&entry.name)) => {
                out.skipped.push((SkipReason::NotRegularFile, entry_rel))
            }
            EntryKind::Dir { path, id } => subdirs.push((path, entry_rel, id)),
        }
    }
    let nested: Vec<Walk> = subdirs
        .par_iter()
        .map(|(path, sub_rel, id)| {
            let mut chain = ancestors.to_vec();
            chain.push(*id);
            walk(path, sub_rel, &chain)
        })
        .collect();
    for w in nested {
        out.extend(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn follows_links_and_reports_loops_and_dangling() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/x.png"), b"12").unwrap();
        fs::write(root.join(".hidden"), b"1").unwrap();
        symlink(root.join("a"), root.join("a/b/up")).unwrap(); // loop to an ancestor
        symlink("self.png", root.join("a/self.png")).unwrap(); // ELOOP
        symlink("missing.png", root.join("a/gone.png")).unwrap(); // dangling
        symlink(root.join("a/b/x.png"), root.join("link.png")).unwrap();
        fs::create_dir(root.join("dir.png")).unwrap();

        let w = walk(root, Path::new(""), &[dir_id(root).unwrap()]);
        let mut files: Vec<_> = w.files.iter().map(|f| f.rel.clone()).collect();
        files.sort();
        assert_eq!(
            files,
            [PathBuf::from("a/b/x.png"), PathBuf::from("link.png")]
        );
        assert!(w.files.iter().all(|f| f.size == 2 && f.mtime_ns > 0));
        let mut skipped = w.skipped.clone();
        skipped.sort();
        assert_eq!(
            skipped,
            [
                (SkipReason::Unreadable, PathBuf::from("a/gone.png")),
                (SkipReason::NotRegularFile, PathBuf::from("dir.png")),
                (SkipReason::SymlinkLoop, PathBuf::from("a/b/up")),
                (SkipReason::SymlinkLoop, PathBuf::from("a/self.png")),
            ]
        );
    }
}
