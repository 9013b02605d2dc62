//! TUI speed figures (run: `cargo bench --bench tui`):
//! 1. block art of a 1024×768 photo into 120×40 cells (goal ≤ 20 ms);
//! 2. keypress → next frame while a background thread keeps a core busy and floods the
//!    event channel with trainer progress (goal p99 ≤ 16 ms). Each key goes through the
//!    labeler's own executor before the frame, as in `glean label`: the label into the
//!    session's journal (append + fsync). The labeler compacts the snapshot after a
//!    ranking, never inside a keypress, so no key here waits for one.
//!    With `GLEAN_BENCH_KEYPRESS_MS=<file>` each key's time is also appended to that file,
//!    one line per key, so that many runs can be pooled: the p99 of one run's 110 keys is
//!    its second-slowest key.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glean::dataset::{Class, Layout, ScanOptions};
use glean::learn::{
    ClassPrior, ClassProb, DeviceChoice, EmbeddingKind, LearnData, LearnerConfig, LearnerKind,
    ModelKind, RankedItem, Ranking, RankingSource, RoundTimes, Strategy, Trainer,
};
use glean::session::{DataSpec, Session, SessionConfig};
use glean::tui::blockart::{self, CellShape};
use glean::tui::event_loop::{self, AppEvent, Runner};
use glean::tui::executor::SessionExecutor;
use glean::tui::images::{spawn_loader, FileImages, ImageSource, Pictures, PoolImages};
use glean::tui::render_mode::Renderer;
use glean::tui::{App, AppConfig, ClassView, ItemView, Keymap, Restored, TrainerEvent};
use image::DynamicImage;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

mod support;

fn dogs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/imagenet-dogs")
}

fn dog_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dogs_dir())
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{name}: n={} mean {mean:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
}

fn append_times(path: &Path, ms: &[f64]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    for t in ms {
        writeln!(file, "{t:.4}").expect("write a key's time");
    }
}

fn block_art() {
    let Some(photo) = dog_paths().first().and_then(|p| image::open(p).ok()) else {
        println!("block art: ../shared/datasets/imagenet-dogs absent, skipped");
        return;
    };
    let photo = DynamicImage::ImageRgb8(
        photo
            .resize_exact(1024, 768, image::imageops::FilterType::Triangle)
            .to_rgb8(),
    );
    let (cols, rows) = blockart::fit(1024, 768, 120, 40);
    for (name, shape) in [
        ("sextant", CellShape::Sextant),
        ("quadrant", CellShape::Quadrant),
        ("halfblock", CellShape::Half),
    ] {
        let times: Vec<f64> = (0..60)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(blockart::render(&photo, cols, rows, shape));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        report(
            &format!("block art 1024x768 -> {cols}x{rows} cells, {name}"),
            times,
        );
    }
}

/// The labeler's executor over a fresh session of `names` (read from `data`) in `dir`,
/// with an idle trainer (the bench's batches are larger than its keys: no round starts).
fn session_executor(
    dir: &Path,
    data: DataSpec,
    classes: &[ClassView],
    names: &[String],
) -> SessionExecutor {
    let config = SessionConfig {
        data,
        classes: classes
            .iter()
            .map(|c| Class {
                name: c.name.clone(),
                key: c.key,
            })
            .collect(),
        pool_size: names.len(),
        strategy: Strategy::Margin,
        batch: 1000,
        model: ModelKind::Cnn,
        device: DeviceChoice::Cpu,
        seed: 1,
        learner: LearnerKind::Cnn,
        embedding: EmbeddingKind::Auto,
        class_prior: ClassPrior::Auto,
        query: Default::default(),
        audit_every: 0,
    };
    let session = Session::create(dir, "bench", config).expect("session");
    let pixels: Vec<u8> = vec![0; names.len() * 16];
    let data = LearnData::new(
        1,
        4,
        classes.len(),
        Arc::new(pixels),
        Arc::default(),
        Vec::new(),
    )
    .expect("data");
    // Idle: a network learner with random picks prepares nothing (no graph, no
    // k-means first batch), so the busy thread below is the one trainer at work.
    let learner = LearnerConfig {
        device: DeviceChoice::Cpu,
        batch: 1000,
        learner: LearnerKind::Cnn,
        strategy: Strategy::Random,
        ..LearnerConfig::default()
    };
    let (trainer, _events) = Trainer::spawn(data, learner);
    SessionExecutor::new(session, trainer, names.to_vec()).unwrap()
}

/// A data folder of `layout` at `root`, with no test split, pattern or class list.
fn folder(root: PathBuf, layout: Layout) -> DataSpec {
    DataSpec {
        root,
        layout,
        test: None,
        label_pattern: None,
        classes_arg: None,
        holdout: None,
    }
}

fn digit_classes() -> Vec<ClassView> {
    (0..10)
        .map(|d| ClassView {
            name: format!("class {d}"),
            key: char::from_digit(d, 10),
        })
        .collect()
}

