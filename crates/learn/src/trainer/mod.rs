//! The trainer thread: owns the `Learner` (every tch value), takes jobs (a labeled set
//! and its id) from its inbox and posts `glean_core::TrainerEvent`s. Jobs that arrive
//! while one runs are coalesced: only the newest waits. A job can be cancelled between
//! batches. Requests for the likely mistakes of the labels (`MistakesJob`) are coalesced
//! the same way among themselves and run before a waiting round: someone is looking at
//! the screen that waits for them. The thread counts the model versions it makes.
//!
//! Before the first job, the pool is prepared: `startup.rs` (a scanned folder decoded,
//! its unusable files reported, suggestions before any model) and `prepare.rs` (the
//! network's inputs, the backbone's features, the graph, the cold start).

pub mod prepare;
pub mod startup;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crossbeam_channel::{Receiver, Sender};
use glean_core::trainer::{trainer_channel, TrainerInbox, Waiting};
use glean_core::{MistakesJob, TrainerEvent, TrainerHandle};

use crate::config::LearnerConfig;
use crate::device::describe;
use crate::mistakes::Suspect;
use crate::round::learner::Learner;
use crate::trainer::prepare::BackgroundWork;
use crate::trainer::startup::{prepare_scanned, PoolInput, PoolMap};
use crate::LearnError;

pub struct Trainer;

impl Trainer {
    /// Spawns the trainer; its events go to the returned receiver.
    pub fn spawn(
        input: impl Into<PoolInput>,
        config: LearnerConfig,
    ) -> (TrainerHandle, Receiver<TrainerEvent>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Self::spawn_into(input, config, tx), rx)
    }

    /// Spawns the trainer posting into a caller's channel (e.g. the UI's single event
    /// channel, whose event type wraps `TrainerEvent`).
    pub fn spawn_into<E>(
        input: impl Into<PoolInput>,
        config: LearnerConfig,
        events: Sender<E>,
    ) -> TrainerHandle
    where
        E: From<TrainerEvent> + Send + 'static,
    {
        Self::spawn_with(input, config, move |ev| events.send(E::from(ev)).is_ok())
    }

    /// Spawns the trainer calling `post` for each event; when `post` returns false (no
    /// one listens any more) the thread ends.
    pub fn spawn_with<F>(
        input: impl Into<PoolInput>,
        config: LearnerConfig,
        post: F,
    ) -> TrainerHandle
    where
        F: FnMut(TrainerEvent) -> bool + Send + 'static,
    {
        let input = input.into();
        let (mut handle, inbox) = trainer_channel();
        #[allow(
            clippy::expect_used,
            reason = "a process that cannot start one thread cannot learn (std::thread::spawn panics alike)"
        )]
        let thread = std::thread::Builder::new()
            .name("glean-trainer".into())
            .spawn(move || run(input, config, inbox, post))
            .expect("spawning a thread");
        handle.attach(thread);
        handle
    }
}

