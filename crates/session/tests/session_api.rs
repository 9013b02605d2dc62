//! The session API on real files: lifecycle, undo, skips, rounds, queue, reconcile,
//! compaction, the lock, and damaged snapshots that must be left untouched.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod session_common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::Utc;
use glean_session::{
    journal_path, list, load, most_recent, snapshot_path, RoundRecord, Session, SessionError,
    SessionState, Source, COMPACT_MIN_BYTES,
};
use session_common::{config, copy_session};

/// Each label's item, class and source, in the session's order.
fn labels_by_item(s: &SessionState) -> Vec<(String, u16, Source)> {
    s.labels()
        .iter()
        .map(|l| (l.item.clone(), l.class, l.source))
        .collect()
}

fn round(version: u64, labels: usize, acc: Option<f64>) -> RoundRecord {
    RoundRecord {
        model_version: version,
        labels,
        test_accuracy: acc,
        seconds: 1.5,
        learner: "cnn".into(),
        time: Utc::now(),
        label_digest: None,
    }
}

#[test]
fn everything_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "mnist", config(Path::new("/data/x"))).unwrap();
    s.label("cat/1.png", 0, Source::Human).unwrap();
    s.skip("dog/2.png").unwrap();
    s.record_round(round(1, 1, Some(0.5))).unwrap();
    s.label("dog/2.png", 1, Source::Oracle).unwrap();
    s.set_queue(
        1,
        vec!["dog/2.png".into(), "fox/3.png".into(), "cat/4.png".into()],
    )
    .unwrap();
    s.skip("fox/3.png").unwrap();
    let before = s.state().clone();
    assert_eq!(before.labels()[1].round, 1);
    assert_eq!(
        before.skipped(),
        ["fox/3.png"],
        "labeling dog/2.png unskipped it"
    );
    s.close().unwrap();

    let (s, report) = Session::open(d, "mnist").unwrap();
    assert_eq!(report.replayed, 0, "close compacts the journal");
    assert!(report.warnings().is_empty());
    assert_eq!(s.state().labels(), before.labels());
    assert_eq!(s.state().skipped(), ["fox/3.png"]);
    assert_eq!(s.state().rounds(), before.rounds());
    assert_eq!(s.state().config(), before.config());
    assert_eq!(s.state().queue(), (1, vec!["cat/4.png"]));
    assert_eq!(s.state().last_accuracy(), Some(0.5));
    assert_eq!(
        std::fs::metadata(journal_path(d, "mnist")).unwrap().len(),
        0
    );
}

#[test]
fn journal_alone_restores_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let (d, crash) = (dir.path().join("live"), dir.path().join("crash"));
    let mut s = Session::create(&d, "j", config(&d)).unwrap();
    s.set_compact_every(1000);
    for i in 0..20 {
        s.label(&format!("cat/{i}.png"), (i % 3) as u16, Source::Human)
            .unwrap();
    }
    s.undo().unwrap();
    s.skip("dog/x.png").unwrap();
    s.record_round(round(2, 19, None)).unwrap();
    copy_session(&d, &crash, "j");
    let (back, report) = load(&crash, "j").unwrap();
    assert_eq!(report.replayed, 23);
    assert_eq!(back.labels(), s.labels());
    assert_eq!(back.skipped(), s.skipped());
    assert_eq!(back.rounds(), s.rounds());
}

