//! The embeddings the graph is built on, on the full MNIST (60,000 pool, 10,000 test,
//! IDX files): what each costs, and Poisson learning's accuracy on the unlabeled pool
//! (the papers' protocol) with 10 / 20 / 40 random class-balanced labels over it.
//! Embeddings: deskew + PCA (glean's for digits), PCA of the plain pixels, and the
//! variational autoencoder trained on the images (`learn/graph/vae.rs`), timed per epoch.
//!
//! `cargo bench --bench embedding`. Knobs (environment):
//! - GLEAN_MNIST_DIR: the IDX folder (default: glean's cache, mnist/package/data)
//! - GLEAN_BENCH_EPOCHS (default: the learner's, `features::VAE_EPOCHS`)
//! - GLEAN_BENCH_VAE_BATCH, GLEAN_BENCH_VAE_LR: the autoencoder's batch and Adam's
//!   learning rate (default: the learner's, `VaeOptions::default()`)
//! - GLEAN_BENCH_TRIALS (default 5): seeds 1..=TRIALS for the labels
//! - GLEAN_BENCH_MBO=1: also Poisson-MBO (`graph/mbo.rs`) after each propagation, on
//!   the labels' class shares and on the shares Poisson predicts (slow: 800 graph
//!   products a run)
//! - GLEAN_BENCH_EMBEDDINGS: `;`-separated names of the embeddings to measure (default:
//!   all), e.g. `deskew + PCA 50;autoencoder`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use support::{env_or, idx_images};

use std::path::PathBuf;
use std::time::Instant;

use glean::dataset::read_idx_labels;
use glean::learn::backbone::features::VAE_EPOCHS;
use glean::learn::graph::balance::{self, label_priors, predicted_priors};
use glean::learn::graph::{
    accuracy, digit_embeddings, joint_embedding, poisson_mbo, vae, CgOptions, KnnGraph, MboOptions,
    Pca, PoolGraph, Propagation, VaeOptions,
};
use glean::learn::strategy::balanced_random_subset;
use tch::{Device, Kind, Tensor};

fn mean_sd(accs: &[f64]) -> String {
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    let sd = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>()
        / (accs.len().max(2) - 1) as f64)
        .sqrt();
    format!("{mean:.1} ± {sd:.1} %")
}

