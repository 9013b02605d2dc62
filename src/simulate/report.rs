//! Learning curves and what is read off them: `curves.csv` (written, and read back
//! for `glean plot`), `summary.json` and the printed table (labels needed for 90 / 95 / 98 %, final accuracy).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Accuracy thresholds reported in the summary and the table.
pub const THRESHOLDS: [f64; 3] = [0.90, 0.95, 0.98];

/// One measured point of one trial.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub labels: usize,
    pub accuracy: f64,
    /// Seconds the round took (train, evaluate, score).
    pub seconds: f64,
    /// Expected calibration error on the test split, where the accuracy is measured
    /// there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_error: Option<f64>,
}

/// All trials of one strategy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    pub strategy: String,
    /// How the first batch was chosen ("kmeans", "random").
    pub cold_start: String,
    pub trials: Vec<Vec<Point>>,
}

impl Curves {
    /// The first label count at which a trial reached `threshold`, if it did.
    pub fn labels_to(trial: &[Point], threshold: f64) -> Option<usize> {
        trial
            .iter()
            .find(|p| p.accuracy >= threshold)
            .map(|p| p.labels)
    }

    /// Median over trials of the labels needed; a trial that never got there counts as
    /// infinitely many, so the median is None when half or more never did.
    pub fn median_labels_to(&self, threshold: f64) -> Option<usize> {
        let mut needed: Vec<Option<usize>> = self
            .trials
            .iter()
            .map(|t| Self::labels_to(t, threshold))
            .collect();
        needed.sort_by_key(|n| n.unwrap_or(usize::MAX));
        if needed.is_empty() {
            return None;
        }
        let n = needed.len();
        if n % 2 == 1 {
            needed[n / 2]
        } else {
            // The mean of the middle two, when both exist.
            match (needed[n / 2 - 1], needed[n / 2]) {
                (Some(a), Some(b)) => Some((a + b).div_ceil(2)),
                _ => None,
            }
        }
    }

    /// Median over trials of the last accuracy.
    pub fn final_accuracy(&self) -> Option<f64> {
        median(
            self.trials
                .iter()
                .filter_map(|t| t.last().map(|p| p.accuracy))
                .collect(),
        )
    }

    /// Mean seconds per round over every round of every trial.
    pub fn seconds_per_round(&self) -> Option<f64> {
        let all: Vec<f64> = self.trials.iter().flatten().map(|p| p.seconds).collect();
        (!all.is_empty()).then(|| all.iter().sum::<f64>() / all.len() as f64)
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// `curves.csv`: `strategy,trial,labels,accuracy,seconds,graph,ece`, one row per round
/// (`graph`: what the graph propagated on, empty without one; `ece`: the expected
/// calibration error on the test split, empty where not measured), written and flushed as
/// each round ends, so a long run that is stopped keeps what it measured.
pub struct CurvesCsv {
    path: std::path::PathBuf,
    writer: csv::Writer<std::fs::File>,
}

impl CurvesCsv {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let mut writer =
            csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
        writer.write_record([
            "strategy", "trial", "labels", "accuracy", "seconds", "graph", "ece",
        ])?;
        let mut log = Self {
            path: path.to_path_buf(),
            writer,
        };
        log.flush()?;
        Ok(log)
    }

    /// Appends one round of `trial` (counted from 1) and flushes it to the file.
    pub fn append(
        &mut self,
        strategy: &str,
        trial: usize,
        p: &Point,
        graph: Option<&str>,
    ) -> anyhow::Result<()> {
        self.writer
            .write_record([
                strategy.to_string(),
                trial.to_string(),
                p.labels.to_string(),
                format!("{:.4}", p.accuracy),
                format!("{:.3}", p.seconds),
                graph.unwrap_or_default().to_string(),
                p.calibration_error
                    .map_or(String::new(), |e| format!("{e:.4}")),
            ])
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.flush()
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.writer
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Reads curves back from `curves.csv` (`x` = `labels`, `y` = `accuracy`) or
/// `review.csv` (`keypresses`, `folder_accuracy`): one `Curves` per strategy, strategies
/// and trials in the order they first appear. Columns are found by name, so files from
/// before a column was added read too; the cold start is not in the CSV (summary.json
/// has it) and is left empty.
pub fn read_curves(path: &Path, x: &str, y: &str) -> anyhow::Result<Vec<Curves>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading {}", path.display()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let need =
        |name: &str| column(name).with_context(|| format!("{}: no {name} column", path.display()));
    let (strategy, trial, x, y, seconds) = (
        need("strategy")?,
        need("trial")?,
        need(x)?,
        need(y)?,
        need("seconds")?,
    );
    let ece = column("ece");
    let mut all: Vec<Curves> = Vec::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", path.display()))?;
        let field = |i: usize| row.get(i).unwrap_or_default();
        let bad = || format!("{}: bad row {:?}", path.display(), row);
        let trial: usize = field(trial).parse().with_context(bad)?;
        if trial == 0 {
            anyhow::bail!(bad());
        }
        let point = Point {
            labels: field(x).parse().with_context(bad)?,
            accuracy: field(y).parse().with_context(bad)?,
            seconds: field(seconds).parse().with_context(bad)?,
            calibration_error: ece.and_then(|i| field(i).parse().ok()),
        };
        let name = field(strategy);
        let i = match all.iter().position(|c| c.strategy == name) {
            Some(i) => i,
            None => {
                all.push(Curves {
                    strategy: name.to_string(),
                    ..Curves::default()
                });
                all.len() - 1
            }
        };
        let trials = &mut all[i].trials;
        if trials.len() < trial {
            trials.resize(trial, Vec::new());
        }
        trials[trial - 1].push(point);
    }
    Ok(all)
}

#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct StrategySummary {
    /// How the first batch was chosen.
    pub cold_start: String,
    /// Threshold ("0.90") → median labels needed, null where never reached.
    pub labels_to: BTreeMap<String, Option<usize>>,
    pub final_accuracy: Option<f64>,
    pub seconds_per_round: Option<f64>,
    pub trials: usize,
}

