//! `kill -9` at random moments loses no label: the real binary labels `assets/mnist`
//! with the auto-oracle in tmux, is killed with SIGKILL 20 times, and after each kill
//! the session is reloaded. Every label the screen had shown as done is there, every
//! label of an earlier reload is still there with the same class, and the next run
//! resumes the session (the lock of the killed process does not block it).

use std::collections::HashMap;
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::support;
use support::kill::{kill_and_reap, mnist_and_tmux, reload_keeps_labels};
use support::{glean_command, labeled, program_pid, Tmux};

const KILLS: usize = 20;

#[test]
fn sigkill_while_the_oracle_labels_loses_nothing() {
    let Some(mnist) = mnist_and_tmux() else {
        return;
    };
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
        kill_and_reap(&pid, wait, round);
        (_, known) = reload_keeps_labels(&sessions, "kill", round, shown, &known);
    }
    assert!(
        known.len() >= KILLS,
        "the oracle labeled only {} images over {KILLS} runs",
        known.len()
    );
    eprintln!("{} labels kept over {KILLS} SIGKILLs", known.len());
}
