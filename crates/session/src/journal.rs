//! The journal `<name>.journal`: one record per line,
//! `<xxh3-64 of the JSON, 16 hex digits> <JSON>\n`. A record is complete only with its
//! newline and a matching checksum, so a write cut short by a crash is recognised, and
//! ignored when it is the last line. Each append is fsync'd before it returns.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use glean_core::files::Durability;

use super::error::{Result, SessionError};
use super::types::Op;

/// The record format this build writes; it reads every one up to it
/// ([`migrate`] brings older ones up to date).
pub(crate) const RECORD_VERSION: u32 = 2;

/// Records from before records carried their format (version 1).
fn version_1() -> u32 {
    1
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The record's format (absent: 1).
    #[serde(rename = "v", default = "version_1")]
    pub version: u32,
    /// Strictly increasing; records at or below the snapshot's `journal_seq` are
    /// already folded into it (a crash between compaction and truncation leaves them).
    pub seq: u64,
    pub time: DateTime<Utc>,
    pub op: Op,
}

/// A record of an older format as this build's. Version 1 to 2: the same operations
/// (version 2 gives a page's labels the page's number, which `apply` does for both).
pub(crate) fn migrate(record: Record) -> Record {
    Record {
        version: RECORD_VERSION,
        ..record
    }
}

/// The line for a record, newline included.
pub(crate) fn encode(record: &Record) -> Result<Vec<u8>> {
    let json = serde_json::to_string(record)
        .map_err(|e| SessionError::Invalid(format!("cannot encode a journal record: {e}")))?;
    Ok(format!("{:016x} {json}\n", xxh3_64(json.as_bytes())).into_bytes())
}

/// A last line that is not a complete, intact record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornRecord {
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Bytes dropped.
    pub bytes: usize,
    pub reason: String,
}

impl std::fmt::Display for TornRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: ignored an incomplete last record ({} bytes, {}), most likely cut short by a crash; \
             every complete record before it was loaded",
            self.path.display(),
            self.line,
            self.bytes,
            self.reason
        )
    }
}

/// What a journal holds.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Records with their 1-based line numbers.
    pub records: Vec<(usize, Record)>,
    /// Length of the intact prefix; the file is cut back to it before appending.
    pub intact_len: u64,
    pub torn: Option<TornRecord>,
}

/// Parses journal bytes; `path` only names the file in messages. A damaged last line
/// becomes `torn`; a damaged line followed by others is an error.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut last_seq: Option<u64> = None;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        let next = offset + line.len() + usize::from(complete);
        let is_last = next >= bytes.len();
        let decoded = if complete {
            decode(line)
        } else {
            Err("no end of line".to_string())
        };
        match decoded {
            Ok(record) if record.version > RECORD_VERSION => {
                return Err(SessionError::Journal {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!(
                        "a record of format {} (this glean reads up to {RECORD_VERSION}): a newer glean wrote it",
                        record.version
                    ),
                });
            }
            Ok(record) => {
                let record = migrate(record);
                if let Some(prev) = last_seq.filter(|&p| record.seq <= p) {
                    return Err(SessionError::Journal {
                        path: path.to_path_buf(),
                        line: line_no,
                        message: format!(
                            "record number {} follows record {prev}: the journal is out of order",
                            record.seq
                        ),
                    });
                }
                last_seq = Some(record.seq);
                parsed.records.push((line_no, record));
                parsed.intact_len = next as u64;
            }
            Err(reason) if is_last => {
                parsed.torn = Some(TornRecord {
                    path: path.to_path_buf(),
                    line: line_no,
                    bytes: bytes.len() - offset,
                    reason,
                });
            }
            Err(reason) => {
                return Err(SessionError::Journal {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!("damaged record ({reason}) with intact records after it"),
                })
            }
        }
        offset = next;
    }
    Ok(parsed)
}

/// One line (without its newline) into a record, or why it is not one.
fn decode(line: &[u8]) -> std::result::Result<Record, String> {
    if line.len() < 18 || line[16] != b' ' {
        return Err("no checksum".into());
    }
    let sum = std::str::from_utf8(&line[..16])
        .ok()
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .ok_or("checksum is not hexadecimal")?;
    let json = &line[17..];
    if xxh3_64(json) != sum {
        return Err("checksum mismatch".into());
    }
    serde_json::from_slice(json)
        .map_err(|e| format!("checksum matches but the record is unreadable: {e}"))
}

/// Reads the whole journal; a missing file is an empty journal.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    match File::open(path) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)
                .map_err(SessionError::io("read", path))?;
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(SessionError::io("open", path)(e)),
    }
}

/// The open journal of a locked session.
#[derive(Debug)]
pub(crate) struct Writer {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Writer {
    /// Opens (or creates) the journal and cuts it to `intact_len`, dropping a torn tail
    /// so that new records do not follow it.
    pub fn open(path: &Path, intact_len: u64) -> Result<Writer> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(SessionError::io("open", path))?;
        let len = file
            .metadata()
            .map_err(SessionError::io("stat", path))?
            .len();
        let mut writer = Writer {
            file,
            path: path.to_path_buf(),
            len,
        };
        if len != intact_len {
            writer.truncate_to(intact_len)?;
        }
        if !existed {
            super::snapshot::sync_dir(path)?;
        }
        Ok(writer)
    }

    /// Appends one record; `Synced`, it waits until the record is on disk, `Cached`, it
    /// leaves that to the next synced record (the file's next fsync carries it). On
    /// failure the journal is cut back so that no partial line stays behind.
    pub fn append(&mut self, record: &Record, durability: Durability) -> Result<()> {
        let line = encode(record)?;
        let written = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&line))
            .and_then(|_| match durability {
                Durability::Synced => self.file.sync_data(),
                Durability::Cached => Ok(()),
            });
        if let Err(e) = written {
            let _ = self.truncate_to(self.len);
            return Err(SessionError::io("append to", &self.path)(e));
        }
        self.len += line.len() as u64;
        Ok(())
    }

    /// Waits until every record appended is on disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(SessionError::io("sync", &self.path))
    }

    /// The journal's length in bytes.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// Empties the journal after its records went into the snapshot.
    pub fn clear(&mut self) -> Result<()> {
        self.truncate_to(0)
    }

    fn truncate_to(&mut self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .and_then(|_| self.file.sync_all())
            .map_err(SessionError::io("truncate", &self.path))?;
        self.len = len;
        Ok(())
    }
}
