//! Class sizes: scores reweighted per class until the pool's predicted class sizes match
//! the sizes asked for (the "volume label projection" that Poisson-MBO ends each step
//! with, Calder et al. 2020, `mbo.rs`; there the true class sizes are given, glean
//! takes those the propagation predicts, or in the benchmark the labels' shares).

use tch::{Device, Kind, Tensor};

use crate::LearnError;

/// Class sizes to aim for: each class's share of `labels` (pool classes), with one
/// extra count per class so that a class nobody has labeled yet keeps a small share.
pub fn label_priors(labels: &[u16], classes: usize) -> Vec<f64> {
    let mut counts = vec![1.0f64; classes];
    for &c in labels {
        if let Some(n) = counts.get_mut(c as usize) {
            *n += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    counts.iter().map(|n| n / total).collect()
}

/// Class sizes to aim for: each class's share of the rows' argmax of `scores`
/// (`[n, classes]`), what the propagation itself predicts, with one extra count per
/// class as in `label_priors`.
pub fn predicted_priors(scores: &Tensor) -> Result<Vec<f64>, LearnError> {
    let classes = scores.size()[1];
    let counts = Vec::<f64>::try_from(
        scores
            .argmax(1, false)
            .bincount::<Tensor>(None, classes)
            .to_kind(Kind::Double)
            .to_device(Device::Cpu),
    )?;
    let total: f64 = counts.iter().sum::<f64>() + classes as f64;
    Ok(counts.iter().map(|n| (n + 1.0) / total).collect())
}

/// How far the sizes may miss `priors` (the largest difference of shares) when the
/// reweighting stops.
const TOLERANCE: f64 = 1e-3;
/// Gradient steps at most. Where the shares can be met the steps stop long before
/// (0.15-0.3 s on 60,000 digits, `cargo bench --bench embedding`); where they cannot
/// (ties), this bounds the cost of trying: about 0.7 s there (Calder's 10,000 took 3.4).
const MAX_STEPS: usize = 2_000;
/// Step size on the weights (Calder's `volume_label_projection`).
const STEP: f64 = 0.1;

/// Per-class weights `w` such that the rows' argmax of `scores[i][c] · w[c]` gives
/// class shares close to `priors`. `scores` is row-major `[n, classes]`; they are first
/// rescaled to 0..=1 (over the whole matrix) so that multiplying is monotone.
/// Returns the weights and the share error reached.
pub fn class_weights(scores: &[f32], classes: usize, priors: &[f64]) -> (Vec<f64>, f64) {
    class_weights_from(scores, classes, priors, vec![1.0; classes])
}

/// `class_weights`, starting the search at `weights` instead of all ones: Poisson-MBO
/// projects scores that move little from one round to the next, so the last round's
/// weights are most of the way there.
pub fn class_weights_from(
    scores: &[f32],
    classes: usize,
    priors: &[f64],
    mut weights: Vec<f64>,
) -> (Vec<f64>, f64) {
    let n = scores.len() / classes.max(1);
    if weights.len() != classes {
        weights = vec![1.0; classes];
    }
    if n == 0 || classes < 2 || priors.len() != classes {
        return (weights, 0.0);
    }
    let (lo, hi) = scores
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    let span = f64::from(hi - lo).max(1e-30);
    let unit: Vec<f64> = scores.iter().map(|&s| f64::from(s - lo) / span).collect();
    let mut error = f64::MAX;
    let mut sizes = vec![0usize; classes];
    // Rows counted in two halves on two threads (counts add up exactly).
    let half = n.div_ceil(2) * classes;
    let count = |rows: &[f64], weights: &[f64]| {
        let mut sizes = vec![0usize; classes];
        for row in rows.chunks(classes) {
            sizes[argmax_weighted(row, weights)] += 1;
        }
        sizes
    };
    for _ in 0..MAX_STEPS {
        let (first, second) = unit.split_at(half.min(unit.len()));
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| count(first, &weights));
            let b = count(second, &weights);
            // A panic in the counting thread is this thread's.
            let a = a
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (a, b)
        });
        for (c, size) in sizes.iter_mut().enumerate() {
            *size = a[c] + b[c];
        }
        error = 0.0;
        for c in 0..classes {
            let gap = sizes[c] as f64 / n as f64 - priors[c];
            error = f64::max(error, gap.abs());
            // A class above its share loses weight, one below gains.
            weights[c] -= STEP * gap;
        }
        let first = weights[0];
        weights.iter_mut().for_each(|w| *w /= first);
        if error <= TOLERANCE {
            break;
        }
    }
    (weights, error)
}

fn argmax_weighted(row: &[f64], weights: &[f64]) -> usize {
    let mut best = (0, f64::MIN);
    for (c, (&s, &w)) in row.iter().zip(weights).enumerate() {
        if s * w > best.1 {
            best = (c, s * w);
        }
    }
    best.0
}

