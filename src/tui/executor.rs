//! Carrying out the app's effects against the real session and trainer: every label,
//! undo and skip reaches the journal before the next frame; a full batch (or an undo
//! of a label the running round used) sends the trainer a new job; finished rounds and
//! the queue are recorded so a resume shows the same next image.

use std::collections::HashSet;

use anyhow::{bail, Context};

use crate::learn::{Job, TrainerHandle};
use crate::session::{RoundRecord, Session, Source};

use super::app::App;
use super::bridge::JobSizes;
use super::event_loop::Executor;
use super::types::{Effect, TrainerEvent};

/// How many upcoming items are stored with the session as its queue.
const SAVED_QUEUE: usize = 500;
/// How long quitting waits for the trainer to stop.
pub const STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

pub struct SessionExecutor {
    pub session: Session,
    trainer: TrainerHandle,
    /// Pool index → item id (what the session stores).
    ids: Vec<String>,
    job_sizes: JobSizes,
    model: String,
    /// Bumped on every change of the labels; jobs carry it.
    version: u64,
    /// The job the trainer works on, and the items it trains on.
    running: Option<(u64, HashSet<usize>)>,
}

impl SessionExecutor {
    pub fn new(
        session: Session,
        trainer: TrainerHandle,
        ids: Vec<String>,
        job_sizes: JobSizes,
        model: String,
    ) -> Self {
        SessionExecutor {
            session,
            trainer,
            ids,
            job_sizes,
            model,
            version: 0,
            running: None,
        }
    }

    /// Send the trainer a job with every label so far.
    pub fn submit(&mut self, app: &App) {
        self.version += 1;
        let labeled: Vec<(usize, u16)> = app.history().iter().map(|r| (r.item, r.class)).collect();
        if let Ok(mut sizes) = self.job_sizes.lock() {
            sizes.insert(self.version, labeled.len());
        }
        tracing::info!(
            "round requested: job {} with {} labels",
            self.version,
            labeled.len()
        );
        self.running = Some((
            self.version,
            labeled.iter().map(|&(item, _)| item).collect(),
        ));
        self.trainer.submit(Job {
            version: self.version,
            labeled,
        });
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

    /// Store the queue, compact the session and stop the trainer, waiting for it at
    /// most `STOP_WAIT`: true when it stopped, false when it is still inside a step
    /// (everything is saved by then, so the process may end without it).
    pub fn finish(mut self, app: &App) -> anyhow::Result<bool> {
        self.save_queue(app)?;
        self.session.close()?;
        Ok(self.trainer.stop_within(STOP_WAIT))
    }
}

impl Executor for SessionExecutor {
    fn execute(&mut self, effect: &Effect, app: &App) -> anyhow::Result<()> {
        match *effect {
            Effect::Label {
                item,
                class,
                oracle,
                guessed,
            } => {
                let source = if oracle {
                    Source::Oracle
                } else {
                    Source::Human
                };
                let id = self.id(item)?.to_string();
                self.session.label_guessed(&id, class, source, guessed)?;
            }
            Effect::Undo { item, class } => {
                let expected = self.id(item)?.to_string();
                match self.session.undo()? {
                    Some(undone) if undone.item == expected && undone.class == class => {}
                    Some(undone) => bail!(
                        "the session's last label is {:?}, not {expected:?}: the data folder changed since it was labeled",
                        undone.item
                    ),
                    None => bail!("the session has no label to undo for {expected:?}"),
                }
                // A round that trained on the undone label is stale: replace it.
                if let Some((version, items)) = &self.running {
                    if items.contains(&item) {
                        self.trainer.cancel_up_to(*version);
                        self.submit(app);
                    }
                }
            }
            Effect::Skip { item } => {
                let id = self.id(item)?.to_string();
                self.session.skip(&id)?;
            }
            Effect::Retrain => self.submit(app),
            Effect::Quit => self.save_queue(app)?,
        }
        Ok(())
    }

    fn trainer_event(&mut self, event: &TrainerEvent, app: &App) -> anyhow::Result<()> {
        match event {
            TrainerEvent::Ranked(_) => self.save_queue(app)?,
            TrainerEvent::RoundDone {
                version,
                labels,
                accuracy,
                trained,
                elapsed,
            } => {
                tracing::info!(
                    "round done: model v{version}, {labels} labels, accuracy {accuracy:?}, {:.1}s",
                    elapsed.as_secs_f64()
                );
                self.running = None;
                if *trained {
                    self.session.record_round(RoundRecord {
                        model_version: *version,
                        labels: *labels,
                        test_accuracy: *accuracy,
                        seconds: elapsed.as_secs_f64(),
                        learner: self.model.clone(),
                        time: chrono::Utc::now(),
                    })?;
                }
            }
            TrainerEvent::Cancelled => tracing::info!("round cancelled"),
            TrainerEvent::Error(message) => tracing::error!("trainer: {message}"),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::dataset::{Class, Layout};
    use crate::learn::{DeviceChoice, LearnData, LearnerConfig, Trainer};
    use crate::session::{DataSpec, SessionConfig};
    use crate::tui::app::{AppConfig, Restored};
    use crate::tui::types::{ClassView, ItemView};

    fn setup(dir: &std::path::Path) -> (SessionExecutor, App) {
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
            strategy: "margin".into(),
            batch: 2,
            model: "cnn".into(),
            device: "cpu".into(),
            seed: 1,
            learner: "cnn".into(),
        };
        let session = Session::create(dir, "t", config).unwrap();
        let pool: Vec<u8> = (0..6 * 16).map(|i| (i * 7 % 256) as u8).collect();
        let data =
            LearnData::new(1, 4, 2, Arc::new(pool), Arc::new(Vec::new()), Vec::new()).unwrap();
        let learner = LearnerConfig {
            device: DeviceChoice::Cpu,
            batch: 2,
            ..LearnerConfig::default()
        };
        let (trainer, _events) = Trainer::spawn(data, learner);
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
            },
            Restored::default(),
        );
        (
            SessionExecutor::new(session, trainer, ids, Arc::default(), "cnn".into()),
            app,
        )
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
        let done = TrainerEvent::RoundDone {
            version: 1,
            labels: 2,
            accuracy: Some(0.5),
            trained: true,
            elapsed: Duration::from_secs(1),
        };
        executor.trainer_event(&done, &app).unwrap();
        assert_eq!(executor.session.rounds()[0].test_accuracy, Some(0.5));
        run(&mut executor, &app, vec![Effect::Quit]);
        let (_, queue) = executor.session.state().queue();
        assert_eq!(queue.first().copied(), Some("a/2.png"));
        assert!(executor.finish(&app).unwrap(), "the trainer stopped");
        let (reopened, _) = Session::open(dir.path(), "t").unwrap();
        assert_eq!(reopened.labels().len(), 1);
        assert_eq!(reopened.rounds().len(), 1);
    }

    #[test]
    fn an_undo_the_session_disagrees_with_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut executor, app) = setup(dir.path());
        let error = executor
            .execute(&Effect::Undo { item: 3, class: 0 }, &app)
            .unwrap_err();
        assert!(error.to_string().contains("no label to undo"), "{error}");
    }
}