fn main() -> anyhow::Result<()> {
    // As the glean binary does: OpenMP threads wait passively (src/openmp.rs).
    glean::openmp::wait_passively();
    let Some(dir) = support::mnist_dir("embedding") else {
        return Ok(());
    };
    let epochs: usize = env_or("GLEAN_BENCH_EPOCHS", VAE_EPOCHS);
    let trials: u64 = env_or("GLEAN_BENCH_TRIALS", 5);
    let device = Device::Cpu;
    let pool_px = idx_images(&dir.join("train-images-idx3-ubyte"))?;
    let test_px = idx_images(&dir.join("t10k-images-idx3-ubyte"))?;
    let truth: Vec<u16> = read_idx_labels(&dir.join("train-labels-idx1-ubyte"))?
        .into_iter()
        .map(u16::from)
        .collect();
    let n = pool_px.size()[0];
    let all_px = Tensor::cat(&[pool_px, test_px], 0);
    let total = all_px.size()[0];
    println!(
        "MNIST: {n} pool + {} test images, {} threads",
        total - n,
        tch::get_num_threads()
    );

    let mut embeddings = Vec::new();
    let t = Instant::now();
    let deskewed = digit_embeddings(&all_px, 50)?;
    println!("deskew + PCA 50: {:.2} s", t.elapsed().as_secs_f64());
    embeddings.push(("deskew + PCA 50", deskewed));

    let rows = vae::pixel_rows(&all_px, device)?;
    let t = Instant::now();
    let plain = Pca::fit(&rows, 50)?.transform(&rows);
    println!("PCA 50 of the pixels: {:.2} s", t.elapsed().as_secs_f64());
    embeddings.push(("PCA 50 of the pixels", plain));

    let defaults = VaeOptions::default();
    let opts = VaeOptions {
        epochs,
        batch: env_or("GLEAN_BENCH_VAE_BATCH", defaults.batch),
        learning_rate: env_or("GLEAN_BENCH_VAE_LR", defaults.learning_rate),
        ..defaults
    };
    // GLEAN_BENCH_VAE_CACHE=FILE keeps the trained embedding between runs (the
    // accuracy table without the training time).
    let cached = std::env::var_os("GLEAN_BENCH_VAE_CACHE").map(PathBuf::from);
    let t = Instant::now();
    let mut last = Instant::now();
    let learned = match cached.as_ref().filter(|p| p.exists()) {
        Some(path) => {
            println!("autoencoder: read from {}", path.display());
            Tensor::load(path)?
        }
        None => vae::vae_embeddings(
            &rows,
            opts,
            &mut |p| {
                println!(
                    "  epoch {}/{}: loss {:.1} a image, {:.2} s",
                    p.epoch,
                    p.epochs,
                    p.loss,
                    last.elapsed().as_secs_f64()
                );
                last = Instant::now();
            },
            &|| false,
        )?,
    };
    if let Some(path) = &cached {
        learned.save(path)?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "autoencoder {}-{}-{}, batch {}, learning rate {}, {epochs} epochs over {total} images: {secs:.1} s ({:.2} s an epoch; {:.1} s for {n} images at this rate)",
        rows.size()[1],
        opts.hidden,
        opts.latent,
        opts.batch,
        opts.learning_rate,
        secs / epochs as f64,
        secs * n as f64 / total as f64
    );
    let joint = joint_embedding(&[&embeddings[0].1, &learned])?;
    embeddings.push(("autoencoder", learned));
    embeddings.push(("deskew + PCA 50 beside the autoencoder", joint));

    // GLEAN_BENCH_EMBEDDINGS="name;name" measures only the embeddings named.
    let only: Option<Vec<String>> = std::env::var("GLEAN_BENCH_EMBEDDINGS")
        .ok()
        .map(|v| v.split(';').map(str::to_string).collect());
    let with_mbo = std::env::var("GLEAN_BENCH_MBO").is_ok_and(|v| v == "1");
    let counts = [10usize, 20, 40];
    println!(
        "\nPoisson learning, k = 10; accuracy on the unlabeled pool, {trials} trials of random class-balanced labels"
    );
    println!(
        "| embedding | graph build s | {} |",
        counts
            .map(|c| format!("{c} labels (mean ± sd)"))
            .join(" | ")
    );
    println!("|---|---|{}", "---|".repeat(counts.len()));
    for (name, emb) in &embeddings {
        let pool = emb.narrow(0, 0, n).to_kind(Kind::Float);
        let t = Instant::now();
        let mut graph = PoolGraph::with_graph(KnnGraph::build(&pool, 10)?, &pool, None)?;
        let build = t.elapsed().as_secs_f64();
        if only
            .as_ref()
            .is_some_and(|names| !names.iter().any(|n| n == name))
        {
            continue;
        }
        // [plain, class-size prior, Poisson-MBO on the labels' sizes, on the predicted
        // sizes][count] = accuracies over trials
        let mut accs = vec![vec![Vec::new(); counts.len()]; 4];
        let mut balance_secs = Vec::new();
        let mut mbo_secs = Vec::new();
        for (ci, &count) in counts.iter().enumerate() {
            for seed in 1..=trials {
                let picks = balanced_random_subset(&truth, 10, count, seed);
                let labeled: Vec<(usize, u16)> = picks.iter().map(|&i| (i, truth[i])).collect();
                let mut is_labeled = vec![false; n as usize];
                for &i in &picks {
                    is_labeled[i] = true;
                }
                let rest: Vec<i64> = (0..n).filter(|&i| !is_labeled[i as usize]).collect();
                let rest_truth: Vec<u16> = rest.iter().map(|&i| truth[i as usize]).collect();
                let rest = Tensor::from_slice(&rest);
                graph.reset();
                let mut round =
                    graph.propagate(Propagation::Poisson, &labeled, 10, CgOptions::default())?;
                accs[0][ci].push(100.0 * accuracy(&round.pool.index_select(0, &rest), &rest_truth));
                let given: Vec<u16> = labeled.iter().map(|&(_, c)| c).collect();
                let priors = label_priors(&given, 10);
                if with_mbo {
                    let t = Instant::now();
                    let mbo = poisson_mbo(
                        &graph.graph,
                        &labeled,
                        10,
                        &round.pool,
                        &priors,
                        MboOptions::default(),
                    )?;
                    mbo_secs.push(t.elapsed().as_secs_f64());
                    accs[2][ci].push(100.0 * accuracy(&mbo.index_select(0, &rest), &rest_truth));
                    let mbo = poisson_mbo(
                        &graph.graph,
                        &labeled,
                        10,
                        &round.pool,
                        &predicted_priors(&round.pool)?,
                        MboOptions::default(),
                    )?;
                    accs[3][ci].push(100.0 * accuracy(&mbo.index_select(0, &rest), &rest_truth));
                }
                let t = Instant::now();
                round.pool = balance::balanced(&round.pool, &priors)?.0;
                balance_secs.push(t.elapsed().as_secs_f64());
                accs[1][ci].push(100.0 * accuracy(&round.pool.index_select(0, &rest), &rest_truth));
            }
        }
        let methods = [
            "",
            ", class-size prior",
            ", Poisson-MBO (class sizes from the labels)",
            ", Poisson-MBO (class sizes Poisson predicts)",
        ];
        let measured = if with_mbo { 4 } else { 2 };
        for (prior, accs) in methods.iter().zip(&accs).take(measured) {
            let cells: Vec<String> = accs.iter().map(|a| mean_sd(a)).collect();
            println!("| {name}{prior} | {build:.1} | {} |", cells.join(" | "));
        }
        let worst = balance_secs.iter().cloned().fold(0.0, f64::max);
        match mbo_secs.iter().cloned().reduce(f64::max) {
            Some(mbo) => println!(
                "(class-size prior: at most {worst:.2} s a round; Poisson-MBO at most {mbo:.2} s)"
            ),
            None => println!("(class-size prior: at most {worst:.2} s a round)"),
        }
    }
    Ok(())
}
