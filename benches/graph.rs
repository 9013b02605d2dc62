//! The graph learner on the full MNIST (60,000 pool, 10,000 test, IDX files): embedding
//! time, graph build time, seconds per propagation round, and test accuracy at 20
//! labels (k-means start), then 50, 100, 150 (labels added at random), for Poisson
//! learning and Laplace propagation.
//!
//! `cargo bench --bench graph`. Knobs (environment):
//! - GLEAN_MNIST_DIR: the IDX folder (default: glean's cache, mnist/package/data)
//! - GLEAN_BENCH_TRIALS (default 3): seeds 1..=TRIALS for k-means and the later picks
//! - GLEAN_BENCH_K (default 10), GLEAN_BENCH_DIMS (default 50), GLEAN_BENCH_TOL (default: the learner's, `CgOptions::default()`)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use support::{env_or, idx_images};

use std::time::Instant;

use glean::dataset::read_idx_labels;
use glean::learn::backbone::features::cache;
use glean::learn::graph::{
    accuracy, digit_embeddings, kmeans, nearest_items, CgOptions, KnnGraph, PoolGraph, Propagation,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

fn main() -> anyhow::Result<()> {
    let Some(dir) = support::mnist_dir("graph") else {
        return Ok(());
    };
    let trials: u64 = env_or("GLEAN_BENCH_TRIALS", 3);
    let k: usize = env_or("GLEAN_BENCH_K", 10);
    let dims: usize = env_or("GLEAN_BENCH_DIMS", 50);
    let opts = CgOptions {
        tol: env_or("GLEAN_BENCH_TOL", CgOptions::default().tol),
        ..CgOptions::default()
    };
    let device = Device::Cpu;

    let pool_px = idx_images(&dir.join("train-images-idx3-ubyte"))?;
    let test_px = idx_images(&dir.join("t10k-images-idx3-ubyte"))?;
    let pool_truth = read_idx_labels(&dir.join("train-labels-idx1-ubyte"))?;
    let test_truth: Vec<u16> = read_idx_labels(&dir.join("t10k-labels-idx1-ubyte"))?
        .into_iter()
        .map(u16::from)
        .collect();
    let (n, m) = (pool_px.size()[0], test_px.size()[0]);
    println!(
        "MNIST: {n} pool, {m} test; k = {k}, {dims} PCA dims, CG tol {}, {} threads",
        opts.tol,
        tch::get_num_threads()
    );

    let t = Instant::now();
    let emb = digit_embeddings(&Tensor::cat(&[pool_px, test_px], 0).to_device(device), dims)?;
    let (pool, test) = (emb.narrow(0, 0, n), emb.narrow(0, n, m));
    println!(
        "embedding (deskew + PCA, {} images): {:.2} s",
        n + m,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let graph = KnnGraph::build(&pool, k)?;
    println!(
        "graph build ({} edges): {:.2} s",
        graph.weights.nnz(),
        t.elapsed().as_secs_f64()
    );
    let probe = Tensor::ones([n, 10], (tch::Kind::Float, device));
    let t = Instant::now();
    for _ in 0..20 {
        let _ = graph.weight_matmul(&probe);
    }
    println!(
        "sparse product W·X [{n}, 10]: {:.2} ms",
        t.elapsed().as_secs_f64() * 50.0
    );
    let t = Instant::now();
    for _ in 0..20 {
        let _ = graph.laplacian_matmul(&probe);
    }
    println!(
        "Laplacian product L·X [{n}, 10]: {:.2} ms",
        t.elapsed().as_secs_f64() * 50.0
    );
    let t = Instant::now();
    let pg = PoolGraph::with_graph(graph, &pool, Some(&test))?;
    println!(
        "test neighbours ({m} × {n}): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    // The warm path: graph and test neighbours from their cache file.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("graph.safetensors");
    cache::write_graph(&file, &pg);
    let t = Instant::now();
    let mut pg = cache::read_graph(&file, (n, m), pg.graph.k, device)
        .ok_or_else(|| anyhow::anyhow!("the graph cache did not read back"))?;
    println!(
        "graph + test neighbours from the cache file ({:.1} MB): {:.3} s",
        std::fs::metadata(&file)?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let checkpoints = [20usize, 50, 100, 150];
    let methods = [Propagation::Poisson, Propagation::Laplace];
    // results[method][checkpoint] = accuracies over trials
    let mut results = vec![vec![Vec::new(); checkpoints.len()]; methods.len()];
    let mut round_secs = vec![Vec::new(); methods.len()];
    let mut iters = vec![Vec::new(); methods.len()];
    for seed in 1..=trials {
        let t = Instant::now();
        let km = kmeans(&pool, checkpoints[0], 50, seed)?;
        let mut picks = nearest_items(&pool, &km.centres)?;
        let kmeans_secs = t.elapsed().as_secs_f64();
        let mut rest: Vec<usize> = (0..n as usize).filter(|i| !picks.contains(i)).collect();
        rest.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let mut rest = rest.into_iter();
        pg.reset();
        let mut line = format!(
            "trial {seed} (k-means {kmeans_secs:.2} s, {} iterations):",
            km.iterations
        );
        for (ci, &count) in checkpoints.iter().enumerate() {
            picks.extend(rest.by_ref().take(count - picks.len()));
            let labeled: Vec<(usize, u16)> =
                picks.iter().map(|&i| (i, pool_truth[i] as u16)).collect();
            for (mi, &method) in methods.iter().enumerate() {
                let t = Instant::now();
                let round = pg.propagate(method, &labeled, 10, opts)?;
                let acc = accuracy(round.test.as_ref().expect("test neighbours"), &test_truth);
                round_secs[mi].push(t.elapsed().as_secs_f64());
                iters[mi].push(round.iterations);
                results[mi][ci].push(acc);
                line += &format!(" {method:?}@{count}={:.2}%", 100.0 * acc);
            }
        }
        println!("{line}");
    }

    println!(
        "\n| method | round s (mean / max) | CG iters (mean) | {} |",
        checkpoints.map(|c| format!("{c} labels")).join(" | ")
    );
    println!("|---|---|---|{}", "---|".repeat(checkpoints.len()));
    for (mi, method) in methods.iter().enumerate() {
        let secs = &round_secs[mi];
        let mean = secs.iter().sum::<f64>() / secs.len() as f64;
        let max = secs.iter().cloned().fold(0.0, f64::max);
        let it = iters[mi].iter().sum::<usize>() as f64 / iters[mi].len() as f64;
        let cells: Vec<String> = results[mi]
            .iter()
            .map(|accs| {
                let mut s = accs.clone();
                s.sort_by(f64::total_cmp);
                format!("{:.2} % (min {:.2})", 100.0 * s[s.len() / 2], 100.0 * s[0])
            })
            .collect();
        println!(
            "| {method:?} | {mean:.3} / {max:.3} | {it:.0} | {} |",
            cells.join(" | ")
        );
    }
    println!("(accuracy cells: median over {trials} trials, and the worst)");
    Ok(())
}
