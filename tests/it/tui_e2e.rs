//! End to end in tmux: run the real binary on `assets/mnist`, label 25 images by keys
//! (the digit the folder names), see a retrain happen and the accuracy chart change,
//! undo one, quit, resume (the same image is next), stop it with SIGTERM (the terminal
//! comes back), and check the session holds 24 labels; resume twice more (the model
//! version rises on new labels only); then a second session in the same folder,
//! started from the first one's network, keeps its own files. Without tmux, see
//! `support::needs`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support;
use support::{glean_command, labeled, model_version, program_pid, Tmux};

/// The item in the image panel's title, e.g. `train/7/train-01234.png`.
fn current_item(screen: &str) -> Option<String> {
    let first = screen.lines().next()?;
    let title = first.strip_prefix("┌ ")?;
    Some(title.split(" ─").next()?.trim().to_string())
}

fn digit_of(item: &str) -> char {
    item.split('/')
        .nth(1)
        .and_then(|d| d.chars().next())
        .expect("train/<digit>/… item")
}

/// The accuracy chart: the right-hand panel's rows from its title down.
fn chart(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("test accuracy vs labels"))
        .unwrap_or(0);
    lines[top..lines.len().saturating_sub(2)]
        .iter()
        .map(|l| l.chars().skip(78).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn label_retrain_undo_quit_resume_in_tmux() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mnist = root.join("assets/mnist");
    if !support::needs("tmux", support::available())
        || !support::needs("assets/mnist", mnist.join("train").is_dir())
    {
        return;
    }
    let dirs = tempfile::tempdir().unwrap();
    let tmux = Tmux {
        socket: format!("glean-e2e-{}", std::process::id()),
    };
    let wait = Duration::from_secs(240);

    let args = format!(
        "label {} --session e2e --device cpu --batch 10",
        mnist.display()
    );
    tmux.start("label", &glean_command(dirs.path(), &args));
    tmux.wait("label", wait, "the cold-start ranking", |s| {
        s.contains("trainer: idle")
    });

    let mut before_round = None;
    for n in 0..25 {
        let screen = tmux.wait("label", wait, "an image to label", |s| {
            labeled(s) == Some(n) && current_item(s).is_some_and(|i| i.starts_with("train/"))
        });
        if n == 10 {
            before_round = Some(chart(&screen));
        }
        let item = current_item(&screen).unwrap();
        tmux.keys("label", &digit_of(&item).to_string());
    }
    let before_round = before_round.unwrap();
    assert!(
        before_round.contains("appears after the first round"),
        "{before_round}"
    );
    // Rounds after 10 and 20 labels: the model version rises and the chart shows them.
    let after_first = tmux.wait("label", wait, "the first retrain", |s| {
        model_version(s) >= 1 && s.contains("now ")
    });
    let first_chart = chart(&after_first);
    assert_ne!(first_chart, before_round);
    let sessions = dirs.path().join("sessions");
    let model = sessions.join("e2e.model.safetensors");
    assert!(model.is_file(), "no {}", model.display());
    assert!(!sessions.join("model.safetensors").exists());
    // The version in the status line and the chart's new point come in separate
    // events: wait for both.
    tmux.wait(
        "label",
        wait,
        "the second retrain to reach the chart",
        |s| model_version(s) >= 2 && labeled(s) == Some(25) && chart(s) != first_chart,
    );

    tmux.keys("label", "u");
    let undone = tmux.wait("label", wait, "the undo", |s| labeled(s) == Some(24));
    let next = current_item(&undone).unwrap();
    tmux.keys("label", "q");
    tmux.wait("label", wait, "glean to exit", |s| {
        s.contains("GLEAN-EXIT=0")
    });

    tmux.start("resume", &glean_command(dirs.path(), "resume --device cpu"));
    let resumed = tmux.wait("resume", wait, "the resumed screen", |s| {
        labeled(s) == Some(24)
    });
    assert_eq!(
        current_item(&resumed).as_deref(),
        Some(next.as_str()),
        "a different next image after resume"
    );
    assert!(
        resumed.contains("now "),
        "the accuracy history is back:\n{resumed}"
    );
    // SIGTERM: glean leaves as on `q`, the terminal restored and everything saved.
    let pid = program_pid(&tmux, "resume").expect("no glean process under the pane's shell");
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let after = tmux.wait("resume", wait, "glean to exit on SIGTERM", |s| {
        s.contains("GLEAN-EXIT=")
    });
    assert!(after.contains("GLEAN-EXIT=0"), "{after}");
    assert!(after.contains("24 of 1000 labeled"), "{after}");
    assert!(
        !after.contains("trainer:"),
        "the labeling screen is still shown:\n{after}"
    );

    let export = Command::new(env!("CARGO_BIN_EXE_glean"))
        .args(["export", "e2e", "--format", "csv"])
        .env("GLEAN_SESSION_DIR", dirs.path().join("sessions"))
        .env("GLEAN_DATA_DIR", dirs.path().join("data"))
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&export.stdout);
    let rows: Vec<&str> = csv.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(
        rows.len(),
        24,
        "export:\n{csv}\n{}",
        String::from_utf8_lossy(&export.stderr)
    );
    // Every label is the digit of its folder: the keys went to the right images.
    for row in rows {
        // item,path,class,class_index,source,round,time
        let fields: Vec<&str> = row.split(',').collect();
        let (item, class) = (fields[0], fields[2]);
        assert_eq!(digit_of(item).to_string(), class, "{row}");
    }

    // A resume ranks the pool with a round on the labels it finds. Labels the last model
    // had not seen make a new model version; the same labels again make none (each
    // resume used to add one).
    let resume_once = |window: &str| {
        tmux.start(
            window,
            &glean_command(dirs.path(), "resume e2e --device cpu"),
        );
        let settled = tmux.wait(window, wait, "the resumed session's round", |s| {
            labeled(s) == Some(24) && s.contains("trainer: idle")
        });
        tmux.keys(window, "q");
        tmux.wait(window, wait, "glean to exit", |s| {
            s.contains("GLEAN-EXIT=0")
        });
        model_version(&settled)
    };
    let on_new_labels = resume_once("resume-2");
    assert!(
        on_new_labels >= 3,
        "24 labels after a round on 20: v{on_new_labels}"
    );
    assert_eq!(resume_once("resume-3"), on_new_labels);

    // A second session in the same folder, its networks started from the first's: the
    // first session's network stays as it was, the second writes its own.
    let first_model = std::fs::read(&model).unwrap();
    let args = format!(
        "label {} --session second --device cpu --batch 10 --oracle --weights {}",
        mnist.display(),
        model.display()
    );
    tmux.start("second", &glean_command(dirs.path(), &args));
    tmux.wait("second", wait, "the second session's first round", |s| {
        model_version(s) >= 1
    });
    tmux.keys("second", "q");
    tmux.wait("second", wait, "the second session to exit", |s| {
        s.contains("GLEAN-EXIT=0")
    });
    assert_eq!(
        std::fs::read(&model).unwrap(),
        first_model,
        "e2e's network changed"
    );
    assert_eq!(
        std::fs::read(sessions.join("second.start-weights.safetensors")).unwrap(),
        first_model,
        "the second session's copy of --weights"
    );
    let second_model = std::fs::read(sessions.join("second.model.safetensors")).unwrap();
    assert_ne!(second_model, first_model);
    assert!(!sessions.join("model.safetensors").exists());
}

