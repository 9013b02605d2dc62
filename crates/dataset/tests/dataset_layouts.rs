//! Every layout, detected by itself, on files built here and on the real data sets
//! (when absent, see `glean_test_support::needs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use glean_dataset::{self as dataset, DecodeSpec, Layout, ScanOptions, SkipReason, Source};

use glean_test_support::png;

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn class_names(pool: &dataset::Pool) -> Vec<String> {
    pool.classes.iter().map(|c| c.name.clone()).collect()
}

fn crate_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[test]
fn class_folders_with_key_prefixes_and_natural_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for folder in ["10", "2", "6_great_dane", "b_beagle", "s_setter"] {
        put(root, &format!("{folder}/x.png"), &png(4, 1));
    }
    let pool = dataset::scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(pool.layout, Layout::ClassFolders);
    // Natural order of the folder names: 2 < 6_… < 10 < b_… < s_…
    assert_eq!(
        class_names(&pool),
        ["2", "great_dane", "10", "beagle", "s_setter"]
    );
    let keys: Vec<_> = pool.classes.iter().map(|c| c.key).collect();
    assert_eq!(
        keys,
        [Some('2'), Some('6'), Some('0'), Some('b'), Some('1')]
    );
    let dane = pool
        .items
        .iter()
        .find(|i| i.id == "6_great_dane/x.png")
        .unwrap();
    assert_eq!(dane.label, pool.class_index("great_dane"));
}

#[test]
fn split_folders_with_val_and_explicit_test_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    put(&root, "train/cat/1.png", &png(4, 1));
    put(&root, "train/dog/1.png", &png(4, 2));
    put(&root, "train/dog/2.png", &png(4, 3));
    put(&root, "val/cat/9.png", &png(4, 4));
    let pool = dataset::scan(&root, &ScanOptions::default()).unwrap();
    assert_eq!(pool.layout, Layout::SplitFolders);
    assert_eq!(pool.items.len(), 3);
    assert_eq!(pool.test.len(), 1);
    assert_eq!(pool.test[0].id, "val/cat/9.png");
    assert_eq!(pool.class_counts(), [1, 2]);

    // --test DIR replaces the split's own test folder; ids say where they come from.
    let other = tmp.path().join("other");
    put(&other, "dog/a.png", &png(4, 5));
    put(&other, "dog/b.png", &png(4, 6));
    let opts = ScanOptions {
        test: Some(other),
        ..ScanOptions::default()
    };
    let pool = dataset::scan(&root, &opts).unwrap();
    let ids: Vec<_> = pool.test.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["test:dog/a.png", "test:dog/b.png"]);
    assert_eq!(pool.test_class_counts(), [0, 2]);
}

#[test]
fn flat_folder_with_label_pattern() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "n01_pug.JPEG", &png(4, 1));
    put(root, "n02_great_dane.JPEG", &png(4, 2));
    put(root, "n03_pug.JPEG", &png(4, 3));
    put(root, "README.JPEG", &png(4, 4));
    let opts = ScanOptions {
        label_pattern: Some(r"^n\d+_(.+)\.JPEG$".into()),
        ..ScanOptions::default()
    };
    let pool = dataset::scan(root, &opts).unwrap();
    assert_eq!(pool.layout, Layout::NamePattern);
    assert_eq!(class_names(&pool), ["great_dane", "pug"]);
    assert_eq!(pool.class_counts(), [1, 2]);
    assert_eq!(pool.skipped.count(SkipReason::NoLabel), 1);
    assert_eq!(pool.skipped.examples(SkipReason::NoLabel), ["README.JPEG"]);

    for bad in ["(", "no_group", "(a)(b)"] {
        let opts = ScanOptions {
            label_pattern: Some(bad.into()),
            ..ScanOptions::default()
        };
        let err = dataset::scan(root, &opts).unwrap_err().to_string();
        assert!(err.contains("--label-pattern"), "{err}");
    }
}

#[test]
fn unlabeled_flat_folder_needs_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "a.png", &png(4, 1));
    put(root, "b.png", &png(4, 2));
    let err = dataset::scan(root, &ScanOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--classes"), "{err}");
    let opts = ScanOptions {
        classes: Some(vec!["yes".into(), "no".into()]),
        ..ScanOptions::default()
    };
    let pool = dataset::scan(root, &opts).unwrap();
    assert_eq!(pool.layout, Layout::Unlabeled);
    assert_eq!(class_names(&pool), ["yes", "no"]);
    assert!(pool.items.iter().all(|i| i.label.is_none()));
    let dup = ScanOptions {
        classes: Some(vec!["x".into(), "x".into()]),
        ..ScanOptions::default()
    };
    assert!(dataset::scan(root, &dup)
        .unwrap_err()
        .to_string()
        .contains("twice"));
}

