//! The type-to-filter class picker (`/`), for data sets with more classes than keys.

use super::types::ClassView;

/// Filter text and the highlighted row among the classes that match it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassPicker {
    pub filter: String,
    pub selected: usize,
}

impl ClassPicker {
    /// Indices of the classes whose name contains every word of the filter, ignoring case
    /// and treating `_`, `-` and spaces alike; classes whose name starts with the filter
    /// come first.
    pub fn matches(&self, classes: &[ClassView]) -> Vec<usize> {
        let filter = normalise(&self.filter);
        let words: Vec<&str> = filter.split_whitespace().collect();
        let mut prefix = Vec::new();
        let mut inner = Vec::new();
        for (i, class) in classes.iter().enumerate() {
            let name = normalise(&class.name);
            if words.iter().all(|w| name.contains(w)) {
                if name.starts_with(filter.trim()) {
                    prefix.push(i);
                } else {
                    inner.push(i);
                }
            }
        }
        prefix.extend(inner);
        prefix
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
        p.filter = "GREAT p".into();
        assert_eq!(p.matches(&cs), vec![1]);
        p.filter = "zzz".into();
        assert!(p.matches(&cs).is_empty());
        assert_eq!(p.selected_class(&cs), None);
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
