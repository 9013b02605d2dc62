//! Key handling and trainer events, by calling the app with events.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use glean_core::{RoundTimes, Strategy};
use glean_tui::TopClasses;
use glean_tui::{
    App, AppConfig, ClassProb, ClassView, Corrected, Effect, Guesses, ItemView, Keymap,
    LabelRecord, Mark, Mode, Overlay, RankedItem, Ranking, RankingSource, Restored, Suspect,
    TrainerEvent, TrainerStatus,
};

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn digits_config(pool: usize, batch: usize) -> AppConfig {
    AppConfig {
        classes: (0..10)
            .map(|d| ClassView {
                name: format!("digit{d}"),
                key: char::from_digit(d, 10),
            })
            .collect(),
        items: (0..pool)
            .map(|i| ItemView {
                name: format!("{i}.png"),
                oracle: Some((i % 10) as u16),
            })
            .collect(),
        batch,
        strategy: "random".into(),
        initial_order: (0..pool).collect(),
        auto_interval: Duration::from_millis(300),
        has_test_split: true,
        keymap: Keymap::default(),
    }
}

fn app(pool: usize, batch: usize) -> App {
    App::new(digits_config(pool, batch), Restored::default())
}

/// A final margin ranking by `source`, learned from `labels` labels, of `items`.
fn ranked(source: RankingSource, labels: usize, items: Vec<RankedItem>) -> TrainerEvent {
    TrainerEvent::Ranked {
        ranking: Ranking {
            job: 1,
            strategy: Strategy::Margin,
            source,
            items,
        },
        labels,
        preliminary: false,
    }
}

/// Job `job` done on `labels` labels, making model version `model` in `seconds`.
fn round_done(job: u64, model: u64, labels: usize, seconds: f64) -> TrainerEvent {
    TrainerEvent::RoundDone {
        job,
        labels,
        model,
        trained: true,
        accuracy: None,
        times: RoundTimes {
            total: seconds,
            ..RoundTimes::default()
        },
    }
}

/// The network's margin ranking of `items` on 1 label, each guessed 3 then 5.
fn ranking(items: &[usize]) -> TrainerEvent {
    ranked(
        RankingSource::Model,
        1,
        items
            .iter()
            .map(|&pool_index| RankedItem {
                pool_index,
                score: 0.5,
                top: TopClasses::from_iter([
                    ClassProb {
                        class: 3,
                        prob: 0.6,
                    },
                    ClassProb {
                        class: 5,
                        prob: 0.3,
                    },
                ]),
                audit: false,
            })
            .collect(),
    )
}

#[test]
fn a_digit_labels_the_current_item_and_shows_the_next() {
    let mut app = app(20, 5);
    assert_eq!(app.current(), Some(0));
    assert_eq!(
        app.on_key(key('7')),
        vec![Effect::Label {
            item: 0,
            class: 7,
            oracle: false,
            guessed: Guesses::default(),
            audit: false,
        }]
    );
    assert_eq!(app.current(), Some(1));
    assert_eq!(app.label_of(0), Some(7));
    assert_eq!(app.labeled(), 1);
    assert_eq!(app.per_class()[7], 1);
}

#[test]
fn releases_and_repeats_are_ignored() {
    let mut app = app(5, 5);
    let mut release = key('1');
    release.kind = KeyEventKind::Release;
    assert!(app.on_key(release).is_empty());
    let repeat = KeyEvent::new_with_kind_and_state(
        KeyCode::Char('1'),
        KeyModifiers::NONE,
        KeyEventKind::Repeat,
        KeyEventState::NONE,
    );
    assert!(app.on_key(repeat).is_empty());
    assert_eq!(app.labeled(), 0);
}

#[test]
fn a_full_batch_asks_for_a_retrain() {
    let mut app = app(20, 3);
    app.on_key(key('1'));
    app.on_key(key('2'));
    assert_eq!(app.labels_since_round(), 2);
    let effects = app.on_key(key('3'));
    assert_eq!(
        effects,
        vec![
            Effect::Label {
                item: 2,
                class: 3,
                oracle: false,
                guessed: Guesses::default(),
                audit: false,
            },
            Effect::Retrain
        ]
    );
    assert_eq!(app.labels_since_round(), 0);
}

#[test]
fn undo_goes_back_again_and_again_across_batches() {
    let mut app = app(20, 2);
    for c in ['1', '2', '3'] {
        app.on_key(key(c));
    }
    assert_eq!(app.current(), Some(3));
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo { item: 2, class: 3 }]
    );
    assert_eq!(app.current(), Some(2));
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo { item: 1, class: 2 }]
    );
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo { item: 0, class: 1 }]
    );
    assert_eq!(app.current(), Some(0));
    assert_eq!(app.labeled(), 0);
    assert!(app.per_class().iter().all(|&n| n == 0));
    assert!(app.on_key(key('u')).is_empty());
    assert_eq!(app.message.as_deref(), Some("nothing to undo"));
    // the queue still holds every item exactly once
    assert_eq!(app.queue_len(), 20);
}

#[test]
fn skip_moves_the_item_to_the_back() {
    let mut app = app(3, 5);
    assert_eq!(app.on_key(key('s')), vec![Effect::Skip { item: 0 }]);
    assert_eq!(app.current(), Some(1));
    app.on_key(key('4'));
    app.on_key(key('4'));
    assert_eq!(app.current(), Some(0));
    app.on_key(key('4'));
    assert_eq!(app.current(), None);
    assert!(app.on_key(key('4')).is_empty());
    assert_eq!(app.message.as_deref(), Some("every item is labeled"));
}

#[test]
fn quit_keys_and_ctrl_c() {
    for event in [
        key('q'),
        code(KeyCode::Esc),
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
    ] {
        let mut app = app(3, 5);
        assert_eq!(app.on_key(event), vec![Effect::Quit]);
        assert!(app.quit);
    }
    // Ctrl-C quits even from the picker
    let mut app = app(3, 5);
    app.on_key(key('/'));
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        vec![Effect::Quit]
    );
}

#[test]
fn help_opens_and_any_key_closes_it_without_acting() {
    let mut app = app(3, 5);
    app.on_key(key('?'));
    assert_eq!(app.overlay, Overlay::Help);
    assert!(app.on_key(key('q')).is_empty());
    assert_eq!(app.overlay, Overlay::None);
    assert!(!app.quit);
    assert_eq!(app.labeled(), 0);
}

