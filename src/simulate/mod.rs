//! `glean simulate`: the labeling loop run headless with an auto-oracle (labels from
//! folder or file names, or IDX labels), to compare strategies. Each round is the
//! learn module's own `Learner::round`; this module only picks the batch the ranking
//! puts first, looks its labels up, and writes the curves.

pub mod plot;
pub mod report;
pub mod review;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use crate::dataset::{self, ScanOptions};
use crate::learn::backbone::effnet_lite::{Backbone, EffnetLite};
use crate::learn::backbone::features::backbone_features;
use crate::learn::backbone::zero_shot::{ZeroShot, ZeroShotPrior};
use crate::learn::strategy::balanced_random_subset;
use crate::learn::{
    ColdStart, DeviceChoice, GraphConfig, LearnData, Learner, LearnerConfig, LearnerKind,
    ModelKind, QueryOptions, Ranking, ResolveDevice, RoundOutcome, Strategy, TrainSchedule,
};
use report::{Curves, Point};

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub data: PathBuf,
    /// How DATA is read: test folder, label pattern, classes, hold-out.
    pub scan: ScanOptions,
    pub strategies: Vec<Strategy>,
    /// Size of the first (cold-start) batch.
    pub init: usize,
    pub batch: usize,
    /// Total labels at which a trial stops.
    pub budget: usize,
    pub trials: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub device: DeviceChoice,
    /// The first batch's choice for every strategy; None: `cold_start_for`'s default.
    pub cold_start: Option<ColdStart>,
    pub pool_subset: Option<usize>,
    /// Every this many places of a ranking, an audit pick (`LearnerConfig::audit_every`).
    pub audit_every: usize,
    pub full_baseline: bool,
    /// No zero-shot prior in the rounds (`--without-zero-shot`).
    pub without_zero_shot: bool,
    pub warm_start: bool,
    pub learner: LearnerKind,
    pub model: ModelKind,
    /// A checkpoint every new network starts from.
    pub weights: Option<PathBuf>,
    pub schedule: TrainSchedule,
    pub cache_dir: PathBuf,
    /// Draw progress bars (off in tests and when not on a terminal).
    pub progress: bool,
    /// Where accuracy is measured: the test (or validation) split, or the pool items
    /// still unlabeled (the graph papers' protocol).
    pub accuracy_on: AccuracyOn,
    /// What the graph is built on, and whether its scores go through Poisson-MBO.
    pub graph: GraphConfig,
    /// Cluster-errors' clusters and order.
    pub query: QueryOptions,
    /// Review pages after the single labels (`--review`), counting keypresses.
    pub review: Option<review::ReviewOptions>,
}

/// Which items a round's accuracy counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccuracyOn {
    /// The test split (or the validation split cut from the pool).
    #[default]
    Test,
    /// The pool items not labeled yet, each judged by the prediction that ranked it.
    Pool,
}

impl std::str::FromStr for AccuracyOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "test" => Ok(AccuracyOn::Test),
            "pool" => Ok(AccuracyOn::Pool),
            other => Err(format!("unknown split `{other}` (expected test or pool)")),
        }
    }
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub curves: Vec<Curves>,
    pub full_baseline: Option<f64>,
    pub summary: report::Summary,
}

/// Loads the data, checks that the oracle knows every pool label, and returns the
/// learner's data with the oracle and the class names.
pub fn load(opts: &SimulateOptions) -> anyhow::Result<(LearnData, Vec<u16>, Vec<String>)> {
    let loaded = dataset::load(&opts.data, &opts.scan, None, &opts.cache_dir)
        .with_context(|| format!("loading {}", opts.data.display()))?;
    if loaded.pool.test.is_empty() && opts.accuracy_on == AccuracyOn::Test {
        bail!(
            "{}: no test split to measure accuracy on (use train/ and test/ folders, IDX test files, --test DIR, --holdout N or --validation N, or --accuracy-on pool)",
            opts.data.display()
        );
    }
    let oracle = loaded
        .pool
        .items
        .iter()
        .map(|item| {
            item.label
                .with_context(|| format!("{}: the auto-oracle knows no label for it", item.id))
        })
        .collect::<anyhow::Result<Vec<u16>>>()?;
    let names = loaded.pool.classes.iter().map(|c| c.name.clone()).collect();
    Ok((LearnData::from_loaded(&loaded)?, oracle, names))
}