#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Summary {
    pub dataset: String,
    /// The split every accuracy here is measured on (absent in files from before it
    /// was recorded: those measured on the test split).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub measured_on: Option<MeasuredOn>,
    pub strategies: BTreeMap<String, StrategySummary>,
    /// Test accuracy of one model trained on every pool label (`--full-baseline`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub full_baseline: Option<f64>,
    /// Test accuracy of the backbone's own ImageNet classifier read through the class
    /// names, with no label at all (photos whose class names match ImageNet's).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub zero_shot: Option<ZeroShotSummary>,
}

/// Which split the accuracies are measured on, and its size.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeasuredOn {
    pub split: Split,
    pub images: usize,
}

/// A split accuracy is measured on, written in lower case (`"test"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The held-out test split.
    Test,
    /// Cut from the pool by `--validation`; the test split was then not read.
    Validation,
    /// The items still unlabeled after each round (`--accuracy-on pool`).
    Pool,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Test => "test",
            Split::Validation => "validation",
            Split::Pool => "pool",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The backbone's suggestions before any label, measured on the same split as the rest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ZeroShotSummary {
    pub accuracy: f64,
    /// Classes no ImageNet class matches: never suggested, so always wrong.
    pub unmatched: Vec<String>,
}

fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub fn summarize(
    dataset: &str,
    measured_on: MeasuredOn,
    all: &[Curves],
    full_baseline: Option<f64>,
    zero_shot: Option<ZeroShotSummary>,
) -> Summary {
    let strategies = all
        .iter()
        .map(|c| {
            let labels_to = THRESHOLDS
                .iter()
                .map(|&t| (format!("{t:.2}"), c.median_labels_to(t)))
                .collect();
            let summary = StrategySummary {
                cold_start: c.cold_start.clone(),
                labels_to,
                final_accuracy: c.final_accuracy().map(|a| round_to(a, 4)),
                seconds_per_round: c.seconds_per_round().map(|s| round_to(s, 3)),
                trials: c.trials.len(),
            };
            (c.strategy.clone(), summary)
        })
        .collect();
    Summary {
        dataset: dataset.to_string(),
        measured_on: Some(measured_on),
        strategies,
        full_baseline: full_baseline.map(|a| round_to(a, 4)),
        zero_shot: zero_shot.map(|z| ZeroShotSummary {
            accuracy: round_to(z.accuracy, 4),
            ..z
        }),
    }
}