#[test]
fn picker_filters_and_labels_with_enter() {
    let mut app = app(5, 5);
    app.on_key(key('/'));
    // letters that are commands elsewhere type into the filter
    app.on_key(key('a'));
    app.on_key(code(KeyCode::Backspace));
    assert!(!app.auto);
    for c in "git7".chars() {
        app.on_key(key(c));
    }
    let Overlay::Picker(picker) = &app.overlay else {
        panic!("picker closed")
    };
    assert_eq!(picker.filter, "git7");
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        vec![Effect::Label {
            item: 0,
            class: 7,
            oracle: false,
            guessed: Guesses::default(),
            audit: false,
        }]
    );
    assert_eq!(app.overlay, Overlay::None);
    // Esc closes without labeling; Enter with no match does nothing
    app.on_key(key('/'));
    app.on_key(key('z'));
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.overlay, Overlay::None);
    assert!(!app.quit);
    // arrows move through the matches
    app.on_key(key('/'));
    app.on_key(code(KeyCode::Down));
    app.on_key(code(KeyCode::Down));
    app.on_key(code(KeyCode::Up));
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        vec![Effect::Label {
            item: 1,
            class: 1,
            oracle: false,
            guessed: Guesses::default(),
            audit: false,
        }]
    );
}

#[test]
fn class_keys_that_are_commands_or_duplicates_are_dropped() {
    let mut config = digits_config(3, 5);
    config.classes = vec![
        ClassView {
            name: "sheep".into(),
            key: Some('s'),
        },
        ClassView {
            name: "dog".into(),
            key: Some('d'),
        },
        ClassView {
            name: "deer".into(),
            key: Some('d'),
        },
        ClassView {
            name: "cat".into(),
            key: Some('C'),
        },
    ];
    let mut app = App::new(config, Restored::default());
    let keys: Vec<Option<char>> = app.classes.iter().map(|c| c.key).collect();
    assert_eq!(keys, vec![None, Some('d'), None, Some('C')]);
    assert_eq!(app.on_key(key('s')), vec![Effect::Skip { item: 0 }]);
    // letter keys match regardless of case
    assert_eq!(
        app.on_key(key('c')),
        vec![Effect::Label {
            item: 1,
            class: 3,
            oracle: false,
            guessed: Guesses::default(),
            audit: false,
        }]
    );
    assert!(app.on_key(key('x')).is_empty());
    assert_eq!(app.message.as_deref(), Some("no class on key x"));
}

#[test]
fn a_ranking_reorders_the_queue_but_keeps_the_image_on_screen() {
    let mut app = app(10, 5);
    app.on_key(key('1')); // item 0
    app.on_key(key('s')); // item 1 skipped
    assert_eq!(app.current(), Some(2));
    app.on_trainer(ranking(&[9, 0, 1, 8, 2]));
    // 2 stays on screen; 9 and 8 come next; labeled 0 is gone; skipped 1 goes last
    let order: Vec<usize> = std::iter::once(app.current().unwrap())
        .chain(app.upcoming(20))
        .collect();
    assert_eq!(order, vec![2, 9, 8, 3, 4, 5, 6, 7, 1]);
    assert_eq!(app.strategy, "margin");
    app.on_key(key('2'));
    let ranked = app.current_ranking().expect("9 was ranked");
    assert_eq!(ranked.pool_index, 9);
    assert_eq!(ranked.top[0].class, 3);
}

#[test]
fn trainer_events_drive_the_status() {
    let mut app = app(10, 5);
    assert_eq!(app.trainer, TrainerStatus::Starting);
    app.on_trainer(TrainerEvent::Preparing {
        what: "backbone features",
        done: 64,
        total: 118,
        per_second: Some(12.5),
    });
    assert_eq!(
        app.trainer,
        TrainerStatus::Preparing {
            what: "backbone features".into(),
            done: 64,
            total: 118,
            per_second: Some(12.5),
        }
    );
    app.on_trainer(TrainerEvent::Ready {
        device: "cpu".into(),
        learner: "cnn".into(),
        network: "cnn".into(),
    });
    assert_eq!(app.trainer, TrainerStatus::Starting);
    assert_eq!(app.device.as_deref(), Some("cpu"));
    app.on_trainer(TrainerEvent::RoundStarted { job: 1, labels: 5 });
    app.on_trainer(TrainerEvent::Progress {
        job: 1,
        step: 2,
        steps: 8,
        loss: 0.5,
    });
    assert_eq!(
        app.trainer,
        TrainerStatus::Training {
            step: 2,
            steps: 8,
            loss: Some(0.5)
        }
    );
    app.on_trainer(TrainerEvent::Scoring { job: 1 });
    assert_eq!(app.trainer, TrainerStatus::Scoring);
    app.on_trainer(TrainerEvent::Evaluated {
        job: 1,
        labels: 5,
        accuracy: 0.4,
    });
    app.on_trainer(round_done(1, 1, 5, 1.5));
    assert_eq!(app.trainer, TrainerStatus::Idle);
    assert_eq!(app.model_version, 1);
    assert_eq!(app.accuracy, vec![(5, 0.4)]);
    app.on_trainer(TrainerEvent::Error {
        job: Some(2),
        message: "out of memory".into(),
    });
    assert_eq!(app.last_error.as_deref(), Some("out of memory"));
    app.on_trainer(TrainerEvent::Evaluated {
        job: 3,
        labels: 10,
        accuracy: 0.7,
    });
    app.on_trainer(TrainerEvent::Evaluated {
        job: 4,
        labels: 5,
        accuracy: 0.45,
    });
    assert_eq!(app.accuracy, vec![(5, 0.45), (10, 0.7)]);
}

#[test]
fn auto_oracle_labels_at_its_pace_and_stops_on_a_key() {
    let mut app = app(10, 100);
    app.on_key(key('a'));
    assert!(app.auto);
    assert_eq!(
        app.on_tick(Duration::from_millis(100)),
        vec![Effect::Label {
            item: 0,
            class: 0,
            oracle: true,
            guessed: Guesses::default(),
            audit: false,
        }]
    );
    assert!(app.on_tick(Duration::from_millis(200)).is_empty());
    assert_eq!(
        app.on_tick(Duration::from_millis(400)),
        vec![Effect::Label {
            item: 1,
            class: 1,
            oracle: true,
            guessed: Guesses::default(),
            audit: false,
        }]
    );
    app.on_key(key('a'));
    assert!(!app.auto);
    assert!(app.on_tick(Duration::from_millis(2000)).is_empty());
    assert_eq!(app.labeled(), 2);
}

#[test]
fn auto_oracle_refuses_without_names_and_stops_at_an_unknown_item() {
    let mut config = digits_config(3, 5);
    config.items.iter_mut().for_each(|i| i.oracle = None);
    let mut app = App::new(config, Restored::default());
    app.on_key(key('a'));
    assert!(!app.auto);
    let mut config = digits_config(3, 5);
    config.items[1].oracle = None;
    let mut app = App::new(config, Restored::default());
    app.on_key(key('a'));
    app.on_tick(Duration::from_secs(1));
    assert!(app.on_tick(Duration::from_secs(2)).is_empty());
    assert!(!app.auto);
    assert!(app.message.as_deref().unwrap().contains("1.png"));
}

