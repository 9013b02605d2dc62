//! Session costs that the labeler feels: one label (journal append + fsync) while the
//! person waits for the next image, a compaction of a large session, and the open
//! (snapshot parse + journal replay) of a resume.
//!
//! Run: `cargo bench --bench session` (GLEAN_BENCH_DIR picks the disk; default: temp).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use glean::dataset::{Class, Layout};
use glean::learn::{ClassPrior, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind, Strategy};
use glean::session::{load, DataSpec, Session, SessionConfig, Source};

fn config(classes: usize, pool: usize) -> SessionConfig {
    SessionConfig {
        data: DataSpec {
            root: "/data/mnist".into(),
            layout: Layout::Idx,
            test: None,
            label_pattern: None,
            classes_arg: None,
            holdout: None,
        },
        classes: (0..classes)
            .map(|i| Class {
                name: format!("class{i}"),
                key: char::from_digit(i as u32, 10),
            })
            .collect(),
        pool_size: pool,
        strategy: Strategy::Margin,
        batch: 25,
        model: ModelKind::Cnn,
        device: DeviceChoice::Cpu,
        seed: 1,
        learner: LearnerKind::Hybrid,
        embedding: EmbeddingKind::Auto,
        class_prior: ClassPrior::Auto,
        query: Default::default(),
        audit_every: 0,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let base = std::env::var_os("GLEAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).unwrap();
    let d = dir.path();
    println!("session folder: {}", d.display());

    // 1. label(): append + fsync, with the default compaction every 256 labels included.
    let mut s = Session::create(d, "latency", config(10, 60_000)).unwrap();
    let mut times = Vec::new();
    for i in 0..2_000u32 {
        let t = Instant::now();
        s.label(&format!("idx:{i}"), (i % 10) as u16, Source::Human)
            .unwrap();
        times.push(t.elapsed());
    }
    drop(s);
    times.sort();
    println!(
        "label() x{}: p50 {:.2?}  p99 {:.2?}  max {:.2?}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );

    // 2. A fully labeled MNIST-sized session: replay, compaction, resume.
    let mut s = Session::create(d, "big", config(10, 60_000)).unwrap();
    s.set_compact_every(usize::MAX);
    let t = Instant::now();
    for i in 0..60_000u32 {
        s.label(&format!("idx:{i}"), (i % 10) as u16, Source::Oracle)
            .unwrap();
    }
    println!(
        "60000 labels journaled (each fsync'd) in {:.2?}",
        t.elapsed()
    );
    let t = Instant::now();
    let (state, report) = load(d, "big").unwrap();
    println!(
        "load() replaying {} journal records: {:.2?}",
        report.replayed,
        t.elapsed()
    );
    assert_eq!(state.labels().len(), 60_000);
    let t = Instant::now();
    s.compact().unwrap();
    let snapshot = std::fs::metadata(d.join("big.ron")).unwrap().len();
    println!(
        "compact() of 60000 labels: {:.2?} (snapshot {:.1} MB)",
        t.elapsed(),
        snapshot as f64 / 1e6
    );
    drop(s);
    let t = Instant::now();
    let (s, _) = Session::open(d, "big").unwrap();
    println!("open() of the compacted session: {:.2?}", t.elapsed());
    assert_eq!(s.labels().len(), 60_000);
}
