//! The features of a pass that has not finished, kept so that a restart continues where
//! the last one stopped: an append-only file of records, one per image, each with its
//! own checksum. A record is appended after every batch, so quitting (or `kill -9`)
//! loses at most the batch in flight; a torn or damaged tail is cut off when the file
//! is opened again. When the pass completes, its caller writes the finished matrices
//! and removes this file.
//!
//! Layout (little-endian): the header `MAGIC`, `dim: u32`, `rows: u64`; then records
//! `row: u32`, `status: u8` (0: `dim` f32 features follow; else the decode failure's
//! code), the features, and `xxh3_64` of the record's bytes before it.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use glean_dataset::SkipReason;

const MAGIC: &[u8; 8] = b"GLNPART1";
const HEADER_LEN: u64 = 8 + 4 + 8;

/// What the pass made of one image.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Features(Vec<f32>),
    /// The image could not be decoded; it is left out of the pool.
    Failed(SkipReason),
}

/// An open partial-features file, ready to take more records.
pub struct PartialFeatures {
    path: PathBuf,
    file: File,
    dim: usize,
    rows: usize,
}

impl PartialFeatures {
    /// Opens (or creates) the file for `rows` images of `dim` features and returns the
    /// records it already holds, each row once (the last record of a row wins). A file
    /// made for another shape is started afresh.
    pub fn open(
        path: &Path,
        dim: usize,
        rows: usize,
    ) -> std::io::Result<(Self, Vec<(usize, RowOutcome)>)> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let (records, valid_len) = match read_all(&mut file, dim, rows) {
            Ok(found) => found,
            Err(why) => {
                tracing::warn!("starting the feature pass afresh: {} {why}", path.display());
                (Vec::new(), 0)
            }
        };
        if valid_len == 0 {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            let mut header = Vec::with_capacity(HEADER_LEN as usize);
            header.extend_from_slice(MAGIC);
            header.extend_from_slice(&(dim as u32).to_le_bytes());
            header.extend_from_slice(&(rows as u64).to_le_bytes());
            file.write_all(&header)?;
        } else {
            // Cut a torn tail, so what is appended next follows whole records.
            file.set_len(valid_len)?;
            file.seek(SeekFrom::Start(valid_len))?;
        }
        let partial = PartialFeatures {
            path: path.to_path_buf(),
            file,
            dim,
            rows,
        };
        Ok((partial, dedup(records)))
    }

    /// Appends one record per outcome, in one write.
    pub fn append(&mut self, outcomes: &[(usize, RowOutcome)]) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(outcomes.len() * (13 + 4 * self.dim));
        for (row, outcome) in outcomes {
            assert!(*row < self.rows, "row {row} of {}", self.rows);
            let start = bytes.len();
            bytes.extend_from_slice(&(*row as u32).to_le_bytes());
            match outcome {
                RowOutcome::Features(values) => {
                    assert_eq!(values.len(), self.dim, "features of row {row}");
                    bytes.push(0);
                    for v in values {
                        bytes.extend_from_slice(&v.to_le_bytes());
                    }
                }
                RowOutcome::Failed(reason) => bytes.push(reason.code()),
            }
            let sum = xxh3_64(&bytes[start..]);
            bytes.extend_from_slice(&sum.to_le_bytes());
        }
        self.file.write_all(&bytes)
    }

    /// Removes the file (the finished matrices are stored elsewhere).
    pub fn remove(self) {
        drop(self.file);
        if let Err(why) = std::fs::remove_file(&self.path) {
            tracing::warn!("could not remove {}: {why}", self.path.display());
        }
    }
}

