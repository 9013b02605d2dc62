//! `scan`: detect the layout of a data folder, list its images with their oracle labels,
//! discover the classes, and count what had to be skipped. Reads no pixels (IDX label
//! files and headers excepted).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use xxhash_rust::xxh3::Xxh3;

use super::collect::{collect, scan_idx, Found, Mode};
use super::holdout;
use super::idx::IdxFiles;
use super::names::{assign_keys, natural_cmp, split_key_prefix};
use super::walk::has_image_extension;
use super::walk::{list_dir, Entry, EntryKind};
use super::{
    display_path, Class, DatasetError, Fingerprint, Item, Layout, Pool, ScanOptions, SkipReason,
    Skipped,
};

/// Folder names taken for the test split next to `train/`.
const TEST_DIR_NAMES: &[&str] = &["test", "val", "valid", "validation"];
/// Bump when the fingerprint's inputs change.
const FINGERPRINT_VERSION: &str = "glean-scan-1";

/// Lists `root`, detects its layout and returns the pool with its classes and skips.
/// A folder that only wraps the data set (`assets/` holding `mnist/train`, …) is
/// entered: the pool's root is then the folder inside.
pub fn scan(root: &Path, opts: &ScanOptions) -> Result<Pool, DatasetError> {
    opts.validate()?;
    let meta = std::fs::metadata(root).map_err(|e| DatasetError::io(root, e))?;
    if !meta.is_dir() {
        return Err(DatasetError::NotADirectory(display_path(root)));
    }
    let pattern = compile_pattern(opts.label_pattern.as_deref())?;
    let given_classes = validate_classes(opts.classes.as_deref())?;
    let mut skipped = Skipped::default();

    let (root, entries) = unwrap_wrapper_folders(root)?;
    let root = root.as_path();
    let file_names: Vec<String> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::File(_)))
        .filter_map(|e| e.name.to_str().map(str::to_owned))
        .collect();
    let idx_files = IdxFiles::find(root, file_names.iter().map(|s| s.as_str()));
    let dir_named = |names: &[&str]| {
        entries.iter().find_map(|e| match &e.kind {
            EntryKind::Dir { path, .. }
                if e.name
                    .to_str()
                    .is_some_and(|n| names.iter().any(|want| want.eq_ignore_ascii_case(n))) =>
            {
                Some(path.clone())
            }
            _ => None,
        })
    };

    let (layout, pool_found, mut test_found) = if idx_files.train_images.is_some() {
        let (pool, test) = scan_idx(&idx_files, given_classes.as_deref())?;
        (Layout::Idx, pool, test)
    } else if let Some(train_dir) = dir_named(&["train"]) {
        let mode = detect_mode(&train_dir, pattern.as_ref(), given_classes.is_some())?;
        let pool = collect(&train_dir, "train/", mode, &mut skipped);
        let test = match dir_named(TEST_DIR_NAMES) {
            Some(test_dir) => {
                let prefix = format!(
                    "{}/",
                    test_dir.file_name().unwrap_or_default().to_string_lossy()
                );
                collect(
                    &test_dir,
                    &prefix,
                    labeled_mode(pattern.as_ref()),
                    &mut skipped,
                )
            }
            None => Vec::new(),
        };
        (Layout::SplitFolders, pool, test)
    } else {
        let mode = detect_mode(root, pattern.as_ref(), given_classes.is_some())?;
        let layout = match mode {
            Mode::ClassFolders => Layout::ClassFolders,
            Mode::Pattern(_) => Layout::NamePattern,
            Mode::Unlabeled => Layout::Unlabeled,
        };
        (layout, collect(root, "", mode, &mut skipped), Vec::new())
    };

    if let Some(test_dir) = &opts.test {
        let meta = std::fs::metadata(test_dir).map_err(|e| DatasetError::io(test_dir, e))?;
        if !meta.is_dir() {
            return Err(DatasetError::NotADirectory(display_path(test_dir)));
        }
        test_found = collect(
            test_dir,
            "test:",
            labeled_mode(pattern.as_ref()),
            &mut skipped,
        );
    }

    let classes = match &given_classes {
        Some(names) => assign_keys(&names.iter().map(|n| (n.clone(), None)).collect::<Vec<_>>()),
        None => discover_classes(pool_found.iter().chain(&test_found)),
    };
    let (mut items, mut test, mut fingerprint) =
        finish(layout, opts, &classes, pool_found, test_found, &mut skipped);
    if items.is_empty() {
        return Err(DatasetError::NoImages {
            root: display_path(root),
            skipped: skipped.total(),
            reasons: if skipped.is_empty() {
                String::new()
            } else {
                format!(": {}", skipped.summary())
            },
        });
    }
    if let Some(holdout) = opts.holdout {
        (items, test) = holdout::split(holdout, &display_path(root), classes.len(), items, &test)?;
        fingerprint = holdout::fingerprint(fingerprint, holdout);
    }
    if let Some(validation) = opts.validation {
        (items, test) =
            holdout::split_validation(validation, &display_path(root), classes.len(), items)?;
        fingerprint = holdout::validation_fingerprint(fingerprint, validation);
    }
    Ok(Pool {
        root: root.to_path_buf(),
        layout,
        classes,
        items,
        test,
        skipped,
        fingerprint,
    })
}

