//! Decoding phone-size photos (4000×3000 JPEGs) for the model and the screen: today's
//! full decode then shrink, against `open_image`'s reduced-scale DCT decode. Prints one
//! line per figure, on one thread and with rayon on every core.
//!
//! `cargo bench -p glean-dataset --bench photos`; `GLEAN_BENCH_PHOTOS_N` photos (60).
//! The photos are the shared dog photos upscaled (a synthetic gradient with noise where
//! that folder is missing), written to a temporary folder as quality-90 JPEGs, with as
//! many 32×32 images (CIFAR-10 where present) to show small images lose nothing. Last,
//! the thumbnail cache: what keeping thumbnails costs the model's pass, and a review
//! page read from the cache that pass filled.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat};
use rayon::prelude::*;

use glean_dataset::{
    decode_file, decode_file_keeping_thumbnail, open_image, DecodeSpec, MinSize, ThumbnailCache,
};

const PHOTO_W: u32 = 4000;
const PHOTO_H: u32 = 3000;
const MODEL_SIDE: u32 = 224;
/// The model's square is cut from the central 224/256 of the shorter side.
const MODEL_CROP_SOURCE: u32 = 256;
const THUMB_SIDE: u32 = glean_dataset::THUMB_SIDE;
const DISPLAY_SIDE: u32 = 1600;

fn main() {
    let n: usize = std::env::var("GLEAN_BENCH_PHOTOS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let made = Instant::now();
    let (photos, origin) = make_photos(dir.path(), n);
    let smalls = make_small(dir.path(), n);
    println!(
        "{n} photos {PHOTO_W}x{PHOTO_H} from {origin}, {} MB of JPEG; {} small images; made in {:.1} s",
        photos
            .iter()
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum::<u64>()
            / 1_000_000,
        smalls.len(),
        made.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [1, cores] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        println!("-- {threads} thread(s)");
        pool.install(|| run_figures(&photos, &smalls));
    }
    let page = &photos[..photos.len().min(60)];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        let old = time(|| {
            page.par_iter()
                .for_each(|p| drop(full_decode(p).resize(THUMB_SIDE, THUMB_SIDE, FilterType::Triangle)))
        });
        let new = time(|| page.par_iter().for_each(|p| drop(thumbnail(p))));
        println!(
            "review page of {} thumbnails, {cores} threads: full decode + shrink {old:.3} s, scaled decode + shrink {new:.3} s",
            page.len()
        );
    });
    pool.install(|| thumbnail_cache_figures(&photos, page, dir.path(), cores));
}

/// The model's pass over every photo with and without keeping thumbnails (what keeping
/// them costs, best of three), then a review page read back from the thumbnail cache the pass filled:
/// on `cores` threads, and on one as the screen's loader thread reads it.
fn thumbnail_cache_figures(photos: &[PathBuf], page: &[PathBuf], dir: &Path, cores: usize) {
    let model = DecodeSpec {
        channels: 3,
        size: MODEL_SIDE,
    };
    let decode = |p: &PathBuf| {
        let mut out = vec![0; model.item_len()];
        decode_file(p, model, &mut out).expect("decodes");
    };
    let thumbnails = ThumbnailCache::new(&dir.join("cache"));
    let keeping = |p: &PathBuf| {
        let mut out = vec![0; model.item_len()];
        decode_file_keeping_thumbnail(p, model, &mut out, Some(&thumbnails)).expect("decodes");
    };
    // Best of three, alternating, each pass keeping into an emptied cache: on a shared
    // machine one run of each differs by more than what keeping costs.
    let (mut plain, mut kept) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        plain = plain.min(time(|| photos.par_iter().for_each(decode)));
        let _ = std::fs::remove_dir_all(thumbnails.dir());
        kept = kept.min(time(|| photos.par_iter().for_each(keeping)));
    }
    let files: Vec<u64> = std::fs::read_dir(thumbnails.dir())
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.metadata().ok()?.len()))
                .collect()
        })
        .unwrap_or_default();
    println!(
        "model pass over {} photos to 224, {cores} threads, best of 3: {plain:.3} s, keeping thumbnails {kept:.3} s ({:+.1}%); {} thumbnails, {:.1} KB each",
        photos.len(),
        100.0 * (kept - plain) / plain,
        files.len(),
        files.iter().sum::<u64>() as f64 / files.len().max(1) as f64 / 1000.0
    );
    assert_eq!(files.len(), photos.len(), "every photo keeps a thumbnail");
    let from_cache = |p: &PathBuf| {
        let thumbnail = thumbnails.open(p).expect("opens");
        assert!(thumbnail.width().max(thumbnail.height()) <= THUMB_SIDE);
    };
    let parallel = time(|| page.par_iter().for_each(from_cache));
    let one_thread = time(|| page.iter().for_each(from_cache));
    println!(
        "review page of {} thumbnails, from the thumbnail cache: {parallel:.3} s on {cores} threads, {one_thread:.3} s on 1",
        page.len()
    );
}

