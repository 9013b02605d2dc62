//! The likely-mistakes queue: every labeled item judged by the graph's propagation of
//! the other folds' labels (on the trainer thread), least believed first, shown a page
//! at a time in the review grid. The person types the right class on a wrong label and
//! confirms the page with one key: its corrections are one journal record, and the
//! labels left unmarked stand as checked. Undo takes a page back as one step.

use std::collections::HashSet;
use std::time::Duration;

use super::{escape_name, Action, App, Effect, Mode};
use crate::keymap::Command;
use glean_core::Suspect;

/// The queue as the trainer computed it.
#[derive(Debug, Clone, PartialEq)]
pub struct MistakesQueue {
    /// The model version on screen when it came: the graph it judged with is the one
    /// that version's round chose.
    pub model_version: u64,
    /// How many labels it judged.
    pub labels: usize,
    /// Every label it judged, least believed first.
    pub suspects: Vec<Suspect>,
}

/// A page of the queue: its next labels not yet checked, least believed first.
#[derive(Debug, Clone, PartialEq)]
pub struct MistakesPage {
    pub cells: Vec<Suspect>,
    /// Per cell: the class the person gave instead of the label's, if any.
    pub marks: Vec<Option<u16>>,
    /// The cell the cursor is on.
    pub cursor: usize,
    /// The page's number in its queue (1 for the first).
    pub number: usize,
}

impl MistakesPage {
    /// How many labels are marked for a new class.
    pub fn marked(&self) -> usize {
        self.marks.iter().filter(|m| m.is_some()).count()
    }

    /// The pool items of the page, in cell order.
    pub fn items(&self) -> impl Iterator<Item = usize> + '_ {
        self.cells.iter().map(|s| s.pool_index)
    }
}

/// The likely-mistakes state of the app.
#[derive(Debug, Clone, Default)]
pub(super) struct Mistakes {
    /// The number of the last request sent; answers to older ones are stale.
    request: u64,
    /// Labels the request waited for judges (None: no request waits).
    pending: Option<usize>,
    /// Why the last request failed.
    error: Option<String>,
    queue: Option<MistakesQueue>,
    /// Items of the queue checked on a confirmed page.
    checked: HashSet<usize>,
    /// Pages of the queue confirmed (the next page's number is one more).
    pages: usize,
    pub(super) page: Option<MistakesPage>,
    /// The mode the queue was opened from: the review key goes back there.
    from: Mode,
}

/// A confirmed likely-mistakes page, as undo takes it back: the page as it was
/// confirmed (None for one confirmed before a resume), and each relabeled item with
/// its old and new class.
#[derive(Debug, Clone)]
pub(super) struct Relabeled {
    pub page: Option<MistakesPage>,
    pub changed: Changes,
}

/// Relabeled items, each with its old and new class.
pub(super) type Changes = Vec<(usize, u16, u16)>;

impl App {
    /// The likely-mistakes queue last computed, if any.
    pub fn mistakes_queue(&self) -> Option<&MistakesQueue> {
        self.mistakes.queue.as_ref()
    }

    /// The likely-mistakes page, if one is made.
    pub fn mistakes_page(&self) -> Option<&MistakesPage> {
        self.mistakes.page.as_ref()
    }

    /// While the trainer computes a queue: how many labels it judges.
    pub fn mistakes_pending(&self) -> Option<usize> {
        self.mistakes.pending
    }

    /// Why the last request for a queue failed.
    pub fn mistakes_error(&self) -> Option<&str> {
        self.mistakes.error.as_deref()
    }

    /// How many labels of the queue were checked on confirmed pages.
    pub fn mistakes_checked(&self) -> usize {
        self.mistakes.checked.len()
    }

    /// How many labels of the queue are still to check (this page's included).
    pub fn mistakes_to_check(&self) -> usize {
        self.mistakes_cells(usize::MAX, &[]).len()
    }

    /// The screen the likely-mistakes queue was opened from.
    pub fn mistakes_from(&self) -> Mode {
        self.mistakes.from
    }

    /// Ask the trainer for the likely mistakes among the labels now, and show the
    /// queue's screen (which says it is being computed until it comes).
    pub(super) fn find_mistakes(&mut self) -> Vec<Effect> {
        if self.history.is_empty() {
            self.message = Some("no labels yet: the likely mistakes are among labels".into());
            return Vec::new();
        }
        if self.mode != Mode::Mistakes {
            self.mistakes.from = self.mode;
        }
        self.mode = Mode::Mistakes;
        let m = &mut self.mistakes;
        m.request += 1;
        m.pending = Some(self.history.len());
        m.error = None;
        m.queue = None;
        m.page = None;
        m.checked.clear();
        m.pages = 0;
        vec![Effect::FindMistakes { request: m.request }]
    }

    /// Back to the screen the queue was opened from.
    pub(super) fn leave_mistakes(&mut self) {
        let from = self.mistakes.from;
        self.set_review(from == Mode::Review);
    }

