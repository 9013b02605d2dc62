//! What the trained model reads, for pool and test items alike: raw pixels (u8, scaled
//! and standardised per batch, augmented while training) for the CNN, or a frozen
//! backbone's features (standardised once) for the head.

use tch::{Kind, Tensor};

/// Pixel scaling shared by training and inference: u8 → [0, 1] → standardised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalise {
    pub mean: f64,
    pub std: f64,
}

impl Normalise {
    /// Mean and standard deviation of a u8 image tensor, from an evenly strided sample
    /// of at most about 5,000 images (pools are often sorted by class).
    pub fn of(pixels: &Tensor) -> Normalise {
        let n = pixels.size()[0];
        let step = (n / 5000).max(1);
        let sample = pixels.slice(0, 0, n, step).to_kind(Kind::Float) / 255.0;
        let mean = sample.mean(Kind::Float).double_value(&[]);
        let std = sample.std(true).double_value(&[]).max(1e-3);
        Normalise { mean, std }
    }

    pub fn unit(&self, pixels: &Tensor) -> Tensor {
        pixels.to_kind(Kind::Float) / 255.0
    }

    pub fn standardise(&self, unit: &Tensor) -> Tensor {
        (unit - self.mean) / self.std
    }

    pub fn apply(&self, pixels: &Tensor) -> Tensor {
        self.standardise(&self.unit(pixels))
    }
}

/// Random affine warp of a `[0, 1]` batch: rotation ±12°, scale 0.9–1.1, shift ±8 %.
/// Padding is zero (black), which suits digits on a dark background.
pub fn augment(unit: &Tensor) -> Tensor {
    crate::torch_rng::expect_held("augmentation");
    let b = unit.size()[0];
    let opts = (Kind::Float, unit.device());
    let angle = (Tensor::rand([b], opts) * 2.0 - 1.0) * 12f64.to_radians();
    let scale = Tensor::rand([b], opts) * 0.2 + 0.9;
    let shift = (Tensor::rand([b, 2], opts) * 2.0 - 1.0) * 0.16;
    let (cos, sin) = (angle.cos() / &scale, angle.sin() / &scale);
    let theta = Tensor::stack(
        &[
            &cos,
            &(-&sin),
            &shift.select(1, 0),
            &sin,
            &cos,
            &shift.select(1, 1),
        ],
        1,
    )
    .view([b, 2, 3]);
    let grid = Tensor::affine_grid_generator(&theta, unit.size(), false);
    // Bilinear (0) sampling with zero (0) padding.
    unit.grid_sampler(&grid, 0, 0, false)
}

pub enum Inputs {
    /// `N × C × H × W` u8 images.
    Pixels {
        pool: Tensor,
        test: Tensor,
        norm: Normalise,
    },
    /// `N × D` f32 features, standardised per dimension with the pool's statistics.
    Features { pool: Tensor, test: Tensor },
}

impl Inputs {
    pub fn pixels(pool: Tensor, test: Tensor) -> Inputs {
        let norm = Normalise::of(&pool);
        Inputs::Pixels { pool, test, norm }
    }

    /// Standardises both matrices with the pool's per-dimension mean and deviation.
    pub fn features(pool: &Tensor, test: &Tensor) -> Inputs {
        let mean = pool.mean_dim(0, true, Kind::Float);
        let std = pool.std_dim(0, true, true).clamp_min(1e-6);
        Inputs::Features {
            pool: (pool - &mean) / &std,
            test: (test - &mean) / &std,
        }
    }

    pub fn pool_len(&self) -> i64 {
        self.pool().size()[0]
    }

    pub fn test_len(&self) -> i64 {
        self.test().size()[0]
    }

    fn pool(&self) -> &Tensor {
        match self {
            Inputs::Pixels { pool, .. } | Inputs::Features { pool, .. } => pool,
        }
    }

    fn test(&self) -> &Tensor {
        match self {
            Inputs::Pixels { test, .. } | Inputs::Features { test, .. } => test,
        }
    }

    /// Model-ready pool rows `indices` (i64), for inference.
    pub fn pool_rows(&self, indices: &Tensor) -> Tensor {
        self.ready(&self.pool().index_select(0, indices))
    }

    /// Model-ready test rows `start..start + len`.
    pub fn test_rows(&self, start: i64, len: i64) -> Tensor {
        self.ready(&self.test().narrow(0, start, len))
    }

    /// Model-ready pool rows for training: pixels get a random affine warp when
    /// `augment_pixels` is on; features are used as they are (the head's dropout is
    /// their regulariser).
    pub fn train_rows(&self, indices: &Tensor, augment_pixels: bool) -> Tensor {
        let rows = self.pool().index_select(0, indices);
        match self {
            Inputs::Pixels { norm, .. } => {
                let mut unit = norm.unit(&rows);
                if augment_pixels {
                    unit = augment(&unit);
                }
                norm.standardise(&unit)
            }
            Inputs::Features { .. } => rows,
        }
    }

    fn ready(&self, rows: &Tensor) -> Tensor {
        match self {
            Inputs::Pixels { norm, .. } => norm.apply(rows),
            Inputs::Features { .. } => rows.shallow_clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn features_are_standardised_with_pool_statistics() {
        let pool = Tensor::from_slice(&[1.0f32, 10.0, 3.0, 30.0]).view([2, 2]);
        let test = Tensor::from_slice(&[2.0f32, 20.0]).view([1, 2]);
        let inputs = Inputs::features(&pool, &test);
        // Pool columns (1, 3) and (10, 30): means 2 and 20, so the test row is all zero.
        let t = inputs.test_rows(0, 1);
        assert!(t.abs().sum(Kind::Float).double_value(&[]) < 1e-6);
        let p = inputs.pool_rows(&Tensor::from_slice(&[0i64, 1]));
        assert!((p.double_value(&[0, 0]) + p.double_value(&[1, 0])).abs() < 1e-6);
        assert!(p.double_value(&[1, 1]) > 0.0);
    }

    #[test]
    fn pixels_are_scaled_and_augmented_only_for_training() {
        let _generator = crate::torch_rng::seeded(1);
        let pool = Tensor::randint(255, [4, 1, 8, 8], (Kind::Uint8, Device::Cpu));
        let inputs = Inputs::pixels(
            pool,
            Tensor::zeros([0, 1, 8, 8], (Kind::Uint8, Device::Cpu)),
        );
        let idx = Tensor::from_slice(&[0i64, 2]);
        let plain = inputs.pool_rows(&idx);
        assert_eq!(plain.kind(), Kind::Float);
        assert!(
            (&plain - inputs.train_rows(&idx, false))
                .abs()
                .max()
                .double_value(&[])
                < 1e-6
        );
        assert!(
            (&plain - inputs.train_rows(&idx, true))
                .abs()
                .max()
                .double_value(&[])
                > 1e-3
        );
    }
}
