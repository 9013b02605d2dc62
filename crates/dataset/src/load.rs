//! `load`: scan, then decode every image in parallel (or take the pixels from the disk
//! cache when the folder has not changed), dropping the images that fail to decode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::cache::{self, CacheHeader};
use super::decode::{convert_gray, decode_file_keeping_thumbnail};
use super::idx::{read_idx_images, read_images_header, IdxImages};
use super::spec::auto_spec;
use super::{
    display_path, scan, DatasetError, DecodeSpec, Item, Pixels, Pool, ScanOptions, SkipReason,
    Skipped, Source, ThumbnailCache,
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
    let scanned = start.elapsed();
    #[allow(
        clippy::expect_used,
        reason = "only a cancelled decode returns None, and this one is never cancelled"
    )]
    let decoded = decode_pool(&pool, opts, spec, Some(cache_dir), &mut |_, _| {}, &|| {
        false
    })?
    .expect("a decode that is never cancelled finishes");
    let mut timings = decoded.timings;
    timings.scan = scanned;

    pool.items = drop_failed(std::mem::take(&mut pool.items), &decoded.pool_failed);
    pool.test = drop_failed(std::mem::take(&mut pool.test), &decoded.test_failed);
    pool.skipped.merge(&decoded.skipped);
    if pool.items.is_empty() {
        return Err(DatasetError::NoImages {
            root: display_path(root),
            skipped: pool.skipped.total(),
            reasons: format!(": {}", pool.skipped.summary()),
        });
    }
    timings.total = start.elapsed();
    #[allow(
        clippy::expect_used,
        reason = "decode_pool names a cache file whenever it is given a cache folder"
    )]
    let cache_file = decoded
        .cache_file
        .expect("a cache folder was given, so a cache file was named");
    Ok(Loaded {
        pool,
        pool_pixels: Pixels {
            spec: decoded.spec,
            data: decoded.pool,
        },
        test_pixels: Pixels {
            spec: decoded.spec,
            data: decoded.test,
        },
        from_cache: decoded.from_cache,
        timings,
        cache_file,
    })
}

/// A scanned pool's pixels, decoded or read from the cache: the images that decoded,
/// in scan order, and those that did not, by their index in the scan.
#[derive(Debug, Clone)]
pub struct DecodedPool {
    pub spec: DecodeSpec,
    pub pool: Vec<u8>,
    pub test: Vec<u8>,
    pub pool_failed: Vec<(u32, SkipReason)>,
    pub test_failed: Vec<(u32, SkipReason)>,
    /// The failures, as a skip report.
    pub skipped: Skipped,
    pub from_cache: bool,
    pub timings: LoadTimings,
    /// The cache file read or written (None: no cache folder was given).
    pub cache_file: Option<PathBuf>,
}

/// Images decoded between two progress reports (and looks at the cancel flag).
const DECODE_CHUNK: usize = 512;

/// Decodes `pool` (what `scan(root, opts)` returned) at `spec` (chosen from the images
/// when `None`), or reads it from the cache in `cache_dir/pools/` (when a cache folder
/// is given), which a decode refreshes; a decode also keeps the large images'
/// thumbnails in `cache_dir/thumbnails/`. `progress(done, total)` follows the decode; `cancelled` is looked at
/// between chunks, and a cancelled decode returns `Ok(None)` without writing the cache.
pub fn decode_pool(
    pool: &Pool,
    opts: &ScanOptions,
    spec: Option<DecodeSpec>,
    cache_dir: Option<&Path>,
    progress: &mut dyn FnMut(usize, usize),
    cancelled: &dyn Fn() -> bool,
) -> Result<Option<DecodedPool>, DatasetError> {
    let mut timings = LoadTimings::default();
    let cache_file = cache_dir.map(|dir| cache::cache_file(dir, &pool.root, opts, spec));
    let read_start = Instant::now();
    let cached = cache_file
        .as_ref()
        .and_then(|file| cache::read(file, pool.fingerprint))
        .filter(|(h, _, _)| h.pool_listed == pool.items.len() && h.test_listed == pool.test.len())
        .filter(|(h, _, _)| spec.is_none_or(|s| s == h.spec));
    timings.cache_read = read_start.elapsed();
    let from_cache = cached.is_some();
    let (header, pool_data, test_data) = match cached {
        Some(found) => found,
        None => {
            let decode_start = Instant::now();
            let thumbnails = cache_dir.map(ThumbnailCache::new);
            let decoded = decode_items_of(pool, spec, thumbnails.as_ref(), progress, cancelled)?;
            let Some(decoded) = decoded else {
                return Ok(None);
            };
            timings.decode = decode_start.elapsed();
            let write_start = Instant::now();
            let (header, pool_data, test_data) = decoded;
            if let Some(file) = &cache_file {
                if let Err(e) = cache::write(file, &header, &pool_data, &test_data) {
                    tracing::warn!(path = %file.display(), error = %e, "could not write the pool cache");
                }
            }
            timings.cache_write = write_start.elapsed();
            (header, pool_data, test_data)
        }
    };
    let total = pool.items.len() + pool.test.len();
    progress(total, total);
    Ok(Some(DecodedPool {
        spec: header.spec,
        pool: pool_data,
        test: test_data,
        pool_failed: header.pool_failed,
        test_failed: header.test_failed,
        skipped: header.decode_skipped,
        from_cache,
        timings,
        cache_file,
    }))
}

