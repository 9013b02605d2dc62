//! Writing MNIST IDX digits out as PNG split/class folders (`out/train/<digit>/*.png`,
//! `out/test/<digit>/*.png`): the benchmark's data set and the bundled sample's source.

use std::path::Path;

use rayon::prelude::*;

use super::idx::{read_idx_images, read_idx_labels, IdxFiles};
use super::{display_path, DatasetError};

/// How many digits `write_idx_as_png` wrote per split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    pub train: usize,
    pub test: usize,
}

/// Writes the first `limit` (all when `None`) train and test digits of the IDX files in
/// `idx_dir` as grayscale PNGs named `<index>.png` (zero-padded) into
/// `out/train/<label>/` and `out/test/<label>/`.
pub fn write_idx_as_png(
    idx_dir: &Path,
    out: &Path,
    limit: Option<usize>,
) -> Result<Written, DatasetError> {
    let names: Vec<String> = std::fs::read_dir(idx_dir)
        .map_err(|e| DatasetError::io(idx_dir, e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let files = IdxFiles::find(idx_dir, names.iter().map(|s| s.as_str()));
    let missing = |what: &str| DatasetError::BadIdx {
        path: display_path(idx_dir),
        message: format!("no {what} file here"),
    };
    let mut written = Written::default();
    let splits = [
        ("train", &files.train_images, &files.train_labels),
        ("test", &files.test_images, &files.test_labels),
    ];
    for (split, images, labels) in splits {
        let images = read_idx_images(
            images
                .as_ref()
                .ok_or_else(|| missing(&format!("{split} images")))?,
        )?;
        let labels_path = labels
            .as_ref()
            .ok_or_else(|| missing(&format!("{split} labels")))?;
        let labels = read_idx_labels(labels_path)?;
        if labels.len() != images.count {
            return Err(DatasetError::BadIdx {
                path: display_path(labels_path),
                message: format!("{} labels for {} images", labels.len(), images.count),
            });
        }
        let n = limit.map_or(images.count, |l| l.min(images.count));
        let split_dir = out.join(split);
        let mut digits: Vec<u8> = labels[..n].to_vec();
        digits.sort_unstable();
        digits.dedup();
        for d in &digits {
            let dir = split_dir.join(d.to_string());
            std::fs::create_dir_all(&dir).map_err(|e| DatasetError::io(&dir, e))?;
        }
        (0..n).into_par_iter().try_for_each(|i| {
            let path = split_dir
                .join(labels[i].to_string())
                .join(format!("{i:05}.png"));
            image::save_buffer(
                &path,
                images.image(i),
                images.cols,
                images.rows,
                image::ExtendedColorType::L8,
            )
            .map_err(|e| DatasetError::Io {
                path: display_path(&path),
                source: std::io::Error::other(e),
            })
        })?;
        match split {
            "train" => written.train = n,
            _ => written.test = n,
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_class_folders_that_decode_back() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = tmp.path().join("idx");
        std::fs::create_dir(&idx).unwrap();
        super::super::idx::tests::write_idx(&idx, "train", 7, false);
        super::super::idx::tests::write_idx(&idx, "t10k", 4, true);
        let out = tmp.path().join("png");
        let written = write_idx_as_png(&idx, &out, Some(5)).unwrap();
        assert_eq!(written, Written { train: 5, test: 4 });
        // Image 4 has label 1 and every pixel 4.
        let img = image::open(out.join("train/1/00004.png"))
            .unwrap()
            .into_luma8();
        assert_eq!((img.width(), img.height()), (3, 2));
        assert!(img.as_raw().iter().all(|&p| p == 4));
        assert!(out.join("test/0/00003.png").exists());
        assert!(!out.join("train/2/00005.png").exists());
    }
}
