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

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glean::dataset::{Class, Layout};
use glean::learn::{
    ClassPrior, DeviceChoice, EmbeddingKind, LearnData, LearnerConfig, LearnerKind, ModelKind,
    Strategy, Trainer,
};
use glean::session::{DataSpec, Session, SessionConfig};
use glean::tui::blockart::{self, CellShape};
use glean::tui::event_loop::{self, AppEvent, Runner};
use glean::tui::executor::SessionExecutor;
use glean::tui::images::{spawn_loader, FileImages, ImageSource, Pictures};
use glean::tui::render_mode::Renderer;
use glean::tui::{App, AppConfig, ClassView, ItemView, Keymap, Restored, TrainerEvent};
use image::DynamicImage;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

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

/// The labeler's executor over a fresh session of `names` in `dir`, with an idle
/// trainer (the bench's batches are larger than its keys: no round starts).
fn session_executor(dir: &Path, classes: &[ClassView], names: &[String]) -> SessionExecutor {
    let config = SessionConfig {
        data: DataSpec {
            root: dogs_dir(),
            layout: Layout::NamePattern,
            test: None,
            label_pattern: None,
            classes_arg: None,
            holdout: None,
        },
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
    let learner = LearnerConfig {
        device: DeviceChoice::Cpu,
        batch: 1000,
        ..LearnerConfig::default()
    };
    let (trainer, _events) = Trainer::spawn(data, learner);
    SessionExecutor::new(session, trainer, names.to_vec()).unwrap()
}

fn keypress_to_frame() {
    let paths = dog_paths();
    if paths.is_empty() {
        println!("keypress -> frame: ../shared/datasets/imagenet-dogs absent, skipped");
        return;
    }
    let classes: Vec<ClassView> = (0..10)
        .map(|d| ClassView {
            name: format!("class {d}"),
            key: char::from_digit(d, 10),
        })
        .collect();
    let items: Vec<ItemView> = paths
        .iter()
        .map(|p| ItemView {
            name: p.file_name().unwrap().to_string_lossy().into(),
            oracle: None,
        })
        .collect();
    let n = items.len();
    let config = AppConfig {
        classes,
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
    let executor = session_executor(dir.path(), &classes, &names);
    let (tx, rx) = crossbeam_channel::unbounded();
    let source: Arc<dyn ImageSource> = Arc::new(FileImages {
        paths,
        thumbnails: None,
    });
    let requests = spawn_loader(source, event_loop::image_sink(tx.clone())).unwrap();
    let pictures = Pictures::new(Renderer::Blocks(CellShape::Sextant), names);
    let mut runner = Runner::new(app, pictures, executor, Some(requests));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");

    // The busy trainer: one core of arithmetic plus a progress event every millisecond.
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let (stop, tx) = (Arc::clone(&stop), tx.clone());
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
    };

    let keys = (n - 8).min(110);
    let mut times = Vec::with_capacity(keys);
    let (mut handle_ms, mut draw_ms) = (Vec::with_capacity(keys), Vec::with_capacity(keys));
    let mut not_ready = 0;
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
            runner.draw(&mut terminal).expect("draw");
        }
        let digit = char::from_digit((k % 10) as u32, 10).unwrap();
        let t = Instant::now();
        tx.send(AppEvent::Key(KeyEvent::new(
            KeyCode::Char(digit),
            KeyModifiers::NONE,
        )))
        .unwrap();
        runner.pump(&rx).expect("pump");
        let handled = t.elapsed();
        runner.draw(&mut terminal).expect("draw");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        handle_ms.push(handled.as_secs_f64() * 1e3);
        draw_ms.push((t.elapsed() - handled).as_secs_f64() * 1e3);
        if !runner
            .app
            .current()
            .is_some_and(|item| runner.pictures.is_ready(item))
        {
            not_ready += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    if let Some(path) = std::env::var_os("GLEAN_BENCH_KEYPRESS_MS") {
        append_times(Path::new(&path), &times);
    }
    report(
        "keypress -> next frame (the session executor: journal + fsync; busy trainer, 120x40, dog photos)",
        times,
    );
    report(
        "  of which: key handled + the executor's effects (journal fsync)",
        handle_ms,
    );
    report(
        "  of which: frame drawn (layout + block art the loader pre-rendered)",
        draw_ms,
    );
    println!("  frames whose image was still decoding: {not_ready} of {keys}");
}

fn main() {
    block_art();
    keypress_to_frame();
}