#[test]
fn resume_restores_labels_skips_and_undo_history() {
    let restored = Restored {
        labels: vec![
            LabelRecord {
                corrected: None,
                item: 4,
                class: 4,
                guessed: Guesses::default(),
                page: None,
                audit: false,
            },
            LabelRecord {
                corrected: None,
                item: 0,
                class: 9,
                guessed: Guesses::default(),
                page: None,
                audit: false,
            },
        ],
        skipped: vec![1],
        accuracy: vec![(2, 0.3)],
        model_version: 1,
    };
    let mut app = App::new(digits_config(6, 5), restored);
    assert_eq!(app.labeled(), 2);
    let order: Vec<usize> = std::iter::once(app.current().unwrap())
        .chain(app.upcoming(10))
        .collect();
    assert_eq!(order, vec![2, 3, 5, 1]);
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo { item: 0, class: 9 }]
    );
    assert_eq!(app.current(), Some(0));
    assert_eq!(app.model_version, 1);
}

fn probs(classes: &[u16]) -> Vec<ClassProb> {
    classes
        .iter()
        .enumerate()
        .map(|(rank, &class)| ClassProb {
            class,
            prob: 0.6 / (rank + 1) as f32,
        })
        .collect()
}

#[test]
fn enter_takes_the_backbones_first_guess_before_any_model() {
    let mut app = app(10, 5);
    let effects = app.on_key(code(KeyCode::Enter));
    assert!(effects.is_empty(), "no guess yet");
    assert!(app.message.as_deref().unwrap().contains("no guess"));
    app.on_trainer(TrainerEvent::Suggested {
        items: vec![(0, probs(&[4, 2, 9])), (1, probs(&[1]))],
    });
    let (source, top) = app.current_guesses().unwrap();
    assert_eq!(source, glean_tui::guess::GuessSource::ZeroShot);
    assert_eq!(top[0].class, 4);
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        vec![Effect::Label {
            item: 0,
            class: 4,
            oracle: false,
            guessed: Guesses {
                model: None,
                zero_shot: Some(4)
            },
            audit: false,
        }]
    );
    // With ten classes on keys, 1 is a class key, not a guess key.
    assert_eq!(app.on_key(key('2')).len(), 1);
    assert_eq!(app.label_of(1), Some(2));
}

fn breeds_app(pool: usize) -> App {
    App::new(
        AppConfig {
            classes: (0..40)
                .map(|i| ClassView {
                    name: format!("breed{i:02}"),
                    key: None,
                })
                .collect(),
            items: (0..pool)
                .map(|i| ItemView {
                    name: format!("{i}.jpg"),
                    oracle: Some((i % 40) as u16),
                })
                .collect(),
            batch: 10,
            strategy: "margin".into(),
            initial_order: (0..pool).collect(),
            auto_interval: Duration::from_millis(300),
            has_test_split: false,
            keymap: Keymap::default(),
        },
        Restored::default(),
    )
}

#[test]
fn with_more_classes_than_keys_the_keys_take_the_guesses() {
    let mut app = breeds_app(5);
    assert!(app.many_classes);
    assert!(app.classes.iter().all(|c| c.key.is_none()));
    app.on_trainer(TrainerEvent::Suggested {
        items: vec![(0, probs(&[17, 3, 25])), (1, probs(&[8, 9]))],
    });
    let effects = app.on_key(key('3'));
    assert_eq!(app.label_of(0), Some(25), "{effects:?}");
    // Item 1 has two guesses: a third is refused with a note.
    assert!(app.on_key(key('3')).is_empty());
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("no guess number 3"));
    app.on_key(key('2'));
    assert_eq!(app.label_of(1), Some(9));
    // The picker opens on the guesses (none for item 2: then in name order).
    app.on_trainer(TrainerEvent::Suggested {
        items: vec![(2, probs(&[30, 5]))],
    });
    app.on_key(key('/'));
    let Overlay::Picker(picker) = &app.overlay else {
        panic!("no picker")
    };
    assert_eq!(&picker.matches(&app.classes)[..3], &[30, 5, 0]);
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.label_of(2), Some(30));
}

#[test]
fn images_that_do_not_decode_leave_the_queue() {
    let mut app = app(6, 5);
    assert_eq!(app.current(), Some(0));
    app.on_trainer(TrainerEvent::Unusable {
        items: vec![
            (0, "truncated or corrupt".into()),
            (3, "truncated or corrupt".into()),
        ],
    });
    assert_eq!(app.current(), Some(1));
    assert_eq!(app.queue_len(), 4);
    assert_eq!(app.unusable_count(), 2);
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("2 images could not be decoded"));
    // A later ranking cannot bring them back.
    app.on_trainer(ranking(&[3, 0, 5, 4]));
    assert_eq!(app.current(), Some(1));
    let mut shown = Vec::new();
    while let Some(item) = app.current() {
        shown.push(item);
        app.on_key(key('1'));
    }
    assert_eq!(shown, vec![1, 5, 4, 2]);
}

/// The zero-shot suggestions stand in until the first ranking; from then the
/// ranking's guesses (which, with a backbone that names the classes, already refine
/// the suggestions) are shown, and the chart judges each label by what was shown.
#[test]
fn the_rankings_guesses_replace_the_suggestions() {
    let mut app = breeds_app(40);
    // Zero-shot always guesses class 0; the model, from its ranking, the right class.
    let suggested = (0..40).map(|i| (i, probs(&[0]))).collect();
    app.on_trainer(TrainerEvent::Suggested { items: suggested });
    for _ in 0..5 {
        let item = app.current().unwrap();
        let (source, top) = app.current_guesses().unwrap();
        assert_eq!(source.describe(), "ImageNet guess");
        assert_eq!(top[0].class, 0);
        app.label_current((item % 40) as u16);
    }
    let rest: Vec<usize> = (0..40).filter(|&i| app.label_of(i).is_none()).collect();
    app.on_trainer(ranked(
        RankingSource::Graph,
        1,
        rest.iter()
            .map(|&item| RankedItem {
                pool_index: item,
                score: 0.5,
                top: probs(&[(item % 40) as u16]).into_iter().collect(),
                audit: false,
            })
            .collect(),
    ));
    for _ in 0..5 {
        let item = app.current().unwrap();
        let (source, top) = app.current_guesses().unwrap();
        assert_eq!(source.describe(), "model");
        assert_eq!(top[0].class, (item % 40) as u16);
        app.label_current((item % 40) as u16);
    }
    // Of the first five, only an item of class 0 was guessed right by the
    // suggestions; the ranking's five were all right.
    let first_right = app.history()[..5].iter().filter(|r| r.class == 0).count();
    let chart = app.label_accuracy();
    assert_eq!(chart, vec![(10, (5 + first_right) as f64 / 10.0)]);
}