    /// The trainer's answer: the queue, and its first page.
    pub(super) fn on_suspects(&mut self, request: u64, labels: usize, suspects: Vec<Suspect>) {
        if request != self.mistakes.request {
            return;
        }
        let m = &mut self.mistakes;
        m.pending = None;
        m.queue = Some(MistakesQueue {
            model_version: self.model_version,
            labels,
            suspects,
        });
        m.checked.clear();
        m.pages = 0;
        self.mistakes.page = self.next_mistakes_page();
        if self.mistakes.page.is_none() {
            self.message = Some("the likely-mistakes queue holds no label shown now".into());
        }
    }

    pub(super) fn on_mistakes_failed(&mut self, request: u64, message: String) {
        if request != self.mistakes.request {
            return;
        }
        self.mistakes.pending = None;
        self.message = Some(format!("likely mistakes: {message}"));
        self.mistakes.error = Some(message);
    }

    /// The next page of the queue: up to a page of its labels not checked yet that
    /// still have the class they were judged with.
    fn next_mistakes_page(&self) -> Option<MistakesPage> {
        let cells = self.mistakes_cells(self.page_capacity(), &[]);
        (!cells.is_empty()).then(|| MistakesPage {
            marks: vec![None; cells.len()],
            cells,
            cursor: 0,
            number: self.mistakes.pages + 1,
        })
    }

    /// Up to `size` suspects of the queue, in its order, leaving out the checked ones,
    /// those of `besides`, and labels changed or taken back since it was computed.
    fn mistakes_cells(&self, size: usize, besides: &[usize]) -> Vec<Suspect> {
        let Some(queue) = &self.mistakes.queue else {
            return Vec::new();
        };
        queue
            .suspects
            .iter()
            .filter(|s| {
                self.labels.get(s.pool_index).copied().flatten() == Some(s.given)
                    && !self.unusable[s.pool_index]
                    && !self.mistakes.checked.contains(&s.pool_index)
                    && !besides.contains(&s.pool_index)
            })
            .take(size)
            .copied()
            .collect()
    }

    /// The page shrinks or fills up to the grid's capacity, keeping its marks.
    pub(super) fn fit_mistakes_page(&mut self) {
        let capacity = self.page_capacity();
        let Some(mut page) = self.mistakes.page.take() else {
            return;
        };
        page.cells.truncate(capacity);
        page.marks.truncate(capacity);
        if page.cells.len() < capacity {
            let on_page: Vec<usize> = page.items().collect();
            let more = self.mistakes_cells(capacity - page.cells.len(), &on_page);
            page.marks.extend(more.iter().map(|_| None));
            page.cells.extend(more);
        }
        page.cursor = page.cursor.min(page.cells.len().saturating_sub(1));
        self.mistakes.page = (!page.cells.is_empty()).then_some(page);
    }

    /// Labels changed or taken back since the page was made (an undo) leave it; it
    /// fills up from the queue again, or makes way for the next page.
    pub(super) fn prune_mistakes_page(&mut self) {
        let Some(mut page) = self.mistakes.page.take() else {
            return;
        };
        let keep: Vec<bool> = page
            .cells
            .iter()
            .map(|s| self.labels.get(s.pool_index).copied().flatten() == Some(s.given))
            .collect();
        let cursor_item = page.cells.get(page.cursor).map(|s| s.pool_index);
        let mut kept = keep.iter();
        page.cells.retain(|_| *kept.next().unwrap_or(&true));
        let mut kept = keep.iter();
        page.marks.retain(|_| *kept.next().unwrap_or(&true));
        page.cursor = cursor_item
            .and_then(|item| page.cells.iter().position(|s| s.pool_index == item))
            .unwrap_or(page.cursor)
            .min(page.cells.len().saturating_sub(1));
        if page.cells.is_empty() {
            self.mistakes.page = self.next_mistakes_page();
        } else {
            self.mistakes.page = Some(page);
            self.fit_mistakes_page();
        }
    }

    /// The note when there is no likely-mistakes page.
    pub(super) fn no_mistakes_page(&mut self) -> Vec<Effect> {
        let again = self.keymap.short(Command::Mistakes);
        self.message = Some(if self.mistakes.pending.is_some() {
            "the likely mistakes are being found; the page comes when they are".into()
        } else if self.mistakes.queue.is_some() {
            format!("every label of the queue is checked; {again} finds the likely mistakes anew")
        } else {
            format!("{again} finds the likely mistakes first")
        });
        Vec::new()
    }

    /// Mark the label under the cursor as `class` (its own class, or None, takes the
    /// mark back).
    pub(super) fn mark_mistake(&mut self, class: Option<u16>) -> Vec<Effect> {
        if class.is_some_and(|c| usize::from(c) >= self.classes.len()) {
            return Vec::new();
        }
        let Some(page) = &mut self.mistakes.page else {
            return self.no_mistakes_page();
        };
        let cell = page.cursor;
        let (Some(slot), Some(suspect)) = (page.marks.get_mut(cell), page.cells.get(cell)) else {
            return Vec::new();
        };
        *slot = class.filter(|&c| c != suspect.given);
        Vec::new()
    }

