//! `kill -9` during review pages loses no page shown as done, and no page is ever
//! partly on disk: the real binary reviews `assets/mnist` with the auto-oracle in tmux
//! (`--oracle --review`: single labels until the first ranking, then a page confirmed
//! per tick, each one fsync'd journal record), is killed with SIGKILL at random moments
//! once pages are coming, and after each kill the session is reloaded. Every label the
//! screen had counted is there, every label of an earlier reload is still there with
//! the same class, every page in the journal is there whole, and the labels of each
//! page (one round and time) stay together from reload to reload.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use glean::session::{journal_path, LabelRecord, Source};
use rand::{Rng, SeedableRng};

use crate::support;
use support::kill::{kill_and_reap, mnist_and_tmux, reload_keeps_labels};
use support::{glean_command, labeled, program_pid, Tmux};

const KILLS: usize = 8;

/// The labels of one record (a page, or a single label) share its round and time.
type GroupKey = (u32, String);
/// A label as the check compares it: item, class and who gave it (`Confirmed`,
/// `Oracle`).
type Label = (String, u16, String);

/// The review grid is on screen with a page: its header names the page's class.
fn reviewing(screen: &str) -> bool {
    screen.lines().any(|l| l.starts_with(" review: "))
}

/// The labels by round and time: each page's (its confirmed labels and the auto-
/// oracle's corrections given with them) are one group, each single label one more.
fn groups(labels: &[LabelRecord]) -> BTreeMap<GroupKey, BTreeSet<Label>> {
    let mut groups: BTreeMap<GroupKey, BTreeSet<Label>> = BTreeMap::new();
    for l in labels {
        groups
            .entry((l.round, l.time.to_rfc3339()))
            .or_default()
            .insert((l.item.clone(), l.class, format!("{:?}", l.source)));
    }
    groups
}

/// Whether a group is a page (it holds a confirmed label).
fn is_page(group: &BTreeSet<Label>) -> bool {
    let confirmed = format!("{:?}", Source::Confirmed);
    group.iter().any(|(_, _, source)| *source == confirmed)
}

/// The pages of the journal's intact records (a torn last line is left out, as a load
/// leaves it out): each page's labels, confirmed and corrected.
fn journal_pages(path: &Path) -> Vec<BTreeSet<Label>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((_, json)) = line.split_once(' ') else {
            continue;
        };
        let Ok(record) = serde_json::from_str::<serde_json::Value>(json) else {
            continue;
        };
        let Some(page) = record["op"].get("page") else {
            continue;
        };
        let class = page["class"].as_u64().unwrap() as u16;
        let confirmed = format!("{:?}", Source::Confirmed);
        let mut labels: BTreeSet<Label> = page["confirmed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| (item.as_str().unwrap().to_string(), class, confirmed.clone()))
            .collect();
        let source = page["source"].as_str().unwrap().to_string();
        for pair in page["corrected"].as_array().into_iter().flatten() {
            labels.insert((
                pair[0].as_str().unwrap().to_string(),
                pair[1].as_u64().unwrap() as u16,
                source.clone(),
            ));
        }
        out.push(labels);
    }
    out
}

#[test]
fn sigkill_during_page_confirms_loses_no_page() {
    let Some(mnist) = mnist_and_tmux() else {
        return;
    };
    let dirs = tempfile::tempdir().unwrap();
    let sessions = dirs.path().join("sessions");
    let tmux = Tmux {
        socket: format!("glean-killp-{}", std::process::id()),
    };
    let wait = Duration::from_secs(120);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let args = format!(
        "label {} --session killp --device cpu --batch 10 --oracle --review",
        mnist.display()
    );

    let mut known: HashMap<String, u16> = HashMap::new();
    let mut known_groups: BTreeMap<GroupKey, BTreeSet<Label>> = BTreeMap::new();
    let mut during_pages = 0;
    for round in 0..KILLS {
        let window = format!("run{round}");
        // 120×18: pages of 20 (two rows of ten), so the pool lasts every run; the
        // status line with the labeled count still fits.
        tmux.start_sized(&window, &glean_command(dirs.path(), &args), 120, 18);
        // Up, past the labels of the last run, and confirming pages.
        let started = tmux.try_wait(&window, wait, |s| {
            reviewing(s) && labeled(s).is_some_and(|n| n >= known.len())
        });
        if let Err(report) = started {
            let log = std::fs::read_to_string(dirs.path().join("data/logs/glean.log"));
            panic!("run {round} did not reach the review pages; {report}\nlog: {log:?}");
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(50..1200)));
        let screen = tmux.screen(&window);
        let shown = labeled(&screen).expect("the labeled count");
        let pid = program_pid(&tmux, &window).expect("glean's pid");
        kill_and_reap(&pid, wait, round);

        let in_journal = journal_pages(&journal_path(&sessions, "killp"));
        let (session, labels) = reload_keeps_labels(&sessions, "killp", round, shown, &known);
        // Every page the journal holds is in the session whole, as one group (one
        // round and time) of exactly its labels.
        let now_groups = groups(session.labels());
        for page in &in_journal {
            for (item, class, _) in page {
                assert_eq!(
                    labels.get(item),
                    Some(class),
                    "kill {round}: {item} of a journaled page is missing"
                );
            }
            assert!(
                now_groups.values().any(|group| group == page),
                "kill {round}: a journaled page of {} labels is not one group: {page:?}",
                page.len()
            );
        }
        // A page (or single label) of an earlier reload has neither lost nor gained a
        // label.
        for (key, group) in &known_groups {
            assert_eq!(
                now_groups.get(key),
                Some(group),
                "kill {round}: the labels given at {key:?} changed"
            );
        }
        let page_count = |groups: &BTreeMap<GroupKey, BTreeSet<Label>>| {
            groups.values().filter(|g| is_page(g)).count()
        };
        if reviewing(&screen) && page_count(&now_groups) > page_count(&known_groups) {
            during_pages += 1;
        }
        known = labels;
        known_groups = now_groups;
    }
    let pages: Vec<&BTreeSet<Label>> = known_groups.values().filter(|g| is_page(g)).collect();
    let on_pages: usize = pages.iter().map(|g| g.len()).sum();
    assert!(!pages.is_empty(), "no page was confirmed over {KILLS} runs");
    assert!(
        during_pages >= KILLS / 2,
        "only {during_pages} of {KILLS} kills came while pages were confirmed"
    );
    eprintln!(
        "{} labels ({} pages, {on_pages} labels on pages) kept over {KILLS} SIGKILLs, \
         {during_pages} of them during page confirms",
        known.len(),
        pages.len()
    );
}
