//! An embedding the pool teaches itself: a variational autoencoder (Kingma & Welling
//! 2014) trained on the pool's own images, whose latent means the kNN graph is built
//! on. It is what the graph-learning papers use for images without a pretrained
//! network (Calder et al. 2020, Poisson learning: fully connected 784-400-20 on MNIST),
//! and it knows nothing about digits: any grayscale or small colour image set works,
//! as flattened pixels in 0..=1.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::LearnError;

/// How the autoencoder is shaped and trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VaeOptions {
    /// Width of the hidden layer on both sides.
    pub hidden: i64,
    /// Dimensions of the embedding (the latent mean).
    pub latent: i64,
    /// Passes over the images.
    pub epochs: usize,
    pub batch: i64,
    pub learning_rate: f64,
    /// Seed of the initial weights, the batch order and the sampling noise.
    pub seed: u64,
}

impl Default for VaeOptions {
    fn default() -> Self {
        // The papers' shape (400 hidden, 20 latent). They train 100 epochs with Adam at
        // 1e-3 in batches of 128; batches of 256 at 1.5e-3 reach the same loss (the
        // autoencoder's own, no label read) in 60 % of the time on a CPU
        // (`results/embedding-vae-settings/`). `epochs` is set by the caller from the
        // time it may take.
        VaeOptions {
            hidden: 400,
            latent: 20,
            epochs: 30,
            batch: 256,
            learning_rate: 1.5e-3,
            seed: 0,
        }
    }
}

/// Encoder to a Gaussian's mean and log-variance, decoder back to pixel intensities.
#[derive(Debug)]
struct Vae {
    enc: nn::Linear,
    mean: nn::Linear,
    log_var: nn::Linear,
    dec: nn::Linear,
    out: nn::Linear,
}

impl Vae {
    fn new(vs: &nn::Path, input: i64, opts: &VaeOptions) -> Vae {
        crate::torch_rng::expect_held("the autoencoder's initial weights");
        let lin = |name: &str, i, o| nn::linear(vs / name, i, o, Default::default());
        Vae {
            enc: lin("enc", input, opts.hidden),
            mean: lin("mean", opts.hidden, opts.latent),
            log_var: lin("log_var", opts.hidden, opts.latent),
            dec: lin("dec", opts.latent, opts.hidden),
            out: lin("out", opts.hidden, input),
        }
    }

    fn encode(&self, x: &Tensor) -> (Tensor, Tensor) {
        let h = self.enc.forward(x).relu();
        (self.mean.forward(&h), self.log_var.forward(&h))
    }

    /// The decoder's logits (the sigmoid is folded into the loss).
    fn decode(&self, z: &Tensor) -> Tensor {
        self.out.forward(&self.dec.forward(z).relu())
    }

    /// Per-image loss summed over the batch: binary cross-entropy of the reconstruction
    /// plus the KL divergence of the posterior from the unit Gaussian.
    fn loss(&self, x: &Tensor, noise: &Tensor) -> Tensor {
        let (mean, log_var) = self.encode(x);
        let z = &mean + (&log_var * 0.5).exp() * noise;
        let recon = self.decode(&z).binary_cross_entropy_with_logits::<Tensor>(
            x,
            None,
            None,
            tch::Reduction::Sum,
        );
        let kl = (log_var.exp() + mean.square() - 1.0 - &log_var).sum(Kind::Float) * 0.5;
        recon + kl
    }
}

/// Progress of a training run, after each epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VaeProgress {
    pub epoch: usize,
    pub epochs: usize,
    /// Mean loss per image over the epoch.
    pub loss: f64,
}

