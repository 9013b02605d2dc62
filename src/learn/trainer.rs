//! The trainer thread: owns the `Learner` (every tch value), takes jobs (a labeled set
//! and its version) and posts events. Jobs that arrive while one runs are coalesced: only
//! the newest waits. A job can be cancelled between batches. Requests for the likely
//! mistakes of the labels (`MistakesJob`) are coalesced the same way among themselves and
//! run before a waiting round: someone is looking at the screen that waits for them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::config::LearnerConfig;
use super::device::describe;
use super::learner::Learner;
use super::mistakes::Suspect;
use super::outcome::{RoundProgress, RoundTimes};
use super::prepare::BackgroundWork;
use super::ranking::{ClassProb, RankedItem, Ranking, RankingSource};
use super::startup::{prepare_scanned, PoolInput, PoolMap, StartupEvent};
use super::LearnError;
use crate::dataset::SkipReason;

/// The labeled set to learn from. Versions increase with every change of the labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub version: u64,
    pub labeled: Vec<(usize, u16)>,
}

/// A request for the likely mistakes among the labels: each labeled item judged by the
/// graph's propagation of the other folds' labels (`Learner::likely_mistakes`).
/// `request` numbers the requests; the answer carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MistakesJob {
    pub request: u64,
    pub labeled: Vec<(usize, u16)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrainerEvent {
    /// Once-per-pool preparation before `Ready` (decoding, backbone features, graph),
    /// at `per_second` where the step measures its rate.
    Preparing {
        what: &'static str,
        done: usize,
        total: usize,
        per_second: Option<f64>,
    },
    /// The backbone's own ImageNet classifier's suggestions among the session's classes
    /// for these pool items, before any label: posted as their features come in.
    Suggested {
        items: Vec<(usize, Vec<ClassProb>)>,
    },
    /// Pool items that could not be decoded: nothing learns from them.
    Unusable {
        items: Vec<(usize, SkipReason)>,
    },
    /// The learner is set up on this device; `learner` says what learns (e.g.
    /// `hybrid (cnn)`), `network` names the network (`cnn`, `effnet-lite0`).
    Ready {
        device: String,
        learner: String,
        network: String,
    },
    /// Training progress of job `version`.
    Progress {
        version: u64,
        step: usize,
        steps: usize,
        loss: f64,
    },
    /// Work beside the rounds (the autoencoder's training) has moved on; None once the
    /// round that took it in is done (or there was none to take in).
    Background(Option<BackgroundWork>),
    /// Test accuracy of the model trained for job `version`.
    Evaluated {
        version: u64,
        accuracy: f64,
    },
    /// A ranking for job `ranking.version`: the round's last, or (`preliminary`) the
    /// hybrid learner's graph ranking, posted before its network trains.
    Ranked {
        ranking: Ranking,
        accuracy: Option<f64>,
        times: RoundTimes,
        preliminary: bool,
    },
    Cancelled {
        version: u64,
    },
    /// The likely mistakes of request `request`, on its `labels` labels: least believed
    /// first (pool indices as the jobs give them), computed in `seconds`.
    Suspects {
        request: u64,
        labels: usize,
        suspects: Vec<Suspect>,
        seconds: f64,
    },
    /// Request `request` for the likely mistakes failed (e.g. a learner without the
    /// graph); the trainer goes on.
    MistakesFailed {
        request: u64,
        message: String,
    },
    /// Something went wrong; the trainer keeps taking jobs unless it could not start
    /// (`version` None).
    Error {
        version: Option<u64>,
        message: String,
    },
}

enum Message {
    Job(Job),
    Mistakes(MistakesJob),
    Shutdown,
}

