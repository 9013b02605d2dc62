//! `--holdout`: a test split carved out of a labeled pool that has none of its own; and
//! `--validation`: a validation split carved out of the pool that is left, measured on
//! instead of the test split, so that constants are chosen without looking at it.
//!
//! Each split is stratified by class (each class gives its share, ±1) and chosen by a
//! fixed-seed hash of each item's id, so the same files always give the same split,
//! whatever order they are listed in and whatever `--seed` a run uses.

use std::fmt;
use std::str::FromStr;

use xxhash_rust::xxh3::{xxh3_128, xxh3_64_with_seed};

use super::{DatasetError, Fingerprint, Item, ScanOptions};

/// Seed of the id hash that orders each class's items for the hold-out. Changing it
/// changes every split (and so every accuracy measured on one): leave it be.
const HOLDOUT_HASH_SEED: u64 = 0x676c_6561_6e5f_686f; // "glean_ho"
/// The same for the validation split: another seed, so that it is not the hold-out's
/// next slice of each class.
const VALIDATION_HASH_SEED: u64 = 0x676c_6561_6e5f_7661; // "glean_va"

/// How much of the labeled pool becomes the test split.
#[derive(Debug, Clone, Copy)]
pub enum Holdout {
    /// This many images.
    Count(usize),
    /// This fraction of the labeled images, strictly between 0 and 1.
    Fraction(f64),
}

// Bitwise on the fraction, so `Eq` holds even for a hand-built NaN (which `FromStr`
// never yields).
impl PartialEq for Holdout {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Holdout::Count(a), Holdout::Count(b)) => a == b,
            (Holdout::Fraction(a), Holdout::Fraction(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        }
    }
}

impl Eq for Holdout {}

impl fmt::Display for Holdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holdout::Count(n) => write!(f, "{n}"),
            Holdout::Fraction(x) => write!(f, "{x}"),
        }
    }
}

/// Why a `--holdout` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseHoldoutError(String);

impl FromStr for Holdout {
    type Err = ParseHoldoutError;

    /// `2000` (a count), `0.2` or `20%` (a fraction of the labeled pool).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = |why: &str| ParseHoldoutError(format!("{text:?}: {why}"));
        if let Some(percent) = text.strip_suffix('%') {
            let p: f64 = percent
                .trim()
                .parse()
                .map_err(|_| bad("expected a percentage such as 20%"))?;
            if !(p > 0.0 && p < 100.0) {
                return Err(bad("a percentage lies strictly between 0% and 100%"));
            }
            return Ok(Holdout::Fraction(p / 100.0));
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let n: usize = text.parse().map_err(|_| bad("count too large"))?;
            if n == 0 {
                return Err(bad("hold out at least 1 image"));
            }
            return Ok(Holdout::Count(n));
        }
        let x: f64 = text.parse().map_err(|_| {
            bad("expected a count of images (2000) or a fraction of the labeled pool (0.2 or 20%)")
        })?;
        if !(x > 0.0 && x < 1.0) {
            return Err(bad(
                "a fraction lies strictly between 0 and 1 (0.2); a count is a whole number (2000)",
            ));
        }
        Ok(Holdout::Fraction(x))
    }
}

impl Holdout {
    /// How many of `labeled` images this holds out (before checking that it leaves some).
    fn size(self, labeled: usize) -> usize {
        match self {
            Holdout::Count(n) => n,
            Holdout::Fraction(x) => (x * labeled as f64).round() as usize,
        }
    }

    fn error(self, flag: &'static str, message: String) -> DatasetError {
        DatasetError::BadSplit {
            flag,
            value: self.to_string(),
            message,
        }
    }
}