/// A user's keymap moves commands to other keys; a class key it takes goes to the
/// picker, and the auto-oracle labels through the same actions as the keys.
#[test]
fn a_users_keymap_moves_the_commands() {
    let mut config = digits_config(20, 5);
    config.keymap = Keymap::from_ron(r#"{ undo: ["z", "Backspace"], skip: ["7"] }"#).unwrap();
    let mut app = App::new(config, Restored::default());
    assert_eq!(app.classes[7].key, None, "7 is the skip key now");
    let label = |item, class| Effect::Label {
        item,
        class,
        oracle: false,
        guessed: Guesses::default(),
        audit: false,
    };
    assert_eq!(app.on_key(key('3')), vec![label(0, 3)]);
    assert_eq!(app.on_key(key('7')), vec![Effect::Skip { item: 1 }]);
    assert_eq!(
        app.on_key(key('z')),
        vec![Effect::Undo { item: 0, class: 3 }]
    );
    // `u` is free: no command and no class.
    assert!(app.on_key(key('u')).is_empty());
    assert_eq!(app.message.as_deref(), Some("no class on key u"));
    assert_eq!(app.on_key(key('4')), vec![label(0, 4)]);
    assert_eq!(
        app.on_key(code(KeyCode::Backspace)),
        vec![Effect::Undo { item: 0, class: 4 }]
    );
    // The auto-oracle's label is the same action, from the file name.
    app.on_key(key('a'));
    let effects = app.on_tick(Duration::from_secs(1));
    assert_eq!(
        effects.first(),
        Some(&Effect::Label {
            item: 0,
            class: 0,
            oracle: true,
            guessed: Guesses::default(),
            audit: false,
        })
    );
}

// Review mode: pages of the items the latest ranking assigns to one class.

fn tab() -> KeyEvent {
    code(KeyCode::Tab)
}

/// A ranking that predicts `class_of(item)` with `prob_of(item)` for every item of
/// `items`.
fn predicting(
    items: impl IntoIterator<Item = usize>,
    class_of: impl Fn(usize) -> u16,
    prob_of: impl Fn(usize) -> f32,
) -> TrainerEvent {
    ranked(
        RankingSource::Graph,
        10,
        items
            .into_iter()
            .map(|item| RankedItem {
                pool_index: item,
                score: 0.1,
                top: TopClasses::from_iter([
                    ClassProb {
                        class: class_of(item),
                        prob: prob_of(item),
                    },
                    ClassProb {
                        class: (class_of(item) + 1) % 10,
                        prob: 1.0 - prob_of(item),
                    },
                ]),
                audit: false,
            })
            .collect(),
    )
}

/// 40 items; item i predicted as class i % 4 with a probability falling with i (items
/// 20 and 24 tie); a 2×2 review grid.
fn review_app(batch: usize) -> App {
    let mut app = app(40, batch);
    app.on_trainer(predicting(
        0..40,
        |i| (i % 4) as u16,
        |i| if i == 24 { 0.6 } else { 1.0 - i as f32 / 100.0 },
    ));
    app.on_trainer(round_done(1, 1, 10, 1.0));
    app.set_review_grid(2, 2);
    app
}

fn page_items(app: &App) -> Vec<usize> {
    app.page().map(|p| p.items.clone()).unwrap_or_default()
}

#[test]
fn a_review_page_holds_only_its_class_surest_first() {
    let mut app = review_app(100);
    // Item 0 labeled, item 1 skipped, item 8 undecodable: none of them on a page.
    app.on_key(key('0'));
    app.on_key(key('s'));
    app.on_trainer(TrainerEvent::Unusable {
        items: vec![(8, "corrupt".into())],
    });
    assert_eq!(app.mode(), Mode::Single);
    assert!(app.on_key(tab()).is_empty());
    assert_eq!(app.mode(), Mode::Review);
    let page = app.page().unwrap();
    assert_eq!(page.class, 0);
    // Class 0 is items 0, 4, 8, …, surer the lower, but for item 24.
    assert_eq!(page.items, [4, 12, 16, 20]);
    let prob = |i: usize| 1.0 - i as f32 / 100.0;
    assert_eq!(page.probs, [4, 12, 16, 20].map(prob));
    assert_eq!(page.confidence_range(), Some((prob(4), prob(20))));
    // A bigger grid: the page fills up, surest first, item 24 last.
    app.set_review_grid(5, 2);
    assert_eq!(page_items(&app), [4, 12, 16, 20, 28, 32, 36, 24]);
    // Ties keep pool order.
    let mut tied = app_with_ties();
    tied.on_key(tab());
    assert_eq!(page_items(&tied), [3, 5, 9, 1]);
    // The next class, and back.
    app.on_key(code(KeyCode::Char(']')));
    assert_eq!(app.page().unwrap().class, 1);
    assert_eq!(page_items(&app), [5, 9, 13, 17, 21, 25, 29, 33, 37]);
    app.on_key(code(KeyCode::PageUp));
    assert_eq!(app.page().unwrap().class, 0);
    app.on_key(tab());
    assert_eq!(app.mode(), Mode::Single);
}

/// Items 1, 3, 5, 9 predicted as class 0; 3, 5 and 9 at the same probability.
fn app_with_ties() -> App {
    let mut app = app(12, 100);
    app.on_trainer(predicting(
        [1, 3, 5, 9],
        |_| 0,
        |i| if i == 1 { 0.5 } else { 0.9 },
    ));
    app
}

#[test]
fn marks_and_corrections_make_one_confirm_page_effect() {
    let mut app = review_app(100);
    app.on_key(tab());
    assert_eq!(page_items(&app), [0, 4, 8, 12]);
    // Cell 1 (item 4) is a 7; cell 2 (item 8) is not a 0 (no class given); cell 3
    // (item 12) marked 7 and taken back with the page's own class.
    app.on_key(code(KeyCode::Right));
    assert!(app.on_key(key('7')).is_empty());
    app.on_key(code(KeyCode::Down));
    app.on_key(code(KeyCode::Left));
    assert_eq!(app.page().unwrap().cursor, 2);
    app.on_key(key(' '));
    app.on_key(code(KeyCode::Right));
    app.on_key(key('7'));
    app.on_key(key('0'));
    let page = app.page().unwrap();
    assert_eq!(
        page.marks,
        [None, Some(Mark::Class(7)), Some(Mark::NotThis), None]
    );
    assert_eq!(page.marked(), 2);
    let effects = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::ConfirmPage {
            confirmed: vec![(0, 0), (12, 0)],
            corrected: vec![(4, 7)],
            oracle: false,
        }]
    );
    assert_eq!(app.labeled(), 3);
    assert_eq!(
        (app.label_of(0), app.label_of(4), app.label_of(12)),
        (Some(0), Some(7), Some(0))
    );
    assert_eq!(app.label_of(8), None, "not this class: stays unlabeled");
    assert_eq!((app.per_class()[0], app.per_class()[7]), (2, 1));
    assert_eq!(app.labels_since_round(), 3);
    // The next page of class 0 leaves out the labeled items and the one marked not 0.
    assert_eq!(app.page().unwrap().class, 0);
    assert_eq!(page_items(&app), [16, 20, 28, 32]);
    // Item 8 still waits in the single labeler's queue; the labeled ones do not.
    assert_eq!(app.queue_len(), 37);
}

