//! Snapshot tests of the screen (ratatui TestBackend + insta): main screen, trainer
//! states, help, class picker with 118 dog breeds, too-small terminal, escaped names.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glean_core::{RoundTimes, Strategy};
use glean_tui::blockart::{self, CellShape};
use glean_tui::view::{self, ImagePane};
use glean_tui::TopClasses;
use glean_tui::{
    App, AppConfig, ClassProb, ClassView, ItemView, Keymap, RankedItem, Ranking, RankingSource,
    Restored, TrainerEvent,
};
use image::{DynamicImage, GrayImage, Luma};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;

/// A hand-drawn "0": a bright ring on black, 28×28 like MNIST.
fn ring() -> DynamicImage {
    DynamicImage::ImageLuma8(GrayImage::from_fn(28, 28, |x, y| {
        let (dx, dy) = (x as f32 - 13.5, (y as f32 - 13.5) * 0.8);
        let r = (dx * dx + dy * dy).sqrt();
        Luma([if (6.0..10.0).contains(&r) { 255 } else { 0 }])
    }))
}

struct RingPane;

impl ImagePane for RingPane {
    fn paint(&mut self, _item: usize, area: Rect, buf: &mut Buffer) {
        let image = ring();
        let (cols, rows) = blockart::fit(image.width(), image.height(), area.width, area.height);
        blockart::render(&image, cols, rows, CellShape::Sextant).paint(area, buf);
    }
}

fn digits_config() -> AppConfig {
    AppConfig {
        classes: (0..10)
            .map(|d| ClassView {
                name: [
                    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                ][d as usize]
                    .into(),
                key: char::from_digit(d, 10),
            })
            .collect(),
        items: (0..1000)
            .map(|i| ItemView {
                name: format!("mnist/{}/{i:05}.png", i % 10),
                oracle: Some((i % 10) as u16),
            })
            .collect(),
        batch: 10,
        strategy: "random".into(),
        initial_order: (0..1000).collect(),
        auto_interval: Duration::from_millis(300),
        has_test_split: true,
        keymap: Keymap::default(),
    }
}

fn digits_app() -> App {
    App::new(digits_config(), Restored::default())
}

/// The 118 ImageNet dog breeds (as in ../shared/datasets/imagenet-dogs), sorted.
const DOG_BREEDS: [&str; 118] = [
    "Afghan_hound",
    "Airedale",
    "American_Staffordshire_terrier",
    "Appenzeller",
    "Australian_terrier",
    "Bedlington_terrier",
    "Bernese_mountain_dog",
    "Blenheim_spaniel",
    "Border_collie",
    "Border_terrier",
    "Boston_bull",
    "Bouvier_des_Flandres",
    "Brabancon_griffon",
    "Brittany_spaniel",
    "Cardigan",
    "Chesapeake_Bay_retriever",
    "Chihuahua",
    "Dandie_Dinmont",
    "Doberman",
    "English_foxhound",
    "English_setter",
    "English_springer",
    "EntleBucher",
    "Eskimo_dog",
    "French_bulldog",
    "German_shepherd",
    "German_short-haired_pointer",
    "Gordon_setter",
    "Great_Dane",
    "Great_Pyrenees",
    "Greater_Swiss_Mountain_dog",
    "Ibizan_hound",
    "Irish_setter",
    "Irish_terrier",
    "Irish_water_spaniel",
    "Irish_wolfhound",
    "Italian_greyhound",
    "Japanese_spaniel",
    "Kerry_blue_terrier",
    "Labrador_retriever",
    "Lakeland_terrier",
    "Leonberg",
    "Lhasa",
    "Maltese_dog",
    "Mexican_hairless",
    "Newfoundland",
    "Norfolk_terrier",
    "Norwegian_elkhound",
    "Norwich_terrier",
    "Old_English_sheepdog",
    "Pekinese",
    "Pembroke",
    "Pomeranian",
    "Rhodesian_ridgeback",
    "Rottweiler",
    "Saint_Bernard",
    "Saluki",
    "Samoyed",
    "Scotch_terrier",
    "Scottish_deerhound",
    "Sealyham_terrier",
    "Shetland_sheepdog",
    "Shih-Tzu",
    "Siberian_husky",
    "Staffordshire_bullterrier",
    "Sussex_spaniel",
    "Tibetan_mastiff",
    "Tibetan_terrier",
    "Walker_hound",
    "Weimaraner",
    "Welsh_springer_spaniel",
    "West_Highland_white_terrier",
    "Yorkshire_terrier",
    "affenpinscher",
    "basenji",
    "basset",
    "beagle",
    "black-and-tan_coonhound",
    "bloodhound",
    "bluetick",
    "borzoi",
    "boxer",
    "briard",
    "bull_mastiff",
    "cairn",
    "chow",
    "clumber",
    "cocker_spaniel",
    "collie",
    "curly-coated_retriever",
    "dalmatian",
    "flat-coated_retriever",
    "giant_schnauzer",
    "golden_retriever",
    "groenendael",
    "keeshond",
    "kelpie",
    "komondor",
    "kuvasz",
    "malamute",
    "malinois",
    "miniature_pinscher",
    "miniature_poodle",
    "miniature_schnauzer",
    "otterhound",
    "papillon",
    "pug",
    "redbone",
    "schipperke",
    "silky_terrier",
    "soft-coated_wheaten_terrier",
    "standard_poodle",
    "standard_schnauzer",
    "toy_poodle",
    "toy_terrier",
    "vizsla",
    "whippet",
    "wire-haired_fox_terrier",
];

