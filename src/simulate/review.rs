//! `glean simulate --review`: the labeling loop with review pages, counting the
//! person's keypresses. Single labels come first (the strategy's batches, up to
//! `--budget`); then each round confirms pages, class by class (small classes share a
//! page), surest first, as an oracle that marks exactly the wrong items and types their right class. After every
//! round the whole folder is judged: labeled items (all right: the oracle gave or
//! checked them) and the predictor's class for the rest, as `export --all` writes it.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};

use super::report::{Curves, Point};
use super::TrialRun;
use crate::learn::strategy::balanced_random_subset;
use crate::learn::{ColdStart, Learner, LearnerConfig, Ranking};
use crate::review::{next_page, review_page, Keypresses, Prediction};

/// How the simulated person reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewOptions {
    /// Items on a page.
    pub page_size: usize,
    /// A trial stops once this many keypresses are spent (or nothing is left).
    pub keypresses: usize,
    /// Pages confirmed between two rounds; None: one per class.
    pub pages_per_round: Option<usize>,
}

/// The folder after one round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewPoint {
    pub keys: Keypresses,
    /// Items labeled (single labels, marks and confirmed items).
    pub labels: usize,
    /// Share of the pool whose exported class is right: every labeled item, and the
    /// unlabeled ones whose predicted class is the oracle's.
    pub folder_accuracy: f64,
    /// Test accuracy of what ranked, when there is a test split.
    pub test_accuracy: Option<f64>,
    pub seconds: f64,
}

/// The share of the pool exported right after a round: labeled items count as right
/// (the oracle gave or checked each), unlabeled ones by the ranking's first class.
pub fn folder_accuracy(ranking: &Ranking, labeled: usize, oracle: &[u16]) -> f64 {
    let right = ranking
        .items
        .iter()
        .filter(|item| item.top.first().map(|t| t.class) == Some(oracle[item.pool_index]))
        .count();
    (labeled + right) as f64 / oracle.len() as f64
}

/// The unlabeled items' first classes, from a ranking.
pub fn predictions(ranking: &Ranking) -> Vec<Prediction> {
    ranking
        .items
        .iter()
        .filter_map(|item| {
            item.top.first().map(|t| Prediction {
                pool_index: item.pool_index,
                class: t.class,
                prob: t.prob,
            })
        })
        .collect()
}

