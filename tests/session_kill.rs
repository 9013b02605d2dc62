//! `kill -9` at random moments loses no label: the real binary labels `assets/mnist`
//! with the auto-oracle in tmux, is killed with SIGKILL 20 times, and after each kill
//! the session is reloaded. Every label the screen had shown as done is there, every
//! label of an earlier reload is still there with the same class, and the next run
//! resumes the session (the lock of the killed process does not block it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rand::{Rng, SeedableRng};

mod support;
use support::{glean_command, labeled, program_pid, Tmux};

const KILLS: usize = 20;

#[test]
fn sigkill_while_the_oracle_labels_loses_nothing() {
    let mnist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
    if !support::needs("tmux", support::available())
        || !support::needs("assets/mnist", mnist.join("train").is_dir())
    {
        return;
    }
    let dirs = tempfile::tempdir().unwrap();
    let sessions = dirs.path().join("sessions");
    let tmux = Tmux {
        socket: format!("glean-kill-{}", std::process::id()),
    };
    let wait = Duration::from_secs(120);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let args = format!(
        "label {} --session kill --device cpu --batch 10 --oracle",
        mnist.display()
    );

    let mut known: HashMap<String, u16> = HashMap::new();
    for round in 0..KILLS {
        let window = format!("run{round}");
        tmux.start(&window, &glean_command(dirs.path(), &args));
        // Up and labeling from where the last run stopped.
        let started = tmux.try_wait(&window, wait, |s| {
            labeled(s).is_some_and(|n| n >= known.len())
        });
        if let Err(report) = started {
            let stacks = program_pid(&tmux, &window).map(|pid| support::stacks(&pid));
            let log = std::fs::read_to_string(dirs.path().join("data/logs/glean.log"));
            panic!(
                "run {round} did not reach the labeling screen; {report}\nstacks: {stacks:?}\nlog: {log:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(100..1500)));
        let shown = labeled(&tmux.screen(&window)).expect("the labeled count");
        let pid = program_pid(&tmux, &window).expect("glean's pid");
        assert!(Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success());
        // Gone once its shell has reaped it (the screen is no proof: the shell's note
        // lands wherever glean left the cursor, and may wrap).
        let proc_entry = PathBuf::from(format!("/proc/{pid}"));
        let killed_at = std::time::Instant::now();
        while proc_entry.exists() {
            assert!(
                killed_at.elapsed() < wait,
                "run {round}: glean {pid} outlived SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(20));
        }

        let (session, report) = glean::session::load(&sessions, "kill")
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
        for (item, class) in &known {
            assert_eq!(
                labels.get(item),
                Some(class),
                "kill {round}: the label of {item} was lost or changed"
            );
        }
        known = labels;
    }
    assert!(
        known.len() >= KILLS,
        "the oracle labeled only {} images over {KILLS} runs",
        known.len()
    );
    eprintln!("{} labels kept over {KILLS} SIGKILLs", known.len());
}
