//! What the learners need once per pool, computed in the trainer thread and cached next
//! to the decoded pixels: the pretrained backbone's features of every photo, the
//! embeddings the kNN graph is built on (deskewed PCA pixels for digits, standardised
//! PCA backbone features for photos), and the graph itself with the test items' pool
//! neighbours.
//!
//! Each result carries a cache name (`<data key>-<what>`, e.g. `<key>-effnet-lite0`,
//! `<key>-effnet-lite0-pca64`, `<key>-effnet-lite0-pca64-knn10`), so the next step
//! derives its own file name from it; `cache_dir/features/<name>.<ext>` is used when
//! both the data's `cache_key` and a cache folder are given.
//!
//! ```ignore
//! let feats = backbone_features(&data, &weights, device, Some(&cache), &mut |_, _| {}, &|| false)?;
//! let emb = feature_graph_embeddings(&feats, Some(&cache))?;  // or digit_graph_embeddings
//! let graph = pool_graph(&emb, 10, Some(&cache))?;
//! ```

mod backbone;
pub mod cache;
mod partial;
mod stream;

use std::path::Path;
use std::sync::Arc;

use tch::{Device, Kind, Tensor};

pub use backbone::{
    batch_for, cached_backbone_features, compute_backbone_features, BackboneFeatures, FeatureBatch,
    FeatureRequest, BACKBONE_BATCH, BACKBONE_BATCH_CPU,
};
pub use stream::{FileRows, ImageRows, PixelRows};

use crate::backbone::effnet_lite::{Backbone, EffnetLite, Precision, FEATURE_DIM};
use crate::graph::{digit_embeddings, vae, Pca, PoolGraph, VaeOptions};
use crate::{LearnData, LearnError};

/// Dimensions of the digit embeddings (deskewed pixels through PCA).
pub const DIGIT_DIMS: usize = 50;
/// Dimensions the backbone features are reduced to for the graph.
pub const FEATURE_GRAPH_DIMS: usize = 64;
/// Passes the autoencoder makes over the pool: as many as fit in the 3 minutes allowed
/// for 60,000 digits on 2 cores (`cargo bench --bench embedding`: 2.4-4.0 s an epoch
/// over 70,000), chosen by cost, not by accuracy. The papers train 100.
pub const VAE_EPOCHS: usize = 50;
/// The autoencoder is a candidate for images of at most this many values (32×32 colour,
/// 55×55 grayscale): its first layer grows with the image, and bigger images are
/// photos, which the backbone serves.
pub const VAE_MAX_INPUTS: usize = 3 * 32 * 32;

/// Two row-aligned f32 matrices on one device: one row per pool item, one per test item.
pub struct PoolFeatures {
    /// `[pool, dim]`.
    pub pool: Tensor,
    /// `[test, dim]` (zero rows when there is no test split).
    pub test: Tensor,
    /// Names these rows in the cache; None: nothing derived from them is cached.
    pub cache_name: Option<String>,
}

impl PoolFeatures {
    pub fn dim(&self) -> i64 {
        self.pool.size()[1]
    }

    pub fn device(&self) -> Device {
        self.pool.device()
    }

    pub fn pool_len(&self) -> usize {
        self.pool.size()[0] as usize
    }

    pub fn test_len(&self) -> usize {
        self.test.size()[0] as usize
    }

    /// Pool rows then test rows, as one matrix.
    pub fn all(&self) -> Tensor {
        Tensor::cat(&[&self.pool, &self.test], 0)
    }

    fn split(all: Tensor, pool_len: i64, cache_name: Option<String>) -> PoolFeatures {
        let test_len = all.size()[0] - pool_len;
        PoolFeatures {
            pool: all.narrow(0, 0, pool_len).contiguous(),
            test: all.narrow(0, pool_len, test_len).contiguous(),
            cache_name,
        }
    }

    /// The cached matrices named `name` with these rows and `dim` columns, if any.
    fn cached(
        name: Option<&String>,
        dir: Option<&Path>,
        rows: (i64, i64),
        dim: i64,
        device: Device,
    ) -> Option<PoolFeatures> {
        let path = cache::file(dir?, name?, "safetensors");
        let (pool, test) = cache::read_matrices(&path, rows, dim, device)?;
        Some(PoolFeatures {
            pool,
            test,
            cache_name: name.cloned(),
        })
    }

