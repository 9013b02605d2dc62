//! What the trainer thread does before its first round when the labeler hands it a
//! folder as scanned rather than decoded: the screen is up and the person labels while
//! this runs. Photos stream through the backbone file by file (decoded on worker
//! threads, in the order the person sees them, kept in the cache as they come), with
//! the backbone's own ImageNet suggestions for each image as soon as its features
//! exist; other images are decoded in the background. Images that fail to decode are
//! left out of learning: the trainer works on the pool without them and translates
//! indices at its border (`PoolMap`).

use std::path::Path;
use std::sync::Arc;

use crate::backbone::effnet_lite::{Backbone, EffnetLite, FEATURE_DIM};
use crate::backbone::features::{
    backbone_cache_name, cached_backbone_features, compute_backbone_features, BackboneFeatures,
    FeatureRequest, FileRows, PoolFeatures,
};
use crate::backbone::zero_shot::{ZeroShot, ZeroShotPrior};
use crate::config::LearnerConfig;
use crate::data::LearnData;
use crate::ranking::Ranking;
use crate::round::learner::Learner;
use crate::trainer::prepare::Setup;
use crate::LearnError;
use crate::TrainerEvent;
use glean_dataset::{self as dataset, DecodeSpec, Pool, ScanOptions, SkipReason};

/// How many suggested classes are sent per image: as many as a ranked item keeps, so
/// the guesses panel lists as many before the first ranking as after it.
pub const SUGGESTED: usize = crate::ranking::TOP_CLASSES;

/// What the trainer learns from.
pub enum PoolInput {
    /// Decoded pixels, ready to prepare (`glean simulate`, tests).
    Decoded(LearnData),
    /// A scanned folder, decoded by the trainer itself (`glean label`).
    Scanned(Box<ScannedPool>),
}

impl From<LearnData> for PoolInput {
    fn from(data: LearnData) -> Self {
        PoolInput::Decoded(data)
    }
}

impl From<ScannedPool> for PoolInput {
    fn from(pool: ScannedPool) -> Self {
        PoolInput::Scanned(Box::new(pool))
    }
}

/// A folder as `dataset::scan` saw it, with what the trainer needs to decode it.
#[derive(Debug, Clone)]
pub struct ScannedPool {
    pub pool: Pool,
    /// The options it was scanned with (they name the pool's pixel cache).
    pub scan: ScanOptions,
    /// The spec `dataset::choose_spec` gave.
    pub spec: DecodeSpec,
    /// Pool items in the order the person sees them first; the backbone takes them in
    /// this order, so the images on screen get their features (and suggestions) first.
    pub order: Vec<usize>,
}

/// Scan indices (what the screen and the session count) and learner indices (the pool
/// without the images that failed to decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolMap {
    to_learner: Vec<Option<usize>>,
    to_scan: Vec<usize>,
}

impl PoolMap {
    pub fn identity(pool_len: usize) -> Self {
        PoolMap {
            to_learner: (0..pool_len).map(Some).collect(),
            to_scan: (0..pool_len).collect(),
        }
    }

    /// The pool of `pool_len` scan items without `failed` (scan indices).
    pub fn without(pool_len: usize, failed: impl IntoIterator<Item = usize>) -> Self {
        let mut keep = vec![true; pool_len];
        for row in failed {
            if let Some(k) = keep.get_mut(row) {
                *k = false;
            }
        }
        let mut to_learner = vec![None; pool_len];
        let mut to_scan = Vec::with_capacity(pool_len);
        for (row, _) in keep.iter().enumerate().filter(|(_, &k)| k) {
            to_learner[row] = Some(to_scan.len());
            to_scan.push(row);
        }
        PoolMap {
            to_learner,
            to_scan,
        }
    }

    /// A job's labels in learner indices; labels of items the learner does not have
    /// are dropped.
    pub fn to_learner(&self, labeled: &[(usize, u16)]) -> Vec<(usize, u16)> {
        labeled
            .iter()
            .filter_map(|&(item, class)| Some((self.to_learner.get(item).copied()??, class)))
            .collect()
    }

    /// Scan indices as learner indices, those of images that could not be decoded left out.
    pub fn items_to_learner(&self, items: &[usize]) -> Vec<usize> {
        items
            .iter()
            .filter_map(|&item| self.to_learner.get(item).copied()?)
            .collect()
    }

    /// A ranking's items in scan indices.
    pub fn to_scan(&self, ranking: &mut Ranking) {
        for item in &mut ranking.items {
            item.pool_index = self.scan_index(item.pool_index);
        }
    }

    /// The scan index of learner index `item`.
    pub fn scan_index(&self, item: usize) -> usize {
        self.to_scan[item]
    }
}

