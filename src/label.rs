//! `glean label` and `glean resume`: load the data, create or open the session, start
//! the trainer, and run the screen until the person quits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::dataset::{self, DecodeSpec, Pool, ScanOptions};
use crate::learn::{
    provisional_order, ClassPrior, DeviceChoice, EmbeddingKind, GraphConfig, LearnerConfig,
    LearnerKind, ModelKind, QueryOptions, ScannedPool, Strategy, Trainer,
};
use crate::session::{self, DataSpec, Session, SessionConfig};

use crate::tui::app::{App, AppConfig, Restored};
use crate::tui::executor::SessionExecutor;
use crate::tui::images::PoolImages;
use crate::tui::keymap::Keymap;
use crate::tui::render_mode::RenderMode;
use crate::tui::terminal::{self, Screen};
use crate::tui::types::{ClassView, Corrected, ItemView, LabelRecord};

/// Time between two auto-oracle labels: slow enough to watch.
const AUTO_INTERVAL: Duration = Duration::from_millis(250);

/// Everything `glean label` takes.
#[derive(Debug, Clone)]
pub struct LabelOptions {
    pub data: PathBuf,
    /// How DATA is read: test folder, label pattern, classes.
    pub scan: ScanOptions,
    pub session: Option<String>,
    pub session_dir: Option<PathBuf>,
    pub strategy: String,
    pub batch: usize,
    pub device: DeviceChoice,
    pub model: ModelKind,
    pub learner: LearnerKind,
    /// A checkpoint every new network starts from.
    pub weights: Option<PathBuf>,
    pub embedding: EmbeddingKind,
    pub class_prior: ClassPrior,
    pub query: QueryOptions,
    /// Every this many images asked, one drawn at random (`--audit-every`).
    pub audit_every: usize,
    pub render: RenderMode,
    pub oracle: bool,
    /// Start on the review screen.
    pub review: bool,
    pub seed: u64,
}

/// Everything `glean resume` takes.
#[derive(Debug, Clone)]
pub struct ResumeOptions {
    pub name: Option<String>,
    pub session_dir: Option<PathBuf>,
    pub render: RenderMode,
    pub oracle: bool,
    /// Overrides the device the session was made with.
    pub device: Option<String>,
}

/// A session name from the data folder's name: `assets/mnist` → `mnist`.
pub fn default_session_name(data: &Path) -> String {
    let base = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_path_buf());
    let raw = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(session::MAX_NAME_LEN)
        .collect();
    let name = name.trim_start_matches('.').to_string();
    if name.is_empty() {
        "session".into()
    } else {
        name
    }
}

pub fn label(options: LabelOptions) -> anyhow::Result<()> {
    // Read first: a bad keymap stops glean before a session is made.
    let keymap = Keymap::load(&crate::paths::config_dir())?;
    let dir = options
        .session_dir
        .clone()
        .unwrap_or_else(crate::paths::session_dir);
    let name = options
        .session
        .clone()
        .unwrap_or_else(|| default_session_name(&options.data));
    session::validate_name(&name)?;
    if session::snapshot_path(&dir, &name).exists() {
        eprintln!(
            "glean: session {name} exists in {}; resuming it",
            dir.display()
        );
        return resume_with(
            ResumeOptions {
                name: Some(name),
                session_dir: Some(dir),
                render: options.render,
                oracle: options.oracle,
                device: Some(options.device.to_string()),
            },
            options.review,
        );
    }
    let strategy: Strategy = options.strategy.parse().map_err(anyhow::Error::msg)?;
    if let Some(w) = &options.weights {
        if !w.is_file() {
            bail!("--weights {}: no such file", w.display());
        }
    }
    if options.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let scanned = scan_data(&options.data, &options.scan)?;
    let config = SessionConfig {
        data: DataSpec {
            root: std::fs::canonicalize(&options.data).unwrap_or(options.data.clone()),
            layout: scanned.pool.layout,
            test: options
                .scan
                .test
                .as_ref()
                .map(|t| std::fs::canonicalize(t).unwrap_or(t.clone())),
            label_pattern: options.scan.label_pattern,
            classes_arg: options.scan.classes,
            holdout: options.scan.holdout.map(|h| h.to_string()),
        },
        classes: scanned.pool.classes.clone(),
        pool_size: scanned.pool.items.len(),
        strategy,
        batch: options.batch,
        model: options.model,
        device: options.device,
        seed: options.seed,
        learner: options.learner,
        embedding: options.embedding,
        class_prior: options.class_prior,
        query: options.query,
        audit_every: options.audit_every,
    };
    let session = Session::create(&dir, &name, config)?;
    if let Some(w) = &options.weights {
        // Copied in, so that the session does not depend on the file.
        let copy = session.start_weights_path();
        std::fs::copy(w, &copy)
            .with_context(|| format!("copying --weights {} into the session", w.display()))?;
    }
    run(
        session,
        scanned,
        keymap,
        Start {
            render: options.render,
            oracle: options.oracle,
            review: options.review,
        },
        None,
    )
}

