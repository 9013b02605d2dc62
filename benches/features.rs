//! Once-per-pool preparation for photos on CIFAR-10 test (10,000 32×32 JPEGs in class
//! folders), split by a seeded shuffle into 8,000 pool and 2,000 test items: the
//! EfficientNet-Lite0 features cold and from the cache, the graph embeddings (standardise,
//! L2-normalise, PCA 64) and the kNN graph cold and from the cache, and as a sanity
//! number for the features' quality the 1-NN and weighted k-NN test accuracy with every
//! pool label known.
//!
//! `cargo bench --bench features`. Knobs (environment):
//! - GLEAN_BENCH_CIFAR: the data folder (default ../shared/datasets/cifar10-test)
//! - GLEAN_BENCH_LIMIT: use only this many items (after the shuffle), for a quick run
//! - GLEAN_BENCH_SEED (default 1), GLEAN_BENCH_K (default 10)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use support::env_or;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use glean::dataset::{self, ScanOptions};
use glean::learn::backbone::effnet_lite::Backbone;
use glean::learn::backbone::features::{
    backbone_features, feature_graph_embeddings, pool_graph, PoolFeatures,
};
use glean::learn::graph::{accuracy, nearest};
use glean::learn::LearnData;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// Test accuracy of the label of each test row's nearest pool row.
fn one_nn(
    pool: &Tensor,
    test: &Tensor,
    pool_labels: &Tensor,
    truth: &[u16],
) -> anyhow::Result<f64> {
    let (_, idx) = nearest(pool, test, 1, false)?;
    let predicted = pool_labels.index_select(0, &idx.view([-1]));
    let hits = Vec::<i64>::try_from(predicted)?
        .iter()
        .zip(truth)
        .filter(|(p, t)| **p == **t as i64)
        .count();
    Ok(hits as f64 / truth.len() as f64)
}

fn unit_rows(t: &Tensor) -> Tensor {
    t / t.norm_scalaropt_dim(2.0, [1i64], true).clamp_min(1e-12)
}

fn main() -> anyhow::Result<()> {
    let root: PathBuf = std::env::var_os("GLEAN_BENCH_CIFAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/cifar10-test")
        });
    let weights = glean::paths::cache_dir().join("models/efficientnet-lite0.safetensors");
    if !root.is_dir() || !weights.exists() {
        println!(
            "features bench: needs {} and {} (scripts/setup-effnet.sh); skipped",
            root.display(),
            weights.display()
        );
        return Ok(());
    }
    let seed: u64 = env_or("GLEAN_BENCH_SEED", 1);
    let k: usize = env_or("GLEAN_BENCH_K", 10);
    let scratch = tempfile::tempdir()?;
    let cache = scratch.path();
    let device = Device::Cpu;

    let t = Instant::now();
    let loaded = dataset::load(&root, &ScanOptions::default(), None, cache)?;
    let spec = loaded.spec();
    let mut order: Vec<usize> = (0..loaded.pool.items.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order.truncate(env_or("GLEAN_BENCH_LIMIT", order.len()));
    let test_len = order.len() / 5;
    let (pool_order, test_order) = order.split_at(order.len() - test_len);
    let item = spec.item_len();
    let gather = |idx: &[usize]| -> Vec<u8> {
        idx.iter()
            .flat_map(|&i| &loaded.pool_pixels.data[i * item..(i + 1) * item])
            .copied()
            .collect()
    };
    let label = |i: &usize| {
        loaded.pool.items[*i]
            .label
            .expect("class folders are labeled")
    };
    let mut data = LearnData::new(
        spec.channels as usize,
        spec.size as usize,
        loaded.pool.classes.len(),
        Arc::new(gather(pool_order)),
        Arc::new(gather(test_order)),
        test_order.iter().map(label).collect(),
    )?;
    data.cache_key = Some(format!(
        "{}-split{seed}-{}",
        loaded.pool.fingerprint,
        order.len()
    ));
    println!(
        "{}: {} pool / {} test, {}×{}×{} (load {:.1} s), k = {k}, {} threads",
        root.display(),
        data.pool_len(),
        data.test_len(),
        spec.channels,
        spec.size,
        spec.size,
        t.elapsed().as_secs_f64(),
        tch::get_num_threads()
    );

    let total = data.pool_len() + data.test_len();
    let mut next_report = 0;
    let mut progress = |done: usize, total: usize| {
        if done >= next_report {
            eprintln!("  features {done}/{total}");
            next_report = done + total / 10;
        }
    };
    let t = Instant::now();
    let feats = backbone_features(
        &data,
        Backbone::Lite0,
        &weights,
        device,
        Some(cache),
        &mut progress,
        &|| false,
    )?;
    let cold = t.elapsed().as_secs_f64();
    println!(
        "backbone features, cold: {cold:.1} s ({:.1} ms/image, batches of 64)",
        1e3 * cold / total as f64
    );
    let t = Instant::now();
    let cached = backbone_features(
        &data,
        Backbone::Lite0,
        &weights,
        device,
        Some(cache),
        &mut |_, _| {},
        &|| false,
    )?;
    println!(
        "backbone features, from the cache: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    assert!(cached.all().allclose(&feats.all(), 0.0, 0.0, false));

    let timed = |what: &str, f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<()> {
        let t = Instant::now();
        f()?;
        println!("{what}: {:.3} s", t.elapsed().as_secs_f64());
        Ok(())
    };
    let mut emb: Option<PoolFeatures> = None;
    timed(
        "graph embeddings (standardise, L2, PCA 64), cold",
        &mut || {
            emb = Some(feature_graph_embeddings(&feats, Some(cache))?);
            Ok(())
        },
    )?;
    timed("graph embeddings, from the cache", &mut || {
        feature_graph_embeddings(&feats, Some(cache))
            .map(drop)
            .map_err(Into::into)
    })?;
    let emb = emb.expect("computed");
    let mut graph = None;
    timed(
        &format!("{k}-NN graph + test neighbours, cold"),
        &mut || {
            graph = Some(pool_graph(&emb, k, Some(cache))?);
            Ok(())
        },
    )?;
    timed(
        &format!("{k}-NN graph + test neighbours, from the cache"),
        &mut || {
            pool_graph(&emb, k, Some(cache))
                .map(drop)
                .map_err(Into::into)
        },
    )?;
    let graph = graph.expect("built");

    // Sanity: classify the test split with every pool label known.
    let pool_labels = Tensor::from_slice(
        &pool_order
            .iter()
            .map(|i| label(i) as i64)
            .collect::<Vec<_>>(),
    );
    let truth = &data.test_labels;
    let raw = one_nn(
        &unit_rows(&feats.pool),
        &unit_rows(&feats.test),
        &pool_labels,
        truth,
    )?;
    let reduced = one_nn(&emb.pool, &emb.test, &pool_labels, truth)?;
    let one_hot = pool_labels
        .one_hot(data.classes as i64)
        .to_kind(Kind::Float);
    let votes = graph
        .test
        .as_ref()
        .expect("test neighbours")
        .classify(&one_hot);
    let knn = accuracy(&votes, truth);
    println!(
        "test accuracy with all {} pool labels: 1-NN (cosine, 1280-d) {:.2} %, 1-NN (PCA 64) {:.2} %, weighted {k}-NN (graph) {:.2} %",
        data.pool_len(),
        100.0 * raw,
        100.0 * reduced,
        100.0 * knn
    );
    Ok(())
}
