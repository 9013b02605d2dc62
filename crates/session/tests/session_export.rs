//! `export` checked field by field against the session it came from.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod session_common;

use std::path::Path;

use glean_dataset::Layout;
use glean_session::{
    commands::export_session, export, export_to_file, predictions_path, write_predictions,
    ExportFormat, ExportScope, PredictedItem, Session, SessionState, Source,
};
use session_common::config;

/// A session with awkward item names: commas, quotes, a newline, non-ASCII.
fn labeled_session(dir: &Path, layout: Layout) -> SessionState {
    let mut cfg = config(Path::new("/data/pets"));
    cfg.data.layout = layout;
    let mut s = Session::create(dir, "pets", cfg).unwrap();
    let items = [
        ("cat/1.png", 0, Source::Human),
        ("dog/a, \"b\".png", 1, Source::Oracle),
        ("fox/line\nbreak.png", 2, Source::Human),
        ("fox/ünï.png", 2, Source::Oracle),
    ];
    for (item, class, source) in items {
        s.label(item, class, source).unwrap();
    }
    s.state().clone()
}

/// A CSV export's header and rows.
fn read_csv(out: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(out);
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

#[test]
fn csv_export_matches_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let state = labeled_session(dir.path(), Layout::ClassFolders);
    let mut out = Vec::new();
    export(&state, ExportFormat::Csv, ExportScope::Labels, &mut out).unwrap();
    let (headers, rows) = read_csv(&out);
    assert_eq!(
        headers,
        [
            "item",
            "path",
            "class",
            "class_index",
            "source",
            "round",
            "time"
        ]
    );
    assert_eq!(rows.len(), state.labels().len());
    for (row, label) in rows.iter().zip(state.labels()) {
        assert_eq!(row[0], label.item);
        assert_eq!(
            Path::new(&row[1]),
            Path::new("/data/pets").join(&label.item)
        );
        assert_eq!(row[2], state.config().classes[label.class as usize].name);
        assert_eq!(row[3].parse::<u16>().unwrap(), label.class);
        assert_eq!(row[4], label.source.as_str());
        assert_eq!(row[5].parse::<u32>().unwrap(), label.round);
        assert_eq!(
            row[6].parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
            label.time
        );
    }
}

#[test]
fn json_export_matches_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let state = labeled_session(dir.path(), Layout::Idx);
    let path = dir.path().join("out.json");
    export_to_file(&state, ExportFormat::Json, ExportScope::Labels, &path).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["session"], "pets");
    assert_eq!(doc["root"], "/data/pets");
    assert_eq!(
        doc["classes"],
        serde_json::json!(["cat", "dog", "fox, red"])
    );
    let labels = doc["labels"].as_array().unwrap();
    assert_eq!(labels.len(), state.labels().len());
    for (row, label) in labels.iter().zip(state.labels()) {
        assert_eq!(row["item"], label.item.as_str());
        assert_eq!(
            row["path"],
            label.item.as_str(),
            "IDX items have no file path"
        );
        assert_eq!(
            row["class"],
            state.config().classes[label.class as usize].name.as_str()
        );
        assert_eq!(row["class_index"], label.class);
        assert_eq!(row["source"], label.source.as_str());
        assert_eq!(row["round"], label.round);
        let time: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(row["time"].clone()).unwrap();
        assert_eq!(time, label.time);
    }
    assert!(!dir.path().join("out.json.tmp").exists());
}

#[test]
fn export_all_writes_every_item_with_its_source_and_the_predicted_ones_with_their_probability() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = Session::create(d, "all", config(Path::new("/data/pets"))).unwrap();
    s.label("a.png", 0, Source::Human).unwrap();
    s.confirm_page(
        vec![("b.png".into(), 1), ("c.png".into(), 1)],
        vec![("d.png".into(), 2)],
        Source::Human,
    )
    .unwrap();
    // "z.png" is labeled but left out of the predictions (gone from the folder since).
    s.label("z.png", 2, Source::Oracle).unwrap();
    drop(s);
    let missing = export_session(
        d,
        "all",
        ExportFormat::Csv,
        true,
        None,
        Vec::new(),
        Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(missing.contains("no predictions yet"), "{missing}");
    let predicted = |item: &str, class: Option<u16>, prob: Option<f32>| PredictedItem {
        item: item.into(),
        class,
        prob,
    };
    // The ranking was made before b, c and d were labeled (they have predictions),
    // when a was labeled already; e is predicted, f was skipped before any ranking.
    write_predictions(
        &predictions_path(d, "all"),
        &[
            predicted("a.png", None, None),
            predicted("b.png", Some(1), Some(0.99)),
            predicted("c.png", Some(1), Some(0.98)),
            predicted("d.png", Some(1), Some(0.6)),
            predicted("e.png", Some(0), Some(0.875)),
            predicted("f.png", None, None),
        ],
    )
    .unwrap();
    let mut out = Vec::new();
    export_session(
        d,
        "all",
        ExportFormat::Csv,
        true,
        None,
        &mut out,
        Vec::new(),
    )
    .unwrap();
    let (headers, rows) = read_csv(&out);
    assert_eq!(
        headers,
        [
            "item",
            "path",
            "class",
            "class_index",
            "source",
            "prob",
            "time"
        ]
    );
    let brief: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str(), r[4].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(
        brief,
        [
            ("a.png", "cat", "human", ""),
            ("b.png", "dog", "confirmed", ""),
            ("c.png", "dog", "confirmed", ""),
            ("d.png", "fox, red", "human", ""),
            ("e.png", "cat", "predicted", "0.875"),
            ("f.png", "", "unlabeled", ""),
            ("z.png", "fox, red", "oracle", ""),
        ]
    );
    assert_eq!(rows[4][1], "/data/pets/e.png");
    assert!(rows[4][6].is_empty() && !rows[0][6].is_empty());
    // The same in JSON, to a file.
    let path = d.join("all.json");
    export_session(
        d,
        "all",
        ExportFormat::Json,
        true,
        Some(&path),
        Vec::new(),
        Vec::new(),
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    assert_eq!(items[4]["source"], "predicted");
    assert_eq!(items[4]["prob"], 0.875);
    assert_eq!(items[5]["class"], serde_json::Value::Null);
    assert!(doc.get("labels").is_none());
    // Without --all, the labels alone, as before.
    let (state, _) = glean_session::load(d, "all").unwrap();
    let mut labels = Vec::new();
    export(&state, ExportFormat::Csv, ExportScope::Labels, &mut labels).unwrap();
    assert_eq!(String::from_utf8(labels).unwrap().lines().count(), 1 + 5);
}