    fn store(&self, dir: Option<&Path>) {
        if let (Some(dir), Some(name)) = (dir, &self.cache_name) {
            cache::write_matrices(
                &cache::file(dir, name, "safetensors"),
                &self.pool,
                &self.test,
            );
        }
    }
}

/// `backbone`'s pooled features (`[·, 1280]`) of every pool and test image of decoded
/// `data`, on `device`, from the cache when they are there (no weights needed then).
/// `cancelled` is polled between batches and `progress(done, total)` called after each
/// (once with `(total, total)` for a cache hit).
pub fn backbone_features(
    data: &LearnData,
    backbone: Backbone,
    weights: &Path,
    device: Device,
    cache_dir: Option<&Path>,
    progress: &mut dyn FnMut(usize, usize),
    cancelled: &dyn Fn() -> bool,
) -> Result<PoolFeatures, LearnError> {
    if data.channels != 3 {
        return Err(LearnError::Data(format!(
            "{} features need 3-channel (RGB) images, but these were decoded with {} channel(s); use the CNN for grayscale data or decode with 3 channels",
            backbone.name(),
            data.channels
        )));
    }
    let [pool, test] = data.pixels()?;
    let request = FeatureRequest {
        images: Arc::new(PixelRows {
            pixels: vec![Arc::clone(pool), Arc::clone(test)],
            side: data.size,
        }),
        pool_len: data.pool_len(),
        order: Vec::new(),
        cache_name: data
            .cache_key
            .as_ref()
            .map(|k| backbone_cache_name(k, backbone, Precision::for_device(device))),
    };
    if let Some(hit) = cached_backbone_features(&request, cache_dir, FEATURE_DIM, device) {
        let total = data.pool_len() + data.test_len();
        progress(total, total);
        return Ok(hit.features);
    }
    let net = EffnetLite::load(backbone, weights, device)?;
    let out = compute_backbone_features(
        &net,
        &request,
        cache_dir,
        &mut |b| progress(b.done, b.total),
        cancelled,
    )?;
    if let Some(&(row, reason)) = out.failed.first() {
        // Decoded pixels are copied, never decoded again: nothing can fail here.
        return Err(LearnError::Data(format!(
            "row {row} of the decoded pixels failed: {}",
            reason.describe()
        )));
    }
    Ok(out.features)
}

/// The cache name of `backbone`'s features, at `precision`, of the data named
/// `data_key`.
pub fn backbone_cache_name(data_key: &str, backbone: Backbone, precision: Precision) -> String {
    format!("{data_key}-{}{}", backbone.name(), precision.cache_suffix())
}

/// The graph embeddings of grayscale digits: each image deskewed, then PCA to
/// `DIGIT_DIMS` dimensions fitted over pool and test together, on `device`.
pub fn digit_graph_embeddings(
    data: &LearnData,
    device: Device,
    cache_dir: Option<&Path>,
) -> Result<PoolFeatures, LearnError> {
    if data.channels != 1 {
        return Err(LearnError::Data(format!(
            "digit embeddings need grayscale (1-channel) images, got {} channels; photos use the backbone features",
            data.channels
        )));
    }
    let dims = DIGIT_DIMS.min(data.size * data.size);
    let name = data
        .cache_key
        .as_ref()
        .map(|k| format!("{k}-digits-pca{dims}"));
    let rows = (data.pool_len() as i64, data.test_len() as i64);
    if let Some(hit) = PoolFeatures::cached(name.as_ref(), cache_dir, rows, dims as i64, device) {
        return Ok(hit);
    }
    let side = data.size as i64;
    let [pool, test] = data.pixels()?;
    let pixels = Tensor::cat(&[Tensor::from_slice(pool), Tensor::from_slice(test)], 0)
        .view([rows.0 + rows.1, 1, side, side])
        .to_device(device);
    let emb = PoolFeatures::split(digit_embeddings(&pixels, dims)?, rows.0, name);
    emb.store(cache_dir);
    Ok(emb)
}

