//! Carrying out the app's effects against the real session and trainer: every label,
//! undo and skip reaches the journal before the next frame; a full batch (or an undo
//! of a label the running round used) sends the trainer a new job; finished rounds and
//! the queue are recorded so a resume shows the same next image.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{bail, Context};

use glean_session::{label_digest, RoundRecord, Session, Source};

use glean_core::{Job, MistakesJob, Ranking, TrainerEvent, TrainerHandle};

use super::app::App;
use super::derived::DerivedWriter;
use super::event_loop::Executor;
use super::types::Effect;

/// How many upcoming items are stored with the session as its queue.
const SAVED_QUEUE: usize = 500;
/// How long quitting waits for the trainer to stop.
pub const STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

/// A job sent to the trainer that has not ended.
struct Outstanding {
    /// Pool items it trains on.
    items: HashSet<usize>,
    /// [`label_digest`] of its labels, recorded with its round.
    digest: u64,
    /// Its labels are the last recorded round's: no new model version, no new record.
    refresh: bool,
}

pub struct SessionExecutor {
    pub session: Session,
    trainer: TrainerHandle,
    /// Pool index → item id (what the session stores).
    ids: std::sync::Arc<[String]>,
    /// Writes the predictions file off the UI thread.
    derived: DerivedWriter,
    /// The learner that made the last ranking (`graph`, `graph+cnn`, …): a round's
    /// record names it.
    ranked_by: String,
    /// Bumped on every change of the labels: the id of the newest job.
    job: u64,
    /// Jobs sent that have not ended (the one running and any queued behind it; the
    /// trainer runs only the newest of those queued).
    outstanding: BTreeMap<u64, Outstanding>,
    /// Jobs cancelled because their labels changed, until their last event: the app
    /// takes none of their events in.
    unwanted: BTreeSet<u64>,
}

impl SessionExecutor {
    /// An executor of `session`'s effects; fails only when its writer thread cannot
    /// start.
    pub fn new(
        mut session: Session,
        trainer: TrainerHandle,
        ids: Vec<String>,
    ) -> std::io::Result<Self> {
        // Compaction rewrites the snapshot: between rankings, never inside a keypress.
        session.defer_compaction();
        let ids: std::sync::Arc<[String]> = ids.into();
        let derived = DerivedWriter::spawn(session.predictions_path(), ids.clone())?;
        Ok(SessionExecutor {
            session,
            trainer,
            ids,
            derived,
            ranked_by: String::new(),
            job: 0,
            outstanding: BTreeMap::new(),
            unwanted: BTreeSet::new(),
        })
    }

    /// Send the trainer a job with every label so far.
    pub fn submit(&mut self, app: &App) {
        self.job += 1;
        let labeled: Vec<(usize, u16)> = app.history().iter().map(|r| (r.item, r.class)).collect();
        let digest = label_digest(
            labeled
                .iter()
                .filter_map(|&(item, class)| Some((self.ids.get(item)?.as_str(), class))),
        );
        // The labels of the last model made (a resume, an undo given back as it was):
        // the round ranks anew but is no new model.
        let refresh = !labeled.is_empty()
            && self.session.rounds().last().and_then(|r| r.label_digest) == Some(digest);
        tracing::info!(
            "round requested: job {} with {} labels{}",
            self.job,
            labeled.len(),
            if refresh {
                " (as the last model's)"
            } else {
                ""
            }
        );
        self.outstanding.insert(
            self.job,
            Outstanding {
                items: labeled.iter().map(|&(item, _)| item).collect(),
                digest,
                refresh,
            },
        );
        let audited = app
            .history()
            .iter()
            .filter(|r| r.audit)
            .map(|r| r.item)
            .collect();
        self.trainer.submit(Job {
            id: self.job,
            labeled,
            audited,
            refresh,
        });
    }

    /// Hands the ranking's first class of every unlabeled item (every pool item
    /// listed) to the writer of the file `export --all` reads, off this thread.
    fn save_predictions(&self, ranking: &Ranking) {
        let mut predicted: Vec<Option<(u16, f32)>> = vec![None; self.ids.len()];
        for ranked in &ranking.items {
            if let (Some(slot), Some(top)) =
                (predicted.get_mut(ranked.pool_index), ranked.top.first())
            {
                *slot = Some((top.class, top.prob));
            }
        }
        self.derived.predictions(predicted);
    }

    fn job_ended(&mut self, job: u64) {
        self.outstanding.retain(|&version, _| version > job);
    }

    /// The labels of `items` were taken back or changed: each round that trains on any
    /// of them, running or queued, is stale; cancel those (a round before them, on
    /// labels that still stand, goes on) and send one with the labels as they are now.
    fn replace_jobs_using(&mut self, items: &[usize], app: &App) {
        let stale: Vec<u64> = self
            .outstanding
            .iter()
            .filter(|(_, job)| items.iter().any(|item| job.items.contains(item)))
            .map(|(&job, _)| job)
            .collect();
        if stale.is_empty() {
            return;
        }
        for job in stale {
            self.trainer.cancel(job);
            self.outstanding.remove(&job);
            self.unwanted.insert(job);
        }
        self.submit(app);
    }

