//! The labeler's state, without I/O: the queue of pool items still to show, the labels
//! given so far (for undo), the trainer's status and accuracy history, and the overlays.
//! Key presses and trainer events go in; [`Effect`]s come out for the event loop to carry
//! out (journal writes, retrain requests, quit), which keeps all of this testable.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use super::guess::{self, GuessSource};
use super::keymap::{Action, Keymap};
use super::picker::ClassPicker;

#[path = "app_keys.rs"]
mod keys;
#[path = "app_mistakes.rs"]
mod mistakes;
#[path = "app_review.rs"]
mod review;
use glean_core::{BackgroundWork, ClassProb, RankedItem, Ranking, TrainerEvent};

use super::types::{ClassView, Effect, Guesses, ItemView, LabelRecord, TrainerStatus};
use mistakes::{Changes, Relabeled};
pub use mistakes::{MistakesPage, MistakesQueue};
use review::Step;
pub use review::{Mark, Mode, ReviewPage, DEFAULT_GRID};

/// With more classes than keys, these keys take the shown guesses, best first.
pub const GUESS_KEYS: [char; 3] = ['1', '2', '3'];

/// Everything the app needs to start: the pool as the screen sees it and the settings.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub classes: Vec<ClassView>,
    pub items: Vec<ItemView>,
    /// Labels per training round.
    pub batch: usize,
    /// Query strategy name, shown before the first ranking arrives.
    pub strategy: String,
    /// Order to show items in until the first ranking arrives.
    pub initial_order: Vec<usize>,
    /// Time between two auto-oracle labels (a pace a person can watch).
    pub auto_interval: Duration,
    /// Whether the data has a labeled test split (else the chart shows accuracy on the
    /// person's own labels).
    pub has_test_split: bool,
    /// The commands' keys.
    pub keymap: Keymap,
}

/// Earlier work, replayed from the session on resume.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// Labels in the order they were given (undo takes them back from the end).
    pub labels: Vec<LabelRecord>,
    pub skipped: Vec<usize>,
    /// (labels, test accuracy) of earlier rounds.
    pub accuracy: Vec<(usize, f64)>,
    /// Model version of the last finished round.
    pub model_version: u64,
}

/// Which overlay, if any, takes the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Picker(ClassPicker),
}

#[derive(Debug, Clone)]
pub struct App {
    pub classes: Vec<ClassView>,
    /// More classes than keys (`dataset::keyed_class_capacity`): no class has a key,
    /// and `GUESS_KEYS` take the guesses.
    pub many_classes: bool,
    pub items: Vec<ItemView>,
    pub batch: usize,
    queue: VecDeque<usize>,
    labels: Vec<Option<u16>>,
    skipped: Vec<bool>,
    /// Items that could not be decoded: never shown.
    unusable: Vec<bool>,
    history: Vec<LabelRecord>,
    /// Per label of `history`: whether the guess shown first was right (None: none).
    shown_hits: Vec<Option<bool>>,
    /// What undo takes back, newest last: one label, or a whole review page (the
    /// labels at the end of `history`).
    steps: Vec<Step>,
    /// Single-image labeling or review pages.
    mode: Mode,
    /// The review page on screen (kept while labeling single images, so that the
    /// marks wait for the way back).
    page: Option<ReviewPage>,
    /// The class reviewed now, or next when there is no page.
    review_class: u16,
    /// Columns and rows of the review grid: a page holds that many images.
    grid: (usize, usize),
    /// Items marked "not this class" on a confirmed page, with that class: left out of
    /// its later pages.
    rejected: HashSet<(usize, u16)>,
    /// The likely-mistakes queue, its page and the request for it.
    mistakes: mistakes::Mistakes,
    /// The backbone's zero-shot guesses, by pool item.
    suggested: HashMap<usize, Vec<ClassProb>>,
    pub has_test_split: bool,
    per_class: Vec<usize>,
    labels_since_round: usize,
    /// Scores and predictions of the latest ranking, by pool index.
    ranked: RankedByItem,
    pub strategy: String,
    pub learner: Option<String>,
    /// Labels the latest ranking learned from; None until the first ranking.
    pub ranking_labels: Option<usize>,
    pub trainer: TrainerStatus,
    /// What the trainer does beside its rounds (the autoencoder), until it joins them.
    pub background: Option<BackgroundWork>,
    pub model_version: u64,
    pub device: Option<String>,
    /// The network's name (`cnn`, `effnet-lite0`), once the trainer is ready.
    pub network: Option<String>,
    pub last_round: Option<Duration>,
    pub last_error: Option<String>,
    pub accuracy: Vec<(usize, f64)>,
    pub overlay: Overlay,
    pub auto: bool,
    auto_interval: Duration,
    last_auto: Option<Duration>,
    /// A short note for the person (e.g. "nothing to undo"); cleared by the next key.
    pub message: Option<String>,
    /// A standing note from the wiring, shown beside the guesses for the whole session
    /// (e.g. that photos are learned from pixels, with no backbone installed).
    pub notice: Option<String>,
    pub quit: bool,
    pub keymap: Keymap,
}

