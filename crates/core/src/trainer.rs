//! The one vocabulary between the trainer thread and the rest of the program: the jobs
//! sent to it, the events it posts (straight into the UI's event channel, or to a
//! simulation), and the handle that sends, cancels and stops. No tch here: the thread
//! itself lives in `glean-learn`, which takes its messages through a [`TrainerInbox`].

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::mistakes::Suspect;
use crate::ranking::{ClassProb, Ranking};

/// A labeled set to learn from. Job ids increase with every change of the labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
    pub labeled: Vec<(usize, u16)>,
    /// The labeled items that were audit picks (`RankedItem::audit`): placed in the
    /// queue at random, so their labels judge the predictors without the strategy's bias.
    pub audited: Vec<usize>,
    /// Its labels are those of the last model made (a resume, or an undo given back):
    /// its round ranks the pool anew but makes no new model version.
    pub refresh: bool,
}

impl Job {
    /// A job on new labels: its round, when it trains, makes a new model version.
    pub fn new(id: u64, labeled: Vec<(usize, u16)>) -> Job {
        Job {
            id,
            labeled,
            audited: Vec::new(),
            refresh: false,
        }
    }

    /// The same job, with `audited` its audit picks.
    pub fn with_audited(self, audited: Vec<usize>) -> Job {
        Job { audited, ..self }
    }
}

/// A request for the likely mistakes among the labels: each labeled item judged by the
/// graph's propagation of the other folds' labels. `request` numbers the requests; the
/// answer carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MistakesJob {
    pub request: u64,
    pub labeled: Vec<(usize, u16)>,
}

/// Wall-clock seconds of each phase of a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RoundTimes {
    /// Graph propagation, with its evaluation and ranking.
    pub propagate: f64,
    pub train: f64,
    pub evaluate: f64,
    pub score: f64,
    /// The strategy's own work, inside the times above: its rankings, and for the
    /// structure-reading strategies the pool's clusters or neighbours (first round),
    /// the discriminator, the labeled items' predictions.
    pub rank: f64,
    pub total: f64,
}

impl RoundTimes {
    pub fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(self.total.max(0.0))
    }
}

/// Work the trainer does beside its rounds (the autoencoder's training): `done` of
/// `total` steps (0 of 0 before the first, or when it came from the cache), `finished`
/// once its result waits for the next round to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundWork {
    pub what: &'static str,
    pub done: usize,
    pub total: usize,
    pub finished: bool,
}

/// What the trainer thread posts. Each round's events name its job and the number of
/// labels it learns from; a finished round also the model version it made.
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
    /// for these pool items (best first), before any label: posted as their features
    /// come in.
    Suggested { items: Vec<(usize, Vec<ClassProb>)> },
    /// Pool items that could not be decoded, with why: nothing learns from them.
    Unusable { items: Vec<(usize, String)> },
    /// The learner is set up on `device`; `learner` says what learns (e.g. `hybrid
    /// (cnn)`), `network` names the network (`cnn`, `effnet-lite0`).
    Ready {
        device: String,
        learner: String,
        network: String,
    },
    /// Work beside the rounds has moved on; None once the round that took it in is done
    /// (or there was none to take in).
    Background(Option<BackgroundWork>),
    /// The trainer took job `job`, with `labels` labels.
    RoundStarted { job: u64, labels: usize },
    /// Training progress of job `job`: optimiser step `step` of `steps`.
    Progress {
        job: u64,
        step: usize,
        steps: usize,
        loss: f64,
    },
    /// Job `job`'s training is done: it is scoring the pool.
    Scoring { job: u64 },
    /// Test accuracy of what job `job` trained on `labels` labels.
    Evaluated {
        job: u64,
        labels: usize,
        accuracy: f64,
    },
    /// A ranking of the unlabeled pool for job `ranking.job`, learned from `labels`
    /// labels: the round's last, or (`preliminary`) the hybrid learner's graph ranking,
    /// posted before its network trains.
    Ranked {
        ranking: Ranking,
        labels: usize,
        preliminary: bool,
    },
    /// Job `job` is done (after its last ranking; jobs before it are done or were
    /// replaced by it): `model` is the model version now in use, new when the round
    /// trained on labels no earlier model had (`trained` and not a refresh).
    RoundDone {
        job: u64,
        labels: usize,
        model: u64,
        trained: bool,
        accuracy: Option<f64>,
        times: RoundTimes,
    },
    /// Job `job` was cancelled (its labels changed); a newer one follows.
    Cancelled { job: u64 },
    /// The likely mistakes of request `request`, on its `labels` labels: every labeled
    /// item, least believed first, computed in `seconds`.
    Suspects {
        request: u64,
        labels: usize,
        suspects: Vec<Suspect>,
        seconds: f64,
    },
    /// Request `request` for the likely mistakes failed (e.g. a learner without the
    /// graph); the trainer goes on.
    MistakesFailed { request: u64, message: String },
    /// Something went wrong; the trainer keeps taking jobs unless it could not start
    /// (`job` None).
    Error { job: Option<u64>, message: String },
}

