//! A session made with `--holdout` keeps its test split across resume: the data spec
//! records the flag as `glean label` does, and `DataSpec::scan_options` (what
//! `glean resume` scans with) gives back the same test ids.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod session_common;

use std::path::Path;

use glean_dataset::{self as dataset, Holdout, Item, ScanOptions};
use glean_session::Session;
use session_common::config;

fn ids(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}

/// Three class folders of 6, 5 and 4 small PNGs.
fn class_folders(root: &Path) {
    for (class, n) in [("cat", 6u8), ("dog", 5), ("fox", 4)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..n {
            image::GrayImage::from_pixel(4, 4, image::Luma([i * 30]))
                .save(root.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
}

#[test]
fn a_session_made_with_a_holdout_resumes_with_the_same_test_split() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    let sessions = tmp.path().join("sessions");
    class_folders(&root);

    for flag in ["5", "0.3", "20%"] {
        let holdout: Holdout = flag.parse().unwrap();
        let scan = ScanOptions {
            holdout: Some(holdout),
            ..ScanOptions::default()
        };
        let made = dataset::scan(&root, &scan).unwrap();
        assert!(!made.test.is_empty(), "--holdout {flag} held out nothing");

        // What `glean label DATA --holdout FLAG` records.
        let name = format!("pets-{}", flag.replace('%', "pct"));
        let mut config = config(&root);
        config.data.holdout = scan.holdout.map(|h| h.to_string());
        config.pool_size = made.items.len();
        drop(Session::create(&sessions, &name, config).unwrap());

        // What `glean resume NAME` scans with.
        let (session, _) = Session::open(&sessions, &name).unwrap();
        let data = &session.config().data;
        let rescan = data.scan_options(session.name()).unwrap();
        assert_eq!(rescan.holdout, Some(holdout), "--holdout {flag}");
        let resumed = dataset::scan(&data.root, &rescan).unwrap();
        assert_eq!(ids(&resumed.test), ids(&made.test), "--holdout {flag}");
        assert_eq!(ids(&resumed.items), ids(&made.items), "--holdout {flag}");
        assert_eq!(resumed.items.len(), session.config().pool_size);
    }
}

#[test]
fn a_session_without_a_holdout_resumes_without_a_test_split() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    let sessions = tmp.path().join("sessions");
    class_folders(&root);
    drop(Session::create(&sessions, "pets", config(&root)).unwrap());
    let snapshot = std::fs::read_to_string(sessions.join("pets.ron")).unwrap();
    assert!(!snapshot.contains("holdout"), "{snapshot}");

    let (session, _) = Session::open(&sessions, "pets").unwrap();
    let rescan = session.config().data.scan_options("pets").unwrap();
    assert_eq!(rescan, ScanOptions::default());
    let pool = dataset::scan(&root, &rescan).unwrap();
    assert!(pool.test.is_empty());
    assert_eq!(pool.items.len(), 15);
}