impl App {
    pub fn new(config: AppConfig, restored: Restored) -> Self {
        let n = config.items.len();
        let mut classes = assign_keys(config.classes, &config.keymap);
        let many_classes = classes.len() > glean_dataset::keyed_class_capacity();
        if many_classes {
            for class in &mut classes {
                class.key = None;
            }
        }
        let mut labels = vec![None; n];
        let mut per_class = vec![0; classes.len()];
        let mut history = Vec::with_capacity(restored.labels.len());
        for record in restored.labels {
            if record.item < n && usize::from(record.class) < classes.len() {
                if let Some(old) = labels[record.item].replace(record.class) {
                    per_class[usize::from(old)] -= 1;
                    history.retain(|r: &LabelRecord| r.item != record.item);
                }
                per_class[usize::from(record.class)] += 1;
                history.push(record);
            }
        }
        // Each label judged by the guess shown when it was given.
        let shown_hits: Vec<Option<bool>> = history
            .iter()
            .map(|record| guess::shown(&record.guessed).map(|c| c == record.class))
            .collect();
        let mut skipped = vec![false; n];
        for &item in &restored.skipped {
            if item < n {
                skipped[item] = true;
            }
        }
        // A page's labels (consecutive, with its number) are one step, as when given;
        // a likely-mistakes page's changes one step after the labels that stood then.
        let mut corrections: BTreeMap<(usize, u64), Changes> = BTreeMap::new();
        for record in &history {
            if let Some(c) = record.corrected {
                corrections.entry((c.after, c.page)).or_default().push((
                    record.item,
                    c.was,
                    record.class,
                ));
            }
        }
        let mut corrections = corrections.into_iter().peekable();
        let mut steps: Vec<Step> = Vec::with_capacity(history.len());
        for (at, record) in history.iter().enumerate() {
            while let Some(((_, _), changed)) = corrections.next_if(|((after, _), _)| *after <= at)
            {
                steps.push(Step::Relabel(Relabeled {
                    page: None,
                    changed,
                }));
            }
            match (
                record.page,
                at.checked_sub(1).map(|before| history[before].page),
            ) {
                (Some(page), Some(Some(before))) if page == before => {
                    if let Some(Step::Page { labeled, .. }) = steps.last_mut() {
                        *labeled += 1;
                    }
                }
                (Some(_), _) => steps.push(Step::Page {
                    page: None,
                    labeled: 1,
                }),
                (None, _) => steps.push(Step::Label),
            }
        }
        steps.extend(corrections.map(|(_, changed)| {
            Step::Relabel(Relabeled {
                page: None,
                changed,
            })
        }));
        let mut app = App {
            classes,
            many_classes,
            items: config.items,
            batch: config.batch.max(1),
            queue: VecDeque::new(),
            labels,
            skipped,
            unusable: vec![false; n],
            labels_since_round: 0,
            history,
            shown_hits,
            steps,
            mode: Mode::Single,
            page: None,
            review_class: 0,
            grid: DEFAULT_GRID,
            rejected: HashSet::new(),
            mistakes: mistakes::Mistakes::default(),
            suggested: HashMap::new(),
            has_test_split: config.has_test_split,
            per_class,
            ranked: RankedByItem::default(),
            strategy: config.strategy,
            learner: None,
            ranking_labels: None,
            trainer: TrainerStatus::Starting,
            background: None,
            model_version: restored.model_version,
            device: None,
            network: None,
            last_round: None,
            last_error: None,
            accuracy: restored.accuracy,
            overlay: Overlay::None,
            auto: false,
            auto_interval: config.auto_interval,
            last_auto: None,
            message: None,
            notice: None,
            quit: false,
            keymap: config.keymap,
        };
        app.rebuild_queue(&config.initial_order, None);
        app
    }

