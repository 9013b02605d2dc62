//! What the SIGKILL tests share: the real binary labels `assets/mnist` in tmux, is
//! killed with SIGKILL, and the session is reloaded and checked against what the
//! screen showed and what earlier reloads held.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use glean::session::SessionState;

use super::{available, needs};

/// `assets/mnist`, when it and tmux are here (else the test skips, or fails as
/// `GLEAN_REQUIRE_DATA` asks).
pub fn mnist_and_tmux() -> Option<PathBuf> {
    let mnist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
    (needs("tmux", available()) && needs("assets/mnist", mnist.join("train").is_dir()))
        .then_some(mnist)
}

/// SIGKILLs glean's `pid` and waits (up to `wait`) until it is gone: once its shell has
/// reaped it (the screen is no proof: the shell's note lands wherever glean left the
/// cursor, and may wrap).
pub fn kill_and_reap(pid: &str, wait: Duration, round: usize) {
    assert!(Command::new("kill")
        .args(["-KILL", pid])
        .status()
        .unwrap()
        .success());
    let proc_entry = PathBuf::from(format!("/proc/{pid}"));
    let killed_at = Instant::now();
    while proc_entry.exists() {
        assert!(
            killed_at.elapsed() < wait,
            "run {round}: glean {pid} outlived SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Session `name` reloaded after kill `round`, and its labels by item: at least the
/// `shown` labels the screen counted as done, and every label of `known` (an earlier
/// reload's) with the same class.
pub fn reload_keeps_labels(
    sessions: &Path,
    name: &str,
    round: usize,
    shown: usize,
    known: &HashMap<String, u16>,
) -> (SessionState, HashMap<String, u16>) {
    let (session, report) = glean::session::load(sessions, name)
        .unwrap_or_else(|e| panic!("kill {round}: the session does not load: {e}"));
    for warning in report.warnings() {
        eprintln!("kill {round}: {warning}");
    }
    let labels: HashMap<String, u16> = session
        .labels()
        .iter()
        .map(|l| (l.item.clone(), l.class))
        .collect();
    assert!(
        labels.len() >= shown,
        "kill {round}: the screen showed {shown} labels done, the session has {}",
        labels.len()
    );
    for (item, class) in known {
        assert_eq!(
            labels.get(item),
            Some(class),
            "kill {round}: the label of {item} was lost or changed"
        );
    }
    (session, labels)
}
