//! Review pages: the unlabeled items the predictor assigns to one class, most confident
//! first, confirmed a page at a time (`glean label`'s review mode and `glean simulate
//! --review` take their pages from here). Pure: no tch, no files, no drawing.

/// The predictor's first class for an unlabeled pool item, with its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub pool_index: usize,
    pub class: u16,
    pub prob: f32,
}

/// The next page of `class`: up to `size` of `predictions` whose class it is, surest
/// first (ties in pool order), leaving out the items `taken` says are gone (labeled,
/// or on a page already shown).
pub fn next_page(
    predictions: &[Prediction],
    class: u16,
    size: usize,
    taken: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut of_class: Vec<&Prediction> = predictions
        .iter()
        .filter(|p| p.class == class && !taken(p.pool_index))
        .collect();
    let by_sureness = |a: &&Prediction, b: &&Prediction| {
        b.prob
            .total_cmp(&a.prob)
            .then(a.pool_index.cmp(&b.pool_index))
    };
    if of_class.len() > size {
        of_class.select_nth_unstable_by(size, by_sureness);
        of_class.truncate(size);
    }
    of_class.sort_unstable_by(by_sureness);
    of_class.into_iter().map(|p| p.pool_index).collect()
}

/// Keypresses a person spends, counted as `simulate --review` counts them: one per
/// single label, one per mark (an item of a page given its right class) and one per
/// page confirm; moving over the grid is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Keypresses {
    pub singles: usize,
    pub marks: usize,
    pub confirms: usize,
}

impl Keypresses {
    pub fn total(&self) -> usize {
        self.singles + self.marks + self.confirms
    }
}

/// What reviewing one page costs and gives, for an oracle that marks exactly the
/// items whose right class is not the page's and gives each its right class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedPage {
    /// Items that keep the page's class.
    pub confirmed: Vec<usize>,
    /// Items marked, with their right class.
    pub corrected: Vec<(usize, u16)>,
}

/// Reviews `page` (of `class`) as a person who knows every right class would.
pub fn review_page(page: &[usize], class: u16, right: impl Fn(usize) -> u16) -> ReviewedPage {
    type ItemClasses = Vec<(usize, u16)>;
    let (confirmed, corrected): (ItemClasses, ItemClasses) = page
        .iter()
        .map(|&i| (i, right(i)))
        .partition(|&(_, c)| c == class);
    ReviewedPage {
        confirmed: confirmed.into_iter().map(|(i, _)| i).collect(),
        corrected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pool_index: usize, class: u16, prob: f32) -> Prediction {
        Prediction {
            pool_index,
            class,
            prob,
        }
    }

    #[test]
    fn a_page_holds_one_class_surest_first_without_taken_items() {
        let predictions = [
            p(0, 1, 0.5),
            p(1, 0, 0.99),
            p(2, 1, 0.9),
            p(3, 1, 0.7),
            p(4, 1, 0.9),
            p(5, 1, 0.95),
            p(6, 1, 0.2),
        ];
        // Ties (2 and 4 at 0.9) in pool order; item 5 is taken.
        let page = next_page(&predictions, 1, 3, |i| i == 5);
        assert_eq!(page, [2, 4, 3]);
        assert_eq!(
            next_page(&predictions, 1, 10, |_| false),
            [5, 2, 4, 3, 0, 6]
        );
        assert_eq!(next_page(&predictions, 0, 10, |_| false), [1]);
        assert!(next_page(&predictions, 2, 10, |_| false).is_empty());
        assert!(next_page(&predictions, 1, 0, |_| false).is_empty());
    }

    #[test]
    fn reviewing_marks_exactly_the_wrong_items_with_their_right_class() {
        let right = [3u16, 1, 1, 0, 1];
        let reviewed = review_page(&[4, 0, 2, 3], 1, |i| right[i]);
        assert_eq!(reviewed.confirmed, [4, 2]);
        assert_eq!(reviewed.corrected, [(0, 3), (3, 0)]);
        let keys = Keypresses {
            singles: 20,
            marks: reviewed.corrected.len(),
            confirms: 1,
        };
        assert_eq!(keys.total(), 23);
    }
}