    fn ids_of(&self, items: &[usize]) -> anyhow::Result<Vec<String>> {
        items
            .iter()
            .map(|&item| self.id(item).map(str::to_string))
            .collect()
    }

    fn id(&self, item: usize) -> anyhow::Result<&str> {
        self.ids
            .get(item)
            .map(String::as_str)
            .with_context(|| format!("no pool item {item}"))
    }

    fn save_queue(&mut self, app: &App) -> anyhow::Result<()> {
        let items: Vec<String> = app
            .current()
            .into_iter()
            .chain(app.upcoming(SAVED_QUEUE - 1))
            .filter_map(|item| self.ids.get(item).cloned())
            .collect();
        self.session.set_queue(app.model_version, items)?;
        Ok(())
    }

    /// Stop the trainer, store the queue and leave the session (compacted only when
    /// due: the journal holds every change), waiting for the trainer at most `STOP_WAIT`
    /// from the start: true when it stopped, false when it is still inside a step
    /// (everything is saved by then, so the process may end without it).
    pub fn finish(mut self, app: &App) -> anyhow::Result<bool> {
        let deadline = std::time::Instant::now() + STOP_WAIT;
        // Asked first, the trainer winds down while the queue is written.
        self.trainer.request_stop();
        self.save_queue(app)?;
        self.session.leave()?;
        self.derived.flush();
        Ok(self.trainer.stop_by(deadline))
    }
}

impl Executor for SessionExecutor {
    fn wants(&mut self, event: &TrainerEvent) -> bool {
        let Some(job) = event.job().filter(|job| self.unwanted.contains(job)) else {
            return true;
        };
        if event.ends_its_job() {
            self.unwanted.remove(&job);
        }
        tracing::debug!("job {job} was cancelled: its event is not taken in");
        false
    }

    fn abandon(&mut self) -> bool {
        self.trainer
            .stop_or_let_go(std::time::Instant::now() + STOP_WAIT)
    }

    fn execute(&mut self, effect: &Effect, app: &App) -> anyhow::Result<()> {
        match *effect {
            Effect::ConfirmPage {
                ref confirmed,
                ref corrected,
                oracle,
            } => {
                let source = if oracle {
                    Source::Oracle
                } else {
                    Source::Human
                };
                let with_ids = |items: &[(usize, u16)]| {
                    items
                        .iter()
                        .map(|&(item, class)| Ok((self.id(item)?.to_string(), class)))
                        .collect::<anyhow::Result<Vec<_>>>()
                };
                self.session
                    .confirm_page(with_ids(confirmed)?, with_ids(corrected)?, source)?;
            }
            Effect::UndoPage { ref items } => {
                let ids = self.ids_of(items)?;
                if let Some(id) = ids
                    .iter()
                    .find(|id| self.session.state().label_of(id).is_none())
                {
                    bail!("the session has no label to undo for {id:?}: the page is not undone");
                }
                self.session.undo_items(&ids)?;
                self.replace_jobs_using(items, app);
            }
            Effect::Label {
                item,
                class,
                oracle,
                guessed,
                audit,
            } => {
                let source = if oracle {
                    Source::Oracle
                } else {
                    Source::Human
                };
                let id = self.id(item)?.to_string();
                self.session
                    .label_guessed(&id, class, source, guessed, audit)?;
            }
            Effect::Undo { item, class } => {
                let id = self.id(item)?.to_string();
                // By item: the session may hold later labels of files gone from the
                // folder, which the labeler does not show and must not take back.
                match self.session.state().label_of(&id) {
                    Some(label) if label.class == class => {}
                    Some(label) => bail!(
                        "the session labels {id:?} {}, not {}: not undone",
                        self.session.state().class_name(label.class),
                        self.session.state().class_name(class)
                    ),
                    None => bail!("the session has no label to undo for {id:?}"),
                }
                self.session.undo_item(&id)?;
                self.replace_jobs_using(&[item], app);
            }
            Effect::Skip { item } => {
                let id = self.id(item)?.to_string();
                self.session.skip(&id)?;
            }
            Effect::FindMistakes { request } => {
                let labeled = app.history().iter().map(|r| (r.item, r.class)).collect();
                tracing::info!(
                    "likely mistakes requested (request {request}, {} labels)",
                    app.history().len()
                );
                self.trainer.find_mistakes(MistakesJob { request, labeled });
            }
            Effect::Relabel { ref items, oracle } => {
                let source = if oracle {
                    Source::Oracle
                } else {
                    Source::Human
                };
                let relabel = items
                    .iter()
                    .map(|&(item, class)| Ok((self.id(item)?.to_string(), class)))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                self.session.relabel(relabel, source)?;
                let items: Vec<usize> = items.iter().map(|&(item, _)| item).collect();
                self.replace_jobs_using(&items, app);
            }
            Effect::UndoRelabel { ref items } => {
                let mut ids = Vec::with_capacity(items.len());
                for &(item, class) in items {
                    let id = self.id(item)?.to_string();
                    let was = self
                        .session
                        .state()
                        .label_of(&id)
                        .and_then(|l| l.corrected.as_ref())
                        .map(|c| c.was.class);
                    if was != Some(class) {
                        bail!("no likely-mistakes page with these labels to undo: nothing undone");
                    }
                    ids.push(id);
                }
                self.session.undo_correction(&ids)?;
                let items: Vec<usize> = items.iter().map(|&(item, _)| item).collect();
                self.replace_jobs_using(&items, app);
            }
            Effect::Retrain => self.submit(app),
            Effect::Quit => self.save_queue(app)?,
        }
        Ok(())
    }

