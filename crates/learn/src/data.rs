//! The pixels a learner works on, as plain bytes: the pool and the labeled test split,
//! each `n × channels × size × size` u8 (CHW per item), as the dataset module decodes them.
//! A learner over backbone features it was handed needs no pixels: its data is then
//! `undecoded`, counts and labels only.

use std::sync::Arc;

use super::LearnError;

#[derive(Debug, Clone)]
pub struct LearnData {
    pub channels: usize,
    pub size: usize,
    /// Number of classes the model predicts.
    pub classes: usize,
    /// Empty when `undecoded`.
    pub pool: Arc<Vec<u8>>,
    pub test: Arc<Vec<u8>>,
    pool_len: usize,
    decoded: bool,
    /// One label per test item (accuracy is measured on these).
    pub test_labels: Vec<u16>,
    /// Names these exact pixels (pool fingerprint and decode shape), so what is derived
    /// from them (backbone features, graph) can be cached; None: never cached.
    pub cache_key: Option<String>,
}

impl LearnData {
    /// Checks that the buffers and labels agree with the shape and class count.
    pub fn new(
        channels: usize,
        size: usize,
        classes: usize,
        pool: Arc<Vec<u8>>,
        test: Arc<Vec<u8>>,
        test_labels: Vec<u16>,
    ) -> Result<Self, LearnError> {
        let item = channels * size * size;
        if item == 0 || classes < 2 {
            return Err(LearnError::Data(format!(
                "need at least 1 channel, a size above 0 and 2 classes (got {channels}×{size}×{size}, {classes} classes)"
            )));
        }
        if !pool.len().is_multiple_of(item) || !test.len().is_multiple_of(item) {
            return Err(LearnError::Data(format!(
                "pixel buffers are not a whole number of {channels}×{size}×{size} images"
            )));
        }
        if test.len() / item != test_labels.len() {
            return Err(LearnError::Data(format!(
                "{} test images but {} test labels",
                test.len() / item,
                test_labels.len()
            )));
        }
        if let Some(&bad) = test_labels.iter().find(|&&l| l as usize >= classes) {
            return Err(LearnError::Data(format!(
                "test label {bad} is not below the {classes} classes"
            )));
        }
        if pool.is_empty() {
            return Err(LearnError::Data("the pool has no images".into()));
        }
        Ok(Self {
            channels,
            size,
            classes,
            pool_len: pool.len() / item,
            pool,
            test,
            decoded: true,
            test_labels,
            cache_key: None,
        })
    }

    /// Data whose pixels were not decoded: `pool_len` pool items and the test labels,
    /// for a learner that is given the backbone's features of them.
    pub fn undecoded(
        channels: usize,
        size: usize,
        classes: usize,
        pool_len: usize,
        test_labels: Vec<u16>,
    ) -> Result<Self, LearnError> {
        let mut data = Self::new(
            channels,
            size,
            classes,
            Arc::new(vec![0; channels * size * size]),
            Arc::new(Vec::new()),
            Vec::new(),
        )?;
        if pool_len == 0 {
            return Err(LearnError::Data("the pool has no images".into()));
        }
        if let Some(&bad) = test_labels.iter().find(|&&l| l as usize >= classes) {
            return Err(LearnError::Data(format!(
                "test label {bad} is not below the {classes} classes"
            )));
        }
        data.pool = Arc::new(Vec::new());
        data.pool_len = pool_len;
        data.test_labels = test_labels;
        data.decoded = false;
        Ok(data)
    }

    /// The pool and test pixels; an error for `undecoded` data.
    pub fn pixels(&self) -> Result<[&Arc<Vec<u8>>; 2], LearnError> {
        if self.decoded {
            Ok([&self.pool, &self.test])
        } else {
            Err(LearnError::Data(
                "this learner was given features, not pixels: it cannot train on pixels".into(),
            ))
        }
    }

    /// The labels of `pool`'s test split; every test item must have one.
    pub fn test_labels_of(pool: &glean_dataset::Pool) -> Result<Vec<u16>, LearnError> {
        pool.test
            .iter()
            .map(|item| {
                item.label.ok_or_else(|| {
                    LearnError::Data(format!(
                        "test item {} has no label to measure accuracy with",
                        item.id
                    ))
                })
            })
            .collect()
    }

    /// The cache key of a scanned pool decoded at `spec`: what is derived from its
    /// pixels is cached under it.
    pub fn cache_key_of(pool: &glean_dataset::Pool, spec: glean_dataset::DecodeSpec) -> String {
        format!(
            "{}-{}x{}-d{}",
            pool.fingerprint,
            spec.channels,
            spec.size,
            glean_dataset::DECODE_VERSION
        )
    }

