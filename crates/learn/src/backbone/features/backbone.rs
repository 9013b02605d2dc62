//! The backbone's features of every pool and test image, computed once per pool and
//! cached. A pass that is cut short keeps what it computed (`partial.rs`), and the next
//! one goes on from there; each batch is handed to the caller as it comes, so the
//! labeler can show suggestions for the images already seen by the backbone.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::cache;
use super::partial::{PartialFeatures, RowOutcome};
use super::stream::{run_pass, ImageRows, PassBatch};
use super::PoolFeatures;
use crate::backbone::effnet_lite::EffnetLite;
use crate::LearnError;
use glean_dataset::SkipReason;

/// Images per backbone forward pass on a GPU.
pub const BACKBONE_BATCH: usize = 256;
/// On a CPU small batches are faster: the 224×224 activations of a large batch do not
/// fit in cache (measured per image on 2 cores: 70 ms at 4, 83 ms at 16, 105 ms at 64).
pub const BACKBONE_BATCH_CPU: usize = 4;

/// The batch size of a forward pass on `device`.
pub fn batch_for(device: Device) -> usize {
    if device == Device::Cpu {
        BACKBONE_BATCH_CPU
    } else {
        BACKBONE_BATCH
    }
}

/// What to run through the backbone.
pub struct FeatureRequest {
    /// Pool rows `0..pool_len`, then the test rows.
    pub images: Arc<dyn ImageRows>,
    pub pool_len: usize,
    /// The pool rows in the order they should be computed (the order the person sees
    /// them in); rows it leaves out follow in row order, the test rows last.
    pub order: Vec<usize>,
    /// Names the features in the cache; None: nothing is cached.
    pub cache_name: Option<String>,
}

impl FeatureRequest {
    fn rows(&self) -> usize {
        self.images.rows()
    }

    /// Every row once: `order`'s first, then the rest of the pool, then the test rows.
    fn full_order(&self) -> Vec<usize> {
        let rows = self.rows();
        let mut placed = vec![false; rows];
        let mut out = Vec::with_capacity(rows);
        let pool = self.order.iter().copied().chain(0..self.pool_len);
        for row in pool.chain(self.pool_len..rows) {
            if row < rows && !placed[row] {
                placed[row] = true;
                out.push(row);
            }
        }
        out
    }
}

/// Features of the rows that decoded (pool and test, in row order, without the rows
/// that failed), and the rows that failed with why.
pub struct BackboneFeatures {
    pub features: PoolFeatures,
    pub failed: Vec<(usize, SkipReason)>,
}

/// One step of a pass, for progress displays and early use of the features.
pub struct FeatureBatch<'a> {
    /// Rows whose features are now known (a resumed pass reports the rows it found in
    /// the cache first, in one batch).
    pub rows: &'a [usize],
    /// `[rows, dim]` on the network's device.
    pub features: &'a Tensor,
    /// Rows known (features or failure) of `total`.
    pub done: usize,
    pub total: usize,
    /// Images per second of this pass so far (None until a batch has been computed).
    pub per_second: Option<f64>,
}

/// The finished features from the cache, if they are there for these rows.
pub fn cached_backbone_features(
    request: &FeatureRequest,
    cache_dir: Option<&Path>,
    dim: i64,
    device: Device,
) -> Option<BackboneFeatures> {
    let path = cache::file(cache_dir?, request.cache_name.as_ref()?, "safetensors");
    let found = cache::read_features(&path, dim, device)?;
    let failed_pool = found
        .failed
        .iter()
        .filter(|&&(r, _)| r < request.pool_len)
        .count();
    let failed_test = found.failed.len() - failed_pool;
    let test_len = request.rows() - request.pool_len;
    let fits = found.pool.size()[0] as usize + failed_pool == request.pool_len
        && found.test.size()[0] as usize + failed_test == test_len;
    if !fits {
        tracing::warn!(
            "ignoring the cache file {}: made for another folder; recomputing",
            path.display()
        );
        return None;
    }
    Some(BackboneFeatures {
        features: PoolFeatures {
            pool: found.pool,
            test: found.test,
            cache_name: request.cache_name.clone(),
        },
        failed: found.failed,
    })
}