    fn trainer_event(&mut self, event: &TrainerEvent, app: &App) -> anyhow::Result<()> {
        match event {
            TrainerEvent::Ready {
                device, learner, ..
            } => tracing::info!("learner: {learner} on {device}"),
            TrainerEvent::Ranked {
                ranking, labels, ..
            } => {
                // The app has taken the ranking in: its queue is the one to save.
                self.ranked_by = app.learner.clone().unwrap_or_default();
                self.save_queue(app)?;
                if *labels > 0 {
                    self.save_predictions(ranking);
                }
                // Everything is in the journal already: a failed compaction only means
                // a longer replay next time.
                if let Err(e) = self.session.compact_if_due() {
                    tracing::warn!("session {}: compaction failed: {e}", self.session.name());
                }
            }
            TrainerEvent::RoundDone {
                job,
                labels,
                model,
                trained,
                accuracy,
                times,
            } => {
                tracing::info!(
                    "round done: job {job}, model v{model}, {labels} labels, accuracy {accuracy:?}, {:.1}s",
                    times.total
                );
                let sent = self.outstanding.get(job).map(|j| (j.digest, j.refresh));
                self.job_ended(*job);
                if let (true, Some((digest, false))) = (*trained, sent) {
                    self.session.record_round(RoundRecord {
                        model_version: *model,
                        labels: *labels,
                        test_accuracy: *accuracy,
                        seconds: times.total,
                        learner: self.ranked_by.clone(),
                        time: chrono::Utc::now(),
                        label_digest: Some(digest),
                    })?;
                }
            }
            TrainerEvent::Cancelled { job } => {
                tracing::info!("round cancelled: job {job}");
                self.job_ended(*job);
            }
            TrainerEvent::Error { job, message } => {
                tracing::error!("trainer (job {job:?}): {message}");
                if let Some(job) = job {
                    self.job_ended(*job);
                }
            }
            TrainerEvent::Suspects {
                request,
                labels,
                seconds,
                ..
            } => tracing::info!(
                "likely mistakes (request {request}): {labels} labels judged in {seconds:.1}s"
            ),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::app::{AppConfig, Restored};
    use crate::keymap::Keymap;
    use crate::types::{ClassView, ItemView};
    use glean_core::trainer::{trainer_channel, Message, TrainerInbox};
    use glean_core::{
        ClassPrior, ClassProb, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind, RankedItem,
        RankingSource, RoundTimes, Strategy, TopClasses,
    };
    use glean_dataset::{Class, Layout};
    use glean_session::{DataSpec, SessionConfig};

    /// Two batches of two labels (items 0 to 3), each of which sent a job: job 1 on
    /// items 0 and 1, job 2 on 0 to 3.
    fn two_jobs(dir: &std::path::Path) -> (SessionExecutor, App, TrainerInbox) {
        let (mut executor, mut app, inbox) = setup_with_inbox(dir);
        for _ in 0..4 {
            for effect in app.label_current(0) {
                executor.execute(&effect, &app).unwrap();
            }
        }
        assert_eq!(jobs(&executor), [(1, vec![0, 1]), (2, vec![0, 1, 2, 3])]);
        (executor, app, inbox)
    }

    /// An executor and app over a session of six items; the trainer's side is an inbox
    /// nobody reads.
    fn setup(dir: &std::path::Path) -> (SessionExecutor, App) {
        let (executor, app, _inbox) = setup_with_inbox(dir);
        (executor, app)
    }

    /// As [`setup`], with the inbox the trainer thread would read: what the executor
    /// sent it, and what it cancelled.
    fn setup_with_inbox(dir: &std::path::Path) -> (SessionExecutor, App, TrainerInbox) {
        let classes = vec![
            Class {
                name: "a".into(),
                key: Some('1'),
            },
            Class {
                name: "b".into(),
                key: Some('2'),
            },
        ];
        let config = SessionConfig {
            data: DataSpec {
                root: dir.to_path_buf(),
                layout: Layout::ClassFolders,
                test: None,
                label_pattern: None,
                classes_arg: None,
                holdout: None,
            },
            classes: classes.clone(),
            pool_size: 6,
            strategy: Strategy::Margin,
            batch: 2,
            model: ModelKind::Cnn,
            device: DeviceChoice::Cpu,
            seed: 1,
            learner: LearnerKind::Cnn,
            embedding: EmbeddingKind::Auto,
            class_prior: ClassPrior::Auto,
            query: Default::default(),
            audit_every: 0,
        };
        let session = Session::create(dir, "t", config).unwrap();
        let (trainer, inbox) = trainer_channel();
        let ids: Vec<String> = (0..6).map(|i| format!("a/{i}.png")).collect();
        let app = App::new(
            AppConfig {
                classes: classes
                    .iter()
                    .map(|c| ClassView {
                        name: c.name.clone(),
                        key: c.key,
                    })
                    .collect(),
                items: ids
                    .iter()
                    .map(|id| ItemView {
                        name: id.clone(),
                        oracle: Some(0),
                    })
                    .collect(),
                batch: 2,
                strategy: "margin".into(),
                initial_order: (0..6).collect(),
                auto_interval: Duration::from_millis(1),
                has_test_split: false,
                keymap: Keymap::default(),
            },
            Restored::default(),
        );
        (
            SessionExecutor::new(session, trainer, ids).unwrap(),
            app,
            inbox,
        )
    }

    /// A final ranking of job `job` on `labels` labels by `source` (the network: `cnn`).
    fn ranked(
        job: u64,
        labels: usize,
        source: RankingSource,
        items: Vec<RankedItem>,
    ) -> TrainerEvent {
        TrainerEvent::Ranked {
            ranking: Ranking {
                job,
                strategy: Strategy::Margin,
                source,
                items,
            },
            labels,
            preliminary: false,
        }
    }

    /// A ranked item whose first class is `class` at `prob`.
    fn item(pool_index: usize, class: u16, prob: f32) -> RankedItem {
        RankedItem {
            pool_index,
            score: 0.5,
            top: TopClasses::from_iter([ClassProb { class, prob }]),
            audit: false,
        }
    }

    fn ready() -> TrainerEvent {
        TrainerEvent::Ready {
            device: "cpu".into(),
            learner: "hybrid (cnn)".into(),
            network: "cnn".into(),
        }
    }

    /// An event as the event loop hands it on: the app first, then the executor.
    fn deliver(executor: &mut SessionExecutor, app: &mut App, event: TrainerEvent) {
        app.on_trainer(event.clone());
        executor.trainer_event(&event, app).unwrap();
    }

    #[test]
    fn labels_undo_skips_rounds_and_queue_reach_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app) = setup(dir.path());
        let run = |executor: &mut SessionExecutor, app: &App, effects: Vec<Effect>| {
            for effect in &effects {
                executor.execute(effect, app).unwrap();
            }
        };
        let effects = app.label_current(1);
        run(&mut executor, &app, effects);
        app.set_auto(true);
        let effects = app.on_tick(Duration::from_secs(1));
        assert!(effects.contains(&Effect::Retrain));
        run(&mut executor, &app, effects);
        let labels = executor.session.labels();
        assert_eq!(labels.len(), 2);
        assert_eq!(
            (labels[0].item.as_str(), labels[0].class, labels[0].source),
            ("a/0.png", 1, Source::Human)
        );
        assert_eq!(labels[1].source, Source::Oracle);
        let effects = app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        ));
        run(&mut executor, &app, effects);
        assert_eq!(executor.session.labels().len(), 1);
        let effects = app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('s'),
        ));
        run(&mut executor, &app, effects);
        assert_eq!(executor.session.state().skipped(), ["a/1.png".to_string()]);
        // The undo replaced job 1 with job 2, whose round this is: its ranking comes
        // first, and the round's record names the learner that made it.
        deliver(&mut executor, &mut app, ready());
        let ranking = ranked(2, 2, RankingSource::Hybrid, vec![item(3, 1, 0.75)]);
        deliver(&mut executor, &mut app, ranking);
        // The ranking's predictions reach the file `export --all` reads, every pool
        // item listed (written off this thread).
        executor.derived.flush();
        let predictions = glean_session::read_predictions(&executor.session.predictions_path())
            .unwrap()
            .expect("written after the ranking");
        assert_eq!(predictions.len(), 6);
        assert_eq!(
            (
                predictions[3].item.as_str(),
                predictions[3].class,
                predictions[3].prob
            ),
            ("a/3.png", Some(1), Some(0.75))
        );
        assert_eq!((predictions[0].class, predictions[0].prob), (None, None));
        let done = TrainerEvent::RoundDone {
            job: 2,
            labels: 2,
            model: 1,
            trained: true,
            accuracy: Some(0.5),
            times: RoundTimes {
                total: 1.0,
                ..RoundTimes::default()
            },
        };
        deliver(&mut executor, &mut app, done);
        assert_eq!(executor.session.rounds()[0].test_accuracy, Some(0.5));
        assert_eq!(executor.session.rounds()[0].learner, "graph+cnn");
        run(&mut executor, &app, vec![Effect::Quit]);
        let (_, queue) = executor.session.state().queue();
        assert_eq!(queue.first().copied(), Some("a/2.png"));
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
        let (reopened, _) = Session::open(dir.path(), "t").unwrap();
        assert_eq!(reopened.labels().len(), 1);
        assert_eq!(reopened.rounds().len(), 1);
    }

    /// Labels only append to the journal; the snapshot is rewritten after a ranking,
    /// not inside a keypress.
    #[test]
    fn the_session_compacts_after_a_ranking_not_on_a_label() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app) = setup(dir.path());
        executor.session.set_compact_every(2);
        let journal = || {
            std::fs::read_to_string(glean_session::journal_path(dir.path(), "t"))
                .unwrap()
                .lines()
                .count()
        };
        for _ in 0..4 {
            for effect in app.label_current(1) {
                executor.execute(&effect, &app).unwrap();
            }
        }
        assert_eq!(journal(), 4, "a label compacted the session");
        deliver(
            &mut executor,
            &mut app,
            ranked(1, 4, RankingSource::Model, Vec::new()),
        );
        assert_eq!(journal(), 0, "the ranking did not compact it");
        let (reopened, _) = glean_session::load(dir.path(), "t").unwrap();
        assert_eq!(reopened.labels().len(), 4);
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
    }

    /// A resume sends the labels of the last recorded round: its round ranks the pool
    /// but records no new model; a label more makes one.
    #[test]
    fn a_round_on_the_last_rounds_labels_is_not_a_new_model() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app) = setup(dir.path());
        for _ in 0..2 {
            for effect in app.label_current(1) {
                executor.execute(&effect, &app).unwrap();
            }
        }
        let done = |job, version| round_done(job, version, 2);
        executor.trainer_event(&done(1, 1), &app).unwrap();
        assert_eq!(executor.session.rounds().len(), 1);
        assert_eq!(
            executor.session.rounds()[0].label_digest,
            Some(executor.session.state().label_digest())
        );
        // As a resume does: the same labels again.
        executor.submit(&app);
        assert!(executor.outstanding[&2].refresh);
        executor.trainer_event(&done(2, 1), &app).unwrap();
        assert_eq!(executor.session.rounds().len(), 1, "no new model");
        // Undone and given back as it was: still the same model's labels.
        let undo = app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        ));
        executor.execute(&undo[0], &app).unwrap();
        for effect in app.label_current(1) {
            executor.execute(&effect, &app).unwrap();
        }
        let newest = |executor: &SessionExecutor| {
            let (&job, sent) = executor.outstanding.iter().next_back().unwrap();
            (job, sent.refresh)
        };
        executor.submit(&app);
        assert!(newest(&executor).1);
        for effect in app.label_current(0) {
            executor.execute(&effect, &app).unwrap();
        }
        executor.submit(&app);
        let (job, refresh) = newest(&executor);
        assert!(!refresh);
        executor.trainer_event(&done(job, 2), &app).unwrap();
        assert_eq!(executor.session.rounds().len(), 2);
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
    }

    /// An audit pick (placed by the ranking at random) is labeled like any other: the
    /// journal keeps that it was one, and every job after it names it to the trainer.
    #[test]
    fn an_audit_picks_label_is_journaled_as_one_and_named_in_the_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app, inbox) = setup_with_inbox(dir.path());
        let mut audit_pick = item(4, 1, 0.9);
        audit_pick.audit = true;
        let ranking = ranked(
            0,
            0,
            RankingSource::Model,
            vec![item(2, 0, 0.9), audit_pick, item(3, 0, 0.8)],
        );
        executor.trainer_event(&ranking, &app).unwrap();
        app.on_trainer(ranking);
        assert_eq!(app.current(), Some(0), "the image on screen stays");
        for _ in 0..4 {
            for effect in app.label_current(1) {
                executor.execute(&effect, &app).unwrap();
            }
        }
        let jobs: Vec<(usize, Vec<usize>)> = std::iter::from_fn(|| inbox.try_recv())
            .filter_map(|m| match m {
                Message::Job(job) => Some((job.labeled.len(), job.audited)),
                _ => None,
            })
            .collect();
        assert_eq!(jobs, [(2, vec![]), (4, vec![4])]);
        let audits: Vec<(&str, bool)> = executor
            .session
            .state()
            .labels()
            .iter()
            .map(|l| (l.item.as_str(), l.audit))
            .collect();
        assert_eq!(
            audits,
            [
                ("a/0.png", false),
                ("a/2.png", false),
                ("a/4.png", true),
                ("a/3.png", false)
            ]
        );
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
        let (reopened, _) = Session::open(dir.path(), "t").unwrap();
        assert!(reopened.state().label_of("a/4.png").unwrap().audit);
        assert!(!reopened.state().label_of("a/2.png").unwrap().audit);
    }

    /// Jobs coalesce: a round ends for job 1 while job 2 waits behind it. Undoing a
    /// label job 2 trains on must still cancel job 2 and send one without the label.
    #[test]
    fn undo_while_a_coalesced_job_is_queued_replaces_that_job() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app, inbox) = two_jobs(dir.path());
        let sent = |inbox: &TrainerInbox| -> Vec<(u64, usize)> {
            std::iter::from_fn(|| inbox.try_recv())
                .filter_map(|m| match m {
                    Message::Job(job) => Some((job.id, job.labeled.len())),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(sent(&inbox), [(1, 2), (2, 4)]);
        executor.trainer_event(&round_done(1, 1, 2), &app).unwrap();
        assert_eq!(jobs(&executor), [(2, vec![0, 1, 2, 3])]);
        let undo = app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        ));
        assert_eq!(undo, [Effect::Undo { item: 3, class: 0 }]);
        executor.execute(&undo[0], &app).unwrap();
        assert_eq!(jobs(&executor), [(3, vec![0, 1, 2])]);
        // The trainer is told: job 2 (queued or running) is cancelled, job 3 is not.
        assert!(inbox.cancelled(2) && !inbox.cancelled(3));
        assert_eq!(sent(&inbox), [(3, 3)]);
        // A cancelled job ends it and the ones before it, not the newer one.
        executor
            .trainer_event(&TrainerEvent::Cancelled { job: 2 }, &app)
            .unwrap();
        assert_eq!(jobs(&executor), [(3, vec![0, 1, 2])]);
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
    }

    /// Job 1 runs on items 0 and 1 while job 2 waits on 0 to 3. Undoing item 3, which
    /// only job 2 holds, cancels job 2 alone (job 1's labels all stand) and sends job
    /// 3; whatever job 2 still posts is not taken in, job 1's is.
    #[test]
    fn undo_cancels_only_the_jobs_that_hold_the_label_and_their_events_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app, inbox) = two_jobs(dir.path());
        let undo = app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        ));
        assert_eq!(undo, [Effect::Undo { item: 3, class: 0 }]);
        executor.execute(&undo[0], &app).unwrap();
        assert!(!inbox.cancelled(1), "job 1's labels all stand");
        assert!(inbox.cancelled(2) && !inbox.cancelled(3));
        assert_eq!(jobs(&executor), [(1, vec![0, 1]), (3, vec![0, 1, 2])]);
        // Job 2's ranking (posted before it heard) and its end are not wanted; job
        // 1's are, and so are events beside the rounds.
        let ranking_of = |job: u64| TrainerEvent::Ranked {
            ranking: Ranking {
                job,
                strategy: Strategy::Margin,
                source: RankingSource::Model,
                items: vec![item(4, 1, 0.9)],
            },
            labels: 4,
            preliminary: false,
        };
        assert!(!executor.wants(&ranking_of(2)));
        assert!(!executor.wants(&round_done(2, 2, 4)));
        assert!(executor.wants(&ranking_of(1)));
        assert!(executor.wants(&TrainerEvent::Background(None)));
        // Its end seen, job 2 is forgotten.
        assert!(executor.unwanted.is_empty());
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
    }

    /// A label of a file since gone from the folder (the app does not show it) stands
    /// after the labels the person can see: undoing theirs takes back theirs only.
    #[test]
    fn undo_after_a_labeled_file_left_the_folder_keeps_that_label() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app) = setup(dir.path());
        for effect in app.label_current(1) {
            executor.execute(&effect, &app).unwrap();
        }
        executor
            .session
            .label("a/gone.png", 0, Source::Human)
            .unwrap();
        let undo = app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        ));
        assert_eq!(undo, [Effect::Undo { item: 0, class: 1 }]);
        executor.execute(&undo[0], &app).unwrap();
        let items = |labels: &[glean_session::LabelRecord]| -> Vec<String> {
            labels.iter().map(|l| l.item.clone()).collect()
        };
        assert_eq!(items(executor.session.labels()), ["a/gone.png"]);
        // The label the person sees again can be given again.
        for effect in app.label_current(0) {
            executor.execute(&effect, &app).unwrap();
        }
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
        let (reopened, _) = Session::open(dir.path(), "t").unwrap();
        assert_eq!(items(reopened.labels()), ["a/gone.png", "a/0.png"]);
    }

    #[test]
    fn an_undo_the_session_disagrees_with_is_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, app) = setup(dir.path());
        let error = executor
            .execute(&Effect::Undo { item: 3, class: 0 }, &app)
            .unwrap_err();
        assert!(error.to_string().contains("no label to undo"), "{error}");
        executor.session.label("a/3.png", 1, Source::Human).unwrap();
        let error = executor
            .execute(&Effect::Undo { item: 3, class: 0 }, &app)
            .unwrap_err();
        assert!(error.to_string().contains("not undone"), "{error}");
        assert_eq!(executor.session.labels().len(), 1);
    }

    /// The app of `setup` on the review screen, after a ranking that predicts class 0
    /// for items 2..6 (surest first) and class 1 for items 0 and 1; a 2×2 grid.
    fn reviewing(app: &mut App) {
        let items = (0..6)
            .map(|i| item(i, u16::from(i < 2), 1.0 - i as f32 / 10.0))
            .collect();
        app.on_trainer(ranked(1, 2, RankingSource::Graph, items));
        app.set_review_grid(2, 2);
        app.set_review(true);
    }

    fn press(app: &mut App, code: crossterm::event::KeyCode) -> Vec<Effect> {
        app.on_key(crossterm::event::KeyEvent::from(code))
    }

    fn journal_lines(dir: &std::path::Path) -> usize {
        std::fs::read_to_string(glean_session::journal_path(dir, "t"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// A round of `labels` labels, trained, ends for `job` with model `model`.
    fn round_done(job: u64, model: u64, labels: usize) -> TrainerEvent {
        TrainerEvent::RoundDone {
            job,
            labels,
            model,
            trained: true,
            accuracy: None,
            times: RoundTimes::default(),
        }
    }

    /// Each label's item, class and source.
    fn label_triples(labels: &[glean_session::LabelRecord]) -> Vec<(String, u16, Source)> {
        labels
            .iter()
            .map(|l| (l.item.clone(), l.class, l.source))
            .collect()
    }

    /// The executor's outstanding jobs, each with its items in order.
    fn jobs(executor: &SessionExecutor) -> Vec<(u64, Vec<usize>)> {
        executor
            .outstanding
            .iter()
            .map(|(&job, sent)| {
                let mut items: Vec<usize> = sent.items.iter().copied().collect();
                items.sort_unstable();
                (job, items)
            })
            .collect()
    }

    /// A page is one journal record, its labels confirmed or corrected by the person;
    /// its undo one more record, and the labels are gone, on reopening too.
    #[test]
    fn a_confirmed_page_is_one_journal_record_and_its_undo_another() {
        use crossterm::event::KeyCode;
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app) = setup(dir.path());
        reviewing(&mut app);
        assert_eq!(app.page().unwrap().items, [2, 3, 4, 5]);
        // Item 3 is a b; item 4 is not an a (and stays unlabeled).
        press(&mut app, KeyCode::Right);
        press(&mut app, KeyCode::Char('2'));
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Left);
        press(&mut app, KeyCode::Char(' '));
        let before = journal_lines(dir.path());
        let effects = press(&mut app, KeyCode::Enter);
        assert_eq!(
            effects,
            [
                Effect::ConfirmPage {
                    confirmed: vec![(2, 0), (5, 0)],
                    corrected: vec![(3, 1)],
                    oracle: false,
                },
                Effect::Retrain
            ]
        );
        for effect in &effects {
            executor.execute(effect, &app).unwrap();
        }
        assert_eq!(journal_lines(dir.path()), before + 1, "one record per page");
        let labels = |executor: &SessionExecutor| label_triples(executor.session.labels());
        let page = vec![
            ("a/2.png".to_string(), 0, Source::Confirmed),
            ("a/5.png".to_string(), 0, Source::Confirmed),
            ("a/3.png".to_string(), 1, Source::Human),
        ];
        assert_eq!(labels(&executor), page);
        // The round sent trains on the page's labels.
        let (_, job) = executor.outstanding.iter().next_back().unwrap();
        let mut items: Vec<usize> = job.items.iter().copied().collect();
        items.sort_unstable();
        assert_eq!(items, [2, 3, 5]);

        let undo = press(&mut app, KeyCode::Char('u'));
        assert_eq!(
            undo,
            [Effect::UndoPage {
                items: vec![2, 5, 3]
            }]
        );
        executor.execute(&undo[0], &app).unwrap();
        assert_eq!(journal_lines(dir.path()), before + 2);
        assert!(executor.session.labels().is_empty());
        // An undo of labels the session does not hold changes nothing.
        let error = executor.execute(&undo[0], &app).unwrap_err();
        assert!(error.to_string().contains("no label to undo"), "{error}");

        // Confirmed by the auto-oracle: its corrections are the oracle's.
        app.set_auto(true);
        let effects = app.on_tick(Duration::from_secs(5));
        for effect in &effects {
            executor.execute(effect, &app).unwrap();
        }
        // Every item's oracle label is a: the page is confirmed as it stands.
        assert!(matches!(
            &effects[0],
            Effect::ConfirmPage { oracle: true, corrected, .. } if corrected.is_empty()
        ));
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
        let (reopened, _) = Session::open(dir.path(), "t").unwrap();
        let sources: Vec<Source> = reopened.labels().iter().map(|l| l.source).collect();
        assert_eq!(sources, [Source::Confirmed; 4]);
    }

    /// The undo of a page whose labels a queued job trains on cancels that job and
    /// sends one without them, as the undo of one label does.
    #[test]
    fn undo_of_a_page_a_queued_job_uses_replaces_the_job() {
        use crossterm::event::KeyCode;
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app) = setup(dir.path());
        // Two single labels (items 0 and 1): job 1.
        for _ in 0..2 {
            for effect in app.label_current(1) {
                executor.execute(&effect, &app).unwrap();
            }
        }
        reviewing(&mut app);
        for effect in press(&mut app, KeyCode::Enter) {
            executor.execute(&effect, &app).unwrap();
        }
        assert_eq!(
            jobs(&executor),
            [(1, vec![0, 1]), (2, vec![0, 1, 2, 3, 4, 5])]
        );
        executor.trainer_event(&round_done(1, 1, 2), &app).unwrap();
        let undo = press(&mut app, KeyCode::Char('u'));
        assert_eq!(
            undo,
            [Effect::UndoPage {
                items: vec![2, 3, 4, 5]
            }]
        );
        executor.execute(&undo[0], &app).unwrap();
        assert_eq!(jobs(&executor), [(3, vec![0, 1])]);
        assert_eq!(executor.session.labels().len(), 2);
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
    }

    /// A likely-mistakes page's corrections are one journal record, and a queued job
    /// that trains on the old classes is replaced by one on the new; the undo is one
    /// record more that gives the labels back as they were (their sources too), and
    /// replaces the job again. On reopening the session holds the same.
    #[test]
    fn a_mistakes_page_is_one_journal_record_and_replaces_the_job_using_its_labels() {
        use crate::keymap::Action;
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        use glean_core::Suspect;
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, mut app) = setup(dir.path());
        let labels = |executor: &SessionExecutor| label_triples(executor.session.labels());
        // Items 0 and 1 by the person, 2 and 3 by the auto-oracle: jobs 1 and 2.
        for oracle in [false, false, true, true] {
            for effect in app.perform(Action::Label { class: 0, oracle }) {
                executor.execute(&effect, &app).unwrap();
            }
        }
        assert_eq!(jobs(&executor), [(1, vec![0, 1]), (2, vec![0, 1, 2, 3])]);
        let before = labels(&executor);
        let find = app.on_key(KeyEvent::new(KeyCode::Char('M'), KeyModifiers::SHIFT));
        assert_eq!(find, [Effect::FindMistakes { request: 1 }]);
        executor.execute(&find[0], &app).unwrap();
        let suspect = |pool_index: usize| Suspect {
            pool_index,
            given: 0,
            predicted: 1,
            prob_given: 0.1,
        };
        app.on_trainer(TrainerEvent::Suspects {
            request: 1,
            labels: 4,
            suspects: [3, 0, 2, 1].map(suspect).to_vec(),
            seconds: 0.1,
        });
        app.set_review_grid(2, 2);
        // Items 3 and 0 are b's.
        press(&mut app, KeyCode::Char('2'));
        press(&mut app, KeyCode::Right);
        press(&mut app, KeyCode::Char('2'));
        let lines = journal_lines(dir.path());
        let effects = press(&mut app, KeyCode::Enter);
        assert_eq!(
            effects,
            [
                Effect::Relabel {
                    items: vec![(3, 1), (0, 1)],
                    oracle: false
                },
                Effect::Retrain
            ]
        );
        executor.execute(&effects[0], &app).unwrap();
        assert_eq!(journal_lines(dir.path()), lines + 1, "one record per page");
        let fixed = vec![
            ("a/0.png".to_string(), 1, Source::Human),
            ("a/1.png".to_string(), 0, Source::Human),
            ("a/2.png".to_string(), 0, Source::Oracle),
            ("a/3.png".to_string(), 1, Source::Human),
        ];
        assert_eq!(labels(&executor), fixed);
        // Jobs 1 and 2 trained on the old classes: replaced by job 3, on the new.
        assert_eq!(jobs(&executor), [(3, vec![0, 1, 2, 3])]);
        assert_eq!(
            executor.session.state().label_digest(),
            executor.outstanding[&3].digest
        );
        executor.execute(&effects[1], &app).unwrap();
        assert_eq!(
            jobs(&executor),
            [(3, vec![0, 1, 2, 3]), (4, vec![0, 1, 2, 3])]
        );

        let undo = press(&mut app, KeyCode::Char('u'));
        assert_eq!(
            undo,
            [Effect::UndoRelabel {
                items: vec![(3, 0), (0, 0)]
            }]
        );
        executor.execute(&undo[0], &app).unwrap();
        assert_eq!(journal_lines(dir.path()), lines + 2);
        assert_eq!(labels(&executor), before, "the labels as they were");
        assert_eq!(jobs(&executor), [(5, vec![0, 1, 2, 3])]);
        // Undone once, it cannot be undone again.
        let error = executor.execute(&undo[0], &app).unwrap_err();
        assert!(error.to_string().contains("nothing undone"), "{error}");
        assert_eq!(journal_lines(dir.path()), lines + 2);
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
        let (reopened, _) = Session::open(dir.path(), "t").unwrap();
        assert_eq!(label_triples(reopened.labels()), before);
    }
}
