//! Unit tests of the snapshot and journal readers and writers (the file-level behaviour
//! is tested in `tests/session_*.rs`).

use std::path::Path;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::journal::{self, Record};
use super::snapshot;
use super::types::{Op, Queue};
use super::*;
use glean_core::{ClassPrior, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind, Strategy};
use glean_dataset::{Class, Layout};

pub(super) fn config() -> SessionConfig {
    SessionConfig {
        data: DataSpec {
            root: "/data/dogs".into(),
            layout: Layout::NamePattern,
            test: Some("/data/dogs-test".into()),
            label_pattern: Some(r"^(\w+)_\d+\.jpg$".into()),
            classes_arg: Some(vec!["great_dane".into(), "pug \"small\"".into()]),
            holdout: None,
        },
        classes: vec![
            Class {
                name: "great_dane".into(),
                key: Some('6'),
            },
            Class {
                name: "pug \"small\"".into(),
                key: None,
            },
        ],
        pool_size: 1234,
        strategy: Strategy::Margin,
        batch: 25,
        model: ModelKind::Cnn,
        device: DeviceChoice::Cuda(0),
        seed: u64::MAX,
        learner: LearnerKind::Hybrid,
        embedding: EmbeddingKind::Auto,
        class_prior: ClassPrior::Auto,
        query: Default::default(),
        audit_every: 0,
    }
}

/// A state with every field set to something other than its default.
fn full_state() -> SessionState {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let mut state = SessionState::new("dogs", config(), t0);
    state.last_used = t0 + chrono::Duration::milliseconds(1500);
    state.seq = 17;
    let ops = [
        Op::Label(LabelRecord {
            corrected: None,
            item: "great_dane_1.jpg".into(),
            class: 0,
            source: Source::Human,
            round: 0,
            time: t0,
            guessed: Guesses {
                model: Some(1),
                zero_shot: Some(0),
            },
            page: None,
            audit: false,
        }),
        Op::Skip {
            item: "odd\nname\t\u{1b}.jpg".into(),
        },
        Op::Round(RoundRecord {
            model_version: 3,
            labels: 1,
            test_accuracy: Some(0.1 + 0.2),
            seconds: 12.75,
            learner: "cnn".into(),
            time: t0,
            label_digest: Some(u64::MAX - 7),
        }),
        Op::Round(RoundRecord {
            model_version: 4,
            labels: 1,
            test_accuracy: None,
            seconds: 0.0,
            learner: "propagation".into(),
            time: t0,
            label_digest: None,
        }),
        Op::Label(LabelRecord {
            corrected: None,
            item: "pug_9.jpg".into(),
            class: 1,
            source: Source::Oracle,
            round: 2,
            time: t0 + chrono::Duration::milliseconds(7),
            guessed: Guesses::default(),
            page: None,
            audit: false,
        }),
        Op::Queue(Queue {
            model_version: 4,
            items: vec!["a.jpg".into(), "b.jpg".into()],
        }),
    ];
    for op in ops {
        state.check(&op).unwrap();
        state.apply(op);
    }
    state
}

#[test]
fn snapshot_round_trips_every_field() {
    let state = full_state();
    let text = snapshot::to_text(&state).unwrap();
    let back = snapshot::parse(text.as_bytes(), Path::new("dogs.ron")).unwrap();
    assert_eq!(back, state);
    assert_eq!(back.rounds()[0].test_accuracy, Some(0.1 + 0.2));
    assert_eq!(back.config().seed, u64::MAX);
}

#[test]
fn snapshot_is_readable_with_one_label_per_line() {
    let text = snapshot::to_text(&full_state()).unwrap();
    assert!(text.contains("\n    version: 2,\n"), "{text}");
    let label_lines: Vec<&str> = text.lines().filter(|l| l.contains("item: ")).collect();
    assert_eq!(label_lines.len(), 2, "{text}");
    assert!(label_lines[0].contains("class: 0") && label_lines[0].contains("source: Human"));
    assert!(
        text.contains("(name: \"great_dane\", key: Some('6'))"),
        "{text}"
    );
}

fn snapshot_error(bytes: &[u8]) -> (usize, String) {
    match snapshot::parse(bytes, Path::new("/s/x.ron")) {
        Err(SessionError::Snapshot { line, message, .. }) => (line, message),
        other => panic!("expected a snapshot error, got {other:?}"),
    }
}

#[test]
fn truncated_snapshot_names_the_line() {
    let text = snapshot::to_text(&full_state()).unwrap();
    let cut = text.find("pug_9").unwrap();
    let (line, _) = snapshot_error(&text.as_bytes()[..cut]);
    let expected = text[..cut].lines().count();
    assert!(
        line + 1 >= expected && line <= expected + 1,
        "line {line}, cut at line {expected}"
    );
    let err = snapshot::parse(&text.as_bytes()[..cut], Path::new("/s/x.ron")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("/s/x.ron:{line}:")), "{msg}");
    assert!(
        msg.contains("x.journal") && msg.contains("mv /s/x.ron /s/x.ron.bad"),
        "{msg}"
    );
}

