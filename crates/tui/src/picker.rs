//! The type-to-filter class picker (`/`), for data sets with more classes than keys.

use super::types::ClassView;
use glean_dataset::natural_cmp;

/// Filter text and the highlighted row among the classes that match it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassPicker {
    pub filter: String,
    pub selected: usize,
    /// The image's guesses, best first: listed before the other classes.
    pub guesses: Vec<u16>,
}

impl ClassPicker {
    /// A picker that opens on the image's guesses.
    pub fn with_guesses(guesses: Vec<u16>) -> Self {
        ClassPicker {
            guesses,
            ..ClassPicker::default()
        }
    }

    /// Indices of the classes whose name contains every word of the filter, ignoring case
    /// and treating `_`, `-` and spaces alike: the image's guesses that match first, then
    /// the classes whose name starts with the filter, then the rest, each group in
    /// case-insensitive name order.
    pub fn matches(&self, classes: &[ClassView]) -> Vec<usize> {
        let filter = normalise(&self.filter);
        let words: Vec<&str> = filter.split_whitespace().collect();
        let fits = |i: usize| {
            words
                .iter()
                .all(|w| normalise(&classes[i].name).contains(w))
        };
        let mut out: Vec<usize> = self
            .guesses
            .iter()
            .map(|&g| usize::from(g))
            .filter(|&i| i < classes.len() && fits(i))
            .collect();
        let mut prefix = Vec::new();
        let mut inner = Vec::new();
        for i in sorted_by_name(classes) {
            if out.contains(&i) || !fits(i) {
                continue;
            }
            if normalise(&classes[i].name).starts_with(filter.trim()) {
                prefix.push(i);
            } else {
                inner.push(i);
            }
        }
        out.extend(prefix);
        out.extend(inner);
        out
    }

    pub fn selected_class(&self, classes: &[ClassView]) -> Option<u16> {
        self.matches(classes)
            .get(self.selected)
            .and_then(|&i| u16::try_from(i).ok())
    }

    pub fn move_selection(&mut self, delta: isize, classes: &[ClassView]) {
        let count = self.matches(classes).len();
        if count == 0 {
            self.selected = 0;
            return;
        }
        self.selected = (self.selected as isize + delta).rem_euclid(count as isize) as usize;
    }

    pub fn push_char(&mut self, c: char) {
        if !c.is_control() {
            self.filter.push(c);
            self.selected = 0;
        }
    }

    pub fn pop_char(&mut self) {
        self.filter.pop();
        self.selected = 0;
    }
}

/// Class indices in case-insensitive natural name order (`breed2` before `breed10`;
/// ties: the plain order).
pub fn sorted_by_name(classes: &[ClassView]) -> Vec<usize> {
    let lower: Vec<String> = classes.iter().map(|c| c.name.to_lowercase()).collect();
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by(|&a, &b| {
        natural_cmp(&lower[a], &lower[b]).then_with(|| classes[a].name.cmp(&classes[b].name))
    });
    order
}

fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(names: &[&str]) -> Vec<ClassView> {
        names
            .iter()
            .map(|n| ClassView {
                name: n.to_string(),
                key: None,
            })
            .collect()
    }

    #[test]
    fn filters_by_words_ignoring_case_and_separators() {
        let cs = classes(&["Great_Dane", "great_pyrenees", "Irish_setter", "Dane-like"]);
        let mut p = ClassPicker::default();
        for c in "dane".chars() {
            p.push_char(c);
        }
        // prefix match first, then inner match
        assert_eq!(p.matches(&cs), vec![3, 0]);
        p.filter.clear();
        // Case-insensitive order: Dane-like, Great_Dane, great_pyrenees, Irish_setter.
        assert_eq!(p.matches(&cs), vec![3, 0, 1, 2]);
        p.filter = "GREAT p".into();
        assert_eq!(p.matches(&cs), vec![1]);
        p.filter = "zzz".into();
        assert!(p.matches(&cs).is_empty());
        assert_eq!(p.selected_class(&cs), None);
    }

    #[test]
    fn the_guesses_come_first_while_they_match() {
        let cs = classes(&["beagle", "Great_Dane", "pug", "Boxer"]);
        let mut p = ClassPicker::with_guesses(vec![2, 1]);
        assert_eq!(p.matches(&cs), vec![2, 1, 0, 3]);
        p.filter = "b".into();
        assert_eq!(p.matches(&cs), vec![0, 3]);
        p.filter = "g".into();
        assert_eq!(p.matches(&cs), vec![2, 1, 0]);
    }

    #[test]
    fn selection_wraps_and_resets_on_typing() {
        let cs = classes(&["a1", "a2", "a3"]);
        let mut p = ClassPicker::default();
        p.move_selection(-1, &cs);
        assert_eq!(p.selected, 2);
        p.move_selection(1, &cs);
        assert_eq!(p.selected, 0);
        p.move_selection(1, &cs);
        p.push_char('a');
        assert_eq!(p.selected, 0);
        p.pop_char();
        assert_eq!(p.filter, "");
    }
}
