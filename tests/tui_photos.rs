//! End to end in tmux on 2,000 photos with no cached features (200 of each CIFAR-10
//! class from `../shared/datasets`, linked into a temporary folder): the first image is
//! on screen within 2 s of launch and takes a label at once while the backbone's
//! features stream in; `q`, SIGTERM and SIGHUP during that pass each end glean within
//! 1 s with the terminal restored, and each restart goes on from the features already
//! computed; the labels given before the pass ends are in the first round. Without tmux, the
//! photos or the backbone's weights, see `support::needs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "it/support/mod.rs"]
mod support;
use support::{glean_command, labeled, program_pid, Tmux};

const PER_CLASS: usize = 200;

/// The item in the image panel's title, e.g. `cat/0012.jpg`.
fn current_item(screen: &str) -> Option<String> {
    let title = screen.lines().next()?.strip_prefix("┌ ")?;
    Some(title.split(" ─").next()?.trim().to_string())
}

/// `done` of the status line's `backbone features done/total`, while the pass runs.
fn features_done(screen: &str) -> Option<usize> {
    let at = screen.find("backbone features ")?;
    screen[at + 18..].split('/').next()?.trim().parse().ok()
}

/// A folder of `PER_CLASS` links per CIFAR-10 class, and a cache folder with only the
/// backbone's weights in it.
fn photos(cifar: &Path, weights: &Path, dirs: &Path) -> PathBuf {
    let root = dirs.join("photos");
    for class in std::fs::read_dir(cifar).unwrap() {
        let class = class.unwrap().path();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&class)
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        files.sort();
        let dir = root.join(class.file_name().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        for file in files.iter().take(PER_CLASS) {
            std::os::unix::fs::symlink(file, dir.join(file.file_name().unwrap())).unwrap();
        }
    }
    let models = dirs.join("cache/models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(weights, models.join("efficientnet-lite0.safetensors")).unwrap();
    root
}

/// Ends the glean in pane `name` by `how` and returns how long it took to exit, with
/// the screen after it.
fn stop(tmux: &Tmux, name: &str, how: &str) -> (Duration, String) {
    let pid = program_pid(tmux, name).expect("glean runs under the pane's shell");
    let started = Instant::now();
    match how {
        "q" => tmux.keys(name, "q"),
        signal => assert!(Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap()
            .success()),
    }
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "glean did not exit on {how}: {}",
            support::stacks(&pid)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    let screen = tmux.wait(name, Duration::from_secs(10), "the exit code", |s| {
        s.contains("GLEAN-EXIT=")
    });
    (took, screen)
}

#[test]
fn photos_label_at_once_while_features_stream_and_quit_at_once() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cifar = root.join("../shared/datasets/cifar10-test");
    let weights = glean::learn::trainer::prepare::default_backbone_weights(
        glean::learn::backbone::effnet_lite::Backbone::Lite0,
    );
    if !support::needs("tmux", support::available())
        || !support::needs("../shared/datasets/cifar10-test", cifar.is_dir())
        || !support::needs("the Lite0 weights (make effnet)", weights.exists())
    {
        return;
    }
    let dirs = tempfile::tempdir().unwrap();
    let data = photos(&cifar, &weights, dirs.path());
    let tmux = Tmux {
        socket: format!("glean-photos-{}", std::process::id()),
    };
    let args = format!("label {} --session photos --batch 10", data.display());

    // Three short runs, each stopped while the backbone's pass runs.
    let mut done_before = 0;
    for (run, how) in ["q", "TERM", "HUP"].into_iter().enumerate() {
        let name = format!("run{run}");
        let launched = Instant::now();
        tmux.start(&name, &glean_command(dirs.path(), &args));
        let screen = tmux.wait(&name, Duration::from_secs(10), "the first image", |s| {
            current_item(s).is_some_and(|i| i.contains('/'))
        });
        let first_image = launched.elapsed();
        assert!(
            first_image < Duration::from_secs(2),
            "run {run}: the first image took {first_image:?}:\n{screen}"
        );
        // Labelable at once: a key takes it while the features are still coming.
        let item = current_item(&screen).unwrap();
        tmux.keys(&name, "s");
        let skipped = tmux.wait(&name, Duration::from_secs(5), "the next image", |s| {
            current_item(s).is_some_and(|i| i != item)
        });
        let screen = tmux.wait(&name, Duration::from_secs(60), "the feature pass", |s| {
            features_done(s).is_some_and(|d| d > done_before)
        });
        let done = features_done(&screen).unwrap();
        assert!(
            done < PER_CLASS * 10,
            "the pass ended too soon to test a stop"
        );
        assert!(
            done >= done_before,
            "run {run} started over: {done} < {done_before}\n{skipped}"
        );
        done_before = done;
        let (took, after) = stop(&tmux, &name, how);
        eprintln!("run {run}: {how} ended glean in {took:?}");
        assert!(
            took < Duration::from_secs(1),
            "{how} took {took:?}:\n{after}"
        );
        assert!(after.contains("GLEAN-EXIT=0"), "{after}");
        assert!(
            !after.contains("trainer:"),
            "the screen was not restored:\n{after}"
        );
    }

    // Label twelve images by their folder while the pass goes on; the first round,
    // after the pass, has the ten labels of the first full batch.
    tmux.start("label", &glean_command(dirs.path(), &args));
    let classes = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    for n in 0..12 {
        let screen = tmux.wait("label", Duration::from_secs(30), "an image", |s| {
            labeled(s) == Some(n) && current_item(s).is_some()
        });
        if n == 11 {
            assert!(
                features_done(&screen).is_some_and(|d| d < PER_CLASS * 10),
                "the pass ended before the labels were given:\n{screen}"
            );
        }
        let item = current_item(&screen).unwrap();
        let class = classes
            .iter()
            .position(|c| item.starts_with(&format!("{c}/")))
            .unwrap();
        tmux.keys("label", &class.to_string());
    }
    let screen = tmux.wait(
        "label",
        Duration::from_secs(900),
        "the first round after the pass",
        |s| s.contains("model v1"),
    );
    assert!(screen.contains("your labels: guessed right"), "{screen}");
    let (_, after) = stop(&tmux, "label", "q");
    assert!(after.contains("12 of 2000 labeled"), "{after}");
    // Snapshot and journal: a quit leaves the journal as it is.
    let (session, _) = glean::session::load(&dirs.path().join("sessions"), "photos").unwrap();
    let first_round = session
        .rounds()
        .first()
        .unwrap_or_else(|| panic!("no round in the session: {session:?}"));
    assert_eq!(first_round.labels, 10, "{session:?}");
}
