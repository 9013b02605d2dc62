//! Small copies of large images for the review grid, kept in `cache_dir/thumbnails/`:
//! decoding a phone photo's entropy-coded data takes ~20 ms even at 1/8 DCT scale, so a
//! 60-image page would take a second; its thumbnails read back in a few milliseconds.
//!
//! One file per image, named by a hash of the image file's canonical path, size and
//! modification time (a changed file gets a new name, so a stale thumbnail is never
//! read) and of the versions below. It holds MAGIC, the u64 (little-endian) xxh3 of
//! the rest, and the upright image shrunk to at most [`THUMB_SIDE`] on its longer side
//! as a JPEG. The cache is an optimisation: a missing, torn or corrupt file is a miss,
//! and a failed write is logged and forgotten.
//!
//! The model's decode writes the thumbnails as it goes ([`crate::decode_file_keeping_thumbnail`]),
//! from the image it decoded anyway, so a photo is not decoded twice.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use super::open::{open_image, MinSize};
use super::SkipReason;

/// The longer side of a review grid's thumbnail: a cell of the grid shows less.
pub const THUMB_SIDE: u32 = 256;

const MAGIC: &[u8; 8] = b"GLNTHMB\n";
/// Bump when the file layout or the way thumbnails are made changes (the decoder's
/// own version is in the key too).
const FORMAT_VERSION: u32 = 1;
/// Enough for a thumbnail to look like its photo, small enough to stay a few KB.
const JPEG_QUALITY: u8 = 85;
/// Image files at least this large get a thumbnail: decoding them costs more than
/// reading one back.
const WORTH_BYTES: u64 = 200_000;
/// …and so do images decoded with a side over this many pixels however well they
/// compress (a large flat PNG). A JPEG decoded at a reduced scale may come out smaller
/// than its header says, but one under `WORTH_BYTES` also decodes fast at that scale.
const WORTH_SIDE: u32 = 1024;

/// The thumbnails in one cache folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailCache {
    dir: PathBuf,
}

/// The thumbnail file of one image file as it is now, and the image file's size.
struct Entry {
    file: PathBuf,
    bytes: u64,
}

impl ThumbnailCache {
    /// The thumbnails of glean's cache folder `cache_dir` (in its `thumbnails/`).
    pub fn new(cache_dir: &Path) -> Self {
        ThumbnailCache {
            dir: cache_dir.join("thumbnails"),
        }
    }

    /// The folder holding the thumbnail files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the thumbnail of the image file at `path`, as the file is now, is kept
    /// (whether or not it exists); None when the file cannot be looked at.
    pub fn file_for(&self, path: &Path) -> Option<PathBuf> {
        self.entry(path).map(|e| e.file)
    }

    fn entry(&self, path: &Path) -> Option<Entry> {
        let canonical = path.canonicalize().ok()?;
        let meta = std::fs::metadata(&canonical).ok()?;
        let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        let mut key = Vec::with_capacity(64 + canonical.as_os_str().len());
        key.extend(FORMAT_VERSION.to_le_bytes());
        key.extend(super::DECODE_VERSION.to_le_bytes());
        key.extend(THUMB_SIDE.to_le_bytes());
        key.extend(meta.len().to_le_bytes());
        key.extend(mtime.as_nanos().to_le_bytes());
        key.extend(canonical.as_os_str().as_encoded_bytes());
        Some(Entry {
            file: self.dir.join(format!("{:032x}.thumb", xxh3_128(&key))),
            bytes: meta.len(),
        })
    }

    /// The kept thumbnail of the image file at `path`, when there is a sound one for
    /// the file as it is now.
    pub fn get(&self, path: &Path) -> Option<DynamicImage> {
        read(&self.entry(path)?.file)
    }

    /// The thumbnail of the image file at `path`, upright and at most [`THUMB_SIDE`] on
    /// its longer side: the kept one, or else the file opened, shrunk and (when it is
    /// worth it) kept for next time.
    pub fn open(&self, path: &Path) -> Result<DynamicImage, SkipReason> {
        let entry = self.entry(path);
        if let Some(thumbnail) = entry.as_ref().and_then(|e| read(&e.file)) {
            return Ok(thumbnail);
        }
        let image = open_image(path, MinSize::LongerSide(THUMB_SIDE))?;
        let thumbnail = shrink(&image);
        if let Some(entry) = entry {
            if worth_keeping(entry.bytes, &image) {
                write(&entry.file, &thumbnail);
            }
        }
        Ok(thumbnail)
    }

