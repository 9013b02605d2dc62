//! Inference in batches under `no_grad`: test accuracy, and the pool's class
//! probabilities, MC-dropout samples and embeddings, kept on the device
//! ([`DevicePredictions`]) until the ranking copies them once into plain `Vec<f32>`s for
//! the strategies ([`Predictions`]).

use tch::{Kind, Tensor};

use crate::round::inputs::Inputs;
use crate::round::model::{dropout_masks, Classifier, EMBED_DIM};
use crate::LearnError;

/// Images per forward pass: large enough to amortise the per-call overhead, small enough
/// to stay in cache-friendly memory.
pub const INFERENCE_BATCH: i64 = 1024;

pub use glean_rank::Predictions;

/// The same, as the network left them on its device: `probs` `[n, classes]`, `samples`
/// `[t, n, classes]`, `embeddings` `[n, EMBED_DIM]`.
#[derive(Debug)]
pub struct DevicePredictions {
    pub probs: Tensor,
    pub samples: Option<Tensor>,
    pub embeddings: Option<Tensor>,
}

impl DevicePredictions {
    /// The one copy to the host, for the strategies.
    pub fn to_host(&self) -> Result<Predictions, LearnError> {
        let flat = |t: &Tensor| -> Result<Vec<f32>, LearnError> {
            Ok(Vec::<f32>::try_from(
                t.to_device(tch::Device::Cpu).contiguous().view([-1]),
            )?)
        };
        Ok(Predictions {
            probs: flat(&self.probs)?,
            samples: self.samples.as_ref().map(flat).transpose()?,
            embeddings: self.embeddings.as_ref().map(flat).transpose()?,
        })
    }
}

/// What to compute besides the probabilities.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    pub mc_samples: usize,
    pub embeddings: bool,
}

/// Runs `net` on the pool rows `indices` (i64); the results stay on its device.
pub fn predict(
    net: &dyn Classifier,
    inputs: &Inputs,
    indices: &Tensor,
    want: Want,
    cancelled: &dyn Fn() -> bool,
) -> Result<DevicePredictions, LearnError> {
    let n = indices.size()[0];
    let mut probs = Vec::new();
    let mut samples = Vec::new();
    let mut embeddings = Vec::new();
    // Drawn once per call, not per item: sampling a Bernoulli per item and pass costs
    // seconds on a CPU for a 60,000-image pool.
    let masks = (want.mc_samples > 0).then(|| dropout_masks(want.mc_samples, indices.device()));
    tch::no_grad(|| -> Result<(), LearnError> {
        let mut start = 0;
        while start < n {
            if cancelled() {
                return Err(LearnError::Cancelled);
            }
            let len = INFERENCE_BATCH.min(n - start);
            let emb = net.embed(&inputs.pool_rows(&indices.narrow(0, start, len)), false);
            if let Some(masks) = &masks {
                // Pass t applies mask t to every item: T sampled networks, each the same
                // for the whole pool, so items are compared under the same weights.
                let passes: Vec<Tensor> = (0..masks.size()[0])
                    .map(|t| {
                        net.classify_masked(&emb, &masks.get(t))
                            .softmax(-1, Kind::Float)
                    })
                    .collect();
                let stacked = Tensor::stack(&passes, 0); // T × B × C
                probs.push(stacked.mean_dim(0, false, Kind::Float));
                samples.push(stacked);
            } else {
                probs.push(net.classify(&emb, false).softmax(-1, Kind::Float));
            }
            if want.embeddings {
                embeddings.push(emb);
            }
            start += len;
        }
        Ok(())
    })?;
    let cat = |parts: &[Tensor], dim: i64| Tensor::cat(parts, dim);
    if probs.is_empty() {
        // No candidates (every item labeled): empty, but with the classes' width, so
        // that blending and argmax over them stay well-formed.
        let none = Tensor::f_zeros([0, EMBED_DIM], (Kind::Float, indices.device()))?;
        let empty = tch::no_grad(|| net.classify(&none, false));
        let classes = empty.size().get(1).copied().unwrap_or(0);
        return Ok(DevicePredictions {
            probs: empty,
            samples: (want.mc_samples > 0).then(|| {
                Tensor::zeros(
                    [want.mc_samples as i64, 0, classes],
                    (Kind::Float, indices.device()),
                )
            }),
            embeddings: want.embeddings.then(|| none.shallow_clone()),
        });
    }
    let probs = cat(&probs, 0);
    let embeddings = (want.embeddings && !embeddings.is_empty()).then(|| cat(&embeddings, 0));
    if let Some(e) = &embeddings {
        debug_assert_eq!(e.size(), [n, EMBED_DIM]);
    }
    Ok(DevicePredictions {
        probs,
        samples: (want.mc_samples > 0 && !samples.is_empty()).then(|| cat(&samples, 1)),
        embeddings,
    })
}