/// The UI side of a trainer thread. Dropping it stops the thread (after cancelling
/// what runs).
pub struct TrainerHandle {
    jobs: Sender<Message>,
    /// Jobs with a version below this are cancelled.
    cancel_below: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl TrainerHandle {
    /// Queues a job; a job still waiting is replaced by this newer one.
    pub fn submit(&self, job: Job) {
        // A send fails only when the thread has ended, and it has then said why.
        let _ = self.jobs.send(Message::Job(job));
    }

    /// Asks for the likely mistakes among `job.labeled`; a request still waiting is
    /// replaced by this newer one. It runs before a waiting round; quitting while it
    /// runs leaves it (as a round's step that cannot be cut short is left).
    pub fn find_mistakes(&self, job: MistakesJob) {
        let _ = self.jobs.send(Message::Mistakes(job));
    }

    /// Cancels every job with a version up to `version`, running or waiting.
    pub fn cancel_up_to(&self, version: u64) {
        self.cancel_below
            .fetch_max(version.saturating_add(1), Ordering::SeqCst);
    }

    /// Stops the thread and waits for it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Asks the thread to stop without waiting for it: every job is cancelled and no
    /// new one is taken. [`TrainerHandle::stop_by`] then waits.
    pub fn request_stop(&self) {
        self.cancel_below.store(u64::MAX, Ordering::SeqCst);
        let _ = self.jobs.send(Message::Shutdown);
    }

    /// Asks the thread to stop and waits until `deadline` at most; true when it ended.
    /// A thread inside a step that cannot be interrupted (a forward pass, the graph's
    /// construction) is left to stop at its next check, or to end with the process.
    pub fn stop_by(mut self, deadline: std::time::Instant) -> bool {
        self.request_stop();
        let Some(thread) = self.thread.take() else {
            return true;
        };
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                tracing::info!("the trainer is inside a step that cannot be cut short: leaving it");
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = thread.join();
        true
    }

    fn stop(&mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TrainerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

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
        let (tx, rx) = crossbeam_channel::unbounded();
        let cancel_below = Arc::new(AtomicU64::new(0));
        let flag = cancel_below.clone();
        let thread = std::thread::Builder::new()
            .name("glean-trainer".into())
            .spawn(move || run(input, config, rx, flag, post))
            .expect("spawning a thread");
        TrainerHandle {
            jobs: tx,
            cancel_below,
            thread: Some(thread),
        }
    }
}

fn run<F>(
    input: PoolInput,
    config: LearnerConfig,
    jobs: Receiver<Message>,
    cancel_below: Arc<AtomicU64>,
    mut post: F,
) where
    F: FnMut(TrainerEvent) -> bool,
{
    let stopping = || cancel_below.load(Ordering::SeqCst) == u64::MAX;
    let prepared = catch_unwind(AssertUnwindSafe(|| {
        let mut startup = |event: StartupEvent| {
            let ev = match event {
                StartupEvent::Progress(RoundProgress::Preparing {
                    what,
                    done,
                    total,
                    per_second,
                }) => TrainerEvent::Preparing {
                    what,
                    done,
                    total,
                    per_second,
                },
                StartupEvent::Progress(_) => return,
                StartupEvent::Suggested(items) => TrainerEvent::Suggested { items },
                StartupEvent::Unusable(items) => TrainerEvent::Unusable { items },
            };
            post(ev);
        };
        match input {
            PoolInput::Decoded(data) => {
                let pool_len = data.pool_len();
                Learner::prepare(
                    data,
                    config,
                    &mut |p| startup(StartupEvent::Progress(p)),
                    &stopping,
                )
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
            post(TrainerEvent::Error {
                version: None,
                message: e.to_string(),
            });
            return;
        }
        Err(panic) => {
            post(TrainerEvent::Error {
                version: None,
                message: panic_message(panic),
            });
            return;
        }
    };
    if !post(TrainerEvent::Ready {
        device: describe(learner.device()),
        learner: learner.describe(),
        network: learner.model().name().to_string(),
    }) {
        return;
    }
    let mut shown = None;
    // What waits: the newest round job and the newest request for likely mistakes.
    let mut waiting_job: Option<Job> = None;
    let mut waiting_mistakes: Option<MistakesJob> = None;
    loop {
        if !report_background(&learner, &mut shown, &mut post) {
            return;
        }
        if waiting_job.is_none() && waiting_mistakes.is_none() {
            // While something trains beside the rounds, look in on it between jobs.
            let first = match shown {
                Some(_) => match jobs.recv_timeout(BACKGROUND_POLL) {
                    Ok(message) => message,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
                None => match jobs.recv() {
                    Ok(message) => message,
                    Err(_) => return,
                },
            };
            if !take(first, &mut waiting_job, &mut waiting_mistakes) {
                return;
            }
        }
        // Coalesce: of everything queued, only the newest job (and request) runs.
        while let Ok(next) = jobs.try_recv() {
            if !take(next, &mut waiting_job, &mut waiting_mistakes) {
                return;
            }
        }
        if stopping() {
            return;
        }
        if let Some(request) = waiting_mistakes.take() {
            if !post(find_mistakes(&learner, &map, request)) {
                return;
            }
            continue;
        }
        let Some(job) = waiting_job.take() else {
            continue;
        };
        let version = job.version;
        let labeled = map.to_learner(&job.labeled);
        let cancelled = || version < cancel_below.load(Ordering::SeqCst);
        if cancelled() {
            if !post(TrainerEvent::Cancelled { version }) {
                return;
            }
            continue;
        }
        let mut listening = true;
        let outcome = {
            let mut progress = |p: RoundProgress| {
                let ev = match p {
                    RoundProgress::Fit(f) => TrainerEvent::Progress {
                        version,
                        step: f.step,
                        steps: f.steps,
                        loss: f.loss,
                    },
                    RoundProgress::Evaluated { accuracy } => {
                        TrainerEvent::Evaluated { version, accuracy }
                    }
                    RoundProgress::Preliminary(out) => {
                        let mut ranking = out.ranking;
                        map.to_scan(&mut ranking);
                        TrainerEvent::Ranked {
                            ranking,
                            accuracy: out.accuracy,
                            times: out.times,
                            preliminary: true,
                        }
                    }
                    RoundProgress::Preparing {
                        what,
                        done,
                        total,
                        per_second,
                    } => TrainerEvent::Preparing {
                        what,
                        done,
                        total,
                        per_second,
                    },
                };
                listening &= post(ev);
            };
            catch_unwind(AssertUnwindSafe(|| {
                learner.round(&labeled, version, &cancelled, &mut progress)
            }))
        };
        let ev = match outcome {
            Ok(Ok(mut out)) => {
                map.to_scan(&mut out.ranking);
                TrainerEvent::Ranked {
                    ranking: out.ranking,
                    accuracy: out.accuracy,
                    times: out.times,
                    preliminary: false,
                }
            }
            Ok(Err(LearnError::Cancelled)) => TrainerEvent::Cancelled { version },
            Ok(Err(e)) => TrainerEvent::Error {
                version: Some(version),
                message: e.to_string(),
            },
            // libtorch reports some failures (out of memory, a bad kernel) by panicking
            // through tch; the thread survives them and says what happened.
            Err(panic) => TrainerEvent::Error {
                version: Some(version),
                message: panic_message(panic),
            },
        };
        if !listening || !post(ev) {
            return;
        }
    }
}

/// Files a message that arrived: the newest job and request replace those waiting;
/// false on shutdown.
fn take(message: Message, job: &mut Option<Job>, mistakes: &mut Option<MistakesJob>) -> bool {
    match message {
        Message::Shutdown => return false,
        Message::Job(next) => *job = Some(next),
        Message::Mistakes(next) => *mistakes = Some(next),
    }
    true
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

/// Suspects' pool indices from the learner's to the scan's (as a ranking's are mapped).
fn to_scan(map: &PoolMap, suspects: Vec<Suspect>) -> Vec<Suspect> {
    let mut as_ranking = Ranking {
        version: 0,
        strategy: super::strategy::Strategy::Random,
        source: RankingSource::Graph,
        items: suspects
            .iter()
            .map(|s| RankedItem {
                pool_index: s.pool_index,
                score: 0.0,
                top: Vec::new(),
            })
            .collect(),
    };
    map.to_scan(&mut as_ranking);
    suspects
        .into_iter()
        .zip(as_ranking.items)
        .map(|(suspect, item)| Suspect {
            pool_index: item.pool_index,
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
    format!("the learner failed: {text}")
}