#[test]
fn undo_after_a_page_takes_back_the_whole_page() {
    let mut app = review_app(100);
    app.on_key(tab());
    app.on_key(code(KeyCode::Right));
    app.on_key(key('7'));
    app.on_key(code(KeyCode::Right));
    app.on_key(key(' '));
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.labeled(), 3);
    assert_eq!(app.queue_len(), 37);
    let effects = app.on_key(key('u'));
    assert_eq!(
        effects,
        vec![Effect::UndoPage {
            items: vec![0, 12, 4]
        }]
    );
    assert_eq!(app.labeled(), 0);
    assert!(app.per_class().iter().all(|&n| n == 0));
    assert_eq!(app.labels_since_round(), 0);
    // Back in the pool, and the page is back as it was, marks and all.
    assert_eq!(app.queue_len(), 40);
    let page = app.page().unwrap();
    assert_eq!(page.items, [0, 4, 8, 12]);
    assert_eq!(
        page.marks,
        [None, Some(Mark::Class(7)), Some(Mark::NotThis), None]
    );
    assert!(app.on_key(key('u')).is_empty());
    assert_eq!(app.message.as_deref(), Some("nothing to undo"));

    // In single mode too, a page is undone as one, after the single label that came
    // after it.
    app.on_key(code(KeyCode::Enter));
    app.on_key(tab());
    let single = app.current().unwrap();
    app.on_key(key('3'));
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo {
            item: single,
            class: 3
        }]
    );
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::UndoPage {
            items: vec![0, 12, 4]
        }]
    );
    assert_eq!(app.labeled(), 0);
    assert_eq!(app.queue_len(), 40);
    // The page waits for the way back to review.
    app.on_key(tab());
    assert_eq!(page_items(&app), [0, 4, 8, 12]);
}

#[test]
fn the_next_page_leaves_out_labeled_items_and_moves_on_when_a_class_is_done() {
    let mut app = review_app(100);
    app.set_review_grid(4, 2);
    // Items 0..4 of class 3 (3, 7, …, 39) labeled one by one first.
    let mut labeled = Vec::new();
    while labeled.len() < 4 {
        let item = app.current().unwrap();
        if item % 4 == 3 {
            app.on_key(key('3'));
            labeled.push(item);
        } else {
            app.on_key(key('s'));
        }
    }
    // Items 0..=14 not labeled were skipped: they stay off the pages.
    assert_eq!(labeled, [3, 7, 11, 15]);
    app.on_key(tab());
    assert_eq!(page_items(&app), [16, 20, 28, 32, 36, 24]);
    // Class 3 has 6 unlabeled items left, one page.
    while app.page().unwrap().class != 3 {
        app.on_key(code(KeyCode::Char(']')));
    }
    let class_three = page_items(&app);
    assert_eq!(class_three.len(), 6);
    assert!(class_three
        .iter()
        .all(|i| !labeled.contains(i) && i % 4 == 3));
    app.on_key(code(KeyCode::Enter));
    // Class 3 is done: the next class with images is 0 (wrapping).
    assert_eq!(app.page().unwrap().class, 0);
    assert_eq!(page_items(&app), [16, 20, 28, 32, 36, 24]);
    // Classes 0, 1 and 2 remain, a page each; confirming them all ends review.
    for _ in 0..20 {
        if app.page().is_none() {
            break;
        }
        app.on_key(code(KeyCode::Enter));
    }
    assert!(app.page().is_none());
    assert_eq!(
        app.message.as_deref(),
        Some("every image the model assigns to a class is reviewed")
    );
}

#[test]
fn a_page_that_fills_the_batch_asks_for_a_retrain() {
    let mut app = review_app(3);
    app.on_key(key('5'));
    app.on_key(tab());
    let effects = app.on_key(code(KeyCode::Enter));
    assert_eq!(effects.len(), 2, "{effects:?}");
    assert!(matches!(effects[0], Effect::ConfirmPage { .. }));
    assert_eq!(effects[1], Effect::Retrain);
    assert_eq!(app.labels_since_round(), 0);
    assert!(matches!(app.trainer, TrainerStatus::Training { .. }));
    // One label short of a batch: no round.
    let mut app = review_app(6);
    app.on_key(key('5'));
    app.on_key(tab());
    let effects = app.on_key(code(KeyCode::Enter));
    assert_eq!(effects.len(), 1, "{effects:?}");
    assert_eq!(app.labels_since_round(), 5);
}

#[test]
fn the_auto_oracle_marks_exactly_the_wrong_items_and_confirms() {
    // The oracle knows item i as class i % 10; the predictor says i % 4.
    let mut app = review_app(100);
    app.on_key(tab());
    assert_eq!(page_items(&app), [0, 4, 8, 12]);
    // A mark of the person's that the oracle does not share is taken back.
    app.on_key(key('9'));
    app.on_key(key('a'));
    assert!(app.auto);
    let effects = app.on_tick(Duration::from_secs(1));
    assert_eq!(
        effects,
        vec![Effect::ConfirmPage {
            confirmed: vec![(0, 0)],
            corrected: vec![(4, 4), (8, 8), (12, 2)],
            oracle: true,
        }]
    );
    // One page per tick, at the auto-oracle's pace.
    assert!(app.on_tick(Duration::from_millis(1100)).is_empty());
    let effects = app.on_tick(Duration::from_secs(2));
    assert_eq!(
        effects,
        vec![Effect::ConfirmPage {
            confirmed: vec![(20, 0)],
            corrected: vec![(16, 6), (28, 8), (32, 2)],
            oracle: true,
        }]
    );
    // Undo takes the auto-oracle's page back as one too.
    app.on_key(key('a'));
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::UndoPage {
            items: vec![20, 16, 28, 32]
        }]
    );
}

