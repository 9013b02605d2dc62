//! `glean sessions` and `glean export` run as the real binary on sessions made by the
//! library.

#[path = "../../crates/session/tests/session_common/mod.rs"]
mod session_common;

use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use glean::session::{snapshot_path, RoundRecord, Session, Source};
use session_common::config;

fn glean(args: &[&str], env_dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glean"));
    cmd.args(args).env_remove("GLEAN_SESSION_DIR");
    // Nothing may fall back to the real home.
    let scratch = std::env::temp_dir().join("glean-session-cli-test-data");
    cmd.env("GLEAN_DATA_DIR", &scratch)
        .env("GLEAN_CACHE_DIR", &scratch);
    if let Some(dir) = env_dir {
        cmd.env("GLEAN_SESSION_DIR", dir);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn make_session(dir: &Path) {
    let mut s = Session::create(dir, "digits", config(Path::new("/data/digits"))).unwrap();
    s.label("cat/1.png", 0, Source::Human).unwrap();
    s.label("dog/2.png", 1, Source::Oracle).unwrap();
    s.record_round(RoundRecord {
        model_version: 1,
        labels: 2,
        test_accuracy: Some(0.5),
        seconds: 3.0,
        learner: "cnn".into(),
        time: Utc::now(),
        label_digest: None,
    })
    .unwrap();
    // Left open on purpose: the commands read a session that another process labels.
    std::mem::forget(s);
}

#[test]
fn sessions_prints_the_table() {
    let dir = tempfile::tempdir().unwrap();
    make_session(dir.path());
    let d = dir.path().to_str().unwrap();
    for out in [
        glean(&["sessions", "--session-dir", d], None),
        glean(&["sessions"], Some(dir.path())),
    ] {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let table = text(&out.stdout);
        let row = table.lines().nth(1).unwrap_or_default();
        for cell in ["digits", "/data/digits", "2/10", "50.0%", "margin"] {
            assert!(row.contains(cell), "{cell} missing:\n{table}");
        }
    }
    let empty = tempfile::tempdir().unwrap();
    let out = glean(
        &["sessions", "--session-dir", empty.path().to_str().unwrap()],
        None,
    );
    assert_eq!(text(&out.stdout), "no saved sessions\n");
}

#[test]
fn export_writes_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    make_session(dir.path());
    let d = dir.path().to_str().unwrap();
    let out = glean(&["export", "digits", "--session-dir", d], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "item,path,class,class_index,source,round,time");
    assert!(
        lines[1].starts_with("cat/1.png,/data/digits/cat/1.png,cat,0,human,0,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("dog/2.png,/data/digits/dog/2.png,dog,1,oracle,0,"),
        "{csv}"
    );

    let file = dir.path().join("labels.json");
    let out = glean(
        &[
            "export",
            "digits",
            "--format",
            "json",
            "-o",
            file.to_str().unwrap(),
        ],
        Some(dir.path()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["labels"][1]["class"], "dog");
    assert_eq!(doc["labels"].as_array().unwrap().len(), 2);
}

#[test]
fn export_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = glean(&["export", "nope", "--session-dir", d], None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no session named nope"),
        "{}",
        text(&out.stderr)
    );

    make_session(dir.path());
    std::fs::write(
        snapshot_path(dir.path(), "digits"),
        "(\n  version: 1,\n  name: \"x\"",
    )
    .unwrap();
    let out = glean(&["export", "digits", "--session-dir", d], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("digits.ron:3:"), "{err}");
    let out = glean(&["sessions", "--session-dir", d], None);
    assert!(
        text(&out.stdout).contains("digits  unreadable: "),
        "{}",
        text(&out.stdout)
    );
}

/// A user's mistake prints one message and exits 1, with no backtrace even where
/// RUST_BACKTRACE asks for them; `--debug` adds the chain and the backtrace.
#[test]
fn user_errors_are_one_message_whatever_rust_backtrace_says() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_glean"));
        cmd.args(["export", "nope", "--session-dir", d])
            .args(extra)
            .env("RUST_BACKTRACE", "1")
            .env("RUST_LIB_BACKTRACE", "1")
            .env_remove("GLEAN_DEBUG")
            .env("GLEAN_DATA_DIR", dir.path())
            .env("GLEAN_CACHE_DIR", dir.path());
        cmd.output().unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("glean: no session named nope"), "{err}");
    let debug = text(&run(&["--debug"]).stderr);
    assert!(debug.contains("no session named nope"), "{debug}");
    assert!(debug.to_lowercase().contains("backtrace"), "{debug}");
}

/// `glean export … | head`: the reader leaves early, and glean ends quietly, with
/// success, instead of an error about a broken pipe.
#[test]
fn export_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::create(dir.path(), "many", config(Path::new("/data/many"))).unwrap();
    for i in 0..5000 {
        s.label(&format!("cat/{i}.png"), 0, Source::Human).unwrap();
    }
    drop(s);
    let script = format!(
        "{} export many --session-dir {} | head -1; echo \"status=${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_glean"),
        dir.path().display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .env("RUST_BACKTRACE", "1")
        .env("GLEAN_DATA_DIR", dir.path())
        .env("GLEAN_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("item,"), "{stdout}");
    assert!(stdout.contains("status=0"), "{stdout}");
    assert_eq!(text(&out.stderr), "", "{}", text(&out.stderr));
}
