//! Which guesses the screen shows for an image, and how often the shown guess was
//! right. The trained model's ranking carries them once there is one: where the
//! backbone's own ImageNet classifier (zero-shot) can name the classes, the model's
//! predictions already refine its guesses (`glean_learn::backbone::zero_shot`,
//! `prior_blend`), so one predictor is shown everywhere. Before the first ranking, the
//! zero-shot suggestions stand in.

use glean_session::Guesses;

/// Labels the accuracy chart averages over when there is no test split.
pub const CHART_WINDOW: usize = 50;

/// Audit picks judged before the chart shows their share right instead of all labels'.
pub const MIN_AUDITS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuessSource {
    Model,
    ZeroShot,
}

impl GuessSource {
    pub fn describe(self) -> &'static str {
        match self {
            GuessSource::Model => "model",
            GuessSource::ZeroShot => "ImageNet guess",
        }
    }
}

/// The class the screen showed first for an item with these guesses: the model's
/// when it had one, else the zero-shot suggestion.
pub fn shown(guessed: &Guesses) -> Option<u16> {
    guessed.model.or(guessed.zero_shot)
}

/// The accuracy chart without a test split: after every `every` labels, the share of
/// the last `CHART_WINDOW` shown guesses that were right (labels with no guess shown
/// are left out). `hits[i]` is label i's: None when nothing was guessed.
pub fn chart(hits: &[Option<bool>], every: usize) -> Vec<(usize, f64)> {
    let every = every.max(1);
    (every..=hits.len())
        .step_by(every)
        .filter_map(|n| {
            let judged: Vec<bool> = hits[..n]
                .iter()
                .rev()
                .flatten()
                .take(CHART_WINDOW)
                .copied()
                .collect();
            (!judged.is_empty()).then(|| {
                let right = judged.iter().filter(|&&h| h).count();
                (n, right as f64 / judged.len() as f64)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(model: Option<u16>, zero_shot: Option<u16>) -> Guesses {
        Guesses { model, zero_shot }
    }

    #[test]
    fn shown_is_the_models_guess_else_the_suggestion() {
        assert_eq!(shown(&g(Some(1), Some(2))), Some(1));
        assert_eq!(shown(&g(None, Some(2))), Some(2));
        assert_eq!(shown(&g(None, None)), None);
    }

    #[test]
    fn the_chart_averages_the_last_guesses_shown() {
        let hits = [
            Some(true),
            None,
            Some(false),
            Some(true),
            Some(true),
            Some(true),
        ];
        assert_eq!(chart(&hits, 2), vec![(2, 1.0), (4, 2.0 / 3.0), (6, 0.8)]);
        assert!(chart(&[None, None], 1).is_empty());
        let many: Vec<Option<bool>> = (0..120).map(|i| Some(i >= 60)).collect();
        // The last 50 of 120 are all right; of the first 60, none.
        assert_eq!(chart(&many, 60), vec![(60, 0.0), (120, 1.0)]);
    }
}