impl TrainerEvent {
    /// The job a round's event belongs to; None for work beside the rounds.
    pub fn job(&self) -> Option<u64> {
        match self {
            TrainerEvent::RoundStarted { job, .. }
            | TrainerEvent::Progress { job, .. }
            | TrainerEvent::Scoring { job }
            | TrainerEvent::Evaluated { job, .. }
            | TrainerEvent::RoundDone { job, .. }
            | TrainerEvent::Cancelled { job } => Some(*job),
            TrainerEvent::Ranked { ranking, .. } => Some(ranking.job),
            TrainerEvent::Error { job, .. } => *job,
            TrainerEvent::Preparing { .. }
            | TrainerEvent::Suggested { .. }
            | TrainerEvent::Unusable { .. }
            | TrainerEvent::Ready { .. }
            | TrainerEvent::Background(_)
            | TrainerEvent::Suspects { .. }
            | TrainerEvent::MistakesFailed { .. } => None,
        }
    }

    /// Whether this is the last event of its job's round.
    pub fn ends_its_job(&self) -> bool {
        matches!(
            self,
            TrainerEvent::RoundDone { .. }
                | TrainerEvent::Cancelled { .. }
                | TrainerEvent::Error { job: Some(_), .. }
        )
    }
}

/// What the handle sends the trainer thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Job(Job),
    Mistakes(MistakesJob),
    Shutdown,
}

/// A handle and the inbox its trainer thread reads: [`TrainerHandle::attach`] the
/// thread once spawned. A handle without a thread (tests) only queues.
pub fn trainer_channel() -> (TrainerHandle, TrainerInbox) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let cancels = Arc::new(Cancels::default());
    (
        TrainerHandle {
            jobs: tx,
            cancels: cancels.clone(),
            thread: None,
        },
        TrainerInbox {
            messages: rx,
            cancels,
        },
    )
}

/// Which jobs are cancelled, each by its id (an undo makes stale only the jobs that
/// hold the label undone, not the one running before it), and whether the thread is to
/// stop (which cancels them all).
#[derive(Debug, Default)]
struct Cancels {
    jobs: Mutex<BTreeSet<u64>>,
    stop: AtomicBool,
}

impl Cancels {
    fn cancel(&self, job: u64) {
        // A poisoned lock only means a panic elsewhere held it; the set is still whole.
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.insert(job);
    }

    fn cancelled(&self, job: u64) -> bool {
        self.stop.load(Ordering::SeqCst)
            || self
                .jobs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&job)
    }
}

/// The UI side of a trainer thread. Dropping it stops the thread (after cancelling
/// what runs).
pub struct TrainerHandle {
    jobs: Sender<Message>,
    cancels: Arc<Cancels>,
    thread: Option<JoinHandle<()>>,
}

impl TrainerHandle {
    /// The thread that reads this handle's inbox: stopping the handle waits for it.
    pub fn attach(&mut self, thread: JoinHandle<()>) {
        self.thread = Some(thread);
    }

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

    /// Cancels job `job`, running or waiting; other jobs go on.
    pub fn cancel(&self, job: u64) {
        self.cancels.cancel(job);
    }

    /// Stops the thread and waits for it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Asks the thread to stop without waiting for it: every job is cancelled and no
    /// new one is taken. [`TrainerHandle::stop_by`] then waits.
    pub fn request_stop(&self) {
        self.cancels.stop.store(true, Ordering::SeqCst);
        let _ = self.jobs.send(Message::Shutdown);
    }

    /// Asks the thread to stop and waits until `deadline` at most; true when it ended.
    /// A thread inside a step that cannot be interrupted (a forward pass, the graph's
    /// construction) is left to stop at its next check, or to end with the process.
    pub fn stop_by(mut self, deadline: Instant) -> bool {
        self.stop_or_let_go(deadline)
    }

    /// [`TrainerHandle::stop_by`] through a borrow: a thread still inside a step at
    /// `deadline` is let go (not joined when the handle drops) to end with the process.
    pub fn stop_or_let_go(&mut self, deadline: Instant) -> bool {
        self.request_stop();
        let Some(thread) = self.thread.take() else {
            return true;
        };
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                tracing::info!("the trainer is inside a step that cannot be cut short: leaving it");
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
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

/// The trainer thread's side: the messages, coalesced, and whether a job is cancelled.
pub struct TrainerInbox {
    messages: Receiver<Message>,
    cancels: Arc<Cancels>,
}

/// What waits for the trainer: the newest job and the newest request for likely
/// mistakes (older ones were replaced while they waited).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    pub job: Option<Job>,
    pub mistakes: Option<MistakesJob>,
}

impl TrainerInbox {
    /// Whether the handle asked the thread to stop.
    pub fn stopping(&self) -> bool {
        self.cancels.stop.load(Ordering::SeqCst)
    }

