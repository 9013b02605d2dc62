//! `--holdout` through the public dataset API: `scan` and `load` on class folders, and
//! the CIFAR-10 split the learner issues measure on (8,000 pool, 2,000 test).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::path::Path;

use glean_dataset::{self as dataset, Holdout, Item, ScanOptions};

fn ids(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

/// Class folders of blank 4×4 PNGs in `root`: `count` of each class.
fn class_folders(root: &Path, classes: &[(&str, usize)]) {
    for &(class, count) in classes {
        let dir = root.join(class);
        std::fs::create_dir(&dir).unwrap();
        for i in 0..count {
            image::GrayImage::new(4, 4)
                .save(dir.join(format!("{i}.png")))
                .unwrap();
        }
    }
}

/// Class folders written to a temp dir: scan applies the hold-out, changes the
/// fingerprint, and gives the same split for the same files.
#[test]
fn scan_applies_the_holdout_to_class_folders() {
    let tmp = tempfile::tempdir().unwrap();
    class_folders(tmp.path(), &[("cat", 10), ("dog", 5)]);
    let plain = dataset::scan(tmp.path(), &ScanOptions::default()).unwrap();
    assert!(plain.test.is_empty());
    let opts = ScanOptions {
        holdout: Some(Holdout::Fraction(0.2)),
        ..ScanOptions::default()
    };
    let split_pool = dataset::scan(tmp.path(), &opts).unwrap();
    assert_eq!(split_pool.class_counts(), [8, 4]);
    assert_eq!(split_pool.test_class_counts(), [2, 1]);
    assert_ne!(split_pool.fingerprint, plain.fingerprint);
    let again = dataset::scan(tmp.path(), &opts).unwrap();
    assert_eq!(again.test, split_pool.test);
    assert_eq!(again.fingerprint, split_pool.fingerprint);
}

/// Split and unsplit loads of one folder keep separate pool caches, both reused.
#[test]
fn load_keeps_split_and_unsplit_caches_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for (class, n) in [("a", 6), ("b", 4)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..n {
            image::GrayImage::from_pixel(6, 6, image::Luma([i * 20]))
                .save(root.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let cache = tmp.path().join("cache");
    let plain = ScanOptions::default();
    let split = ScanOptions {
        holdout: Some(Holdout::Count(5)),
        ..ScanOptions::default()
    };
    let load = |opts: &ScanOptions| dataset::load(&root, opts, None, &cache).unwrap();
    let (plain_cold, split_cold) = (load(&plain), load(&split));
    assert!(!plain_cold.from_cache && !split_cold.from_cache);
    assert_ne!(plain_cold.cache_file, split_cold.cache_file);
    assert_eq!(split_cold.pool.test_class_counts(), [3, 2]);
    assert_eq!(split_cold.test_pixels.len(), 5);
    assert_eq!(split_cold.pool_pixels.len(), 5);
    let (plain_warm, split_warm) = (load(&plain), load(&split));
    assert!(plain_warm.from_cache && split_warm.from_cache);
    assert_eq!(split_warm.pool.test, split_cold.pool.test);
    assert_eq!(split_warm.test_pixels, split_cold.test_pixels);
    assert_eq!(plain_warm.pool.items.len(), 10);
}

/// The split issues #3 and #6 measure CIFAR-10 on: 8,000 pool, 2,000 test.
#[test]
fn cifar10_test_splits_into_8000_pool_and_2000_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/cifar10-test");
    if !glean_test_support::needs("../shared/datasets/cifar10-test", root.is_dir()) {
        return;
    }
    let opts = ScanOptions {
        holdout: Some(Holdout::Count(2000)),
        ..ScanOptions::default()
    };
    let first = dataset::scan(&root, &opts).unwrap();
    assert_eq!(first.classes.len(), 10);
    assert_eq!(first.items.len(), 8000);
    assert_eq!(first.test.len(), 2000);
    assert_eq!(first.test_class_counts(), [200; 10]);
    assert_eq!(first.class_counts(), [800; 10]);
    let second = dataset::scan(&root, &opts).unwrap();
    assert_eq!(ids(&first.test), ids(&second.test));
    assert_eq!(first.fingerprint, second.fingerprint);
    let fraction = ScanOptions {
        holdout: Some(Holdout::Fraction(0.2)),
        ..ScanOptions::default()
    };
    assert_eq!(
        ids(&dataset::scan(&root, &fraction).unwrap().test),
        ids(&first.test)
    );
}

/// `--validation` cuts its split from the pool the hold-out left, by class, the same
/// files every time, none of them held out for the test split; that split is then set
/// aside and the validation split measured on in its place.
#[test]
fn validation_is_cut_from_the_pool_the_holdout_leaves() {
    let tmp = tempfile::tempdir().unwrap();
    class_folders(tmp.path(), &[("cat", 20), ("dog", 10)]);
    let held = ScanOptions {
        holdout: Some(Holdout::Fraction(0.2)),
        ..ScanOptions::default()
    };
    let test_split = dataset::scan(tmp.path(), &held).unwrap();
    assert_eq!(test_split.class_counts(), [16, 8]);
    let with_validation = ScanOptions {
        validation: Some(Holdout::Count(6)),
        ..held.clone()
    };
    let validated = dataset::scan(tmp.path(), &with_validation).unwrap();
    assert_eq!(validated.test_class_counts(), [4, 2]);
    assert_eq!(validated.class_counts(), [12, 6]);
    for item in &validated.test {
        assert!(
            test_split.items.contains(item),
            "{} is not from the pool",
            item.id
        );
        assert!(!test_split.test.contains(item), "{} was held out", item.id);
    }
    for item in &validated.items {
        assert!(test_split.items.contains(item), "{}", item.id);
    }
    assert_ne!(validated.fingerprint, test_split.fingerprint);
    let again = dataset::scan(tmp.path(), &with_validation).unwrap();
    assert_eq!(ids(&again.test), ids(&validated.test));
    assert_eq!(again.fingerprint, validated.fingerprint);
    // Not the hold-out's next slice of each class: another hash orders the pool.
    let larger_holdout = ScanOptions {
        holdout: Some(Holdout::Count(12)),
        ..ScanOptions::default()
    };
    let next_slice: Vec<String> = dataset::scan(tmp.path(), &larger_holdout)
        .unwrap()
        .test
        .into_iter()
        .filter(|i| !test_split.test.contains(i))
        .map(|i| i.id)
        .collect();
    assert_eq!(next_slice.len(), 6);
    assert_ne!(ids(&validated.test), next_slice);

    // A share the pool cannot give is refused, naming the flag.
    let too_many = ScanOptions {
        validation: Some(Holdout::Count(24)),
        ..held
    };
    let err = dataset::scan(tmp.path(), &too_many)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--validation 24: the pool has only 24 labeled images"),
        "{err}"
    );
}
