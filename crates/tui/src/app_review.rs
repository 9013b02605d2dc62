//! Review mode: pages of the unlabeled images the latest ranking's predictor assigns to
//! one class, surest first, shown as a grid (classes with fewer images than a page
//! share one, each image captioned with its class). The person marks the wrong ones (with
//! their class, or as "not this class") and confirms the page with one key; undo takes
//! a page back as one step.

use std::time::Duration;

use super::{escape_name, Action, App, Effect, Guesses};
use crate::keymap::{Command, Direction};
use glean_core::review::{next_page, Prediction};

/// The review grid (columns, rows) until the screen says what fits: a 120×40 terminal's.
pub const DEFAULT_GRID: (usize, usize) = (10, 6);

/// Which screen takes the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// One image at a time, most useful first.
    #[default]
    Single,
    /// Pages of one predicted class.
    Review,
    /// Pages of the likely-mistakes queue: labels the graph doubts, least believed
    /// first.
    Mistakes,
}

/// What the person said about one image of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// It is this class, not the page's.
    Class(u16),
    /// It is not the class it is shown as; no class given, it stays unlabeled.
    NotThis,
}

/// A page of review: images the predictor assigns to `class`, surest first; where they
/// leave room, whole classes that follow it, each surest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPage {
    /// The class the page starts with.
    pub class: u16,
    /// Pool items, by class, surest first.
    pub items: Vec<usize>,
    /// The class each item is shown as.
    pub classes: Vec<u16>,
    /// The predictor's probability of its class for each item when the page was made.
    pub probs: Vec<f32>,
    /// Per item: the person's mark, if any.
    pub marks: Vec<Option<Mark>>,
    /// The cell the cursor is on.
    pub cursor: usize,
}

impl ReviewPage {
    /// The surest and the least sure probability on the page.
    pub fn confidence_range(&self) -> Option<(f32, f32)> {
        let max = self.probs.iter().copied().reduce(f32::max)?;
        let min = self.probs.iter().copied().reduce(f32::min)?;
        Some((max, min))
    }

    /// How many images carry a mark.
    pub fn marked(&self) -> usize {
        self.marks.iter().filter(|m| m.is_some()).count()
    }

    /// How many classes the page shows (more than one where small classes share it).
    pub fn class_count(&self) -> usize {
        let mut classes = self.classes.clone();
        classes.sort_unstable();
        classes.dedup();
        classes.len()
    }

    /// A page (with no marks, cursor on its first cell) of `found` items with their
    /// classes and probabilities; None when empty.
    fn of(found: Vec<(usize, u16, f32)>) -> Option<ReviewPage> {
        let &(_, class, _) = found.first()?;
        Some(ReviewPage {
            class,
            marks: vec![None; found.len()],
            items: found.iter().map(|&(item, _, _)| item).collect(),
            classes: found.iter().map(|&(_, class, _)| class).collect(),
            probs: found.iter().map(|&(_, _, prob)| prob).collect(),
            cursor: 0,
        })
    }

    fn push(&mut self, (item, class, prob): (usize, u16, f32)) {
        self.items.push(item);
        self.classes.push(class);
        self.probs.push(prob);
        self.marks.push(None);
    }

    fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
        self.classes.truncate(len);
        self.probs.truncate(len);
        self.marks.truncate(len);
    }

    fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        let mut at = 0;
        let cursor_item = self.items.get(self.cursor).copied();
        while at < self.items.len() {
            if keep(self.items[at]) {
                at += 1;
            } else {
                self.items.remove(at);
                self.classes.remove(at);
                self.probs.remove(at);
                self.marks.remove(at);
            }
        }
        self.cursor = cursor_item
            .and_then(|item| self.items.iter().position(|&i| i == item))
            .unwrap_or(self.cursor)
            .min(self.items.len().saturating_sub(1));
    }
}

/// One thing undo takes back.
#[derive(Debug, Clone)]
pub(super) enum Step {
    /// The last label of the history.
    Label,
    /// A confirmed page: its `labeled` labels are the last of the history; the page as
    /// it was confirmed comes back on undo, marks and all (None for a page confirmed
    /// before a resume: its labels go back whole, and review goes on from there).
    Page {
        page: Option<ReviewPage>,
        labeled: usize,
    },
    /// A confirmed likely-mistakes page: the labels it changed get their old classes
    /// back.
    Relabel(super::mistakes::Relabeled),
}

impl App {
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The review page, if one is made (also while labeling single images).
    pub fn page(&self) -> Option<&ReviewPage> {
        self.page.as_ref()
    }

    /// The review grid's columns and rows.
    pub fn review_grid(&self) -> (usize, usize) {
        self.grid
    }

    /// How many images a review page holds.
    pub fn page_capacity(&self) -> usize {
        (self.grid.0 * self.grid.1).max(1)
    }

