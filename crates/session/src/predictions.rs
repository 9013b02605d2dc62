//! `NAME.predictions.csv`: the labeler's last ranking as the whole folder's predictions,
//! one line per pool item (`item,class,prob`; class and prob empty for items that were
//! labeled when it ranked). Written atomically after each ranking, read by `glean
//! export --all`, so exporting needs no model.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Result, SessionError};
use super::snapshot;

/// Path of a session's predictions.
pub fn predictions_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.predictions.csv"))
}

/// One pool item and, when it was unlabeled at the ranking, the predictor's class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictedItem {
    pub item: String,
    pub class: Option<u16>,
    pub prob: Option<f32>,
}

/// Writes every pool item with its prediction, replacing the file atomically.
pub fn write_predictions(path: &Path, items: &[PredictedItem]) -> Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(items.len() * 24));
    for item in items {
        writer
            .serialize(item)
            .map_err(|e| SessionError::Invalid(format!("cannot encode the predictions: {e}")))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| SessionError::Invalid(format!("cannot encode the predictions: {e}")))?;
    snapshot::write_atomic(path, &bytes)
}

/// The predictions at `path`; None when the labeler has not ranked yet.
pub fn read_predictions(path: &Path) -> Result<Option<Vec<PredictedItem>>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SessionError::io("open", path)(e)),
    };
    csv::Reader::from_reader(std::io::BufReader::new(file))
        .deserialize()
        .enumerate()
        .map(|(row, item)| {
            item.map_err(|e| {
                SessionError::Invalid(format!(
                    "{}:{}: {e}; it is remade by the labeler's next ranking",
                    path.display(),
                    row + 2
                ))
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_round_trip_and_a_damaged_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = predictions_path(dir.path(), "s");
        assert_eq!(read_predictions(&path).unwrap(), None);
        let items = vec![
            PredictedItem {
                item: "cat/1, \"odd\".png".into(),
                class: Some(1),
                prob: Some(0.75),
            },
            PredictedItem {
                item: "dog/2.png".into(),
                class: None,
                prob: None,
            },
        ];
        write_predictions(&path, &items).unwrap();
        assert_eq!(read_predictions(&path).unwrap(), Some(items));
        std::fs::write(&path, "item,class,prob\na.png,x,0.5\n").unwrap();
        let err = read_predictions(&path).unwrap_err().to_string();
        assert!(err.contains("s.predictions.csv:2:"), "{err}");
    }
}
