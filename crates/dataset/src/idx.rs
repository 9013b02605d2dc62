//! The IDX format of MNIST (`train-images-idx3-ubyte[.gz]` and friends): a big-endian
//! header with a magic number (0x00000803 images, 0x00000801 labels), counts and
//! dimensions, then raw u8 data. Plain or gzip-compressed.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{display_path, DatasetError};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
/// Refuse headers describing images larger than this a side (a corrupt header must not
/// make us allocate gigabytes).
const MAX_SIDE: u32 = 4096;
const MAX_COUNT: u32 = 50_000_000;

/// The images of an IDX file: `count` images of `rows`×`cols` u8 pixels, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: u32,
    pub cols: u32,
    pub data: Vec<u8>,
}

impl IdxImages {
    pub fn image(&self, i: usize) -> &[u8] {
        let n = (self.rows * self.cols) as usize;
        &self.data[i * n..(i + 1) * n]
    }
}

/// The header of an images file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImagesHeader {
    pub count: usize,
    pub rows: u32,
    pub cols: u32,
}

fn bad(path: &Path, message: impl Into<String>) -> DatasetError {
    DatasetError::BadIdx {
        path: display_path(path),
        message: message.into(),
    }
}

fn open(path: &Path) -> Result<Box<dyn Read>, DatasetError> {
    let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let reader = BufReader::with_capacity(1 << 20, file);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        Ok(Box::new(flate2::read::GzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

fn read_u32s<const N: usize>(path: &Path, r: &mut dyn Read) -> Result<[u32; N], DatasetError> {
    let mut out = [0u32; N];
    for v in out.iter_mut() {
        let mut b = [0u8; 4];
        r.read_exact(&mut b)
            .map_err(|e| bad(path, format!("header cut short ({e})")))?;
        *v = u32::from_be_bytes(b);
    }
    Ok(out)
}

fn images_header(path: &Path, r: &mut dyn Read) -> Result<ImagesHeader, DatasetError> {
    let [magic] = read_u32s::<1>(path, r)?;
    if magic != IMAGES_MAGIC {
        return Err(bad(
            path,
            format!("magic number {magic:#010x}, expected {IMAGES_MAGIC:#010x} (images)"),
        ));
    }
    let [count, rows, cols] = read_u32s::<3>(path, r)?;
    if rows == 0 || cols == 0 || rows > MAX_SIDE || cols > MAX_SIDE || count > MAX_COUNT {
        return Err(bad(
            path,
            format!("implausible header: {count} images of {rows}x{cols}"),
        ));
    }
    Ok(ImagesHeader {
        count: count as usize,
        rows,
        cols,
    })
}

/// Reads only the header of an images file (cheap, also through gzip).
pub(crate) fn read_images_header(path: &Path) -> Result<ImagesHeader, DatasetError> {
    let mut r = open(path)?;
    let header = images_header(path, &mut *r)?;
    // A plain file's size must match its header exactly.
    if !is_gz(path) {
        let size = std::fs::metadata(path)
            .map_err(|e| DatasetError::io(path, e))?
            .len();
        let want = 16 + header.count as u64 * header.rows as u64 * header.cols as u64;
        if size != want {
            return Err(bad(path, format!("{size} bytes, header says {want}")));
        }
    }
    Ok(header)
}

fn is_gz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Reads a whole images file.
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DatasetError> {
    let mut r = open(path)?;
    let h = images_header(path, &mut *r)?;
    let len = h.count * (h.rows * h.cols) as usize;
    let mut data = Vec::new();
    r.take(len as u64)
        .read_to_end(&mut data)
        .map_err(|e| bad(path, format!("reading pixels: {e}")))?;
    if data.len() != len {
        return Err(bad(
            path,
            format!("truncated: {} of {len} pixel bytes", data.len()),
        ));
    }
    Ok(IdxImages {
        count: h.count,
        rows: h.rows,
        cols: h.cols,
        data,
    })
}

/// Reads a whole labels file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DatasetError> {
    let mut r = open(path)?;
    let [magic, count] = read_u32s::<2>(path, &mut *r)?;
    if magic != LABELS_MAGIC {
        return Err(bad(
            path,
            format!("magic number {magic:#010x}, expected {LABELS_MAGIC:#010x} (labels)"),
        ));
    }
    if count > MAX_COUNT {
        return Err(bad(path, format!("implausible header: {count} labels")));
    }
    let mut labels = Vec::with_capacity(count as usize);
    r.take(count as u64)
        .read_to_end(&mut labels)
        .map_err(|e| bad(path, format!("reading labels: {e}")))?;
    if labels.len() != count as usize {
        return Err(bad(
            path,
            format!("truncated: {} of {count} labels", labels.len()),
        ));
    }
    Ok(labels)
}

/// The IDX files of one folder: `train-images-idx3-ubyte`, `t10k-labels.idx1-ubyte.gz`…
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct IdxFiles {
    pub train_images: Option<PathBuf>,
    pub train_labels: Option<PathBuf>,
    pub test_images: Option<PathBuf>,
    pub test_labels: Option<PathBuf>,
}

impl IdxFiles {
    /// Files in `names` (of folder `dir`) that follow the MNIST naming; a plain file wins
    /// over its `.gz` twin.
    pub fn find<'a>(dir: &Path, names: impl Iterator<Item = &'a str>) -> IdxFiles {
        #[allow(clippy::expect_used, reason = "a fixed pattern, tested")]
        let re =
            regex::Regex::new(r"^(train|t10k|test)-(images|labels)[.-]idx([13])-ubyte(\.gz)?$")
                .expect("static regex");
        let mut found = IdxFiles::default();
        for name in names {
            let Some(c) = re.captures(name) else { continue };
            let is_images = &c[2] == "images";
            if is_images != (&c[3] == "3") {
                continue;
            }
            let slot = match (&c[1], is_images) {
                ("train", true) => &mut found.train_images,
                ("train", false) => &mut found.train_labels,
                (_, true) => &mut found.test_images,
                (_, false) => &mut found.test_labels,
            };
            let path = dir.join(name);
            let replace = match slot {
                None => true,
                Some(old) => is_gz(old) && !is_gz(&path),
            };
            if replace {
                *slot = Some(path);
            }
        }
        found
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Writes a tiny IDX pair: `n` images of 2×3, pixel = image index, labels i % 3.
    pub(crate) fn write_idx(dir: &Path, prefix: &str, n: u32, gz: bool) {
        let mut images = Vec::new();
        for v in [IMAGES_MAGIC, n, 2, 3] {
            images.extend(v.to_be_bytes());
        }
        for i in 0..n {
            images.extend(std::iter::repeat_n(i as u8, 6));
        }
        let mut labels = Vec::new();
        for v in [LABELS_MAGIC, n] {
            labels.extend(v.to_be_bytes());
        }
        labels.extend((0..n).map(|i| (i % 3) as u8));
        for (kind, bytes) in [("images-idx3", images), ("labels-idx1", labels)] {
            let name = format!("{prefix}-{kind}-ubyte");
            if gz {
                let f = File::create(dir.join(format!("{name}.gz"))).unwrap();
                let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
                enc.write_all(&bytes).unwrap();
                enc.finish().unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }

    #[test]
    fn reads_plain_and_gz() {
        for gz in [false, true] {
            let tmp = tempfile::tempdir().unwrap();
            write_idx(tmp.path(), "train", 5, gz);
            let names: Vec<String> = std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            let files = IdxFiles::find(tmp.path(), names.iter().map(|s| s.as_str()));
            let img_path = files.train_images.unwrap();
            let h = read_images_header(&img_path).unwrap();
            assert_eq!((h.count, h.rows, h.cols), (5, 2, 3));
            let images = read_idx_images(&img_path).unwrap();
            assert_eq!(images.image(4), &[4; 6]);
            let labels = read_idx_labels(&files.train_labels.unwrap()).unwrap();
            assert_eq!(labels, [0, 1, 2, 0, 1]);
        }
    }

    #[test]
    fn rejects_bad_magic_and_truncation() {
        let tmp = tempfile::tempdir().unwrap();
        write_idx(tmp.path(), "train", 5, false);
        let img = tmp.path().join("train-images-idx3-ubyte");
        let lab = tmp.path().join("train-labels-idx1-ubyte");
        // Labels file given as images: wrong magic.
        let err = read_images_header(&lab).unwrap_err().to_string();
        assert!(err.contains("magic number 0x00000801"), "{err}");
        let bytes = std::fs::read(&img).unwrap();
        std::fs::write(&img, &bytes[..bytes.len() - 1]).unwrap();
        let err = read_images_header(&img).unwrap_err().to_string();
        assert!(err.contains("header says"), "{err}");
        assert!(read_idx_images(&img)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        std::fs::write(&img, &bytes[..7]).unwrap();
        assert!(read_idx_images(&img)
            .unwrap_err()
            .to_string()
            .contains("cut short"));
    }

    #[test]
    fn finds_variant_names_preferring_plain() {
        let names = [
            "train-images-idx3-ubyte.gz",
            "train-images-idx3-ubyte",
            "t10k-labels.idx1-ubyte",
            "train-labels-idx3-ubyte",
            "readme.txt",
        ];
        let f = IdxFiles::find(Path::new("/d"), names.into_iter());
        assert_eq!(
            f.train_images,
            Some(PathBuf::from("/d/train-images-idx3-ubyte"))
        );
        assert_eq!(
            f.test_labels,
            Some(PathBuf::from("/d/t10k-labels.idx1-ubyte"))
        );
        assert_eq!(f.train_labels, None);
        assert_eq!(f.test_images, None);
    }
}
