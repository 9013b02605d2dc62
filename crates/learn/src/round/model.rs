//! The trained models: a small CNN for digits (and other small images), in the style of
//! tch's MNIST example, and a small head over a frozen backbone's features. Both end in
//! dropout on an `EMBED_DIM` embedding before the last layer, so Monte-Carlo dropout for
//! BALD computes the expensive part once per item and re-runs only the last layer T
//! times.

use tch::{nn, Tensor};

/// Width of the embedding the head classifies (and core-set measures distances in).
pub const EMBED_DIM: i64 = 128;
/// Dropout on the embedding: at training, and at inference for MC dropout.
pub const HEAD_DROPOUT: f64 = 0.5;

#[derive(Debug)]
pub struct Cnn {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
    flat: i64,
}

/// Channel widths of the two strided convolutions. Strides instead of pooling keep the
/// activations small: on a CPU the first layers are bound by memory traffic, not by
/// arithmetic, and this shape scores 70,000 digits several times faster than
/// conv-relu-maxpool of the same width.
const WIDTH1: i64 = 16;
const WIDTH2: i64 = 32;

impl Cnn {
    pub fn new(vs: &nn::Path, channels: usize, size: usize, classes: usize) -> Cnn {
        crate::torch_rng::expect_held("a new network's initial weights");
        let conv1 = nn::conv2d(
            vs / "conv1",
            channels as i64,
            WIDTH1,
            5,
            nn::ConvConfig {
                stride: 2,
                padding: 2,
                ..Default::default()
            },
        );
        let conv2 = nn::conv2d(
            vs / "conv2",
            WIDTH1,
            WIDTH2,
            3,
            nn::ConvConfig {
                stride: 2,
                padding: 1,
                ..Default::default()
            },
        );
        // Both convolutions halve the side, rounding up.
        let side = size.div_ceil(2).div_ceil(2) as i64;
        let flat = WIDTH2 * side * side;
        let fc1 = nn::linear(vs / "fc1", flat, EMBED_DIM, Default::default());
        let fc2 = nn::linear(vs / "fc2", EMBED_DIM, classes as i64, Default::default());
        Cnn {
            conv1,
            conv2,
            fc1,
            fc2,
            flat,
        }
    }

    /// Normalised images `B × C × H × W` → embeddings `B × EMBED_DIM`.
    pub fn embed(&self, xs: &Tensor, train: bool) -> Tensor {
        xs.apply(&self.conv1)
            .relu()
            .apply(&self.conv2)
            .relu()
            .view([-1, self.flat])
            .dropout(0.25, train)
            .apply(&self.fc1)
            .relu()
    }

    /// Embeddings → logits; `dropout` on for training and for MC-dropout samples.
    pub fn classify(&self, embedding: &Tensor, dropout: bool) -> Tensor {
        embedding.dropout(HEAD_DROPOUT, dropout).apply(&self.fc2)
    }

    /// Logits of the head under one dropout mask (`EMBED_DIM`), shared by the batch.
    pub fn classify_masked(&self, embedding: &Tensor, mask: &Tensor) -> Tensor {
        (embedding * mask).apply(&self.fc2)
    }

    pub fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        self.classify(&self.embed(xs, train), train)
    }
}

/// `t` dropout masks over the embedding (kept units scaled by 1 / keep), `t × EMBED_DIM`:
/// the sampled networks of Monte-Carlo dropout.
pub fn dropout_masks(t: usize, device: tch::Device) -> Tensor {
    crate::torch_rng::expect_held("Monte-Carlo dropout masks");
    let keep = 1.0 - HEAD_DROPOUT;
    Tensor::rand([t as i64, EMBED_DIM], (tch::Kind::Float, device))
        .lt(keep)
        .to_kind(tch::Kind::Float)
        / keep
}

/// Dropout on the backbone features while the head trains: the features of a few
/// labeled photos are easy to memorise, and this is the head's only regulariser.
const FEATURE_DROPOUT: f64 = 0.2;

/// Two layers over a frozen backbone's (standardised) features: features → `EMBED_DIM`
/// → classes. Small enough that a round trains it in well under a second on a CPU.
#[derive(Debug)]
pub struct Head {
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Head {
    pub fn new(vs: &nn::Path, features: i64, classes: usize) -> Head {
        crate::torch_rng::expect_held("a new head's initial weights");
        Head {
            fc1: nn::linear(vs / "fc1", features, EMBED_DIM, Default::default()),
            fc2: nn::linear(vs / "fc2", EMBED_DIM, classes as i64, Default::default()),
        }
    }
}

/// The interface the trainer, scorer and strategies use: an embedding, then one linear
/// layer behind dropout.
pub trait Classifier {
    /// Model-ready inputs → embeddings `B × EMBED_DIM`.
    fn embed(&self, xs: &Tensor, train: bool) -> Tensor;
    /// Embeddings → logits; `dropout` on for training and for MC-dropout samples.
    fn classify(&self, embedding: &Tensor, dropout: bool) -> Tensor;
    /// Logits under one dropout mask (`EMBED_DIM`), shared by the batch.
    fn classify_masked(&self, embedding: &Tensor, mask: &Tensor) -> Tensor;
    fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        self.classify(&self.embed(xs, train), train)
    }
}

impl Classifier for Cnn {
    fn embed(&self, xs: &Tensor, train: bool) -> Tensor {
        Cnn::embed(self, xs, train)
    }
    fn classify(&self, embedding: &Tensor, dropout: bool) -> Tensor {
        Cnn::classify(self, embedding, dropout)
    }
    fn classify_masked(&self, embedding: &Tensor, mask: &Tensor) -> Tensor {
        Cnn::classify_masked(self, embedding, mask)
    }
}

impl Classifier for Head {
    fn embed(&self, xs: &Tensor, train: bool) -> Tensor {
        xs.dropout(FEATURE_DROPOUT, train).apply(&self.fc1).relu()
    }
    fn classify(&self, embedding: &Tensor, dropout: bool) -> Tensor {
        embedding.dropout(HEAD_DROPOUT, dropout).apply(&self.fc2)
    }
    fn classify_masked(&self, embedding: &Tensor, mask: &Tensor) -> Tensor {
        (embedding * mask).apply(&self.fc2)
    }
}
