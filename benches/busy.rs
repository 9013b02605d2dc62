//! How much a busy machine slows glean's rounds: each round timed on a quiet machine,
//! then again beside a `yes > /dev/null` that keeps one core busy the whole time, and
//! the ratio (goal ≤ 2.5; a fair share of 2 cores would cost about 1.5×). A user's
//! machine always runs something else.
//!
//! Rounds (the median of GLEAN_BENCH_REPEATS, default 3, of each, quiet and busy in
//! turn):
//! - the network alone (`--learner cnn`) on the bundled MNIST sample, 60 labels;
//! - the hybrid on the full MNIST (60,000 pool, 10,000 test), 300 labels, when
//!   `make mnist` has fetched it;
//! - the hybrid on EfficientNet-Lite2 features of the CIFAR-10 photos in
//!   ../shared/datasets (8,000 pool, 2,000 held out), 100 labels, when they and
//!   `make effnet`'s weights are there (features come from glean's cache, computed once).
//!
//! `cargo bench --bench busy`. glean's own waiting policy applies: OpenMP threads wait
//! passively unless OMP_WAIT_POLICY is set (an empty value gives OpenMP's default).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use glean::dataset::{self, Holdout, ScanOptions};
use glean::learn::{
    strategy, DeviceChoice, LearnData, Learner, LearnerConfig, LearnerKind, ModelKind,
};

/// A program that keeps one core busy until dropped.
struct BusyCore(Child);

impl BusyCore {
    fn start() -> anyhow::Result<Self> {
        let child = Command::new("yes").stdout(Stdio::null()).spawn()?;
        std::thread::sleep(Duration::from_millis(300));
        Ok(Self(child))
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Case {
    name: String,
    learner: Learner,
    labeled: Vec<(usize, u16)>,
}

fn load(root: &Path, scan: &ScanOptions, cache: &Path) -> anyhow::Result<(LearnData, Vec<u16>)> {
    let loaded = dataset::load(root, scan, None, cache)?;
    let oracle = loaded
        .pool
        .items
        .iter()
        .map(|i| i.label.unwrap_or(0))
        .collect();
    Ok((LearnData::from_loaded(&loaded)?, oracle))
}

fn case(
    name: &str,
    (data, oracle): (LearnData, Vec<u16>),
    config: LearnerConfig,
    labels: usize,
) -> anyhow::Result<Case> {
    let labeled = strategy::random_subset(data.pool_len(), labels, 7)
        .into_iter()
        .map(|i| (i, oracle[i]))
        .collect();
    let t = Instant::now();
    let learner = Learner::new(data, config)?;
    println!(
        "{name}: {} (set up in {:.1} s)",
        learner.describe(),
        t.elapsed().as_secs_f64()
    );
    Ok(Case {
        name: name.into(),
        learner,
        labeled,
    })
}

fn timed_round(case: &mut Case, version: u64) -> anyhow::Result<f64> {
    let t = Instant::now();
    case.learner
        .round(&case.labeled, version, &|| false, &mut |_| {})?;
    Ok(t.elapsed().as_secs_f64())
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> anyhow::Result<()> {
    glean::openmp::wait_passively();
    let repeats: usize = std::env::var("GLEAN_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let cache = glean::paths::cache_dir();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cpu = LearnerConfig {
        device: DeviceChoice::Cpu,
        cache_dir: Some(cache.clone()),
        ..LearnerConfig::default()
    };

    let mut cases = vec![case(
        "cnn, bundled MNIST sample, 60 labels",
        load(&root.join("assets/mnist"), &ScanOptions::default(), &cache)?,
        LearnerConfig {
            learner: LearnerKind::Cnn,
            ..cpu.clone()
        },
        60,
    )?];
    let mnist = cache.join("mnist/package/data");
    if mnist.join("train-images-idx3-ubyte").exists() {
        cases.push(case(
            "hybrid, full MNIST, 300 labels",
            load(&mnist, &ScanOptions::default(), &cache)?,
            cpu.clone(),
            300,
        )?);
    } else {
        println!(
            "full MNIST: {} absent (make mnist); left out",
            mnist.display()
        );
    }
    let cifar = root.join("../shared/datasets/cifar10-test");
    let weights = cache.join("models/efficientnet-lite2.safetensors");
    if cifar.is_dir() && weights.is_file() {
        let scan = ScanOptions {
            holdout: Some(Holdout::Count(2000)),
            ..ScanOptions::default()
        };
        cases.push(case(
            "hybrid, CIFAR-10 Lite2 features, 100 labels",
            load(&cifar, &scan, &cache)?,
            LearnerConfig {
                model: ModelKind::EffnetLite2,
                ..cpu.clone()
            },
            100,
        )?);
    } else {
        println!(
            "CIFAR-10 features: {} or {} absent; left out",
            cifar.display(),
            weights.display()
        );
    }

    let policy = std::env::var("OMP_WAIT_POLICY").unwrap_or_default();
    println!(
        "OMP_WAIT_POLICY={policy:?}; {} core(s); median of {repeats} rounds each",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Quiet and busy rounds alternate, so that whatever changes from round to round
    // (the hybrid's network goes on from the last round's) falls on both alike.
    let (mut quiet, mut busy) = (Vec::new(), Vec::new());
    for case in &mut cases {
        timed_round(case, 0)?; // warm-up: first-round allocations, caches
        let (mut q, mut b) = (Vec::new(), Vec::new());
        for r in 0..repeats as u64 {
            q.push(timed_round(case, 2 * r + 1)?);
            let _busy_core = BusyCore::start()?;
            b.push(timed_round(case, 2 * r + 2)?);
        }
        quiet.push(median(q));
        busy.push(median(b));
    }
    for ((case, q), b) in cases.iter().zip(quiet).zip(busy) {
        println!(
            "{}: quiet {q:.2} s, one core busy {b:.2} s, busy / quiet {:.2}",
            case.name,
            b / q
        );
    }
    Ok(())
}
