//! `glean sessions`: what is saved in a session folder.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, Utc};

use super::error::{Result, SessionError};
use super::{load, validate_name};

/// One line of `glean sessions`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    pub name: String,
    pub data_root: Option<PathBuf>,
    pub labeled: usize,
    pub pool_size: usize,
    pub last_accuracy: Option<f64>,
    pub strategy: String,
    pub last_used: Option<DateTime<Utc>>,
    /// Why the session cannot be read, when it cannot (the other fields are then empty).
    pub problem: Option<String>,
}

/// The sessions in `dir`, most recently used first; unreadable ones are listed with
/// their problem. A folder that does not exist holds no sessions.
pub fn list(dir: &Path) -> Result<Vec<SessionSummary>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SessionError::io("list", dir)(e)),
    };
    let mut summaries = Vec::new();
    for entry in entries {
        let entry = entry.map_err(SessionError::io("list", dir))?;
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "ron") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if validate_name(name).is_err() {
            continue;
        }
        summaries.push(summarize(dir, name));
    }
    summaries.sort_by(|a, b| b.last_used.cmp(&a.last_used).then(a.name.cmp(&b.name)));
    Ok(summaries)
}

fn summarize(dir: &Path, name: &str) -> SessionSummary {
    match load(dir, name) {
        Ok((state, _)) => SessionSummary {
            name: name.to_string(),
            data_root: Some(state.config().data.root.clone()),
            labeled: state.labels().len(),
            pool_size: state.config().pool_size,
            last_accuracy: state.last_accuracy(),
            strategy: state.config().strategy.name().to_string(),
            last_used: Some(state.last_used()),
            problem: None,
        },
        Err(e) => SessionSummary {
            name: name.to_string(),
            data_root: None,
            labeled: 0,
            pool_size: 0,
            last_accuracy: None,
            strategy: String::new(),
            last_used: None,
            problem: Some(e.to_string().lines().next().unwrap_or_default().to_string()),
        },
    }
}

/// The name of the most recently used readable session.
pub fn most_recent(dir: &Path) -> Result<Option<String>> {
    Ok(list(dir)?
        .into_iter()
        .find(|s| s.problem.is_none())
        .map(|s| s.name))
}

/// `glean sessions` output: aligned columns, one session per line.
pub fn sessions_table(summaries: &[SessionSummary]) -> String {
    if summaries.is_empty() {
        return "no saved sessions\n".to_string();
    }
    let header = [
        "NAME",
        "DATA",
        "LABELED/POOL",
        "TEST ACC",
        "STRATEGY",
        "LAST USED",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for s in summaries.iter().filter(|s| s.problem.is_none()) {
        rows.push(vec![
            s.name.clone(),
            s.data_root
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            format!("{}/{}", s.labeled, s.pool_size),
            s.last_accuracy
                .map(|a| format!("{:.1}%", a * 100.0))
                .unwrap_or_else(|| "-".into()),
            s.strategy.clone(),
            s.last_used
                .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
        ]);
    }
    let mut widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    widths[0] = widths[0].max(
        summaries
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0),
    );
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    // Unreadable sessions last, with their problem in place of the columns.
    for s in summaries {
        if let Some(problem) = &s.problem {
            let w = widths[0];
            out.push_str(&format!("{:<w$}  unreadable: {problem}\n", s.name));
        }
    }
    out
}