/// One trial: single labels to `run.budget`, then pages until `review.keypresses`.
pub fn run_review_trial(
    run: &TrialRun<'_>,
    config: LearnerConfig,
    review: &ReviewOptions,
    on_round: &mut dyn FnMut(&ReviewPoint),
) -> anyhow::Result<Vec<ReviewPoint>> {
    let TrialRun {
        data,
        oracle,
        budget,
        ..
    } = *run;
    if review.page_size == 0 || review.pages_per_round == Some(0) {
        bail!("--page-size and --pages-per-round must be at least 1");
    }
    if config.pool_subset.is_some() {
        bail!("--review judges every pool item: it cannot be combined with --pool-subset");
    }
    let classes = data.classes;
    let pages_per_round = review.pages_per_round.unwrap_or(classes);
    let init = config.init.min(budget);
    let batch = config.batch;
    let first_balanced = (config.cold_start == ColdStart::Balanced)
        .then(|| balanced_random_subset(oracle, classes, init, config.seed));
    let mut learner = Learner::new(data.clone(), config)?;
    if let Some(prior) = run.prior {
        learner.set_zero_shot(prior.clone())?;
    }
    let mut labeled: Vec<(usize, u16)> = Vec::new();
    let mut audited: Vec<usize> = Vec::new();
    let mut is_labeled = vec![false; oracle.len()];
    let mut keys = Keypresses::default();
    let mut points = Vec::new();
    let mut version = 0u64;
    // Single labels to give next, and the class whose page comes next.
    let mut singles = match first_balanced {
        Some(picks) => picks,
        None => learner
            .round(&[], version, &|| false, &mut |_| {})?
            .ranking
            .batch(init),
    };
    let mut pages: Vec<Vec<(usize, u16)>> = Vec::new();
    let mut next_class: u16 = 0;
    loop {
        for &i in &singles {
            labeled.push((i, oracle[i]));
            is_labeled[i] = true;
        }
        keys.singles += singles.len();
        for page in &pages {
            let reviewed = review_page(page, |i| oracle[i]);
            keys.confirms += 1;
            keys.marks += reviewed.corrected.len();
            for &(i, _) in page {
                labeled.push((i, oracle[i]));
                is_labeled[i] = true;
            }
        }
        version += 1;
        let started = Instant::now();
        let out = learner.round_with_audits(&labeled, &audited, version, &|| false, &mut |_| {})?;
        if out.ranking.items.len() + labeled.len() != oracle.len() {
            bail!(
                "the ranking holds {} items and {} are labeled, of a pool of {}: the folder cannot be judged",
                out.ranking.items.len(),
                labeled.len(),
                oracle.len()
            );
        }
        let point = ReviewPoint {
            keys,
            labels: labeled.len(),
            folder_accuracy: folder_accuracy(&out.ranking, labeled.len(), oracle),
            test_accuracy: out.accuracy,
            seconds: started.elapsed().as_secs_f64(),
        };
        on_round(&point);
        points.push(point);
        if keys.total() >= review.keypresses || out.ranking.items.is_empty() {
            return Ok(points);
        }
        pages.clear();
        singles.clear();
        if labeled.len() < budget {
            singles = out.ranking.batch(batch.min(budget - labeled.len()));
            audited.extend(out.ranking.audits_in_batch(singles.len()));
            continue;
        }
        // Pages, one class after the other (small classes share one); a class with
        // nothing left is passed over.
        let predicted = predictions(&out.ranking);
        let mut on_a_page = vec![false; oracle.len()];
        let mut empty_in_a_row = 0;
        while pages.len() < pages_per_round && empty_in_a_row < classes {
            let page = next_page(&predicted, next_class, classes, review.page_size, |i, _| {
                is_labeled[i] || on_a_page[i]
            });
            // On from the page's last class (its first, when it is empty).
            let last = page.last().map_or(next_class, |&(_, class)| class);
            next_class = (last + 1) % classes as u16;
            if page.is_empty() {
                empty_in_a_row += 1;
                continue;
            }
            empty_in_a_row = 0;
            for &(i, _) in &page {
                on_a_page[i] = true;
            }
            pages.push(page);
        }
        if pages.is_empty() {
            if labeled.is_empty() {
                bail!(
                    "nothing to review before the first label: pages from label 0 need the \
                     ImageNet head's guesses (a backbone, and class names it knows); give \
                     --budget single labels first"
                );
            }
            // Every item left is one the predictor gives no class.
            return Ok(points);
        }
    }
}

/// Every round of every trial: `review.csv`, flushed as each round ends.
pub struct ReviewCsv {
    path: std::path::PathBuf,
    writer: csv::Writer<std::fs::File>,
}