fn run_figures(photos: &[PathBuf], smalls: &[PathBuf]) {
    let model = DecodeSpec {
        channels: 3,
        size: MODEL_SIDE,
    };
    figure("photo: full decode (image/zune-jpeg, today)", photos, |p| {
        drop(full_decode(p))
    });
    figure("photo: DCT-scaled decode for the model", photos, |p| {
        drop(open_image(p, MinSize::ShorterSide(MODEL_CROP_SOURCE)).expect("decodes"))
    });
    figure("photo: full decode + resize to 224 (today)", photos, |p| {
        drop(model_input_today(p))
    });
    figure("photo: decode_file to 224 (scaled decode)", photos, |p| {
        let mut out = vec![0; model.item_len()];
        decode_file(p, model, &mut out).expect("decodes");
    });
    figure("photo: full decode + 256 thumbnail (today)", photos, |p| {
        drop(full_decode(p).resize(THUMB_SIDE, THUMB_SIDE, FilterType::Triangle))
    });
    figure("photo: scaled decode + 256 thumbnail", photos, |p| {
        drop(thumbnail(p))
    });
    figure("photo: full decode + 1600 display (today)", photos, |p| {
        drop(full_decode(p).resize(DISPLAY_SIDE, DISPLAY_SIDE, FilterType::Triangle))
    });
    figure("photo: scaled decode + 1600 display", photos, |p| {
        let image = open_image(p, MinSize::LongerSide(DISPLAY_SIDE)).expect("decodes");
        drop(image.resize(DISPLAY_SIDE, DISPLAY_SIDE, FilterType::Triangle))
    });
    let small = DecodeSpec {
        channels: 3,
        size: 32,
    };
    figure("32x32: decode_file to 32 (images/s)", smalls, |p| {
        let mut out = vec![0; small.item_len()];
        decode_file(p, small, &mut out).expect("decodes");
    });
}

fn full_decode(path: &Path) -> DynamicImage {
    let bytes = std::fs::read(path).expect("readable");
    image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).expect("decodes")
}

/// Today's model input: the whole photo decoded, its central crop resized to 224.
fn model_input_today(path: &Path) -> DynamicImage {
    let image = full_decode(path);
    let side = (f64::from(image.width().min(image.height())) * 224.0 / 256.0).round() as u32;
    image
        .crop_imm(
            (image.width() - side) / 2,
            (image.height() - side) / 2,
            side,
            side,
        )
        .resize_exact(MODEL_SIDE, MODEL_SIDE, FilterType::Triangle)
}

fn thumbnail(path: &Path) -> DynamicImage {
    open_image(path, MinSize::LongerSide(THUMB_SIDE))
        .expect("decodes")
        .resize(THUMB_SIDE, THUMB_SIDE, FilterType::Triangle)
}

fn time(work: impl FnOnce()) -> f64 {
    let start = Instant::now();
    work();
    start.elapsed().as_secs_f64()
}

/// Runs `work` on every file with rayon (the current pool) and prints files per second.
fn figure(label: &str, files: &[PathBuf], work: impl Fn(&Path) + Sync) {
    let secs = time(|| files.par_iter().for_each(|p| work(p)));
    println!(
        "{label:<48} {:>8.1} photos/s  ({secs:.2} s for {})",
        files.len() as f64 / secs,
        files.len()
    );
}

fn make_photos(dir: &Path, n: usize) -> (Vec<PathBuf>, &'static str) {
    let mut sources: Vec<PathBuf> = std::fs::read_dir("/work/shared/datasets/imagenet-dogs")
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    sources.sort();
    let origin = if sources.is_empty() {
        "a synthetic gradient with noise"
    } else {
        "the shared dog photos, upscaled"
    };
    let paths: Vec<PathBuf> = (0..n)
        .map(|i| dir.join(format!("photo{i:03}.jpg")))
        .collect();
    paths.par_iter().enumerate().for_each(|(i, path)| {
        let source = sources
            .get(i % sources.len().max(1))
            .and_then(|p| image::open(p).ok());
        let photo = match source {
            Some(image) => image.resize_exact(PHOTO_W, PHOTO_H, FilterType::Triangle),
            None => synthetic(PHOTO_W, PHOTO_H, i as u32),
        };
        let mut bytes = Vec::new();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
        photo
            .to_rgb8()
            .write_with_encoder(encoder)
            .expect("encodes");
        std::fs::write(path, bytes).expect("writes");
    });
    (paths, origin)
}

fn synthetic(w: u32, h: u32, seed: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed) >> 27;
        image::Rgb([
            (x * 255 / w) as u8 ^ noise as u8,
            (y * 255 / h) as u8,
            ((x + y + seed) % 256) as u8,
        ])
    }))
}

fn make_small(dir: &Path, n: usize) -> Vec<PathBuf> {
    let cifar = Path::new("/work/shared/datasets/cifar10-test");
    let mut found: Vec<PathBuf> = walk_files(cifar).into_iter().take(n).collect();
    found.sort();
    (0..n)
        .map(|i| {
            let path = dir.join(format!("small{i:03}.jpg"));
            match found.get(i) {
                Some(source) => {
                    std::fs::copy(source, &path).expect("copies");
                }
                None => {
                    let mut bytes = Vec::new();
                    let encoder =
                        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
                    synthetic(32, 32, i as u32)
                        .to_rgb8()
                        .write_with_encoder(encoder)
                        .expect("encodes");
                    std::fs::write(&path, bytes).expect("writes");
                }
            }
            path
        })
        .collect()
}

fn walk_files(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk_files(&path).into_iter().take(10));
        } else {
            files.push(path);
        }
    }
    files
}
