//! Listing one folder's images with the class their place gives them (class folder,
//! file-name pattern, none), and the items of MNIST IDX files. Bad entries are counted
//! in `Skipped`, never fatal.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use regex::Regex;

use super::idx::{read_idx_labels, read_images_header, IdxFiles};
use super::walk::{
    dir_id, has_image_extension, list_dir, not_image_reason, walk, EntryKind, FileEntry,
};
use super::{display_path, DatasetError, SkipReason, Skipped, Source};

/// Files bigger than this are not read at all.
pub(crate) const MAX_FILE_BYTES: u64 = 256 << 20;

/// How the images of one folder get their class.
#[derive(Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// `dir/<class>/**/*.png`
    ClassFolders,
    /// `dir/**/*.png`, class captured from the file name
    Pattern(&'a Regex),
    /// `dir/**/*.png`, no class
    Unlabeled,
}

/// An image found by the scan, before classes are numbered.
pub(crate) struct Found {
    pub id: String,
    pub source: Source,
    /// The class as named on disk (folder name, captured text, IDX label).
    pub class: Option<String>,
    /// Raw path bytes (or IDX file + index), size and mtime, for the fingerprint.
    pub identity: Vec<u8>,
    pub size: u64,
    pub mtime_ns: u64,
}

fn rel_id(prefix: &str, rel: &Path) -> String {
    let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
    format!("{prefix}{}", parts.join("/"))
}

/// Every image below `dir` with the class its mode gives it; bad entries go to `skipped`.
pub(crate) fn collect(
    dir: &Path,
    id_prefix: &str,
    mode: Mode,
    skipped: &mut Skipped,
) -> Vec<Found> {
    let root_id = match dir_id(dir) {
        Ok(id) => id,
        Err(e) => {
            skipped.add(super::walk::reason_for(&e), &display_path(dir));
            return Vec::new();
        }
    };
    // (file, class as named on disk)
    let mut files: Vec<(FileEntry, Option<String>)> = Vec::new();
    let mut skips: Vec<(SkipReason, PathBuf)> = Vec::new();
    match mode {
        Mode::ClassFolders => {
            let entries = match list_dir(dir, Path::new("")) {
                Ok(e) => e,
                Err(e) => {
                    skipped.add(super::walk::reason_for(&e), &display_path(dir));
                    return Vec::new();
                }
            };
            let mut class_dirs = Vec::new();
            for entry in entries {
                let rel = PathBuf::from(&entry.name);
                match entry.kind {
                    // A loose file next to the class folders has no class.
                    EntryKind::File(f) if has_image_extension(&f.rel) => {
                        skips.push((SkipReason::NoLabel, rel))
                    }
                    EntryKind::File(_) => skips.push((SkipReason::NotImage, rel)),
                    EntryKind::Skip(reason) => skips.push((reason, rel)),
                    EntryKind::Dir { .. } if has_image_extension(&rel) => {
                        skips.push((SkipReason::NotRegularFile, rel))
                    }
                    EntryKind::Dir { path, id } => class_dirs.push((path, rel, id)),
                }
            }
            let walks: Vec<_> = class_dirs
                .par_iter()
                .map(|(path, rel, id)| {
                    let class = rel.to_string_lossy().into_owned();
                    (class, walk(path, rel, &[root_id, *id]))
                })
                .collect();
            for (class, w) in walks {
                files.extend(w.files.into_iter().map(|f| (f, Some(class.clone()))));
                skips.extend(w.skipped);
            }
        }
        Mode::Pattern(re) => {
            let w = walk(dir, Path::new(""), &[root_id]);
            skips.extend(w.skipped);
            for f in w.files {
                let name = f.rel.file_name().unwrap_or_default().to_string_lossy();
                let class = re
                    .captures(&name)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_string())
                    .filter(|c| !c.is_empty());
                match class {
                    Some(c) => files.push((f, Some(c))),
                    None if has_image_extension(&f.rel) => skips.push((SkipReason::NoLabel, f.rel)),
                    None => skips.push((SkipReason::NotImage, f.rel)),
                }
            }
        }
        Mode::Unlabeled => {
            let w = walk(dir, Path::new(""), &[root_id]);
            skips.extend(w.skipped);
            files.extend(w.files.into_iter().map(|f| (f, None)));
        }
    }
    for (reason, rel) in skips {
        skipped.add(reason, &rel_id(id_prefix, &rel));
    }
    let mut found = Vec::with_capacity(files.len());
    for (f, class) in files {
        let id = rel_id(id_prefix, &f.rel);
        let reason = if !has_image_extension(&f.rel) {
            Some(not_image_reason(&f.rel))
        } else if f.size == 0 {
            Some(SkipReason::EmptyFile)
        } else if f.size > MAX_FILE_BYTES {
            Some(SkipReason::TooLarge)
        } else {
            None
        };
        if let Some(reason) = reason {
            skipped.add(reason, &id);
            continue;
        }
        let mut identity = id_prefix.as_bytes().to_vec();
        identity.extend(f.rel.as_os_str().as_encoded_bytes());
        found.push(Found {
            id,
            source: Source::File(f.path),
            class,
            identity,
            size: f.size,
            mtime_ns: f.mtime_ns,
        });
    }
    found
}

/// The pool and test items of a folder of MNIST IDX files. A label is a class index:
/// it names the class `names[label]` when names are given, else the class "<label>".
pub(crate) fn scan_idx(
    files: &IdxFiles,
    names: Option<&[String]>,
) -> Result<(Vec<Found>, Vec<Found>), DatasetError> {
    let class_of = |label: u8| match names {
        Some(names) => names
            .get(label as usize)
            .cloned()
            // Beyond the given names: a name that matches none, so it is skipped.
            .unwrap_or_else(|| format!("\0label {label}")),
        None => label.to_string(),
    };
    let split = |images: &Path, labels: Option<&PathBuf>, prefix: &str| {
        let header = read_images_header(images)?;
        let labels_path = labels;
        let labels = labels.map(|l| read_idx_labels(l)).transpose()?;
        if let (Some(l), Some(path)) = (&labels, labels_path) {
            if l.len() != header.count {
                return Err(DatasetError::BadIdx {
                    path: display_path(path),
                    message: format!("{} labels for {} images", l.len(), header.count),
                });
            }
        }
        let meta = std::fs::metadata(images).map_err(|e| DatasetError::io(images, e))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        let labels_identity = labels.as_deref().map_or(0, xxhash_rust::xxh3::xxh3_64);
        Ok((0..header.count)
            .map(|index| {
                let mut identity = images.as_os_str().as_encoded_bytes().to_vec();
                identity.extend((index as u64).to_le_bytes());
                identity.extend(labels_identity.to_le_bytes());
                Found {
                    id: format!("{prefix}:{index}"),
                    source: Source::Idx {
                        file: images.to_path_buf(),
                        index,
                    },
                    class: labels.as_ref().map(|l| class_of(l[index])),
                    identity,
                    size: meta.len(),
                    mtime_ns,
                }
            })
            .collect::<Vec<_>>())
    };
    let pool = match &files.train_images {
        Some(images) => split(images, files.train_labels.as_ref(), "idx")?,
        None => Vec::new(),
    };
    let test = match &files.test_images {
        Some(images) => split(images, files.test_labels.as_ref(), "idx-test")?,
        None => Vec::new(),
    };
    Ok((pool, test))
}