pub fn write_summary(path: &Path, summary: &Summary) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(summary)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// The table printed at the end of a run.
pub fn table(all: &[Curves], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<18} {:<11} {:>8} {:>8} {:>8} {:>10} {:>9}",
        "strategy", "1st batch", "to 90%", "to 95%", "to 98%", "final acc", "s/round"
    )?;
    for c in all {
        let cell = |t: f64| {
            c.median_labels_to(t)
                .map_or("-".to_string(), |n| n.to_string())
        };
        writeln!(
            out,
            "{:<18} {:<11} {:>8} {:>8} {:>8} {:>10} {:>9}",
            c.strategy,
            c.cold_start,
            cell(0.90),
            cell(0.95),
            cell(0.98),
            c.final_accuracy()
                .map_or("-".into(), |a| format!("{:.2}%", a * 100.0)),
            c.seconds_per_round()
                .map_or("-".into(), |s| format!("{s:.2}")),
        )?;
    }
    writeln!(out, "(labels needed: median over trials; - = not reached)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(accs: &[(usize, f64)]) -> Vec<Point> {
        accs.iter()
            .map(|&(labels, accuracy)| Point {
                labels,
                accuracy,
                seconds: 1.0,
                calibration_error: None,
            })
            .collect()
    }

    fn curves() -> Curves {
        Curves {
            strategy: "margin".into(),
            cold_start: "kmeans".into(),
            trials: vec![
                trial(&[(20, 0.5), (30, 0.91), (40, 0.96)]),
                trial(&[(20, 0.6), (30, 0.89), (40, 0.92)]),
                trial(&[(20, 0.7), (30, 0.95), (40, 0.97)]),
            ],
        }
    }

    #[test]
    fn medians_over_trials_with_never_reached_as_infinite() {
        let c = curves();
        assert_eq!(c.median_labels_to(0.90), Some(30)); // 30, 40, 30
        assert_eq!(c.median_labels_to(0.95), Some(40)); // 40, never, 30 → 40
        assert_eq!(c.median_labels_to(0.98), None);
        assert_eq!(c.final_accuracy(), Some(0.96));
        assert_eq!(c.seconds_per_round(), Some(1.0));
        let two = Curves {
            strategy: "x".into(),
            trials: vec![trial(&[(10, 0.95)]), trial(&[(20, 0.95)])],
            ..Curves::default()
        };
        assert_eq!(two.median_labels_to(0.9), Some(15));
    }

    #[test]
    fn summary_has_the_issue_shape() {
        let on = MeasuredOn {
            split: Split::Validation,
            images: 40,
        };
        let s = summarize("assets/mnist", on, &[curves()], None, None);
        let json: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(json["dataset"], "assets/mnist");
        assert_eq!(json["measured_on"]["split"], "validation");
        assert_eq!(json["measured_on"]["images"], 40);
        let m = &json["strategies"]["margin"];
        assert_eq!(m["labels_to"]["0.90"], 30);
        assert_eq!(m["labels_to"]["0.98"], serde_json::Value::Null);
        assert_eq!(m["final_accuracy"], 0.96);
        assert_eq!(m["trials"], 3);
        assert_eq!(m["cold_start"], "kmeans");
        assert!(json.get("full_baseline").is_none());
    }

    #[test]
    fn curves_csv_has_every_round_as_soon_as_it_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.csv");
        let c = curves();
        let mut log = CurvesCsv::create(&path).unwrap();
        for (t, points) in c.trials.iter().enumerate() {
            for p in points {
                log.append(&c.strategy, t + 1, p, Some("deskew-pca"))
                    .unwrap();
            }
            // Read while the writer is still open: a stopped run keeps these rows.
            let read = read_curves(&path, "labels", "accuracy").unwrap();
            assert_eq!(read[0].trials, c.trials[..=t].to_vec());
        }
        drop(log);
        // The CSV has no cold-start column: that is in summary.json.
        let unnamed = Curves {
            cold_start: String::new(),
            ..c
        };
        assert_eq!(
            read_curves(&path, "labels", "accuracy").unwrap(),
            vec![unnamed]
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("strategy,trial,labels,accuracy,seconds,graph,ece\n"),
            "{text}"
        );
        assert!(
            text.contains("margin,3,40,0.9700,1.000,deskew-pca,\n"),
            "{text}"
        );
        // A round measured on the test split also writes its calibration error.
        let path = dir.path().join("with-ece.csv");
        let mut log = CurvesCsv::create(&path).unwrap();
        let point = Point {
            labels: 0,
            accuracy: 0.5,
            seconds: 0.01,
            calibration_error: Some(0.125),
        };
        log.append("random", 1, &point, None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("random,1,0,0.5000,0.010,,0.1250\n"),
            "{text}"
        );
        assert_eq!(
            read_curves(&path, "labels", "accuracy").unwrap()[0].trials[0],
            vec![point]
        );
    }

    #[test]
    fn table_lists_each_strategy() {
        let mut out = Vec::new();
        table(&[curves()], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("margin"), "{text}");
        assert!(text.contains("96.00%"), "{text}");
        assert!(
            text.contains("1st batch") && text.contains("kmeans"),
            "{text}"
        );
    }
}