/// What the backbone's own ImageNet classifier says through the class names, when the
/// run uses the backbone and some class names match: its test accuracy before any
/// label (for the summary), and the prior every round refines
/// (`Learner::set_zero_shot`) unless `--without-zero-shot`.
struct ZeroShotRun {
    summary: Option<report::ZeroShotSummary>,
    prior: Option<ZeroShotPrior>,
}

fn zero_shot(
    opts: &SimulateOptions,
    data: &LearnData,
    names: &[String],
) -> anyhow::Result<ZeroShotRun> {
    let none = ZeroShotRun {
        summary: None,
        prior: None,
    };
    let config = LearnerConfig {
        model: opts.model,
        ..LearnerConfig::default()
    };
    let Some(backbone) = Backbone::of(config.resolve_model(data.channels)?) else {
        return Ok(none);
    };
    let weights = config.weights_of(backbone);
    let device = opts.device.resolve()?;
    let Some(zero_shot) = ZeroShot::for_classes(names, device)? else {
        return Ok(none);
    };
    // No test split to measure and no prior asked for: nothing to compute.
    if data.test_len() == 0 && opts.without_zero_shot {
        return Ok(none);
    }
    let features = backbone_features(
        data,
        backbone,
        &weights,
        device,
        Some(&opts.cache_dir),
        &mut |_, _| {},
        &|| false,
    )?;
    let net = EffnetLite::load(backbone, &weights, device)?;
    let prior = if opts.without_zero_shot {
        None
    } else {
        Some(ZeroShotPrior::of(&zero_shot, &net, &features, device)?)
    };
    let summary = if data.test_len() == 0 {
        None
    } else {
        // The head alone, as it suggests before any label (the prior's own figure is
        // the curves' row at 0 labels).
        let probs = zero_shot.probs(&net, &features.test)?;
        let predicted = Vec::<i64>::try_from(probs.argmax(1, false).to_device(tch::Device::Cpu))?;
        let right = predicted
            .iter()
            .zip(&data.test_labels)
            .filter(|(p, t)| **p == i64::from(**t))
            .count();
        Some(report::ZeroShotSummary {
            accuracy: right as f64 / data.test_len() as f64,
            unmatched: zero_shot.unmatched,
        })
    };
    Ok(ZeroShotRun { summary, prior })
}

/// The checks every run's trials need, with or without `--review`.
fn check_trials(opts: &SimulateOptions) -> anyhow::Result<()> {
    if opts.strategies.is_empty() {
        bail!("--strategies: give at least one");
    }
    if opts.trials == 0 || opts.batch == 0 || opts.init == 0 {
        bail!("--trials, --batch and --init must be at least 1");
    }
    // Review pages can start before any label (from the ImageNet head's guesses).
    let review_from_the_start = opts.review.is_some() && opts.budget == 0;
    if opts.budget < opts.init && !review_from_the_start {
        bail!("--budget {} is below --init {}", opts.budget, opts.init);
    }
    Ok(())
}

