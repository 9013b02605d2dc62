//! The event loop's runner without a terminal: effects reach the executor before the
//! next frame, frames are drawn only when something changed, images are requested ahead,
//! and an executor error (a label that could not be saved) stops the loop.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use glean_core::Strategy;
use glean_tui::blockart::CellShape;
use glean_tui::event_loop::{AppEvent, Executor, Runner};
use glean_tui::images::{ImageRequest, Pictures};
use glean_tui::render_mode::Renderer;
use glean_tui::{
    App, AppConfig, ClassProb, ClassView, Effect, Guesses, ItemView, Keymap, RankedItem, Ranking,
    RankingSource, Restored, TrainerEvent,
};
use image::{DynamicImage, GrayImage, Luma};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[derive(Default)]
struct Recorder {
    effects: Vec<Effect>,
    trainer: Vec<TrainerEvent>,
    fail_on_label: bool,
    /// Jobs whose events the app is not to take in.
    unwanted: Vec<u64>,
}

impl Executor for Recorder {
    fn execute(&mut self, effect: &Effect, _app: &App) -> anyhow::Result<()> {
        if self.fail_on_label && matches!(effect, Effect::Label { .. }) {
            anyhow::bail!("disk full");
        }
        self.effects.push(effect.clone());
        Ok(())
    }

    fn trainer_event(&mut self, event: &TrainerEvent, _app: &App) -> anyhow::Result<()> {
        self.trainer.push(event.clone());
        Ok(())
    }

    fn wants(&mut self, event: &TrainerEvent) -> bool {
        event.job().is_none_or(|job| !self.unwanted.contains(&job))
    }
}

fn runner(
    executor: Recorder,
) -> (
    Runner<Recorder>,
    crossbeam_channel::Receiver<ImageRequest>,
    crossbeam_channel::Sender<AppEvent>,
    crossbeam_channel::Receiver<AppEvent>,
) {
    let app = App::new(
        AppConfig {
            classes: (0..3)
                .map(|d| ClassView {
                    name: format!("c{d}"),
                    key: char::from_digit(d, 10),
                })
                .collect(),
            items: (0..20)
                .map(|i| ItemView {
                    name: format!("{i}.png"),
                    oracle: Some(0),
                })
                .collect(),
            batch: 2,
            strategy: "random".into(),
            initial_order: (0..20).collect(),
            auto_interval: Duration::from_millis(300),
            has_test_split: true,
            keymap: Keymap::default(),
        },
        Restored::default(),
    );
    let names = app.items.iter().map(|i| i.name.clone()).collect();
    let (requests_tx, requests_rx) = crossbeam_channel::unbounded();
    let pictures = Pictures::new(Renderer::Blocks(CellShape::Half), names);
    let (tx, rx) = crossbeam_channel::unbounded();
    (
        Runner::new(app, pictures, executor, Some(requests_tx)),
        requests_rx,
        tx,
        rx,
    )
}

fn key(c: char) -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn digit() -> Arc<DynamicImage> {
    Arc::new(DynamicImage::ImageLuma8(GrayImage::from_pixel(
        28,
        28,
        Luma([255]),
    )))
}

/// A decoded thumbnail of `item`.
fn thumb(item: usize) -> AppEvent {
    AppEvent::Thumb {
        item,
        loaded: Ok(digit()),
        art: None,
    }
}

/// The network's ranking of `labels` labels of `items` in that order, each with the
/// guesses `top` gives it.
fn ranked(
    labels: usize,
    items: impl IntoIterator<Item = usize>,
    top: impl Fn(usize) -> Vec<ClassProb>,
) -> AppEvent {
    AppEvent::Trainer(TrainerEvent::Ranked {
        ranking: Ranking {
            job: 1,
            strategy: Strategy::Margin,
            source: RankingSource::Model,
            items: items
                .into_iter()
                .map(|pool_index| RankedItem {
                    pool_index,
                    score: 0.5,
                    top: top(pool_index).into_iter().collect(),
                    audit: false,
                })
                .collect(),
        },
        labels,
        preliminary: false,
    })
}