/// `assets/mnist`, a temporary home for glean's folders and a tmux server named after
/// `name`; None (the test skips, saying why) without tmux or the sample.
fn mnist_in_tmux(name: &str) -> Option<(PathBuf, tempfile::TempDir, Tmux)> {
    let mnist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
    if !support::needs("tmux", support::available())
        || !support::needs("assets/mnist", mnist.join("train").is_dir())
    {
        return None;
    }
    let tmux = Tmux {
        socket: format!("glean-{name}-{}", std::process::id()),
    };
    Some((mnist, tempfile::tempdir().unwrap(), tmux))
}

/// What follows `marker` on each line of the labeler's log that has it.
fn logged_after(log: &std::path::Path, marker: &str) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(marker).map(|(_, r)| r.to_string()))
        .collect()
}

/// Runs `command` in `window` until the screen satisfies `ready`, then quits with `q`;
/// glean must exit with 0.
fn run_until(tmux: &Tmux, window: &str, command: &str, what: &str, ready: impl Fn(&str) -> bool) {
    let wait = Duration::from_secs(240);
    tmux.start(window, command);
    tmux.wait(window, wait, what, ready);
    tmux.keys(window, "q");
    let end = tmux.wait(window, wait, "glean to exit", |s| s.contains("GLEAN-EXIT="));
    assert!(end.contains("GLEAN-EXIT=0"), "{end}");
}