    /// Pool index of the image on screen, if any is left.
    pub fn current(&self) -> Option<usize> {
        self.queue.front().copied()
    }

    /// The next `n` items after the current one (for prefetching their images).
    pub fn upcoming(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        self.queue.iter().skip(1).take(n).copied()
    }

    /// Why the current item was picked and what the model predicts for it.
    pub fn current_ranking(&self) -> Option<&RankedItem> {
        self.current().and_then(|item| self.ranked.get(item))
    }

    /// The guesses shown for `item`, best first, and where they come from: the
    /// model's ranking's when it has some, else the zero-shot suggestions.
    pub fn guesses_for(&self, item: usize) -> Option<(GuessSource, &[ClassProb])> {
        let model = self
            .ranked
            .get(item)
            .map(|r| r.top.as_slice())
            .filter(|t| !t.is_empty());
        let zero_shot = self
            .suggested
            .get(&item)
            .map(Vec::as_slice)
            .filter(|t| !t.is_empty());
        model
            .map(|t| (GuessSource::Model, t))
            .or(zero_shot.map(|t| (GuessSource::ZeroShot, t)))
    }

    /// The guesses for the image on screen.
    pub fn current_guesses(&self) -> Option<(GuessSource, &[ClassProb])> {
        self.current().and_then(|item| self.guesses_for(item))
    }

    /// The top class of each predictor for `item`, as known now.
    fn guessed(&self, item: usize) -> Guesses {
        let first = |top: Option<&[ClassProb]>| top.and_then(|t| t.first()).map(|p| p.class);
        Guesses {
            model: first(self.ranked.get(item).map(|r| r.top.as_slice())),
            zero_shot: first(self.suggested.get(&item).map(Vec::as_slice)),
        }
    }

    /// The accuracy chart's points when there is no test split: how often the guess
    /// shown first was right, over the last labels, after every batch.
    pub fn label_accuracy(&self) -> Vec<(usize, f64)> {
        guess::chart(&self.shown_hits, self.batch)
    }

    /// The same over the audit picks alone (drawn at random, so a fair sample of the
    /// pool, where the strategy's picks are its hardest items), and how many of them
    /// were judged; None below `guess::MIN_AUDITS`.
    pub fn audit_accuracy(&self) -> Option<(Vec<(usize, f64)>, usize)> {
        let hits: Vec<Option<bool>> = self
            .history
            .iter()
            .zip(&self.shown_hits)
            .map(|(record, &hit)| hit.filter(|_| record.audit))
            .collect();
        let judged = hits.iter().flatten().count();
        (judged >= guess::MIN_AUDITS).then(|| (guess::chart(&hits, self.batch), judged))
    }

    /// How many pool items could not be decoded.
    pub fn unusable_count(&self) -> usize {
        self.unusable.iter().filter(|&&u| u).count()
    }

    pub fn labeled(&self) -> usize {
        self.history.len()
    }

    pub fn pool_size(&self) -> usize {
        self.items.len()
    }

    pub fn label_of(&self, item: usize) -> Option<u16> {
        self.labels.get(item).copied().flatten()
    }

    pub fn per_class(&self) -> &[usize] {
        &self.per_class
    }

    pub fn labels_since_round(&self) -> usize {
        self.labels_since_round
    }

    pub fn history(&self) -> &[LabelRecord] {
        &self.history
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        vec![Effect::Quit]
    }