/// The ranking of a job the executor no longer wants (its labels changed) reaches
/// neither the app nor the executor: the queue keeps its order.
#[test]
fn a_ranking_of_an_unwanted_job_is_not_taken_in() {
    let (mut runner, _requests, _tx, _rx) = runner(Recorder {
        unwanted: vec![1],
        ..Recorder::default()
    });
    let upcoming = |runner: &Runner<Recorder>| -> Vec<usize> { runner.app.upcoming(5).collect() };
    let before = upcoming(&runner);
    let top = |_| {
        vec![ClassProb {
            class: 2,
            prob: 0.9,
        }]
    };
    runner.handle(ranked(4, (0..20).rev(), top)).unwrap();
    assert_eq!(upcoming(&runner), before);
    assert!(!runner.app.has_predictions());
    assert!(runner.executor.trainer.is_empty());
    // Wanted, the same ranking reorders the queue.
    runner.executor.unwanted.clear();
    runner.handle(ranked(4, (0..20).rev(), top)).unwrap();
    assert_ne!(upcoming(&runner), before);
    assert_eq!(runner.executor.trainer.len(), 1);
}

#[test]
fn images_are_requested_ahead_and_once() {
    let (mut runner, requests, _tx, _rx) = runner(Recorder::default());
    let first: Vec<usize> = requests.try_iter().map(|r| r.item).collect();
    assert_eq!(first, vec![0, 1, 2, 3, 4]);
    runner.handle(key('1')).unwrap();
    assert_eq!(
        requests.try_iter().map(|r| r.item).collect::<Vec<_>>(),
        vec![5]
    );
}

#[test]
fn effects_run_before_the_frame_and_frames_only_when_dirty() {
    let (mut runner, _requests, tx, rx) = runner(Recorder::default());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    runner.draw(&mut terminal).unwrap();
    assert!(!runner.is_dirty());
    // A decoded image of an item not on screen changes nothing visible.
    tx.send(AppEvent::Image {
        item: 3,
        loaded: Ok(digit()),
        art: None,
    })
    .unwrap();
    assert!(runner.pump(&rx).unwrap());
    assert!(!runner.is_dirty());
    // Two keys in one pump: both labels journaled, the batch asks for a round.
    tx.send(key('1')).unwrap();
    tx.send(key('2')).unwrap();
    assert!(runner.pump(&rx).unwrap());
    assert!(runner.is_dirty());
    assert_eq!(
        runner.executor.effects,
        vec![
            Effect::Label {
                item: 0,
                class: 1,
                oracle: false,
                guessed: Guesses::default(),
                audit: false,
            },
            Effect::Label {
                item: 1,
                class: 2,
                oracle: false,
                guessed: Guesses::default(),
                audit: false,
            },
            Effect::Retrain
        ]
    );
    runner.draw(&mut terminal).unwrap();
    let text: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("labeled 2/20"), "{text}");
    // Ticks without the auto-oracle change nothing.
    tx.send(AppEvent::Tick).unwrap();
    runner.pump(&rx).unwrap();
    assert!(!runner.is_dirty());
}

#[test]
fn trainer_events_reach_the_app_and_the_executor() {
    let (mut runner, requests, _tx, _rx) = runner(Recorder::default());
    requests.try_iter().for_each(drop);
    runner
        .handle(ranked(1, [9, 8, 7, 6, 5], |_| vec![]))
        .unwrap();
    assert_eq!(runner.executor.trainer.len(), 1);
    assert_eq!(runner.app.ranking_labels, Some(1));
    // the new order's next images are requested
    assert_eq!(
        requests.try_iter().map(|r| r.item).collect::<Vec<_>>(),
        vec![9, 8, 7, 6]
    );
}

#[test]
fn terminate_quits_through_the_executor() {
    let (mut runner, _requests, _tx, _rx) = runner(Recorder::default());
    assert!(!runner.handle(AppEvent::Terminate).unwrap());
    assert_eq!(runner.executor.effects, vec![Effect::Quit]);
}

#[test]
fn a_label_that_cannot_be_saved_stops_the_loop() {
    let (mut runner, _requests, tx, rx) = runner(Recorder {
        fail_on_label: true,
        ..Recorder::default()
    });
    tx.send(key('1')).unwrap();
    let error = runner.pump(&rx).unwrap_err();
    assert!(error.to_string().contains("disk full"));
}

#[test]
fn the_loop_ends_on_quit_and_draws_the_last_state() {
    let (mut runner, _requests, tx, rx) = runner(Recorder::default());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    tx.send(AppEvent::Image {
        item: 0,
        loaded: Ok(digit()),
        art: None,
    })
    .unwrap();
    tx.send(key('0')).unwrap();
    tx.send(key('q')).unwrap();
    runner.run(&mut terminal, &rx).unwrap();
    assert_eq!(runner.executor.effects.last(), Some(&Effect::Quit));
    assert_eq!(runner.app.labeled(), 1);
}