/// Every whole record after a matching header, and the length of the file they fill.
fn read_all(
    file: &mut File,
    dim: usize,
    rows: usize,
) -> Result<(Vec<(usize, RowOutcome)>, u64), String> {
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(file);
    let mut header = [0u8; HEADER_LEN as usize];
    match reader.read_exact(&mut header) {
        Ok(()) => {}
        // Empty or shorter than a header: nothing was kept.
        Err(_) => return Ok((Vec::new(), 0)),
    }
    let short = || "has a short header".to_string();
    let dim_found = u32::from_le_bytes(*header[8..].first_chunk().ok_or_else(short)?) as usize;
    let rows_found = u64::from_le_bytes(*header[12..].first_chunk().ok_or_else(short)?);
    if &header[..8] != MAGIC {
        return Err("is not a glean partial-features file".into());
    }
    if dim_found != dim || rows_found != rows as u64 {
        return Err(format!(
            "holds {rows_found} rows of {dim_found}, not {rows} of {dim}"
        ));
    }
    let mut records = Vec::new();
    let mut valid = HEADER_LEN;
    let mut head = [0u8; 5];
    let mut body = vec![0u8; 4 * dim];
    let mut sum = [0u8; 8];
    loop {
        if reader.read_exact(&mut head).is_err() {
            break;
        }
        let [a, b, c, d, status] = head;
        let row = u32::from_le_bytes([a, b, c, d]) as usize;
        let mut hashed = head.to_vec();
        let outcome = if status == 0 {
            if reader.read_exact(&mut body).is_err() {
                break;
            }
            hashed.extend_from_slice(&body);
            RowOutcome::Features(
                body.as_chunks::<4>()
                    .0
                    .iter()
                    .map(|b| f32::from_le_bytes(*b))
                    .collect(),
            )
        } else {
            match SkipReason::from_code(status) {
                Some(reason) => RowOutcome::Failed(reason),
                None => break,
            }
        };
        if reader.read_exact(&mut sum).is_err()
            || u64::from_le_bytes(sum) != xxh3_64(&hashed)
            || row >= rows
        {
            break;
        }
        valid += hashed.len() as u64 + 8;
        records.push((row, outcome));
    }
    Ok((records, valid))
}

fn dedup(records: Vec<(usize, RowOutcome)>) -> Vec<(usize, RowOutcome)> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<(usize, RowOutcome)> = records
        .into_iter()
        .rev()
        .filter(|(row, _)| seen.insert(*row))
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(row: usize) -> RowOutcome {
        RowOutcome::Features(vec![row as f32, -1.5, 0.25])
    }

    #[test]
    fn records_survive_a_reopen_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.partial");
        let (mut p, found) = PartialFeatures::open(&path, 3, 10).unwrap();
        assert!(found.is_empty());
        p.append(&[
            (4, features(4)),
            (7, RowOutcome::Failed(SkipReason::Corrupt)),
        ])
        .unwrap();
        p.append(&[(0, features(0))]).unwrap();
        drop(p);
        // A record torn half-way, as a kill during the write leaves it.
        let whole = std::fs::metadata(&path).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 0, 1, 2]).unwrap();
        drop(f);

        let (mut p, found) = PartialFeatures::open(&path, 3, 10).unwrap();
        assert_eq!(
            found,
            vec![
                (4, features(4)),
                (7, RowOutcome::Failed(SkipReason::Corrupt)),
                (0, features(0))
            ]
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        p.append(&[(9, features(9))]).unwrap();
        drop(p);
        let (p, found) = PartialFeatures::open(&path, 3, 10).unwrap();
        assert_eq!(found.last(), Some(&(9, features(9))));
        assert_eq!(found.len(), 4);
        p.remove();
        assert!(!path.exists());
    }

    #[test]
    fn a_damaged_record_ends_what_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.partial");
        let (mut p, _) = PartialFeatures::open(&path, 3, 10).unwrap();
        p.append(&[(1, features(1)), (2, features(2)), (3, features(3))])
            .unwrap();
        drop(p);
        // Flip a bit inside the second record's features.
        let mut bytes = std::fs::read(&path).unwrap();
        let record = 4 + 1 + 12 + 8;
        bytes[HEADER_LEN as usize + record + 6] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let (_, found) = PartialFeatures::open(&path, 3, 10).unwrap();
        assert_eq!(found, vec![(1, features(1))]);
    }

    #[test]
    fn another_shape_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.partial");
        let (mut p, _) = PartialFeatures::open(&path, 3, 10).unwrap();
        p.append(&[(1, features(1))]).unwrap();
        drop(p);
        let (_, found) = PartialFeatures::open(&path, 3, 11).unwrap();
        assert!(found.is_empty());
        let (_, found) = PartialFeatures::open(&path, 3, 11).unwrap();
        assert!(found.is_empty(), "the new header was written");
        std::fs::write(&path, b"something else entirely, long enough").unwrap();
        let (_, found) = PartialFeatures::open(&path, 3, 11).unwrap();
        assert!(found.is_empty());
    }

    #[test]
    fn a_later_record_of_a_row_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.partial");
        let (mut p, _) = PartialFeatures::open(&path, 3, 10).unwrap();
        p.append(&[(1, RowOutcome::Failed(SkipReason::Unreadable))])
            .unwrap();
        p.append(&[(1, features(1))]).unwrap();
        drop(p);
        let (_, found) = PartialFeatures::open(&path, 3, 10).unwrap();
        assert_eq!(found, vec![(1, features(1))]);
    }
}