/// `--embedding` and `--class-prior` reach the learner, are recorded by the session and
/// hold when it is resumed without them; a session made without them gets glean's
/// defaults. The learner's log line names the graphs it was built over.
#[test]
fn graph_settings_given_to_label_hold_on_resume() {
    let Some((mnist, dirs, tmux)) = mnist_in_tmux("graph-settings") else {
        return;
    };
    let log = dirs.path().join("data/logs/glean.log");
    // Until the first ranking is on screen, then `q`.
    let run_once = |window: &str, args: &str| {
        let command = glean_command(dirs.path(), args);
        run_until(&tmux, window, &command, "the first ranking", |s| {
            s.contains("trainer: idle")
        });
    };
    let data = mnist.display();
    run_once(
        "made",
        &format!(
            "label {data} --session emb --device cpu --learner graph --embedding vae --class-prior off"
        ),
    );
    run_once(
        "resumed",
        &format!("label {data} --session emb --device cpu"),
    );
    run_once(
        "plain",
        &format!("label {data} --session plain --device cpu"),
    );

    let vae = "vae (embedding vae, Poisson-MBO off)";
    // 1,300 images are too few for `auto` to train the autoencoder.
    let plain = "deskew-pca (embedding auto, Poisson-MBO auto)";
    assert_eq!(
        logged_after(&log, "graph learner over "),
        [vae, vae, plain],
        "{}",
        log.display()
    );
    let sessions = dirs.path().join("sessions");
    let (emb, _) = glean::session::load(&sessions, "emb").unwrap();
    assert_eq!(
        (
            emb.config().embedding.name(),
            emb.config().class_prior.name()
        ),
        ("vae", "off")
    );
    let (plain, _) = glean::session::load(&sessions, "plain").unwrap();
    assert_eq!(
        (
            plain.config().embedding.name(),
            plain.config().class_prior.name()
        ),
        ("auto", "auto")
    );
}

/// A structure-reading strategy through the labeler: `--strategy cluster-errors
/// --clusters 4 --cluster-pick random` with the auto-oracle ranks by four clusters, the
/// session records the settings, and `resume` ranks the same way without the flags.
#[test]
fn cluster_errors_ranks_in_the_labeler_and_keeps_its_clusters_on_resume() {
    let Some((mnist, dirs, tmux)) = mnist_in_tmux("cluster-errors") else {
        return;
    };
    let log = dirs.path().join("data/logs/glean.log");
    // The batches split between clusters, one line a ranking.
    let splits = || -> Vec<Vec<usize>> {
        logged_after(&log, "picks per cluster ")
            .iter()
            .map(|r| {
                r.trim_matches(|c| c == '[' || c == ']')
                    .split(", ")
                    .map(|n| n.parse().unwrap())
                    .collect()
            })
            .collect()
    };
    let run = |window: &str, args: &str, rounds: u64| {
        let command = format!(
            "env GLEAN_LOG=glean=debug {}",
            glean_command(dirs.path(), args)
        );
        run_until(&tmux, window, &command, "the model's rounds", |s| {
            model_version(s) >= rounds
        });
    };
    run(
        "made",
        &format!(
            "label {} --session ce --device cpu --learner cnn --strategy cluster-errors \
             --clusters 4 --cluster-pick random --oracle",
            mnist.display()
        ),
        2,
    );
    let made = splits();
    assert!(made.len() >= 2, "{made:?} in {}", log.display());
    assert!(
        made.iter()
            .all(|s| s.len() == 4 && s.iter().sum::<usize>() == 10),
        "{made:?}"
    );

    let sessions = dirs.path().join("sessions");
    let (session, _) = glean::session::load(&sessions, "ce").unwrap();
    let config = session.config();
    assert_eq!(config.strategy, glean::learn::Strategy::ClusterErrors);
    assert_eq!(
        config.query,
        glean::learn::QueryOptions {
            clusters: Some(4),
            cluster_pick: glean::learn::ClusterPick::Random,
        }
    );
    assert!(!session.rounds().is_empty());

    // Resumed without the flags: the next ranking still splits four ways.
    let version = session.rounds().len() as u64;
    run("resumed", "resume ce --oracle", version + 1);
    let resumed = splits();
    assert!(resumed.len() > made.len(), "{resumed:?}");
    assert!(resumed.iter().all(|s| s.len() == 4), "{resumed:?}");
}

/// The number of images on the review page, from its header (`… · 60 images the model
/// calls it, …`).
fn page_size(screen: &str) -> Option<usize> {
    let header = screen.lines().find(|l| l.starts_with(" review: "))?;
    // "· 60 images the model calls it, …", or on a page classes share "· 40 images,
    // each over …".
    header.split(" · ").find_map(|part| {
        if part.starts_with("the one image") {
            return Some(1);
        }
        part.split_once(" images")?.0.parse().ok()
    })
}

