//! `export` checked field by field against the session it came from.

mod session_common;

use std::path::Path;

use glean::dataset::Layout;
use glean::session::{export, export_to_file, ExportFormat, Session, SessionState, Source};
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

#[test]
fn csv_export_matches_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let state = labeled_session(dir.path(), Layout::ClassFolders);
    let mut out = Vec::new();
    export(&state, ExportFormat::Csv, &mut out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
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
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), state.labels().len());
    for (row, label) in rows.iter().zip(state.labels()) {
        assert_eq!(&row[0], label.item);
        assert_eq!(
            Path::new(&row[1]),
            Path::new("/data/pets").join(&label.item)
        );
        assert_eq!(&row[2], state.config().classes[label.class as usize].name);
        assert_eq!(row[3].parse::<u16>().unwrap(), label.class);
        assert_eq!(&row[4], label.source.as_str());
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
    export_to_file(&state, ExportFormat::Json, &path).unwrap();
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