#[test]
fn non_ron_empty_and_binary_snapshots_are_errors() {
    assert_eq!(snapshot_error(b"hello: [1, 2").0, 1);
    assert_eq!(snapshot_error(b"\n\n   \n").0, 1);
    let (line, msg) = snapshot_error(b"(\nversion: 1,\n\xff\xfe)");
    assert_eq!(line, 3);
    assert!(msg.contains("UTF-8"), "{msg}");
}

#[test]
fn unknown_version_is_an_error_on_its_line() {
    let text = snapshot::to_text(&full_state()).unwrap();
    let text = text.replace("version: 2,", "version: 7,");
    let (line, msg) = snapshot_error(text.as_bytes());
    assert_eq!(line, 2);
    assert!(msg.contains("version 7"), "{msg}");
}

#[test]
fn semantic_errors_in_a_snapshot_name_the_line() {
    let text = snapshot::to_text(&full_state()).unwrap();
    let bad_class = text.replace("class: 1,", "class: 9,");
    let (line, msg) = snapshot_error(bad_class.as_bytes());
    assert!(
        bad_class.lines().nth(line - 1).unwrap().contains("pug_9"),
        "{msg}"
    );
    let dup = text.replace("\"pug_9.jpg\"", "\"great_dane_1.jpg\"");
    let (line, msg) = snapshot_error(dup.as_bytes());
    assert!(msg.contains("labeled twice"), "{msg}");
    assert!(
        dup.lines().nth(line - 1).unwrap().contains("class: 1"),
        "{msg}"
    );
}

fn record(seq: u64, item: &str) -> Record {
    Record {
        version: journal::RECORD_VERSION,
        seq,
        time: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        op: Op::Label(LabelRecord {
            corrected: None,
            item: item.into(),
            class: 1,
            source: Source::Oracle,
            round: 0,
            time: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            guessed: Guesses::default(),
            page: None,
            audit: false,
        }),
    }
}

fn journal_bytes(records: &[Record]) -> Vec<u8> {
    records
        .iter()
        .flat_map(|r| journal::encode(r).unwrap())
        .collect()
}

#[test]
fn journal_lines_round_trip_every_op() {
    let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let ops = vec![
        record(1, "a\nb").op,
        Op::Undo {
            item: "a\nb".into(),
        },
        Op::Skip { item: "c".into() },
        Op::Page(super::types::PageRecord {
            class: 1,
            confirmed: vec!["p1".into(), "p\"2".into()],
            confirmed_as: vec![("p4".into(), 2)],
            corrected: vec![("p3".into(), 0)],
            source: Source::Oracle,
            round: 4,
            time: t,
        }),
        Op::UndoItems {
            items: vec!["p1".into(), "p3".into()],
        },
        Op::Relabel {
            labels: vec![LabelRecord {
                corrected: None,
                item: "p\"2".into(),
                class: 2,
                source: Source::Human,
                round: 4,
                time: t,
                guessed: Guesses {
                    model: Some(1),
                    zero_shot: None,
                },
                page: None,
                audit: false,
            }],
        },
        Op::Round(full_state().rounds()[0].clone()),
        Op::Queue(Queue {
            model_version: 9,
            items: vec!["x".into()],
        }),
        Op::PoolSize { size: 77 },
    ];
    let records: Vec<Record> = ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| Record {
            version: journal::RECORD_VERSION,
            seq: i as u64 + 1,
            time: t,
            op,
        })
        .collect();
    let bytes = journal_bytes(&records);
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), records.len());
    let parsed = journal::parse(&bytes, Path::new("j")).unwrap();
    assert!(parsed.torn.is_none());
    assert_eq!(parsed.intact_len, bytes.len() as u64);
    let back: Vec<Record> = parsed.records.into_iter().map(|(_, r)| r).collect();
    assert_eq!(back, records);
}

