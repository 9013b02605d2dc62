//! Turning the learn module's trainer messages into the app's plain [`TrainerEvent`]s:
//! which round is running, with how many labels, and the model version it produced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::learn;

use super::types::{BackgroundStatus, ClassProb, RankedItem, Ranking, Suspect, TrainerEvent};

/// What the bridge must know of each job sent and not yet ended, by job version
/// (filled by whoever submits).
pub type SentJobs = Arc<Mutex<HashMap<u64, SentJob>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentJob {
    /// Labels it trains on.
    pub labels: usize,
    /// Its labels are those of the last model made (a resume, or an undo given back):
    /// its round ranks the pool anew but makes no new model version.
    pub refresh: bool,
}

/// Converts trainer messages, remembering the round in progress.
pub struct Bridge {
    jobs: SentJobs,
    /// Display name of the trained model (e.g. `cnn`).
    model: String,
    /// Rounds that trained a model so far: the model version.
    rounds: u64,
    running: Option<u64>,
    accuracy: Option<f64>,
}

impl Bridge {
    pub fn new(jobs: SentJobs, model: String, rounds_so_far: u64) -> Self {
        Bridge {
            jobs,
            model,
            rounds: rounds_so_far,
            running: None,
            accuracy: None,
        }
    }

    fn job(&self, version: u64) -> SentJob {
        let unknown = SentJob {
            labels: 0,
            refresh: false,
        };
        self.jobs
            .lock()
            .map(|jobs| jobs.get(&version).copied().unwrap_or(unknown))
            .unwrap_or(unknown)
    }

    fn labels_of(&self, version: u64) -> usize {
        self.job(version).labels
    }

