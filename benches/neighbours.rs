//! The kNN graph's neighbours, exact against nearest-neighbour descent
//! (`glean_rank::nn_descent`, which `KnnGraph::build` takes above
//! `knn::EXACT_UP_TO` items), on the full MNIST's 60,000 training digits (deskewed,
//! PCA to 50) and on a pool five times larger: the digits and four copies shifted by one
//! pixel (300,000). Prints each search's seconds and, where the exact one ran, the
//! descent's recall@k (the share of the exact neighbours it found).
//!
//! `cargo bench --bench neighbours`. Knobs (environment):
//! - GLEAN_MNIST_DIR: the IDX folder (default: glean's cache, mnist/package/data)
//! - GLEAN_BENCH_K (default 10)
//! - GLEAN_BENCH_EXACT_LARGE=1: the exact search on the large pool too (about 8 minutes)
//! - GLEAN_BENCH_COPIES (default 4): shifted copies in the large pool

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
    let digits = idx_images(&dir.join("train-images-idx3-ubyte"))?;
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
        let (found, _) =
            nn_descent::nearest_neighbours(&points, 50, &nn_descent::Options::for_k(k));
        println!(
            "{name}: nearest-neighbour descent, {k} neighbours: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        if !exact {
            continue;
        }
        let t = Instant::now();
        let (_, truth) = nearest(&emb, &emb, k, true)?;
        println!(
            "{name}: exact search, {k} neighbours: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let truth: Vec<i64> = Vec::try_from(truth.view([-1]))?;
        let hits: usize = (0..n as usize)
            .map(|i| {
                let row = &found[i * k..(i + 1) * k];
                truth[i * k..(i + 1) * k]
                    .iter()
                    .filter(|&&t| row.contains(&(t as u32)))
                    .count()
            })
            .sum();
        println!(
            "{name}: recall@{k} of the descent: {:.4}",
            hits as f64 / (n as usize * k) as f64
        );
    }
    Ok(())
}
