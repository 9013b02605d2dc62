//! Scanning image folders and IDX files into a pool of items with optional oracle labels,
//! decoding them into tensor-ready pixel buffers (cached on disk), and counting every file
//! that had to be skipped, with its reason.
//!
//! This crate knows nothing of sessions, the UI or tch: its output is plain bytes.
//!
//! `scan` lists files (cheap: one walk and one stat per file); `load` is `scan` plus a
//! parallel decode and an on-disk cache keyed by a fingerprint of the file list.

mod cache;
mod collect;
mod decode;
pub mod export;
mod holdout;
mod idx;
mod load;
mod names;
mod open;
pub mod report;
mod scan;
mod skipped;
mod spec;
mod thumbnails;
mod walk;

use std::path::{Path, PathBuf};

pub use decode::{decode_file, decode_file_keeping_thumbnail, decode_image_bytes};
/// Changes whenever decoding gives other pixels: caches derived from decoded images
/// (the backbone's features, graphs) carry it in their keys.
pub const DECODE_VERSION: u32 = cache::FORMAT_VERSION;
pub use holdout::{Holdout, ParseHoldoutError};
pub use idx::{read_idx_images, read_idx_labels, IdxImages};
pub use load::{choose_spec, decode_pool, load, DecodedPool, LoadTimings, Loaded};
pub use names::{escape_for_display, keyed_class_capacity, natural_cmp};
pub use open::{open_image, open_image_bytes, MinSize};
pub use scan::scan;
pub use skipped::{SkipReason, Skipped};
pub use spec::{DecodeSpec, Pixels};
pub use thumbnails::{fit_within, ThumbnailCache, THUMB_SIDE};

/// How the data folder is laid out; detected by `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Layout {
    /// `root/<class>/*.png`
    ClassFolders,
    /// `root/train/<class>/…` and `root/test/<class>/…`
    SplitFolders,
    /// `root/*.jpg` with the class in the file name (`--label-pattern`)
    NamePattern,
    /// `root/*` unlabeled images (classes from `--classes`, no oracle)
    Unlabeled,
    /// MNIST-style `train-images-idx3-ubyte[.gz]` and friends
    Idx,
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layout::ClassFolders => "class folders",
            Layout::SplitFolders => "train/test split folders",
            Layout::NamePattern => "flat folder, class from the file name",
            Layout::Unlabeled => "flat folder, unlabeled",
            Layout::Idx => "MNIST IDX files",
        })
    }
}

/// A class: its name and the key that labels it on screen (None when there are more
/// classes than keys; the class picker reaches those).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Class {
    pub name: String,
    pub key: Option<char>,
}

/// Where an item's pixels come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// Image `index` of an IDX images file.
    Idx {
        file: PathBuf,
        index: usize,
    },
}

/// One image of the pool or the test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Stable id: the path relative to the data root (lossy UTF-8, `/`-separated), or
    /// `idx:<n>` / `idx-test:<n>` for IDX images. Sessions store labels by this id.
    pub id: String,
    pub source: Source,
    /// The label the auto-oracle knows (from the folder, the file name or the IDX labels):
    /// an index into `Pool::classes`.
    pub label: Option<u16>,
}

/// What `scan` and `load` are asked to do beyond the root folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// An explicit test folder (class folders, or flat with `label_pattern`).
    pub test: Option<PathBuf>,
    /// Regex with one capture group that extracts the class from a file name.
    pub label_pattern: Option<String>,
    /// Class names, in key order: names the classes of an unlabeled folder, or fixes the
    /// class list of a labeled one (items of other classes are then skipped).
    pub classes: Option<Vec<String>>,
    /// Carve a class-stratified test split out of the labeled pool (`--holdout`): for
    /// data with no test split of its own. Chosen by a fixed hash of each item's id.
    pub holdout: Option<Holdout>,
    /// Carve a class-stratified validation split out of the pool left after any
    /// hold-out (`--validation`, `simulate` only): it takes the test split's place, and
    /// the test split is not read at all, so that choices are made without it.
    pub validation: Option<Holdout>,
}

impl ScanOptions {
    /// Checks that the options fit together (not the data: `scan` does that), so a
    /// command can refuse a bad combination before it reads anything.
    pub fn validate(&self) -> Result<(), DatasetError> {
        holdout::check_options(self)
    }
}

/// A fingerprint of everything a scan saw (relative paths, sizes, mtimes, options);
/// two scans with the same fingerprint list the same files with the same contents (as
/// far as size and mtime tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint(pub u128);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The result of a scan: what is there, labeled how, and what had to be skipped.
#[derive(Debug, Clone)]
pub struct Pool {
    pub root: PathBuf,
    pub layout: Layout,
    pub classes: Vec<Class>,
    /// The pool the user labels (the train split, when there is one).
    pub items: Vec<Item>,
    /// The labeled test split (empty when there is none).
    pub test: Vec<Item>,
    pub skipped: Skipped,
    /// Identity of the listed files; `load` keys its cache by it.
    pub fingerprint: Fingerprint,
}

impl Pool {
    /// Index of the class with this name.
    pub fn class_index(&self, name: &str) -> Option<u16> {
        self.classes
            .iter()
            .position(|c| c.name == name)
            .map(|i| i as u16)
    }

    /// Number of pool items per class (index = class), counting only labeled items.
    pub fn class_counts(&self) -> Vec<usize> {
        count_labels(&self.items, self.classes.len())
    }

    /// Number of test items per class.
    pub fn test_class_counts(&self) -> Vec<usize> {
        count_labels(&self.test, self.classes.len())
    }
}

fn count_labels(items: &[Item], classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for label in items.iter().filter_map(|i| i.label) {
        if let Some(c) = counts.get_mut(label as usize) {
            *c += 1;
        }
    }
    counts
}

/// Why a data set could not be scanned or loaded at all (single bad files are not
/// errors: they are skipped and counted in `Skipped`).
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: not a directory")]
    NotADirectory(String),
    #[error("{root}: no usable image found ({skipped} files skipped{reasons})")]
    NoImages {
        root: String,
        skipped: usize,
        reasons: String,
    },
    #[error("--label-pattern {pattern:?}: {message}")]
    BadPattern { pattern: String, message: String },
    #[error(
        "{0}: images lie directly in the folder but nothing names their classes; \
         give --label-pattern REGEX (class in the file name) or --classes a,b,c"
    )]
    NoClasses(String),
    #[error("--classes: {0}")]
    BadClasses(String),
    /// A `--holdout` or `--validation` share that the data cannot give.
    #[error("{flag} {value}: {message}")]
    BadSplit {
        flag: &'static str,
        value: String,
        message: String,
    },
    #[error("{path}: not a valid IDX file: {message}")]
    BadIdx { path: String, message: String },
    #[error("decode spec {channels} channel(s) at {size}x{size}: {message}")]
    BadSpec {
        channels: u8,
        size: u32,
        message: String,
    },
}

impl DatasetError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: escape_for_display(&path.to_string_lossy()),
            source,
        }
    }
}

/// A path as it may be shown on a terminal.
pub(crate) fn display_path(path: &Path) -> String {
    escape_for_display(&path.to_string_lossy())
}
