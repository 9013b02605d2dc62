//! The session's disk fills up while the trainer prepares the full MNIST: the label
//! that cannot be written ends glean with a message that names the failed write, the
//! shell is back within 3 s although the trainer is inside a long step, and every label
//! written before it is on disk.
//!
//! The session folder is a small tmpfs of its own, mounted in a user and mount
//! namespace (`unshare -rm`) that lives as long as the shell glean runs in; that shell
//! copies the folder out when glean has ended.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;
use support::{available, labeled, needs, Tmux};

/// The session folder's size: the snapshot and some tens of labels' journal records.
const SESSION_DISK: &str = "size=16k";

/// The full MNIST's IDX files, as `make mnist` leaves them.
fn full_mnist() -> Option<PathBuf> {
    let dir = glean::paths::cache_dir().join("mnist/package/data");
    let here = dir.join("train-images-idx3-ubyte").exists();
    (needs("tmux", available()) && needs("the full MNIST (make mnist)", here)).then_some(dir)
}

/// Whether this machine lets a process mount a tmpfs of its own.
fn private_mounts() -> bool {
    Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_full_disk_ends_glean_at_once_and_keeps_every_written_label() {
    let Some(mnist) = full_mnist() else {
        return;
    };
    if !needs("user and mount namespaces (unshare -rm)", private_mounts()) {
        return;
    }
    let dirs = tempfile::tempdir().unwrap();
    let (sessions, kept) = (dirs.path().join("sessions"), dirs.path().join("kept"));
    std::fs::create_dir_all(&sessions).unwrap();
    // The session folder is $0 inside the namespace's shell; the rest of glean's
    // folders are ordinary ones.
    let script = format!(
        "mount -t tmpfs -o {SESSION_DISK} tmpfs \"$0\" || exit 9; \
         env GLEAN_RENDER=halfblocks GLEAN_DATA_DIR={d}/data GLEAN_CACHE_DIR={d}/cache \
         GLEAN_CONFIG_DIR={d}/config {bin} label {mnist} --session full --session-dir \"$0\" \
         --device cpu --batch 10; echo GLEAN-EXIT=$?; cp -a \"$0\" {kept}",
        d = dirs.path().display(),
        bin = env!("CARGO_BIN_EXE_glean"),
        mnist = mnist.display(),
        kept = kept.display(),
    );
    let command = format!(
        "unshare -rm sh -c '{script}' {}; sleep 600",
        sessions.display()
    );
    let tmux = Tmux {
        socket: format!("glean-disk-full-{}", std::process::id()),
    };
    tmux.start("full", &command);
    tmux.wait(
        "full",
        Duration::from_secs(120),
        "the labeling screen",
        |s| labeled(s) == Some(0),
    );

    // One label at a time, a key every 100 ms, until the shell is back. The key that
    // failed is at the latest the first one the screen never counted, so the time from
    // it to the shell bounds glean's way out from above.
    let mut sent: Vec<Instant> = Vec::new();
    let mut shown = 0;
    let mut preparing_at_failure = false;
    let (ended, back_at) = loop {
        let screen = tmux.screen("full");
        if screen.contains("GLEAN-EXIT=") {
            break (screen, Instant::now());
        }
        if let Some(n) = labeled(&screen) {
            shown = shown.max(n);
            preparing_at_failure = screen.contains("preparing");
        }
        assert!(
            sent.len() < 2_000,
            "{shown} labels and the disk is not full"
        );
        tmux.keys("full", "1");
        sent.push(Instant::now());
        std::thread::sleep(Duration::from_millis(100));
    };
    let failed_key = sent[shown.min(sent.len() - 1)];
    let gone_after = back_at - failed_key;
    eprintln!(
        "{shown} labels written, {} keys; the shell back {gone_after:?} after the key that failed\n{}",
        sent.len(),
        ended.trim_end()
    );
    assert!(
        gone_after < Duration::from_secs(3),
        "the shell came back {gone_after:?} after the key that failed:\n{ended}"
    );
    assert!(
        preparing_at_failure,
        "the disk filled only after the trainer had prepared (the test needs it busy):\n{ended}"
    );
    assert!(ended.contains("GLEAN-EXIT=1"), "{ended}");
    assert!(
        ended.contains("No space left on device") && ended.contains("full.journal"),
        "the message names neither the failed write nor its cause:\n{ended}"
    );

    // Every label the screen counted is on disk, in the copy the shell made.
    tmux.wait(
        "full",
        Duration::from_secs(10),
        "the session's copy",
        |_| kept.join("full.journal").exists(),
    );
    let (state, _) = glean::session::load(&kept, "full").expect("the session reads back");
    assert!(shown > 0, "no label was written before the disk filled");
    assert!(
        state.labels().len() >= shown,
        "{} labels on disk, {shown} shown as done",
        state.labels().len()
    );
}
