//! `glean simulate` through the real binary on `assets/mnist`, with a tiny budget.

use std::path::Path;
use std::process::Command;

use crate::support;

fn glean(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glean"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GLEAN_CACHE_DIR", cache)
        .env("GLEAN_DATA_DIR", cache)
        .env("GLEAN_SESSION_DIR", cache);
    cmd
}

/// Runs `cmd`, which must succeed; its standard output.
fn succeeds(cmd: &mut Command) -> String {
    let result = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    assert!(
        result.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    stdout
}

/// `summary.json` in `out`.
fn summary_in(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn simulate_writes_curves_summary_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let result = glean(tmp.path())
        .args([
            "simulate",
            "assets/mnist",
            "--strategies",
            "margin,random",
            "--init",
            "10",
            "--batch",
            "10",
        ])
        .args([
            "--budget",
            "30",
            "--trials",
            "2",
            "--seed",
            "3",
            "--device",
            "cpu",
            "--full-baseline",
            "--out",
        ])
        .arg(&out)
        .env("GLEAN_LOG", "glean=debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        result.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    // GLEAN_LOG shows what each hybrid round's predictors scored, as plain text.
    assert!(
        stderr.contains("hybrid round, 20 labels: ") && stderr.contains("disagree on"),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b'), "{stderr}");
    assert!(
        stdout.contains("to 95%") && stdout.contains("margin") && stdout.contains("random"),
        "{stdout}"
    );

    let csv = std::fs::read_to_string(out.join("curves.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("strategy,trial,labels,accuracy,seconds,graph,ece")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    // 2 strategies × 2 trials × rounds at 10, 20, 30 labels.
    assert_eq!(rows.len(), 12, "{csv}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], if i < 6 { "margin" } else { "random" });
        assert_eq!(row[1], ["1", "2"][(i / 3) % 2]);
        assert_eq!(row[2], ["10", "20", "30"][i % 3]);
        let acc: f64 = row[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        assert!(row[4].parse::<f64>().unwrap() > 0.0);
        // The default graph is the one cross-validation on the labels favours.
        assert!(
            ["deskew-pca", "deskew-pca+mbo", "vae", "vae+mbo"].contains(&row[5].as_str()),
            "{csv}"
        );
        // The calibration error of the same predictions on the test split.
        let ece: f64 = row[6].parse().unwrap();
        assert!((0.0..=1.0).contains(&ece), "{csv}");
    }
    // With 30 labels of real digits the model is well above chance (10 %).
    let last_acc: f64 = rows[2][3].parse().unwrap();
    assert!(last_acc > 0.4, "accuracy {last_acc} after 30 labels");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["dataset"], "assets/mnist");
    assert_eq!(summary["measured_on"]["split"], "test", "{summary}");
    assert!(stdout.contains("accuracy on the test split"), "{stdout}");
    // Random is the no-active-learning baseline: its first batch is random too.
    for (name, cold_start) in [("margin", "kmeans"), ("random", "random")] {
        let s = &summary["strategies"][name];
        assert_eq!(s["trials"], 2, "{summary}");
        assert_eq!(s["cold_start"], cold_start, "{summary}");
        for key in ["0.90", "0.95", "0.98"] {
            assert!(
                s["labels_to"][key].is_null() || s["labels_to"][key].is_u64(),
                "{summary}"
            );
        }
        assert!(s["final_accuracy"].as_f64().unwrap() > 0.4);
        assert!(s["seconds_per_round"].as_f64().unwrap() > 0.0);
    }

    // Trained on all 1,000 pool labels, the model beats the 30-label curves' start.
    let baseline = summary["full_baseline"].as_f64().unwrap();
    assert!(baseline > 0.8, "full baseline {baseline}");

    let svg = std::fs::read_to_string(out.join("curves.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polygon").count(), 2, "one band per strategy");
    assert!(svg.contains(">\nmargin\n</text>") && svg.contains(">\nrandom\n</text>"));
    assert!(
        svg.contains("all labels ("),
        "the --full-baseline line is drawn"
    );
    let png = image::open(out.join("curves.png")).unwrap();
    assert!(png.width() > 400 && png.height() > 300);

    // `glean plot` draws the same plot again from what the run wrote.
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("curves.plot.json")).unwrap())
            .unwrap();
    assert!(
        spec["title"]
            .as_str()
            .unwrap()
            .starts_with("assets/mnist: hybrid learner"),
        "{spec}"
    );
    let exact = spec["full_baseline"].as_f64().unwrap();
    assert!((exact - baseline).abs() < 1e-4, "{spec}");
    std::fs::remove_file(out.join("curves.svg")).unwrap();
    let stdout = succeeds(glean(tmp.path()).arg("plot").arg(&out));
    assert!(stdout.contains("curves.svg, curves.png"), "{stdout}");
    // The CSV keeps 4 decimals: the same plot, give or take a pixel.
    let again = std::fs::read_to_string(out.join("curves.svg")).unwrap();
    assert_eq!(again.matches("<polygon").count(), 2);
    assert!(again.contains(">\nmargin\n</text>") && again.contains("all labels ("));
}

/// `--validation 200`: every accuracy is measured on 200 images cut from the pool (each
/// a multiple of 1/200), the summary says so, and the pool shrinks by as many.
#[test]
fn simulate_measures_on_a_validation_split_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let stdout = succeeds(
        glean(tmp.path())
            .args(["simulate", "assets/mnist", "--validation", "200"])
            .args(["--strategies", "random", "--init", "10", "--batch", "10"])
            .args([
                "--budget", "20", "--trials", "1", "--device", "cpu", "--out",
            ])
            .arg(&out),
    );
    assert!(
        stdout.contains("accuracy on the validation split, 200 images cut from the pool"),
        "{stdout}"
    );
    let summary = summary_in(&out);
    assert_eq!(summary["measured_on"]["split"], "validation", "{summary}");
    assert_eq!(summary["measured_on"]["images"], 200, "{summary}");
    let csv = std::fs::read_to_string(out.join("curves.csv")).unwrap();
    let accuracies: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    assert_eq!(accuracies.len(), 2, "{csv}");
    for a in accuracies {
        let right = a * 200.0;
        assert!((right - right.round()).abs() < 1e-6, "{a} is not k/200");
    }

    let too_many = glean(tmp.path())
        .args(["simulate", "assets/mnist", "--validation", "5000", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!too_many.status.success());
    let stderr = String::from_utf8_lossy(&too_many.stderr);
    assert!(
        stderr.contains("--validation 5000: the pool has only"),
        "{stderr}"
    );
}

#[test]
fn simulate_rejects_bad_input_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let bad_strategy = glean(tmp.path())
        .args([
            "simulate",
            "assets/mnist",
            "--strategies",
            "margin,psychic",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!bad_strategy.status.success());
    assert!(String::from_utf8_lossy(&bad_strategy.stderr).contains("psychic"));

    // A class-folder pool without a test split has nothing to measure.
    let no_test = glean(tmp.path())
        .args(["simulate", "assets/mnist/train", "--budget", "20", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!no_test.status.success());
    assert!(
        String::from_utf8_lossy(&no_test.stderr).contains("test"),
        "{}",
        String::from_utf8_lossy(&no_test.stderr)
    );

    let missing_cuda = glean(tmp.path())
        .args([
            "simulate",
            "assets/mnist",
            "--device",
            "cuda:63",
            "--budget",
            "20",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!missing_cuda.status.success());
    assert!(String::from_utf8_lossy(&missing_cuda.stderr).contains("cuda:63"));
}

/// The graph papers' protocol: random class-balanced labels, accuracy on the items still
/// unlabeled; it needs no test split (`assets/mnist/train` has none).
#[test]
fn simulate_measures_balanced_labels_on_the_unlabeled_pool() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let stdout = succeeds(
        glean(tmp.path())
            .args(["simulate", "assets/mnist/train", "--learner", "graph"])
            .args(["--cold-start", "balanced", "--accuracy-on", "pool"])
            .args(["--embedding", "pca", "--class-prior", "off"])
            .args(["--strategies", "margin", "--init", "20", "--batch", "10"])
            .args([
                "--budget", "30", "--trials", "2", "--device", "cpu", "--out",
            ])
            .arg(&out),
    );
    assert!(
        stdout.contains("accuracy on the pool split, 1000 images (the items still unlabeled"),
        "{stdout}"
    );
    let summary = summary_in(&out);
    assert_eq!(summary["measured_on"]["split"], "pool", "{summary}");
    assert_eq!(
        summary["strategies"]["margin"]["cold_start"], "balanced",
        "{summary}"
    );
    let csv = std::fs::read_to_string(out.join("curves.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 4, "{csv}");
    for row in &rows {
        let (labels, accuracy): (f64, f64) = (row[2].parse().unwrap(), row[3].parse().unwrap());
        // Counted over the 1000 - labels items left: a whole number of them (to the
        // CSV's four decimals).
        let right = accuracy * (1000.0 - labels);
        assert!(
            (right - right.round()).abs() <= 0.05,
            "{accuracy} of {labels}"
        );
        // Two labels a digit already give the graph most of the rest.
        assert!(accuracy > 0.7, "{csv}");
        assert_eq!(row[5], "deskew-pca", "{csv}");
    }

    // The pool is judged whole: a subset of it cannot be.
    let subset = glean(tmp.path())
        .args(["simulate", "assets/mnist/train", "--accuracy-on", "pool"])
        .args(["--pool-subset", "100", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!subset.status.success());
    let stderr = String::from_utf8_lossy(&subset.stderr);
    assert!(stderr.contains("--pool-subset"), "{stderr}");
}

#[test]
fn cluster_errors_takes_its_clusters_and_order_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let result = glean(tmp.path())
        .args(["simulate", "assets/mnist", "--learner", "cnn"])
        .args(["--strategies", "cluster-errors", "--clusters", "3"])
        .args(["--cluster-pick", "random", "--init", "10", "--batch", "10"])
        .args([
            "--budget", "20", "--trials", "1", "--device", "cpu", "--out",
        ])
        .arg(&out)
        .env("GLEAN_LOG", "glean=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    // The round at 10 labels splits its batch of 10 between three clusters.
    let quota = stderr
        .lines()
        .find_map(|l| l.split("picks per cluster ").nth(1))
        .unwrap_or_else(|| panic!("no cluster-errors line in\n{stderr}"));
    let picks: Vec<usize> = quota
        .trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(picks.len(), 3, "{quota}");
    assert_eq!(picks.iter().sum::<usize>(), 10, "{quota}");
    assert!(summary_in(&out)["strategies"]["cluster-errors"].is_object());

    let zero = glean(tmp.path())
        .args(["simulate", "assets/mnist", "--strategies", "cluster-errors"])
        .args(["--clusters", "0", "--out"])
        .arg(tmp.path().join("zero"))
        .output()
        .unwrap();
    assert!(!zero.status.success());
    let stderr = String::from_utf8_lossy(&zero.stderr);
    assert!(
        stderr.contains("`0` is not a number of clusters (1 or more)"),
        "{stderr}"
    );
}

/// Review pages from label 0 on the 118 dog photos (one per breed): the ImageNet head's
/// guesses put about one photo in each breed, so the breeds share pages, each photo
/// over its breed; the oracle's marks and the page confirms label the whole folder
/// right in at most 25 keypresses (120, after 12 single labels, when a page held one
/// breed).
#[test]
fn review_pages_label_the_dog_photos_from_label_zero() {
    let dogs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/imagenet-dogs");
    if !support::needs("../shared/datasets/imagenet-dogs", dogs.is_dir()) {
        return;
    }
    let weights = glean::learn::trainer::prepare::default_backbone_weights(
        glean::learn::backbone::effnet_lite::Backbone::Lite2,
    );
    if !support::needs("the Lite2 weights (make effnet)", weights.exists()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    succeeds(
        glean(tmp.path())
            .arg("simulate")
            .arg(&dogs)
            .args(["--label-pattern", r"^n[0-9]+_(.+)\.JPEG$", "--review"])
            .args(["--strategies", "margin", "--budget", "0", "--trials", "1"])
            .args(["--device", "cpu", "--out"])
            .arg(&out),
    );
    let csv = std::fs::read_to_string(out.join("review.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // keypresses, singles, marks, confirms, labels, folder_accuracy per round.
    let at = |row: &[&str], column: usize| -> f64 { row[column].parse().unwrap() };
    let (first, last) = (&rows[0], rows.last().unwrap());
    assert_eq!(at(first, 2), 0.0, "{csv}");
    assert!(
        at(first, 7) > 0.9,
        "before any label the head is right on most: {csv}"
    );
    assert_eq!(
        (at(last, 3), at(last, 6), at(last, 7)),
        (0.0, 118.0, 1.0),
        "{csv}"
    );
    assert!(at(last, 2) <= 25.0, "{csv}");
    assert!(at(last, 5) <= 3.0, "two pages of 60 hold the folder: {csv}");
}
