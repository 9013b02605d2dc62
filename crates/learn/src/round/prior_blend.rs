//! How much of the zero-shot head's prior a round's predictions keep, and how sure
//! they say they are: `p ∝ refined^model · prior^prior`, where `refined` is the trained
//! predictor refined into the prior (`zero_shot::refine_with_prior`). The two weights
//! (and the prior's class balancing) are fitted on the labels no ranking chose, each
//! judged by a propagation that did not see it (`GraphLearner::held_out_among`, over
//! `FOLDS` folds, the classes known to a fold being those of every other label), by
//! the mean log-probability of the right class. Weights (1, 0), the refinement alone,
//! and (0, 1), the head alone, are both in the grid. The blend is used while those
//! labels are at least half of all (`blend_in_use`). A temperature
//! (`fit_temperature`) is fitted on the predictions handed out before those labels
//! existed: the probabilities a page and `export --all` show are what the labels bore
//! out.

use tch::{Kind, Tensor};

use crate::LearnError;

/// Folds the labels are split into for the fit: each fold's labels judged by a
/// propagation of the others.
pub const FOLDS: usize = 4;

/// Fewest labels before a fit: below this, each fold holds a label or two and the
/// weights would follow them. Until then the refinement and the head count alike.
pub const MIN_LABELS: usize = 8;

/// The weights tried, for each of the two.
const GRID: [f64; 12] = [0.0, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6];

/// Floor under a probability before its logarithm: a class a predictor gives nothing
/// to must still be possible once blended.
const FLOOR: f64 = 1e-6;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorBlend {
    /// The exponent of the trained predictor (refined into the prior).
    pub model: f64,
    /// The exponent of the head's prior.
    pub prior: f64,
}

impl PriorBlend {
    /// Before enough labels to fit: both alike (their geometric mean).
    pub const EVEN: PriorBlend = PriorBlend {
        model: 0.5,
        prior: 0.5,
    };

    /// `refined` and `prior` (`[n, classes]` probabilities) blended.
    pub fn apply(&self, refined: &Tensor, prior: &Tensor) -> Result<Tensor, LearnError> {
        let _guard = tch::no_grad_guard();
        let logits = refined
            .f_clamp_min(FLOOR)?
            .f_log()?
            .f_mul_scalar(self.model)?
            .f_add(
                &prior
                    .f_clamp_min(FLOOR)?
                    .f_log()?
                    .f_mul_scalar(self.prior)?,
            )?;
        Ok(logits.f_softmax(-1, Kind::Float)?)
    }

    /// The weights of the grid under which `refined` and `prior` (row-major
    /// `[labels, classes]`, each row a held-out prediction) give `labels` the highest
    /// mean log-probability; ties go to the first found (least prior, then least model
    /// weight). Returns the weights and their mean log-probability.
    pub fn fit(
        refined: &[f32],
        prior: &[f32],
        labels: &[u16],
        classes: usize,
    ) -> (PriorBlend, f64) {
        let logs =
            |p: &[f32]| -> Vec<f64> { p.iter().map(|&x| f64::from(x).max(FLOOR).ln()).collect() };
        let (model_log, prior_log) = (logs(refined), logs(prior));
        let mut best = (f64::NEG_INFINITY, PriorBlend::EVEN);
        let mut logits = vec![0f64; classes];
        for &b in &GRID {
            for &a in &GRID {
                if a == 0.0 && b == 0.0 {
                    continue;
                }
                let mut total = 0.0;
                for (row, &label) in labels.iter().enumerate() {
                    let span = row * classes..(row + 1) * classes;
                    for ((l, m), p) in logits
                        .iter_mut()
                        .zip(&model_log[span.clone()])
                        .zip(&prior_log[span])
                    {
                        *l = a * m + b * p;
                    }
                    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let norm = max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
                    total += logits[usize::from(label)] - norm;
                }
                let mean = total / labels.len().max(1) as f64;
                if mean > best.0 {
                    best = (mean, PriorBlend { model: a, prior: b });
                }
            }
        }
        // The weights' ratio is what the held-out labels say; how sharp the blend is,
        // the temperature says, fitted on more (`fit_temperature`): with a dozen
        // labels all right the fit takes the sharpest weights of the grid (the dog
        // photos after 12 labels: a guess at 99.99 % on a breed no label had reached).
        let sum = best.1.model + best.1.prior;
        let ratio = PriorBlend {
            model: best.1.model / sum,
            prior: best.1.prior / sum,
        };
        (ratio, best.0)
    }
}

/// The trained predictor alone where it has labels: refined into the prior for the
/// classes without, nothing of it blended in.
pub const REFINED_ALONE: PriorBlend = PriorBlend {
    model: 1.0,
    prior: 0.0,
};

/// The blend a round hands out with `fitted` and `labels` labels of which the first
/// `unchosen` no ranking picked: `fitted` while those are at least half, else
/// `REFINED_ALONE`. The fit judges propagations from labels like the unchosen ones (a
/// first batch spread over the pool, or random ones); a strategy's picks make a
/// stronger predictor than those say, and one the prior then holds back. CIFAR-10,
/// validation split, margin: the blend 1.3, 2.0 and 0.6 points ahead of the predictor
/// alone at 20, 30 and 40 labels, then 3.5 behind at 50 and 1.2-3 behind to 300
/// (fitted there as at 20: `model^0.35 · prior^2`); random: 9.7, 9.0, 8.3 points ahead
/// at 20-40, level (±1) from 60.
pub fn blend_in_use(fitted: PriorBlend, unchosen: usize, labels: usize) -> PriorBlend {
    if 2 * unchosen >= labels {
        fitted
    } else {
        REFINED_ALONE
    }
}