    /// Confirm the page: every marked label takes its new class (one effect, one
    /// journal record), the others stand as checked; then the queue's next page.
    pub(super) fn confirm_mistakes(&mut self, oracle: bool) -> Vec<Effect> {
        let Some(page) = self.mistakes.page.take() else {
            return self.no_mistakes_page();
        };
        let changed: Vec<(usize, u16, u16)> = page
            .cells
            .iter()
            .zip(&page.marks)
            .filter_map(|(s, mark)| mark.map(|class| (s.pool_index, s.given, class)))
            .collect();
        for &(item, old, new) in &changed {
            self.set_class(item, old, new);
        }
        self.mistakes.checked.extend(page.items());
        self.mistakes.pages += 1;
        self.steps.push(super::review::Step::Relabel(Relabeled {
            page: Some(MistakesPage { cursor: 0, ..page }),
            changed: changed.clone(),
        }));
        let mut effects = Vec::new();
        if !changed.is_empty() {
            effects.push(Effect::Relabel {
                items: changed.iter().map(|&(item, _, new)| (item, new)).collect(),
                oracle,
            });
            effects.extend(self.count_toward_batch(changed.len()));
        }
        self.mistakes.page = self.next_mistakes_page();
        if self.mistakes.page.is_none() {
            self.message = Some(format!(
                "every label of the queue is checked; {} finds the likely mistakes anew",
                self.keymap.short(Command::Mistakes)
            ));
        }
        effects
    }

    /// Give labeled `item` class `new` instead of `old`, where undo finds it too.
    fn set_class(&mut self, item: usize, old: u16, new: u16) {
        self.labels[item] = Some(new);
        self.per_class[usize::from(old)] -= 1;
        self.per_class[usize::from(new)] += 1;
        if let Some(record) = self.history.iter_mut().rev().find(|r| r.item == item) {
            record.class = new;
        }
    }

    /// Take back a confirmed likely-mistakes page: its labels get their old classes,
    /// and the page comes back as it was confirmed.
    pub(super) fn undo_relabel(&mut self, relabeled: Relabeled) -> Vec<Effect> {
        let Relabeled { page, changed } = relabeled;
        for &(item, old, new) in &changed {
            self.set_class(item, new, old);
        }
        self.labels_since_round = self.labels_since_round.saturating_sub(changed.len());
        match page {
            Some(page) => {
                for item in page.items() {
                    self.mistakes.checked.remove(&item);
                }
                self.mistakes.pages = page.number - 1;
                self.message = Some(format!(
                    "likely-mistakes page {} taken back ({} labels as they were)",
                    page.number,
                    changed.len()
                ));
                self.mistakes.page = Some(page);
            }
            // Confirmed before a resume: its labels go back, the queue is gone.
            None => {
                self.message = Some(format!(
                    "a likely-mistakes page taken back ({} labels as they were)",
                    changed.len()
                ));
            }
        }
        if changed.is_empty() {
            return Vec::new();
        }
        vec![Effect::UndoRelabel {
            items: changed.iter().map(|&(item, old, _)| (item, old)).collect(),
        }]
    }

    /// The auto-oracle's turn on the likely-mistakes page: mark exactly the labels
    /// whose known class differs from the one given, with that class, and confirm.
    pub(super) fn auto_mistakes(&mut self, now: Duration) -> Vec<Effect> {
        if self.mistakes.pending.is_some() {
            return Vec::new();
        }
        let Some(page) = &self.mistakes.page else {
            self.auto = false;
            self.message = Some(if self.mistakes.queue.is_some() {
                "auto-oracle stopped: every label of the queue is checked".into()
            } else {
                "auto-oracle stopped: no likely-mistakes queue".into()
            });
            return Vec::new();
        };
        let known: Option<Vec<u16>> = page.items().map(|i| self.items[i].oracle).collect();
        let Some(known) = known else {
            let unknown = page
                .items()
                .find(|&i| self.items[i].oracle.is_none())
                .map_or(String::new(), |i| escape_name(&self.items[i].name));
            self.auto = false;
            self.message = Some(format!("auto-oracle stopped: no label known for {unknown}"));
            return Vec::new();
        };
        self.last_auto = Some(now);
        let wanted: Vec<Option<u16>> = page
            .cells
            .iter()
            .zip(&known)
            .map(|(s, &right)| (right != s.given).then_some(right))
            .collect();
        let mut effects = Vec::new();
        for (cell, (&right, wanted)) in known.iter().zip(wanted).enumerate() {
            let marked = self.mistakes.page.as_ref().and_then(|p| p.marks[cell]);
            if marked != wanted {
                if let Some(page) = &mut self.mistakes.page {
                    page.cursor = cell;
                }
                // The label's own class takes a mark the oracle does not share back.
                effects.extend(self.perform(Action::Mark { class: Some(right) }));
            }
        }
        if let Some(page) = &mut self.mistakes.page {
            page.cursor = 0;
        }
        effects.extend(self.perform(Action::ConfirmPage { oracle: true }));
        effects
    }
}
