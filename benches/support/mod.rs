//! What the benches share: knobs from the environment, and the MNIST IDX images.
#![allow(dead_code)] // each bench takes what it needs

use std::path::Path;

use tch::Tensor;

/// The environment variable `name` parsed, or `default` when unset or unreadable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The images of an IDX file as `[N, 1, rows, cols]` u8.
pub fn idx_images(path: &Path) -> anyhow::Result<Tensor> {
    let idx = glean::dataset::read_idx_images(path)?;
    Ok(Tensor::from_slice(&idx.data).view([idx.count as i64, 1, idx.rows as i64, idx.cols as i64]))
}

/// The full MNIST's IDX folder (GLEAN_MNIST_DIR, else glean's cache), or None after
/// saying that `bench` is skipped without it.
pub fn mnist_dir(bench: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("GLEAN_MNIST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| glean::paths::cache_dir().join("mnist/package/data"));
    if dir.join("train-images-idx3-ubyte").exists() {
        return Some(dir);
    }
    println!(
        "{bench} bench: no MNIST IDX files in {} (run make mnist, or set GLEAN_MNIST_DIR); skipped",
        dir.display()
    );
    None
}

/// A data folder loaded as the learner takes it, with each pool item's oracle label.
pub struct OraclePool {
    pub data: glean::learn::LearnData,
    pub oracle: Vec<u16>,
    pub pool: glean::dataset::Pool,
    /// Whether the decoded pool came from the cache.
    pub from_cache: bool,
}

/// Loads `root` (the pool cache in `cache`) as the learner takes it.
pub fn oracle_pool(
    root: &Path,
    scan: &glean::dataset::ScanOptions,
    cache: &Path,
) -> anyhow::Result<OraclePool> {
    let loaded = glean::dataset::load(root, scan, None, cache)?;
    let oracle = loaded
        .pool
        .items
        .iter()
        .map(|i| i.label.unwrap_or(0))
        .collect();
    Ok(OraclePool {
        data: glean::learn::LearnData::from_loaded(&loaded)?,
        oracle,
        from_cache: loaded.from_cache,
        pool: loaded.pool,
    })
}