/// Sets a learner up for a scanned folder. `events` sees progress, suggestions and
/// undecodable items as they come; `cancelled` stops it between steps.
pub fn prepare_scanned(
    input: ScannedPool,
    config: LearnerConfig,
    events: &mut dyn FnMut(TrainerEvent),
    cancelled: &dyn Fn() -> bool,
) -> Result<(Learner, PoolMap), LearnError> {
    let setup = Setup::new(&config)?;
    let model = config.resolve_model(usize::from(input.spec.channels))?;
    match Backbone::of(model) {
        Some(backbone) => {
            let net = EffnetLite::load(backbone, &config.weights_of(backbone), setup.device)?;
            let (data, features, map, prior) =
                stream_features(&net, input, config.cache_dir.as_deref(), events, cancelled)?;
            let mut learner =
                Learner::prepare_with_features(data, config, model, features, events, cancelled)?;
            if let Some(prior) = prior {
                learner.set_zero_shot(prior)?;
            }
            Ok((learner, map))
        }
        None => {
            let input = ScannedPool {
                spec: pixel_spec(input.spec),
                ..input
            };
            let (data, map) = decode_pixels(input, config.cache_dir.as_deref(), events, cancelled)?;
            let learner = Learner::prepare(data, config, events, cancelled)?;
            Ok((learner, map))
        }
    }
}

/// Side at which colour photos are learned from their pixels (no backbone): the size
/// the small CNN and the pixel graph are measured at (CIFAR-10's photos,
/// `results/cifar10-head`). At the backbone's 224 a round of the CNN on 10 labels of
/// the dog photos took 104 s on 2 cores, for no pixel detail the CNN could use.
pub const PIXEL_PHOTO_SIDE: u32 = 32;

/// The spec pixels are learned at: `spec`, with colour photos shrunk to
/// `PIXEL_PHOTO_SIDE`.
fn pixel_spec(spec: DecodeSpec) -> DecodeSpec {
    if spec.channels == 3 && spec.size > PIXEL_PHOTO_SIDE {
        DecodeSpec {
            size: PIXEL_PHOTO_SIDE,
            ..spec
        }
    } else {
        spec
    }
}

/// The photos through `net`, streamed in the person's order (or read back from the
/// cache), with the ImageNet head's suggestions for each as its features come: the
/// data (undecoded) and features of the images that decoded, and the pool map.
fn stream_features(
    net: &EffnetLite,
    input: ScannedPool,
    cache: Option<&Path>,
    events: &mut dyn FnMut(TrainerEvent),
    cancelled: &dyn Fn() -> bool,
) -> Result<(LearnData, PoolFeatures, PoolMap, Option<ZeroShotPrior>), LearnError> {
    let ScannedPool {
        pool, spec, order, ..
    } = input;
    let test_labels = LearnData::test_labels_of(&pool)?;
    let data_key = LearnData::cache_key_of(&pool, spec);
    let names: Vec<String> = pool.classes.iter().map(|c| c.name.clone()).collect();
    let zero_shot = ZeroShot::for_classes(&names, net.device())?;
    let pool_len = pool.items.len();
    let request = FeatureRequest {
        images: Arc::new(FileRows {
            sources: pool
                .items
                .iter()
                .chain(&pool.test)
                .map(|i| i.source.clone())
                .collect(),
            spec,
            thumbnails: cache.map(dataset::ThumbnailCache::new),
        }),
        pool_len,
        order,
        cache_name: Some(backbone_cache_name(
            &data_key,
            net.backbone(),
            net.precision(),
        )),
    };
    // Suggestions for the rows whose features just became known.
    let report = |events: &mut dyn FnMut(TrainerEvent),
                  rows: &[usize],
                  features: &tch::Tensor|
     -> Result<(), LearnError> {
        let Some(zs) = &zero_shot else { return Ok(()) };
        let found = zs.suggest(net, features, rows, pool_len, SUGGESTED)?;
        if !found.is_empty() {
            events(TrainerEvent::Suggested { items: found });
        }
        Ok(())
    };
    let out: BackboneFeatures =
        match cached_backbone_features(&request, cache, FEATURE_DIM, net.device()) {
            Some(hit) => {
                let total = pool_len + pool.test.len();
                preparing(events, "backbone features", total, total, None);
                let mut failed = vec![false; pool_len];
                for &(row, _) in hit.failed.iter().filter(|&&(r, _)| r < pool_len) {
                    failed[row] = true;
                }
                let rows: Vec<usize> = (0..pool_len).filter(|&r| !failed[r]).collect();
                report(events, &rows, &hit.features.pool)?;
                hit
            }
            None => {
                let mut reported = Ok(());
                let out = compute_backbone_features(
                    net,
                    &request,
                    cache,
                    &mut |b| {
                        preparing(events, "backbone features", b.done, b.total, b.per_second);
                        if reported.is_ok() {
                            reported = report(events, b.rows, b.features);
                        }
                    },
                    cancelled,
                )?;
                reported?;
                out
            }
        };
    let (map, test_labels) = leave_out(&out.failed, pool_len, &test_labels, events);
    let mut data = LearnData::undecoded(
        3,
        spec.size as usize,
        pool.classes.len(),
        map.to_scan.len(),
        test_labels,
    )?;
    data.cache_key = Some(data_key);
    let prior = match &zero_shot {
        Some(zs) => Some(ZeroShotPrior::of(zs, net, &out.features, net.device())?),
        None => None,
    };
    Ok((data, out.features, map, prior))
}