#[test]
fn given_classes_restrict_labeled_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "cat/1.png", &png(4, 1));
    put(root, "dog/1.png", &png(4, 1));
    put(root, "emu/1.png", &png(4, 1));
    let opts = ScanOptions {
        classes: Some(vec!["dog".into(), "cat".into()]),
        ..ScanOptions::default()
    };
    let pool = dataset::scan(root, &opts).unwrap();
    assert_eq!(class_names(&pool), ["dog", "cat"]);
    assert_eq!(pool.class_counts(), [1, 1]);
    assert_eq!(pool.skipped.count(SkipReason::UnknownClass), 1);
}

fn write_idx(dir: &Path, prefix: &str, n: u32, gz: bool) {
    let mut images = Vec::new();
    for v in [0x803u32, n, 28, 28] {
        images.extend(v.to_be_bytes());
    }
    for i in 0..n {
        images.extend(std::iter::repeat_n(i as u8, 28 * 28));
    }
    let mut labels = Vec::new();
    for v in [0x801u32, n] {
        labels.extend(v.to_be_bytes());
    }
    labels.extend((0..n).map(|i| (i % 10) as u8));
    for (kind, bytes) in [("images-idx3", images), ("labels-idx1", labels)] {
        let name = format!("{prefix}-{kind}-ubyte");
        if gz {
            let f = fs::File::create(dir.join(format!("{name}.gz"))).unwrap();
            let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            enc.write_all(&bytes).unwrap();
            enc.finish().unwrap();
        } else {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn idx_files_plain_and_gz() {
    for gz in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        write_idx(tmp.path(), "train", 12, gz);
        write_idx(tmp.path(), "t10k", 5, gz);
        let loaded = dataset::load(
            tmp.path(),
            &ScanOptions::default(),
            None,
            &tmp.path().join("c"),
        )
        .unwrap();
        let pool = &loaded.pool;
        assert_eq!(pool.layout, Layout::Idx);
        assert_eq!(pool.items.len(), 12);
        assert_eq!(pool.test.len(), 5);
        assert_eq!(pool.items[11].id, "idx:11");
        assert_eq!(pool.test[4].id, "idx-test:4");
        assert!(matches!(pool.items[3].source, Source::Idx { index: 3, .. }));
        assert_eq!(pool.items[11].label, pool.class_index("1"));
        assert_eq!(
            loaded.spec(),
            DecodeSpec {
                channels: 1,
                size: 28
            }
        );
        assert_eq!(loaded.pool_pixels.item(7), &[7u8; 784][..]);
        assert_eq!(loaded.test_pixels.item(2), &[2u8; 784][..]);
    }
}

#[test]
fn idx_with_bad_magic_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx(tmp.path(), "train", 3, false);
    let images = tmp.path().join("train-images-idx3-ubyte");
    let mut bytes = fs::read(&images).unwrap();
    bytes[3] = 0x01;
    fs::write(&images, bytes).unwrap();
    let err = dataset::scan(tmp.path(), &ScanOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("magic number"), "{err}");
}

#[test]
fn bundled_mnist_sample() {
    let root = crate_path("assets/mnist");
    if !glean_test_support::needs("assets/mnist", root.join("train").exists()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let loaded = dataset::load(&root, &ScanOptions::default(), None, tmp.path()).unwrap();
    let pool = &loaded.pool;
    assert_eq!(pool.layout, Layout::SplitFolders);
    assert_eq!(
        class_names(pool),
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );
    let keys: String = pool.classes.iter().filter_map(|c| c.key).collect();
    assert_eq!(keys, "0123456789");
    assert!(pool.items.len() >= 900, "{}", pool.items.len());
    assert!(pool.test.len() >= 250, "{}", pool.test.len());
    assert!(pool
        .items
        .iter()
        .chain(&pool.test)
        .all(|i| i.label.is_some()));
    assert_eq!(
        loaded.spec(),
        DecodeSpec {
            channels: 1,
            size: 28
        }
    );
    // Real digits: dark background, some bright strokes.
    let digit = loaded.pool_pixels.item(0);
    assert!(digit.iter().filter(|&&p| p > 128).count() > 20);
    assert!(digit[0] < 30);
}

#[test]
fn full_mnist_idx_files() {
    let dir = glean_core::paths::cache_dir().join("mnist/package/data");
    if !glean_test_support::needs(
        "the full MNIST (make mnist)",
        dir.join("train-images-idx3-ubyte").exists(),
    ) {
        return;
    }
    let pool = dataset::scan(&dir, &ScanOptions::default()).unwrap();
    assert_eq!(pool.layout, Layout::Idx);
    assert_eq!((pool.items.len(), pool.test.len()), (60_000, 10_000));
    assert_eq!(pool.class_counts()[1], 6742);
    assert_eq!(pool.test_class_counts()[0], 980);
}

#[test]
fn imagenet_dogs_with_pattern() {
    let root = crate_path("../shared/datasets/imagenet-dogs");
    if !glean_test_support::needs("../shared/datasets/imagenet-dogs", root.exists()) {
        return;
    }
    let opts = ScanOptions {
        label_pattern: Some(r"^n\d+_(.+)\.JPEG$".into()),
        ..ScanOptions::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let loaded = dataset::load(&root, &opts, None, tmp.path()).unwrap();
    let pool = &loaded.pool;
    assert_eq!(pool.layout, Layout::NamePattern);
    assert_eq!(pool.classes.len(), 118);
    assert_eq!(pool.items.len(), 118);
    // 32 free keys (0-9, a-z without u s a q); the rest go through the class picker.
    assert_eq!(pool.classes.iter().filter(|c| c.key.is_some()).count(), 32);
    assert!(pool.class_index("Chihuahua").is_some());
    assert_eq!(
        loaded.spec(),
        DecodeSpec {
            channels: 3,
            size: 224
        }
    );
    assert_eq!(loaded.pool_pixels.data.len(), 118 * 3 * 224 * 224);
}

#[test]
fn cifar10_test_photos() {
    let root = crate_path("../shared/datasets/cifar10-test");
    if !glean_test_support::needs("../shared/datasets/cifar10-test", root.exists()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let loaded = dataset::load(&root, &ScanOptions::default(), None, tmp.path()).unwrap();
    let pool = &loaded.pool;
    assert_eq!(pool.layout, Layout::ClassFolders);
    assert_eq!(pool.classes.len(), 10);
    assert_eq!(pool.items.len(), 10_000);
    assert!(pool.class_counts().iter().all(|&n| n == 1000));
    assert_eq!(
        loaded.spec(),
        DecodeSpec {
            channels: 3,
            size: 32
        }
    );
    assert_eq!(loaded.pool_pixels.len(), 10_000);
    assert!(pool.skipped.is_empty());
}

#[test]
fn idx_labels_index_the_given_class_names() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx(tmp.path(), "train", 12, false);
    let names: Vec<String> = [
        "zero", "one", "two", "three", "four", "five", "six", "seven",
    ]
    .map(String::from)
    .to_vec();
    let opts = ScanOptions {
        classes: Some(names),
        ..ScanOptions::default()
    };
    let pool = dataset::scan(tmp.path(), &opts).unwrap();
    assert_eq!(pool.classes[3].name, "three");
    assert_eq!(pool.items[3].label, Some(3));
    // Labels 8 and 9 (images 8, 9) have no name: skipped, not mislabeled.
    assert_eq!(pool.items.len(), 10);
    assert_eq!(pool.skipped.count(SkipReason::UnknownClass), 2);
    assert_eq!(
        pool.skipped.examples(SkipReason::UnknownClass),
        ["idx:8", "idx:9"]
    );
}

#[test]
fn wrapper_folders_are_entered_but_a_single_class_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let wrap = tmp.path().join("wrap");
    put(&wrap, "README.md", b"about the data");
    put(&wrap, "inner/train/cat/1.png", &png(4, 1));
    put(&wrap, "inner/test/cat/2.png", &png(4, 2));
    let pool = dataset::scan(&wrap, &ScanOptions::default()).unwrap();
    assert_eq!(pool.root, wrap.join("inner"));
    assert_eq!(pool.layout, Layout::SplitFolders);
    assert_eq!((pool.items.len(), pool.test.len()), (1, 1));

    let single = tmp.path().join("single");
    put(&single, "only/a.png", &png(4, 1));
    let pool = dataset::scan(&single, &ScanOptions::default()).unwrap();
    assert_eq!(pool.root, single);
    assert_eq!(class_names(&pool), ["only"]);

    let assets = crate_path("assets");
    if assets.join("mnist/train").exists() {
        let pool = dataset::scan(&assets, &ScanOptions::default()).unwrap();
        assert_eq!(pool.layout, Layout::SplitFolders);
        assert_eq!(pool.classes.len(), 10);
    }
}