    /// Job `job` ended: it and every job before it (done, or replaced by it while
    /// queued) will post nothing more.
    fn forget_up_to(&self, job: u64) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.retain(|&version, _| version > job);
        }
    }

    /// What ranked, as the screen shows it: the network's name, `graph`, or both.
    fn learner_name(&self, source: learn::RankingSource) -> String {
        match source {
            learn::RankingSource::Graph => "graph".into(),
            learn::RankingSource::Hybrid => format!("graph+{}", self.model),
            _ => self.model.clone(),
        }
    }

    pub fn convert(&mut self, event: learn::TrainerEvent) -> Vec<TrainerEvent> {
        use learn::TrainerEvent as L;
        match event {
            L::Ready {
                device,
                learner,
                network,
            } => {
                tracing::info!("learner: {learner} on {device}");
                self.model = network;
                vec![TrainerEvent::Ready { device }]
            }
            L::Preparing {
                what,
                done,
                total,
                per_second,
            } => vec![TrainerEvent::Preparing {
                what: what.to_string(),
                done,
                total,
                per_second,
            }],
            L::Suggested { items } => vec![TrainerEvent::Suggested(
                items
                    .into_iter()
                    .map(|(item, top)| (item, convert_probs(top)))
                    .collect(),
            )],
            L::Unusable { items } => vec![TrainerEvent::Unusable(
                items
                    .into_iter()
                    .map(|(item, reason)| (item, reason.describe().to_string()))
                    .collect(),
            )],
            L::Progress {
                version,
                step,
                steps,
                loss,
            } => {
                let mut out = Vec::new();
                if self.running != Some(version) {
                    self.running = Some(version);
                    self.accuracy = None;
                    out.push(TrainerEvent::RoundStarted {
                        labels: self.labels_of(version),
                    });
                }
                out.push(TrainerEvent::Progress {
                    step,
                    steps,
                    loss: loss as f32,
                });
                if step >= steps {
                    out.push(TrainerEvent::Scoring);
                }
                out
            }
            L::Background(work) => vec![TrainerEvent::Background(work.map(|w| BackgroundStatus {
                what: w.what.to_string(),
                done: w.done,
                total: w.total,
                finished: w.finished,
            }))],
            L::Evaluated { version, accuracy } => {
                self.accuracy = Some(accuracy);
                vec![
                    TrainerEvent::Evaluated {
                        labels: self.labels_of(version),
                        accuracy,
                    },
                    TrainerEvent::Scoring,
                ]
            }
            L::Ranked {
                ranking,
                preliminary: true,
                ..
            } => {
                // The graph's ranking of a hybrid round: serve it now, the round goes on.
                vec![TrainerEvent::Ranked(Ranking {
                    labels: self.labels_of(ranking.version),
                    strategy: ranking.strategy.name().to_string(),
                    learner: self.learner_name(ranking.source),
                    items: convert_items(ranking.items),
                })]
            }
            L::Ranked {
                ranking,
                accuracy,
                times,
                preliminary: false,
            } => {
                let version = ranking.version;
                let job = self.job(version);
                let labels = job.labels;
                let trained = ranking.source.is_learned();
                if trained && !job.refresh {
                    self.rounds += 1;
                }
                self.running = None;
                let (strategy, learner) = if trained {
                    (
                        ranking.strategy.name().to_string(),
                        self.learner_name(ranking.source),
                    )
                } else {
                    ("cold start".to_string(), "no model yet".to_string())
                };
                let items = convert_items(ranking.items);
                let mut out = Vec::new();
                if let (Some(accuracy), None) = (accuracy, self.accuracy) {
                    out.push(TrainerEvent::Evaluated { labels, accuracy });
                }
                out.push(TrainerEvent::Ranked(Ranking {
                    labels,
                    strategy,
                    learner,
                    items,
                }));
                self.forget_up_to(version);
                out.push(TrainerEvent::RoundDone {
                    job: version,
                    version: self.rounds,
                    labels,
                    accuracy,
                    trained,
                    elapsed: Duration::from_secs_f64(times.total.max(0.0)),
                });
                self.accuracy = None;
                out
            }
            L::Suspects {
                request,
                labels,
                suspects,
                seconds,
            } => {
                tracing::info!(
                    "likely mistakes (request {request}): {labels} labels judged in {seconds:.1}s"
                );
                vec![TrainerEvent::Suspects {
                    request,
                    labels,
                    suspects: suspects
                        .into_iter()
                        .map(|s| Suspect {
                            item: s.pool_index,
                            given: s.given,
                            predicted: s.predicted,
                            prob_given: s.prob_given,
                        })
                        .collect(),
                }]
            }
            L::MistakesFailed { request, message } => {
                vec![TrainerEvent::MistakesFailed { request, message }]
            }
            L::Cancelled { version } => {
                self.running = None;
                self.forget_up_to(version);
                vec![TrainerEvent::Cancelled { job: version }]
            }
            L::Error { version, message } => {
                self.running = None;
                if let Some(job) = version {
                    self.forget_up_to(job);
                }
                let message = match version {
                    Some(_) => message,
                    None => format!("the trainer could not start: {message}"),
                };
                vec![TrainerEvent::Error(message)]
            }
        }
    }
}

fn convert_items(items: Vec<learn::RankedItem>) -> Vec<RankedItem> {
    items
        .into_iter()
        .map(|item| RankedItem {
            item: item.pool_index,
            score: item.score,
            top: convert_probs(item.top),
        })
        .collect()
}

