//! Which guesses the screen shows for an image, the trained model's or the backbone's
//! own ImageNet classifier's (zero-shot), and how often the shown guess was right. Both
//! are judged the same way: on the labels the person gave, each against the guess
//! made before it existed.

use glean_session::Guesses;

/// The labels, newest first, over which the model and the zero-shot guesses are
/// compared.
pub const COMPARE_WINDOW: usize = 100;
/// Labels both must have guessed before the model can take over.
pub const MIN_COMPARED: usize = 10;
/// Labels the accuracy chart averages over when there is no test split.
pub const CHART_WINDOW: usize = 50;

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

/// The zero-shot guesses until the model was right more often than they were, on the
/// last `COMPARE_WINDOW` labels both had guessed (at least `MIN_COMPARED` of them).
pub fn preferred<'a>(history: impl DoubleEndedIterator<Item = (&'a Guesses, u16)>) -> GuessSource {
    let (mut compared, mut model, mut zero_shot) = (0, 0, 0);
    for (guessed, class) in history.rev() {
        let (Some(m), Some(z)) = (guessed.model, guessed.zero_shot) else {
            continue;
        };
        compared += 1;
        model += usize::from(m == class);
        zero_shot += usize::from(z == class);
        if compared == COMPARE_WINDOW {
            break;
        }
    }
    if compared >= MIN_COMPARED && model > zero_shot {
        GuessSource::Model
    } else {
        GuessSource::ZeroShot
    }
}

/// The class the screen showed first for an item with these guesses, from `source`
/// when it had a guess, else from the other.
pub fn shown(guessed: &Guesses, source: GuessSource) -> Option<u16> {
    match source {
        GuessSource::Model => guessed.model.or(guessed.zero_shot),
        GuessSource::ZeroShot => guessed.zero_shot.or(guessed.model),
    }
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
    fn the_model_takes_over_once_it_is_right_more_often() {
        // Ten labels both guessed: the model right on 6, zero-shot on 5.
        let mut history: Vec<(Guesses, u16)> = (0..10)
            .map(|i| {
                (
                    g(
                        Some(if i < 6 { 1 } else { 0 }),
                        Some(if i < 5 { 1 } else { 2 }),
                    ),
                    1,
                )
            })
            .collect();
        let prefer = |h: &[(Guesses, u16)]| preferred(h.iter().map(|(g, c)| (g, *c)));
        assert_eq!(prefer(&history), GuessSource::Model);
        // A tie keeps the zero-shot guesses, and so do fewer than ten compared labels.
        history[5].0.model = Some(0);
        assert_eq!(prefer(&history), GuessSource::ZeroShot);
        history[5].0.model = Some(1);
        assert_eq!(prefer(&history[1..]), GuessSource::ZeroShot);
        // Labels only one of them guessed are not compared.
        history.extend((0..5).map(|_| (g(Some(1), None), 1)));
        assert_eq!(prefer(&history), GuessSource::Model);
    }

    #[test]
    fn only_the_last_window_counts() {
        // 100 old labels the model got right, then 100 it got wrong.
        let history: Vec<(Guesses, u16)> = (0..200)
            .map(|i| {
                let model = if i < 100 { 1 } else { 0 };
                (g(Some(model), Some(if i % 2 == 0 { 1 } else { 0 })), 1)
            })
            .collect();
        assert_eq!(
            preferred(history.iter().map(|(g, c)| (g, *c))),
            GuessSource::ZeroShot
        );
    }

    #[test]
    fn shown_falls_back_to_the_guess_there_is() {
        assert_eq!(shown(&g(Some(1), Some(2)), GuessSource::Model), Some(1));
        assert_eq!(shown(&g(Some(1), Some(2)), GuessSource::ZeroShot), Some(2));
        assert_eq!(shown(&g(None, Some(2)), GuessSource::Model), Some(2));
        assert_eq!(shown(&g(None, None), GuessSource::Model), None);
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