/// The labeler's loop (app, pictures, session executor, image loader) over `items`,
/// drawn into a 120×40 test terminal, and the channel its events come on.
struct Labeler {
    runner: Runner<SessionExecutor>,
    terminal: Terminal<TestBackend>,
    tx: Sender<AppEvent>,
    rx: Receiver<AppEvent>,
    _session_dir: tempfile::TempDir,
}

fn labeler(data: DataSpec, items: Vec<ItemView>, source: Arc<dyn ImageSource>) -> Labeler {
    let n = items.len();
    let config = AppConfig {
        classes: digit_classes(),
        items,
        batch: 1000,
        strategy: "margin".into(),
        initial_order: (0..n).collect(),
        auto_interval: Duration::from_millis(300),
        has_test_split: true,
        keymap: Keymap::default(),
    };
    let classes = config.classes.clone();
    let app = App::new(config, Restored::default());
    let names: Vec<String> = app.items.iter().map(|i| i.name.clone()).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let executor = session_executor(dir.path(), data, &classes, &names);
    let (tx, rx) = crossbeam_channel::unbounded();
    let requests = spawn_loader(source, event_loop::image_sink(tx.clone())).unwrap();
    let pictures = Pictures::new(Renderer::Blocks(CellShape::Sextant), names);
    Labeler {
        runner: Runner::new(app, pictures, executor, Some(requests)),
        terminal: Terminal::new(TestBackend::new(120, 40)).expect("terminal"),
        tx,
        rx,
        _session_dir: dir,
    }
}

/// The busy trainer: one core of arithmetic plus a progress event every millisecond,
/// until `stop`.
fn busy_trainer(tx: Sender<AppEvent>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut x = 1.0f64;
        let mut last = Instant::now();
        let mut step = 0;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..10_000 {
                x = (x * 1.000_001).sin() + 1.0;
            }
            if last.elapsed() >= Duration::from_millis(1) {
                step += 1;
                let _ = tx.send(AppEvent::Trainer(TrainerEvent::Progress {
                    job: 1,
                    step,
                    steps: 1_000_000,
                    loss: x,
                }));
                last = Instant::now();
            }
        }
        std::hint::black_box(x);
    })
}

/// Each key's time from its press to the next frame, and of that the key's handling
/// (with every event waiting before it) and the frame; `before_key(k)` gives the
/// events that reach the loop just before key `k`.
struct KeyTimes {
    total: Vec<f64>,
    handled: Vec<f64>,
    drawn: Vec<f64>,
    not_ready: usize,
}