#[test]
fn review_before_the_first_ranking_says_what_it_needs() {
    let mut app = app(20, 5);
    app.on_key(tab());
    assert_eq!(app.mode(), Mode::Review);
    assert!(app.page().is_none());
    assert!(!app.has_predictions());
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        app.message.as_deref(),
        Some("review needs the model's first ranking; label a batch first")
    );
    // A cold-start ranking predicts nothing.
    app.on_trainer(ranked(
        RankingSource::ColdStart,
        0,
        (0..20)
            .map(|pool_index| RankedItem {
                pool_index,
                score: 0.5,
                top: TopClasses::new(),
                audit: false,
            })
            .collect(),
    ));
    assert!(app.page().is_none());
    // The first ranking with predictions brings a page at once.
    app.on_trainer(predicting(0..20, |i| (i % 2) as u16, |_| 0.7));
    assert_eq!(app.page().unwrap().class, 0);
    // Until a model has ranked, the auto-oracle labels single images, as a person
    // would have to.
    let mut app = self::app(20, 5);
    app.on_key(tab());
    app.on_key(key('a'));
    assert_eq!(
        app.on_tick(Duration::from_secs(1)),
        [Effect::Label {
            item: 0,
            class: 0,
            oracle: true,
            guessed: Guesses::default(),
            audit: false,
        }]
    );
    assert!(app.auto);
    assert_eq!(app.mode(), Mode::Review);
}

#[test]
fn a_resize_shrinks_or_fills_the_page_and_keeps_its_marks() {
    let mut app = review_app(100);
    app.on_key(tab());
    app.on_key(code(KeyCode::Down));
    app.on_key(key('7'));
    assert_eq!(app.page().unwrap().cursor, 2);
    assert!(app.set_review_grid(3, 2));
    assert!(!app.set_review_grid(3, 2), "no change");
    assert_eq!(page_items(&app), [0, 4, 8, 12, 16, 20]);
    assert_eq!(app.page().unwrap().marks[2], Some(Mark::Class(7)));
    app.set_review_grid(1, 2);
    assert_eq!(page_items(&app), [0, 4]);
    assert_eq!(app.page().unwrap().cursor, 1);
    // Down and up move by the grid's columns, never off the page.
    app.set_review_grid(3, 2);
    let cursor = |app: &App| app.page().unwrap().cursor;
    app.on_key(code(KeyCode::Left));
    app.on_key(code(KeyCode::Left));
    assert_eq!(cursor(&app), 0);
    app.on_key(code(KeyCode::Down));
    assert_eq!(cursor(&app), 3);
    app.on_key(code(KeyCode::Down));
    assert_eq!(cursor(&app), 3);
    app.on_key(code(KeyCode::Up));
    app.on_key(code(KeyCode::Up));
    assert_eq!(cursor(&app), 0);
}

#[test]
fn review_keys_work_only_in_review_and_follow_the_keymap() {
    let mut app = review_app(100);
    assert!(app.on_key(key(' ')).is_empty());
    assert!(app.message.as_deref().unwrap().contains("works in review"));
    assert_eq!(app.labeled(), 0);
    assert!(app.on_key(code(KeyCode::Char(']'))).is_empty());
    assert_eq!(app.mode(), Mode::Single);
    // A keymap moves review to another key; Tab is free then.
    let mut config = digits_config(40, 100);
    config.keymap = Keymap::from_ron(r#"{ review: ["F1"], not_this_class: ["x"] }"#).unwrap();
    let mut app = App::new(config, Restored::default());
    app.on_trainer(predicting(0..40, |i| (i % 4) as u16, |_| 0.9));
    app.on_key(code(KeyCode::Tab));
    assert_eq!(app.mode(), Mode::Single);
    app.on_key(code(KeyCode::F(1)));
    assert_eq!(app.mode(), Mode::Review);
    app.on_key(key('x'));
    assert_eq!(app.page().unwrap().marks[0], Some(Mark::NotThis));
    // Skip is for single images.
    assert!(app.on_key(key('s')).is_empty());
    assert!(app.message.as_deref().unwrap().contains("not this class"));
    // The picker marks the image under the cursor in review.
    app.on_key(key('/'));
    for c in "git5".chars() {
        app.on_key(key(c));
    }
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(app.overlay, Overlay::None);
    assert_eq!(app.page().unwrap().marks[0], Some(Mark::Class(5)));
}

/// Classes with few images share a page: each image marked and confirmed against the
/// class it is shown as; "not this class" leaves that class's pages only; undo brings
/// the page back, marks and all.
#[test]
fn small_classes_share_a_page_and_each_image_keeps_its_own_class() {
    let mut app = app(12, 100);
    // Items 0..12 as class i % 4, surer the lower i is: three images a class.
    app.on_trainer(predicting(
        0..12,
        |i| (i % 4) as u16,
        |i| 0.99 - i as f32 / 100.0,
    ));
    app.set_review_grid(4, 2);
    app.on_key(tab());
    let page = app.page().unwrap();
    // 8 places: class 0 and class 1 whole; class 2 (3 more) does not fit.
    assert_eq!(page.items, [0, 4, 8, 1, 5, 9]);
    assert_eq!(page.classes, [0, 0, 0, 1, 1, 1]);
    assert_eq!(page.class_count(), 2);
    // Item 5 (shown as 1) is a 1 after all: its own class takes the mark back.
    for _ in 0..4 {
        app.on_key(code(KeyCode::Right));
    }
    app.on_key(key('2'));
    app.on_key(key('1'));
    assert_eq!(app.page().unwrap().marks[4], None);
    // Item 9 is not a 1; item 8 is a 3.
    app.on_key(code(KeyCode::Right));
    app.on_key(key(' '));
    app.on_key(code(KeyCode::Left));
    app.on_key(code(KeyCode::Left));
    app.on_key(code(KeyCode::Left));
    app.on_key(key('3'));
    let effects = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        effects[0],
        Effect::ConfirmPage {
            confirmed: vec![(0, 0), (4, 0), (1, 1), (5, 1)],
            corrected: vec![(8, 3)],
            oracle: false,
        }
    );
    // The next page: classes 2 and 3 (item 8 labeled); item 9 left out as a 1.
    assert_eq!(page_items(&app), [2, 6, 10, 3, 7, 11]);
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::UndoPage {
            items: vec![0, 4, 1, 5, 8]
        }]
    );
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("page of 2 classes taken back"));
    let page = app.page().unwrap();
    assert_eq!(page.items, [0, 4, 8, 1, 5, 9]);
    assert_eq!(page.marks[2], Some(Mark::Class(3)));
    assert_eq!(page.marks[5], Some(Mark::NotThis));
}

