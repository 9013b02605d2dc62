//! The snapshot `<name>.ron`: pretty RON, one label per line, so a person can read it
//! and a diff shows what changed. Written atomically; a damaged one is reported with
//! its line and never overwritten.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{Result, SessionError};
use super::types::{DataSpec, LabelRecord, Queue, RoundRecord, SessionConfig, SessionState};
use glean_core::files::{replace_file_with, sync_folder, Durability};
use glean_core::{LearnerKind, ModelKind, QueryOptions};
use glean_dataset::Class;

/// The snapshot format this build writes; it reads every one from
/// `OLDEST_FORMAT_VERSION` up (`migrate` brings older ones up to date).
pub const FORMAT_VERSION: u32 = 2;
/// The oldest snapshot format this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// The file layout; the config's fields sit at the top level so that nested structs
/// print on one line each (RON depth limit 2).
#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    version: u32,
    name: String,
    created: DateTime<Utc>,
    last_used: DateTime<Utc>,
    /// Journal records up to this sequence number are folded in.
    journal_seq: u64,
    data: DataSpec,
    classes: Vec<Class>,
    pool_size: usize,
    strategy: String,
    batch: usize,
    model: String,
    device: String,
    seed: u64,
    learner: String,
    // Left out when `auto`, so that snapshots from before these settings stay
    // byte-identical.
    #[serde(default = "auto", skip_serializing_if = "is_auto")]
    embedding: String,
    #[serde(default = "auto", skip_serializing_if = "is_auto")]
    class_prior: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clusters: Option<usize>,
    #[serde(default = "margin", skip_serializing_if = "is_margin")]
    cluster_pick: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    audit_every: usize,
    labels: Vec<LabelRecord>,
    skipped: Vec<String>,
    rounds: Vec<RoundRecord>,
    queue: Queue,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_margin(setting: &str) -> bool {
    setting == "margin"
}

fn margin() -> String {
    "margin".into()
}

fn is_auto(setting: &str) -> bool {
    setting == "auto"
}

/// What sessions made before a setting existed had: glean's default then.
fn auto() -> String {
    "auto".into()
}

#[derive(Deserialize)]
struct VersionProbe {
    version: u32,
}

/// The snapshot text of a state.
pub(crate) fn to_text(state: &SessionState) -> Result<String> {
    let c = &state.config;
    let file = SnapshotFile {
        version: FORMAT_VERSION,
        name: state.name.clone(),
        created: state.created,
        last_used: state.last_used,
        journal_seq: state.seq,
        data: c.data.clone(),
        classes: c.classes.clone(),
        pool_size: c.pool_size,
        strategy: c.strategy.name().into(),
        batch: c.batch,
        model: c.model.name().into(),
        device: c.device.to_string(),
        seed: c.seed,
        learner: c.learner.name().into(),
        embedding: c.embedding.name().into(),
        class_prior: c.class_prior.name().into(),
        clusters: c.query.clusters,
        cluster_pick: c.query.cluster_pick.name().into(),
        audit_every: c.audit_every,
        labels: state.labels.clone(),
        skipped: state.skipped.clone(),
        rounds: state.rounds.clone(),
        queue: state.queue.clone(),
    };
    let pretty = ron::ser::PrettyConfig::new().depth_limit(2);
    let mut text = ron::ser::to_string_pretty(&file, pretty)
        .map_err(|e| SessionError::Invalid(format!("cannot write the snapshot: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// An error in the snapshot `path` at `line`, `col`.
fn error_at(path: &Path, line: usize, col: usize, message: String) -> SessionError {
    SessionError::Snapshot {
        path: path.to_path_buf(),
        line,
        col,
        message,
    }
}

/// Reads a snapshot; `path` only names the file in errors.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<SessionState> {
    let error = |line: usize, col: usize, message: String| error_at(path, line, col, message);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(bytes, e.valid_up_to());
        error(line, col, "not UTF-8 text, so not a glean snapshot".into())
    })?;
    if text.trim().is_empty() {
        return Err(error(1, 1, "the snapshot is empty".into()));
    }
    let spanned = |e: ron::error::SpannedError, what: &str| {
        error(
            e.position.line,
            e.position.col,
            format!("{what}: {}", e.code),
        )
    };
    let probe: VersionProbe =
        ron::from_str(text).map_err(|e| spanned(e, "not a readable RON snapshot"))?;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&probe.version) {
        let line = line_of(text, "version").unwrap_or(1);
        return Err(error(
            line,
            1,
            format!(
                "snapshot format version {} is not supported (this glean reads versions \
                 {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}); a newer glean may have written it",
                probe.version
            ),
        ));
    }
    let file: SnapshotFile = ron::from_str(text).map_err(|e| spanned(e, "damaged snapshot"))?;
    from_file(migrate(file), text, path)
}