/// On the review screen the loop gives the app the grid the terminal fits, asks for the
/// page's thumbnails (sized for the grid's cells after a frame), redraws when one of
/// them arrives, and carries out a confirmed page.
#[test]
fn review_pages_get_their_grid_and_thumbnails() {
    let (mut runner, requests, tx, rx) = runner(Recorder::default());
    requests.try_iter().for_each(drop);
    let top = |item: usize| {
        vec![ClassProb {
            class: (item % 3) as u16,
            prob: 0.9,
        }]
    };
    runner.handle(ranked(2, 0..20, top)).unwrap();
    // The smallest screen: 5 columns of 12, 2 rows of 6 under the header line. Its
    // 10 places hold class 0's 7 images; classes 1 (7) and 2 (6) do not fit whole.
    let mut terminal = Terminal::new(TestBackend::new(64, 18)).unwrap();
    runner.draw(&mut terminal).unwrap();
    assert_eq!(runner.app.review_grid(), (5, 2));
    requests.try_iter().for_each(drop);
    tx.send(AppEvent::Key(KeyEvent::new(
        KeyCode::Tab,
        KeyModifiers::NONE,
    )))
    .unwrap();
    runner.pump(&rx).unwrap();
    let asked: Vec<ImageRequest> = requests.try_iter().collect();
    assert!(asked.iter().all(|r| r.thumb), "{asked:?}");
    assert_eq!(
        asked.iter().map(|r| r.item).collect::<Vec<_>>(),
        [0, 3, 6, 9, 12, 15, 18]
    );
    runner.draw(&mut terminal).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("review: c0 [0]"), "{screen}");
    assert!(screen.contains("loading…"), "{screen}");
    // A thumbnail of the page makes a frame; one off the page does not.
    tx.send(thumb(1)).unwrap();
    runner.pump(&rx).unwrap();
    assert!(!runner.is_dirty());
    tx.send(thumb(3)).unwrap();
    runner.pump(&rx).unwrap();
    assert!(runner.is_dirty());
    runner.draw(&mut terminal).unwrap();
    // The next page's thumbnails are asked for at the cells' size.
    tx.send(key('1')).unwrap();
    tx.send(AppEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )))
    .unwrap();
    runner.pump(&rx).unwrap();
    assert_eq!(
        runner.executor.effects[0],
        Effect::ConfirmPage {
            confirmed: vec![(3, 0), (6, 0), (9, 0), (12, 0), (15, 0), (18, 0)],
            corrected: vec![(0, 1)],
            oracle: false,
        }
    );
    assert_eq!(runner.executor.effects[1], Effect::Retrain);
    let asked: Vec<ImageRequest> = requests.try_iter().filter(|r| r.thumb).collect();
    // (Item 1's thumbnail, off the page when it came, was not kept.)
    assert_eq!(
        asked.iter().map(|r| r.item).collect::<Vec<_>>(),
        [1, 4, 7, 10, 13, 16, 19]
    );
    assert!(asked
        .iter()
        .all(|r| r.art == Some((11, 5, CellShape::Half))));
}

/// The likely-mistakes queue's page asks for its thumbnails when the queue arrives
/// (labeled images, which the single screen no longer prefetches), and a thumbnail of
/// the page makes a frame.
#[test]
fn the_likely_mistakes_page_gets_its_thumbnails() {
    let (mut runner, requests, tx, rx) = runner(Recorder::default());
    for c in ['1', '2', '0', '1'] {
        runner.handle(key(c)).unwrap();
    }
    requests.try_iter().for_each(drop);
    tx.send(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('M'),
        KeyModifiers::SHIFT,
    )))
    .unwrap();
    runner.pump(&rx).unwrap();
    assert_eq!(
        runner.executor.effects.last(),
        Some(&Effect::FindMistakes { request: 1 })
    );
    let suspects = [2, 0, 3, 1]
        .map(|item| glean_tui::Suspect {
            pool_index: item,
            given: runner.app.label_of(item).unwrap(),
            predicted: 0,
            prob_given: 0.1,
        })
        .to_vec();
    tx.send(AppEvent::Trainer(TrainerEvent::Suspects {
        request: 1,
        labels: 4,
        suspects,
        seconds: 0.1,
    }))
    .unwrap();
    runner.pump(&rx).unwrap();
    let asked: Vec<ImageRequest> = requests.try_iter().filter(|r| r.thumb).collect();
    assert_eq!(
        asked.iter().map(|r| r.item).collect::<Vec<_>>(),
        [2, 0, 3, 1]
    );
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    runner.draw(&mut terminal).unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("likely mistakes: queue from model v0, 4 labels"),
        "{screen}"
    );
    tx.send(thumb(3)).unwrap();
    runner.pump(&rx).unwrap();
    assert!(runner.is_dirty());
}
