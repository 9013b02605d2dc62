//! Unit tests of what a snapshot records about the data: the `--holdout` field, which
//! snapshots written before it existed lack.

use std::path::Path;

use chrono::{TimeZone, Utc};

use super::snapshot;
use super::tests::config;
use super::*;
use glean_core::{ClassPrior, ClusterPick, EmbeddingKind, LearnerKind, QueryOptions};
use glean_dataset::{Holdout, ScanOptions};

/// A snapshot as glean wrote it before `DataSpec` had a `holdout` field.
const SNAPSHOT_BEFORE_HOLDOUT: &str = r#"(
    version: 1,
    name: "pets",
    created: "2026-11-22T10:00:00Z",
    last_used: "2026-11-22T10:00:01.500Z",
    journal_seq: 2,
    data: (
        root: "/data/pets",
        layout: ClassFolders,
        test: None,
        label_pattern: None,
        classes_arg: None,
    ),
    classes: [
        (name: "cat", key: Some('1')),
        (name: "dog", key: Some('2')),
    ],
    pool_size: 8,
    strategy: "margin",
    batch: 4,
    model: "cnn",
    device: "cpu",
    seed: 7,
    learner: "cnn",
    labels: [
        (item: "cat/0.png", class: 0, source: Human, round: 0, time: "2026-11-22T10:00:00Z"),
    ],
    skipped: [],
    rounds: [],
    queue: (
        model_version: 0,
        items: [],
    ),
)
"#;

fn state_with_holdout(holdout: Option<&str>) -> SessionState {
    let mut config = config();
    config.data.holdout = holdout.map(str::to_string);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    SessionState::new("dogs", config, t0)
}

#[test]
fn a_snapshot_from_before_holdout_loads_and_writes_back_unchanged() {
    let state = snapshot::parse(SNAPSHOT_BEFORE_HOLDOUT.as_bytes(), Path::new("pets.ron"))
        .expect("a snapshot without `holdout` must still load");
    assert_eq!(state.config().data.holdout, None);
    assert_eq!(state.labels().len(), 1);
    // Without a hold-out the field is left out, so such snapshots stay byte-identical
    // but for their format version (1, written back as this build's).
    let upgraded = SNAPSHOT_BEFORE_HOLDOUT.replace(
        "version: 1,",
        &format!("version: {},", snapshot::FORMAT_VERSION),
    );
    assert_eq!(snapshot::to_text(&state).unwrap(), upgraded);
}

#[test]
fn a_snapshot_from_before_the_graph_settings_loads_them_as_auto_and_round_trips_others() {
    let state = snapshot::parse(SNAPSHOT_BEFORE_HOLDOUT.as_bytes(), Path::new("pets.ron")).unwrap();
    assert_eq!(state.config().embedding, EmbeddingKind::Auto);
    assert_eq!(state.config().class_prior, ClassPrior::Auto);
    let mut config = config();
    config.embedding = EmbeddingKind::Vae;
    config.class_prior = ClassPrior::Off;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let state = SessionState::new("dogs", config, t0);
    let text = snapshot::to_text(&state).unwrap();
    assert!(
        text.contains("\n    embedding: \"vae\",\n    class_prior: \"off\",\n"),
        "{text}"
    );
    let back = snapshot::parse(text.as_bytes(), Path::new("dogs.ron")).unwrap();
    assert_eq!(back, state);
}

#[test]
fn the_cluster_settings_are_left_out_at_their_defaults_and_round_trip_otherwise() {
    let state = snapshot::parse(SNAPSHOT_BEFORE_HOLDOUT.as_bytes(), Path::new("pets.ron")).unwrap();
    assert_eq!(state.config().query, QueryOptions::default());
    let mut config = config();
    config.query = QueryOptions {
        clusters: Some(25),
        cluster_pick: ClusterPick::Random,
    };
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let state = SessionState::new("dogs", config, t0);
    let text = snapshot::to_text(&state).unwrap();
    assert!(
        text.contains("\n    clusters: Some(25),\n    cluster_pick: \"random\",\n"),
        "{text}"
    );
    let back = snapshot::parse(text.as_bytes(), Path::new("dogs.ron")).unwrap();
    assert_eq!(back, state);
    let bad = text.replace("cluster_pick: \"random\"", "cluster_pick: \"nearest\"");
    let e = snapshot::parse(bad.as_bytes(), Path::new("dogs.ron")).unwrap_err();
    assert!(
        e.to_string().contains("unknown cluster pick `nearest`"),
        "{e}"
    );
}