/// Review in a real terminal: ten labels by keys until the model ranks, then `Tab` to
/// the review grid; two pages confirmed with one correction each (`7` on the second
/// image), the second taken back with `u` (it comes back with its mark), quit; `label
/// --review` resumes on the review screen with the labels of the first page; `export
/// --all` counts by source what was done: the ten and the first page's correction by
/// hand, the rest of that page confirmed, every other image predicted.
#[test]
fn review_pages_confirm_undo_resume_and_export_in_tmux() {
    let Some((mnist, dirs, tmux)) = mnist_in_tmux("review") else {
        return;
    };
    let wait = Duration::from_secs(240);
    let args = format!(
        "label {} --session rev --device cpu --batch 10 --learner graph",
        mnist.display()
    );
    tmux.start("label", &glean_command(dirs.path(), &args));
    tmux.wait("label", wait, "the cold-start ranking", |s| {
        s.contains("trainer: idle")
    });
    // Before a model has ranked, review says what it needs.
    tmux.keys("label", "Tab");
    tmux.wait("label", wait, "the review screen's note", |s| {
        s.contains("Review needs the model's first ranking; label a batch first.")
    });
    tmux.keys("label", "Tab");
    for n in 0..10 {
        let screen = tmux.wait("label", wait, "an image to label", |s| {
            labeled(s) == Some(n) && current_item(s).is_some_and(|i| i.starts_with("train/"))
        });
        let item = current_item(&screen).unwrap();
        tmux.keys("label", &digit_of(&item).to_string());
    }
    tmux.wait("label", wait, "the first model's ranking", |s| {
        model_version(s) >= 1 && s.contains("trainer: idle")
    });

    tmux.keys("label", "Tab");
    let first = tmux.wait("label", wait, "the first page", |s| page_size(s).is_some());
    let first_size = page_size(&first).unwrap();
    // The classes are the folders' digits, each its own key.
    assert!(first.contains(" review: 0 [0] · confidence "), "{first}");
    assert!(first_size > 1, "{first}");
    tmux.keys("label", "Right");
    tmux.keys("label", "7");
    tmux.wait("label", wait, "the mark", |s| s.contains("→7 7"));
    tmux.keys("label", "Enter");
    let second = tmux.wait("label", wait, "the second page", |s| {
        labeled(s) == Some(10 + first_size) && page_size(s).is_some()
    });
    let second_size = page_size(&second).unwrap();
    tmux.keys("label", "Right");
    tmux.keys("label", "7");
    tmux.wait("label", wait, "the second mark", |s| s.contains("1 marked"));
    tmux.keys("label", "Enter");
    tmux.wait("label", wait, "the second page's labels", |s| {
        labeled(s) == Some(10 + first_size + second_size)
    });
    // Undo takes the whole page back, and shows it again with its mark.
    tmux.keys("label", "u");
    let undone = tmux.wait("label", wait, "the undo of the page", |s| {
        labeled(s) == Some(10 + first_size)
    });
    assert_eq!(page_size(&undone), Some(second_size), "{undone}");
    assert!(undone.contains("1 marked"), "{undone}");
    tmux.keys("label", "q");
    let end = tmux.wait("label", wait, "glean to exit", |s| {
        s.contains("GLEAN-EXIT=")
    });
    assert!(end.contains("GLEAN-EXIT=0"), "{end}");
    assert!(
        end.contains(&format!("{} of 1000 labeled", 10 + first_size)),
        "{end}"
    );

    // `label --review` on the existing session: resumed on the review screen, with the
    // labels of the first page, and a new ranking over them.
    let args = format!(
        "label {} --session rev --device cpu --review",
        mnist.display()
    );
    run_until(
        &tmux,
        "resumed",
        &glean_command(dirs.path(), &args),
        "the resumed review screen",
        |s| labeled(s) == Some(10 + first_size) && page_size(s).is_some(),
    );

    let export = Command::new(env!("CARGO_BIN_EXE_glean"))
        .args(["export", "rev", "--all", "--format", "csv"])
        .env("GLEAN_SESSION_DIR", dirs.path().join("sessions"))
        .env("GLEAN_DATA_DIR", dirs.path().join("data"))
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&export.stdout);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let mut by_source = std::collections::BTreeMap::<String, usize>::new();
    for row in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        // item,path,class,class_index,source,prob,time
        let source = row.split(',').nth(4).unwrap_or_default().to_string();
        *by_source.entry(source).or_default() += 1;
    }
    let expected: std::collections::BTreeMap<String, usize> = [
        ("human", 11),
        ("confirmed", first_size - 1),
        ("predicted", 1000 - 10 - first_size),
    ]
    .into_iter()
    .map(|(s, n)| (s.to_string(), n))
    .collect();
    assert_eq!(by_source, expected, "{csv}");
    // The first page's correction is a seven by hand.
    let sevens = csv.lines().filter(|l| l.contains(",7,7,human,")).count();
    assert!(sevens >= 1, "{csv}");
}