/// Class probabilities `[test, classes]` of every test item.
pub fn test_probs(
    net: &dyn Classifier,
    inputs: &Inputs,
    cancelled: &dyn Fn() -> bool,
) -> Result<Tensor, LearnError> {
    let n = inputs.test_len();
    if n == 0 {
        return Err(LearnError::Data("the test split is empty".into()));
    }
    let mut parts = Vec::new();
    tch::no_grad(|| -> Result<(), LearnError> {
        let mut start = 0;
        while start < n {
            if cancelled() {
                return Err(LearnError::Cancelled);
            }
            let len = INFERENCE_BATCH.min(n - start);
            parts.push(
                net.forward(&inputs.test_rows(start, len), false)
                    .softmax(-1, Kind::Float),
            );
            start += len;
        }
        Ok(())
    })?;
    Ok(Tensor::cat(&parts, 0))
}

/// Fraction of rows of `scores` (`[n, classes]`, any device) whose argmax is `labels`
/// (i64, n).
pub fn accuracy(scores: &Tensor, labels: &Tensor) -> f64 {
    let n = labels.size()[0];
    if n == 0 {
        return 0.0;
    }
    let hits = scores
        .argmax(-1, false)
        .eq_tensor(&labels.to_device(scores.device()))
        .sum(Kind::Int64)
        .int64_value(&[]);
    hits as f64 / n as f64
}

/// Bins of top-class probability `calibration_error` averages over.
pub const CALIBRATION_BINS: i64 = 15;

/// Expected calibration error of `probs` (`[n, classes]`) against `labels`: the
/// rows binned by their top probability into `CALIBRATION_BINS` equal bins, each bin's
/// |mean top probability − accuracy| weighted by its share of the rows (Guo et al.
/// 2017). 0 for no rows.
pub fn calibration_error(probs: &Tensor, labels: &Tensor) -> Result<f64, LearnError> {
    let n = labels.size()[0];
    if n == 0 {
        return Ok(0.0);
    }
    let _guard = tch::no_grad_guard();
    let (top, predicted) = probs.f_max_dim(-1, false)?;
    let top = top.f_to_kind(Kind::Double)?;
    let right = predicted
        .f_eq_tensor(&labels.to_device(probs.device()))?
        .f_to_kind(Kind::Double)?;
    let bin = top
        .f_mul_scalar(CALIBRATION_BINS as f64)?
        .f_floor()?
        .f_clamp(0, CALIBRATION_BINS - 1)?
        .f_to_kind(Kind::Int64)?;
    let sums = |values: &Tensor| -> Result<Vec<f64>, LearnError> {
        let zero = Tensor::f_zeros([CALIBRATION_BINS], (Kind::Double, probs.device()))?;
        Ok(Vec::<f64>::try_from(
            zero.f_index_add(0, &bin, values)?
                .f_to_device(tch::Device::Cpu)?,
        )?)
    };
    let confidence = sums(&top)?;
    let accuracy = sums(&right)?;
    let gap: f64 = confidence
        .iter()
        .zip(&accuracy)
        .map(|(c, a)| (c - a).abs())
        .sum();
    Ok(gap / n as f64)
}

/// Each row of `cand`'s squared distance to its nearest row of `labeled`, by blocked
/// matrix products on the device.
pub(crate) fn min_sq_distances(cand: &Tensor, labeled: &Tensor) -> Result<Vec<f32>, LearnError> {
    let lab_sq = labeled.square().sum_dim_intlist(1, false, Kind::Float);
    let n = cand.size()[0];
    let mut out = Vec::with_capacity(n as usize);
    let mut start = 0;
    while start < n {
        let len = 4096.min(n - start);
        let c = cand.narrow(0, start, len);
        let c_sq = c.square().sum_dim_intlist(1, true, Kind::Float);
        let d = (c_sq - c.matmul(&labeled.tr()) * 2.0 + lab_sq.unsqueeze(0)).clamp_min(0.0);
        out.extend(Vec::<f32>::try_from(d.amin(1, false))?);
        start += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_error_is_the_gap_between_how_sure_and_how_right() {
        // Four guesses at 90 %, three right: a gap of 15 points in their one bin.
        let probs = Tensor::from_slice(&[0.9f32, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.9]).view([4, 2]);
        let labels = Tensor::from_slice(&[0i64, 0, 1, 0]);
        let ece = calibration_error(&probs, &labels).unwrap();
        assert!((ece - 0.15).abs() < 1e-6, "{ece}");
        // Bins weigh by their share: two more at 60 %, one right (gap 10 points).
        let probs = Tensor::from_slice(&[
            0.9f32, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.9, 0.6, 0.4, 0.4, 0.6,
        ])
        .view([6, 2]);
        let labels = Tensor::from_slice(&[0i64, 0, 1, 0, 0, 0]);
        let ece = calibration_error(&probs, &labels).unwrap();
        assert!((ece - (4.0 * 0.15 + 2.0 * 0.1) / 6.0).abs() < 1e-6, "{ece}");
        let none = Tensor::zeros([0, 2], (Kind::Float, tch::Device::Cpu));
        let no_labels = Tensor::zeros([0], (Kind::Int64, tch::Device::Cpu));
        assert_eq!(calibration_error(&none, &no_labels).unwrap(), 0.0);
    }
}
