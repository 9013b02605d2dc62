//! How much a busy machine slows glean's rounds: each round timed on a quiet machine,
//! then again beside a `yes > /dev/null` that keeps one core busy the whole time, and
//! the ratio (goal ≤ 2.5; a fair share of 2 cores would cost about 1.5×). A user's
//! machine always runs something else.
//!
//! Rounds (the median of GLEAN_BENCH_REPEATS, default 3, of each, quiet and busy in
//! turn), with how long of each the labeler waits for a new ranking (until the ranking
//! it shows is known, and recorded in the session as the labeler records it: the queue
//! of the next 500 items appended to the journal and fsync'd):
//! - the network alone (`--learner cnn`) on the bundled MNIST sample, from 60 labels;
//! - the hybrid on the full MNIST (60,000 pool, 10,000 test), from 300 labels, when
//!   `make mnist` has fetched it;
//! - the hybrid on EfficientNet-Lite2 features of the CIFAR-10 photos in
//!   ../shared/datasets (8,000 pool, 2,000 held out), from 100 labels, when they and
//!   `make effnet`'s weights are there (features come from glean's cache, computed once).
//!
//! `cargo bench --bench busy`. glean's own waiting policy applies: OpenMP threads wait
//! passively unless OMP_WAIT_POLICY is set (an empty value gives OpenMP's default).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use support::{oracle_pool, OraclePool};

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use glean::dataset::{Holdout, Pool, ScanOptions};
use glean::learn::{
    strategy, ClassPrior, DeviceChoice, EmbeddingKind, Learner, LearnerConfig, LearnerKind,
    ModelKind,
};
use glean::session::{DataSpec, Session, SessionConfig};

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

/// Labels added per round, and the most rounds timed per case.
const BATCH: usize = 10;
const MAX_ROUNDS: usize = 41;
/// Items of the ranking the labeler records as its queue (`tui::executor`'s SAVED_QUEUE).
const QUEUE_RECORD: usize = 500;

struct Case {
    name: String,
    learner: Learner,
    /// The first labels, then the batches of the rounds to come.
    labels: usize,
    labeled: Vec<(usize, u16)>,
    /// Pool item ids, for the queue record.
    ids: Vec<String>,
    /// A session of this pool in a temporary folder, which the queue records go to.
    session: Session,
    _session_dir: tempfile::TempDir,
}

/// A fresh session over `pool` in a temporary folder (on the same disk as the cache,
/// as a user's sessions folder would be).
fn session(pool: &Pool, config: &LearnerConfig) -> anyhow::Result<(Session, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let spec = SessionConfig {
        data: DataSpec {
            root: pool.root.clone(),
            layout: pool.layout,
            test: None,
            label_pattern: None,
            classes_arg: None,
            holdout: None,
        },
        classes: pool.classes.clone(),
        pool_size: pool.items.len(),
        strategy: config.strategy,
        batch: config.batch,
        model: config.model,
        device: DeviceChoice::Cpu,
        seed: config.seed,
        learner: config.learner,
        embedding: EmbeddingKind::Auto,
        class_prior: ClassPrior::Auto,
        query: Default::default(),
        audit_every: 0,
    };
    Ok((Session::create(dir.path(), "bench", spec)?, dir))
}

fn case(
    name: &str,
    loaded: OraclePool,
    config: LearnerConfig,
    labels: usize,
) -> anyhow::Result<Case> {
    let OraclePool {
        data, oracle, pool, ..
    } = loaded;
    let (session, session_dir) = session(&pool, &config)?;
    // `labels`, then 10 more for each round the bench runs (a person's next batch: a
    // round on the same labels again would start from its own answer).
    let order = strategy::random_scores(data.pool_len(), 7);
    let mut by_score: Vec<usize> = (0..data.pool_len()).collect();
    by_score.sort_by(|&a, &b| order[a].total_cmp(&order[b]));
    let labeled = by_score
        .into_iter()
        .take(labels + BATCH * MAX_ROUNDS)
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
        labels,
        labeled,
        ids: pool.items.into_iter().map(|i| i.id).collect(),
        session,
        _session_dir: session_dir,
    })
}

/// A round's whole time, and how long of it the labeler waited for a ranking: for the
/// graph learners the propagation and the ranking from it (`times.propagate`, after
/// which the preliminary ranking is sent), else the whole round; either way then the
/// queue record of that ranking, which the labeler writes before it shows the queue.
fn timed_round(case: &mut Case, version: u64) -> anyhow::Result<(f64, f64)> {
    let labeled = &case.labeled[..case.labels + BATCH * version as usize];
    let t = Instant::now();
    let out = case
        .learner
        .round(labeled, version, &|| false, &mut |_| {})?;
    let total = t.elapsed().as_secs_f64();
    let ranked = if out.times.propagate > 0.0 {
        out.times.propagate
    } else {
        total
    };
    let t = Instant::now();
    let queue = out
        .ranking
        .batch(QUEUE_RECORD)
        .into_iter()
        .map(|i| case.ids[i].clone())
        .collect();
    case.session.set_queue(version, queue)?;
    Ok((total, ranked + t.elapsed().as_secs_f64()))
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
        .clamp(1, (MAX_ROUNDS - 1) / 2);
    let cache = glean::paths::cache_dir();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cpu = LearnerConfig {
        device: DeviceChoice::Cpu,
        cache_dir: Some(cache.clone()),
        ..LearnerConfig::default()
    };

    let mut cases = vec![case(
        "cnn, bundled MNIST sample, from 60 labels",
        oracle_pool(&root.join("assets/mnist"), &ScanOptions::default(), &cache)?,
        LearnerConfig {
            learner: LearnerKind::Cnn,
            ..cpu.clone()
        },
        60,
    )?];
    let mnist = cache.join("mnist/package/data");
    if mnist.join("train-images-idx3-ubyte").exists() {
        cases.push(case(
            "hybrid, full MNIST, from 300 labels",
            oracle_pool(&mnist, &ScanOptions::default(), &cache)?,
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
            "hybrid, CIFAR-10 Lite2 features, from 100 labels",
            oracle_pool(&cifar, &scan, &cache)?,
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
    for case in &mut cases {
        timed_round(case, 0)?; // warm-up: first-round allocations, caches
        let (mut quiet, mut busy) = (Vec::new(), Vec::new());
        for r in 0..repeats as u64 {
            quiet.push(timed_round(case, 2 * r + 1)?);
            let _busy_core = BusyCore::start()?;
            busy.push(timed_round(case, 2 * r + 2)?);
        }
        let total = |t: &[(f64, f64)]| median(t.iter().map(|x| x.0).collect());
        let wait = |t: &[(f64, f64)]| median(t.iter().map(|x| x.1).collect());
        let (q, b) = (total(&quiet), total(&busy));
        println!(
            "{}: quiet {q:.2} s, one core busy {b:.2} s, busy / quiet {:.2}; the labeler waits \
             {:.2} s quiet, {:.2} s busy",
            case.name,
            b / q,
            wait(&quiet),
            wait(&busy)
        );
    }
    Ok(())
}
