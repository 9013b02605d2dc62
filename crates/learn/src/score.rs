//! Inference in batches under `no_grad`: test accuracy, and the pool's class
//! probabilities, MC-dropout samples and embeddings, kept on the device
//! ([`DevicePredictions`]) until the ranking copies them once into plain `Vec<f32>`s for
//! the strategies ([`Predictions`]).

use tch::{Kind, Tensor};

use super::inputs::Inputs;
use super::model::{dropout_masks, Classifier, EMBED_DIM};
use super::LearnError;

/// Images per forward pass: large enough to amortise the per-call overhead, small enough
/// to stay in cache-friendly memory.
pub const INFERENCE_BATCH: i64 = 1024;

/// What the strategies need about the scored items, in the order they were given.
#[derive(Debug, Default)]
pub struct Predictions {
    /// `n × classes`: the predictive distribution (the MC mean when sampled).
    pub probs: Vec<f32>,
    /// `t × n × classes` MC-dropout samples, when asked for.
    pub samples: Option<Vec<f32>>,
    /// `n × EMBED_DIM`, when asked for.
    pub embeddings: Option<Vec<f32>>,
}

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

/// Each row of `cand`'s squared distance to its nearest row of `labeled`, by blocked
/// matrix products on the device.
pub(super) fn min_sq_distances(cand: &Tensor, labeled: &Tensor) -> Result<Vec<f32>, LearnError> {
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
