//! Crashes at any moment lose nothing that was confirmed: the journal cut at every byte
//! of its last record, and a crash between a compaction's rename and the journal's
//! truncation. A crash is simulated by copying the files of a live session, which is
//! what the disk holds at that moment (every append is fsync'd before `label` returns).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod session_common;

use glean_session::{journal_path, load, Session, Source};
use session_common::{config, copy_session};

/// A page is one record: cut anywhere inside it, none of its labels load; whole, all.
#[test]
fn a_page_cut_at_any_byte_loads_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let mut s = Session::create(&live, "page", config(&live)).unwrap();
    s.set_compact_every(1000);
    s.label("cat/0.png", 0, Source::Human).unwrap();
    let before_page = std::fs::metadata(journal_path(&live, "page"))
        .unwrap()
        .len() as usize;
    let confirmed: Vec<(String, u16)> = (1..40).map(|i| (format!("dog/{i}.png"), 1)).collect();
    s.confirm_page(confirmed, vec![("dog/40.png".into(), 2)], Source::Human)
        .unwrap();
    let journal = std::fs::read(journal_path(&live, "page")).unwrap();
    let all = s.labels().to_vec();
    assert_eq!(all.len(), 41);
    for cut in before_page..=journal.len() {
        let crash = dir.path().join(format!("crash{cut}"));
        copy_session(&live, &crash, "page");
        std::fs::write(journal_path(&crash, "page"), &journal[..cut]).unwrap();
        let (state, _) = load(&crash, "page").unwrap();
        let expected = if cut == journal.len() {
            &all[..]
        } else {
            &all[..1]
        };
        assert_eq!(state.labels(), expected, "cut at {cut}");
        std::fs::remove_dir_all(&crash).unwrap();
    }
    drop(s);
}

/// A likely-mistakes page's corrections are one record: cut anywhere inside it, every
/// label loads with its old class; whole, every corrected one with its new class.
#[test]
fn a_relabel_cut_at_any_byte_loads_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let mut s = Session::create(&live, "fix", config(&live)).unwrap();
    s.set_compact_every(1000);
    let items: Vec<String> = (0..30).map(|i| format!("cat/{i}.png")).collect();
    let shown_as_0 = items.iter().map(|i| (i.clone(), 0)).collect();
    s.confirm_page(shown_as_0, vec![], Source::Human).unwrap();
    let before_relabel = s.labels().to_vec();
    let start = std::fs::metadata(journal_path(&live, "fix")).unwrap().len() as usize;
    let fixes: Vec<(String, u16)> = items.iter().step_by(3).map(|i| (i.clone(), 2)).collect();
    s.relabel(fixes, Source::Human).unwrap();
    let after = s.labels().to_vec();
    assert_eq!(after.iter().filter(|l| l.class == 2).count(), 10);
    let journal = std::fs::read(journal_path(&live, "fix")).unwrap();
    for cut in start..=journal.len() {
        let crash = dir.path().join(format!("crash{cut}"));
        copy_session(&live, &crash, "fix");
        std::fs::write(journal_path(&crash, "fix"), &journal[..cut]).unwrap();
        let (state, _) = load(&crash, "fix").unwrap();
        let expected = if cut == journal.len() {
            &after
        } else {
            &before_relabel
        };
        assert_eq!(state.labels(), &expected[..], "cut at {cut}");
        std::fs::remove_dir_all(&crash).unwrap();
    }
    drop(s);
}