#[test]
fn snapshot_round_trips_a_holdout_on_the_data_line() {
    for holdout in [Holdout::Count(2000), Holdout::Fraction(0.2)] {
        let text_of_flag = holdout.to_string();
        let state = state_with_holdout(Some(&text_of_flag));
        let text = snapshot::to_text(&state).unwrap();
        // The last line of the `data` block.
        let line = format!("\n        holdout: Some(\"{text_of_flag}\"),\n    ),\n    classes: [");
        assert!(text.contains(&line), "{line:?} in\n{text}");
        let back = snapshot::parse(text.as_bytes(), Path::new("dogs.ron")).unwrap();
        assert_eq!(back, state);
        let scan = back.config().data.scan_options("dogs").unwrap();
        assert_eq!(scan.holdout, Some(holdout));
    }
}

#[test]
fn scan_options_rebuild_every_data_flag() {
    let mut data = config().data;
    data.holdout = Some(Holdout::Fraction(0.25).to_string());
    assert_eq!(
        data.scan_options("dogs").unwrap(),
        ScanOptions {
            test: Some("/data/dogs-test".into()),
            label_pattern: Some(r"^(\w+)_\d+\.jpg$".into()),
            classes: Some(vec!["great_dane".into(), "pug \"small\"".into()]),
            holdout: Some(Holdout::Fraction(0.25)),
            validation: None,
        }
    );
    data.holdout = None;
    assert_eq!(data.scan_options("dogs").unwrap().holdout, None);
    // What `20%` on the command line records reads back as the same hold-out.
    let percent: Holdout = "20%".parse().unwrap();
    data.holdout = Some(percent.to_string());
    assert_eq!(data.scan_options("dogs").unwrap().holdout, Some(percent));
}

#[test]
fn a_recorded_holdout_that_no_longer_parses_is_an_error_naming_the_session() {
    let mut data = config().data;
    for bad in ["1.5", "lots", ""] {
        data.holdout = Some(bad.into());
        let err = data.scan_options("dogs").unwrap_err().to_string();
        assert!(
            err.contains("session dogs") && err.contains("--holdout") && err.contains("dogs.ron"),
            "{err}"
        );
    }
    // Also when it comes from a snapshot edited by hand.
    let text = SNAPSHOT_BEFORE_HOLDOUT.replace(
        "classes_arg: None,\n",
        "classes_arg: None,\n        holdout: Some(\"0\"),\n",
    );
    let state = snapshot::parse(text.as_bytes(), Path::new("pets.ron")).unwrap();
    let err = state
        .config()
        .data
        .scan_options("pets")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("session pets") && err.contains("at least 1"),
        "{err}"
    );
}

/// A setting this glean does not know stops the load at its line, naming it; a learner
/// field holding a model name is a session from before `--learner`: the network.
#[test]
fn an_unknown_setting_is_reported_at_its_line_and_an_old_learner_field_reads_as_the_network() {
    // The snapshot with `from` replaced by `to`, read back: the error's text.
    let error_of = |from: &str, to: &str| {
        let bad = SNAPSHOT_BEFORE_HOLDOUT.replace(from, to);
        snapshot::parse(bad.as_bytes(), Path::new("pets.ron"))
            .unwrap_err()
            .to_string()
    };
    let err = error_of("    strategy: \"margin\",", "    strategy: \"hunch\",");
    assert!(
        err.starts_with("pets.ron:19:1: unknown strategy `hunch`"),
        "{err}"
    );
    let err = error_of("    batch: 4,", "    batch: 4,\n    embedding: \"umap\",");
    assert!(
        err.starts_with("pets.ron:21:1: unknown embedding `umap`")
            && err.contains("auto, pca or vae"),
        "{err}"
    );
    for (recorded, learner) in [
        ("cnn", LearnerKind::Cnn),
        ("auto", LearnerKind::Cnn),
        ("effnet-lite0", LearnerKind::Cnn),
        ("graph", LearnerKind::Graph),
    ] {
        let old = SNAPSHOT_BEFORE_HOLDOUT.replace(
            "    learner: \"cnn\",",
            &format!("    learner: \"{recorded}\","),
        );
        let state = snapshot::parse(old.as_bytes(), Path::new("pets.ron")).unwrap();
        assert_eq!(state.config().learner, learner, "{recorded}");
    }
}