/// How many wrapper folders `scan` enters at most.
const MAX_WRAPPERS: usize = 3;

/// Enters `root` while it holds exactly one folder, no image and no IDX file, and that
/// folder holds folders or IDX files of its own (so a single class folder of images is
/// left alone). Returns the folder to scan and its listing.
fn unwrap_wrapper_folders(root: &Path) -> Result<(PathBuf, Vec<Entry>), DatasetError> {
    let mut dir = root.to_path_buf();
    let mut entries = list_dir(&dir, Path::new("")).map_err(|e| DatasetError::io(&dir, e))?;
    for _ in 0..MAX_WRAPPERS {
        let names = |entries: &[Entry]| -> Vec<String> {
            entries
                .iter()
                .filter(|e| matches!(e.kind, EntryKind::File(_)))
                .map(|e| e.name.to_string_lossy().into_owned())
                .collect()
        };
        let files = names(&entries);
        let has_data_files = files.iter().any(|n| has_image_extension(Path::new(n)))
            || IdxFiles::find(&dir, files.iter().map(|s| s.as_str())) != IdxFiles::default();
        let mut dirs = entries.iter().filter_map(|e| match &e.kind {
            EntryKind::Dir { path, .. } => Some(path.clone()),
            _ => None,
        });
        let (Some(only), None) = (dirs.next(), dirs.next()) else {
            break;
        };
        if has_data_files {
            break;
        }
        let Ok(inner) = list_dir(&only, Path::new("")) else {
            break;
        };
        let inner_files = names(&inner);
        let nested = inner
            .iter()
            .any(|e| matches!(e.kind, EntryKind::Dir { .. }))
            || IdxFiles::find(&only, inner_files.iter().map(|s| s.as_str())) != IdxFiles::default();
        if !nested {
            break;
        }
        dir = only;
        entries = inner;
    }
    Ok((dir, entries))
}

fn compile_pattern(pattern: Option<&str>) -> Result<Option<Regex>, DatasetError> {
    let Some(pattern) = pattern else {
        return Ok(None);
    };
    let bad = |message: String| DatasetError::BadPattern {
        pattern: pattern.to_string(),
        message,
    };
    let re = Regex::new(pattern).map_err(|e| bad(e.to_string()))?;
    if re.captures_len() != 2 {
        return Err(bad(format!(
            "needs exactly one capture group (the class), has {}",
            re.captures_len() - 1
        )));
    }
    Ok(Some(re))
}

fn validate_classes(classes: Option<&[String]>) -> Result<Option<Vec<String>>, DatasetError> {
    let Some(classes) = classes else {
        return Ok(None);
    };
    let names: Vec<String> = classes.iter().map(|c| c.trim().to_string()).collect();
    if names.is_empty() {
        return Err(DatasetError::BadClasses("the list is empty".into()));
    }
    if let Some(blank) = names.iter().position(|n| n.is_empty()) {
        return Err(DatasetError::BadClasses(format!(
            "class {} is blank",
            blank + 1
        )));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(DatasetError::BadClasses(format!(
            "{:?} is named twice",
            super::escape_for_display(dup)
        )));
    }
    if names.len() > u16::MAX as usize {
        return Err(DatasetError::BadClasses("too many classes".into()));
    }
    Ok(Some(names))
}