    /// The entry for `path` when it has no thumbnail yet (the caller will decode it
    /// and may [`ThumbnailCache::keep`] one); None when one is there or the file
    /// cannot be looked at. Looked up before decoding, so a file changed meanwhile
    /// leaves a thumbnail under its old name, which nothing reads.
    pub(crate) fn missing(&self, path: &Path) -> Option<PendingThumbnail> {
        let entry = self.entry(path)?;
        (!entry.file.exists()).then_some(PendingThumbnail(entry))
    }
}

/// An image file without a thumbnail, about to be decoded.
pub(crate) struct PendingThumbnail(Entry);

impl PendingThumbnail {
    /// Keeps a thumbnail of `image` (the file opened upright, at least
    /// [`THUMB_SIDE`] on its longer side unless the file is smaller) when the image is
    /// worth one.
    pub(crate) fn keep(self, image: &DynamicImage) {
        if image.width().max(image.height()) >= THUMB_SIDE && worth_keeping(self.0.bytes, image) {
            write(&self.0.file, &shrink(image));
        }
    }
}

/// Whether an image of a `bytes` long file, opened as `image` (a lower bound on its
/// size), is worth a thumbnail: a large one, without transparency (JPEG has none).
fn worth_keeping(bytes: u64, image: &DynamicImage) -> bool {
    let large = bytes >= WORTH_BYTES || image.width().max(image.height()) > WORTH_SIDE;
    large && !image.color().has_alpha()
}

/// `image` shrunk to fit a `side` square, as the screen shows it; None when it fits
/// already (the caller keeps its own, with no copy).
pub fn fit_within(image: &DynamicImage, side: u32) -> Option<DynamicImage> {
    (image.width() > side || image.height() > side)
        .then(|| image.resize(side, side, FilterType::Triangle))
}

/// `image` fitted in a `THUMB_SIDE` square.
fn shrink(image: &DynamicImage) -> DynamicImage {
    fit_within(image, THUMB_SIDE).unwrap_or_else(|| image.clone())
}

/// The thumbnail in `file`; None when it is missing, torn or corrupt.
fn read(file: &Path) -> Option<DynamicImage> {
    let bytes = std::fs::read(file).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let (sum, jpeg) = rest.split_at_checked(8)?;
    if u64::from_le_bytes(sum.try_into().ok()?) != xxh3_64(jpeg) {
        tracing::debug!(path = %file.display(), "a corrupt thumbnail: made anew");
        return None;
    }
    let image = image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).ok()?;
    let (w, h) = (image.width(), image.height());
    (w > 0 && h > 0 && w.max(h) <= THUMB_SIDE).then_some(image)
}

/// Writes `thumbnail` to `file` atomically (a temporary file renamed over it); a
/// failure is logged at debug and otherwise ignored.
fn write(file: &Path, thumbnail: &DynamicImage) {
    if let Err(e) = try_write(file, thumbnail) {
        tracing::debug!(path = %file.display(), error = %e, "could not keep a thumbnail");
    }
}

