//! Inference in batches under `no_grad`: test accuracy, and the pool's class
//! probabilities, MC-dropout samples and embeddings handed to the strategies as plain
//! `Vec<f32>`.

use tch::{Kind, Tensor};

use super::model::{Cnn, EMBED_DIM};
use super::train::Normalise;
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

/// What to compute besides the probabilities.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    pub mc_samples: usize,
    pub embeddings: bool,
}

/// Runs `net` on `pixels[indices]` (u8, N×C×H×W; `indices` i64).
pub fn predict(
    net: &Cnn,
    pixels: &Tensor,
    indices: &Tensor,
    norm: Normalise,
    want: Want,
    cancelled: &dyn Fn() -> bool,
) -> Result<Predictions, LearnError> {
    let n = indices.size()[0];
    let mut probs = Vec::new();
    let mut samples = Vec::new();
    let mut embeddings = Vec::new();
    // Drawn once per call, not per item: sampling a Bernoulli per item and pass costs
    // seconds on a CPU for a 60,000-image pool.
    let masks = (want.mc_samples > 0).then(|| Cnn::dropout_masks(want.mc_samples, pixels.device()));
    tch::no_grad(|| -> Result<(), LearnError> {
        let mut start = 0;
        while start < n {
            if cancelled() {
                return Err(LearnError::Cancelled);
            }
            let len = INFERENCE_BATCH.min(n - start);
            let batch = pixels.index_select(0, &indices.narrow(0, start, len));
            let emb = net.embed(&norm.apply(&batch), false);
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
    let flat = |parts: &[Tensor], dim: i64| -> Result<Vec<f32>, LearnError> {
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(Vec::<f32>::try_from(
            Tensor::cat(parts, dim).flatten(0, -1),
        )?)
    };
    Ok(Predictions {
        probs: flat(&probs, 0)?,
        samples: if want.mc_samples > 0 {
            Some(flat(&samples, 1)?)
        } else {
            None
        },
        embeddings: if want.embeddings {
            let e = flat(&embeddings, 0)?;
            debug_assert_eq!(e.len() as i64, n * EMBED_DIM);
            Some(e)
        } else {
            None
        },
    })
}

/// Fraction of `images` (u8) whose most likely class is `labels` (i64).
pub fn accuracy(
    net: &Cnn,
    images: &Tensor,
    labels: &Tensor,
    norm: Normalise,
    cancelled: &dyn Fn() -> bool,
) -> Result<f64, LearnError> {
    let n = images.size()[0];
    if n == 0 {
        return Err(LearnError::Data("the test split is empty".into()));
    }
    let mut correct = 0i64;
    tch::no_grad(|| -> Result<(), LearnError> {
        let mut start = 0;
        while start < n {
            if cancelled() {
                return Err(LearnError::Cancelled);
            }
            let len = INFERENCE_BATCH.min(n - start);
            let logits = net.forward(&norm.apply(&images.narrow(0, start, len)), false);
            correct += logits
                .argmax(-1, false)
                .eq_tensor(&labels.narrow(0, start, len))
                .sum(Kind::Int64)
                .int64_value(&[]);
            start += len;
        }
        Ok(())
    })?;
    Ok(correct as f64 / n as f64)
}