fn run<F>(input: PoolInput, config: LearnerConfig, inbox: TrainerInbox, mut post: F)
where
    F: FnMut(TrainerEvent) -> bool,
{
    let stopping = || inbox.stopping();
    // The model version in use: each round that trains on labels no model had yet
    // makes the next one.
    let mut model = config.models_made;
    let prepared = catch_unwind(AssertUnwindSafe(|| {
        let mut startup = |event: TrainerEvent| {
            post(event);
        };
        match input {
            PoolInput::Decoded(data) => {
                let pool_len = data.pool_len();
                Learner::prepare(data, config, &mut startup, &stopping)
                    .map(|learner| (learner, PoolMap::identity(pool_len)))
            }
            PoolInput::Scanned(scanned) => {
                prepare_scanned(*scanned, config, &mut startup, &stopping)
            }
        }
    }));
    let (mut learner, map) = match prepared {
        Ok(Err(LearnError::Cancelled)) => return,
        Ok(Ok(learner)) => learner,
        Ok(Err(e)) => {
            post(could_not_start(e.to_string()));
            return;
        }
        Err(panic) => {
            post(could_not_start(panic_message(panic)));
            return;
        }
    };
    let ready = TrainerEvent::Ready {
        device: describe(learner.device()),
        learner: learner.describe(),
        network: learner.model().name().to_string(),
    };
    if !post(ready) {
        return;
    }
    let mut shown = None;
    let mut waiting = Waiting::default();
    loop {
        if !report_background(&learner, &mut shown, &mut post) {
            return;
        }
        // While something trains beside the rounds, look in on it between jobs.
        let poll = shown.map(|_| BACKGROUND_POLL);
        if !inbox.wait(&mut waiting, poll) {
            return;
        }
        if let Some(request) = waiting.mistakes.take() {
            if !post(find_mistakes(&learner, &map, request)) {
                return;
            }
            continue;
        }
        let Some(job) = waiting.job.take() else {
            continue;
        };
        let id = job.id;
        let labels = job.labeled.len();
        if inbox.cancelled(id) {
            if !post(TrainerEvent::Cancelled { job: id }) {
                return;
            }
            continue;
        }
        if !post(TrainerEvent::RoundStarted { job: id, labels }) {
            return;
        }
        let labeled = map.to_learner(&job.labeled);
        let audited = map.items_to_learner(&job.audited);
        let cancelled = || inbox.cancelled(id);
        let mut listening = true;
        let mut evaluated = false;
        let outcome = {
            // The round's stages post their own events; a ranking's items go out in
            // scan indices and its label count as the job's (the learner's leaves out
            // labels of images that could not be decoded), and a cancelled job's
            // ranking (by labels undone) not at all.
            let mut progress = |mut event: TrainerEvent| {
                match &mut event {
                    TrainerEvent::Ranked { .. } if cancelled() => return,
                    TrainerEvent::Ranked {
                        ranking,
                        labels: counted,
                        ..
                    } => {
                        map.to_scan(ranking);
                        *counted = labels;
                    }
                    TrainerEvent::Evaluated {
                        labels: counted, ..
                    } => {
                        evaluated = true;
                        *counted = labels;
                    }
                    _ => {}
                }
                listening &= post(event);
            };
            catch_unwind(AssertUnwindSafe(|| {
                learner.round_with_audits(&labeled, &audited, id, &cancelled, &mut progress)
            }))
        };
        let events = match outcome {
            // Cancelled after its last check: no ranking, and no model version.
            Ok(Ok(_)) if cancelled() => vec![TrainerEvent::Cancelled { job: id }],
            Ok(Ok(mut out)) => {
                map.to_scan(&mut out.ranking);
                let trained = out.ranking.source.is_learned();
                if trained && !job.refresh {
                    model += 1;
                }
                let mut events = Vec::new();
                if let (Some(accuracy), false) = (out.accuracy, evaluated) {
                    events.push(TrainerEvent::Evaluated {
                        job: id,
                        labels,
                        accuracy,
                    });
                }
                events.push(TrainerEvent::Ranked {
                    ranking: out.ranking,
                    labels,
                    preliminary: false,
                });
                events.push(TrainerEvent::RoundDone {
                    job: id,
                    labels,
                    model,
                    trained,
                    accuracy: out.accuracy,
                    times: out.times,
                });
                events
            }
            Ok(Err(LearnError::Cancelled)) => vec![TrainerEvent::Cancelled { job: id }],
            Ok(Err(e)) => vec![TrainerEvent::Error {
                job: Some(id),
                message: e.to_string(),
            }],
            // libtorch reports some failures (out of memory, a bad kernel) by panicking
            // through tch; the thread survives them and says what happened.
            Err(panic) => vec![TrainerEvent::Error {
                job: Some(id),
                message: panic_message(panic),
            }],
        };
        for ev in events {
            listening = listening && post(ev);
        }
        if !listening {
            return;
        }
    }
}

fn could_not_start(message: String) -> TrainerEvent {
    TrainerEvent::Error {
        job: None,
        message: format!(
            "the model could not start, so nothing will be learned this session ({message}); labels are still saved: quit, and see the log at {}",
            glean_core::paths::log_file().display()
        ),
    }
}

/// The likely mistakes of `request`'s labels (scan indices in and out), or why not.
fn find_mistakes(learner: &Learner, map: &PoolMap, request: MistakesJob) -> TrainerEvent {
    let started = std::time::Instant::now();
    let labeled = map.to_learner(&request.labeled);
    let found = catch_unwind(AssertUnwindSafe(|| learner.likely_mistakes(&labeled)));
    let message = match found {
        Ok(Ok(suspects)) => {
            return TrainerEvent::Suspects {
                request: request.request,
                labels: labeled.len(),
                suspects: to_scan(map, suspects),
                seconds: started.elapsed().as_secs_f64(),
            }
        }
        Ok(Err(e)) => e.to_string(),
        Err(panic) => panic_message(panic),
    };
    TrainerEvent::MistakesFailed {
        request: request.request,
        message,
    }
}

/// Suspects' pool indices from the learner's to the scan's.
fn to_scan(map: &PoolMap, suspects: Vec<Suspect>) -> Vec<Suspect> {
    suspects
        .into_iter()
        .map(|suspect| Suspect {
            pool_index: map.scan_index(suspect.pool_index),
            ..suspect
        })
        .collect()
}

/// How often an idle trainer looks at the work beside its rounds.
const BACKGROUND_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Posts the learner's background work when it changed since `shown`; false when no
/// one listens any more.
fn report_background<F>(learner: &Learner, shown: &mut Option<BackgroundWork>, post: &mut F) -> bool
where
    F: FnMut(TrainerEvent) -> bool,
{
    let now = learner.background_work();
    if now == *shown {
        return true;
    }
    *shown = now;
    post(TrainerEvent::Background(now))
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    // libtorch's messages run to many lines of C++ context: the first says what.
    let first = text.lines().next().unwrap_or_default();
    format!(
        "the learner failed ({first}); details in {}",
        glean_core::paths::log_file().display()
    )
}