    /// The pool and test pixels of a loaded data set. Test items must all be labeled.
    pub fn from_loaded(loaded: &glean_dataset::Loaded) -> Result<Self, LearnError> {
        let spec = loaded.spec();
        let test_labels = Self::test_labels_of(&loaded.pool)?;
        let mut data = Self::new(
            spec.channels as usize,
            spec.size as usize,
            loaded.pool.classes.len(),
            Arc::new(loaded.pool_pixels.data.clone()),
            Arc::new(loaded.test_pixels.data.clone()),
            test_labels,
        )?;
        data.cache_key = Some(Self::cache_key_of(&loaded.pool, spec));
        Ok(data)
    }

    /// Bytes per image.
    pub fn item_len(&self) -> usize {
        self.channels * self.size * self.size
    }

    pub fn pool_len(&self) -> usize {
        self.pool_len
    }

    pub fn test_len(&self) -> usize {
        self.test_labels.len()
    }

    /// Model-free features for the cold start: each image average-pooled in square
    /// blocks (2×2 for digits and CIFAR-sized images, wider for photos so that no side
    /// passes `COLD_START_SIDE`: most of the shape, and a width that k-means and a
    /// PCA can hold for any pool) and scaled to [0, 1]. Returns `(features, dim)`.
    pub fn cold_start_features(&self) -> Result<(Vec<f32>, usize), LearnError> {
        let [pool, _] = self.pixels()?;
        let (c, s) = (self.channels, self.size);
        let block = s.div_ceil(COLD_START_SIDE).max(2);
        let side = s.div_ceil(block);
        let dim = c * side * side;
        let mut out = vec![0.0f32; self.pool_len() * dim];
        // Each pixel adds its share of a full block (edge blocks of odd sides come out
        // darker), in the order and arithmetic the 2×2 pooling always used.
        let share = 255.0 * (block * block) as f32;
        for (img, feat) in pool.chunks(self.item_len()).zip(out.chunks_mut(dim)) {
            for ch in 0..c {
                for y in 0..s {
                    for x in 0..s {
                        let v = img[ch * s * s + y * s + x] as f32 / share;
                        feat[ch * side * side + (y / block) * side + x / block] += v;
                    }
                }
            }
        }
        Ok((out, dim))
    }
}

/// Widest side of the cold start's pooled images (see `cold_start_features`).
const COLD_START_SIDE: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_mismatched_buffers() {
        let ok = LearnData::new(1, 2, 2, Arc::new(vec![0; 8]), Arc::new(vec![0; 4]), vec![1]);
        assert!(ok.is_ok());
        let e = LearnData::new(1, 2, 2, Arc::new(vec![0; 7]), Arc::new(vec![0; 4]), vec![1]);
        assert!(e.unwrap_err().to_string().contains("whole number"));
        let e = LearnData::new(1, 2, 2, Arc::new(vec![0; 8]), Arc::new(vec![0; 4]), vec![]);
        assert!(e.unwrap_err().to_string().contains("test labels"));
        let e = LearnData::new(1, 2, 2, Arc::new(vec![0; 8]), Arc::new(vec![0; 4]), vec![2]);
        assert!(e.unwrap_err().to_string().contains("below"));
    }

    #[test]
    fn undecoded_data_counts_items_but_has_no_pixels() {
        let d = LearnData::undecoded(3, 32, 4, 50, vec![0, 3]).unwrap();
        assert_eq!((d.pool_len(), d.test_len()), (50, 2));
        let e = d.pixels().unwrap_err();
        assert!(e.to_string().contains("not pixels"), "{e}");
        assert!(d.cold_start_features().is_err());
        assert!(LearnData::undecoded(3, 32, 4, 0, vec![]).is_err());
        assert!(LearnData::undecoded(3, 32, 4, 5, vec![4]).is_err());
    }

    #[test]
    fn cold_start_features_average_2x2_blocks() {
        // One 1×2×2 image: 0, 255, 255, 255 → one feature (0 + 3·255) / (4·255) = 0.75.
        let d = LearnData::new(
            1,
            2,
            2,
            Arc::new(vec![0, 255, 255, 255]),
            Arc::new(vec![]),
            vec![],
        )
        .unwrap();
        let (f, dim) = d.cold_start_features().unwrap();
        assert_eq!(dim, 1);
        assert!((f[0] - 0.75).abs() < 1e-6);
    }

    #[test]
    fn photo_cold_start_features_stay_small() {
        // A 3×224×224 photo pools in 7×7 blocks to 3×32×32; a white image stays white.
        let d = LearnData::new(
            3,
            224,
            2,
            Arc::new(vec![255; 3 * 224 * 224]),
            Arc::new(vec![]),
            vec![],
        )
        .unwrap();
        let (f, dim) = d.cold_start_features().unwrap();
        assert_eq!(dim, 3 * 32 * 32);
        assert!(f.iter().all(|v| (v - 1.0).abs() < 1e-4), "{:?}", &f[..4]);
        // MNIST's 28×28 keeps its 2×2 blocks: 14×14.
        let digits =
            LearnData::new(1, 28, 2, Arc::new(vec![0; 784]), Arc::new(vec![]), vec![]).unwrap();
        assert_eq!(digits.cold_start_features().unwrap().1, 14 * 14);
    }
}
