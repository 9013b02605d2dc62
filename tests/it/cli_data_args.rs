//! The data flags `scan`, `label` and `simulate` share (`DataArgs`): how they parse
//! into `ScanOptions`, and what they refuse, through clap and through the real binary;
//! and the `--holdout` a session records, which `glean resume` scans with again.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use clap::Parser;
use glean::cli::{Cli, Command, DataArgs};
use glean::dataset::{Class, Holdout, Layout, ScanOptions};
use glean::learn::{ClassPrior, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind, Strategy};
use glean::session::{DataSpec, Session, SessionConfig};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("glean").chain(args.iter().copied()))
}

fn data_args(cli: Cli) -> DataArgs {
    match cli.command {
        Command::Scan(a) => a.dataset,
        Command::Label(a) => a.dataset,
        Command::Simulate(a) => a.dataset,
        other => panic!("not a data command: {other:?}"),
    }
}

#[test]
fn simulate_holdout_parses_into_scan_options() {
    let cli = parse(&[
        "simulate",
        "../shared/datasets/cifar10-test",
        "--holdout",
        "2000",
        "--strategies",
        "margin,entropy,random",
        "--out",
        "runs/cifar",
    ])
    .unwrap();
    let Command::Simulate(args) = cli.command else {
        panic!("not simulate");
    };
    assert_eq!(args.data, PathBuf::from("../shared/datasets/cifar10-test"));
    assert_eq!(
        args.dataset.scan_options().unwrap(),
        ScanOptions {
            holdout: Some(Holdout::Count(2000)),
            ..ScanOptions::default()
        }
    );

    let cli = parse(&[
        "simulate",
        "flat",
        "--holdout",
        "0.2",
        "--classes",
        "cat,dog",
        "--label-pattern",
        r"^(\w+)_\d+\.png$",
        "--out",
        "o",
    ])
    .unwrap();
    assert_eq!(
        data_args(cli).scan_options().unwrap(),
        ScanOptions {
            test: None,
            label_pattern: Some(r"^(\w+)_\d+\.png$".into()),
            classes: Some(vec!["cat".into(), "dog".into()]),
            holdout: Some(Holdout::Fraction(0.2)),
            validation: None,
        }
    );
}