/// Fewest judged predictions before a temperature is fitted.
pub const MIN_CALIBRATION: usize = 1;
/// How far `log T` strays from 0 a priori (a normal prior's standard deviation): a few
/// judged predictions move the temperature a little, many move it where they say.
pub const TEMPERATURE_SPREAD: f64 = 0.5;
/// The latest judged predictions the temperature is fitted on.
pub const CALIBRATION_WINDOW: usize = 1000;

/// The temperature `T` under which `logits` (row-major `[labels, classes]`, each a
/// prediction handed out before its label existed) give `labels` the highest mean
/// log-probability of `softmax(logits / T)`, with a normal prior on `log T` (mean 0,
/// `TEMPERATURE_SPREAD`): a search over `log T` in [-3, 3] (golden section). The
/// labels must be a fair sample of the pool (drawn at random): a strategy's picks, or
/// the k-means first batch, are where the predictor is least or most sure, and a
/// temperature fitted on them holds nowhere else.
pub fn fit_temperature(logits: &[f32], labels: &[u16], classes: usize) -> f64 {
    let mean_log_prob = |log_t: f64| -> f64 {
        let inverse = (-log_t).exp();
        let mut total = 0.0;
        for (row, &label) in logits.chunks(classes).zip(labels) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let norm: f64 = row
                .iter()
                .map(|&l| ((f64::from(l) - f64::from(max)) * inverse).exp())
                .sum();
            total += (f64::from(row[usize::from(label)]) - f64::from(max)) * inverse - norm.ln();
        }
        let n = labels.len().max(1) as f64;
        total / n - log_t * log_t / (2.0 * TEMPERATURE_SPREAD * TEMPERATURE_SPREAD * n)
    };
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    let (mut low, mut high) = (-3.0f64, 3.0f64);
    for _ in 0..60 {
        let a = high - golden * (high - low);
        let b = low + golden * (high - low);
        if mean_log_prob(a) < mean_log_prob(b) {
            low = a;
        } else {
            high = b;
        }
    }
    (0.5 * (low + high)).exp()
}

impl PriorBlend {
    /// The same blend at temperature `t`: both exponents divided by it.
    pub fn at_temperature(self, t: f64) -> PriorBlend {
        PriorBlend {
            model: self.model / t,
            prior: self.prior / t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_follows_whichever_predictor_the_held_out_labels_bear_out() {
        // Two classes. The model is right on every label, the prior on none.
        let model = [0.9f32, 0.1, 0.2, 0.8, 0.7, 0.3];
        let prior = [0.3f32, 0.7, 0.6, 0.4, 0.4, 0.6];
        let labels = [0u16, 1, 0];
        let (fit, _) = PriorBlend::fit(&model, &prior, &labels, 2);
        assert_eq!(fit.prior, 0.0, "{fit:?}");
        assert_eq!(
            fit.model, 1.0,
            "the ratio; the temperature sharpens, {fit:?}"
        );
        // The other way round.
        let (fit, _) = PriorBlend::fit(&prior, &model, &labels, 2);
        assert_eq!(fit.model, 0.0, "{fit:?}");
        // Applied: the weights as exponents, rows summing to 1.
        let blend = PriorBlend {
            model: 1.0,
            prior: 0.0,
        };
        let m = Tensor::from_slice(&model).view([3, 2]);
        let p = Tensor::from_slice(&prior).view([3, 2]);
        assert!(blend.apply(&m, &p).unwrap().allclose(&m, 1e-5, 1e-5, false));
        let even = PriorBlend::EVEN.apply(&m, &p).unwrap();
        let first = Vec::<f32>::try_from(even.get(0)).unwrap();
        let want = (0.9f64 * 0.3).sqrt() / ((0.9f64 * 0.3).sqrt() + (0.1f64 * 0.7).sqrt());
        assert!((f64::from(first[0]) - want).abs() < 1e-5, "{first:?}");
    }

    #[test]
    fn the_temperature_makes_overconfident_guesses_as_sure_as_they_are_right() {
        // Every guess says 99 % for its first class (logits 0 and -ln 99 ≈ -4.6);
        // 3 of 4 are right: the fitted temperature brings the 99 % to about 75 % (76 %
        // with the prior on 400 judged; 82 % on 40).
        let logits: Vec<f32> = (0..400).flat_map(|_| [0.0f32, -4.595]).collect();
        let labels: Vec<u16> = (0..400).map(|i| u16::from(i % 4 == 3)).collect();
        let t = fit_temperature(&logits, &labels, 2);
        let sure = 1.0 / (1.0 + (-4.595 / t).exp());
        assert!((sure - 0.76).abs() < 0.01, "T {t}: {sure}");
        let t = fit_temperature(&logits[..80], &labels[..40], 2);
        let sure = 1.0 / (1.0 + (-4.595 / t).exp());
        assert!((sure - 0.82).abs() < 0.01, "T {t}: {sure}");
        // Right every time: sharper (99 % right costs little, so not by much).
        let right = vec![0u16; 40];
        assert!(fit_temperature(&logits[..80], &right, 2) < 0.9);
        // Two judged predictions hardly move it: the prior holds log T near 0.
        let few = fit_temperature(&logits[..4], &right[..2], 2);
        assert!((0.75..1.0).contains(&few), "T {few}");
        let blend = PriorBlend::EVEN.at_temperature(2.0);
        assert_eq!((blend.model, blend.prior), (0.25, 0.25));
    }
}