fn try_write(file: &Path, thumbnail: &DynamicImage) -> std::io::Result<()> {
    let pixels = match thumbnail {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => {
            DynamicImage::ImageLuma8(thumbnail.to_luma8())
        }
        _ => DynamicImage::ImageRgb8(thumbnail.to_rgb8()),
    };
    let mut jpeg = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), JPEG_QUALITY);
    pixels
        .write_with_encoder(encoder)
        .map_err(std::io::Error::other)?;
    glean_core::files::replace_file(file, glean_core::files::Durability::Cached, |tmp| {
        let mut tmp = std::fs::File::create(tmp)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(&xxh3_64(&jpeg).to_le_bytes())?;
        tmp.write_all(&jpeg)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_file_keeping_thumbnail, DecodeSpec};
    use glean_test_support::{jpeg, png, with_exif_orientation};

    const MODEL: DecodeSpec = DecodeSpec {
        channels: 3,
        size: 224,
    };

    /// A `w`×`h` photo, left half red and right half blue, with noise so that it
    /// compresses as badly as a photo does.
    fn photo(w: u32, h: u32, seed: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            let noise =
                ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed) >> 26) as u8;
            image::Rgb(if x < w / 2 {
                [200 + noise / 2, noise, noise]
            } else {
                [noise, noise, 200 + noise / 2]
            })
        }))
    }

    /// A large photo stored sideways (EXIF orientation 6): upright, red on top.
    fn write_sideways_photo(path: &Path) {
        let bytes = with_exif_orientation(&jpeg(&photo(2048, 1024, 1), 90), 6);
        assert!(bytes.len() as u64 >= WORTH_BYTES, "{} bytes", bytes.len());
        std::fs::write(path, bytes).unwrap();
    }

    fn assert_red_above_blue(image: &DynamicImage) {
        let rgb = image.to_rgb8();
        let (w, h) = rgb.dimensions();
        let (top, bottom) = (rgb.get_pixel(w / 2, h / 4), rgb.get_pixel(w / 2, 3 * h / 4));
        assert!(top[0] > 150 && top[2] < 100, "top {top:?}");
        assert!(bottom[2] > 150 && bottom[0] < 100, "bottom {bottom:?}");
    }

    fn decode_for_model(path: &Path, thumbnails: &ThumbnailCache) {
        let mut out = vec![0; MODEL.item_len()];
        decode_file_keeping_thumbnail(path, MODEL, &mut out, Some(thumbnails)).unwrap();
    }

    fn files_in(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_models_decode_leaves_an_upright_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sideways.jpg");
        write_sideways_photo(&path);
        let thumbnails = ThumbnailCache::new(&dir.path().join("cache"));
        assert!(thumbnails.get(&path).is_none());
        decode_for_model(&path, &thumbnails);
        let file = thumbnails.file_for(&path).unwrap();
        let kept = std::fs::metadata(&file).unwrap().len();
        assert!(kept < 30_000, "a thumbnail of {kept} bytes");
        let thumbnail = thumbnails.get(&path).expect("kept");
        assert_eq!((thumbnail.width(), thumbnail.height()), (128, 256));
        assert_red_above_blue(&thumbnail);
        // Opening it reads the kept one back: the same pixels.
        let opened = thumbnails.open(&path).unwrap();
        assert!(
            opened.to_rgb8() == thumbnail.to_rgb8(),
            "not the kept pixels"
        );
        assert_eq!(files_in(thumbnails.dir()), [file]);
    }

    #[test]
    fn a_changed_file_misses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.jpg");
        write_sideways_photo(&path);
        let thumbnails = ThumbnailCache::new(dir.path());
        decode_for_model(&path, &thumbnails);
        let first = thumbnails.file_for(&path).unwrap();
        assert!(thumbnails.get(&path).is_some());

        // Touched: the same bytes, another modification time.
        let touched = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(touched)
            .unwrap();
        assert_ne!(thumbnails.file_for(&path).unwrap(), first);
        assert!(thumbnails.get(&path).is_none());

        // Replaced by another photo (another size): its own thumbnail, blue on top.
        let flipped = photo(2048, 1024, 2).rotate270();
        std::fs::write(&path, jpeg(&flipped, 80)).unwrap();
        assert!(thumbnails.get(&path).is_none());
        let opened = thumbnails.open(&path).unwrap();
        assert_eq!((opened.width(), opened.height()), (128, 256));
        assert_red_above_blue(&opened.rotate180());
        let kept = thumbnails.get(&path).expect("kept for next time");
        assert_red_above_blue(&kept.rotate180());
    }

    #[test]
    fn a_corrupt_or_torn_thumbnail_is_a_miss_and_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.jpg");
        write_sideways_photo(&path);
        let thumbnails = ThumbnailCache::new(dir.path());
        decode_for_model(&path, &thumbnails);
        let file = thumbnails.file_for(&path).unwrap();
        let sound = std::fs::read(&file).unwrap();

        let mut flipped = sound.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x55;
        let torn = sound[..sound.len() / 2].to_vec();
        for bad in [flipped, torn, b"GLNTHMB\n".to_vec(), Vec::new()] {
            std::fs::write(&file, &bad).unwrap();
            assert!(thumbnails.get(&path).is_none());
            let opened = thumbnails.open(&path).expect("a bad thumbnail is no error");
            assert_eq!((opened.width(), opened.height()), (128, 256));
            assert_red_above_blue(&opened);
            let rewritten = thumbnails.get(&path).expect("rewritten");
            assert_red_above_blue(&rewritten);
        }
        // The model's decode leaves a sound thumbnail alone and mends nothing else.
        let before = std::fs::read(&file).unwrap();
        decode_for_model(&path, &thumbnails);
        assert_eq!(std::fs::read(&file).unwrap(), before);
        assert_eq!(files_in(thumbnails.dir()), [file], "no temporary file left");
    }

    #[test]
    fn small_images_get_none_and_large_flat_ones_do() {
        let dir = tempfile::tempdir().unwrap();
        let thumbnails = ThumbnailCache::new(&dir.path().join("cache"));
        // CIFAR-size colour JPEG, MNIST-size gray PNG, a 600×400 photo-ish JPEG.
        let cifar = dir.path().join("cifar.jpg");
        std::fs::write(&cifar, jpeg(&photo(32, 32, 3), 90)).unwrap();
        let mnist = dir.path().join("digit.png");
        std::fs::write(&mnist, png(28, 200)).unwrap();
        let small_photo = dir.path().join("small.jpg");
        std::fs::write(&small_photo, jpeg(&photo(600, 400, 4), 75)).unwrap();
        for path in [&cifar, &mnist, &small_photo] {
            let mut out = vec![0; MODEL.item_len()];
            decode_file_keeping_thumbnail(path, MODEL, &mut out, Some(&thumbnails)).unwrap();
            let opened = thumbnails.open(path).unwrap();
            assert!(opened.width().max(opened.height()) <= THUMB_SIDE);
        }
        assert_eq!(files_in(thumbnails.dir()), Vec::<PathBuf>::new());

        // A flat 2000×500 PNG is a few KB, but decoding it costs its pixels.
        let banner = dir.path().join("banner.png");
        let flat =
            DynamicImage::ImageLuma8(image::GrayImage::from_pixel(2000, 500, image::Luma([90])));
        flat.save_with_format(&banner, ImageFormat::Png).unwrap();
        assert!(std::fs::metadata(&banner).unwrap().len() < WORTH_BYTES);
        let opened = thumbnails.open(&banner).unwrap();
        assert_eq!((opened.width(), opened.height()), (256, 64));
        let kept = thumbnails.get(&banner).expect("kept");
        assert_eq!(kept.color(), image::ColorType::L8, "gray stays gray");
        assert_eq!(files_in(thumbnails.dir()).len(), 1);
    }

    #[test]
    fn the_pools_pixel_decode_keeps_thumbnails_too() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        for class in ["cat", "dog"] {
            std::fs::create_dir_all(root.join(class)).unwrap();
        }
        let photo = root.join("cat/sideways.jpg");
        write_sideways_photo(&photo);
        let small = root.join("dog/small.png");
        std::fs::write(&small, png(28, 10)).unwrap();
        let cache = dir.path().join("cache");
        // The pixel learner's small input: a 1/8-scale decode still covers a thumbnail.
        let spec = DecodeSpec {
            channels: 3,
            size: 32,
        };
        let loaded = crate::load(&root, &Default::default(), Some(spec), &cache).unwrap();
        assert_eq!(loaded.pool.items.len(), 2);
        let thumbnails = ThumbnailCache::new(&cache);
        let thumbnail = thumbnails.get(&photo).expect("kept by the decode");
        assert_eq!((thumbnail.width(), thumbnail.height()), (128, 256));
        assert_red_above_blue(&thumbnail);
        assert_eq!(
            files_in(thumbnails.dir()),
            [thumbnails.file_for(&photo).unwrap()]
        );
    }

    #[test]
    fn an_unwritable_cache_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.jpg");
        write_sideways_photo(&path);
        // The cache folder's place is taken by a file: nothing can be written there.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        let thumbnails = ThumbnailCache::new(&blocked);
        decode_for_model(&path, &thumbnails);
        let opened = thumbnails.open(&path).unwrap();
        assert_red_above_blue(&opened);
        assert!(thumbnails.get(&path).is_none());
    }
}