/// Trains a VAE on the rows of `images` (`[N, D]` float in 0..=1, on the device it
/// trains on) and returns every row's latent mean, `[N, latent]`. `cancelled` is polled
/// between batches. The same images and options give the same embedding: the batch
/// order and the sampling noise come from a generator seeded with `opts.seed`, the
/// initial weights from libtorch's, held (`torch_rng`) while they are drawn.
pub fn vae_embeddings(
    images: &Tensor,
    opts: VaeOptions,
    progress: &mut dyn FnMut(VaeProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<Tensor, LearnError> {
    let (n, d) = match images.size().as_slice() {
        &[n, d] if n > 1 && d > 0 => (n, d),
        other => {
            return Err(LearnError::Data(format!(
                "the autoencoder needs at least two images as [N, D] rows, got shape {other:?}"
            )))
        }
    };
    if opts.epochs == 0 || opts.batch < 1 || opts.latent < 1 || opts.hidden < 1 {
        return Err(LearnError::Data(format!(
            "autoencoder options out of range: {opts:?}"
        )));
    }
    let device = images.device();
    let images = images.to_kind(Kind::Float);
    let vs = nn::VarStore::new(device);
    let vae = {
        // libtorch's generator only for the initial weights: the rest draws from this
        // run's own, so a training of minutes never holds up another learner's round.
        let _generator = crate::torch_rng::seeded(opts.seed);
        Vae::new(&vs.root(), d, &opts)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut order: Vec<i64> = (0..n).collect();
    let mut opt = nn::Adam::default().build(&vs, opts.learning_rate)?;
    for epoch in 0..opts.epochs {
        order.shuffle(&mut rng);
        let order = Tensor::from_slice(&order).to_device(device);
        let mut total = 0.0;
        let mut start = 0;
        while start < n {
            if cancelled() {
                return Err(LearnError::Cancelled);
            }
            let len = opts.batch.min(n - start);
            let x = images.index_select(0, &order.narrow(0, start, len));
            let noise: Vec<f32> = (0..len * opts.latent)
                .map(|_| rng.sample::<f32, _>(StandardNormal))
                .collect();
            let noise = Tensor::from_slice(&noise)
                .view([len, opts.latent])
                .to_device(device);
            let loss = vae.loss(&x, &noise);
            opt.backward_step(&loss);
            total += loss.double_value(&[]);
            start += len;
        }
        let loss = total / n as f64;
        if !loss.is_finite() {
            return Err(LearnError::Other(format!(
                "the autoencoder's loss diverged in epoch {}",
                epoch + 1
            )));
        }
        progress(VaeProgress {
            epoch: epoch + 1,
            epochs: opts.epochs,
            loss,
        });
    }
    let _guard = tch::no_grad_guard();
    let mut means = Vec::new();
    let mut start = 0;
    while start < n {
        let len = 4096.min(n - start);
        means.push(vae.encode(&images.narrow(0, start, len)).0);
        start += len;
    }
    Ok(Tensor::cat(&means, 0))
}

/// Pixels `[N, C, H, W]` (u8, 0..=255) as rows `[N, C·H·W]` of floats in 0..=1 on
/// `device`: the autoencoder's input, and what PCA of the plain pixels reduces.
pub fn pixel_rows(pixels: &Tensor, device: Device) -> Result<Tensor, LearnError> {
    Ok(pixels
        .f_flatten(1, -1)?
        .f_to_device(device)?
        .f_to_kind(Kind::Float)?
        / 255.0)
}

/// Largest side the plain-pixel graph compares images at: a 32×32 thumbnail carries
/// what a pixel distance can use (CIFAR-10's photos are that size), and a photo at
/// 224×224 would make every row 49 times wider for nothing.
pub const PIXEL_GRAPH_SIDE: i64 = 32;

/// Pixels `[N, C, H, W]` (u8) as rows of floats in 0..=1 on `device`, each image first
/// shrunk by area averaging to at most `PIXEL_GRAPH_SIDE` a side (images that small
/// already come out as [`pixel_rows`] makes them). Converted a chunk at a time, so a
/// large pool of photos never exists as full-size floats.
pub fn thumbnail_rows(pixels: &Tensor, device: Device) -> Result<Tensor, LearnError> {
    let size = pixels.size();
    let (n, side) = match size.as_slice() {
        &[n, _, h, w] => (n, h.max(w)),
        other => {
            return Err(LearnError::Data(format!(
                "pixel rows need an [N, C, H, W] batch, got shape {other:?}"
            )))
        }
    };
    if side <= PIXEL_GRAPH_SIDE {
        return pixel_rows(pixels, device);
    }
    const CHUNK: i64 = 256;
    let mut parts = Vec::new();
    for start in (0..n).step_by(CHUNK as usize) {
        let len = CHUNK.min(n - start);
        let small = pixels
            .f_narrow(0, start, len)?
            .f_to_device(device)?
            .f_to_kind(Kind::Float)?
            .f_adaptive_avg_pool2d([PIXEL_GRAPH_SIDE, PIXEL_GRAPH_SIDE])?
            .f_flatten(1, -1)?
            .f_div_scalar(255.0)?;
        parts.push(small);
    }
    if parts.is_empty() {
        let c = size[1];
        return Ok(Tensor::f_zeros(
            [0, c * PIXEL_GRAPH_SIDE * PIXEL_GRAPH_SIDE],
            (Kind::Float, device),
        )?);
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two kinds of 8×8 image (a bar across the top half, a bar down the left half) with
    /// noise: the latent means must keep them apart.
    fn two_kinds(n: i64) -> (Tensor, Vec<bool>) {
        let _generator = crate::torch_rng::seeded(5);
        let mut rows = Vec::new();
        let mut kinds = Vec::new();
        for i in 0..n {
            let img = Tensor::zeros([8, 8], (Kind::Float, Device::Cpu));
            let top = i % 2 == 0;
            if top {
                let _ = img.narrow(0, 0, 4).fill_(1.0);
            } else {
                let _ = img.narrow(1, 0, 4).fill_(1.0);
            }
            let noisy =
                (img + Tensor::rand([8, 8], (Kind::Float, Device::Cpu)) * 0.3).clamp(0.0, 1.0);
            rows.push(noisy.view([64]));
            kinds.push(top);
        }
        (Tensor::stack(&rows, 0), kinds)
    }

    #[test]
    fn the_latent_means_separate_two_kinds_of_image() {
        let (images, kinds) = two_kinds(200);
        let opts = VaeOptions {
            hidden: 32,
            latent: 2,
            epochs: 20,
            batch: 32,
            ..VaeOptions::default()
        };
        let mut losses = Vec::new();
        let emb = vae_embeddings(&images, opts, &mut |p| losses.push(p.loss), &|| false).unwrap();
        assert_eq!(emb.size(), vec![200, 2]);
        assert_eq!(losses.len(), 20);
        assert!(losses[19] < losses[0], "loss did not fall: {losses:?}");
        // Each image's nearest other image in the embedding is of its own kind.
        let (_, idx) = crate::graph::nearest(&emb, &emb, 1, true).unwrap();
        let idx = Vec::<i64>::try_from(idx.view([-1])).unwrap();
        let same = idx
            .iter()
            .enumerate()
            .filter(|&(i, &j)| kinds[i] == kinds[j as usize])
            .count();
        assert!(
            same >= 196,
            "{same} of 200 nearest neighbours of the same kind"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_embedding() {
        let (images, _) = two_kinds(64);
        let opts = VaeOptions {
            hidden: 16,
            latent: 2,
            epochs: 2,
            batch: 16,
            ..VaeOptions::default()
        };
        let run = || vae_embeddings(&images, opts, &mut |_| {}, &|| false).unwrap();
        let (a, b) = (run(), run());
        assert!(a.equal(&b));
        let other = vae_embeddings(
            &images,
            VaeOptions { seed: 9, ..opts },
            &mut |_| {},
            &|| false,
        )
        .unwrap();
        assert!(!a.equal(&other));
    }

    #[test]
    fn bad_input_is_an_error_and_cancelling_stops() {
        let one = Tensor::zeros([1, 4], (Kind::Float, Device::Cpu));
        assert!(vae_embeddings(&one, VaeOptions::default(), &mut |_| {}, &|| false).is_err());
        let images = Tensor::zeros([10, 4], (Kind::Float, Device::Cpu));
        let zero = VaeOptions {
            epochs: 0,
            ..VaeOptions::default()
        };
        assert!(vae_embeddings(&images, zero, &mut |_| {}, &|| false).is_err());
        let e = vae_embeddings(&images, VaeOptions::default(), &mut |_| {}, &|| true);
        assert!(matches!(e, Err(LearnError::Cancelled)));
    }

    #[test]
    fn thumbnail_rows_shrink_photos_and_keep_small_images() {
        let small = Tensor::from_slice(&[0u8, 255, 51, 102]).view([1, 1, 2, 2]);
        let rows = thumbnail_rows(&small, Device::Cpu).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(rows.view([-1])).unwrap(),
            [0.0, 1.0, 0.2, 0.4]
        );
        // A 224×224 photo whose left half is white: 32×32 per channel, left half 1.
        let photo = Tensor::zeros([2, 3, 224, 224], (Kind::Uint8, Device::Cpu));
        let _ = photo.narrow(3, 0, 112).fill_(255);
        let rows = thumbnail_rows(&photo, Device::Cpu).unwrap();
        assert_eq!(rows.size(), vec![2, 3 * 32 * 32]);
        let first_row: Vec<f32> = Vec::try_from(rows.get(0).narrow(0, 0, 32)).unwrap();
        assert!(
            first_row[..16].iter().all(|&v| v == 1.0) && first_row[16..].iter().all(|&v| v == 0.0)
        );
    }
}