/// The pool decoded in the background (or read from the pool cache): the data of the
/// images that decoded, and the pool map.
fn decode_pixels(
    input: ScannedPool,
    cache: Option<&Path>,
    events: &mut dyn FnMut(TrainerEvent),
    cancelled: &dyn Fn() -> bool,
) -> Result<(LearnData, PoolMap), LearnError> {
    let ScannedPool {
        pool, scan, spec, ..
    } = input;
    let test_labels = LearnData::test_labels_of(&pool)?;
    let decoded = dataset::decode_pool(
        &pool,
        &scan,
        Some(spec),
        cache,
        &mut |done, total| preparing(events, "decoding images", done, total, None),
        cancelled,
    )
    .map_err(|e| LearnError::Data(e.to_string()))?
    .ok_or(LearnError::Cancelled)?;
    let pool_len = pool.items.len();
    let failed: Vec<(usize, SkipReason)> = decoded
        .pool_failed
        .iter()
        .map(|&(i, r)| (i as usize, r))
        .chain(
            decoded
                .test_failed
                .iter()
                .map(|&(i, r)| (pool_len + i as usize, r)),
        )
        .collect();
    let (map, test_labels) = leave_out(&failed, pool_len, &test_labels, events);
    let spec = decoded.spec;
    let mut data = LearnData::new(
        usize::from(spec.channels),
        spec.size as usize,
        pool.classes.len(),
        Arc::new(decoded.pool),
        Arc::new(decoded.test),
        test_labels,
    )?;
    data.cache_key = Some(LearnData::cache_key_of(&pool, spec));
    Ok((data, map))
}

fn preparing(
    events: &mut dyn FnMut(TrainerEvent),
    what: &'static str,
    done: usize,
    total: usize,
    per_second: Option<f64>,
) {
    events(TrainerEvent::Preparing {
        what,
        done,
        total,
        per_second,
    });
}

/// The pool map and test labels without the `failed` rows (pool rows, then test rows
/// counted from `pool_len`), which are reported as unusable.
fn leave_out(
    failed: &[(usize, SkipReason)],
    pool_len: usize,
    test_labels: &[u16],
    events: &mut dyn FnMut(TrainerEvent),
) -> (PoolMap, Vec<u16>) {
    let unusable: Vec<(usize, SkipReason)> = failed
        .iter()
        .copied()
        .filter(|&(r, _)| r < pool_len)
        .collect();
    if !unusable.is_empty() {
        events(TrainerEvent::Unusable {
            items: unusable
                .iter()
                .map(|&(item, reason)| (item, reason.describe().to_string()))
                .collect(),
        });
    }
    let failed_test: Vec<usize> = failed
        .iter()
        .filter_map(|&(r, _)| r.checked_sub(pool_len))
        .collect();
    let test_labels = test_labels
        .iter()
        .enumerate()
        .filter(|(i, _)| !failed_test.contains(i))
        .map(|(_, &l)| l)
        .collect();
    (
        PoolMap::without(pool_len, unusable.iter().map(|&(r, _)| r)),
        test_labels,
    )
}

/// The order the person sees a fresh pool in before any ranking: a seeded shuffle,
/// which costs nothing and, unlike the folder's order, mixes the classes.
pub fn provisional_order(pool_len: usize, seed: u64) -> Vec<usize> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut order: Vec<usize> = (0..pool_len).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RankedItem, RankingSource, Strategy, TopClasses};

    #[test]
    fn a_pool_map_skips_failed_items_both_ways() {
        let map = PoolMap::without(5, [1, 3]);
        assert_eq!(
            map.to_learner(&[(0, 2), (1, 1), (4, 0), (3, 3)]),
            vec![(0, 2), (2, 0)]
        );
        let mut ranking = Ranking {
            job: 1,
            strategy: Strategy::Margin,
            source: RankingSource::Model,
            items: [2, 0, 1]
                .iter()
                .map(|&i| RankedItem {
                    pool_index: i,
                    score: 0.0,
                    top: TopClasses::new(),
                    audit: false,
                })
                .collect(),
        };
        map.to_scan(&mut ranking);
        assert_eq!(ranking.batch(3), vec![4, 0, 2]);
        assert_eq!(PoolMap::identity(3), PoolMap::without(3, []));
    }

    #[test]
    fn failed_test_rows_leave_their_labels_behind() {
        let mut seen = Vec::new();
        let (map, labels) = leave_out(
            &[(1, SkipReason::Corrupt), (4, SkipReason::TooLarge)],
            3,
            &[7, 8, 9],
            &mut |e| seen.push(e),
        );
        assert_eq!(labels, vec![7, 9]);
        assert_eq!(map.to_learner(&[(2, 1)]), vec![(1, 1)]);
        assert_eq!(
            seen,
            vec![TrainerEvent::Unusable {
                items: vec![(1, SkipReason::Corrupt.describe().to_string())]
            }]
        );
    }

    #[test]
    fn the_provisional_order_is_a_seeded_permutation() {
        let a = provisional_order(100, 3);
        assert_eq!(a, provisional_order(100, 3));
        assert_ne!(a, provisional_order(100, 4));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, sorted, "shuffled");
    }
}