#[test]
fn labels_confirmed_on_a_page_come_back_on_resume_and_undo_a_page_at_a_time() {
    // What `tui::label` restores from a session: every label, confirmed ones too, with
    // the number of the page that gave them.
    let restored = Restored {
        labels: [
            (4, 0, Some(7)),
            (8, 0, Some(7)),
            (9, 1, Some(7)),
            (5, 3, None),
        ]
        .into_iter()
        .map(|(item, class, page)| LabelRecord {
            corrected: None,
            item,
            class,
            guessed: Guesses::default(),
            page,
            audit: false,
        })
        .collect(),
        ..Restored::default()
    };
    let mut app = App::new(digits_config(12, 5), restored);
    app.on_trainer(predicting(0..12, |i| (i % 4) as u16, |_| 0.9));
    app.on_key(tab());
    // Class 0 keeps item 0 only; the other classes, as small, share its page.
    assert_eq!(page_items(&app), [0, 1, 2, 6, 10, 3, 7, 11]);
    app.set_review_grid(3, 3);
    assert!(!page_items(&app).contains(&4));
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo { item: 5, class: 3 }]
    );
    // The page confirmed before the resume goes back whole, in one step.
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::UndoPage {
            items: vec![4, 8, 9]
        }]
    );
    assert_eq!(app.labeled(), 0);
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("page taken back (3 labels"));
    // Review goes on with the images back on its pages.
    assert!(page_items(&app).contains(&4));
}

#[test]
fn a_mistakes_page_confirmed_before_a_resume_is_taken_back_whole() {
    // What `tui::label` restores: a likely-mistakes page (the session's record 9)
    // changed items 1 and 3 when four labels stood, and item 5 was labeled after it.
    let record = |item, class, corrected| LabelRecord {
        item,
        class,
        guessed: Guesses::default(),
        page: None,
        corrected,
        audit: false,
    };
    let changed = |was| {
        Some(Corrected {
            page: 9,
            after: 4,
            was,
        })
    };
    let restored = Restored {
        labels: vec![
            record(0, 0, None),
            record(1, 2, changed(1)),
            record(2, 2, None),
            record(3, 4, changed(3)),
            record(5, 1, None),
        ],
        ..Restored::default()
    };
    let mut app = App::new(digits_config(12, 5), restored);
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo { item: 5, class: 1 }]
    );
    // The page goes back whole, in one step: each label to its class before it.
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::UndoRelabel {
            items: vec![(1, 1), (3, 3)]
        }]
    );
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("likely-mistakes page taken back (2 labels"));
    assert_eq!((app.label_of(1), app.label_of(3)), (Some(1), Some(3)));
    assert_eq!(app.labeled(), 4);
    // Then the labels before it, one at a time, as given.
    assert_eq!(
        app.on_key(key('u')),
        vec![Effect::Undo { item: 3, class: 3 }]
    );
}

// The likely-mistakes queue: labels the graph's held-out propagation doubts, least
// believed first, a page at a time.

fn mistakes_key() -> KeyEvent {
    KeyEvent::new(KeyCode::Char('M'), KeyModifiers::SHIFT)
}

/// 40 items, the first 20 labeled: item i as i % 10, but items 3 and 7 labeled 0 (by
/// mistake: their names say 3 and 7); a 2×2 grid; the model at version 2.
fn labeled_app(batch: usize) -> App {
    let restored = Restored {
        labels: (0..20)
            .map(|item| LabelRecord {
                corrected: None,
                item,
                class: if item == 3 || item == 7 {
                    0
                } else {
                    (item % 10) as u16
                },
                guessed: Guesses::default(),
                page: None,
                audit: false,
            })
            .collect(),
        model_version: 2,
        ..Restored::default()
    };
    let mut app = App::new(digits_config(40, batch), restored);
    app.set_review_grid(2, 2);
    app
}

/// The queue the trainer would send for `labeled_app`: `order` least believed first,
/// each with the class it has, predicted as its name's class.
fn suspects(app: &App, request: u64, order: &[usize]) -> TrainerEvent {
    TrainerEvent::Suspects {
        request,
        labels: app.labeled(),
        suspects: order
            .iter()
            .enumerate()
            .map(|(rank, &item)| Suspect {
                pool_index: item,
                given: app.label_of(item).unwrap(),
                predicted: (item % 10) as u16,
                prob_given: rank as f32 / 100.0,
            })
            .collect(),
        seconds: 0.5,
    }
}

fn cells(app: &App) -> Vec<usize> {
    app.mistakes_page()
        .map(|p| p.items().collect())
        .unwrap_or_default()
}

#[test]
fn the_mistakes_key_asks_the_trainer_and_shows_the_queue_least_believed_first() {
    let mut app = labeled_app(100);
    assert_eq!(
        app.on_key(mistakes_key()),
        [Effect::FindMistakes { request: 1 }]
    );
    assert_eq!(app.mode(), Mode::Mistakes);
    assert_eq!(app.mistakes_pending(), Some(20));
    assert!(app.mistakes_page().is_none());
    // Keys on the page wait for it.
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert!(app.message.as_deref().unwrap().contains("being found"));
    // The queue judged item 11 as labeled 4, a label it no longer has (changed while
    // the queue was computed): it is left out.
    let order = [7, 3, 11, 12, 0, 5, 9, 14, 1];
    let TrainerEvent::Suspects {
        suspects: mut judged,
        labels,
        seconds,
        ..
    } = suspects(&app, 1, &order)
    else {
        unreachable!()
    };
    judged[2].given = 4;
    app.on_trainer(TrainerEvent::Suspects {
        request: 1,
        labels,
        suspects: judged,
        seconds,
    });
    assert_eq!(app.mistakes_pending(), None);
    let queue = app.mistakes_queue().unwrap();
    assert_eq!((queue.model_version, queue.labels), (2, 20));
    assert_eq!(cells(&app), [7, 3, 12, 0]);
    let page = app.mistakes_page().unwrap();
    assert_eq!(page.number, 1);
    assert_eq!(page.cells[0].given, 0);
    assert_eq!(page.cells[0].predicted, 7);
    assert_eq!(app.mistakes_to_check(), 8);
    // A bigger grid fills the page in the queue's order; a smaller one shrinks it.
    app.set_review_grid(3, 2);
    assert_eq!(cells(&app), [7, 3, 12, 0, 5, 9]);
    app.set_review_grid(2, 1);
    assert_eq!(cells(&app), [7, 3]);
    app.set_review_grid(2, 2);
    // An answer to an older request is stale.
    app.on_key(mistakes_key());
    app.on_trainer(suspects(&app, 1, &[0, 1]));
    assert_eq!(app.mistakes_pending(), Some(20));
    assert!(app.mistakes_queue().is_none());
    app.on_trainer(suspects(&app, 2, &order));
    assert_eq!(cells(&app), [7, 3, 11, 12]);
    assert_eq!(app.mistakes_queue().unwrap().suspects.len(), 9);
    // Tab goes back where M was pressed.
    app.on_key(tab());
    assert_eq!(app.mode(), Mode::Single);
}

