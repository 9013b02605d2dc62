//! `glean export`: a session's labels as CSV or JSON, ready for a training pipeline.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::{Result, SessionError};
use super::types::SessionState;
use crate::dataset::Layout;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

#[derive(Serialize)]
struct JsonExport<'a> {
    session: &'a str,
    root: String,
    classes: Vec<&'a str>,
    labels: Vec<Row>,
}

fn rows(state: &SessionState) -> Vec<Row> {
    let data = &state.config().data;
    state
        .labels()
        .iter()
        .map(|l| Row {
            item: l.item.clone(),
            path: match data.layout {
                Layout::Idx => l.item.clone(),
                _ => data.root.join(&l.item).to_string_lossy().into_owned(),
            },
            class: state.class_name(l.class),
            class_index: l.class,
            source: l.source.as_str(),
            round: l.round,
            time: l.time,
        })
        .collect()
}

/// Writes the labels of `state` in label order.
pub fn export(state: &SessionState, format: ExportFormat, out: impl Write) -> Result<()> {
    let failed = |e: String| SessionError::Invalid(format!("cannot write the export: {e}"));
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            for row in rows(state) {
                writer.serialize(row).map_err(|e| failed(e.to_string()))?;
            }
            writer.flush().map_err(|e| failed(e.to_string()))?;
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
                labels: rows(state),
            };
            let mut out = out;
            serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| failed(e.to_string()))?;
            writeln!(out).map_err(|e| failed(e.to_string()))?;
        }
    }
    Ok(())
}

/// Exports to `path` through a temp file, so a failed export leaves no half file.
pub fn export_to_file(state: &SessionState, format: ExportFormat, path: &Path) -> Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(SessionError::io("create", &tmp))?;
        let mut out = std::io::BufWriter::new(file);
        export(state, format, &mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| SessionError::io("write", &tmp)(e.into_error()))?;
        file.sync_all().map_err(SessionError::io("fsync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(SessionError::io("rename into place", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