    /// Whether a model has ranked: the cold start predicts no class; every ranking
    /// after a label does (for every image left unlabeled).
    pub fn has_predictions(&self) -> bool {
        self.ranking_labels.is_some_and(|n| n > 0) || self.ranked.iter().any(|r| !r.top.is_empty())
    }

    /// Whether `item` is on screen now: the single image, or a cell of the page.
    pub fn on_screen(&self, item: usize) -> bool {
        match self.mode {
            Mode::Single => self.current() == Some(item),
            Mode::Review | Mode::Mistakes => self.grid_items().contains(&item),
        }
    }

    /// The items of the grid on screen (review or likely-mistakes page), in cell order;
    /// none in single mode.
    pub fn grid_items(&self) -> Vec<usize> {
        match self.mode {
            Mode::Single => Vec::new(),
            Mode::Review => self
                .page
                .as_ref()
                .map(|p| p.items.clone())
                .unwrap_or_default(),
            Mode::Mistakes => self
                .mistakes_page()
                .map(|p| p.items().collect())
                .unwrap_or_default(),
        }
    }

    /// The item under the grid's cursor.
    pub fn grid_cursor_item(&self) -> Option<usize> {
        match self.mode {
            Mode::Single => None,
            Mode::Review => self.page().and_then(|p| p.items.get(p.cursor).copied()),
            Mode::Mistakes => self
                .mistakes_page()
                .and_then(|p| p.cells.get(p.cursor).map(|s| s.pool_index)),
        }
    }

    /// The review grid that fits the screen, from the view: the page shrinks or fills
    /// up to it, keeping its marks. True when it changed.
    pub fn set_review_grid(&mut self, cols: usize, rows: usize) -> bool {
        if (cols, rows) == self.grid || cols == 0 || rows == 0 {
            return false;
        }
        self.grid = (cols, rows);
        let capacity = self.page_capacity();
        if let Some(mut page) = self.page.take() {
            page.truncate(capacity);
            if page.items.len() < capacity {
                let predictions = self.predictions();
                let room = capacity - page.items.len();
                for found in self.page_from(&predictions, page.class, room, &page.items) {
                    page.push(found);
                }
            }
            page.cursor = page.cursor.min(page.items.len().saturating_sub(1));
            self.page = (!page.items.is_empty()).then_some(page);
        }
        self.fit_mistakes_page();
        true
    }

    /// Start (or leave) review mode.
    pub fn set_review(&mut self, on: bool) {
        if on {
            self.mode = Mode::Review;
            self.refresh_page();
        } else {
            self.mode = Mode::Single;
        }
    }

    /// The predictions of the latest ranking: each ranked item's first class.
    fn predictions(&self) -> Vec<Prediction> {
        self.ranked
            .iter()
            .filter_map(|r| {
                r.top.first().map(|p| Prediction {
                    pool_index: r.pool_index,
                    class: p.class,
                    prob: p.prob,
                })
            })
            .collect()
    }

    /// Up to `size` items for a page from `class` (with their classes and
    /// probabilities), leaving out labeled, skipped, unusable and rejected items and
    /// those of `besides`.
    fn page_from(
        &self,
        predictions: &[Prediction],
        class: u16,
        size: usize,
        besides: &[usize],
    ) -> Vec<(usize, u16, f32)> {
        let taken = |item: usize, class: u16| {
            self.labels.get(item).is_none_or(|l| l.is_some())
                || self.skipped[item]
                || self.unusable[item]
                || self.rejected.contains(&(item, class))
                || besides.contains(&item)
        };
        let items = next_page(predictions, class, self.classes.len(), size, taken);
        let prob = |item: usize| {
            self.ranked
                .get(item)
                .and_then(|r| r.top.first())
                .map_or(0.0, |p| p.prob)
        };
        items
            .into_iter()
            .map(|(item, class)| (item, class, prob(item)))
            .collect()
    }

    /// The first page of the classes `start`, `start + step`, … (`count` of them,
    /// wrapping) that has images.
    fn search_page(&self, start: u16, step: isize, count: usize) -> Option<ReviewPage> {
        let n = self.classes.len() as isize;
        if n == 0 {
            return None;
        }
        let predictions = self.predictions();
        let capacity = self.page_capacity();
        (0..count as isize).find_map(|k| {
            let class = (start as isize + k * step).rem_euclid(n) as u16;
            ReviewPage::of(self.page_from(&predictions, class, capacity, &[]))
        })
    }

    /// Show `page` (None: nothing left to review).
    fn show_page(&mut self, page: Option<ReviewPage>) {
        if let Some(page) = &page {
            self.review_class = page.class;
        }
        self.page = page;
    }

