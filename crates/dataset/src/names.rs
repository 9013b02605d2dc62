//! Names: showing them safely, ordering them like a person would, and turning folder
//! names into classes with keys.

use std::cmp::Ordering;

use super::Class;

/// Keys that label classes, in the order they are handed out.
const LABEL_KEYS: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

/// How many classes can each have a key of their own; beyond that the labeler gives
/// its keys to the guesses for each image instead.
pub fn keyed_class_capacity() -> usize {
    LABEL_KEYS.chars().filter(|&k| is_label_key(k)).count()
}

/// `s` with every control character (C0, DEL, C1) and the Unicode bidi/format controls
/// shown escaped (`\x1b`, `\n`, `\u{202e}`), so a file name can never drive the terminal.
/// Backslashes are doubled so the result is unambiguous.
pub fn escape_for_display(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (0x80..0xa0).contains(&(c as u32)) || is_format_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Invisible characters that reorder or hide text (bidi overrides, zero-width marks).
fn is_format_control(c: char) -> bool {
    matches!(c as u32, 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2069 | 0xfeff)
}

/// Compares like a person sorts: runs of digits by value (`2` < `10`), the rest by
/// character; ties broken by the plain string order so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    while !x.is_empty() && !y.is_empty() {
        if x[0].is_ascii_digit() && y[0].is_ascii_digit() {
            let (dx, rx) = split_digits(x);
            let (dy, ry) = split_digits(y);
            let (tx, ty) = (trim_zeros(dx), trim_zeros(dy));
            let by_value = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
            if by_value != Ordering::Equal {
                return by_value;
            }
            x = rx;
            y = ry;
        } else {
            match x[0].cmp(&y[0]) {
                Ordering::Equal => {
                    x = &x[1..];
                    y = &y[1..];
                }
                other => return other,
            }
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b'0').count();
    &s[n.min(s.len().saturating_sub(1))..]
}

/// A class folder name split into its key prefix and class name: `6_great_dane` is
/// class `great_dane` on key `6`. Only a single free label key followed by `_` counts
/// as a prefix; otherwise the whole name is the class.
pub(crate) fn split_key_prefix(folder: &str) -> (Option<char>, &str) {
    let mut chars = folder.chars();
    if let (Some(k), Some('_')) = (chars.next(), chars.next()) {
        let rest = &folder[2..];
        if is_label_key(k) && !rest.is_empty() {
            return (Some(k), rest);
        }
    }
    (None, folder)
}

fn is_label_key(k: char) -> bool {
    // The labeler's commands keep their default keys.
    LABEL_KEYS.contains(k) && !glean_core::keys::reserved_chars().any(|r| r == k)
}

/// Builds classes from (name, requested key) pairs in their final order. Requested
/// keys are honoured first (a duplicate loses its key); a class named by a single free
/// key character (`3`) takes that key; everything else gets the next free key, and
/// classes beyond the keys get none.
pub(crate) fn assign_keys(named: &[(String, Option<char>)]) -> Vec<Class> {
    let mut taken: Vec<char> = Vec::new();
    let mut keys: Vec<Option<char>> = vec![None; named.len()];
    for (slot, (_, wanted)) in keys.iter_mut().zip(named) {
        if let Some(k) = wanted.filter(|k| is_label_key(*k) && !taken.contains(k)) {
            taken.push(k);
            *slot = Some(k);
        }
    }
    for (slot, (name, _)) in keys.iter_mut().zip(named) {
        let mut chars = name.chars();
        if let (Some(k), None) = (chars.next(), chars.next()) {
            if slot.is_none() && is_label_key(k) && !taken.contains(&k) {
                taken.push(k);
                *slot = Some(k);
            }
        }
    }
    let mut free = LABEL_KEYS
        .chars()
        .filter(|k| is_label_key(*k) && !taken.contains(k));
    for slot in keys.iter_mut().filter(|s| s.is_none()) {
        *slot = free.next();
    }
    named
        .iter()
        .zip(keys)
        .map(|((name, _), key)| Class {
            name: name.clone(),
            key,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences_and_controls() {
        assert_eq!(escape_for_display("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape_for_display("tab\there\n"), "tab\\there\\n");
        assert_eq!(
            escape_for_display("evil\u{202e}gpj.exe"),
            "evil\\u{202e}gpj.exe"
        );
        assert_eq!(escape_for_display("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(escape_for_display("a\\x1b"), "a\\\\x1b");
        assert_eq!(escape_for_display("chien_été.png"), "chien_été.png");
    }

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut v = vec!["10", "2", "1", "b", "a10", "a9", "007", "7"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["1", "2", "007", "7", "10", "a9", "a10", "b"]);
        assert_eq!(natural_cmp("img2.png", "img10.png"), Ordering::Less);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }

    #[test]
    fn key_prefix_is_split_only_for_free_keys() {
        assert_eq!(split_key_prefix("6_great_dane"), (Some('6'), "great_dane"));
        assert_eq!(split_key_prefix("b_beagle"), (Some('b'), "beagle"));
        // `s` is reserved (skip), so `s_setter` is a plain name.
        assert_eq!(split_key_prefix("s_setter"), (None, "s_setter"));
        assert_eq!(split_key_prefix("great_dane"), (None, "great_dane"));
        assert_eq!(split_key_prefix("6_"), (None, "6_"));
        assert_eq!(split_key_prefix("é_x"), (None, "é_x"));
    }

    #[test]
    fn thirty_two_classes_can_have_keys() {
        // Ten digits and 26 letters, less u, s, a and q.
        assert_eq!(keyed_class_capacity(), 32);
    }

    #[test]
    fn keys_skip_reserved_letters_and_run_out() {
        let named: Vec<(String, Option<char>)> =
            (0..40).map(|i| (format!("class{i}"), None)).collect();
        let classes = assign_keys(&named);
        let keys: String = classes.iter().filter_map(|c| c.key).collect();
        assert_eq!(keys, "0123456789bcdefghijklmnoprtvwxyz");
        assert!(classes[32..].iter().all(|c| c.key.is_none()));
    }

    #[test]
    fn requested_and_digit_keys_win() {
        let named = vec![
            ("zebra".to_string(), None),
            ("3".to_string(), None),
            ("dane".to_string(), Some('0')),
            ("pug".to_string(), Some('0')),
        ];
        let keys: Vec<_> = assign_keys(&named).iter().map(|c| c.key).collect();
        assert_eq!(keys, [Some('1'), Some('3'), Some('0'), Some('2')]);
    }
}