/// The labeler undoes by item: a label with later ones behind it goes, the later ones
/// stay and keep their place, in the live session, after a crash (journal replay) and
/// after compaction.
#[test]
fn undo_of_an_item_takes_back_its_label_wherever_it_stands() {
    let dir = tempfile::tempdir().unwrap();
    let (d, crash) = (dir.path().join("live"), dir.path().join("crash"));
    let mut s = Session::create(&d, "i", config(&d)).unwrap();
    for (i, item) in ["a", "b", "c", "d"].iter().enumerate() {
        s.label(item, i as u16 % 3, Source::Human).unwrap();
    }
    let undone = s.undo_item("b").unwrap().expect("b is labeled");
    assert_eq!((undone.item.as_str(), undone.class), ("b", 1));
    assert_eq!(s.undo_item("b").unwrap(), None, "b has no label left");
    let order = |s: &SessionState| -> Vec<(String, u16)> {
        s.labels()
            .iter()
            .map(|l| (l.item.clone(), l.class))
            .collect()
    };
    let expected = vec![
        ("a".to_string(), 0),
        ("c".to_string(), 2),
        ("d".to_string(), 0),
    ];
    assert_eq!(order(s.state()), expected);
    assert_eq!(s.state().label_of("d").map(|l| l.class), Some(0));
    assert!(s.state().label_of("b").is_none());
    // The later labels' places moved up: they can still be undone, and relabeled.
    s.undo_item("c").unwrap().expect("c is labeled");
    s.label("c", 1, Source::Human).unwrap();
    let expected = vec![
        ("a".to_string(), 0),
        ("d".to_string(), 0),
        ("c".to_string(), 1),
    ];
    assert_eq!(order(s.state()), expected);
    copy_session(&d, &crash, "i");
    let (replayed, report) = load(&crash, "i").unwrap();
    assert_eq!(report.replayed, 7);
    assert_eq!(order(&replayed), expected);
    s.compact().unwrap();
    drop(s);
    let (reopened, _) = Session::open(&d, "i").unwrap();
    assert_eq!(order(reopened.state()), expected);
}

/// A page that small classes share: each confirmed item takes the class it was shown
/// as, in the page's order, in one record that replays and reopens the same.
#[test]
fn a_page_of_several_classes_gives_each_item_the_class_it_was_shown_as() {
    let dir = tempfile::tempdir().unwrap();
    let (d, crash) = (dir.path().join("live"), dir.path().join("crash"));
    let mut s = Session::create(&d, "m", config(&d)).unwrap();
    s.confirm_page(
        vec![
            ("a".into(), 2),
            ("b".into(), 2),
            ("c".into(), 0),
            ("d".into(), 1),
        ],
        vec![("e".into(), 1)],
        Source::Oracle,
    )
    .unwrap();
    let expected = vec![
        ("a".to_string(), 2, Source::Confirmed),
        ("b".to_string(), 2, Source::Confirmed),
        ("c".to_string(), 0, Source::Confirmed),
        ("d".to_string(), 1, Source::Confirmed),
        ("e".to_string(), 1, Source::Oracle),
    ];
    assert_eq!(labels_by_item(s.state()), expected);
    let journal = std::fs::read_to_string(journal_path(&d, "m")).unwrap();
    assert_eq!(journal.lines().count(), 1, "one record for the whole page");
    copy_session(&d, &crash, "m");
    let (replayed, _) = load(&crash, "m").unwrap();
    assert_eq!(labels_by_item(&replayed), expected);
    s.compact().unwrap();
    drop(s);
    let (reopened, _) = Session::open(&d, "m").unwrap();
    assert_eq!(labels_by_item(reopened.state()), expected);
}

