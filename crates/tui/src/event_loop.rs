//! The event loop: one channel carries keys, resizes, ticks, trainer events, decoded
//! images and termination signals; the app handles them, the [`Executor`] carries out
//! the effects (a label reaches the journal before the next frame), and a frame is drawn
//! only when something changed, after the queue of waiting events is drained.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use crossterm::event::{Event, KeyEvent, KeyEventKind};
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use ratatui::Terminal;

use super::app::{App, Mode};
use super::blockart::BlockArt;
use super::images::{ImageRequest, Loaded, Pictures};
use glean_core::TrainerEvent;

use super::types::Effect;
use super::view;

/// How many queued images are decoded ahead of the one on screen.
pub const PREFETCH: usize = 4;
/// Clock for the auto-oracle and the spinner-free status refresh.
pub const TICK: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub enum AppEvent {
    Key(KeyEvent),
    Resize,
    Tick,
    Trainer(TrainerEvent),
    Image {
        item: usize,
        loaded: Loaded,
        /// Block art pre-rendered by the loader for the last frame's image area.
        art: Option<BlockArt>,
    },
    /// A review grid's thumbnail, decoded.
    Thumb {
        item: usize,
        loaded: Loaded,
        /// Block art pre-rendered for the last frame's grid cell.
        art: Option<BlockArt>,
    },
    /// SIGTERM, SIGHUP or SIGINT: leave as after `q`.
    Terminate,
}

/// The trainer posts straight into the event channel.
impl From<TrainerEvent> for AppEvent {
    fn from(event: TrainerEvent) -> Self {
        AppEvent::Trainer(event)
    }
}

/// Carries out what the app asks for (journal writes, trainer jobs). An error stops the
/// loop: a label that cannot be saved must not look saved.
pub trait Executor {
    fn execute(&mut self, effect: &Effect, app: &App) -> anyhow::Result<()>;

    /// Sees each trainer event after the app took it in (to record rounds, store the
    /// new queue).
    fn trainer_event(&mut self, _event: &TrainerEvent, _app: &App) -> anyhow::Result<()> {
        Ok(())
    }

    /// Whether the app is to take `event` in: not when it belongs to a job cancelled
    /// since it was sent (its labels changed), whose ranking would reorder the queue
    /// by labels undone.
    fn wants(&mut self, _event: &TrainerEvent) -> bool {
        true
    }

    /// The screen is leaving on an error: stop background work within a bounded time
    /// rather than wait for it (what was written stays written). True when nothing of
    /// it is left running.
    fn abandon(&mut self) -> bool {
        true
    }
}

/// The app with its pictures and the effects' executor: everything the loop drives.
pub struct Runner<E: Executor> {
    pub app: App,
    pub pictures: Pictures,
    pub executor: E,
    image_requests: Option<Sender<ImageRequest>>,
    start: Instant,
    dirty: bool,
}

impl<E: Executor> Runner<E> {
    pub fn new(
        app: App,
        pictures: Pictures,
        executor: E,
        image_requests: Option<Sender<ImageRequest>>,
    ) -> Self {
        let mut runner = Runner {
            app,
            pictures,
            executor,
            image_requests,
            start: Instant::now(),
            dirty: true,
        };
        runner.request_images();
        runner
    }

    /// Handle one event; false when the loop should end.
    pub fn handle(&mut self, event: AppEvent) -> anyhow::Result<bool> {
        let effects = match event {
            AppEvent::Key(key) => {
                if key.kind != KeyEventKind::Press {
                    return Ok(true);
                }
                self.dirty = true;
                let effects = self.app.on_key(key);
                // A key may change the page (another class, a mode) without an effect.
                self.request_images();
                effects
            }
            AppEvent::Resize => {
                self.dirty = true;
                Vec::new()
            }
            AppEvent::Tick => {
                let effects = self.app.on_tick(self.start.elapsed());
                self.dirty |= !effects.is_empty();
                effects
            }
            AppEvent::Trainer(event) if !self.executor.wants(&event) => Vec::new(),
            AppEvent::Trainer(event) => {
                self.app.on_trainer(event.clone());
                self.executor.trainer_event(&event, &self.app)?;
                self.dirty = true;
                // A new ranking reorders the queue; a likely-mistakes queue brings a page.
                let reordered = matches!(
                    event,
                    TrainerEvent::Ranked { .. } | TrainerEvent::Suspects { .. }
                );
                if reordered {
                    self.request_images();
                }
                Vec::new()
            }
            AppEvent::Image { item, loaded, art } => {
                self.dirty |= self.app.current() == Some(item) && self.app.mode() == Mode::Single;
                self.pictures.insert(item, loaded, art);
                Vec::new()
            }
            AppEvent::Thumb { item, loaded, art } => {
                self.dirty |= self.app.mode() != Mode::Single && self.app.on_screen(item);
                self.pictures.insert_thumb(item, loaded, art);
                Vec::new()
            }
            AppEvent::Terminate => {
                self.app.quit = true;
                vec![Effect::Quit]
            }
        };
        for effect in &effects {
            self.executor.execute(effect, &self.app)?;
        }
        if !effects.is_empty() {
            self.request_images();
        }
        Ok(!self.app.quit)
    }