    fn toggle_auto(&mut self) {
        self.set_auto(!self.auto);
    }

    /// Turn the auto-oracle on or off; it stays off when no name tells a label.
    pub fn set_auto(&mut self, on: bool) {
        if on && self.items.iter().all(|item| item.oracle.is_none()) {
            self.message = Some("auto-oracle: no labels known from the names".into());
            self.auto = false;
            return;
        }
        self.auto = on;
        self.last_auto = None;
    }

    /// Label the image on screen with `class`.
    pub fn label_current(&mut self, class: u16) -> Vec<Effect> {
        self.label_current_by(class, false)
    }

    fn label_current_by(&mut self, class: u16, oracle: bool) -> Vec<Effect> {
        if usize::from(class) >= self.classes.len() {
            return Vec::new();
        }
        let Some(item) = self.queue.pop_front() else {
            self.message = Some("every item is labeled".into());
            return Vec::new();
        };
        let guessed = self.guessed(item);
        let shown = guess::shown(&guessed);
        let audit = self.ranked.get(item).is_some_and(|r| r.audit);
        self.record_label(item, class, guessed, shown.map(|c| c == class), audit);
        self.steps.push(Step::Label);
        let mut effects = vec![Effect::Label {
            item,
            class,
            oracle,
            guessed,
            audit,
        }];
        effects.extend(self.count_toward_batch(1));
        effects
    }

    /// Note a label of `item` (its effect is the caller's).
    fn record_label(
        &mut self,
        item: usize,
        class: u16,
        guessed: Guesses,
        hit: Option<bool>,
        audit: bool,
    ) {
        self.labels[item] = Some(class);
        self.skipped[item] = false;
        self.per_class[usize::from(class)] += 1;
        // A live page is its own undo step (`Step::Page`); the number is for resumes.
        self.history.push(LabelRecord {
            item,
            class,
            guessed,
            page: None,
            corrected: None,
            audit,
        });
        self.shown_hits.push(hit);
    }

    /// Count `labels` new labels toward the batch: a full batch asks for a round.
    fn count_toward_batch(&mut self, labels: usize) -> Option<Effect> {
        self.labels_since_round += labels;
        if self.labels_since_round < self.batch {
            return None;
        }
        self.labels_since_round = 0;
        if matches!(self.trainer, TrainerStatus::Idle) {
            self.trainer = TrainerStatus::Training {
                step: 0,
                steps: 0,
                loss: None,
            };
        }
        Some(Effect::Retrain)
    }

    /// Take back the last thing done: a label, or a whole review page.
    fn undo(&mut self) -> Vec<Effect> {
        let effects = match self.steps.pop() {
            None => {
                self.message = Some("nothing to undo".into());
                Vec::new()
            }
            Some(Step::Label) => self.undo_label(),
            Some(Step::Page { page, labeled }) => self.undo_page(page, labeled),
            Some(Step::Relabel(relabeled)) => self.undo_relabel(relabeled),
        };
        // A label taken back leaves the likely-mistakes page it may be on.
        self.prune_mistakes_page();
        effects
    }

    fn undo_label(&mut self) -> Vec<Effect> {
        let Some(record) = self.history.pop() else {
            self.message = Some("nothing to undo".into());
            return Vec::new();
        };
        self.shown_hits.pop();
        self.labels[record.item] = None;
        self.per_class[usize::from(record.class)] -= 1;
        self.labels_since_round = self.labels_since_round.saturating_sub(1);
        self.queue.retain(|&i| i != record.item);
        self.queue.push_front(record.item);
        vec![Effect::Undo {
            item: record.item,
            class: record.class,
        }]
    }

    fn skip(&mut self) -> Vec<Effect> {
        let Some(item) = self.queue.pop_front() else {
            return Vec::new();
        };
        self.skipped[item] = true;
        self.queue.push_back(item);
        vec![Effect::Skip { item }]
    }

