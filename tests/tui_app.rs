//! Key handling and trainer events, by calling the app with events.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use glean::tui::{
    App, AppConfig, ClassProb, ClassView, Effect, ItemView, LabelRecord, Overlay, RankedItem,
    Ranking, Restored, TrainerEvent, TrainerStatus,
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
    }
}

fn app(pool: usize, batch: usize) -> App {
    App::new(digits_config(pool, batch), Restored::default())
}

fn ranking(items: &[usize]) -> Ranking {
    Ranking {
        version: 1,
        strategy: "margin".into(),
        learner: "cnn".into(),
        items: items
            .iter()
            .map(|&item| RankedItem {
                item,
                score: 0.5,
                top: vec![
                    ClassProb {
                        class: 3,
                        prob: 0.6,
                    },
                    ClassProb {
                        class: 5,
                        prob: 0.3,
                    },
                ],
            })
            .collect(),
    }
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
            oracle: false
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
                oracle: false
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
            oracle: false
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
            oracle: false
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
            oracle: false
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
    app.on_trainer(TrainerEvent::Ranked(ranking(&[9, 0, 1, 8, 2])));
    // 2 stays on screen; 9 and 8 come next; labeled 0 is gone; skipped 1 goes last
    let order: Vec<usize> = std::iter::once(app.current().unwrap())
        .chain(app.upcoming(20))
        .collect();
    assert_eq!(order, vec![2, 9, 8, 3, 4, 5, 6, 7, 1]);
    assert_eq!(app.strategy, "margin");
    app.on_key(key('2'));
    let ranked = app.current_ranking().expect("9 was ranked");
    assert_eq!(ranked.item, 9);
    assert_eq!(ranked.top[0].class, 3);
}

#[test]
fn trainer_events_drive_the_status() {
    let mut app = app(10, 5);
    assert_eq!(app.trainer, TrainerStatus::Starting);
    app.on_trainer(TrainerEvent::Preparing {
        what: "backbone features".into(),
        done: 64,
        total: 118,
    });
    assert_eq!(
        app.trainer,
        TrainerStatus::Preparing {
            what: "backbone features".into(),
            done: 64,
            total: 118
        }
    );
    app.on_trainer(TrainerEvent::Ready {
        device: "cpu".into(),
    });
    assert_eq!(app.trainer, TrainerStatus::Starting);
    assert_eq!(app.device.as_deref(), Some("cpu"));
    app.on_trainer(TrainerEvent::RoundStarted { labels: 5 });
    app.on_trainer(TrainerEvent::Progress {
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
    app.on_trainer(TrainerEvent::Scoring);
    assert_eq!(app.trainer, TrainerStatus::Scoring);
    app.on_trainer(TrainerEvent::Evaluated {
        labels: 5,
        accuracy: 0.4,
    });
    app.on_trainer(TrainerEvent::RoundDone {
        version: 1,
        labels: 5,
        accuracy: None,
        trained: true,
        elapsed: Duration::from_millis(1500),
    });
    assert_eq!(app.trainer, TrainerStatus::Idle);
    assert_eq!(app.model_version, 1);
    assert_eq!(app.accuracy, vec![(5, 0.4)]);
    app.on_trainer(TrainerEvent::Error("out of memory".into()));
    assert_eq!(app.last_error.as_deref(), Some("out of memory"));
    app.on_trainer(TrainerEvent::Evaluated {
        labels: 10,
        accuracy: 0.7,
    });
    app.on_trainer(TrainerEvent::Evaluated {
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
            oracle: true
        }]
    );
    assert!(app.on_tick(Duration::from_millis(200)).is_empty());
    assert_eq!(
        app.on_tick(Duration::from_millis(400)),
        vec![Effect::Label {
            item: 1,
            class: 1,
            oracle: true
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
            LabelRecord { item: 4, class: 4 },
            LabelRecord { item: 0, class: 9 },
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