#[test]
fn journal_cut_at_every_byte_of_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let mut s = Session::create(&live, "cut", config(&live)).unwrap();
    s.set_compact_every(1000);
    for i in 0..5 {
        s.label(&format!("cat/{i}.png"), i % 3, Source::Human)
            .unwrap();
    }
    let before_last = std::fs::metadata(journal_path(&live, "cut")).unwrap().len() as usize;
    s.label("dog/last.png", 1, Source::Oracle).unwrap();
    let journal = std::fs::read(journal_path(&live, "cut")).unwrap();
    let all = s.labels().to_vec();
    assert_eq!(journal.len() - before_last, journal[before_last..].len());

    for cut in before_last..=journal.len() {
        let crash = dir.path().join(format!("crash{cut}"));
        copy_session(&live, &crash, "cut");
        std::fs::write(journal_path(&crash, "cut"), &journal[..cut]).unwrap();

        let (mut reopened, report) = Session::open(&crash, "cut").unwrap();
        let complete = cut == journal.len();
        let expected = if complete { &all[..] } else { &all[..5] };
        assert_eq!(reopened.labels(), expected, "cut at {cut}");
        assert_eq!(
            report.torn.is_some(),
            cut != before_last && !complete,
            "cut at {cut}"
        );
        if let Some(torn) = &report.torn {
            assert_eq!(torn.line, 6);
            assert_eq!(torn.bytes, cut - before_last);
            let warning = &report.warnings()[0];
            assert!(
                warning.contains("cut.journal:6: ignored an incomplete last record"),
                "{warning}"
            );
        }
        // The torn tail is cut off, so the next label follows the intact records.
        reopened.label("fox/new.png", 2, Source::Human).unwrap();
        let (state, report) = load(&crash, "cut").unwrap();
        assert!(report.torn.is_none(), "cut at {cut}: {report:?}");
        assert_eq!(state.labels().len(), expected.len() + 1);
        drop(reopened);
        std::fs::remove_dir_all(&crash).unwrap();
    }
}

#[test]
fn crash_between_compaction_and_journal_truncation_replays_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let mut s = Session::create(&live, "cmp", config(&live)).unwrap();
    s.set_compact_every(1000);
    for i in 0..4 {
        s.label(&i.to_string(), 0, Source::Human).unwrap();
    }
    s.undo().unwrap();
    let old_journal = std::fs::read(journal_path(&live, "cmp")).unwrap();
    s.compact().unwrap();
    s.label("after", 1, Source::Human).unwrap();

    // The new snapshot is in place but the journal still has the folded records, and
    // the new one after them.
    let crash = dir.path().join("crash");
    copy_session(&live, &crash, "cmp");
    let mut journal = old_journal;
    journal.extend(std::fs::read(journal_path(&live, "cmp")).unwrap());
    std::fs::write(journal_path(&crash, "cmp"), &journal).unwrap();

    let (state, report) = load(&crash, "cmp").unwrap();
    assert_eq!(report.replayed, 1);
    let items: Vec<&str> = state.labels().iter().map(|l| l.item.as_str()).collect();
    assert_eq!(items, ["0", "1", "2", "after"]);
}

#[test]
fn a_damaged_record_in_the_middle_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let mut s = Session::create(&live, "mid", config(&live)).unwrap();
    s.set_compact_every(1000);
    for i in 0..3 {
        s.label(&i.to_string(), 0, Source::Human).unwrap();
    }
    let crash = dir.path().join("crash");
    copy_session(&live, &crash, "mid");
    let path = journal_path(&crash, "mid");
    let mut journal = std::fs::read(&path).unwrap();
    let second_line = journal.iter().position(|&b| b == b'\n').unwrap() + 1;
    journal[second_line + 40] ^= 1;
    std::fs::write(&path, &journal).unwrap();

    let err = Session::open(&crash, "mid").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:2: damaged record", path.display())),
        "{err}"
    );
    assert!(err.contains("delete line 2"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        journal,
        "the journal was modified"
    );
}

#[test]
fn dropping_a_session_compacts_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "drop", config(d)).unwrap();
    s.label("a", 0, Source::Human).unwrap();
    assert!(std::fs::metadata(journal_path(d, "drop")).unwrap().len() > 0);
    drop(s);
    assert_eq!(std::fs::metadata(journal_path(d, "drop")).unwrap().len(), 0);
    let (state, report) = load(d, "drop").unwrap();
    assert_eq!((state.labels().len(), report.replayed), (1, 0));
}