pub fn resume(options: ResumeOptions) -> anyhow::Result<()> {
    resume_with(options, false)
}

/// How the screen starts.
struct Start {
    render: RenderMode,
    oracle: bool,
    review: bool,
}

/// `resume`, on the review screen when `review`.
fn resume_with(options: ResumeOptions, review: bool) -> anyhow::Result<()> {
    let keymap = Keymap::load(&crate::paths::config_dir())?;
    let dir = options
        .session_dir
        .clone()
        .unwrap_or_else(crate::paths::session_dir);
    let name = match options.name {
        Some(name) => name,
        None => session::most_recent(&dir)?
            .with_context(|| format!("no saved session in {} to resume", dir.display()))?,
    };
    let (session, report) = Session::open(&dir, &name)?;
    for warning in report.warnings() {
        eprintln!("glean: {warning}");
    }
    let data = &session.config().data;
    let scan = data.scan_options(session.name())?;
    let scanned = scan_data(&data.root, &scan)?;
    run(
        session,
        scanned,
        keymap,
        Start {
            render: options.render,
            oracle: options.oracle,
            review,
        },
        options.device,
    )
}

/// A folder as scanned: its files, classes and test split, and the spec its images
/// will be decoded at. Nothing is decoded here: the trainer does that in the
/// background, so the first image shows at once.
struct Scanned {
    pool: Pool,
    scan: ScanOptions,
    spec: DecodeSpec,
}

fn scan_data(root: &Path, scan: &ScanOptions) -> anyhow::Result<Scanned> {
    let pool = dataset::scan(root, scan).with_context(|| format!("reading {}", root.display()))?;
    if !pool.skipped.is_empty() {
        eprintln!("glean: skipped {}", pool.skipped.summary());
    }
    if pool.items.is_empty() {
        bail!("{} holds no images to label", root.display());
    }
    if pool.classes.len() < 2 {
        bail!(
            "{} has fewer than 2 classes; name them with --classes a,b,…",
            root.display()
        );
    }
    let spec =
        dataset::choose_spec(&pool).with_context(|| format!("reading {}", root.display()))?;
    Ok(Scanned {
        pool,
        scan: scan.clone(),
        spec,
    })
}

/// What the app starts from: the session's labels, skips, rounds and queue, by pool index.
fn restored(session: &Session, index: &HashMap<&str, usize>) -> (Restored, Vec<usize>) {
    let state = session.state();
    let labels = state
        .labels()
        .iter()
        .filter_map(|l| {
            index.get(l.item.as_str()).map(|&item| LabelRecord {
                item,
                class: l.class,
                guessed: l.guessed,
                page: l.page,
                corrected: l.corrected.as_ref().map(|c| Corrected {
                    page: c.page,
                    after: c.after,
                    was: c.was.class,
                }),
                audit: l.audit,
            })
        })
        .collect();
    let skipped = state
        .skipped()
        .iter()
        .filter_map(|id| index.get(id.as_str()).copied())
        .collect();
    let rounds = state.rounds();
    let accuracy = rounds
        .iter()
        .filter_map(|r| r.test_accuracy.map(|a| (r.labels, a)))
        .collect();
    let model_version = rounds.iter().map(|r| r.model_version).max().unwrap_or(0);
    let queue = state
        .queue()
        .1
        .iter()
        .filter_map(|id| index.get(id).copied())
        .collect();
    (
        Restored {
            labels,
            skipped,
            accuracy,
            model_version,
        },
        queue,
    )
}