/// Option combinations `scan` refuses before it reads the folder.
pub(super) fn check_options(opts: &ScanOptions) -> Result<(), DatasetError> {
    match (opts.holdout, &opts.test) {
        (Some(holdout), Some(_)) => Err(holdout.error(
            "--holdout",
            "cannot be combined with --test (that folder is the test split already); \
             drop one of them"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// Moves a class-stratified, id-hashed selection of the labeled `items` into the test
/// split. `test` is what the folder brought itself: it must be empty. Both returned
/// lists keep the order of `items`.
pub(super) fn split(
    holdout: Holdout,
    root: &str,
    class_count: usize,
    items: Vec<Item>,
    test: &[Item],
) -> Result<(Vec<Item>, Vec<Item>), DatasetError> {
    if !test.is_empty() {
        return Err(holdout.error(
            "--holdout",
            format!(
                "{root} has a test split of its own ({} images, from a test/ folder or the IDX \
                 test files); drop --holdout",
                test.len()
            ),
        ));
    }
    cut(
        holdout,
        "--holdout",
        HOLDOUT_HASH_SEED,
        root,
        class_count,
        items,
    )
}

/// Moves a class-stratified, id-hashed selection of the labeled `items` (the pool once
/// any hold-out has left it) into a validation split: the pool that is left, and the
/// validation items, both in the order of `items`.
pub(super) fn split_validation(
    validation: Holdout,
    root: &str,
    class_count: usize,
    items: Vec<Item>,
) -> Result<(Vec<Item>, Vec<Item>), DatasetError> {
    cut(
        validation,
        "--validation",
        VALIDATION_HASH_SEED,
        root,
        class_count,
        items,
    )
}

fn cut(
    share: Holdout,
    flag: &'static str,
    seed: u64,
    root: &str,
    class_count: usize,
    items: Vec<Item>,
) -> Result<(Vec<Item>, Vec<Item>), DatasetError> {
    let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); class_count];
    for (i, item) in items.iter().enumerate() {
        if let Some(list) = item.label.and_then(|l| per_class.get_mut(l as usize)) {
            list.push(i);
        }
    }
    let labeled: usize = per_class.iter().map(Vec::len).sum();
    if labeled == 0 {
        return Err(share.error(
            flag,
            format!(
                "{root} has no labeled images to hold out (labels come from class folders, \
                 --label-pattern or IDX label files)"
            ),
        ));
    }
    let wanted = share.size(labeled);
    if wanted == 0 {
        return Err(share.error(
            flag,
            format!("that share of {labeled} labeled images rounds to no image; hold out more"),
        ));
    }
    if wanted >= labeled {
        return Err(share.error(
            flag,
            format!(
                "the pool has only {labeled} labeled images; hold out fewer so that some stay \
                 to label"
            ),
        ));
    }

    let counts: Vec<usize> = per_class.iter().map(Vec::len).collect();
    let quotas = apportion(&counts, wanted);
    let mut held = vec![false; items.len()];
    for (members, quota) in per_class.iter_mut().zip(quotas) {
        members.sort_by_cached_key(|&i| {
            let id = &items[i].id;
            (xxh3_64_with_seed(id.as_bytes(), seed), id.clone())
        });
        for &i in &members[..quota] {
            held[i] = true;
        }
    }
    let (kept, moved): (Vec<_>, Vec<_>) = items.into_iter().zip(held).partition(|(_, h)| !h);
    Ok((
        kept.into_iter().map(|(item, _)| item).collect(),
        moved.into_iter().map(|(item, _)| item).collect(),
    ))
}

/// The scan's fingerprint with the hold-out mixed in, so a split pool and the unsplit
/// one never share a cache entry (nor anything else keyed by the fingerprint).
pub(super) fn fingerprint(base: Fingerprint, holdout: Holdout) -> Fingerprint {
    mix(base, b"|holdout=", holdout)
}

/// The same for the validation split.
pub(super) fn validation_fingerprint(base: Fingerprint, validation: Holdout) -> Fingerprint {
    mix(base, b"|validation=", validation)
}

fn mix(base: Fingerprint, tag: &[u8], share: Holdout) -> Fingerprint {
    let what = match share {
        Holdout::Count(n) => format!("count:{n}"),
        Holdout::Fraction(x) => format!("fraction:{:016x}", x.to_bits()),
    };
    let mut bytes = base.0.to_le_bytes().to_vec();
    bytes.extend_from_slice(tag);
    bytes.extend_from_slice(what.as_bytes());
    Fingerprint(xxh3_128(&bytes))
}

/// Splits `total` over classes in proportion to `counts` by largest remainder: each
/// class gets the floor or the ceiling of its exact share, and the shares sum to
/// `total` (which must not exceed the sum of `counts`). Ties go to the lower class.
fn apportion(counts: &[usize], total: usize) -> Vec<usize> {
    let sum: usize = counts.iter().sum();
    if sum == 0 {
        return vec![0; counts.len()];
    }
    let (sum, total) = (sum as u128, total as u128);
    let mut quotas: Vec<usize> = Vec::with_capacity(counts.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(counts.len());
    for (class, &count) in counts.iter().enumerate() {
        let exact = count as u128 * total;
        quotas.push((exact / sum) as usize);
        remainders.push((exact % sum, class));
    }
    let given: usize = quotas.iter().sum();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, class) in remainders.iter().take(total as usize - given) {
        quotas[class] += 1;
    }
    quotas
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::Source;

    fn item(id: &str, label: Option<u16>) -> Item {
        Item {
            id: id.to_string(),
            source: Source::File(PathBuf::from(id)),
            label,
        }
    }

    /// `sizes[c]` items of class c, ids `c<c>/<n>.png`, interleaved across classes.
    fn pool(sizes: &[usize]) -> Vec<Item> {
        let longest = sizes.iter().copied().max().unwrap_or(0);
        let mut items = Vec::new();
        for n in 0..longest {
            for (c, &size) in sizes.iter().enumerate() {
                if n < size {
                    items.push(item(&format!("c{c}/{n:04}.png"), Some(c as u16)));
                }
            }
        }
        items
    }

    fn per_class(items: &[Item], classes: usize) -> Vec<usize> {
        crate::count_labels(items, classes)
    }

    fn ids(items: &[Item]) -> Vec<&str> {
        items.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn parses_counts_fractions_and_percentages() {
        assert_eq!("2000".parse(), Ok(Holdout::Count(2000)));
        assert_eq!(" 7 ".parse(), Ok(Holdout::Count(7)));
        assert_eq!("0.2".parse(), Ok(Holdout::Fraction(0.2)));
        assert_eq!(".25".parse(), Ok(Holdout::Fraction(0.25)));
        assert_eq!("20%".parse(), Ok(Holdout::Fraction(0.2)));
        assert_eq!(Holdout::Count(2000).to_string(), "2000");
        assert_eq!(Holdout::Fraction(0.2).to_string(), "0.2");
    }

    #[test]
    fn rejects_values_that_are_neither_with_a_reason() {
        for (text, why) in [
            ("0", "at least 1"),
            ("1.0", "strictly between 0 and 1"),
            ("1.5", "strictly between 0 and 1"),
            ("0.0", "strictly between 0 and 1"),
            ("-3", "strictly between 0 and 1"),
            ("NaN", "strictly between 0 and 1"),
            ("100%", "between 0% and 100%"),
            ("x%", "percentage"),
            ("", "a count of images"),
            ("lots", "a count of images (2000) or a fraction"),
        ] {
            let err = text.parse::<Holdout>().unwrap_err().to_string();
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(err.contains(&format!("{text:?}")), "{text:?}: {err}");
        }
    }

    #[test]
    fn apportions_by_largest_remainder() {
        assert_eq!(apportion(&[10, 10, 10], 6), [2, 2, 2]);
        assert_eq!(apportion(&[10, 10, 10], 7), [3, 2, 2]);
        assert_eq!(apportion(&[5, 3, 2], 5), [3, 1, 1]);
        assert_eq!(apportion(&[1, 1000], 100), [0, 100]);
        assert_eq!(apportion(&[0, 4], 2), [0, 2]);
        assert_eq!(apportion(&[], 0), Vec::<usize>::new());
        for (counts, total) in [(vec![7, 13, 1, 29], 17), (vec![333, 334, 333], 101)] {
            let quotas = apportion(&counts, total);
            assert_eq!(quotas.iter().sum::<usize>(), total);
            let sum: usize = counts.iter().sum();
            for (q, c) in quotas.iter().zip(&counts) {
                let exact = (*c * total) as f64 / sum as f64;
                assert!((*q as f64 - exact).abs() < 1.0, "{q} vs {exact}");
            }
        }
    }

    #[test]
    fn count_gives_each_class_its_share() {
        let items = pool(&[100, 50, 30]);
        let (kept, test) = split(Holdout::Count(36), "root", 3, items, &[]).unwrap();
        assert_eq!(per_class(&test, 3), [20, 10, 6]);
        assert_eq!(per_class(&kept, 3), [80, 40, 24]);
        let kept_ids: HashSet<_> = ids(&kept).into_iter().collect();
        assert!(ids(&test).iter().all(|id| !kept_ids.contains(id)));
    }

    #[test]
    fn fraction_and_matching_count_give_the_same_split() {
        let (kept_f, test_f) =
            split(Holdout::Fraction(0.2), "root", 3, pool(&[40, 25, 15]), &[]).unwrap();
        let (kept_c, test_c) =
            split(Holdout::Count(16), "root", 3, pool(&[40, 25, 15]), &[]).unwrap();
        assert_eq!(test_f.len(), 16);
        assert_eq!(per_class(&test_f, 3), [8, 5, 3]);
        assert_eq!(test_f, test_c);
        assert_eq!(kept_f, kept_c);
    }

    #[test]
    fn split_depends_on_ids_not_on_listing_order() {
        let items = pool(&[30, 20]);
        let (kept, test) = split(Holdout::Count(10), "root", 2, items.clone(), &[]).unwrap();
        let mut reversed = items.clone();
        reversed.reverse();
        let (kept_r, test_r) = split(Holdout::Count(10), "root", 2, reversed, &[]).unwrap();
        let sorted = |v: &[Item]| {
            let mut ids: Vec<String> = v.iter().map(|i| i.id.clone()).collect();
            ids.sort();
            ids
        };
        assert_eq!(sorted(&test), sorted(&test_r));
        assert_eq!(sorted(&kept), sorted(&kept_r));
        // Both outputs keep the input order.
        let positions: Vec<usize> = test
            .iter()
            .map(|t| items.iter().position(|i| i.id == t.id).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        // Not simply the first items of each class.
        let firsts: Vec<&str> = items
            .iter()
            .filter(|i| i.id[3..7].parse::<usize>().unwrap() < 6)
            .filter(|i| i.label == Some(0) || i.id[3..7].parse::<usize>().unwrap() < 4)
            .map(|i| i.id.as_str())
            .collect();
        assert_ne!(ids(&test), firsts);
    }

    #[test]
    fn unlabeled_items_stay_in_the_pool() {
        let mut items = pool(&[10, 10]);
        items.push(item("loose/a.png", None));
        items.push(item("loose/b.png", None));
        let (kept, test) = split(Holdout::Fraction(0.5), "root", 2, items, &[]).unwrap();
        assert_eq!(per_class(&test, 2), [5, 5]);
        assert!(test.iter().all(|i| i.label.is_some()));
        assert_eq!(kept.iter().filter(|i| i.label.is_none()).count(), 2);
    }

    #[test]
    fn refuses_what_it_cannot_split() {
        let message =
            |result: Result<(Vec<Item>, Vec<Item>), DatasetError>| result.unwrap_err().to_string();
        let own_test = [item("test/c0/x.png", Some(0))];
        let err = message(split(Holdout::Count(2), "data", 1, pool(&[5]), &own_test));
        assert!(
            err.starts_with("--holdout 2: data has a test split of its own"),
            "{err}"
        );
        let unlabeled = vec![item("a.png", None), item("b.png", None)];
        let err = message(split(Holdout::Count(1), "data", 2, unlabeled, &[]));
        assert!(err.contains("no labeled images"), "{err}");
        let err = message(split(Holdout::Count(5), "data", 1, pool(&[5]), &[]));
        assert!(err.contains("only 5 labeled images"), "{err}");
        let err = message(split(Holdout::Fraction(0.01), "data", 1, pool(&[5]), &[]));
        assert!(err.contains("rounds to no image"), "{err}");
    }

    #[test]
    fn holdout_with_test_folder_is_refused_before_scanning() {
        let opts = ScanOptions {
            test: Some(PathBuf::from("elsewhere")),
            holdout: Some(Holdout::Count(10)),
            ..ScanOptions::default()
        };
        let err = opts.validate().unwrap_err().to_string();
        assert!(
            err.contains("--holdout 10") && err.contains("--test"),
            "{err}"
        );
        // scan refuses it too, before touching the (missing) folders.
        let err = crate::scan(Path::new("no/such/folder"), &opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot be combined with --test"), "{err}");
    }

    #[test]
    fn fingerprint_differs_per_holdout() {
        let base = Fingerprint(42);
        let a = fingerprint(base, Holdout::Count(2000));
        assert_eq!(a, fingerprint(base, Holdout::Count(2000)));
        assert_ne!(a, base);
        assert_ne!(a, fingerprint(base, Holdout::Count(2001)));
        assert_ne!(a, fingerprint(base, Holdout::Fraction(0.2)));
        assert_ne!(a, fingerprint(Fingerprint(43), Holdout::Count(2000)));
    }
}