#[test]
fn corrupt_last_record_is_torn_but_corrupt_middle_is_an_error() {
    let mut bytes = journal_bytes(&[record(1, "a"), record(2, "b"), record(3, "c")]);
    let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let last = bytes.len() - journal::encode(&record(3, "c")).unwrap().len();

    let mut tail = bytes.clone();
    tail[last + 30] ^= 0x20; // flip a bit in the JSON of the last line
    let parsed = journal::parse(&tail, Path::new("j")).unwrap();
    assert_eq!(parsed.records.len(), 2);
    assert_eq!(parsed.intact_len, last as u64);
    let torn = parsed.torn.unwrap();
    assert_eq!((torn.line, torn.reason.as_str()), (3, "checksum mismatch"));

    bytes[second + 25] ^= 0x20;
    match journal::parse(&bytes, Path::new("/s/j.journal")) {
        Err(e @ SessionError::Journal { line: 2, .. }) => {
            assert!(
                e.to_string().starts_with("/s/j.journal:2: damaged record"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn journal_records_out_of_order_are_an_error() {
    let bytes = journal_bytes(&[record(1, "a"), record(3, "b"), record(2, "c")]);
    assert!(matches!(
        journal::parse(&bytes, Path::new("j")),
        Err(SessionError::Journal { line: 3, .. })
    ));
}

#[test]
fn names_are_validated() {
    for ok in ["mnist", "dogs-2026_v1.2", "Ünïcode", &"x".repeat(64)] {
        validate_name(ok).unwrap();
    }
    for bad in [
        "",
        ".hidden",
        "..",
        "a/b",
        "a\\b",
        "a b",
        "nul\0",
        &"x".repeat(65),
        "a:b",
    ] {
        assert!(
            matches!(validate_name(bad), Err(SessionError::InvalidName { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn table_lists_columns_and_unreadable_sessions() {
    let summaries = vec![
        SessionSummary {
            name: "mnist".into(),
            data_root: Some("/data/mnist".into()),
            labeled: 120,
            pool_size: 60000,
            last_accuracy: Some(0.9234),
            strategy: "margin".into(),
            last_used: Some(Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()),
            problem: None,
        },
        SessionSummary {
            name: "broken".into(),
            data_root: None,
            labeled: 0,
            pool_size: 0,
            last_accuracy: None,
            strategy: String::new(),
            last_used: None,
            problem: Some("broken.ron:3:1: damaged".into()),
        },
    ];
    let table = sessions_table(&summaries);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("NAME    DATA"), "{table}");
    for cell in [
        "mnist",
        "/data/mnist",
        "120/60000",
        "92.3%",
        "margin",
        "2026-11-2",
    ] {
        assert!(lines[1].contains(cell), "{cell} missing in {table}");
    }
    assert!(
        lines[2].starts_with("broken  unreadable: broken.ron:3:1"),
        "{table}"
    );
    assert_eq!(sessions_table(&[]), "no saved sessions\n");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn snapshot_reader_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = snapshot::parse(&bytes, Path::new("x.ron"));
    }

    #[test]
    fn snapshot_reader_rejects_every_cut(cut in 0usize..4096, flip in any::<(usize, u8)>()) {
        let text = snapshot::to_text(&full_state()).unwrap().into_bytes();
        // Every proper prefix that drops more than the final ")\n" is an error, never a panic.
        let cut = cut % text.len();
        let result = snapshot::parse(&text[..cut], Path::new("x.ron"));
        if cut + 2 < text.len() {
            prop_assert!(matches!(result, Err(SessionError::Snapshot { .. })), "{:?}", result);
        }
        let mut mutated = text.clone();
        let at = flip.0 % mutated.len();
        mutated[at] = flip.1;
        let _ = snapshot::parse(&mutated, Path::new("x.ron"));
    }

    #[test]
    fn journal_reader_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = journal::parse(&bytes, Path::new("x.journal"));
    }

    #[test]
    fn journal_reader_keeps_the_intact_prefix_of_a_cut(n in 1usize..8, cut in any::<usize>(), flip in any::<(usize, u8)>()) {
        let records: Vec<Record> = (1..=n as u64).map(|s| record(s, &format!("item{s}"))).collect();
        let bytes = journal_bytes(&records);
        let cut = cut % (bytes.len() + 1);
        let parsed = journal::parse(&bytes[..cut], Path::new("x.journal")).unwrap();
        let complete = bytes[..cut].iter().filter(|&&b| b == b'\n').count();
        prop_assert_eq!(parsed.records.len(), complete);
        prop_assert_eq!(parsed.torn.is_some(), cut > 0 && bytes[cut - 1] != b'\n');
        // Any single byte changed: the reader errs or loses at most the damaged line.
        let mut mutated = bytes.clone();
        let at = flip.0 % mutated.len();
        mutated[at] = flip.1;
        if let Ok(parsed) = journal::parse(&mutated, Path::new("x.journal")) {
            // (Joining the last two lines by overwriting a newline loses both.)
            prop_assert!(parsed.records.len() + 2 >= n);
        }
    }
}

#[test]
fn sessions_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Session>();
    assert_send::<SessionState>();
}

/// Rounds store the digest: it must not depend on label order, and must never change.
#[test]
fn label_digest_is_order_free_and_fixed() {
    use super::label_digest;
    let digest = label_digest([("a/1.png", 1), ("b/2.png", 0)]);
    assert_eq!(digest, label_digest([("b/2.png", 0), ("a/1.png", 1)]));
    assert_ne!(digest, label_digest([("a/1.png", 0), ("b/2.png", 1)]));
    assert_ne!(digest, label_digest([("a/1.png", 1)]));
    assert_eq!(digest, 0x33c3_fbf1_863e_0af8);
}