/// A snapshot of an older format as this build's; the next compaction writes it so.
/// Version 1 to 2: labels may name the review page that gave them (`LabelRecord::page`);
/// a version 1 snapshot names none, which reads as labels given alone.
fn migrate(file: SnapshotFile) -> SnapshotFile {
    SnapshotFile {
        version: FORMAT_VERSION,
        ..file
    }
}

fn from_file(file: SnapshotFile, text: &str, path: &Path) -> Result<SessionState> {
    // A setting this glean does not know (edited by hand, or written by another glean)
    // is reported at its line, before anything runs with it.
    fn setting<T: std::str::FromStr<Err = String>>(
        key: &str,
        value: &str,
        text: &str,
        path: &Path,
    ) -> Result<T> {
        value
            .parse()
            .map_err(|e| error_at(path, line_of(text, &format!("{key}:")).unwrap_or(1), 1, e))
    }
    let config = SessionConfig {
        data: file.data,
        classes: file.classes,
        pool_size: file.pool_size,
        strategy: setting("strategy", &file.strategy, text, path)?,
        batch: file.batch,
        model: setting("model", &file.model, text, path)?,
        device: setting("device", &file.device, text, path)?,
        seed: file.seed,
        // Sessions made before `--learner` existed recorded the model here, and their
        // learner was the network.
        learner: match file.learner.parse::<LearnerKind>() {
            Ok(learner) => learner,
            Err(_) if file.learner.parse::<ModelKind>().is_ok() => LearnerKind::Cnn,
            Err(_) => setting("learner", &file.learner, text, path)?,
        },
        embedding: setting("embedding", &file.embedding, text, path)?,
        class_prior: setting("class_prior", &file.class_prior, text, path)?,
        query: QueryOptions {
            clusters: file.clusters,
            cluster_pick: setting("cluster_pick", &file.cluster_pick, text, path)?,
        },
        audit_every: file.audit_every,
    };
    let mut labeled = HashMap::with_capacity(file.labels.len());
    for (i, label) in file.labels.iter().enumerate() {
        let problem = if usize::from(label.class) >= config.classes.len() {
            Some(format!(
                "label of {:?} has class {}, but the session has {} classes",
                label.item,
                label.class,
                config.classes.len()
            ))
        } else if labeled.insert(label.item.clone(), i).is_some() {
            Some(format!("item {:?} is labeled twice", label.item))
        } else {
            None
        };
        if let Some(message) = problem {
            let quoted = ron::to_string(&label.item).unwrap_or_default();
            // The first line naming the item; a duplicate's second line when there is one.
            let lines: Vec<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| l.contains(&quoted))
                .map(|(n, _)| n + 1)
                .collect();
            let line = lines.get(1).or(lines.first()).copied().unwrap_or(1);
            return Err(error_at(path, line, 1, message));
        }
    }
    Ok(SessionState {
        name: file.name,
        config,
        created: file.created,
        last_used: file.last_used,
        labels: file.labels,
        labeled,
        skipped: file.skipped,
        rounds: file.rounds,
        queue: file.queue,
        seq: file.journal_seq,
    })
}

/// 1-based line and column of a byte offset.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

/// 1-based number of the first line that starts (after indentation) with `key`.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|n| n + 1)
}

/// Writes `text` to `path` so that a crash leaves either the old file or the new one
/// (`glean_core::files::replace_file`, synced).
pub(crate) fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    replace_file_with(path, Durability::Synced, text).map_err(SessionError::io("replace", path))
}

/// Makes a rename or a new file in `path`'s folder durable.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_folder(dir).map_err(SessionError::io("fsync folder", dir))
}