#[test]
fn a_confirmed_page_is_one_record_and_its_undo_takes_back_the_whole_page() {
    let dir = tempfile::tempdir().unwrap();
    let (d, crash) = (dir.path().join("live"), dir.path().join("crash"));
    let mut s = Session::create(&d, "p", config(&d)).unwrap();
    s.label("a", 0, Source::Human).unwrap();
    s.skip("e").unwrap();
    let journal_lines = || {
        std::fs::read_to_string(journal_path(&d, "p"))
            .unwrap()
            .lines()
            .count()
    };
    let before = journal_lines();
    let page = |items: &[&str]| items.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let shown_as = |items: &[&str], class: u16| {
        items
            .iter()
            .map(|i| (i.to_string(), class))
            .collect::<Vec<_>>()
    };
    s.confirm_page(
        shown_as(&["b", "c", "e"], 1),
        vec![("d".into(), 2)],
        Source::Human,
    )
    .unwrap();
    assert_eq!(journal_lines(), before + 1, "one record for the whole page");
    let expected = vec![
        ("a".to_string(), 0, Source::Human),
        ("b".to_string(), 1, Source::Confirmed),
        ("c".to_string(), 1, Source::Confirmed),
        ("e".to_string(), 1, Source::Confirmed),
        ("d".to_string(), 2, Source::Human),
    ];
    assert_eq!(labels_by_item(s.state()), expected);
    assert!(s.skipped().is_empty(), "a confirmed page unskips its items");
    // A page with a labeled item, a class out of range or an item twice is refused
    // whole, and nothing reaches the journal.
    for (class, confirmed, corrected) in [
        (1, &["f", "a"][..], vec![]),
        (7, &["f"], vec![]),
        (1, &["f"], vec![("g".to_string(), 9)]),
        (1, &["f", "g"], vec![("f".to_string(), 0)]),
    ] {
        assert!(s
            .confirm_page(shown_as(confirmed, class), corrected, Source::Human)
            .is_err());
    }
    assert!(s
        .confirm_page(
            vec![("f".into(), 1), ("h".into(), 9)],
            vec![],
            Source::Human
        )
        .is_err());
    assert!(s
        .confirm_page(
            shown_as(&["f"], 1),
            vec![("g".into(), 0)],
            Source::Confirmed
        )
        .is_err());
    assert_eq!(journal_lines(), before + 1);
    assert!(s.state().label_of("f").is_none());
    // Replayed from the journal after a crash, the page is there whole.
    copy_session(&d, &crash, "p");
    let (replayed, _) = load(&crash, "p").unwrap();
    assert_eq!(labels_by_item(&replayed), expected);
    // Undo of the page takes back its four labels in one record, across a compaction.
    s.compact().unwrap();
    let undone = s.undo_items(&page(&["b", "c", "e", "d"])).unwrap();
    assert_eq!(undone.len(), 4);
    assert_eq!(journal_lines(), 1);
    assert!(
        s.undo_items(&page(&["a", "b"])).is_err(),
        "b has no label left"
    );
    assert_eq!(labels_by_item(s.state()), expected[..1]);
    drop(s);
    let (s, _) = Session::open(&d, "p").unwrap();
    assert_eq!(labels_by_item(s.state()), expected[..1]);
    assert_eq!(s.state().label_of("a").map(|l| l.class), Some(0));
}

/// A likely-mistakes page's corrections are one record that changes the classes (and
/// sources) of labeled items in place; a page with an unlabeled item, a class out of
/// range, an item twice or nothing at all is refused whole and writes nothing; the undo
/// gives back the labels as they were, in one record too, across a crash and a reopen.
#[test]
fn a_correction_page_is_taken_back_whole_after_a_compaction_and_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "c", config(d)).unwrap();
    s.label("a", 0, Source::Human).unwrap();
    s.label("b", 1, Source::Human).unwrap();
    s.label("c", 1, Source::Oracle).unwrap();
    let before = labels_by_item(s.state());
    let originals = s.labels().to_vec();
    s.relabel(vec![("c".into(), 2), ("a".into(), 1)], Source::Human)
        .unwrap();
    s.label("d", 2, Source::Human).unwrap();
    let corrected = s.state().label_of("a").unwrap().corrected.clone().unwrap();
    assert_eq!(corrected.after, 3, "the page came after three labels");
    assert_eq!(*corrected.was, originals[0]);
    // The page's memory outlives the journal: folded into the snapshot, then reopened.
    s.compact().unwrap();
    drop(s);
    let (mut s, _) = Session::open(d, "c").unwrap();
    assert_eq!(
        s.state()
            .label_of("c")
            .unwrap()
            .corrected
            .as_ref()
            .unwrap()
            .page,
        corrected.page
    );
    s.undo().unwrap();
    // Only the whole page, and only what a page changed, is taken back.
    assert!(s.undo_correction(&["c".into()]).is_err());
    assert!(s.undo_correction(&["b".into()]).is_err());
    assert!(s
        .undo_correction(&["c".into(), "a".into(), "b".into()])
        .is_err());
    s.undo_correction(&["c".into(), "a".into()]).unwrap();
    assert_eq!(labels_by_item(s.state()), before);
    assert_eq!(
        s.labels(),
        &originals[..],
        "sources, times and guesses as they were"
    );
    assert!(s.labels().iter().all(|l| l.corrected.is_none()));
    // Nothing left to take back as a page.
    assert!(s.undo_correction(&["c".into(), "a".into()]).is_err());
}