/// The hard-coded list keeps the snapshots the same everywhere; where the photos are
/// present, check it is still their list.
fn dog_breeds() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/imagenet-dogs");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let stem = name.split_once('.')?.0.to_string();
                Some(stem.split_once('_')?.1.to_string())
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            DOG_BREEDS,
            "the breed list differs from {}",
            dir.display()
        );
    }
    DOG_BREEDS.iter().map(|s| s.to_string()).collect()
}

fn dogs_app() -> App {
    let breeds = dog_breeds();
    let keys: Vec<char> = ('0'..='9')
        .chain('b'..='z')
        .filter(|c| !"squa".contains(*c))
        .collect();
    let config = AppConfig {
        classes: breeds
            .iter()
            .enumerate()
            .map(|(i, name)| ClassView {
                name: name.clone(),
                key: keys.get(i).copied(),
            })
            .collect(),
        items: breeds
            .iter()
            .map(|b| ItemView {
                name: format!("{b}.JPEG"),
                oracle: None,
            })
            .collect(),
        batch: 5,
        strategy: "margin".into(),
        initial_order: (0..118).collect(),
        auto_interval: Duration::from_millis(300),
        has_test_split: false,
        keymap: Keymap::default(),
    };
    App::new(config, Restored::default())
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| view::draw(frame, app, &mut RingPane))
        .unwrap();
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// A final margin ranking by `source`, learned from `labels` labels, of `items`.
fn ranked(source: RankingSource, labels: usize, items: Vec<RankedItem>) -> TrainerEvent {
    TrainerEvent::Ranked {
        ranking: Ranking {
            job: 4,
            strategy: Strategy::Margin,
            source,
            items,
        },
        labels,
        preliminary: false,
    }
}

/// `items` ranked at one score, with no class guessed (as a cold start's).
fn unguessed(items: impl IntoIterator<Item = usize>) -> Vec<RankedItem> {
    items
        .into_iter()
        .map(|pool_index| RankedItem {
            pool_index,
            score: 0.5,
            top: TopClasses::new(),
            audit: false,
        })
        .collect()
}