pub fn run(opts: &SimulateOptions) -> anyhow::Result<Outcome> {
    check_trials(opts)?;
    if opts.accuracy_on == AccuracyOn::Pool && opts.pool_subset.is_some() {
        bail!("--accuracy-on pool judges every unlabeled item: it cannot be combined with --pool-subset");
    }
    let (data, oracle, names) = load(opts)?;
    let zero_shot = zero_shot(opts, &data, &names)?;
    let budget = opts.budget.min(data.pool_len());
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;

    let rounds_per_trial = 1 + (budget - opts.init.min(budget)).div_ceil(opts.batch);
    let bar = if opts.progress {
        let bar = ProgressBar::new((opts.strategies.len() * opts.trials * rounds_per_trial) as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} rounds  {msg}",
            )
            .context("the progress bar's template")?,
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut csv = report::CurvesCsv::create(&opts.out.join("curves.csv"))?;
    let mut all = Vec::new();
    for &strategy in &opts.strategies {
        let cold_start = cold_start_for(strategy, opts.cold_start);
        let mut curves = Curves {
            strategy: strategy.name().to_string(),
            cold_start: cold_start.name().to_string(),
            trials: Vec::new(),
        };
        for trial in 0..opts.trials {
            let config = trial_config(opts, strategy, cold_start, trial);
            let mut logged = Ok(());
            let run = TrialRun {
                data: &data,
                oracle: &oracle,
                budget,
                accuracy_on: opts.accuracy_on,
                prior: zero_shot.prior.as_ref(),
            };
            let points = run_trial(&run, config, &mut |p: &Point, graph: Option<&str>| {
                if logged.is_ok() {
                    logged = csv.append(strategy.name(), trial + 1, p, graph);
                }
                bar.inc(1);
                bar.set_message(format!(
                    "{strategy} trial {}: {} labels, {:.2}%",
                    trial + 1,
                    p.labels,
                    p.accuracy * 100.0
                ));
            })?;
            logged?;
            curves.trials.push(points);
        }
        all.push(curves);
    }
    bar.finish_and_clear();

    let full_baseline = if opts.full_baseline {
        let config = LearnerConfig {
            device: opts.device,
            seed: opts.seed,
            // A pass or three over the whole pool, not the few hundred steps of a round.
            schedule: TrainSchedule {
                min_steps: 0,
                max_steps: 3 * data.pool_len().div_ceil(64),
                epochs: 3,
                ..opts.schedule.clone()
            },
            learner: LearnerKind::Cnn,
            model: opts.model,
            weights: opts.weights.clone(),
            cache_dir: Some(opts.cache_dir.clone()),
            ..LearnerConfig::default()
        };
        let mut learner = Learner::new(data.clone(), config)?;
        let labeled: Vec<(usize, u16)> = oracle.iter().enumerate().map(|(i, &c)| (i, c)).collect();
        learner.fit_and_evaluate(&labeled, &|| false)?
    } else {
        None
    };

    let dataset_name = opts.data.display().to_string();
    let measured_on = match opts.accuracy_on {
        AccuracyOn::Pool => report::MeasuredOn {
            split: report::Split::Pool,
            images: data.pool_len(),
        },
        AccuracyOn::Test => report::MeasuredOn {
            split: if opts.scan.validation.is_some() {
                report::Split::Validation
            } else {
                report::Split::Test
            },
            images: data.test_len(),
        },
    };
    let title = format!(
        "{dataset_name}: {} learner, model {}, init {}, batch {}, {} trial(s), {} split",
        opts.learner, opts.model, opts.init, opts.batch, opts.trials, measured_on.split
    );
    let summary = report::summarize(
        &dataset_name,
        measured_on,
        &all,
        full_baseline,
        zero_shot.summary,
    );
    report::write_summary(&opts.out.join("summary.json"), &summary)?;
    plot::write(&opts.out, &title, &all, full_baseline)?;
    Ok(Outcome {
        curves: all,
        full_baseline,
        summary,
    })
}

/// The learner of one trial: `opts`' settings, the trial's seed.
fn trial_config(
    opts: &SimulateOptions,
    strategy: Strategy,
    cold_start: ColdStart,
    trial: usize,
) -> LearnerConfig {
    LearnerConfig {
        device: opts.device,
        strategy,
        batch: opts.batch,
        cold_start,
        init: opts.init,
        pool_subset: opts.pool_subset,
        audit_every: opts.audit_every,
        warm_start: opts.warm_start,
        seed: opts.seed.wrapping_add(trial as u64),
        schedule: opts.schedule.clone(),
        learner: opts.learner,
        model: opts.model,
        weights: opts.weights.clone(),
        cache_dir: Some(opts.cache_dir.clone()),
        graph: opts.graph.clone(),
        query: opts.query,
        ..LearnerConfig::default()
    }
}