    /// A clock tick (`now` counts from the start of the loop): drives the auto-oracle.
    pub fn on_tick(&mut self, now: Duration) -> Vec<Effect> {
        if !self.auto || self.overlay != Overlay::None {
            return Vec::new();
        }
        if self
            .last_auto
            .is_some_and(|last| now.saturating_sub(last) < self.auto_interval)
        {
            return Vec::new();
        }
        match self.mode {
            Mode::Single => self.auto_single(now),
            Mode::Review => self.auto_review(now),
            Mode::Mistakes => self.auto_mistakes(now),
        }
    }

    /// The auto-oracle's label of the image on screen.
    fn auto_single(&mut self, now: Duration) -> Vec<Effect> {
        let Some(item) = self.current() else {
            self.auto = false;
            return Vec::new();
        };
        match self.items[item].oracle {
            Some(class) => {
                self.last_auto = Some(now);
                self.perform(Action::Label {
                    class,
                    oracle: true,
                })
            }
            None => {
                self.auto = false;
                self.message = Some(format!(
                    "auto-oracle stopped: no label known for {}",
                    escape_name(&self.items[item].name)
                ));
                Vec::new()
            }
        }
    }

    pub fn on_trainer(&mut self, event: TrainerEvent) {
        match event {
            // Still `Starting` until the first round (the cold-start ranking) is done.
            TrainerEvent::Preparing {
                what,
                done,
                total,
                per_second,
            } => {
                self.trainer = TrainerStatus::Preparing {
                    what: what.to_string(),
                    done,
                    total,
                    per_second,
                };
            }
            TrainerEvent::Background(work) => self.background = work,
            TrainerEvent::Suggested { items } => self.suggested.extend(items),
            TrainerEvent::Unusable { items } => self.leave_out(items),
            TrainerEvent::Ready {
                device, network, ..
            } => {
                self.device = Some(device);
                self.network = Some(network);
                self.trainer = TrainerStatus::Starting;
            }
            TrainerEvent::RoundStarted { .. } => {
                self.trainer = TrainerStatus::Training {
                    step: 0,
                    steps: 0,
                    loss: None,
                };
            }
            TrainerEvent::Progress {
                step, steps, loss, ..
            } => {
                self.trainer = TrainerStatus::Training {
                    step,
                    steps,
                    loss: Some(loss as f32),
                };
            }
            TrainerEvent::Scoring { .. } => self.trainer = TrainerStatus::Scoring,
            TrainerEvent::Evaluated {
                labels, accuracy, ..
            } => {
                self.accuracy.retain(|&(l, _)| l != labels);
                self.accuracy.push((labels, accuracy));
                self.accuracy.sort_by_key(|&(l, _)| l);
            }
            TrainerEvent::Ranked {
                ranking, labels, ..
            } => self.apply_ranking(ranking, labels),
            TrainerEvent::RoundDone { model, times, .. } => {
                self.trainer = TrainerStatus::Idle;
                self.model_version = model;
                self.last_round = Some(times.elapsed());
                self.last_error = None;
            }
            TrainerEvent::Cancelled { .. } => self.trainer = TrainerStatus::Idle,
            TrainerEvent::Suspects {
                request,
                labels,
                suspects,
                ..
            } => self.on_suspects(request, labels, suspects),
            TrainerEvent::MistakesFailed { request, message } => {
                self.on_mistakes_failed(request, message)
            }
            TrainerEvent::Error { message, .. } => {
                self.trainer = TrainerStatus::Idle;
                self.last_error = Some(message);
            }
        }
    }

    /// Items that could not be decoded leave the queue for good.
    fn leave_out(&mut self, items: Vec<(usize, String)>) {
        let Some((first, why)) = items.first().cloned() else {
            return;
        };
        for (item, _) in &items {
            if let Some(u) = self.unusable.get_mut(*item) {
                *u = true;
            }
        }
        let keep = self.current().filter(|&i| !self.unusable[i]);
        let order: Vec<usize> = self.queue.iter().copied().collect();
        self.rebuild_queue(&order, keep);
        self.drop_from_page(|app, item| app.unusable[item]);
        self.message = Some(if items.len() == 1 {
            format!(
                "{} could not be decoded ({why}): left out",
                escape_name(&self.items[first].name)
            )
        } else {
            format!(
                "{} images could not be decoded (e.g. {}: {why}): left out",
                items.len(),
                escape_name(&self.items[first].name)
            )
        });
    }