fn trained(app: &mut App) {
    app.on_trainer(TrainerEvent::Ready {
        device: "cpu".into(),
        learner: "cnn".into(),
        network: "cnn".into(),
    });
    for (job, (labels, accuracy)) in (1..).zip([(10, 0.42), (20, 0.61), (30, 0.74), (40, 0.79)]) {
        app.on_trainer(TrainerEvent::Evaluated {
            job,
            labels,
            accuracy,
        });
    }
    app.on_trainer(ranked(
        RankingSource::Model,
        40,
        (0..50)
            .map(|pool_index| RankedItem {
                pool_index,
                score: 0.031,
                top: TopClasses::from_iter([
                    ClassProb {
                        class: 0,
                        prob: 0.52,
                    },
                    ClassProb {
                        class: 6,
                        prob: 0.45,
                    },
                    ClassProb {
                        class: 9,
                        prob: 0.02,
                    },
                ]),
                audit: false,
            })
            .collect(),
    ));
    app.on_trainer(TrainerEvent::RoundDone {
        job: 4,
        labels: 5,
        model: 4,
        trained: true,
        accuracy: None,
        times: RoundTimes {
            total: 2.34,
            ..RoundTimes::default()
        },
    });
    for d in ['1', '2', '3'] {
        press(app, KeyCode::Char(d));
    }
}

#[test]
fn main_screen_before_the_first_round() {
    let app = digits_app();
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

#[test]
fn main_screen_after_rounds_idle() {
    let mut app = digits_app();
    trained(&mut app);
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

/// An image labeled before the newest ranking and then undone is not in that ranking:
/// the panel says so rather than claiming there has been no ranking.
#[test]
fn an_undone_image_the_ranking_left_out_says_why_it_is_back() {
    let mut app = digits_app();
    let first = app.current().unwrap();
    press(&mut app, KeyCode::Char('1'));
    app.on_trainer(ranked(
        RankingSource::Model,
        1,
        unguessed((0..1000).filter(|&item| item != first)),
    ));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("why: margin pick"), "{screen}");
    press(&mut app, KeyCode::Char('u'));
    assert_eq!(app.current(), Some(first));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("why: back after an undo; not ranked yet"),
        "{screen}"
    );
    assert!(!screen.contains("until the 1st ranking"), "{screen}");
}

#[test]
fn trainer_training() {
    let mut app = digits_app();
    trained(&mut app);
    app.on_trainer(TrainerEvent::RoundStarted { job: 5, labels: 50 });
    app.on_trainer(TrainerEvent::Progress {
        job: 5,
        step: 3,
        steps: 8,
        loss: 0.4321,
    });
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

#[test]
fn trainer_scoring() {
    let mut app = digits_app();
    trained(&mut app);
    app.on_trainer(TrainerEvent::Scoring { job: 5 });
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

#[test]
fn trainer_error() {
    let mut app = digits_app();
    trained(&mut app);
    app.on_trainer(TrainerEvent::Error {
        job: Some(5),
        message: "CUDA out of memory".into(),
    });
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

/// The wiring's standing note (no backbone) sits under the guesses, wrapped, and is
/// whole at the smallest and the usual terminal sizes.
#[test]
fn a_standing_notice_is_shown_whole_beside_the_image() {
    let mut app = digits_app();
    app.notice =
        Some("No backbone installed: learning from pixels. `make effnet` installs one.".into());
    for (width, height) in [(120, 40), (80, 24)] {
        let screen = draw(&app, width, height).backend().to_string();
        let flat: String = screen
            .lines()
            .flat_map(|line| line.split('│'))
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains("`make effnet` installs one."),
            "{width}×{height}:\n{screen}"
        );
    }
}

#[test]
fn help_overlay() {
    let mut app = digits_app();
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

#[test]
fn dog_breeds_main_screen_points_to_the_picker() {
    let app = dogs_app();
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

#[test]
fn dog_breeds_picker_filtered() {
    let mut app = dogs_app();
    press(&mut app, KeyCode::Char('/'));
    for c in "terrier".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

#[test]
fn too_small_terminal() {
    let app = digits_app();
    insta::assert_snapshot!(draw(&app, 50, 12).backend());
}

#[test]
fn control_characters_in_names_are_escaped() {
    let mut config = AppConfig {
        classes: vec![ClassView {
            name: "cat\u{7}".into(),
            key: Some('c'),
        }],
        items: vec![ItemView {
            name: "evil\u{1b}[2J\nname.png".into(),
            oracle: None,
        }],
        batch: 5,
        strategy: "random".into(),
        initial_order: vec![0],
        auto_interval: Duration::from_millis(300),
        has_test_split: true,
        keymap: Keymap::default(),
    };
    config.classes.push(ClassView {
        name: "dog".into(),
        key: Some('d'),
    });
    let app = App::new(config, Restored::default());
    let terminal = draw(&app, 80, 20);
    let text: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("evil\\u{1b}[2J\\nname.png"), "{text}");
    assert!(text.contains("cat\\u{7}"));
    assert!(!text.contains('\u{1b}'));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn the_status_line_shows_the_preparation_before_the_first_ranking() {
    let mut app = dogs_app();
    app.on_trainer(glean_tui::TrainerEvent::Preparing {
        what: "backbone features",
        done: 64,
        total: 118,
        per_second: None,
    });
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("trainer: backbone features 64/118 "),
        "{screen}"
    );
    // With a measured rate: images per second and the time left.
    app.on_trainer(glean_tui::TrainerEvent::Preparing {
        what: "backbone features",
        done: 1000,
        total: 10_000,
        per_second: Some(30.0),
    });
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("trainer: backbone features 1000/10000 · 30.0/s · 5m00s left"),
        "{screen}"
    );
}

#[test]
fn the_status_line_shows_the_autoencoder_training_beside_the_rounds() {
    use glean_tui::{BackgroundWork, TrainerEvent};
    let mut app = dogs_app();
    let work = |done, total, finished| {
        TrainerEvent::Background(Some(BackgroundWork {
            what: "autoencoder",
            done,
            total,
            finished,
        }))
    };
    app.on_trainer(work(0, 0, false));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("batch 0/5 │ autoencoder…"), "{screen}");
    // Beside a round's own progress, not instead of it.
    app.on_trainer(TrainerEvent::RoundStarted { job: 1, labels: 20 });
    app.on_trainer(work(12, 50, false));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("trainer: training… │ model v0"), "{screen}");
    assert!(screen.contains("│ autoencoder 12/50 epochs"), "{screen}");
    app.on_trainer(work(50, 50, true));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("│ autoencoder ready (next round)"),
        "{screen}"
    );
    app.on_trainer(TrainerEvent::Background(None));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(!screen.contains("autoencoder"), "{screen}");
}