#[test]
fn a_relabel_is_one_record_and_its_undo_gives_the_labels_back() {
    let dir = tempfile::tempdir().unwrap();
    let (d, crash) = (dir.path().join("live"), dir.path().join("crash"));
    let mut s = Session::create(&d, "r", config(&d)).unwrap();
    s.set_compact_every(1000);
    s.label("a", 0, Source::Human).unwrap();
    s.confirm_page(
        vec![("b".into(), 1), ("c".into(), 1)],
        vec![],
        Source::Human,
    )
    .unwrap();
    s.label("d", 2, Source::Oracle).unwrap();
    let journal_lines = || {
        std::fs::read_to_string(journal_path(&d, "r"))
            .unwrap()
            .lines()
            .count()
    };
    let before = labels_by_item(s.state());
    let lines = journal_lines();
    let was = s
        .relabel(vec![("c".into(), 2), ("a".into(), 1)], Source::Human)
        .unwrap();
    assert_eq!(journal_lines(), lines + 1, "one record for the page");
    // In place, in the order they were given; the others untouched.
    let after = vec![
        ("a".to_string(), 1, Source::Human),
        ("b".to_string(), 1, Source::Confirmed),
        ("c".to_string(), 2, Source::Human),
        ("d".to_string(), 2, Source::Oracle),
    ];
    assert_eq!(labels_by_item(s.state()), after);
    let old: Vec<(String, u16, Source)> = was
        .iter()
        .map(|l| (l.item.clone(), l.class, l.source))
        .collect();
    assert_eq!(
        old,
        [
            ("c".to_string(), 1, Source::Confirmed),
            ("a".to_string(), 0, Source::Human)
        ]
    );
    // Refused whole: an unlabeled item, a class out of range, an item twice, nothing,
    // a "confirmed" source; the journal and the labels stay as they are.
    for (items, source) in [
        (
            vec![("b".to_string(), 0), ("e".to_string(), 0)],
            Source::Human,
        ),
        (
            vec![("b".to_string(), 0), ("d".to_string(), 3)],
            Source::Human,
        ),
        (
            vec![("b".to_string(), 0), ("b".to_string(), 2)],
            Source::Oracle,
        ),
        (vec![], Source::Human),
        (vec![("b".to_string(), 0)], Source::Confirmed),
    ] {
        assert!(s.relabel(items.clone(), source).is_err(), "{items:?}");
    }
    assert_eq!(journal_lines(), lines + 1);
    assert_eq!(labels_by_item(s.state()), after);
    // Replayed from the journal after a crash: the page is there.
    copy_session(&d, &crash, "r");
    let (replayed, _) = load(&crash, "r").unwrap();
    assert_eq!(labels_by_item(&replayed), after);
    assert_eq!(replayed.label_of("c").unwrap().round, 0);
    // The undo: one record, the labels exactly as they were.
    let labels_before_undo = s.labels().to_vec();
    s.restore_labels(was.clone()).unwrap();
    assert_eq!(journal_lines(), lines + 2);
    assert_eq!(labels_by_item(s.state()), before);
    assert_eq!(s.state().label_of("c"), Some(&was[0]));
    assert_ne!(s.labels(), &labels_before_undo[..]);
    // A restore of a label taken back since is refused.
    s.undo_item("a").unwrap();
    assert!(s.restore_labels(vec![was[1].clone()]).is_err());
    drop(s);
    let (s, _) = Session::open(&d, "r").unwrap();
    assert_eq!(labels_by_item(s.state()), before[1..]);
    assert_eq!(s.state().label_of("c"), Some(&was[0]));
}

#[test]
fn undo_goes_back_again_and_again_across_compactions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "u", config(d)).unwrap();
    for item in ["a", "b", "c"] {
        s.label(item, 2, Source::Human).unwrap();
    }
    s.compact().unwrap();
    s.label("d", 0, Source::Human).unwrap();
    let undone: Vec<String> = (0..5)
        .map_while(|_| s.undo().unwrap())
        .map(|l| l.item)
        .collect();
    assert_eq!(undone, ["d", "c", "b", "a"]);
    assert_eq!(s.undo().unwrap(), None);
    s.label("c", 1, Source::Human).unwrap(); // relabel after undo
    drop(s);
    let (s, _) = Session::open(d, "u").unwrap();
    let labels: Vec<(&str, u16)> = s
        .labels()
        .iter()
        .map(|l| (l.item.as_str(), l.class))
        .collect();
    assert_eq!(labels, [("c", 1)]);
}