    fn request_images(&mut self) {
        let wanted: Vec<usize> = self
            .app
            .current()
            .into_iter()
            .chain(self.app.upcoming(PREFETCH))
            .collect();
        let mut request = Vec::new();
        // The page first when it is on screen; the single images stay decoded beside
        // it, for the way back.
        let page = self.app.grid_items();
        if !page.is_empty() {
            request.extend(self.pictures.want_thumbs(&page));
        }
        request.extend(self.pictures.want(&wanted));
        if let Some(tx) = &self.image_requests {
            for item in request {
                let _ = tx.send(item);
            }
        }
    }

    /// Give the app the review grid that fits `size`; a page that changes with it has
    /// its images requested.
    pub fn fit_review_grid(&mut self, size: Rect) {
        if let Some(grid) = view::review_grid(size) {
            let (cols, rows) = (usize::from(grid.cols), usize::from(grid.rows));
            if self.app.set_review_grid(cols, rows) {
                self.request_images();
            }
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn draw<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> anyhow::Result<()> {
        let size = terminal
            .size()
            .map_err(|error| anyhow::anyhow!("reading the screen's size: {error:?}"))?;
        self.fit_review_grid(Rect::new(0, 0, size.width, size.height));
        let Runner { app, pictures, .. } = self;
        terminal
            .draw(|frame| view::draw(frame, app, pictures))
            .map_err(|error| anyhow::anyhow!("drawing the screen: {error:?}"))?;
        self.dirty = false;
        Ok(())
    }

    /// Run until quit: draw when dirty, then handle the next events.
    pub fn run<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        events: &Receiver<AppEvent>,
    ) -> anyhow::Result<()> {
        loop {
            if self.dirty {
                self.draw(terminal)?;
            }
            if !self.pump(events)? {
                return Ok(());
            }
        }
    }

    /// Wait for an event, then handle it and every event already waiting, so a flood of
    /// trainer events never delays the frame after a key. False when the loop should end.
    pub fn pump(&mut self, events: &Receiver<AppEvent>) -> anyhow::Result<bool> {
        let Ok(event) = events.recv() else {
            return Ok(false);
        };
        if !self.handle(event)? {
            return Ok(false);
        }
        while let Ok(event) = events.try_recv() {
            if !self.handle(event)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Read terminal events on their own thread (key presses and resizes only).
pub fn spawn_input(tx: Sender<AppEvent>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("glean-input".into())
        .spawn(move || loop {
            let event = match crossterm::event::read() {
                Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => AppEvent::Key(key),
                Ok(Event::Resize(..)) => AppEvent::Resize,
                Ok(_) => continue,
                Err(error) => {
                    tracing::error!("reading terminal events: {error}");
                    AppEvent::Terminate
                }
            };
            let stop = matches!(event, AppEvent::Terminate);
            if tx.send(event).is_err() || stop {
                return;
            }
        })
        .map(drop)
}

/// Send a tick every [`TICK`] until the channel closes.
pub fn spawn_ticker(tx: Sender<AppEvent>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("glean-tick".into())
        .spawn(move || loop {
            std::thread::sleep(TICK);
            if tx.send(AppEvent::Tick).is_err() {
                return;
            }
        })
        .map(drop)
}

/// Turn SIGTERM, SIGHUP and SIGINT into [`AppEvent::Terminate`], so the loop ends the
/// ordinary way and the terminal is restored. A second signal ends the process at once
/// (every label is on disk before it is shown as done).
pub fn spawn_signal_watch(tx: Sender<AppEvent>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::Builder::new()
        .name("glean-signals".into())
        .spawn(move || {
            let mut signals = signals.forever();
            if let Some(signal) = signals.next() {
                tracing::info!("signal {signal}: quitting");
                let _ = tx.send(AppEvent::Terminate);
            }
            if let Some(signal) = signals.next() {
                tracing::warn!("signal {signal} again: leaving at once");
                ratatui::restore();
                leave_now(128 + signal);
            }
        })?;
    Ok(())
}

/// Deliver decoded images into the event channel.
pub fn image_sink(
    tx: Sender<AppEvent>,
) -> impl Fn(ImageRequest, Loaded, Option<BlockArt>) -> bool + Send + 'static {
    move |request, loaded, art| {
        let item = request.item;
        let event = if request.thumb {
            AppEvent::Thumb { item, loaded, art }
        } else {
            AppEvent::Image { item, loaded, art }
        };
        tx.send(event).is_ok()
    }
}

/// Ends the process at once with `code`, after flushing stdout and stderr, without
/// running exit handlers: for when everything is saved and only a thread stuck in
/// libtorch is left, whose teardown by the handlers could hang or crash the exit.
pub fn leave_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit takes no pointers and never returns; nothing of ours needs the
    // handlers it skips (files are synced by the session, the log guard was dropped).
    #[allow(unsafe_code, reason = "std has no exit that skips the exit handlers")]
    unsafe {
        libc::_exit(code)
    }
}