/// Class folders when `dir` has sub-folders, else the pattern, else unlabeled when
/// classes were given; a flat folder with nothing naming its classes is an error.
fn detect_mode<'a>(
    dir: &Path,
    pattern: Option<&'a Regex>,
    have_classes: bool,
) -> Result<Mode<'a>, DatasetError> {
    if let Some(re) = pattern {
        return Ok(Mode::Pattern(re));
    }
    let entries = list_dir(dir, Path::new("")).map_err(|e| DatasetError::io(dir, e))?;
    let has_class_dirs = entries.iter().any(|e| {
        matches!(e.kind, EntryKind::Dir { .. }) && !has_image_extension(Path::new(&e.name))
    });
    let has_images = entries
        .iter()
        .any(|e| matches!(e.kind, EntryKind::File(_)) && has_image_extension(Path::new(&e.name)));
    if has_class_dirs || !has_images {
        Ok(Mode::ClassFolders)
    } else if have_classes {
        Ok(Mode::Unlabeled)
    } else {
        Err(DatasetError::NoClasses(display_path(dir)))
    }
}

/// Test splits are always labeled: by the pattern, or by class folders.
fn labeled_mode(pattern: Option<&Regex>) -> Mode<'_> {
    pattern.map_or(Mode::ClassFolders, Mode::Pattern)
}

/// Classes named on disk, ordered naturally by their on-disk name (so `0_pug`, `1_dane`
/// keep their order), `6_great_dane` becoming `great_dane` on key 6.
fn discover_classes<'a>(found: impl Iterator<Item = &'a Found>) -> Vec<Class> {
    let mut raw: Vec<&str> = found.filter_map(|f| f.class.as_deref()).collect();
    raw.sort_unstable();
    raw.dedup();
    raw.sort_by(|a, b| natural_cmp(a, b));
    let mut named: Vec<(String, Option<char>)> = Vec::new();
    for r in raw {
        let (key, name) = split_key_prefix(r);
        if !named.iter().any(|(n, _)| n == name) {
            named.push((name.to_string(), key));
        }
    }
    assign_keys(&named)
}

/// Numbers the labels, drops unknown classes and duplicate ids, sorts the items and
/// fingerprints the result.
fn finish(
    layout: Layout,
    opts: &ScanOptions,
    classes: &[Class],
    pool: Vec<Found>,
    test: Vec<Found>,
    skipped: &mut Skipped,
) -> (Vec<Item>, Vec<Item>, Fingerprint) {
    let index: HashMap<&str, u16> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i as u16))
        .collect();
    let mut hasher = Xxh3::new();
    hasher.update(FINGERPRINT_VERSION.as_bytes());
    hasher.update(format!("{layout:?}|{:?}|{:?}", opts.label_pattern, opts.classes).as_bytes());
    let mut seen_ids = HashSet::new();
    let mut convert = |found: Vec<Found>, hasher: &mut Xxh3, skipped: &mut Skipped| {
        let mut rows: Vec<(Item, Found)> = Vec::with_capacity(found.len());
        for f in found {
            let label = match &f.class {
                None => None,
                Some(raw) => {
                    let by_name = index
                        .get(raw.as_str())
                        .or_else(|| index.get(split_key_prefix(raw).1));
                    match by_name {
                        Some(&l) => Some(l),
                        None => {
                            skipped.add(SkipReason::UnknownClass, &f.id);
                            continue;
                        }
                    }
                }
            };
            if !seen_ids.insert(f.id.clone()) {
                skipped.add(SkipReason::DuplicateId, &f.id);
                continue;
            }
            let item = Item {
                id: f.id.clone(),
                source: f.source.clone(),
                label,
            };
            rows.push((item, f));
        }
        rows.sort_by(|a, b| natural_cmp(&a.0.id, &b.0.id));
        hasher.update(&(rows.len() as u64).to_le_bytes());
        for (item, f) in &rows {
            hasher.update(&f.identity);
            hasher.update(&[0]);
            hasher.update(&f.size.to_le_bytes());
            hasher.update(&f.mtime_ns.to_le_bytes());
            hasher.update(&item.label.map_or(u32::MAX, u32::from).to_le_bytes());
        }
        rows.into_iter().map(|(item, _)| item).collect::<Vec<_>>()
    };
    let items = convert(pool, &mut hasher, skipped);
    let test = convert(test, &mut hasher, skipped);
    for c in classes {
        hasher.update(format!("{}|{:?};", c.name, c.key).as_bytes());
    }
    hasher.update(
        serde_json::to_string(&*skipped)
            .unwrap_or_default()
            .as_bytes(),
    );
    (items, test, Fingerprint(hasher.digest128()))
}