#[test]
fn bad_changes_are_refused_and_not_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "bad", config(d)).unwrap();
    s.label("a", 0, Source::Human).unwrap();
    let len = std::fs::metadata(journal_path(d, "bad")).unwrap().len();
    let err = s.label("b", 3, Source::Human).unwrap_err();
    assert!(err.to_string().contains("class 3 does not exist"), "{err}");
    let err = s.label("a", 1, Source::Human).unwrap_err();
    assert!(err.to_string().contains("already labeled cat"), "{err}");
    assert!(s.skip("a").is_err());
    assert!(s.record_round(round(1, 1, Some(1.5))).is_err());
    assert!(s.record_round(round(1, 1, Some(f64::NAN))).is_err());
    assert_eq!(
        std::fs::metadata(journal_path(d, "bad")).unwrap().len(),
        len
    );
    s.skip("b").unwrap();
    s.skip("b").unwrap(); // no-op
    assert_eq!(s.skipped(), ["b"]);
    s.label("b", 1, Source::Human).unwrap();
    assert!(s.skipped().is_empty(), "labeling a skipped item unskips it");
}

#[test]
fn create_open_and_names_report_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Session::create(d, "one", config(d)).unwrap();
    drop(s);
    let err = Session::create(d, "one", config(d)).unwrap_err();
    assert!(matches!(err, SessionError::Exists { .. }), "{err}");
    let err = Session::open(d, "two").unwrap_err();
    assert!(matches!(err, SessionError::NotFound { .. }), "{err}");
    assert!(
        !d.join("two.lock").exists(),
        "a failed open leaves no stray lock file"
    );
    for bad in ["../escape", ".hidden", "a/b", ""] {
        let err = Session::create(d, bad, config(d)).unwrap_err();
        assert!(
            matches!(err, SessionError::InvalidName { .. }),
            "{bad}: {err}"
        );
    }
    let mut no_class = config(d);
    no_class.classes.clear();
    assert!(Session::create(d, "c", no_class).is_err());
    std::fs::write(journal_path(d, "orphan"), b"x\n").unwrap();
    let err = Session::create(d, "orphan", config(d)).unwrap_err();
    assert!(err.to_string().contains("snapshot is gone"), "{err}");
}

#[test]
fn open_or_create_resumes_with_the_stored_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut s, report) = Session::open_or_create(d, "oc", config(Path::new("/first"))).unwrap();
    assert_eq!(report, Default::default());
    s.label("a", 0, Source::Human).unwrap();
    drop(s);
    let (s, _) = Session::open_or_create(d, "oc", config(Path::new("/second"))).unwrap();
    assert_eq!(s.config().data.root, Path::new("/first"));
    assert_eq!(s.labels().len(), 1);
    assert!(matches!(
        Session::open_or_create(d, "oc", config(d)),
        Err(SessionError::Locked { .. })
    ));
}

#[test]
fn automatic_compaction_empties_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "c", config(d)).unwrap();
    s.set_compact_every(3);
    for i in 0..7 {
        s.label(&i.to_string(), 0, Source::Oracle).unwrap();
    }
    let journal = std::fs::read_to_string(journal_path(d, "c")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
    let snapshot = std::fs::read_to_string(snapshot_path(d, "c")).unwrap();
    assert_eq!(snapshot.matches("source: Oracle").count(), 6);
    assert!(!d.join("c.ron.tmp").exists());
}

