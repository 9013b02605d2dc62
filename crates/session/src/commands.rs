//! The bodies of `glean sessions` and `glean export`, so `cli.rs` only wires flags.

use std::io::Write;
use std::path::Path;

use super::error::{Result, SessionError};
use super::{
    export, export_to_file, list, load, predictions_path, read_predictions, sessions_table,
    ExportFormat, ExportScope,
};

/// `glean sessions`: prints the table of the sessions in `dir`.
pub fn print_sessions(dir: &Path, mut out: impl Write) -> Result<()> {
    let table = sessions_table(&list(dir)?);
    out.write_all(table.as_bytes())
        .map_err(|e| SessionError::Invalid(format!("cannot print the table: {e}")))
}

/// `glean export`: writes the labels of session `name` (with `all`, every pool item of
/// its last ranking) to `output`, or to `stdout` when there is none. Load warnings (a
/// torn last journal record) go to `warnings`.
pub fn export_session(
    dir: &Path,
    name: &str,
    format: ExportFormat,
    all: bool,
    output: Option<&Path>,
    stdout: impl Write,
    mut warnings: impl Write,
) -> Result<()> {
    let (state, report) = load(dir, name)?;
    for warning in report.warnings() {
        let _ = writeln!(warnings, "warning: {warning}");
    }
    let predictions = if all {
        let path = predictions_path(dir, name);
        Some(read_predictions(&path)?.ok_or_else(|| {
            SessionError::Invalid(format!(
                "session {name} has no predictions yet ({} is written after the labeler's \
                 first ranking): label until the model ranks, or export without --all",
                path.display()
            ))
        })?)
    } else {
        None
    };
    let scope = match &predictions {
        Some(p) => ExportScope::All(p),
        None => ExportScope::Labels,
    };
    match output {
        Some(path) => export_to_file(&state, format, scope, path),
        None => export(&state, format, scope, stdout),
    }
}