#[test]
fn dog_breeds_with_the_imagenet_heads_guesses_on_keys_and_accuracy_on_labels() {
    let mut app = dogs_app();
    // The backbone's guesses for every photo: its own breed first, then two others
    // (for photos 0..5 a wrong breed first).
    let guesses = (0..118u16)
        .map(|i| {
            let top = if i < 5 {
                [(i + 1) % 118, i, 7]
            } else {
                [i, (i + 1) % 118, 7]
            };
            let probs = [0.7, 0.2, 0.05];
            let top = top
                .iter()
                .zip(probs)
                .map(|(&class, prob)| glean_tui::ClassProb { class, prob })
                .collect();
            (usize::from(i), top)
        })
        .collect();
    app.on_trainer(glean_tui::TrainerEvent::Suggested { items: guesses });
    // Ten photos labeled by their breed, the shown guess wrong for the first five.
    for i in 0..10 {
        app.label_current(i);
    }
    assert_eq!(app.label_accuracy(), vec![(5, 0.0), (10, 0.5)]);
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

/// The dogs app on the review screen at 120×40 before any label: the cold start's
/// ranking guesses photo i as `class_of(i)` at `prob_of(i)`.
fn dogs_reviewed_before_any_label(
    class_of: impl Fn(usize) -> u16,
    prob_of: impl Fn(usize) -> f32,
) -> App {
    let mut app = dogs_app();
    let items = (0..118usize)
        .map(|i| RankedItem {
            pool_index: i,
            score: 0.1,
            top: TopClasses::from_iter([ClassProb {
                class: class_of(i),
                prob: prob_of(i),
            }]),
            audit: false,
        })
        .collect();
    app.on_trainer(ranked(RankingSource::ColdStart, 0, items));
    let grid = view::review_grid(Rect::new(0, 0, 120, 40)).unwrap();
    app.set_review_grid(usize::from(grid.cols), usize::from(grid.rows));
    press(&mut app, KeyCode::Tab);
    app
}

/// Review from label 0 on the dog photos: the cold start's guesses (the head's prior)
/// put about one photo in each breed, so the breeds share pages, each photo over its
/// breed; the header names the cursor's breed in full.
#[test]
fn dog_breeds_review_pages_shared_by_breeds_before_any_label() {
    // Photo i guessed as its own breed, but photos 3 and 4 as breed 2; surer the
    // lower i is, none of them certain.
    let mut app = dogs_reviewed_before_any_label(
        |i| if i == 3 || i == 4 { 2 } else { i as u16 },
        |i| 0.99996 - i as f32 / 400.0,
    );
    let page = app.page().unwrap();
    // Breeds 0, 1 and 2 (photos 2, 3, 4), then one photo a breed, 5 to 59 (the
    // breeds sort with capitals first: Afghan_hound is 0).
    assert_eq!(&page.items[..6], [0, 1, 2, 3, 4, 5]);
    assert_eq!(&page.classes[..6], [0, 1, 2, 2, 2, 5]);
    assert_eq!(page.class_count(), 58);
    // Photo 3 is a beagle: marked so by the picker; photo 4 is not an
    // American_Staffordshire_terrier.
    for _ in 0..3 {
        press(&mut app, KeyCode::Right);
    }
    press(&mut app, KeyCode::Char('/'));
    for c in "beagle".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char(' '));
    let screen = draw(&app, 120, 40).backend().to_string();
    // Never 100.0 % below certainty.
    assert!(
        screen.contains(
            "review: 58 classes · ▶ American_Staffordshire_terrier 98.9% · confidence \
             99.9–85.2% · 2 marked"
        ),
        "{screen}"
    );
    // As much of each breed as the cell holds: Border_collie and Border_terrier differ.
    assert!(
        screen.contains(" Afghan_hou  Airedale    American_S "),
        "{screen}"
    );
    assert!(screen.contains("Border_col  Border_ter"), "{screen}");
    assert!(screen.contains("→ beagle   ▶✗ not Amer"), "{screen}");
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
    // Confirmed: each unmarked photo as the breed it was shown as.
    let effects = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let glean_tui::Effect::ConfirmPage {
        confirmed,
        corrected,
        ..
    } = &effects[0]
    else {
        panic!("{effects:?}");
    };
    assert_eq!(&confirmed[..3], [(0, 0), (1, 1), (2, 2)]);
    assert_eq!(confirmed[3], (5, 5));
    assert_eq!(confirmed.len(), 58);
    assert_eq!(corrected, &[(3, 76)], "beagle is breed 76");
}