/// `scores` rescaled to 0..=1 and multiplied by `weights` per class, in place: their
/// argmax is then the balanced prediction.
pub fn reweight(scores: &mut [f32], classes: usize, weights: &[f64]) {
    let (lo, hi) = scores
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    let span = (hi - lo).max(1e-30);
    for row in scores.chunks_mut(classes) {
        for (s, &w) in row.iter_mut().zip(weights) {
            *s = (*s - lo) / span * w as f32;
        }
    }
}

/// `scores` (`[n, classes]`, any device) reweighted to `priors`: rescaled to 0..=1 and
/// multiplied per class by `class_weights`. Returns them (on the scores' device) with
/// the share error reached.
pub fn balanced(scores: &Tensor, priors: &[f64]) -> Result<(Tensor, f64), LearnError> {
    let classes = scores.size()[1] as usize;
    balanced_from(scores, priors, vec![1.0; classes]).map(|(t, error, _)| (t, error))
}

/// `balanced` with the weights' search started at `weights` (`class_weights_from`);
/// also returns the weights found.
pub fn balanced_from(
    scores: &Tensor,
    priors: &[f64],
    weights: Vec<f64>,
) -> Result<(Tensor, f64, Vec<f64>), LearnError> {
    let shape = scores.size();
    let classes = shape[1] as usize;
    let mut flat = Vec::<f32>::try_from(
        scores
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .contiguous()
            .view([-1]),
    )?;
    let (weights, error) = class_weights_from(&flat, classes, priors, weights);
    reweight(&mut flat, classes, &weights);
    let out = Tensor::f_from_slice(&flat)?
        .f_view([shape[0], shape[1]])?
        .f_to_device(scores.device())?;
    Ok((out, error, weights))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priors_follow_the_labels_and_keep_a_share_for_unseen_classes() {
        let p = label_priors(&[0, 0, 1], 3);
        assert_eq!(p, vec![3.0 / 6.0, 2.0 / 6.0, 1.0 / 6.0]);
        assert_eq!(label_priors(&[], 2), vec![0.5, 0.5]);
    }

    #[test]
    fn predicted_priors_count_each_rows_argmax() {
        let scores = Tensor::from_slice(&[0.9f32, 0.1, 0.8, 0.2, 0.3, 0.7]).view([3, 2]);
        assert_eq!(
            predicted_priors(&scores).unwrap(),
            vec![3.0 / 5.0, 2.0 / 5.0]
        );
    }

    /// Ten items on a line between two classes: class 0's score falls as class 1's
    /// rises. Unweighted, class 0 wins 6 of 10 (its scores are raised by 0.2).
    fn ten_on_a_line() -> Vec<f32> {
        (0..10)
            .flat_map(|i| {
                let x = i as f32 / 9.0;
                [1.2 - x, x]
            })
            .collect()
    }

    #[test]
    fn the_weights_move_the_border_until_the_sizes_match() {
        let scores = ten_on_a_line();
        let count0 = |s: &[f32]| s.chunks(2).filter(|r| r[0] > r[1]).count();
        assert_eq!(count0(&scores), 6);
        let (w, error) = class_weights(&scores, 2, &[0.5, 0.5]);
        assert!(error <= TOLERANCE, "error {error}");
        assert_eq!(w[0], 1.0);
        assert!(w[1] > 1.0, "{w:?}");
        let mut balanced = scores.clone();
        reweight(&mut balanced, 2, &w);
        assert_eq!(count0(&balanced), 5);
        // Already balanced: nothing moves.
        let (w, _) = class_weights(&balanced, 2, &[0.5, 0.5]);
        let mut again = balanced.clone();
        reweight(&mut again, 2, &w);
        assert_eq!(count0(&again), 5);
    }

    #[test]
    fn a_search_started_at_weights_that_meet_the_sizes_keeps_them() {
        let scores = ten_on_a_line();
        let (w, _) = class_weights(&scores, 2, &[0.3, 0.7]);
        let (again, error) = class_weights_from(&scores, 2, &[0.3, 0.7], w.clone());
        assert_eq!(again, w);
        assert!(error <= TOLERANCE);
        // Weights of the wrong length are not a start: the search begins at ones.
        let (fresh, _) = class_weights_from(&scores, 2, &[0.3, 0.7], vec![5.0; 3]);
        assert_eq!(fresh, w);
    }

    #[test]
    fn an_unreachable_prior_stops_after_the_step_limit() {
        // Three identical rows cannot be split 50/50: the loop ends with an error left.
        let scores = [0.6f32, 0.4, 0.6, 0.4, 0.6, 0.4];
        let (_, error) = class_weights(&scores, 2, &[0.5, 0.5]);
        assert!(error > TOLERANCE);
    }
}