/// What a `--review` run measured, per strategy.
pub struct ReviewOutcome {
    pub curves: Vec<Curves>,
    pub summaries: Vec<review::ReviewSummary>,
}

/// `simulate --review`: every strategy's trials with review pages after the single
/// labels; writes `review.csv`, `review.json` and `review.svg`/`.png` (with
/// `review.plot.json`).
pub fn run_review(
    opts: &SimulateOptions,
    review_opts: &review::ReviewOptions,
) -> anyhow::Result<ReviewOutcome> {
    check_trials(opts)?;
    if opts.full_baseline {
        bail!("--full-baseline draws a learning curve: leave it out of --review runs");
    }
    let (data, oracle, names) = load(&SimulateOptions {
        // The folder is judged on the pool; a test split is read only when there is one.
        accuracy_on: AccuracyOn::Pool,
        ..opts.clone()
    })?;
    let zero_shot = zero_shot(opts, &data, &names)?;
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    let budget = opts.budget.min(data.pool_len());
    let bar = if opts.progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .context("the progress bar's template")?,
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut csv = review::ReviewCsv::create(&opts.out.join("review.csv"))?;
    let mut outcome = ReviewOutcome {
        curves: Vec::new(),
        summaries: Vec::new(),
    };
    for &strategy in &opts.strategies {
        let cold_start = cold_start_for(strategy, opts.cold_start);
        let mut trials = Vec::new();
        for trial in 0..opts.trials {
            let config = trial_config(opts, strategy, cold_start, trial);
            let run = TrialRun {
                data: &data,
                oracle: &oracle,
                budget,
                accuracy_on: AccuracyOn::Pool,
                prior: zero_shot.prior.as_ref(),
            };
            let mut logged = Ok(());
            let points = review::run_review_trial(&run, config, review_opts, &mut |p| {
                if logged.is_ok() {
                    logged = csv.append(strategy.name(), trial + 1, p);
                }
                bar.tick();
                bar.set_message(format!(
                    "{strategy} trial {}: {} keypresses, {} labels, folder {:.2}%",
                    trial + 1,
                    p.keys.total(),
                    p.labels,
                    p.folder_accuracy * 100.0
                ));
            })?;
            logged?;
            trials.push(points);
        }
        let curves = review::as_curves(strategy.name(), cold_start.name(), &trials);
        outcome
            .summaries
            .push(review::summarize(review_opts, budget, &curves, &trials));
        outcome.curves.push(curves);
    }
    bar.finish_and_clear();
    let summary: std::collections::BTreeMap<&str, &review::ReviewSummary> = outcome
        .curves
        .iter()
        .map(|c| c.strategy.as_str())
        .zip(&outcome.summaries)
        .collect();
    let path = opts.out.join("review.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    let title = format!(
        "{}: {} learner, {} single labels, pages of {}, {} trial(s)",
        opts.data.display(),
        opts.learner,
        budget,
        review_opts.page_size,
        opts.trials
    );
    let step = (review_opts.keypresses / 100).max(1);
    plot::write_review(&opts.out, &title, step, &outcome.curves)?;
    Ok(outcome)
}

/// How a strategy's first batch is chosen when `--cold-start` does not say: k-means,
/// except for `random`, which is the baseline of labeling without active learning (as
/// in the published curves), so its first batch is random too. A k-means batch is
/// already a choice, and on MNIST it gives the graph 96-98 % from 20 labels whatever
/// the strategy that follows.
pub fn cold_start_for(strategy: Strategy, chosen: Option<ColdStart>) -> ColdStart {
    chosen.unwrap_or(match strategy {
        Strategy::Random => ColdStart::Random,
        _ => ColdStart::KMeans,
    })
}

/// What a trial runs on: the data, the oracle's label of every pool item, the label
/// count at which it stops, and where accuracy is measured.
pub struct TrialRun<'a> {
    pub data: &'a LearnData,
    pub oracle: &'a [u16],
    pub budget: usize,
    pub accuracy_on: AccuracyOn,
    /// The zero-shot head's prior, which every round refines, where there is one.
    pub prior: Option<&'a ZeroShotPrior>,
}