#[test]
fn marks_on_a_mistakes_page_become_one_relabel_and_undo_gives_the_labels_back() {
    let mut app = labeled_app(3);
    app.on_key(mistakes_key());
    app.on_trainer(suspects(&app, 1, &[7, 3, 12, 0, 5, 9, 14, 1]));
    assert_eq!(cells(&app), [7, 3, 12, 0]);
    // 7 is a 7; 3 marked 5 and then 3; 12 marked 9 and taken back with its own class.
    assert!(app.on_key(key('7')).is_empty());
    app.on_key(code(KeyCode::Right));
    app.on_key(key('5'));
    app.on_key(key('3'));
    app.on_key(code(KeyCode::Down));
    app.on_key(code(KeyCode::Left));
    app.on_key(key('9'));
    app.on_key(key('2'));
    // Space takes a mark back too.
    app.on_key(code(KeyCode::Right));
    app.on_key(key('4'));
    app.on_key(key(' '));
    let page = app.mistakes_page().unwrap();
    assert_eq!(page.marks, [Some(7), Some(3), None, None]);
    assert_eq!(page.marked(), 2);
    assert_eq!(app.per_class()[0], 4);
    let effects = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::Relabel {
            items: vec![(7, 7), (3, 3)],
            oracle: false,
        }]
    );
    assert_eq!((app.label_of(7), app.label_of(3)), (Some(7), Some(3)));
    assert_eq!(app.label_of(12), Some(2), "unmarked labels stand");
    assert_eq!(app.per_class()[0], 2);
    assert_eq!(app.per_class()[7], 2);
    assert_eq!(app.labeled(), 20);
    assert_eq!(app.labels_since_round(), 2);
    // The next page: the queue's next labels not yet shown.
    assert_eq!(cells(&app), [5, 9, 14, 1]);
    assert_eq!(app.mistakes_page().unwrap().number, 2);
    // A page with nothing marked changes nothing and counts as checked; the third
    // change fills the batch.
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert!(app.mistakes_page().is_none());
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("every label of the queue"));
    // Undo: the empty page comes back, then the first, its labels as they were.
    assert!(app.on_key(key('u')).is_empty());
    assert_eq!(cells(&app), [5, 9, 14, 1]);
    assert_eq!(
        app.on_key(key('u')),
        [Effect::UndoRelabel {
            items: vec![(7, 0), (3, 0)]
        }]
    );
    assert_eq!((app.label_of(7), app.label_of(3)), (Some(0), Some(0)));
    assert_eq!(app.per_class()[0], 4);
    assert_eq!(app.labels_since_round(), 0);
    let page = app.mistakes_page().unwrap();
    assert_eq!(
        (page.number, page.marks.clone()),
        (1, vec![Some(7), Some(3), None, None])
    );
    // Confirmed again, with a third change: the batch of 3 is full.
    app.on_key(code(KeyCode::Down));
    app.on_key(key('6'));
    let effects = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        effects,
        [
            Effect::Relabel {
                items: vec![(7, 7), (3, 3), (12, 6)],
                oracle: false,
            },
            Effect::Retrain
        ]
    );
    // The labels the next round trains on are the new ones.
    let history: Vec<(usize, u16)> = app.history().iter().map(|r| (r.item, r.class)).collect();
    assert_eq!(&history[..4], [(0, 0), (1, 1), (2, 2), (3, 3)]);
    assert_eq!((history[7], history[12]), ((7, 7), (12, 6)));
}

#[test]
fn the_auto_oracle_corrects_exactly_the_wrong_labels_of_a_mistakes_page() {
    let mut app = labeled_app(100);
    app.on_key(mistakes_key());
    app.on_key(key('a'));
    // Nothing while the queue is computed.
    assert!(app.on_tick(Duration::from_secs(1)).is_empty());
    assert!(app.auto);
    app.on_trainer(suspects(&app, 1, &[12, 7, 3, 0, 5]));
    // A mark the oracle does not share is taken back.
    app.on_key(key('a'));
    app.on_key(key('4'));
    app.on_key(key('a'));
    let effects = app.on_tick(Duration::from_secs(2));
    assert_eq!(
        effects,
        [Effect::Relabel {
            items: vec![(7, 7), (3, 3)],
            oracle: true,
        }]
    );
    assert_eq!(app.label_of(12), Some(2));
    assert_eq!(cells(&app), [5]);
    assert!(app.on_tick(Duration::from_secs(3)).is_empty());
    assert_eq!(cells(&app), Vec::<usize>::new());
    assert!(app.on_tick(Duration::from_secs(4)).is_empty());
    assert!(!app.auto);
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("every label of the queue"));
}

#[test]
fn mistakes_need_labels_and_a_failure_says_why() {
    let mut app = app(20, 5);
    assert!(app.on_key(mistakes_key()).is_empty());
    assert_eq!(app.mode(), Mode::Single);
    assert!(app.message.as_deref().unwrap().contains("no labels yet"));
    // From review, and back there.
    let mut app = labeled_app(100);
    app.on_key(tab());
    app.on_key(mistakes_key());
    app.on_trainer(TrainerEvent::MistakesFailed {
        request: 1,
        message: "finding likely mistakes needs the graph: use the graph or hybrid learner".into(),
    });
    assert_eq!(app.mistakes_pending(), None);
    assert!(app.mistakes_error().unwrap().contains("needs the graph"));
    assert!(app.message.as_deref().unwrap().contains("needs the graph"));
    assert_eq!(app.mode(), Mode::Mistakes);
    app.on_key(tab());
    assert_eq!(app.mode(), Mode::Review);
}

/// An undo on the likely-mistakes page of a label that is on it (the last single label)
/// takes it off the page, which fills up from the queue: a label no longer given
/// cannot be relabeled.
#[test]
fn a_label_undone_leaves_the_mistakes_page() {
    let mut app = labeled_app(100);
    app.on_key(mistakes_key());
    app.on_trainer(suspects(&app, 1, &[7, 19, 3, 12, 0]));
    assert_eq!(cells(&app), [7, 19, 3, 12]);
    app.on_key(code(KeyCode::Right));
    app.on_key(key('4'));
    assert_eq!(app.on_key(key('u')), [Effect::Undo { item: 19, class: 9 }]);
    assert_eq!(cells(&app), [7, 3, 12, 0]);
    assert_eq!(app.mistakes_page().unwrap().marks, [None; 4]);
    assert_eq!(app.mistakes_page().unwrap().cursor, 1);
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(app.label_of(19), None);
}