    /// The page kept from before without the items labeled or skipped since; a new
    /// one (from the class reviewed last on) when none is left.
    pub(super) fn refresh_page(&mut self) {
        self.drop_from_page(|app, item| {
            app.labels[item].is_some() || app.skipped[item] || app.unusable[item]
        });
        if self.page.is_none() {
            let n = self.classes.len();
            let page = self.search_page(self.review_class, 1, n);
            self.show_page(page);
        }
    }

    /// Take the items `gone` says off the page; an emptied page makes way for the next
    /// (in review mode).
    pub(super) fn drop_from_page(&mut self, gone: impl Fn(&App, usize) -> bool) {
        let Some(mut page) = self.page.take() else {
            return;
        };
        page.retain(|item| !gone(self, item));
        if !page.items.is_empty() {
            self.page = Some(page);
        } else if self.mode == Mode::Review {
            let n = self.classes.len();
            let next = self.search_page(page.class, 1, n);
            self.show_page(next);
        }
    }

    /// A review action in single mode: say where it works.
    fn review_only(&mut self) -> Vec<Effect> {
        self.message = Some(format!(
            "that key works in review ({} switches to it)",
            self.keymap.short(Command::Review)
        ));
        Vec::new()
    }

    /// The note when there is no page.
    pub(super) fn no_page(&mut self) -> Vec<Effect> {
        if self.mode == Mode::Mistakes {
            return self.no_mistakes_page();
        }
        self.message = Some(if self.has_predictions() {
            "no image left that the model assigns to a class".into()
        } else {
            "review needs the model's first ranking; label a batch first".into()
        });
        Vec::new()
    }

    pub(super) fn move_cursor(&mut self, direction: Direction) -> Vec<Effect> {
        let cols = self.grid.0.max(1);
        let grid = match self.mode {
            Mode::Single => return self.review_only(),
            Mode::Review => self.page.as_mut().map(|p| (&mut p.cursor, p.items.len())),
            Mode::Mistakes => self
                .mistakes
                .page
                .as_mut()
                .map(|p| (&mut p.cursor, p.cells.len())),
        };
        let Some((cursor, len)) = grid else {
            return self.no_page();
        };
        let last = len.saturating_sub(1);
        let at = *cursor;
        *cursor = match direction {
            Direction::Left => at.saturating_sub(1),
            Direction::Right => (at + 1).min(last),
            Direction::Up if at >= cols => at - cols,
            Direction::Up => at,
            // Onto the last row even where it is shorter.
            Direction::Down if at / cols < last / cols => (at + cols).min(last),
            Direction::Down => at,
        };
        Vec::new()
    }

    /// Mark the cell under the cursor: `Some(class)` (the page's own class takes the
    /// mark back), or `None`, not this class (pressed again, unmarked).
    pub(super) fn mark(&mut self, class: Option<u16>) -> Vec<Effect> {
        if self.mode != Mode::Review {
            return self.review_only();
        }
        if class.is_some_and(|c| usize::from(c) >= self.classes.len()) {
            return Vec::new();
        }
        let Some(page) = &mut self.page else {
            return self.no_page();
        };
        let cell = page.cursor;
        let (Some(slot), Some(&shown)) = (page.marks.get_mut(cell), page.classes.get(cell)) else {
            return Vec::new();
        };
        *slot = match class {
            None if *slot == Some(Mark::NotThis) => None,
            None => Some(Mark::NotThis),
            Some(c) if c == shown => None,
            Some(c) => Some(Mark::Class(c)),
        };
        Vec::new()
    }

    /// Label the page: unmarked images as the class they are shown as, marked ones as
    /// marked ("not this class" ones stay unlabeled and leave that class's pages); then
    /// the next page.
    pub(super) fn confirm_page(&mut self, oracle: bool) -> Vec<Effect> {
        if self.mode != Mode::Review {
            return self.review_only();
        }
        let Some(page) = self.page.take() else {
            return self.no_page();
        };
        let mut confirmed = Vec::new();
        let mut corrected = Vec::new();
        for ((&item, &shown), mark) in page.items.iter().zip(&page.classes).zip(&page.marks) {
            match mark {
                None => confirmed.push((item, shown)),
                Some(Mark::Class(class)) => corrected.push((item, *class)),
                Some(Mark::NotThis) => {
                    self.rejected.insert((item, shown));
                }
            }
        }
        // In the session's order: confirmed ones first.
        for &(item, class) in &confirmed {
            self.record_label(item, class, Guesses::default(), None, false);
        }
        for &(item, class) in &corrected {
            self.record_label(item, class, Guesses::default(), None, false);
        }
        let labeled = confirmed.len() + corrected.len();
        let mut effects = Vec::new();
        if labeled > 0 {
            self.queue.retain(|&i| self.labels[i].is_none());
            self.steps.push(Step::Page {
                page: Some(ReviewPage {
                    cursor: 0,
                    ..page.clone()
                }),
                labeled,
            });
            effects.push(Effect::ConfirmPage {
                confirmed,
                corrected,
                oracle,
            });
            effects.extend(self.count_toward_batch(labeled));
        }
        let n = self.classes.len();
        let next = self.search_page(page.class, 1, n);
        if next.is_none() {
            self.message = Some("every image the model assigns to a class is reviewed".into());
        }
        self.show_page(next);
        effects
    }