#[test]
fn leaving_keeps_the_journal_and_counts_it_toward_the_next_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let journal_lines = || {
        std::fs::read_to_string(journal_path(d, "q"))
            .unwrap()
            .lines()
            .count()
    };
    let mut s = Session::create(d, "q", config(d)).unwrap();
    s.defer_compaction();
    for i in 0..5 {
        s.label(&i.to_string(), 0, Source::Human).unwrap();
    }
    s.set_queue(1, vec!["7".into(), "8".into()]).unwrap();
    // The same queue again, as a quit stores it, writes nothing.
    s.set_queue(1, vec!["7".into(), "8".into()]).unwrap();
    assert_eq!(journal_lines(), 6);
    let before = s.state().clone();
    s.leave().unwrap();
    assert_eq!(journal_lines(), 6, "leaving compacted a session not due");

    let (mut s, report) = Session::open(d, "q").unwrap();
    assert_eq!(report.replayed, 6);
    assert_eq!(s.state().labels(), before.labels());
    assert_eq!(s.state().queue(), before.queue());
    // The last run's records count toward the journal's size like this run's: the
    // compaction is due once the file reaches COMPACT_MIN_BYTES (the snapshot is
    // smaller), not before.
    let journal_bytes = || std::fs::metadata(journal_path(d, "q")).unwrap().len();
    s.defer_compaction();
    let mut skips = 0;
    while journal_bytes() < COMPACT_MIN_BYTES {
        assert!(
            !s.compact_if_due().unwrap(),
            "due at {} bytes",
            journal_bytes()
        );
        s.skip(&format!("s{skips}")).unwrap();
        skips += 1;
    }
    assert!(
        s.compact_if_due().unwrap(),
        "not due at {} bytes",
        journal_bytes()
    );
    assert_eq!(journal_lines(), 0);
    s.leave().unwrap();
    let (s, report) = Session::open(d, "q").unwrap();
    assert_eq!(report.replayed, 0);
    assert_eq!(s.state().labels(), before.labels());
    assert_eq!(s.state().skipped().len(), skips);
}

/// A session of many labels waits until its journal outgrows the snapshot, whatever
/// the journal holds: queue records of 500 ids each, as the labeler writes one per
/// ranking, pile up to the snapshot's size and no further.
#[test]
fn the_journal_is_compacted_once_it_outgrows_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "big", config(d)).unwrap();
    s.defer_compaction();
    for i in 0..3000 {
        s.label(&format!("item/{i:05}.png"), (i % 3) as u16, Source::Human)
            .unwrap();
    }
    s.compact().unwrap();
    let snapshot = std::fs::metadata(snapshot_path(d, "big")).unwrap().len();
    assert!(snapshot > 2 * COMPACT_MIN_BYTES, "{snapshot} bytes");
    let journal_bytes = || std::fs::metadata(journal_path(d, "big")).unwrap().len();
    let mut rankings = 0;
    while journal_bytes() < snapshot {
        assert!(
            !s.compact_if_due().unwrap(),
            "due at {} bytes of journal, the snapshot {snapshot}",
            journal_bytes()
        );
        let queue = (0..500)
            .map(|k| format!("item/{:05}.png", 3000 + (rankings * 7 + k) % 5000))
            .collect();
        s.set_queue(rankings as u64, queue).unwrap();
        rankings += 1;
    }
    assert!(rankings > 1, "one queue record outweighed the snapshot");
    assert!(s.compact_if_due().unwrap());
    assert_eq!(journal_bytes(), 0);
    s.leave().unwrap();
    let (s, _) = Session::open(d, "big").unwrap();
    assert_eq!(s.labels().len(), 3000);
    assert_eq!(s.state().queue().1.len(), 500);
}

#[test]
fn reconcile_reports_vanished_items_and_keeps_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "r", config(d)).unwrap();
    for item in ["a", "b", "c"] {
        s.label(item, 0, Source::Human).unwrap();
    }
    s.skip("e").unwrap();
    let present: HashSet<String> = ["a", "c", "d"].iter().map(|s| s.to_string()).collect();
    assert_eq!(s.reconcile(&present).unwrap(), ["b", "e"]);
    assert_eq!(s.config().pool_size, 3);
    assert_eq!(s.labels().len(), 3);
    drop(s);
    let (s, _) = Session::open(d, "r").unwrap();
    assert_eq!(s.config().pool_size, 3);
    assert_eq!(s.labels().len(), 3);
}

#[test]
fn second_open_in_the_same_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Session::create(d, "busy", config(d)).unwrap();
    let err = Session::open(d, "busy").unwrap_err();
    let expected = format!(
        "session busy is open in another glean process (pid {})",
        std::process::id()
    );
    assert!(err.to_string().starts_with(&expected), "{err}");
    assert!(Session::create(d, "busy", config(d)).is_err());
    drop(s);
    Session::open(d, "busy").unwrap();
}