    /// Whether job `job` is cancelled (or the thread is to stop).
    pub fn cancelled(&self, job: u64) -> bool {
        self.cancels.cancelled(job)
    }

    /// Waits for work (at most `poll`, where given) and takes everything queued behind
    /// it into `waiting`: of everything queued only the newest job and request are
    /// kept. False when the thread is to end (a shutdown, or no handle any more).
    pub fn wait(&self, waiting: &mut Waiting, poll: Option<Duration>) -> bool {
        if waiting.job.is_none() && waiting.mistakes.is_none() {
            let first = match poll {
                Some(poll) => match self.messages.recv_timeout(poll) {
                    Ok(message) => message,
                    Err(RecvTimeoutError::Timeout) => return true,
                    Err(RecvTimeoutError::Disconnected) => return false,
                },
                None => match self.messages.recv() {
                    Ok(message) => message,
                    Err(_) => return false,
                },
            };
            if !waiting.take(first) {
                return false;
            }
        }
        while let Ok(next) = self.messages.try_recv() {
            if !waiting.take(next) {
                return false;
            }
        }
        !self.stopping()
    }

    /// The next message queued, if any (tests of what a handle sends).
    pub fn try_recv(&self) -> Option<Message> {
        self.messages.try_recv().ok()
    }
}

impl Waiting {
    /// Files a message that arrived: the newest job and request replace those waiting;
    /// false on shutdown.
    fn take(&mut self, message: Message) -> bool {
        match message {
            Message::Shutdown => return false,
            Message::Job(next) => self.job = Some(next),
            Message::Mistakes(next) => self.mistakes = Some(next),
        }
        true
    }
}

#[cfg(test)]
mod tests {

    /// A thread inside a step that ignores the stop is let go at the deadline, and the
    /// handle's drop does not wait for it: a screen leaving on an error never hangs.
    #[test]
    fn a_busy_thread_is_let_go_at_the_deadline_and_not_joined_on_drop() {
        let (mut handle, _inbox) = trainer_channel();
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
        handle.attach(std::thread::spawn(move || {
            // A step that cannot be cut short, until the test lets it end.
            let _ = done_rx.recv_timeout(Duration::from_secs(30));
        }));
        let asked = Instant::now();
        assert!(!handle.stop_or_let_go(asked + Duration::from_millis(50)));
        drop(handle);
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
        let _ = done_tx.send(());
    }

    use super::*;

    fn job(id: u64) -> Job {
        Job::new(id, vec![(id as usize, 0)])
    }

    #[test]
    fn only_the_newest_queued_job_and_request_wait() {
        let (handle, inbox) = trainer_channel();
        handle.submit(job(1));
        handle.find_mistakes(MistakesJob {
            request: 1,
            labeled: vec![],
        });
        handle.submit(job(2));
        handle.find_mistakes(MistakesJob {
            request: 2,
            labeled: vec![],
        });
        let mut waiting = Waiting::default();
        assert!(inbox.wait(&mut waiting, None));
        assert_eq!(waiting.job, Some(job(2)));
        assert_eq!(waiting.mistakes.map(|m| m.request), Some(2));
    }

    #[test]
    fn cancelling_names_one_job_and_leaves_the_others() {
        let (handle, inbox) = trainer_channel();
        handle.cancel(3);
        assert!(inbox.cancelled(3));
        assert!(!inbox.cancelled(2) && !inbox.cancelled(4));
        handle.cancel(1);
        assert!(inbox.cancelled(1) && inbox.cancelled(3) && !inbox.cancelled(2));
    }

    #[test]
    fn a_stop_ends_the_wait_and_cancels_everything() {
        let (handle, inbox) = trainer_channel();
        handle.submit(job(1));
        handle.request_stop();
        let mut waiting = Waiting::default();
        assert!(!inbox.wait(&mut waiting, None));
        assert!(inbox.stopping() && inbox.cancelled(u64::MAX - 1));
    }

    #[test]
    fn a_wait_with_a_poll_returns_with_nothing_when_nothing_came() {
        let (_handle, inbox) = trainer_channel();
        let mut waiting = Waiting::default();
        assert!(inbox.wait(&mut waiting, Some(Duration::from_millis(10))));
        assert_eq!(waiting, Waiting::default());
    }

    #[test]
    fn a_dropped_handle_ends_the_wait() {
        let (handle, inbox) = trainer_channel();
        drop(handle);
        assert!(!inbox.wait(&mut Waiting::default(), None));
    }
}
