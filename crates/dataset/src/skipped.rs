//! The report of files that could not be used, grouped by reason.

use std::collections::BTreeMap;

/// Why a file was left out of the pool.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum SkipReason {
    /// Not an image: an unknown extension, or content no decoder recognises.
    NotImage,
    /// A zero-byte file.
    EmptyFile,
    /// An image file that is truncated or corrupt.
    Corrupt,
    /// The file, or the image its header describes, is beyond the size limits.
    TooLarge,
    /// Could not be opened or read (permissions, dangling symlink, I/O error).
    Unreadable,
    /// Not a regular file (a directory named like an image, a FIFO, a socket, a device).
    NotRegularFile,
    /// A symbolic link that loops back on itself or an ancestor folder.
    SymlinkLoop,
    /// The label pattern did not match the file name, or the file lies outside any
    /// class folder.
    NoLabel,
    /// Its class is not one of those given with `--classes`.
    UnknownClass,
    /// Its id (lossy UTF-8 path) collides with another file's.
    DuplicateId,
    /// A HEIC/HEIF or AVIF photo (as phones save them), which glean cannot decode.
    UnsupportedHeif,
    /// A camera RAW file (CR2, CR3, NEF, ARW, DNG, …), which glean cannot decode.
    UnsupportedRaw,
}

impl SkipReason {
    pub const ALL: [SkipReason; 12] = [
        SkipReason::NotImage,
        SkipReason::EmptyFile,
        SkipReason::Corrupt,
        SkipReason::TooLarge,
        SkipReason::Unreadable,
        SkipReason::NotRegularFile,
        SkipReason::SymlinkLoop,
        SkipReason::NoLabel,
        SkipReason::UnknownClass,
        SkipReason::DuplicateId,
        SkipReason::UnsupportedHeif,
        SkipReason::UnsupportedRaw,
    ];

    /// A stable one-byte code (1-based position in `ALL`) for files that store reasons.
    pub fn code(self) -> u8 {
        #[allow(
            clippy::expect_used,
            reason = "ALL lists every reason (a test round-trips each code)"
        )]
        let at = Self::ALL
            .iter()
            .position(|&r| r == self)
            .expect("every reason is in ALL");
        at as u8 + 1
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NotImage => "not an image",
            SkipReason::EmptyFile => "empty file",
            SkipReason::Corrupt => "truncated or corrupt",
            SkipReason::TooLarge => "too large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::NotRegularFile => "not a regular file",
            SkipReason::SymlinkLoop => "symlink loop",
            SkipReason::NoLabel => "no label (pattern did not match / outside class folders)",
            SkipReason::UnknownClass => "class not in --classes",
            SkipReason::DuplicateId => "duplicate id (non-UTF-8 name)",
            SkipReason::UnsupportedHeif => "HEIC/HEIF or AVIF (not supported: convert to JPEG)",
            SkipReason::UnsupportedRaw => "camera RAW (not supported: export to JPEG)",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// How many examples per reason are kept (the count is always exact).
pub const EXAMPLES_PER_REASON: usize = 5;

/// Files skipped, by reason: an exact count and a few example paths, already escaped
/// for display.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    by_reason: BTreeMap<SkipReason, ReasonTally>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ReasonTally {
    count: usize,
    examples: Vec<String>,
}

impl Skipped {
    /// Counts one file; `path` is escaped for display here.
    pub fn add(&mut self, reason: SkipReason, path: &str) {
        let tally = self.by_reason.entry(reason).or_default();
        tally.count += 1;
        if tally.examples.len() < EXAMPLES_PER_REASON {
            tally.examples.push(super::escape_for_display(path));
        }
    }

    /// Adds everything `other` counted.
    pub fn merge(&mut self, other: &Skipped) {
        for (reason, theirs) in &other.by_reason {
            let tally = self.by_reason.entry(*reason).or_default();
            tally.count += theirs.count;
            let room = EXAMPLES_PER_REASON.saturating_sub(tally.examples.len());
            tally
                .examples
                .extend(theirs.examples.iter().take(room).cloned());
        }
    }

    pub fn total(&self) -> usize {
        self.by_reason.values().map(|t| t.count).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn count(&self, reason: SkipReason) -> usize {
        self.by_reason.get(&reason).map_or(0, |t| t.count)
    }

    /// Example paths (escaped) for one reason.
    pub fn examples(&self, reason: SkipReason) -> &[String] {
        self.by_reason
            .get(&reason)
            .map_or(&[], |t| t.examples.as_slice())
    }

    /// (reason, count, examples) for every reason with at least one file, in a fixed
    /// order.
    pub fn iter(&self) -> impl Iterator<Item = (SkipReason, usize, &[String])> + '_ {
        self.by_reason
            .iter()
            .filter(|(_, t)| t.count > 0)
            .map(|(r, t)| (*r, t.count, t.examples.as_slice()))
    }

    /// One line: "3 not an image, 1 empty file".
    pub fn summary(&self) -> String {
        self.iter()
            .map(|(r, n, _)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_exactly_keeps_few_escaped_examples() {
        let mut s = Skipped::default();
        for i in 0..8 {
            s.add(SkipReason::Corrupt, &format!("bad{i}.png"));
        }
        s.add(SkipReason::NotImage, "evil\x1b[2J.txt");
        assert_eq!(s.total(), 9);
        assert_eq!(s.count(SkipReason::Corrupt), 8);
        assert_eq!(s.examples(SkipReason::Corrupt).len(), EXAMPLES_PER_REASON);
        assert_eq!(s.examples(SkipReason::NotImage), ["evil\\x1b[2J.txt"]);
        let reasons: Vec<_> = s.iter().map(|(r, n, _)| (r, n)).collect();
        assert_eq!(
            reasons,
            [(SkipReason::NotImage, 1), (SkipReason::Corrupt, 8)]
        );
        assert_eq!(s.summary(), "1 not an image, 8 truncated or corrupt");
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Skipped::default();
        a.add(SkipReason::EmptyFile, "a");
        let mut b = Skipped::default();
        b.add(SkipReason::EmptyFile, "b");
        b.add(SkipReason::SymlinkLoop, "c");
        a.merge(&b);
        assert_eq!(a.count(SkipReason::EmptyFile), 2);
        assert_eq!(a.examples(SkipReason::EmptyFile), ["a", "b"]);
        assert_eq!(a.total(), 3);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Skipped>(&json).unwrap(), a);
    }
}
