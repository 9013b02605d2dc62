//! The text `glean scan` prints: what was found, what was skipped and why, and where the
//! time went. Every name from disk goes through `escape_for_display`.

use std::fmt::Write;
use std::time::Duration;

use super::{display_path, escape_for_display, Loaded};

/// At most this many classes are listed one per line; the rest are summarised.
const MAX_CLASS_LINES: usize = 40;

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// A human-readable report of a load.
pub fn render(loaded: &Loaded) -> String {
    let pool = &loaded.pool;
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(out, "root:     {}", display_path(&pool.root));
    let _ = writeln!(out, "layout:   {}", pool.layout);
    let labeled = pool.items.iter().filter(|i| i.label.is_some()).count();
    let _ = writeln!(
        out,
        "pool:     {} images ({} with an oracle label)",
        pool.items.len(),
        labeled
    );
    let _ = writeln!(out, "test:     {} images", pool.test.len());
    let _ = writeln!(out, "classes:  {}", pool.classes.len());
    let counts = pool.class_counts();
    let test_counts = pool.test_class_counts();
    for (i, class) in pool.classes.iter().enumerate().take(MAX_CLASS_LINES) {
        let key = class.key.map_or_else(|| "-".to_string(), |k| k.to_string());
        let _ = writeln!(
            out,
            "  [{key}] {:<28} {:>7} pool {:>7} test",
            escape_for_display(&class.name),
            counts[i],
            test_counts[i]
        );
    }
    if pool.classes.len() > MAX_CLASS_LINES {
        let without_key = pool.classes.iter().filter(|c| c.key.is_none()).count();
        let _ = writeln!(
            out,
            "  … {} more classes ({} classes have no key: use the / class picker)",
            pool.classes.len() - MAX_CLASS_LINES,
            without_key
        );
    }
    let _ = writeln!(out, "decode:   {}", loaded.spec());
    let _ = writeln!(out, "skipped:  {} files", pool.skipped.total());
    for (reason, count, examples) in pool.skipped.iter() {
        let _ = writeln!(out, "  {count:>6}  {reason}");
        for example in examples {
            let _ = writeln!(out, "            e.g. {example}");
        }
    }
    let _ = writeln!(
        out,
        "cache:    {} ({})",
        if loaded.from_cache {
            "hit"
        } else {
            "miss, decoded and stored"
        },
        display_path(&loaded.cache_file)
    );
    let t = &loaded.timings;
    let _ = writeln!(
        out,
        "time:     scan {}, decode {}, cache read {}, cache write {}, total {}",
        secs(t.scan),
        secs(t.decode),
        secs(t.cache_read),
        secs(t.cache_write),
        secs(t.total)
    );
    out
}