impl ReviewCsv {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let mut writer =
            csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
        writer.write_record([
            "strategy",
            "trial",
            "keypresses",
            "singles",
            "marks",
            "confirms",
            "labels",
            "folder_accuracy",
            "test_accuracy",
            "seconds",
        ])?;
        writer.flush()?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
        })
    }

    pub fn append(&mut self, strategy: &str, trial: usize, p: &ReviewPoint) -> anyhow::Result<()> {
        self.writer
            .write_record([
                strategy.to_string(),
                trial.to_string(),
                p.keys.total().to_string(),
                p.keys.singles.to_string(),
                p.keys.marks.to_string(),
                p.keys.confirms.to_string(),
                p.labels.to_string(),
                format!("{:.5}", p.folder_accuracy),
                p.test_accuracy.map_or(String::new(), |a| format!("{a:.4}")),
                format!("{:.3}", p.seconds),
            ])
            .and_then(|_| self.writer.flush().map_err(csv::Error::from))
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Folder accuracies the summary reads keypresses off.
pub const FOLDER_THRESHOLDS: [f64; 3] = [0.99, 0.995, 0.999];

/// Keypress counts the summary reads folder accuracy at.
pub const KEYPRESS_MARKS: [usize; 4] = [300, 1000, 2000, 5000];

/// One strategy's review trials, for `review.json`.
#[derive(Debug, serde::Serialize)]
pub struct ReviewSummary {
    pub page_size: usize,
    pub single_labels: usize,
    /// Threshold ("0.995") → keypresses each trial needed (null: never), and their
    /// median (null when half or more never got there).
    pub keypresses_to: std::collections::BTreeMap<String, ThresholdSummary>,
    /// Keypresses ("2000") → the folder accuracy of each trial's last round at or
    /// below that many keypresses (null: the trial's first round spent more).
    pub folder_accuracy_at: std::collections::BTreeMap<String, Vec<Option<f64>>>,
    /// Each trial's last round.
    pub last: Vec<LastRound>,
}

#[derive(Debug, serde::Serialize)]
pub struct ThresholdSummary {
    pub trials: Vec<Option<usize>>,
    pub median: Option<usize>,
}

#[derive(Debug, serde::Serialize)]
pub struct LastRound {
    pub keys: Keypresses,
    pub keypresses: usize,
    pub labels: usize,
    pub folder_accuracy: f64,
}

/// The trials as curves of folder accuracy against keypresses (for the plot and the
/// medians).
pub fn as_curves(strategy: &str, cold_start: &str, trials: &[Vec<ReviewPoint>]) -> Curves {
    Curves {
        strategy: strategy.to_string(),
        cold_start: cold_start.to_string(),
        trials: trials
            .iter()
            .map(|t| {
                t.iter()
                    .map(|p| Point {
                        labels: p.keys.total(),
                        accuracy: p.folder_accuracy,
                        seconds: p.seconds,
                        calibration_error: None,
                    })
                    .collect()
            })
            .collect(),
    }
}

/// The curves on one grid of keypresses (every `step`), each trial's folder accuracy
/// at each count being its last round's at or below it: the trials' rounds fall on
/// different counts, and the plot's median and band need them side by side.
pub fn on_grid(curves: &Curves, step: usize) -> Curves {
    let step = step.max(1);
    let end = curves
        .trials
        .iter()
        .filter_map(|t| t.last().map(|p| p.labels))
        .max()
        .unwrap_or(0);
    let trials = curves
        .trials
        .iter()
        .map(|trial| {
            let Some(stop) = trial.last() else {
                return Vec::new();
            };
            // Past its last round a trial has stopped: it says nothing there, and its
            // last round is drawn where it fell.
            let mut points: Vec<Point> = (0..=end / step)
                .map(|k| k * step)
                .take_while(|&x| x <= stop.labels)
                .filter_map(|x| {
                    let last = trial.iter().take_while(|p| p.labels <= x).last()?;
                    Some(Point { labels: x, ..*last })
                })
                .collect();
            if points.last().map(|p| p.labels) != Some(stop.labels) {
                points.push(*stop);
            }
            points
        })
        .collect();
    Curves {
        trials,
        ..curves.clone()
    }
}

pub fn summarize(
    review: &ReviewOptions,
    single_labels: usize,
    curves: &Curves,
    trials: &[Vec<ReviewPoint>],
) -> ReviewSummary {
    let round4 = |x: f64| (x * 1e5).round() / 1e5;
    let keypresses_to = FOLDER_THRESHOLDS
        .iter()
        .map(|&t| {
            let summary = ThresholdSummary {
                trials: curves
                    .trials
                    .iter()
                    .map(|trial| Curves::labels_to(trial, t))
                    .collect(),
                median: curves.median_labels_to(t),
            };
            (format!("{t}"), summary)
        })
        .collect();
    let folder_accuracy_at = KEYPRESS_MARKS
        .iter()
        .map(|&k| {
            let at = trials
                .iter()
                .map(|t| {
                    t.iter()
                        .take_while(|p| p.keys.total() <= k)
                        .last()
                        .map(|p| round4(p.folder_accuracy))
                })
                .collect();
            (k.to_string(), at)
        })
        .collect();
    let last = trials
        .iter()
        .filter_map(|t| t.last())
        .map(|p| LastRound {
            keys: p.keys,
            keypresses: p.keys.total(),
            labels: p.labels,
            folder_accuracy: round4(p.folder_accuracy),
        })
        .collect();
    ReviewSummary {
        page_size: review.page_size,
        single_labels,
        keypresses_to,
        folder_accuracy_at,
        last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::{ClassProb, RankedItem, RankingSource, Strategy, TopClasses};

    fn ranking(items: &[(usize, u16, f32)]) -> Ranking {
        Ranking {
            job: 1,
            strategy: Strategy::Margin,
            source: RankingSource::Graph,
            items: items
                .iter()
                .map(|&(pool_index, class, prob)| RankedItem {
                    pool_index,
                    score: 0.0,
                    top: TopClasses::from_iter([ClassProb { class, prob }]),
                    audit: false,
                })
                .collect(),
        }
    }

    #[test]
    fn the_folder_counts_labeled_items_right_and_the_rest_by_prediction() {
        // Items 0 and 1 labeled; of 2..=5, 2 and 5 predicted right.
        let oracle = [0u16, 1, 1, 0, 1, 0];
        let r = ranking(&[(2, 1, 0.9), (3, 1, 0.8), (4, 0, 0.7), (5, 0, 0.6)]);
        assert!((folder_accuracy(&r, 2, &oracle) - 4.0 / 6.0).abs() < 1e-12);
        let p = predictions(&r);
        assert_eq!(p.len(), 4);
        assert_eq!((p[1].pool_index, p[1].class), (3, 1));
    }

    #[test]
    fn the_summary_reads_keypresses_to_each_threshold_and_accuracy_at_each_count() {
        let point = |total: usize, acc: f64| ReviewPoint {
            keys: Keypresses {
                singles: total,
                marks: 0,
                confirms: 0,
            },
            labels: total,
            folder_accuracy: acc,
            test_accuracy: None,
            seconds: 1.0,
        };
        let trials = vec![
            vec![point(100, 0.98), point(900, 0.992), point(1500, 0.996)],
            vec![point(100, 0.97), point(1200, 0.995), point(2500, 0.999)],
            vec![point(400, 0.985), point(3000, 0.99)],
        ];
        let review = ReviewOptions {
            page_size: 60,
            keypresses: 3000,
            pages_per_round: None,
        };
        let curves = as_curves("margin", "kmeans", &trials);
        let s = summarize(&review, 100, &curves, &trials);
        let to = &s.keypresses_to["0.995"];
        assert_eq!(to.trials, [Some(1500), Some(1200), None]);
        assert_eq!(to.median, Some(1500));
        assert_eq!(s.keypresses_to["0.99"].median, Some(1200));
        assert_eq!(s.keypresses_to["0.999"].median, None);
        assert_eq!(
            s.folder_accuracy_at["1000"],
            [Some(0.992), Some(0.97), Some(0.985)]
        );
        assert_eq!(s.folder_accuracy_at["300"], [Some(0.98), Some(0.97), None]);
        assert_eq!(s.last[2].keypresses, 3000);
        // On a grid of 500: each trial's last round at or below each count, nothing
        // before its first round or after its last.
        let grid = on_grid(&curves, 500);
        let at = |t: usize| -> Vec<(usize, f64)> {
            grid.trials[t]
                .iter()
                .map(|p| (p.labels, p.accuracy))
                .collect()
        };
        assert_eq!(at(0), [(500, 0.98), (1000, 0.992), (1500, 0.996)]);
        assert_eq!(at(1)[0], (500, 0.97));
        assert_eq!(at(1).last(), Some(&(2500, 0.999)));
        assert_eq!(at(2)[0], (500, 0.985));
        assert_eq!(at(2).last(), Some(&(3000, 0.99)));
    }
}
