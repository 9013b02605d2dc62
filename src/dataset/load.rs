//! `load`: scan, then decode every image in parallel (or take the pixels from the disk
//! cache when the folder has not changed), dropping the images that fail to decode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::cache::{self, CacheHeader};
use super::decode::{convert_gray, decode_file};
use super::idx::{read_idx_images, IdxImages};
use super::spec::auto_spec;
use super::{
    display_path, scan, DatasetError, DecodeSpec, Item, Pixels, Pool, ScanOptions, SkipReason,
    Skipped, Source,
};

/// Where the time of a `load` went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadTimings {
    /// Listing and stat-ing the files (and reading IDX labels).
    pub scan: Duration,
    /// Decoding the images (zero when the cache was used).
    pub decode: Duration,
    /// Reading the cache file (or trying to).
    pub cache_read: Duration,
    /// Writing the cache file (zero when the cache was used).
    pub cache_write: Duration,
    pub total: Duration,
}

/// A scanned and decoded data set: `pool_pixels.item(i)` is `pool.items[i]`,
/// `test_pixels.item(i)` is `pool.test[i]`.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub pool: Pool,
    pub pool_pixels: Pixels,
    pub test_pixels: Pixels,
    /// True when the pixels came from the disk cache and nothing was decoded.
    pub from_cache: bool,
    pub timings: LoadTimings,
    /// The cache file this load read or wrote.
    pub cache_file: PathBuf,
}

impl Loaded {
    pub fn spec(&self) -> DecodeSpec {
        self.pool_pixels.spec
    }
}

/// Scans `root`, then decodes its images at `spec` (chosen from the images when
/// `None`), using and refreshing the cache in `cache_dir/pools/`.
pub fn load(
    root: &Path,
    opts: &ScanOptions,
    spec: Option<DecodeSpec>,
    cache_dir: &Path,
) -> Result<Loaded, DatasetError> {
    let start = Instant::now();
    if let Some(spec) = spec {
        spec.validate()?;
    }
    let mut pool = scan(root, opts)?;
    let mut timings = LoadTimings {
        scan: start.elapsed(),
        ..LoadTimings::default()
    };

    let cache_file = cache::cache_file(cache_dir, root, opts, spec);
    let read_start = Instant::now();
    let cached = cache::read(&cache_file, pool.fingerprint)
        .filter(|(h, _, _)| h.pool_listed == pool.items.len() && h.test_listed == pool.test.len())
        .filter(|(h, _, _)| spec.is_none_or(|s| s == h.spec));
    timings.cache_read = read_start.elapsed();
    let from_cache = cached.is_some();

    let (header, pool_data, test_data) = match cached {
        Some(found) => found,
        None => {
            let decode_start = Instant::now();
            let decoded = decode_pool(&pool, spec)?;
            timings.decode = decode_start.elapsed();
            let write_start = Instant::now();
            let (header, pool_data, test_data) = decoded;
            if let Err(e) = cache::write(&cache_file, &header, &pool_data, &test_data) {
                tracing::warn!(path = %cache_file.display(), error = %e, "could not write the pool cache");
            }
            timings.cache_write = write_start.elapsed();
            (header, pool_data, test_data)
        }
    };

    pool.items = drop_failed(std::mem::take(&mut pool.items), &header.pool_failed);
    pool.test = drop_failed(std::mem::take(&mut pool.test), &header.test_failed);
    pool.skipped.merge(&header.decode_skipped);
    if pool.items.is_empty() {
        return Err(DatasetError::NoImages {
            root: display_path(root),
            skipped: pool.skipped.total(),
            reasons: format!(": {}", pool.skipped.summary()),
        });
    }
    timings.total = start.elapsed();
    Ok(Loaded {
        pool,
        pool_pixels: Pixels {
            spec: header.spec,
            data: pool_data,
        },
        test_pixels: Pixels {
            spec: header.spec,
            data: test_data,
        },
        from_cache,
        timings,
        cache_file,
    })
}

fn drop_failed(items: Vec<Item>, failed: &[(u32, SkipReason)]) -> Vec<Item> {
    if failed.is_empty() {
        return items;
    }
    let mut failed = failed.iter().map(|(i, _)| *i as usize).peekable();
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| {
            if failed.peek() == Some(i) {
                failed.next();
                false
            } else {
                true
            }
        })
        .map(|(_, item)| item)
        .collect()
}

/// Decodes the pool and the test split; failures are recorded, not returned.
fn decode_pool(
    pool: &Pool,
    spec: Option<DecodeSpec>,
) -> Result<(CacheHeader, Vec<u8>, Vec<u8>), DatasetError> {
    let mut idx_files: HashMap<PathBuf, IdxImages> = HashMap::new();
    for item in pool.items.iter().chain(&pool.test) {
        if let Source::Idx { file, .. } = &item.source {
            if !idx_files.contains_key(file) {
                idx_files.insert(file.clone(), read_idx_images(file)?);
            }
        }
    }
    let spec = spec.unwrap_or_else(|| {
        let idx_side = idx_files.values().next().map(|i| (i.rows, i.cols));
        let all: Vec<&Item> = pool.items.iter().chain(&pool.test).collect();
        auto_spec(&all, idx_side)
    });
    let mut decode_skipped = Skipped::default();
    let (pool_data, pool_failed) = decode_items(&pool.items, spec, &idx_files, &mut decode_skipped);
    let (test_data, test_failed) = decode_items(&pool.test, spec, &idx_files, &mut decode_skipped);
    let header = CacheHeader {
        fingerprint: pool.fingerprint,
        spec,
        pool_listed: pool.items.len(),
        test_listed: pool.test.len(),
        pool_failed,
        test_failed,
        decode_skipped,
        pool_bytes: pool_data.len() as u64,
        test_bytes: test_data.len() as u64,
    };
    Ok((header, pool_data, test_data))
}

/// Decodes `items` in parallel straight into one buffer, then closes the gaps the
/// failures left.
fn decode_items(
    items: &[Item],
    spec: DecodeSpec,
    idx_files: &HashMap<PathBuf, IdxImages>,
    skipped: &mut Skipped,
) -> (Vec<u8>, Vec<(u32, SkipReason)>) {
    let len = spec.item_len();
    let mut data = vec![0u8; items.len() * len];
    let results: Vec<Result<(), SkipReason>> = data
        .par_chunks_mut(len)
        .zip(items.par_iter())
        .map(|(out, item)| match &item.source {
            Source::File(path) => decode_file(path, spec, out),
            Source::Idx { file, index } => {
                let images = &idx_files[file];
                convert_gray(images.image(*index), images.rows, images.cols, spec, out);
                Ok(())
            }
        })
        .collect();
    let mut failed = Vec::new();
    let mut kept = 0;
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(()) => {
                if kept != i {
                    data.copy_within(i * len..(i + 1) * len, kept * len);
                }
                kept += 1;
            }
            Err(reason) => {
                skipped.add(reason, &items[i].id);
                failed.push((i as u32, reason));
            }
        }
    }
    data.truncate(kept * len);
    (data, failed)
}