/// Runs every row of `request` through `net` (rows a cut-short pass left in the cache
/// are read back, not recomputed), caches the result and returns it. `on_batch` sees
/// the rows as their features become known; `cancelled` stops the pass between batches.
pub fn compute_backbone_features(
    net: &EffnetLite,
    request: &FeatureRequest,
    cache_dir: Option<&Path>,
    on_batch: &mut dyn FnMut(FeatureBatch),
    cancelled: &dyn Fn() -> bool,
) -> Result<BackboneFeatures, LearnError> {
    let rows = request.rows();
    let dim = net.feature_dim() as usize;
    let mut all = vec![0f32; rows * dim];
    let mut known = vec![false; rows];
    let mut failed: Vec<(usize, SkipReason)> = Vec::new();

    let mut partial = match cache_dir.zip(request.cache_name.as_ref()) {
        Some((dir, name)) => {
            match PartialFeatures::open(&cache::file(dir, name, "partial"), dim, rows) {
                Ok((partial, records)) => {
                    let mut found_rows = Vec::new();
                    for (row, outcome) in records {
                        known[row] = true;
                        match outcome {
                            RowOutcome::Features(values) => {
                                all[row * dim..(row + 1) * dim].copy_from_slice(&values);
                                found_rows.push(row);
                            }
                            RowOutcome::Failed(reason) => failed.push((row, reason)),
                        }
                    }
                    if !found_rows.is_empty() || !failed.is_empty() {
                        tracing::info!(
                            "backbone features: {} rows from the last pass, {} to go",
                            found_rows.len() + failed.len(),
                            rows - found_rows.len() - failed.len()
                        );
                        let features = gather(&all, &found_rows, dim, net.device())?;
                        on_batch(FeatureBatch {
                            rows: &found_rows,
                            features: &features,
                            done: found_rows.len() + failed.len(),
                            total: rows,
                            per_second: None,
                        });
                    }
                    Some(partial)
                }
                Err(why) => {
                    tracing::warn!("backbone features will not be kept across restarts: {why}");
                    None
                }
            }
        }
        None => None,
    };

    let todo: Vec<usize> = request
        .full_order()
        .into_iter()
        .filter(|&r| !known[r])
        .collect();
    let mut done = rows - todo.len();
    let started = Instant::now();
    let mut computed = 0usize;
    let mut store = |batch: PassBatch| -> Result<(), LearnError> {
        let host = batch
            .features
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?;
        let values = Vec::<f32>::try_from(host.f_view([-1])?)?;
        let mut outcomes = Vec::with_capacity(batch.rows.len() + batch.failed.len());
        for (i, &row) in batch.rows.iter().enumerate() {
            let row_values = &values[i * dim..(i + 1) * dim];
            all[row * dim..(row + 1) * dim].copy_from_slice(row_values);
            outcomes.push((row, RowOutcome::Features(row_values.to_vec())));
        }
        for &(row, reason) in &batch.failed {
            tracing::warn!("row {row} did not decode ({}): left out", reason.describe());
            outcomes.push((row, RowOutcome::Failed(reason)));
            failed.push((row, reason));
        }
        if let Some(p) = partial.as_mut() {
            if let Err(why) = p.append(&outcomes) {
                tracing::warn!("backbone features will not be kept across restarts: {why}");
                partial = None;
            }
        }
        done += outcomes.len();
        computed += outcomes.len();
        on_batch(FeatureBatch {
            rows: &batch.rows,
            features: &batch.features,
            done,
            total: rows,
            per_second: Some(computed as f64 / started.elapsed().as_secs_f64().max(1e-9)),
        });
        Ok(())
    };
    run_pass(
        net,
        Arc::clone(&request.images),
        todo,
        batch_for(net.device()),
        &mut store,
        cancelled,
    )?;

    failed.sort_unstable_by_key(|&(row, _)| row);
    let is_failed = {
        let mut flags = vec![false; rows];
        for &(row, _) in &failed {
            flags[row] = true;
        }
        flags
    };
    let kept = |range: std::ops::Range<usize>| -> Vec<usize> {
        range.filter(|&r| !is_failed[r]).collect()
    };
    let features = PoolFeatures {
        pool: gather(&all, &kept(0..request.pool_len), dim, net.device())?,
        test: gather(&all, &kept(request.pool_len..rows), dim, net.device())?,
        cache_name: request.cache_name.clone(),
    };
    if let Some((dir, name)) = cache_dir.zip(request.cache_name.as_ref()) {
        cache::write_features(
            &cache::file(dir, name, "safetensors"),
            &features.pool,
            &features.test,
            &failed,
        );
        if let Some(p) = partial {
            p.remove();
        }
    }
    Ok(BackboneFeatures { features, failed })
}

/// Rows `rows` of the row-major `all` (`dim` columns) as a `[rows, dim]` tensor on `device`.
fn gather(all: &[f32], rows: &[usize], dim: usize, device: Device) -> Result<Tensor, LearnError> {
    let mut out = Vec::with_capacity(rows.len() * dim);
    for &r in rows {
        out.extend_from_slice(&all[r * dim..(r + 1) * dim]);
    }
    Ok(Tensor::f_from_slice(&out)?
        .f_view([rows.len() as i64, dim as i64])?
        .f_to_device(device)?)
}
