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

/// The next page from class `start` (of `classes`): up to `size` of `predictions`
/// whose class it is, surest first (ties in pool order). Where they leave room, the
/// next classes in order (wrapping) that fit whole follow, each surest first: a folder
/// of many classes with few images each is reviewed a page of classes at a time, not
/// a page per image. Leaves out the items `taken` says are gone for their class
/// (labeled, rejected, or on a page already shown). Empty when `start` has nothing.
pub fn next_page(
    predictions: &[Prediction],
    start: u16,
    classes: usize,
    size: usize,
    taken: impl Fn(usize, u16) -> bool,
) -> Vec<(usize, u16)> {
    let classes = classes.max(usize::from(start) + 1);
    let mut by_class: Vec<Vec<&Prediction>> = vec![Vec::new(); classes];
    for p in predictions {
        if usize::from(p.class) < classes && !taken(p.pool_index, p.class) {
            by_class[usize::from(p.class)].push(p);
        }
    }
    let by_sureness = |a: &&Prediction, b: &&Prediction| {
        b.prob
            .total_cmp(&a.prob)
            .then(a.pool_index.cmp(&b.pool_index))
    };
    let mut page = Vec::new();
    for k in 0..classes {
        let class = (usize::from(start) + k) % classes;
        let of_class = &mut by_class[class];
        let room = size - page.len();
        if room == 0 || (k == 0 && of_class.is_empty()) {
            break;
        }
        if k > 0 && of_class.len() > room {
            continue;
        }
        if of_class.len() > room {
            of_class.select_nth_unstable_by(room, by_sureness);
            of_class.truncate(room);
        }
        of_class.sort_unstable_by(by_sureness);
        page.extend(of_class.iter().map(|p| (p.pool_index, p.class)));
    }
    page
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
/// items whose right class is not the one they are shown as, and gives each its right
/// class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedPage {
    /// Items that keep the class they are shown as.
    pub confirmed: Vec<usize>,
    /// Items marked, with their right class.
    pub corrected: Vec<(usize, u16)>,
}

/// Reviews `page` (items with the class each is shown as) as a person who knows every
/// right class would.
pub fn review_page(page: &[(usize, u16)], right: impl Fn(usize) -> u16) -> ReviewedPage {
    let mut reviewed = ReviewedPage {
        confirmed: Vec::new(),
        corrected: Vec::new(),
    };
    for &(item, shown) in page {
        match right(item) {
            class if class == shown => reviewed.confirmed.push(item),
            class => reviewed.corrected.push((item, class)),
        }
    }
    reviewed
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

    fn items(page: &[(usize, u16)]) -> Vec<usize> {
        page.iter().map(|&(i, _)| i).collect()
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
        let page = next_page(&predictions, 1, 2, 3, |i, _| i == 5);
        assert_eq!(page, [(2, 1), (4, 1), (3, 1)]);
        // Class 1 fills the page but for one place: class 0's one item takes it.
        assert_eq!(
            items(&next_page(&predictions, 1, 2, 10, |_, _| false)),
            [5, 2, 4, 3, 0, 6, 1]
        );
        assert_eq!(next_page(&predictions, 0, 2, 1, |_, _| false), [(1, 0)]);
        assert!(next_page(&predictions, 2, 3, 10, |_, _| false).is_empty());
        assert!(next_page(&predictions, 1, 2, 0, |_, _| false).is_empty());
        // An item taken for its class only.
        let taken_as_1 = |i: usize, class: u16| i == 5 && class == 1;
        assert_eq!(next_page(&predictions, 1, 2, 1, taken_as_1), [(2, 1)]);
    }

    #[test]
    fn small_classes_share_a_page_whole_in_class_order() {
        // Class 0: 3 items, 1: 1, 2: 2, 3: 1; pages of 4 from class 1.
        let predictions = [
            p(0, 0, 0.9),
            p(1, 0, 0.8),
            p(2, 0, 0.7),
            p(3, 1, 0.6),
            p(4, 2, 0.5),
            p(5, 2, 0.95),
            p(6, 3, 0.4),
        ];
        // 1, then 2 (surest first), then 3; class 0 does not fit whole and is passed.
        assert_eq!(
            next_page(&predictions, 1, 4, 4, |_, _| false),
            [(3, 1), (5, 2), (4, 2), (6, 3)]
        );
        // From class 0 (3 items): 1 fits in the place left, 2 then does not, 3 is past it.
        assert_eq!(
            items(&next_page(&predictions, 0, 4, 4, |_, _| false)),
            [0, 1, 2, 3]
        );
        // From class 3, wrapping to 0, which fills the 3 places left.
        assert_eq!(
            items(&next_page(&predictions, 3, 4, 4, |_, _| false)),
            [6, 0, 1, 2]
        );
        // With item 0 taken, 0's two and 1's one fill them.
        assert_eq!(
            items(&next_page(&predictions, 3, 4, 4, |i, _| i == 0)),
            [6, 1, 2, 3]
        );
    }

    #[test]
    fn reviewing_marks_exactly_the_wrong_items_with_their_right_class() {
        let right = [3u16, 1, 1, 0, 1];
        let reviewed = review_page(&[(4, 1), (0, 1), (2, 1), (3, 1), (1, 2)], |i| right[i]);
        assert_eq!(reviewed.confirmed, [4, 2]);
        assert_eq!(reviewed.corrected, [(0, 3), (3, 0), (1, 1)]);
        let keys = Keypresses {
            singles: 20,
            marks: reviewed.corrected.len(),
            confirms: 1,
        };
        assert_eq!(keys.total(), 24);
    }
}