    /// Take back a confirmed page: its labels go, its images return to the pool, and
    /// the page comes back as it was confirmed.
    pub(super) fn undo_page(&mut self, page: Option<ReviewPage>, labeled: usize) -> Vec<Effect> {
        let start = self.history.len().saturating_sub(labeled);
        let records: Vec<_> = self.history.drain(start..).collect();
        self.shown_hits.truncate(start);
        for record in &records {
            self.labels[record.item] = None;
            self.per_class[usize::from(record.class)] -= 1;
            if !self.queue.contains(&record.item) {
                self.queue.push_back(record.item);
            }
        }
        self.labels_since_round = self.labels_since_round.saturating_sub(records.len());
        let effect = Effect::UndoPage {
            items: records.iter().map(|r| r.item).collect(),
        };
        let Some(page) = page else {
            // Confirmed before a resume: what the page showed is not kept.
            self.message = Some(format!(
                "page taken back ({} labels, confirmed before this session)",
                records.len()
            ));
            if self.mode == Mode::Review {
                self.page = None;
                self.refresh_page();
            }
            return vec![effect];
        };
        for ((&item, &shown), mark) in page.items.iter().zip(&page.classes).zip(&page.marks) {
            if *mark == Some(Mark::NotThis) {
                self.rejected.remove(&(item, shown));
            }
        }
        let of = match page.class_count() {
            1 => escape_name(&self.classes[usize::from(page.class)].name),
            n => format!("{n} classes"),
        };
        self.message = Some(format!(
            "page of {of} taken back ({} labels)",
            records.len()
        ));
        self.show_page(Some(page));
        vec![effect]
    }

    /// The previous (`step` -1) or next (+1) class with images to review.
    pub(super) fn other_class(&mut self, step: isize) -> Vec<Effect> {
        if self.mode != Mode::Review {
            return self.review_only();
        }
        // Forward from the page's last class (a page small classes share shows several).
        let from = self
            .page
            .as_ref()
            .map_or(self.review_class, |p| match step {
                1.. => p.classes.last().copied().unwrap_or(p.class),
                _ => p.class,
            });
        let n = self.classes.len();
        let start = (from as isize + step).rem_euclid(n.max(1) as isize) as u16;
        match self.search_page(start, step, n.saturating_sub(1)) {
            Some(page) => self.show_page(Some(page)),
            None if self.page.is_some() => {
                self.message = Some("no other class has images to review".into());
            }
            None => return self.no_page(),
        }
        Vec::new()
    }

    /// The auto-oracle's turn in review: mark exactly the images whose known class is
    /// not the one they are shown as, with that class, and confirm, as a person would.
    pub(super) fn auto_review(&mut self, now: Duration) -> Vec<Effect> {
        if self.page.is_none() {
            self.refresh_page();
        }
        let Some(page) = &self.page else {
            if self.has_predictions() {
                self.auto = false;
                self.message = Some(
                    "auto-oracle stopped: every image the model assigns to a class is reviewed"
                        .into(),
                );
                return Vec::new();
            }
            // No model has ranked yet: single labels until one has, as a person would.
            return self.auto_single(now);
        };
        let known: Option<Vec<u16>> = page.items.iter().map(|&i| self.items[i].oracle).collect();
        let Some(known) = known else {
            let unknown = page
                .items
                .iter()
                .find(|&&i| self.items[i].oracle.is_none())
                .map_or(String::new(), |&i| escape_name(&self.items[i].name));
            self.auto = false;
            self.message = Some(format!("auto-oracle stopped: no label known for {unknown}"));
            return Vec::new();
        };
        self.last_auto = Some(now);
        let shown = page.classes.clone();
        let marks = page.marks.clone();
        let mut effects = Vec::new();
        for (cell, ((&right, &shown), mark)) in known.iter().zip(&shown).zip(&marks).enumerate() {
            let wanted = (right != shown).then_some(Mark::Class(right));
            if *mark != wanted {
                if let Some(page) = &mut self.page {
                    page.cursor = cell;
                }
                // A mark the oracle does not share is taken back with the class shown.
                effects.extend(self.perform(Action::Mark { class: Some(right) }));
            }
        }
        if let Some(page) = &mut self.page {
            page.cursor = 0;
        }
        effects.extend(self.perform(Action::ConfirmPage { oracle: true }));
        effects
    }
}
