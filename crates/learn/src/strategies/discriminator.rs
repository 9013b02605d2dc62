//! The adversarial strategy's discriminator: a small network over the pool's fixed
//! embedding that learns, each round from fresh weights, to tell the labeled items from
//! the unlabeled ones (as in VAAL, Sinha et al. 2019, without the autoencoder). The items
//! it is surest are unlabeled are the ones least like anything labeled so far.

use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::LearnError;

/// Training steps a round: a few hundred are enough for a two-layer network on a
/// 50-dimensional embedding, and cost well under a second on a CPU.
pub const STEPS: usize = 300;
/// Labeled and unlabeled items per step, each.
const HALF_BATCH: i64 = 64;
const HIDDEN: i64 = 128;
const LEARNING_RATE: f64 = 1e-3;

/// The discriminator's probability that each of `candidates` is unlabeled, trained on
/// `embeddings` (`[N, D]`, standardised) with `labeled` as one class and every other
/// pool item as the other. Draws from libtorch's generator, seeded with `seed` here.
pub fn unlabeled_odds(
    embeddings: &Tensor,
    labeled: &[usize],
    candidates: &[usize],
    seed: u64,
) -> Result<Vec<f32>, LearnError> {
    let n = embeddings.size()[0] as usize;
    let device = embeddings.device();
    let mut is_labeled = vec![false; n];
    for &i in labeled {
        is_labeled[i] = true;
    }
    let unlabeled: Vec<i64> = (0..n as i64).filter(|&i| !is_labeled[i as usize]).collect();
    let labeled: Vec<i64> = labeled.iter().map(|&i| i as i64).collect();
    let rows = |v: &[i64]| Tensor::f_from_slice(v)?.f_to_device(device);
    let candidate_rows = rows(&candidates.iter().map(|&i| i as i64).collect::<Vec<_>>())?;
    if labeled.is_empty() || unlabeled.is_empty() {
        return Ok(vec![1.0; candidates.len()]);
    }
    let (labeled, unlabeled) = (rows(&labeled)?, rows(&unlabeled)?);

    let _generator = crate::torch_rng::seeded(seed);
    let _one_thread = OneThread::new(device);
    let vs = nn::VarStore::new(device);
    let dim = embeddings.size()[1];
    let root = vs.root();
    let net = nn::seq()
        .add(nn::linear(&root / "fc1", dim, HIDDEN, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(
            &root / "fc2",
            HIDDEN,
            HIDDEN,
            Default::default(),
        ))
        .add_fn(|x| x.relu())
        .add(nn::linear(&root / "out", HIDDEN, 1, Default::default()));
    let mut opt = nn::Adam::default().build(&vs, LEARNING_RATE)?;
    // Unlabeled is the positive class: the score is the odds of being unlabeled.
    let targets = Tensor::cat(
        &[
            Tensor::zeros([HALF_BATCH], (Kind::Float, device)),
            Tensor::ones([HALF_BATCH], (Kind::Float, device)),
        ],
        0,
    );
    // Batches are drawn with replacement from each side, so that a few labeled items
    // weigh as much as the whole unlabeled pool.
    let draw = |from: &Tensor| {
        let picks = Tensor::randint(from.size()[0], [HALF_BATCH], (Kind::Int64, device));
        from.index_select(0, &picks)
    };
    for _ in 0..STEPS {
        let batch = Tensor::cat(&[draw(&labeled), draw(&unlabeled)], 0);
        let logits = net.forward(&embeddings.index_select(0, &batch)).view([-1]);
        let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
            &targets,
            None,
            None,
            tch::Reduction::Mean,
        );
        opt.backward_step(&loss);
    }
    let odds = tch::no_grad(|| {
        net.forward(&embeddings.index_select(0, &candidate_rows))
            .sigmoid()
            .view([-1])
            .to_device(Device::Cpu)
    });
    Ok(Vec::<f32>::try_from(odds)?)
}

/// libtorch on one CPU thread while held, then as before. The discriminator's steps are
/// a few small matrix products: waking a second thread for each costs more than it
/// saves, and with other programs on the cores many times more (300 steps on the MNIST
/// pool, OpenMP's default waiting, beside a simulation: 4.7-7.6 s on two threads, 0.2 s
/// on one).
struct OneThread {
    before: Option<i32>,
}

impl OneThread {
    fn new(device: Device) -> OneThread {
        let before = (device == Device::Cpu).then(tch::get_num_threads);
        if before.is_some() {
            tch::set_num_threads(1);
        }
        OneThread { before }
    }
}

impl Drop for OneThread {
    fn drop(&mut self) {
        if let Some(n) = self.before {
            tch::set_num_threads(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two blobs, at −2 and +2 on every axis; everything labeled so far sits in the first.
    fn blobs() -> Tensor {
        let _generator = crate::torch_rng::seeded(7);
        let noise = Tensor::randn([200, 4], (Kind::Float, Device::Cpu)) * 0.5;
        let centre = Tensor::cat(
            &[
                Tensor::full([100, 4], -2.0, (Kind::Float, Device::Cpu)),
                Tensor::full([100, 4], 2.0, (Kind::Float, Device::Cpu)),
            ],
            0,
        );
        crate::graph::embed::standardised(&(centre + noise))
    }

    #[test]
    fn the_discriminator_is_surest_the_items_unlike_the_labeled_ones_are_unlabeled() {
        let e = blobs();
        let labeled: Vec<usize> = (0..20).collect();
        let near: Vec<usize> = (20..100).collect();
        let far: Vec<usize> = (100..200).collect();
        let candidates: Vec<usize> = near.iter().chain(&far).copied().collect();
        let odds = unlabeled_odds(&e, &labeled, &candidates, 3).unwrap();
        let (near_odds, far_odds) = odds.split_at(near.len());
        let lowest_far = far_odds.iter().copied().fold(f32::MAX, f32::min);
        let highest_near = near_odds.iter().copied().fold(f32::MIN, f32::max);
        assert!(
            lowest_far > highest_near,
            "every item of the unlabeled blob should rank above the labeled blob's: {lowest_far} vs {highest_near}"
        );
        assert!(lowest_far > 0.9, "{lowest_far}");
        // The same seed, the same odds.
        assert_eq!(odds, unlabeled_odds(&e, &labeled, &candidates, 3).unwrap());
    }
}