/// One trial: the cold start, then rounds until `budget` labels, recording the
/// accuracy after each round (given to `on_round` with what the graph ran on).
pub fn run_trial(
    run: &TrialRun<'_>,
    config: LearnerConfig,
    on_round: &mut dyn FnMut(&Point, Option<&str>),
) -> anyhow::Result<Vec<Point>> {
    let TrialRun {
        data,
        oracle,
        budget,
        accuracy_on,
        prior,
    } = *run;
    let init = config.init.min(budget);
    let batch = config.batch;
    let first_balanced = (config.cold_start == ColdStart::Balanced)
        .then(|| balanced_random_subset(oracle, data.classes, init, config.seed));
    let mut learner = Learner::new(data.clone(), config)?;
    if let Some(prior) = prior {
        learner.set_zero_shot(prior.clone())?;
    }
    let mut labeled: Vec<(usize, u16)> = Vec::new();
    let mut audited: Vec<usize> = Vec::new();
    let mut points = Vec::new();
    let mut version = 0u64;
    // The cold start predicts where the learner has the head's prior: that is the
    // row at 0 labels.
    let cold = (first_balanced.is_none() || prior.is_some())
        .then(|| learner.round(&[], version, &|| false, &mut |_| {}))
        .transpose()?;
    if let Some(out) = cold.as_ref().filter(|_| prior.is_some()) {
        if let Some(accuracy) = measured(out, accuracy_on, oracle) {
            let point = Point {
                labels: 0,
                accuracy,
                seconds: out.times.total,
                calibration_error: calibration_of(out, accuracy_on),
            };
            on_round(&point, out.graph.as_deref());
            points.push(point);
        }
    }
    let mut next = match (first_balanced, cold) {
        (Some(picks), _) => picks,
        (None, Some(out)) => out.ranking.batch(init),
        (None, None) => unreachable!("the cold start runs without a balanced first batch"),
    };
    loop {
        labeled.extend(next.iter().map(|&i| (i, oracle[i])));
        version += 1;
        let started = Instant::now();
        let out = learner.round_with_audits(&labeled, &audited, version, &|| false, &mut |_| {})?;
        let accuracy = measured(&out, accuracy_on, oracle).context(match accuracy_on {
            AccuracyOn::Test => "the round measured no accuracy",
            AccuracyOn::Pool => "no unlabeled pool item is left to measure on",
        })?;
        let point = Point {
            labels: labeled.len(),
            accuracy,
            seconds: started.elapsed().as_secs_f64(),
            calibration_error: calibration_of(&out, accuracy_on),
        };
        on_round(&point, out.graph.as_deref());
        points.push(point);
        if labeled.len() >= budget || out.ranking.items.is_empty() {
            return Ok(points);
        }
        next = out.ranking.batch(batch.min(budget - labeled.len()));
        audited.extend(out.ranking.audits_in_batch(next.len()));
    }
}

/// A round's accuracy as `accuracy_on` counts it; None when it has none to give.
fn measured(out: &RoundOutcome, accuracy_on: AccuracyOn, oracle: &[u16]) -> Option<f64> {
    match accuracy_on {
        AccuracyOn::Test => out.accuracy,
        AccuracyOn::Pool => pool_accuracy(&out.ranking, oracle),
    }
}

/// A round's calibration error, where its accuracy is the test split's.
fn calibration_of(out: &RoundOutcome, accuracy_on: AccuracyOn) -> Option<f64> {
    out.calibration_error
        .filter(|_| accuracy_on == AccuracyOn::Test)
}

/// The share of the ranking's items (the unlabeled pool) whose top class is the
/// oracle's; None for an empty ranking.
pub fn pool_accuracy(ranking: &Ranking, oracle: &[u16]) -> Option<f64> {
    if ranking.items.is_empty() {
        return None;
    }
    let right = ranking
        .items
        .iter()
        .filter(|item| item.top.first().map(|t| t.class) == Some(oracle[item.pool_index]))
        .count();
    Some(right as f64 / ranking.items.len() as f64)
}