/// On a page breeds share, an unsure image's breed is marked `?` (and faint), a sure
/// one's plain.
#[test]
fn unsure_captions_on_a_shared_page_are_faint() {
    let app = dogs_reviewed_before_any_label(|i| i as u16, |i| if i == 1 { 0.4 } else { 0.95 });
    let grid = view::review_grid(Rect::new(0, 0, 120, 40)).unwrap();
    let terminal = draw(&app, 120, 40);
    let buffer = terminal.backend().buffer();
    // The first two captions, past the cursor's column.
    let dim = |cell: usize| {
        let (_, caption) = grid.cell(cell);
        buffer[(caption.x + 1, caption.y)]
            .modifier
            .contains(ratatui::style::Modifier::DIM)
    };
    assert!(dim(1), "the unsure one");
    assert!(!dim(0), "a sure one");
    let screen = terminal.backend().to_string();
    assert!(screen.contains(" ?Airedale "), "{screen}");
    assert!(screen.contains("▶Afghan_hou"), "{screen}");
}

/// The help and the status line name the keys of the user's keymap.
#[test]
fn the_help_and_the_status_line_show_the_users_keys() {
    let mut config = digits_config();
    config.keymap =
        // Tab is review's key by default: moved, it is free for the first guess.
        Keymap::from_ron(r#"{ undo: ["z", "Backspace"], accept_guess: ["Tab"], review: ["F1"] }"#)
            .unwrap();
    let mut app = App::new(config, Restored::default());
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("Tab 1st guess  / pick  z undo  s skip  F1 review"),
        "{screen}"
    );
    press(&mut app, KeyCode::Char('?'));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("z Backspace undo the last label"),
        "{screen}"
    );
    assert!(
        // The keys' column widened to fit "z Backspace".
        screen.contains(" Tab         label with the first guess"),
        "{screen}"
    );
}