#[test]
fn scan_label_and_simulate_read_the_same_data_flags() {
    let flags = ["--test", "t", "--label-pattern", "^(.)", "--classes", "a,b"];
    let expected = ScanOptions {
        test: Some(PathBuf::from("t")),
        label_pattern: Some("^(.)".into()),
        classes: Some(vec!["a".into(), "b".into()]),
        holdout: None,
        validation: None,
    };
    for command in [
        &["scan", "d"][..],
        &["label", "d"][..],
        &["simulate", "d", "--out", "o"][..],
    ] {
        let args: Vec<&str> = command.iter().chain(&flags).copied().collect();
        let cli = parse(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(data_args(cli).scan_options().unwrap(), expected, "{args:?}");
    }
}

#[test]
fn holdout_with_test_is_rejected_with_a_message() {
    for command in [&["scan", "d"][..], &["simulate", "d", "--out", "o"][..]] {
        let args: Vec<&str> = command
            .iter()
            .chain(&["--test", "t", "--holdout", "2000"])
            .copied()
            .collect();
        let err = parse(&args).unwrap_err().to_string();
        assert!(
            err.contains("--holdout") && err.contains("--test") && err.contains("cannot be used"),
            "{err}"
        );
    }
    // Built by hand (not through clap), the combination is refused by scan_options.
    let by_hand = DataArgs {
        test: Some(PathBuf::from("t")),
        holdout: Some(Holdout::Count(2000)),
        ..DataArgs::default()
    };
    let err = by_hand.scan_options().unwrap_err().to_string();
    assert!(
        err.contains("--holdout 2000: cannot be combined with --test"),
        "{err}"
    );
}

#[test]
fn bad_holdout_values_are_rejected_with_the_reason() {
    for (value, why) in [
        ("1.5", "strictly between 0 and 1"),
        ("0", "at least 1"),
        ("some", "a count of images (2000) or a fraction"),
    ] {
        let err = parse(&["simulate", "d", "--out", "o", "--holdout", value])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--holdout") && err.contains(why), "{err}");
    }
}

fn glean(tmp: &Path) -> Process {
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_glean"));
    cmd.env("GLEAN_CACHE_DIR", tmp.join("cache"))
        .env("GLEAN_DATA_DIR", tmp.join("data"))
        .env("GLEAN_SESSION_DIR", tmp.join("sessions"))
        .env("GLEAN_CONFIG_DIR", tmp.join("config"));
    cmd
}

/// Two class folders of four small PNGs each.
fn class_folders(root: &Path) {
    for class in ["cat", "dog"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..4u8 {
            image::GrayImage::from_pixel(8, 8, image::Luma([i * 40]))
                .save(root.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
}

#[test]
fn glean_scan_holds_out_a_test_split() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    class_folders(&root);
    let out = glean(tmp.path())
        .arg("scan")
        .arg(&root)
        .args(["--holdout", "0.25"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("pool:     6 images"), "{stdout}");
    assert!(stdout.contains("test:     2 images"), "{stdout}");
    for class in ["cat", "dog"] {
        let row = format!("{class:<28} {:>7} pool {:>7} test", 3, 1);
        assert!(stdout.contains(&row), "{row:?} in\n{stdout}");
    }
}

/// A session over `root` that recorded `--holdout holdout`, as `glean label` makes it.
fn session_with_holdout(sessions: &Path, root: &Path, holdout: &str) {
    let config = SessionConfig {
        data: DataSpec {
            root: root.to_path_buf(),
            layout: Layout::ClassFolders,
            test: None,
            label_pattern: None,
            classes_arg: None,
            holdout: Some(holdout.into()),
        },
        classes: ["cat", "dog"]
            .iter()
            .map(|n| Class {
                name: n.to_string(),
                key: None,
            })
            .collect(),
        pool_size: 6,
        strategy: Strategy::Margin,
        batch: 2,
        model: ModelKind::Cnn,
        device: DeviceChoice::Cpu,
        seed: 1,
        learner: LearnerKind::Hybrid,
        embedding: EmbeddingKind::Auto,
        class_prior: ClassPrior::Auto,
        query: Default::default(),
        audit_every: 0,
    };
    drop(Session::create(sessions, "pets", config).unwrap());
}

// There is no terminal here, so these runs must stop before the screen starts: each
// uses a hold-out the 8 images cannot give, which only the scan of the data refuses.
#[test]
fn glean_label_and_resume_scan_the_data_with_the_holdout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    let sessions = tmp.path().join("sessions");
    class_folders(&root);
    let too_many = "the pool has only 8 labeled images";

    // `label` takes --holdout past its argument checks and scans with it.
    let out = glean(tmp.path())
        .arg("label")
        .arg(&root)
        .args(["--holdout", "8"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--holdout 8") && stderr.contains(too_many),
        "{stderr}"
    );
    assert!(!sessions.join("pets.ron").exists());

    // `resume` scans with the hold-out the session recorded (dropping it would scan
    // fine and go on to the screen).
    session_with_holdout(&sessions, &root, "8");
    let out = glean(tmp.path()).args(["resume", "pets"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--holdout 8") && stderr.contains(too_many),
        "{stderr}"
    );

    // A recorded hold-out that no longer parses is an error naming the session.
    std::fs::remove_file(sessions.join("pets.ron")).unwrap();
    let _ = std::fs::remove_file(sessions.join("pets.journal"));
    session_with_holdout(&sessions, &root, "lots");
    let out = glean(tmp.path()).args(["resume", "pets"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("session pets: its recorded --holdout \"lots\""),
        "{stderr}"
    );
}

/// A keymap file that does not make sense stops `glean label` before it makes a session,
/// with the file and the fault named.
#[test]
fn a_bad_keymap_stops_label_with_its_fault_and_makes_no_session() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    class_folders(&root);
    std::fs::create_dir_all(tmp.path().join("config")).unwrap();
    std::fs::write(tmp.path().join("config/keymap.ron"), "{ undo: [\"s\"] }\n").unwrap();
    let out = glean(tmp.path()).arg("label").arg(&root).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("config/keymap.ron"), "{stderr}");
    assert!(
        stderr.contains("s is the key of both undo and skip"),
        "{stderr}"
    );
    assert!(!tmp.path().join("sessions").exists());
}