/// The learner's settings as the session recorded them; `device` overrides its device.
fn learner_config(session: &Session, device: Option<&str>) -> anyhow::Result<LearnerConfig> {
    let config = session.config();
    let start_weights = session.start_weights_path();
    Ok(LearnerConfig {
        device: match device {
            Some(d) => d.parse().map_err(anyhow::Error::msg)?,
            None => config.device,
        },
        strategy: config.strategy,
        batch: config.batch,
        seed: config.seed,
        model: config.model,
        learner: config.learner,
        weights: start_weights.is_file().then_some(start_weights),
        cache_dir: Some(crate::paths::cache_dir()),
        save_model: Some(session.model_path()),
        graph: GraphConfig {
            embedding: config.embedding,
            class_prior: config.class_prior,
            // The autoencoder's graph trains beside the rounds: the person never waits
            // for it.
            background: true,
            ..GraphConfig::default()
        },
        query: config.query,
        audit_every: config.audit_every,
        ..LearnerConfig::default()
    })
}

fn run(
    mut session: Session,
    scanned: Scanned,
    keymap: Keymap,
    start: Start,
    device: Option<String>,
) -> anyhow::Result<()> {
    let Start {
        render,
        oracle,
        review,
    } = start;
    // Read first: a setting that does not parse stops glean before anything is written.
    let mut learner = learner_config(&session, device.as_deref())?;
    let strategy = learner.strategy;
    let log = terminal::init_logging();
    terminal::route_thread_panics_to_log();
    let pool = &scanned.pool;
    let ids: Vec<String> = pool.items.iter().map(|i| i.id.clone()).collect();
    let vanished = session.reconcile(&ids.iter().cloned().collect())?;
    if !vanished.is_empty() {
        eprintln!(
            "glean: {} labeled or skipped items are no longer in the data folder",
            vanished.len()
        );
    }
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let (restored, saved_queue) = restored(&session, &index);
    let config = session.config().clone();
    // The saved queue first; a fresh session (or what the queue leaves out) in a seeded
    // shuffle, the order the backbone takes the photos in too.
    let mut initial_order = saved_queue;
    initial_order.extend(provisional_order(pool.items.len(), config.seed));
    // The trainer numbers its models on from the session's.
    learner.models_made = restored.model_version;
    let mut app = App::new(
        AppConfig {
            classes: pool
                .classes
                .iter()
                .map(|c| ClassView {
                    name: c.name.clone(),
                    key: c.key,
                })
                .collect(),
            items: pool
                .items
                .iter()
                .map(|i| ItemView {
                    name: i.id.clone(),
                    oracle: i.label,
                })
                .collect(),
            batch: config.batch,
            strategy: strategy.name().to_string(),
            initial_order: initial_order.clone(),
            auto_interval: AUTO_INTERVAL,
            has_test_split: !pool.test.is_empty(),
            keymap,
        },
        restored,
    );
    if let Some(note) = pixels_only_note(&learner, scanned.spec.channels as usize) {
        tracing::info!("{note}");
        app.notice = Some(note);
    }
    if oracle {
        app.set_auto(true);
    }
    if review {
        app.set_review(true);
    }

    let images = Arc::new(PoolImages::new(pool, Some(&crate::paths::cache_dir())));
    let (tx, rx) = crossbeam_channel::unbounded();
    let input = ScannedPool {
        pool: scanned.pool.clone(),
        scan: scanned.scan.clone(),
        spec: scanned.spec,
        order: initial_order,
    };
    // The trainer posts straight into the screen's event channel.
    let trainer = Trainer::spawn_into(input, learner, tx.clone());
    let name = session.name().to_string();
    let dir = session.dir().to_path_buf();
    let mut executor = SessionExecutor::new(session, trainer, ids)
        .context("starting the writer of the predictions file")?;
    // The first job: the cold-start ranking, or a model for the labels of a resumed session.
    executor.submit(&app);
    let screen = Screen {
        app,
        images,
        executor,
        render,
        events: (tx, rx),
    };
    let (app, executor) = match terminal::run(screen) {
        Ok(done) => done,
        Err(error) => {
            let left_running = error
                .downcast_ref::<terminal::ScreenError>()
                .is_some_and(|e| e.background_left_running);
            if left_running {
                // As on quit: libtorch's exit handlers would pull the library from under
                // the running trainer. Every label given is already on disk.
                eprintln!("glean: {}", crate::cli::message(&error));
                drop(log);
                crate::tui::event_loop::leave_now(1);
            }
            return Err(error);
        }
    };
    let trainer_stopped = executor.finish(&app)?;
    println!(
        "glean: session {name}: {} of {} labeled, saved in {}",
        app.labeled(),
        app.pool_size(),
        dir.display()
    );
    if !trainer_stopped {
        // Everything is saved; the trainer is inside a libtorch call that cannot be cut
        // short. Leave without it rather than wait, and without the exit handlers, whose
        // C++ destructors would pull libtorch from under the running thread.
        drop(log);
        crate::tui::event_loop::leave_now(0);
    }
    Ok(())
}

