//! `glean export`: a session's labels as CSV or JSON, ready for a training pipeline;
//! with `--all`, every pool item: its label and who gave it, or the class the last
//! ranking predicted and its probability.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::{Result, SessionError};
use super::predictions::PredictedItem;
use super::types::SessionState;
use glean_core::files::Durability;
use glean_dataset::Layout;

/// What `export` writes (`--format`, by its lower-case name).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumString,
    strum::Display,
    strum::EnumIter,
    strum::EnumMessage,
)]
#[strum(serialize_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Json,
}

/// One exported label.
#[derive(Debug, Serialize)]
struct Row {
    /// The item id as the session stores it.
    item: String,
    /// Where the image is: the data root joined with the id (the id itself for IDX items).
    path: String,
    class: String,
    class_index: u16,
    source: &'static str,
    round: u32,
    time: DateTime<Utc>,
}

/// What an export holds.
#[derive(Debug, Clone, Copy)]
pub enum ExportScope<'a> {
    /// The labels, in the order they were given.
    Labels,
    /// Every item of these predictions (the labeler's last ranking), labeled ones with
    /// their label, then labeled items the predictions do not list.
    All(&'a [PredictedItem]),
}

/// One pool item in an `--all` export.
#[derive(Debug, Serialize)]
struct ItemRow {
    item: String,
    path: String,
    /// Empty for an item neither labeled nor predicted.
    class: Option<String>,
    class_index: Option<u16>,
    /// `human`, `oracle`, `confirmed`, `predicted`, or `unlabeled`.
    source: &'static str,
    /// The predicted class's probability (predicted items only).
    prob: Option<f32>,
    /// When the label was given (labeled items only).
    time: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct JsonExport<'a, R> {
    session: &'a str,
    root: String,
    classes: Vec<&'a str>,
    /// `labels`, or `items` in an `--all` export.
    #[serde(flatten)]
    rows: std::collections::BTreeMap<&'static str, Vec<R>>,
}

fn item_path(state: &SessionState, item: &str) -> String {
    let data = &state.config().data;
    match data.layout {
        Layout::Idx => item.to_string(),
        _ => data.root.join(item).to_string_lossy().into_owned(),
    }
}

fn item_rows(state: &SessionState, predictions: &[PredictedItem]) -> Vec<ItemRow> {
    let labeled = |item: &str| {
        state.label_of(item).map(|l| ItemRow {
            item: l.item.clone(),
            path: item_path(state, &l.item),
            class: Some(state.class_name(l.class)),
            class_index: Some(l.class),
            source: l.source.as_str(),
            prob: None,
            time: Some(l.time),
        })
    };
    let listed: std::collections::HashSet<&str> =
        predictions.iter().map(|p| p.item.as_str()).collect();
    let pool = predictions.iter().map(|p| {
        labeled(&p.item).unwrap_or_else(|| ItemRow {
            item: p.item.clone(),
            path: item_path(state, &p.item),
            class: p.class.map(|c| state.class_name(c)),
            class_index: p.class,
            source: if p.class.is_some() {
                "predicted"
            } else {
                "unlabeled"
            },
            prob: p.prob,
            time: None,
        })
    });
    let unlisted = state
        .labels()
        .iter()
        .filter(|l| !listed.contains(l.item.as_str()))
        .filter_map(|l| labeled(&l.item));
    pool.chain(unlisted).collect()
}

fn rows(state: &SessionState) -> Vec<Row> {
    state
        .labels()
        .iter()
        .map(|l| Row {
            item: l.item.clone(),
            path: item_path(state, &l.item),
            class: state.class_name(l.class),
            class_index: l.class,
            source: l.source.as_str(),
            round: l.round,
            time: l.time,
        })
        .collect()
}

/// Writes the labels of `state` in label order, or with `ExportScope::All` every item.
pub fn export(
    state: &SessionState,
    format: ExportFormat,
    scope: ExportScope<'_>,
    out: impl Write,
) -> Result<()> {
    match scope {
        ExportScope::Labels => write_rows(state, format, ("labels", rows(state)), out),
        ExportScope::All(predictions) => {
            write_rows(state, format, ("items", item_rows(state, predictions)), out)
        }
    }
}

fn write_rows<R: Serialize>(
    state: &SessionState,
    format: ExportFormat,
    (key, rows): (&'static str, Vec<R>),
    out: impl Write,
) -> Result<()> {
    // The I/O error itself is kept, so that a closed pipe can be told apart.
    let from_csv = |e: csv::Error| {
        let text = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) => SessionError::Export(io),
            _ => SessionError::Export(std::io::Error::other(text)),
        }
    };
    let from_json = |e: serde_json::Error| {
        let kind = e.io_error_kind().unwrap_or(std::io::ErrorKind::Other);
        SessionError::Export(std::io::Error::new(kind, e))
    };
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            for row in rows {
                writer.serialize(row).map_err(from_csv)?;
            }
            writer.flush().map_err(SessionError::Export)?;
        }
        ExportFormat::Json => {
            let doc = JsonExport {
                session: state.name(),
                root: state.config().data.root.to_string_lossy().into_owned(),
                classes: state
                    .config()
                    .classes
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect(),
                rows: [(key, rows)].into(),
            };
            let mut out = out;
            serde_json::to_writer_pretty(&mut out, &doc).map_err(from_json)?;
            writeln!(out).map_err(SessionError::Export)?;
        }
    }
    Ok(())
}

/// Exports to `path` through a temporary file (synced, renamed over it), so a failed
/// export leaves no half file.
pub fn export_to_file(
    state: &SessionState,
    format: ExportFormat,
    scope: ExportScope<'_>,
    path: &Path,
) -> Result<()> {
    // The export's own error, kept apart from the file's: it says what went wrong.
    let mut failed = None;
    let written = glean_core::files::replace_file(path, Durability::Synced, |tmp| {
        let file = std::fs::File::create(tmp)?;
        let mut out = std::io::BufWriter::new(file);
        if let Err(error) = export(state, format, scope, &mut out) {
            failed = Some(error);
            return Err(std::io::Error::other("the export failed"));
        }
        out.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    });
    match (failed, written) {
        (Some(error), _) => Err(error),
        (None, written) => written.map_err(SessionError::io("write", path)),
    }
}
