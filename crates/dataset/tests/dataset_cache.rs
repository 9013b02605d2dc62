//! The decoded-pool cache: a warm load decodes nothing, a changed folder is noticed, a
//! corrupt cache file is ignored, and files are written atomically.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use glean_dataset::{self as dataset, DecodeSpec, ScanOptions};

use glean_test_support::png;

fn make_folder(root: &Path) {
    for (class, n) in [("cat", 3u8), ("dog", 2)] {
        fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..n {
            fs::write(root.join(class).join(format!("{i}.png")), png(6, i * 40)).unwrap();
        }
    }
}

fn pool_files(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(cache.join("pools"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn warm_load_uses_the_cache_and_matches_cold() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    make_folder(&root);
    let cache = tmp.path().join("cache");
    let opts = ScanOptions::default();
    let cold = dataset::load(&root, &opts, None, &cache).unwrap();
    assert!(!cold.from_cache);
    assert_eq!(pool_files(&cache), std::slice::from_ref(&cold.cache_file));
    let warm = dataset::load(&root, &opts, None, &cache).unwrap();
    assert!(warm.from_cache);
    assert_eq!(warm.timings.decode, Duration::ZERO);
    assert_eq!(warm.pool_pixels, cold.pool_pixels);
    assert_eq!(warm.pool.items, cold.pool.items);
    assert_eq!(
        warm.spec(),
        DecodeSpec {
            channels: 1,
            size: 6
        }
    );
    // No temporary files are left behind.
    assert_eq!(pool_files(&cache).len(), 1);
}

#[test]
fn another_spec_is_another_cache_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    make_folder(&root);
    let cache = tmp.path().join("cache");
    let opts = ScanOptions::default();
    let small = Some(DecodeSpec {
        channels: 1,
        size: 3,
    });
    let rgb = Some(DecodeSpec {
        channels: 3,
        size: 4,
    });
    let a = dataset::load(&root, &opts, small, &cache).unwrap();
    let b = dataset::load(&root, &opts, rgb, &cache).unwrap();
    assert!(!a.from_cache && !b.from_cache);
    assert_eq!(a.pool_pixels.item(1).len(), 9);
    assert_eq!(b.pool_pixels.item(1), &[40u8; 48][..]);
    assert!(
        dataset::load(&root, &opts, small, &cache)
            .unwrap()
            .from_cache
    );
    assert_eq!(pool_files(&cache).len(), 2);
}

#[test]
fn changed_folder_is_decoded_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    make_folder(&root);
    let cache = tmp.path().join("cache");
    let opts = ScanOptions::default();
    dataset::load(&root, &opts, None, &cache).unwrap();

    // A new file.
    fs::write(root.join("dog/9.png"), png(6, 250)).unwrap();
    let added = dataset::load(&root, &opts, None, &cache).unwrap();
    assert!(!added.from_cache);
    assert_eq!(added.pool.items.len(), 6);
    assert!(
        dataset::load(&root, &opts, None, &cache)
            .unwrap()
            .from_cache
    );

    // Same name and size, new content and mtime.
    let path = root.join("cat/0.png");
    fs::write(&path, png(6, 77)).unwrap();
    let later = SystemTime::now() + Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let changed = dataset::load(&root, &opts, None, &cache).unwrap();
    assert!(!changed.from_cache);
    assert_eq!(changed.pool_pixels.item(0), &[77u8; 36][..]);

    // A removed file.
    fs::remove_file(root.join("dog/1.png")).unwrap();
    let removed = dataset::load(&root, &opts, None, &cache).unwrap();
    assert!(!removed.from_cache);
    assert_eq!(removed.pool.items.len(), 5);
    // Still one cache file for this root, options and spec.
    assert_eq!(pool_files(&cache).len(), 1);
}

#[test]
fn corrupt_cache_files_are_ignored_and_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    make_folder(&root);
    let cache = tmp.path().join("cache");
    let opts = ScanOptions::default();
    let cold = dataset::load(&root, &opts, None, &cache).unwrap();
    let file = cold.cache_file.clone();
    let good = fs::read(&file).unwrap();

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good[..good.len() - 9].to_vec()),
        ("one byte flipped", flipped),
        (
            "garbage",
            b"GLNPOOL\nthis is not a cache file at all".to_vec(),
        ),
    ];
    for (what, bytes) in damaged {
        fs::write(&file, bytes).unwrap();
        let loaded = dataset::load(&root, &opts, None, &cache).unwrap();
        assert!(!loaded.from_cache, "{what}: a damaged cache was trusted");
        assert_eq!(loaded.pool_pixels, cold.pool_pixels, "{what}");
        assert_eq!(fs::read(&file).unwrap(), good, "{what}: not rewritten");
    }
}

#[test]
fn unwritable_cache_dir_still_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    make_folder(&root);
    // A file where the cache folder should be: nothing can be written there.
    let cache = tmp.path().join("cache");
    fs::write(&cache, b"in the way").unwrap();
    let loaded = dataset::load(&root, &ScanOptions::default(), None, &cache).unwrap();
    assert!(!loaded.from_cache);
    assert_eq!(loaded.pool.items.len(), 5);
}
