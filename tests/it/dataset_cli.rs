//! `glean scan` end to end: the real binary on a folder built here.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support;
use support::fixtures::png;

fn glean_scan(args: &[&str], cache: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glean"))
        .arg("scan")
        .args(args)
        .env("GLEAN_CACHE_DIR", cache)
        .env("GLEAN_DATA_DIR", cache.join("data"))
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn scan_prints_layout_classes_skips_cache_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for (folder, n) in [("train/0_cat", 3u8), ("train/1_dog", 2), ("test/0_cat", 1)] {
        fs::create_dir_all(root.join(folder)).unwrap();
        for i in 0..n {
            fs::write(root.join(folder).join(format!("{i}.png")), png(8, i)).unwrap();
        }
    }
    fs::write(
        root.join("train/1_dog/\x1b[2Jevil.jpg"),
        b"text, not a jpeg",
    )
    .unwrap();
    fs::write(root.join("train/0_cat/empty.png"), b"").unwrap();
    let cache = tmp.path().join("cache");
    let dir = root.to_str().unwrap();

    let (ok, cold, err) = glean_scan(&[dir], &cache);
    assert!(ok, "{err}");
    for want in [
        "layout:   train/test split folders",
        "pool:     5 images",
        "test:     1 images",
        "[0] cat",
        "[1] dog",
        "decode:   grayscale 8x8",
        "skipped:  2 files",
        "1  not an image",
        "e.g. train/1_dog/\\x1b[2Jevil.jpg",
        "1  empty file",
        "cache:    miss",
        "time:     scan",
    ] {
        assert!(cold.contains(want), "missing {want:?} in:\n{cold}");
    }
    assert!(
        !cold.contains('\x1b'),
        "raw escape sequence printed:\n{cold}"
    );

    let (ok, warm, err) = glean_scan(&[dir], &cache);
    assert!(ok, "{err}");
    assert!(warm.contains("cache:    hit"), "{warm}");
    assert!(
        warm.contains("1  not an image"),
        "skips lost in the cache:\n{warm}"
    );

    let (ok, sized, err) = glean_scan(&[dir, "--size", "4", "--channels", "3"], &cache);
    assert!(ok, "{err}");
    assert!(sized.contains("decode:   RGB 4x4"), "{sized}");
}

#[test]
fn scan_of_a_flat_folder_without_classes_explains_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("flat");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("n1_pug.png"), png(4, 1)).unwrap();
    let cache = tmp.path().join("cache");
    let dir = root.to_str().unwrap();
    let (ok, _, err) = glean_scan(&[dir], &cache);
    assert!(!ok);
    assert!(err.contains("--label-pattern"), "{err}");

    let (ok, out, err) = glean_scan(&[dir, "--label-pattern", r"^n\d+_(.+)\.png$"], &cache);
    assert!(ok, "{err}");
    assert!(out.contains("[0] pug"), "{out}");

    let (ok, out, err) = glean_scan(&[dir, "--classes", "yes,no"], &cache);
    assert!(ok, "{err}");
    assert!(
        out.contains("flat folder, unlabeled") && out.contains("[1] no"),
        "{out}"
    );
}