/// Said on the screen before the first photo when no backbone is installed: photos are
/// then learned from their pixels alone, with no guesses before the first labels.
fn pixels_only_note(learner: &LearnerConfig, channels: usize) -> Option<String> {
    let photos_from_pixels = channels == 3
        && learner.model == ModelKind::Auto
        && learner.resolve_model(channels).ok() == Some(ModelKind::Cnn);
    photos_from_pixels.then(|| {
        "No backbone installed: learning from pixels. `make effnet` installs one.".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_come_from_the_folder() {
        assert_eq!(default_session_name(Path::new("/data/mnist")), "mnist");
        assert_eq!(
            default_session_name(Path::new("/data/my dogs (2)")),
            "my_dogs__2_"
        );
        assert_eq!(default_session_name(Path::new("/")), "session");
    }

    fn session_with(dir: &Path, embedding: EmbeddingKind, class_prior: ClassPrior) -> Session {
        let config = SessionConfig {
            data: DataSpec {
                root: dir.to_path_buf(),
                layout: dataset::Layout::ClassFolders,
                test: None,
                label_pattern: None,
                classes_arg: None,
                holdout: None,
            },
            classes: vec![dataset::Class {
                name: "a".into(),
                key: Some('1'),
            }],
            pool_size: 6,
            strategy: Strategy::Entropy,
            batch: 3,
            model: ModelKind::Cnn,
            device: DeviceChoice::Cpu,
            seed: 9,
            learner: LearnerKind::Graph,
            embedding,
            class_prior,
            query: Default::default(),
            audit_every: 0,
        };
        Session::create(dir, "s", config).unwrap()
    }

    #[test]
    fn the_learner_runs_with_the_settings_the_session_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let session = session_with(dir.path(), EmbeddingKind::Vae, ClassPrior::Off);
        let config = learner_config(&session, None).unwrap();
        assert_eq!(config.graph.embedding, EmbeddingKind::Vae);
        assert_eq!(config.graph.class_prior, ClassPrior::Off);
        assert!(config.graph.background);
        assert_eq!(config.strategy, Strategy::Entropy);
        assert_eq!(config.learner, LearnerKind::Graph);
        assert_eq!(config.model, ModelKind::Cnn);
        assert_eq!((config.batch, config.seed), (3, 9));
        assert_eq!(config.device, DeviceChoice::Cpu);
        let config = learner_config(&session, Some("auto")).unwrap();
        assert_eq!(config.device, DeviceChoice::Auto);
    }

    /// Labels from confirmed review pages come back with the others, in the session's
    /// order, and the app takes the page back whole, as when it was given.
    #[test]
    fn confirmed_labels_are_restored_like_the_others() {
        use crate::session::Source;
        let dir = tempfile::tempdir().unwrap();
        let mut session = session_with(dir.path(), EmbeddingKind::Auto, ClassPrior::Auto);
        session.label("a/0.png", 0, Source::Human).unwrap();
        session
            .confirm_page(
                vec![("a/1.png".into(), 0), ("a/2.png".into(), 0)],
                vec![("a/3.png".into(), 0)],
                Source::Oracle,
            )
            .unwrap();
        let ids: Vec<String> = (0..6).map(|i| format!("a/{i}.png")).collect();
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let (restored, _) = restored(&session, &index);
        let items: Vec<usize> = restored.labels.iter().map(|l| l.item).collect();
        assert_eq!(items, [0, 1, 2, 3]);
        let mut app = App::new(
            AppConfig {
                classes: vec![ClassView {
                    name: "a".into(),
                    key: Some('1'),
                }],
                items: ids
                    .iter()
                    .map(|id| ItemView {
                        name: id.clone(),
                        oracle: None,
                    })
                    .collect(),
                batch: 3,
                strategy: "margin".into(),
                initial_order: (0..6).collect(),
                auto_interval: Duration::from_millis(1),
                has_test_split: false,
                keymap: Keymap::default(),
            },
            restored,
        );
        assert_eq!(app.labeled(), 4);
        // The page (items 1 to 3) comes back as one undo step, as when it was given.
        let undo = app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        ));
        assert_eq!(
            undo,
            [crate::tui::types::Effect::UndoPage {
                items: vec![1, 2, 3]
            }]
        );
        assert_eq!(app.labeled(), 1);
        // The session takes it back by item, confirmed or not.
        session.undo_item("a/2.png").unwrap();
        assert_eq!(session.labels().len(), 3);
    }
}