/// Run by `second_open_from_another_process_is_refused` in a child process: holds the
/// session open until its stdin closes.
#[test]
#[ignore = "helper process of second_open_from_another_process_is_refused"]
fn lock_holder_child() {
    let Some(dir) = std::env::var_os("GLEAN_TEST_LOCK_DIR") else {
        return;
    };
    let (_s, _) = Session::open(Path::new(&dir), "shared").unwrap();
    println!("LOCKED");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn second_open_from_another_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    Session::create(d, "shared", config(d))
        .unwrap()
        .close()
        .unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "lock_holder_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GLEAN_TEST_LOCK_DIR", d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // libtest prints "test lock_holder_child ... " before the test's own output.
    while !line.trim_end().ends_with("LOCKED") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended without locking"
        );
    }
    let err = Session::open(d, "shared").unwrap_err();
    match &err {
        SessionError::Locked { pid, .. } => assert_eq!(*pid, Some(child.id())),
        other => panic!("expected Locked, got {other}"),
    }
    assert!(
        err.to_string().contains(&format!("pid {}", child.id())),
        "{err}"
    );
    drop(child.stdin.take()); // the child's read returns, it exits, the lock is released
    assert!(child.wait().unwrap().success());
    Session::open(d, "shared").unwrap();
}

#[test]
fn damaged_snapshots_are_reported_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "dmg", config(d)).unwrap();
    s.label("a", 0, Source::Human).unwrap();
    s.label("b", 1, Source::Human).unwrap();
    s.close().unwrap();
    let mut s = Session::open(d, "dmg").unwrap().0;
    s.set_compact_every(1000);
    s.label("c", 2, Source::Human).unwrap();
    drop(s); // compacts: the snapshot now holds all three labels
    let good = std::fs::read(snapshot_path(d, "dmg")).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let truncated = good[..good.len() * 2 / 3].to_vec();
    let versioned = text.replace("version: 2,", "version: 9,").into_bytes();
    let cases: [(&str, Vec<u8>); 3] = [
        ("truncated", truncated),
        ("not RON", b"labels = [\"a\", \"b\"]\n".to_vec()),
        ("unknown version", versioned),
    ];
    for (what, bytes) in cases {
        std::fs::write(snapshot_path(d, "dmg"), &bytes).unwrap();
        std::fs::write(journal_path(d, "dmg"), b"").unwrap();
        let err = Session::open(d, "dmg").unwrap_err();
        let msg = err.to_string();
        let path = snapshot_path(d, "dmg");
        assert!(
            matches!(err, SessionError::Snapshot { .. }),
            "{what}: {msg}"
        );
        assert!(
            msg.starts_with(&format!("{}:", path.display())),
            "{what}: {msg}"
        );
        assert!(
            msg.contains("left untouched") && msg.contains(".bad"),
            "{what}: {msg}"
        );
        // Everything that could write refuses, and the bytes stay as they were.
        assert!(Session::create(d, "dmg", config(d)).is_err());
        assert!(load(d, "dmg").is_err());
        let listed = list(d).unwrap();
        assert!(
            listed[0].problem.as_deref().unwrap().contains("dmg.ron:"),
            "{what}"
        );
        assert_eq!(most_recent(d).unwrap(), None);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: snapshot was modified"
        );
    }
    // Restoring the good bytes makes the session open again.
    std::fs::write(snapshot_path(d, "dmg"), &good).unwrap();
    let (s, _) = Session::open(d, "dmg").unwrap();
    assert_eq!(s.labels().len(), 3);
}

#[test]
fn list_and_most_recent_read_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(list(&d.join("missing")).unwrap().is_empty());
    let mut a = Session::create(d, "a", config(Path::new("/data/a"))).unwrap();
    a.label("x", 0, Source::Human).unwrap();
    a.record_round(round(1, 1, Some(0.25))).unwrap();
    a.close().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut b = Session::create(d, "b", config(Path::new("/data/b"))).unwrap();
    b.label("y", 0, Source::Human).unwrap();
    // b stays open: list reads it without the lock, journal included.
    let listed = list(d).unwrap();
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(listed[1].labeled, 1);
    assert_eq!(listed[1].pool_size, 10);
    assert_eq!(listed[1].last_accuracy, Some(0.25));
    assert_eq!(listed[1].data_root.as_deref(), Some(Path::new("/data/a")));
    assert_eq!(listed[0].labeled, 1);
    assert_eq!(most_recent(d).unwrap().as_deref(), Some("b"));
    drop(b);
}

