//! The kNN graph's neighbours, exact against nearest-neighbour descent
//! (`glean_rank::nn_descent`, which `KnnGraph::build` takes above
//! `knn::EXACT_UP_TO` items), on the full MNIST's 60,000 training digits (deskewed,
//! PCA to 50) and on a pool five times larger: the digits and four copies shifted by one
//! pixel (300,000; with GLEAN_BENCH_COPIES=16, 1,020,000, shifted by one pixel in the
//! eight directions, then again). Prints each search's seconds and, where the exact one
//! ran, the descent's recall@k (the share of the exact neighbours it found), and the
//! process's peak memory.
//!
//! `cargo bench --bench neighbours`. Knobs (environment):
//! - GLEAN_MNIST_DIR: the IDX folder (default: glean's cache, mnist/package/data)
//! - GLEAN_BENCH_K (default 10)
//! - GLEAN_BENCH_EXACT_LARGE=1: the exact search on the large pool too (about 8 minutes)
//! - GLEAN_BENCH_COPIES (default 4): shifted copies in the large pool
//! - GLEAN_BENCH_DIGITS (default all 60,000): the first this many digits only
//! - GLEAN_BENCH_LIST, GLEAN_BENCH_MIN_CHANGE: the descent's list length and stopping
//!   share (default `nn_descent::Options::for_k`)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use std::time::Instant;

use glean::learn::graph::{digit_embeddings, nearest, nn_descent};
use support::{env_or, idx_images};
use tch::{Device, Kind, Tensor};

fn main() -> anyhow::Result<()> {
    let Some(dir) = support::mnist_dir("neighbours") else {
        return Ok(());
    };
    let k: usize = env_or("GLEAN_BENCH_K", 10);
    let copies: i64 = env_or("GLEAN_BENCH_COPIES", 4);
    let exact_large = env_or("GLEAN_BENCH_EXACT_LARGE", 0) == 1;
    println!(
        "threads: rayon {}, libtorch {}",
        rayon::current_num_threads(),
        tch::get_num_threads()
    );
    let mut digits = idx_images(&dir.join("train-images-idx3-ubyte"))?;
    let first: i64 = env_or("GLEAN_BENCH_DIGITS", digits.size()[0]);
    digits = digits.narrow(0, 0, first.min(digits.size()[0]));
    let defaults = nn_descent::Options::for_k(k);
    let descent = nn_descent::Options {
        list: env_or("GLEAN_BENCH_LIST", defaults.list),
        sample: env_or("GLEAN_BENCH_LIST", defaults.sample),
        min_change: env_or("GLEAN_BENCH_MIN_CHANGE", defaults.min_change),
        ..defaults
    };
    println!(
        "descent: lists of {}, samples of {}, at most {} passes, stop below {} changed",
        descent.list, descent.sample, descent.passes, descent.min_change
    );
    let shifts = [
        (1, 0),
        (-1, 0),
        (0, 1),
        (0, -1),
        (1, 1),
        (-1, -1),
        (1, -1),
        (-1, 1),
    ];
    let mut large = vec![digits.shallow_clone()];
    for &(dy, dx) in shifts.iter().cycle().take(copies as usize) {
        large.push(digits.roll([dy, dx], [2, 3]));
    }
    let large = Tensor::cat(&large, 0);
    for (name, pixels, exact) in [
        ("MNIST", digits, true),
        ("shifted MNIST", large, exact_large),
    ] {
        let n = pixels.size()[0];
        let t = Instant::now();
        let emb = digit_embeddings(&pixels, 50)?;
        println!(
            "{name}: {n} images, deskew + PCA to 50: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let points: Vec<f32> = Vec::try_from(
            emb.to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous()
                .view([-1]),
        )?;
        let (found, found_dist) = nn_descent::nearest_neighbours(&points, 50, &descent);
        println!(
            "{name}: nearest-neighbour descent, {k} neighbours: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        if !exact {
            continue;
        }
        let t = Instant::now();
        let (truth_dist, truth) = nearest(&emb, &emb, k, true)?;
        println!(
            "{name}: exact search, {k} neighbours: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let truth: Vec<i64> = Vec::try_from(truth.view([-1]))?;
        let truth_dist: Vec<f32> = Vec::try_from(truth_dist.view([-1]))?;
        let (mut same, mut near) = (0usize, 0usize);
        for i in 0..n as usize {
            let row = &found[i * k..(i + 1) * k];
            same += truth[i * k..(i + 1) * k]
                .iter()
                .filter(|&&t| row.contains(&(t as u32)))
                .count();
            // Shifted copies deskew to near-duplicates: a neighbour as close as the
            // exact k-th is as good as the one the exact search listed at that tie.
            let kth = truth_dist[(i + 1) * k - 1];
            near += found_dist[i * k..(i + 1) * k]
                .iter()
                .filter(|&&d| d <= kth * (1.0 + 1e-4) + 1e-6)
                .count();
        }
        let places = (n as usize * k) as f64;
        println!(
            "{name}: recall@{k} of the descent: {:.4} of the exact search's neighbours, {:.4} at most as far as its {k}th",
            same as f64 / places,
            near as f64 / places
        );
    }
    println!("peak memory (VmHWM): {}", peak_memory());
    Ok(())
}

/// The process's peak resident memory as Linux reports it.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