/// The digits app on the review screen at `width`×`height`: a ranking that predicts
/// item i as class i % 10, surer the lower i is; the page of zero with two marks (a
/// six, and "not zero") and the cursor on the first image of the second row.
fn review_screen(width: u16, height: u16) -> Terminal<TestBackend> {
    let mut app = digits_app();
    app.on_trainer(ranked(
        RankingSource::Hybrid,
        40,
        (0..1000)
            .map(|item| RankedItem {
                pool_index: item,
                score: 0.1,
                top: TopClasses::from_iter([ClassProb {
                    class: (item % 10) as u16,
                    prob: 0.999 - item as f32 / 2000.0,
                }]),
                audit: false,
            })
            .collect(),
    ));
    let grid = view::review_grid(Rect::new(0, 0, width, height)).unwrap();
    app.set_review_grid(usize::from(grid.cols), usize::from(grid.rows));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    draw(&app, width, height)
}

#[test]
fn review_grid_at_120_by_40() {
    let terminal = review_screen(120, 40);
    let screen = terminal.backend().to_string();
    // 60 images of zero: items 0, 10, …, 590.
    assert!(
        screen.contains(
            "review: zero [0] · confidence 99.9–70.4% · 2 marked · 60 images the model calls \
             it, surest first"
        ),
        "{screen}"
    );
    assert!(screen.contains("→6 six"), "{screen}");
    assert!(screen.contains("✗ not zero"), "{screen}");
    // The cursor one row down from the third image: item 120.
    assert!(screen.contains("▶ 93.9%"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn review_grid_at_the_minimum_size() {
    let terminal = review_screen(view::MIN_WIDTH, view::MIN_HEIGHT);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains(" review: zero [0] · confidence 99.9–95.4% · 2 marked · 10 images"),
        "{screen}"
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn review_before_the_first_ranking_says_what_it_needs() {
    let mut app = digits_app();
    press(&mut app, KeyCode::Tab);
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("Review needs the model's first ranking; label a batch first."),
        "{screen}"
    );
    assert!(
        screen.contains("Tab goes back to labeling one image"),
        "{screen}"
    );
    press(&mut app, KeyCode::Char('?'));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("confirm the page: the rest take the class shown"),
        "{screen}"
    );
    assert!(screen.contains("[ PageUp ] PageDown"), "{screen}");
}

/// The digits app on the likely-mistakes screen at `width`×`height`: 200 labels (item
/// i as i % 10, but every 25th item labeled one more than its name says), model v3; the
/// queue puts the mislabeled ones first, then the rest by item; two marks (a right
/// class, and one taken back) and the cursor on the second row.
fn mistakes_screen(width: u16, height: u16) -> (App, Terminal<TestBackend>) {
    let given = |item: usize| ((item + usize::from(item.is_multiple_of(25))) % 10) as u16;
    let restored = Restored {
        labels: (0..200)
            .map(|item| glean_tui::LabelRecord {
                corrected: None,
                item,
                class: given(item),
                guessed: Default::default(),
                page: None,
                audit: false,
            })
            .collect(),
        model_version: 3,
        ..Restored::default()
    };
    let mut app = App::new(digits_config(), restored);
    let grid = view::review_grid(Rect::new(0, 0, width, height)).unwrap();
    app.set_review_grid(usize::from(grid.cols), usize::from(grid.rows));
    app.on_key(KeyEvent::new(KeyCode::Char('M'), KeyModifiers::SHIFT));
    let screen = draw(&app, width, height).backend().to_string();
    assert!(
        screen.contains("likely mistakes: judging 200 labels…"),
        "{screen}"
    );
    assert!(
        screen.contains("Finding the likely mistakes among 200 labels…"),
        "{screen}"
    );
    assert!(screen.contains("│ finding likely mistakes…"), "{screen}");
    let mut order: Vec<usize> = (0..200).step_by(25).collect();
    order.extend((0..200usize).filter(|i| !i.is_multiple_of(25)));
    let suspects = order
        .iter()
        .enumerate()
        .map(|(rank, &item)| glean_tui::Suspect {
            pool_index: item,
            given: given(item),
            predicted: (item % 10) as u16,
            prob_given: (0.02 + rank as f32 / 220.0).min(0.99),
        })
        .collect();
    app.on_trainer(TrainerEvent::Suspects {
        request: 1,
        labels: 200,
        suspects,
        seconds: 1.5,
    });
    press(&mut app, KeyCode::Char('0'));
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Down);
    let terminal = draw(&app, width, height);
    (app, terminal)
}

#[test]
fn likely_mistakes_page_at_120_by_40() {
    let (mut app, terminal) = mistakes_screen(120, 40);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains(
            " likely mistakes: queue from model v3, 200 labels · page 1, 200 to check · 1 marked \
             · shown: label p%→predicted"
        ),
        "{screen}"
    );
    // Item 0, labeled 1, is a 0; item 25, labeled 6 and predicted 5, marked 4 then 6:
    // unmarked.
    assert!(screen.contains("→0 zero"), "{screen}");
    assert!(screen.contains(" 6 2%→5 "), "{screen}");
    // The cursor one row down from the second cell: the twelfth in the queue, item 4
    // (labeled as predicted: no arrow).
    assert!(screen.contains("▶4 7% "), "{screen}");
    assert!(screen.contains("M anew  Tab back"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
    // Its help.
    press(&mut app, KeyCode::Char('?'));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(
        screen.contains("confirm the page: marked labels change, the rest stand"),
        "{screen}"
    );
}

/// Without a test split, once five audit picks are labeled the chart shows how often
/// the guess was right on them alone: a fair sample of the folder, where the
/// strategy's own picks (its hardest photos) would understate the accuracy.
#[test]
fn the_chart_judges_by_the_random_checks_once_there_are_enough() {
    let mut app = dogs_app();
    // Every fourth place an audit pick, guessed right except every other one (7,
    // 15, …); the strategy's picks all guessed wrong.
    let items = (0..118usize)
        .map(|i| {
            let audit = i % 4 == 3;
            let right = audit && i % 8 != 7;
            let class = if right {
                i as u16
            } else {
                ((i + 1) % 118) as u16
            };
            RankedItem {
                pool_index: i,
                score: 0.5,
                top: TopClasses::from_iter([glean_tui::ClassProb { class, prob: 0.6 }]),
                audit,
            }
        })
        .collect();
    app.on_trainer(ranked(RankingSource::Graph, 0, items));
    for i in 0..16 {
        app.label_current(i);
    }
    assert_eq!(app.audit_accuracy(), None, "four audit picks are too few");
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("your labels: guessed right"), "{screen}");
    for i in 16..20 {
        app.label_current(i);
    }
    assert_eq!(
        app.audit_accuracy(),
        Some((vec![(5, 1.0), (10, 0.5), (15, 2.0 / 3.0), (20, 0.6)], 5))
    );
    assert_eq!(app.label_accuracy().last(), Some(&(20, 3.0 / 20.0)));
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("random checks: guessed right"), "{screen}");
    assert!(screen.contains("now 60.0% of 5"), "{screen}");
}

/// The whole folder labeled after a ranking: the guesses panel says there is nothing
/// left, not that the image on screen came back after an undo.
#[test]
fn the_guesses_panel_says_nothing_is_left_once_every_image_is_labeled() {
    let mut app = dogs_app();
    app.on_trainer(ranked(RankingSource::Graph, 0, unguessed(0..118)));
    for i in 0..118 {
        app.label_current(i);
    }
    assert_eq!(app.current(), None);
    let screen = draw(&app, 120, 40).backend().to_string();
    assert!(screen.contains("nothing left to guess"), "{screen}");
    assert!(!screen.contains("undo;"), "{screen}");
}