    fn apply_ranking(&mut self, ranking: Ranking, labels: usize) {
        let order: Vec<usize> = ranking.items.iter().map(|r| r.pool_index).collect();
        let network = self.network.as_deref().unwrap_or("network");
        self.strategy = ranking.reason().to_string();
        self.learner = Some(ranking.source.learner_name(network));
        self.ranking_labels = Some(labels);
        self.ranked = RankedByItem::new(ranking.items, self.items.len());
        // The image on screen stays: a key pressed for it must not label its successor.
        let keep = self.current();
        self.rebuild_queue(&order, keep);
        // So does a review page on screen; the next page uses the new predictions.
        if self.mode == Mode::Review && self.page.is_none() {
            self.refresh_page();
        }
    }

    /// New queue: `keep` first, then `order` (unlabeled, not skipped), then the rest of
    /// the old queue in its order (skipped items last), then any unlabeled item left.
    fn rebuild_queue(&mut self, order: &[usize], keep: Option<usize>) {
        let n = self.items.len();
        let mut placed = vec![false; n];
        let mut queue = VecDeque::with_capacity(n);
        let unusable = &self.unusable;
        let mut place = |item: usize, queue: &mut VecDeque<usize>, labels: &[Option<u16>]| {
            if item < n && !placed[item] && labels[item].is_none() && !unusable[item] {
                placed[item] = true;
                queue.push_back(item);
            }
        };
        if let Some(item) = keep {
            place(item, &mut queue, &self.labels);
        }
        for &item in order.iter().filter(|&&i| i < n && !self.skipped[i]) {
            place(item, &mut queue, &self.labels);
        }
        let old: Vec<usize> = self.queue.iter().copied().collect();
        for item in old.into_iter().filter(|&i| !self.skipped[i]) {
            place(item, &mut queue, &self.labels);
        }
        for item in (0..n).filter(|&i| !self.skipped[i]) {
            place(item, &mut queue, &self.labels);
        }
        for item in 0..n {
            place(item, &mut queue, &self.labels);
        }
        self.queue = queue;
    }
}

/// Drop keys that are commands or already taken, so every key does one thing (a class
/// that loses its key is reached by the picker).
fn assign_keys(classes: Vec<ClassView>, keymap: &Keymap) -> Vec<ClassView> {
    let mut taken: Vec<char> = keymap.command_chars();
    classes
        .into_iter()
        .map(|mut class| {
            class.key = class.key.filter(|k| !taken.contains(k) && !k.is_control());
            if let Some(k) = class.key {
                taken.push(k);
            }
            class
        })
        .collect()
}

/// A name safe to print: control characters (and other invisible ones) escaped.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The latest ranking's items, found by pool index: moved in from the ranking whole
/// (a 60,000-item ranking taken in without a map's 60,000 inserts).
#[derive(Debug, Clone, Default)]
struct RankedByItem {
    items: Vec<RankedItem>,
    /// Pool index → index into `items` (`NOT_RANKED`: none).
    position: Vec<u32>,
}

const NOT_RANKED: u32 = u32::MAX;

impl RankedByItem {
    /// `items` of a pool of `pool` items (those outside it are left out).
    fn new(items: Vec<RankedItem>, pool: usize) -> RankedByItem {
        let mut position = vec![NOT_RANKED; pool];
        for (at, item) in items.iter().enumerate() {
            if let (Some(slot), Ok(at)) = (position.get_mut(item.pool_index), u32::try_from(at)) {
                *slot = at;
            }
        }
        RankedByItem { items, position }
    }

    fn get(&self, item: usize) -> Option<&RankedItem> {
        let at = *self.position.get(item)?;
        self.items.get(at as usize)
    }

    /// In the ranking's order.
    fn iter(&self) -> impl Iterator<Item = &RankedItem> {
        self.items.iter()
    }
}