/// A session written by a glean of format version 1 (committed in tests/data/v1: a
/// snapshot of two labels and a skip, a journal with a label and a page) opens with
/// every label; its page's labels get the page's number; the next compaction writes
/// the snapshot and the journal in this build's formats, which open the same.
#[test]
fn a_version_1_session_opens_and_is_written_back_in_this_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1");
    copy_session(&old, d, "old");
    let (s, report) = Session::open(d, "old").unwrap();
    assert_eq!(report.replayed, 2);
    let labels = |s: &SessionState| -> Vec<(String, u16, Option<u64>)> {
        s.labels()
            .iter()
            .map(|l| (l.item.clone(), l.class, l.page))
            .collect()
    };
    let expected = vec![
        ("cat/0.png".to_string(), 0, None),
        ("dog/0.png".to_string(), 1, None),
        ("dog/1.png".to_string(), 1, None),
        ("cat/1.png".to_string(), 0, Some(5)),
        ("cat/2.png".to_string(), 0, Some(5)),
        ("cat/3.png".to_string(), 1, Some(5)),
    ];
    assert_eq!(labels(s.state()), expected);
    assert_eq!(s.skipped(), ["cat/9.png"]);
    let mut s = s;
    s.compact().unwrap();
    s.label("dog/3.png", 1, Source::Human).unwrap();
    drop(s);
    let snapshot = std::fs::read_to_string(snapshot_path(d, "old")).unwrap();
    assert!(snapshot.contains("\n    version: 2,\n"), "{snapshot}");
    assert!(snapshot.contains("page: Some(5)"), "{snapshot}");
    let journal = std::fs::read_to_string(journal_path(d, "old")).unwrap();
    assert!(
        journal.lines().all(|l| l.contains("{\"v\":2,")),
        "{journal}"
    );
    let (reopened, _) = Session::open(d, "old").unwrap();
    let mut more = expected.clone();
    more.push(("dog/3.png".to_string(), 1, None));
    assert_eq!(labels(reopened.state()), more);
}

/// A journal record of a newer format than this build's is an error naming its line,
/// not a record read as something else.
#[test]
fn a_journal_record_of_a_newer_format_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "new", config(Path::new("/data/x"))).unwrap();
    s.set_compact_every(1000);
    s.label("a", 0, Source::Human).unwrap();
    std::mem::forget(s);
    let path = journal_path(d, "new");
    let line = std::fs::read_to_string(&path).unwrap();
    let json = line
        .split_once(' ')
        .unwrap()
        .1
        .trim_end()
        .replace("{\"v\":2,", "{\"v\":3,");
    let sum = xxhash_rust::xxh3::xxh3_64(json.as_bytes());
    std::fs::write(&path, format!("{sum:016x} {json}\n")).unwrap();
    std::fs::remove_file(d.join("new.lock")).ok();
    let error = load(d, "new").unwrap_err().to_string();
    assert!(error.contains(":1: a record of format 3"), "{error}");
}

/// An audit pick's mark is kept through the journal, a correction of its label and a
/// compaction into the snapshot; the session's `--audit-every` too.
#[test]
fn audit_marks_survive_a_relabel_a_compaction_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(
        d,
        "a",
        glean_session::SessionConfig {
            audit_every: 10,
            ..config(d)
        },
    )
    .unwrap();
    let guessed = glean_session::Guesses::default();
    s.label_guessed("a", 0, Source::Human, guessed, false)
        .unwrap();
    s.label_guessed("b", 1, Source::Human, guessed, true)
        .unwrap();
    s.label_guessed("c", 1, Source::Human, guessed, true)
        .unwrap();
    s.relabel(vec![("c".into(), 2)], Source::Human).unwrap();
    let marks = |s: &SessionState| -> Vec<bool> { s.labels().iter().map(|l| l.audit).collect() };
    assert_eq!(marks(s.state()), [false, true, true]);
    drop(s);
    let (mut s, _) = Session::open(d, "a").unwrap();
    assert_eq!(marks(s.state()), [false, true, true], "from the journal");
    s.compact().unwrap();
    let text = std::fs::read_to_string(snapshot_path(d, "a")).unwrap();
    assert!(text.contains("audit_every: 10"), "{text}");
    drop(s);
    let (s, _) = Session::open(d, "a").unwrap();
    assert_eq!(marks(s.state()), [false, true, true], "from the snapshot");
    assert_eq!(s.config().audit_every, 10);
}