fn press_keys(
    labeler: &mut Labeler,
    keys: usize,
    before_key: &dyn Fn(usize) -> Vec<AppEvent>,
) -> KeyTimes {
    let Labeler {
        runner,
        terminal,
        tx,
        rx,
        ..
    } = labeler;
    let mut times = KeyTimes {
        total: Vec::with_capacity(keys),
        handled: Vec::with_capacity(keys),
        drawn: Vec::with_capacity(keys),
        not_ready: 0,
    };
    for k in 0..keys {
        // A person's pace: the prefetcher has had time to decode the next images.
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_millis(60) {
            while let Ok(event) = rx.try_recv() {
                runner.handle(event).expect("event");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if runner.is_dirty() {
            runner.draw(terminal).expect("draw");
        }
        let waiting = before_key(k);
        let digit = char::from_digit((k % 10) as u32, 10).unwrap();
        let t = Instant::now();
        for event in waiting {
            tx.send(event).unwrap();
        }
        tx.send(AppEvent::Key(KeyEvent::new(
            KeyCode::Char(digit),
            KeyModifiers::NONE,
        )))
        .unwrap();
        runner.pump(rx).expect("pump");
        let handled = t.elapsed();
        runner.draw(terminal).expect("draw");
        times.total.push(t.elapsed().as_secs_f64() * 1e3);
        times.handled.push(handled.as_secs_f64() * 1e3);
        times
            .drawn
            .push((t.elapsed() - handled).as_secs_f64() * 1e3);
        if !runner
            .app
            .current()
            .is_some_and(|item| runner.pictures.is_ready(item))
        {
            times.not_ready += 1;
        }
    }
    times
}

fn keypress_to_frame() {
    let paths = dog_paths();
    if paths.is_empty() {
        println!("keypress -> frame: ../shared/datasets/imagenet-dogs absent, skipped");
        return;
    }
    let items: Vec<ItemView> = paths
        .iter()
        .map(|p| ItemView {
            name: p.file_name().unwrap().to_string_lossy().into(),
            oracle: None,
        })
        .collect();
    let n = items.len();
    let data = folder(dogs_dir(), Layout::NamePattern);
    let source: Arc<dyn ImageSource> = Arc::new(FileImages {
        paths,
        thumbnails: None,
    });
    let mut labeler = labeler(data, items, source);
    let stop = Arc::new(AtomicBool::new(false));
    let busy = busy_trainer(labeler.tx.clone(), Arc::clone(&stop));
    let keys = (n - 8).min(110);
    let times = press_keys(&mut labeler, keys, &|_| Vec::new());
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    if let Some(path) = std::env::var_os("GLEAN_BENCH_KEYPRESS_MS") {
        append_times(Path::new(&path), &times.total);
    }
    report(
        "keypress -> next frame (the session executor: journal + fsync; busy trainer, 120x40, dog photos)",
        times.total,
    );
    report(
        "  of which: key handled + the executor's effects (journal fsync)",
        times.handled,
    );
    report(
        "  of which: frame drawn (layout + block art the loader pre-rendered)",
        times.drawn,
    );
    println!(
        "  frames whose image was still decoding: {} of {keys}",
        times.not_ready
    );
}

/// Keys between two rankings in `keypress_to_frame_with_rankings`: at a person's pace
/// (60 ms a key here), a ranking every 2.4 s.
const KEYS_PER_RANKING: usize = 40;

/// A whole-pool ranking for job `job`, as a round of the trainer posts it: every item
/// with its three likeliest classes.
fn whole_pool_ranking(job: u64, pool: usize) -> Ranking {
    let items = (0..pool)
        .map(|i| {
            let class = (i % 10) as u16;
            RankedItem {
                pool_index: (i * 7919 + job as usize) % pool,
                score: 1.0 - i as f32 / pool as f32,
                top: (0..3)
                    .map(|r| ClassProb {
                        class: (class + r) % 10,
                        prob: 0.6 / f32::from(r + 1),
                    })
                    .collect(),
                audit: false,
            }
        })
        .collect();
    Ranking {
        job,
        strategy: Strategy::Margin,
        source: RankingSource::Hybrid,
        items,
    }
}

/// Keypress -> next frame on the full MNIST pool (60,000 items) while rankings of the
/// whole pool arrive: every `KEYS_PER_RANKING` keys a round's `Ranked` and `RoundDone`
/// reach the loop just before the key, the worst moment for it (the key waits while
/// the loop takes the ranking in: the app's queue, the queue record in the journal,
/// the predictions handed to their writer, a compaction when one is due).
fn keypress_to_frame_with_rankings() {
    let Some(mnist) = support::mnist_dir("tui") else {
        return;
    };
    let cache = tempfile::tempdir().expect("temp dir");
    let loaded = glean::dataset::load(&mnist, &ScanOptions::default(), None, cache.path())
        .expect("the MNIST IDX files");
    let pool = loaded.pool.items.len();
    let items: Vec<ItemView> = loaded
        .pool
        .items
        .iter()
        .map(|i| ItemView {
            name: i.id.clone(),
            oracle: i.label,
        })
        .collect();
    let data = folder(mnist, Layout::Idx);
    let source: Arc<dyn ImageSource> = Arc::new(PoolImages::new(&loaded.pool, None));
    let mut labeler = labeler(data, items, source);
    let stop = Arc::new(AtomicBool::new(false));
    let busy = busy_trainer(labeler.tx.clone(), Arc::clone(&stop));
    let keys = 10 * KEYS_PER_RANKING;
    let rankings = |k: usize| -> Vec<AppEvent> {
        if k % KEYS_PER_RANKING != KEYS_PER_RANKING - 1 {
            return Vec::new();
        }
        let job = (k / KEYS_PER_RANKING) as u64 + 1;
        vec![
            AppEvent::Trainer(TrainerEvent::Ranked {
                ranking: whole_pool_ranking(job, pool),
                labels: k,
                preliminary: false,
            }),
            AppEvent::Trainer(TrainerEvent::RoundDone {
                job,
                labels: k,
                model: job,
                trained: true,
                accuracy: Some(0.9),
                times: RoundTimes::default(),
            }),
        ]
    };
    let times = press_keys(&mut labeler, keys, &rankings);
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    let after_ranking: Vec<f64> = times
        .total
        .iter()
        .skip(KEYS_PER_RANKING - 1)
        .step_by(KEYS_PER_RANKING)
        .copied()
        .collect();
    report(
        &format!("keypress -> next frame, full MNIST ({pool} items), a whole-pool ranking every {KEYS_PER_RANKING} keys (busy trainer, 120x40)"),
        times.total,
    );
    report(
        "  of which: key handled, with the ranking and round end before it when they came",
        times.handled,
    );
    report("  of which: frame drawn", times.drawn);
    report(
        "  the keys that came just after a ranking (ranking taken in + key + frame)",
        after_ranking,
    );
    println!(
        "  frames whose image was still decoding: {} of {keys}",
        times.not_ready
    );
}

fn main() {
    block_art();
    keypress_to_frame();
    keypress_to_frame_with_rankings();
}