/// The spec `load` uses for `pool` when given none, from a sample of file headers (or
/// the IDX header): nothing is decoded.
pub fn choose_spec(pool: &Pool) -> Result<DecodeSpec, DatasetError> {
    let idx_side = match pool
        .items
        .iter()
        .chain(&pool.test)
        .find_map(|i| match &i.source {
            Source::Idx { file, .. } => Some(file),
            Source::File(_) => None,
        }) {
        Some(file) => {
            let header = read_images_header(file)?;
            Some((header.rows, header.cols))
        }
        None => None,
    };
    let all: Vec<&Item> = pool.items.iter().chain(&pool.test).collect();
    Ok(auto_spec(&all, idx_side))
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

/// A pool decoded in memory: the cache header describing it, the pool and the test
/// pixels.
type DecodedParts = (CacheHeader, Vec<u8>, Vec<u8>);
/// Decoded items' pixels (the failures' gaps closed) and the failures by position.
type DecodedItems = (Vec<u8>, Vec<(u32, SkipReason)>);

/// Decodes the pool and the test split (keeping the large images' thumbnails when
/// given a cache); failures are recorded, not returned. None when cancelled.
fn decode_items_of(
    pool: &Pool,
    spec: Option<DecodeSpec>,
    thumbnails: Option<&ThumbnailCache>,
    progress: &mut dyn FnMut(usize, usize),
    cancelled: &dyn Fn() -> bool,
) -> Result<Option<DecodedParts>, DatasetError> {
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
    let total = pool.items.len() + pool.test.len();
    let mut decode_skipped = Skipped::default();
    let mut done = 0;
    let mut decode = |items: &[Item], skipped: &mut Skipped| {
        decode_items(
            items,
            spec,
            &idx_files,
            thumbnails,
            skipped,
            &mut |n| {
                done += n;
                progress(done, total);
            },
            cancelled,
        )
    };
    let Some((pool_data, pool_failed)) = decode(&pool.items, &mut decode_skipped) else {
        return Ok(None);
    };
    let Some((test_data, test_failed)) = decode(&pool.test, &mut decode_skipped) else {
        return Ok(None);
    };
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
    Ok(Some((header, pool_data, test_data)))
}

/// Decodes `items` in parallel straight into one buffer, `DECODE_CHUNK` at a time
/// (reporting each chunk's size to `decoded`, and giving up with None when `cancelled`),
/// then closes the gaps the failures left.
fn decode_items(
    items: &[Item],
    spec: DecodeSpec,
    idx_files: &HashMap<PathBuf, IdxImages>,
    thumbnails: Option<&ThumbnailCache>,
    skipped: &mut Skipped,
    decoded: &mut dyn FnMut(usize),
    cancelled: &dyn Fn() -> bool,
) -> Option<DecodedItems> {
    let len = spec.item_len();
    let mut data = vec![0u8; items.len() * len];
    let mut results: Vec<Result<(), SkipReason>> = Vec::with_capacity(items.len());
    for (out, items) in data
        .chunks_mut(DECODE_CHUNK * len)
        .zip(items.chunks(DECODE_CHUNK))
    {
        if cancelled() {
            return None;
        }
        results.par_extend(
            out.par_chunks_mut(len)
                .zip(items.par_iter())
                .map(|(out, item)| match &item.source {
                    Source::File(path) => {
                        decode_file_keeping_thumbnail(path, spec, out, thumbnails)
                    }
                    Source::Idx { file, index } => {
                        let images = &idx_files[file];
                        convert_gray(images.image(*index), images.rows, images.cols, spec, out);
                        Ok(())
                    }
                }),
        );
        decoded(items.len());
    }
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
    Some((data, failed))
}