/// Runs, writes the files, and prints the table.
pub fn run_and_print(opts: &SimulateOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(review_opts) = &opts.review {
        let outcome = run_review(opts, review_opts)?;
        println!(
            "{:<18} {:>14} {:>14} {:>14} {:>22}",
            "strategy", "keys to 99%", "keys to 99.5%", "keys to 99.9%", "folder at 2000 keys"
        );
        for (c, s) in outcome.curves.iter().zip(&outcome.summaries) {
            let to = |t: &str| {
                s.keypresses_to[t]
                    .median
                    .map_or("-".to_string(), |k| k.to_string())
            };
            let at: Vec<String> = s.folder_accuracy_at["2000"]
                .iter()
                .map(|a| a.map_or("-".into(), |a| format!("{:.2}", a * 100.0)))
                .collect();
            println!(
                "{:<18} {:>14} {:>14} {:>14} {:>22}",
                c.strategy,
                to("0.99"),
                to("0.995"),
                to("0.999"),
                at.join(" ")
            );
        }
        println!(
            "(keypresses: median over trials, - = not reached; folder accuracy per trial)\nwrote {} (review.csv, review.json, review.svg, review.png, review.plot.json) in {:.0} s",
            display(&opts.out),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let outcome = run(opts)?;
    let mut stdout = std::io::stdout().lock();
    if let Some(on) = &outcome.summary.measured_on {
        let note = match on.split {
            report::Split::Validation => {
                " cut from the pool (--validation; the test split was not read)"
            }
            report::Split::Pool => {
                " (the items still unlabeled after each round, --accuracy-on pool)"
            }
            report::Split::Test => "",
        };
        println!(
            "accuracy on the {} split, {} images{note}",
            on.split, on.images
        );
    }
    report::table(&outcome.curves, &mut stdout)?;
    if let Some(b) = outcome.full_baseline {
        println!(
            "trained on every pool label (--full-baseline): {:.2}%",
            b * 100.0
        );
    }
    if let Some(z) = &outcome.summary.zero_shot {
        let unmatched = if z.unmatched.is_empty() {
            String::new()
        } else {
            format!(
                "; never suggested, no ImageNet match: {}",
                z.unmatched.join(", ")
            )
        };
        println!(
            "the backbone's ImageNet classes, no labels: {:.2}%{unmatched}",
            z.accuracy * 100.0
        );
    }
    println!(
        "wrote {} (curves.csv, summary.json, curves.svg, curves.png, curves.plot.json) in {:.0} s",
        display(&opts.out),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_accuracy_counts_the_ranked_items_whose_top_class_is_right() {
        use crate::learn::{ClassProb, RankedItem, RankingSource, TopClasses};
        let item = |pool_index, class| RankedItem {
            pool_index,
            score: 0.0,
            top: TopClasses::from_iter([ClassProb { class, prob: 0.9 }]),
            audit: false,
        };
        let oracle = [0u16, 1, 2, 1, 0];
        let ranking = Ranking {
            job: 1,
            strategy: Strategy::Margin,
            source: RankingSource::Graph,
            // Item 0 is labeled (not ranked); 1 and 4 right, 2 and 3 wrong.
            items: vec![item(1, 1), item(2, 0), item(3, 2), item(4, 0)],
        };
        assert_eq!(pool_accuracy(&ranking, &oracle), Some(0.5));
        let empty = Ranking {
            items: Vec::new(),
            ..ranking
        };
        assert_eq!(pool_accuracy(&empty, &oracle), None);
    }

    #[test]
    fn random_is_random_from_its_first_batch_unless_told() {
        assert_eq!(cold_start_for(Strategy::Random, None), ColdStart::Random);
        for s in [Strategy::Margin, Strategy::Entropy, Strategy::CoreSet] {
            assert_eq!(cold_start_for(s, None), ColdStart::KMeans);
        }
        for chosen in [ColdStart::KMeans, ColdStart::Random] {
            assert_eq!(cold_start_for(Strategy::Random, Some(chosen)), chosen);
            assert_eq!(cold_start_for(Strategy::Margin, Some(chosen)), chosen);
        }
    }
}