fn convert_probs(top: Vec<learn::ClassProb>) -> Vec<ClassProb> {
    top.into_iter()
        .map(|p| ClassProb {
            class: p.class,
            prob: p.prob,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::{RankingSource, RoundTimes, Strategy};

    fn ranking(version: u64, source: RankingSource) -> learn::Ranking {
        learn::Ranking {
            version,
            strategy: Strategy::Margin,
            source,
            items: vec![learn::RankedItem {
                pool_index: 7,
                score: 0.25,
                top: vec![learn::ClassProb {
                    class: 2,
                    prob: 0.75,
                }],
            }],
        }
    }

    fn sent(labels: usize) -> SentJob {
        SentJob {
            labels,
            refresh: false,
        }
    }

    /// A resumed session's first round, on the labels of its last model, ranks the pool
    /// but is no new model: the version stays.
    #[test]
    fn a_round_on_the_last_models_labels_keeps_the_model_version() {
        let jobs: SentJobs = Arc::default();
        jobs.lock().unwrap().insert(
            1,
            SentJob {
                labels: 40,
                refresh: true,
            },
        );
        jobs.lock().unwrap().insert(2, sent(50));
        let mut bridge = Bridge::new(jobs, "cnn".into(), 4);
        let done = |bridge: &mut Bridge, job: u64| {
            let ev = bridge.convert(learn::TrainerEvent::Ranked {
                ranking: ranking(job, RankingSource::Model),
                accuracy: None,
                times: RoundTimes::default(),
                preliminary: false,
            });
            let Some(TrainerEvent::RoundDone {
                version, labels, ..
            }) = ev.last()
            else {
                panic!("{ev:?}")
            };
            (*version, *labels)
        };
        assert_eq!(done(&mut bridge, 1), (4, 40));
        assert_eq!(done(&mut bridge, 2), (5, 50));
    }

    #[test]
    fn a_round_becomes_start_progress_scoring_accuracy_ranking_done() {
        let jobs: SentJobs = Arc::default();
        // Job 11 was replaced by 12 while queued; 13 is queued behind 12.
        jobs.lock()
            .unwrap()
            .extend([(11, sent(10)), (12, sent(20)), (13, sent(30))]);
        let mut bridge = Bridge::new(jobs.clone(), "cnn".into(), 3);
        let ev = bridge.convert(learn::TrainerEvent::Progress {
            version: 12,
            step: 1,
            steps: 2,
            loss: 1.5,
        });
        assert_eq!(
            ev,
            vec![
                TrainerEvent::RoundStarted { labels: 20 },
                TrainerEvent::Progress {
                    step: 1,
                    steps: 2,
                    loss: 1.5
                }
            ]
        );
        let ev = bridge.convert(learn::TrainerEvent::Progress {
            version: 12,
            step: 2,
            steps: 2,
            loss: 1.0,
        });
        assert_eq!(
            ev,
            vec![
                TrainerEvent::Progress {
                    step: 2,
                    steps: 2,
                    loss: 1.0
                },
                TrainerEvent::Scoring
            ]
        );
        let ev = bridge.convert(learn::TrainerEvent::Evaluated {
            version: 12,
            accuracy: 0.5,
        });
        assert_eq!(
            ev[0],
            TrainerEvent::Evaluated {
                labels: 20,
                accuracy: 0.5
            }
        );
        let ev = bridge.convert(learn::TrainerEvent::Ranked {
            ranking: ranking(12, RankingSource::Model),
            accuracy: Some(0.5),
            times: RoundTimes {
                total: 2.0,
                ..RoundTimes::default()
            },
            preliminary: false,
        });
        let TrainerEvent::Ranked(r) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(
            (r.labels, r.learner.as_str(), r.strategy.as_str()),
            (20, "cnn", "margin")
        );
        assert_eq!(
            r.items[0],
            RankedItem {
                item: 7,
                score: 0.25,
                top: vec![ClassProb {
                    class: 2,
                    prob: 0.75
                }]
            }
        );
        assert_eq!(
            ev[1],
            TrainerEvent::RoundDone {
                job: 12,
                version: 4,
                labels: 20,
                accuracy: Some(0.5),
                trained: true,
                elapsed: Duration::from_secs(2)
            }
        );
        // Only the queued job's size is kept: the map does not grow without bound.
        let kept: Vec<u64> = jobs.lock().unwrap().keys().copied().collect();
        assert_eq!(kept, [13]);
    }

    #[test]
    fn cold_start_keeps_the_model_version_and_errors_say_why() {
        let mut bridge = Bridge::new(Arc::default(), "cnn".into(), 0);
        let ev = bridge.convert(learn::TrainerEvent::Ranked {
            ranking: ranking(0, RankingSource::ColdStart),
            accuracy: None,
            times: RoundTimes::default(),
            preliminary: false,
        });
        let TrainerEvent::Ranked(r) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(
            (r.labels, r.strategy.as_str(), r.learner.as_str()),
            (0, "cold start", "no model yet")
        );
        let ev = bridge.convert(learn::TrainerEvent::Error {
            version: None,
            message: "no CUDA".into(),
        });
        assert_eq!(
            ev,
            vec![TrainerEvent::Error(
                "the trainer could not start: no CUDA".into()
            )]
        );
        assert_eq!(
            bridge.convert(learn::TrainerEvent::Cancelled { version: 3 }),
            vec![TrainerEvent::Cancelled { job: 3 }]
        );
    }

    #[test]
    fn a_preliminary_graph_ranking_is_served_while_the_round_goes_on() {
        let jobs: SentJobs = Arc::default();
        jobs.lock().unwrap().insert(5, sent(30));
        let mut bridge = Bridge::new(jobs, "cnn".into(), 2);
        let ev = bridge.convert(learn::TrainerEvent::Ready {
            device: "cpu".into(),
            learner: "hybrid (effnet-lite0)".into(),
            network: "effnet-lite0".into(),
        });
        assert_eq!(
            ev,
            vec![TrainerEvent::Ready {
                device: "cpu".into()
            }]
        );
        let ev = bridge.convert(learn::TrainerEvent::Ranked {
            ranking: ranking(5, RankingSource::Graph),
            accuracy: Some(0.9),
            times: RoundTimes::default(),
            preliminary: true,
        });
        // Only the ranking: no new model version, no finished round.
        assert_eq!(ev.len(), 1, "{ev:?}");
        let TrainerEvent::Ranked(r) = &ev[0] else {
            panic!("{ev:?}")
        };
        // It learned from the round's labels (the model version is still the last one).
        assert_eq!((r.labels, r.learner.as_str()), (30, "graph"));
        let ev = bridge.convert(learn::TrainerEvent::Ranked {
            ranking: ranking(5, RankingSource::Hybrid),
            accuracy: Some(0.95),
            times: RoundTimes::default(),
            preliminary: false,
        });
        let Some(TrainerEvent::Ranked(r)) =
            ev.iter().find(|e| matches!(e, TrainerEvent::Ranked(_)))
        else {
            panic!("{ev:?}")
        };
        assert_eq!((r.labels, r.learner.as_str()), (30, "graph+effnet-lite0"));
        assert!(matches!(
            ev.last(),
            Some(TrainerEvent::RoundDone {
                version: 3,
                labels: 30,
                trained: true,
                ..
            })
        ));
    }

    #[test]
    fn likely_mistakes_pass_through_as_the_apps_suspects() {
        let mut bridge = Bridge::new(Arc::default(), "cnn".into(), 2);
        let ev = bridge.convert(learn::TrainerEvent::Suspects {
            request: 4,
            labels: 2,
            suspects: vec![
                learn::mistakes::Suspect {
                    pool_index: 9,
                    given: 1,
                    predicted: 3,
                    prob_given: 0.05,
                },
                learn::mistakes::Suspect {
                    pool_index: 2,
                    given: 0,
                    predicted: 0,
                    prob_given: 0.9,
                },
            ],
            seconds: 0.5,
        });
        assert_eq!(
            ev,
            [TrainerEvent::Suspects {
                request: 4,
                labels: 2,
                suspects: vec![
                    Suspect {
                        item: 9,
                        given: 1,
                        predicted: 3,
                        prob_given: 0.05
                    },
                    Suspect {
                        item: 2,
                        given: 0,
                        predicted: 0,
                        prob_given: 0.9
                    },
                ],
            }]
        );
        let ev = bridge.convert(learn::TrainerEvent::MistakesFailed {
            request: 5,
            message: "needs the graph".into(),
        });
        assert_eq!(
            ev,
            [TrainerEvent::MistakesFailed {
                request: 5,
                message: "needs the graph".into()
            }]
        );
    }
}