/// The graph embeddings a variational autoencoder learns from the images themselves
/// (`graph::vae`), fitted over pool and test together like the PCA, on `device`, and
/// cached. Any channel count: the autoencoder reads flattened pixels.
/// `progress(epoch, epochs)` after every epoch; `cancelled` polled between batches.
pub fn vae_graph_embeddings(
    data: &LearnData,
    device: Device,
    cache_dir: Option<&Path>,
    progress: &mut dyn FnMut(usize, usize),
    cancelled: &dyn Fn() -> bool,
) -> Result<PoolFeatures, LearnError> {
    let opts = VaeOptions {
        epochs: VAE_EPOCHS,
        ..VaeOptions::default()
    };
    let name = data.cache_key.as_ref().map(|k| {
        format!(
            "{k}-vae{}x{}-h{}-e{}-lr{}-s{}",
            opts.latent, opts.batch, opts.hidden, opts.epochs, opts.learning_rate, opts.seed
        )
    });
    let rows = (data.pool_len() as i64, data.test_len() as i64);
    if let Some(hit) = PoolFeatures::cached(name.as_ref(), cache_dir, rows, opts.latent, device) {
        progress(opts.epochs, opts.epochs);
        return Ok(hit);
    }
    let (c, side) = (data.channels as i64, data.size as i64);
    let [pool, test] = data.pixels()?;
    let pixels = Tensor::cat(&[Tensor::from_slice(pool), Tensor::from_slice(test)], 0).view([
        rows.0 + rows.1,
        c,
        side,
        side,
    ]);
    let images = vae::pixel_rows(&pixels, device)?;
    let emb = vae::vae_embeddings(
        &images,
        opts,
        &mut |p| progress(p.epoch, p.epochs),
        cancelled,
    )?;
    let emb = PoolFeatures::split(emb, rows.0, name);
    emb.store(cache_dir);
    Ok(emb)
}

/// The graph embeddings of backbone features: each dimension standardised, each row
/// L2-normalised (cosine geometry, which suits pooled CNN features), then PCA to
/// `FEATURE_GRAPH_DIMS` dimensions, all fitted over pool and test together.
pub fn feature_graph_embeddings(
    features: &PoolFeatures,
    cache_dir: Option<&Path>,
) -> Result<PoolFeatures, LearnError> {
    let dims = FEATURE_GRAPH_DIMS.min(features.dim() as usize);
    let name = features
        .cache_name
        .as_ref()
        .map(|n| format!("{n}-pca{dims}"));
    let rows = (features.pool_len() as i64, features.test_len() as i64);
    if let Some(hit) = PoolFeatures::cached(
        name.as_ref(),
        cache_dir,
        rows,
        dims as i64,
        features.device(),
    ) {
        return Ok(hit);
    }
    let _guard = tch::no_grad_guard();
    let z = crate::graph::embed::standardised(&features.all().f_to_kind(Kind::Float)?);
    let norm = z
        .f_norm_scalaropt_dim(2.0, [1i64], true)?
        .f_clamp_min(1e-12)?;
    let z = z.f_div(&norm)?;
    let emb = Pca::fit(&z, dims)?.transform(&z);
    let emb = PoolFeatures::split(emb, rows.0, name);
    emb.store(cache_dir);
    Ok(emb)
}

/// The `k`-NN graph over `emb.pool` with the test items' `k` pool neighbours, read from
/// `cache_dir/features/<emb name>-knn<k>.bin` or built (and cached). A cache file that
/// does not fit is rebuilt and replaced.
pub fn pool_graph(
    emb: &PoolFeatures,
    k: usize,
    cache_dir: Option<&Path>,
) -> Result<PoolGraph, LearnError> {
    let path = cache_dir
        .zip(emb.cache_name.as_ref())
        .map(|(dir, name)| cache::file(dir, &format!("{name}-knn{k}"), "safetensors"));
    let rows = (emb.pool_len() as i64, emb.test_len() as i64);
    if let Some(hit) = path
        .as_ref()
        .and_then(|p| cache::read_graph(p, rows, k, emb.device()))
    {
        return Ok(hit);
    }
    let test = (rows.1 > 0).then_some(&emb.test);
    let built = PoolGraph::build(&emb.pool, test, k)?;
    if let Some(path) = &path {
        cache::write_graph(path, &built);
    }
    Ok(built)
}

#[cfg(test)]
mod tests;
