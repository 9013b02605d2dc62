//! Owning the real terminal: raw mode and the alternate screen on the way in, restored
//! on every way out (normal exit, error, panic through ratatui's hook, SIGTERM through
//! the event loop), and logging to a file so nothing ever writes over the screen.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use tracing_appender::non_blocking::WorkerGuard;

use super::app::App;
use super::event_loop::{self, AppEvent, Executor, Runner};
use super::images::{spawn_loader, ImageSource, Pictures};
use super::render_mode::{self, RenderMode, TermEnv};

/// Send tracing output to `<data dir>/logs/glean.log`. Keep the guard alive while
/// logging; `GLEAN_LOG` sets the filter (default `info`).
pub fn init_logging() -> Option<WorkerGuard> {
    let file = glean_core::paths::log_file();
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return None;
    };
    if let Err(error) = std::fs::create_dir_all(dir) {
        eprintln!("glean: no log file ({}: {error})", dir.display());
        return None;
    }
    let (writer, guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::never(dir, name));
    let filter = tracing_subscriber::EnvFilter::try_from_env("GLEAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    installed.ok().map(|_| guard)
}

/// Panics on any thread but this one (the UI's) go to the log, never over the screen:
/// the trainer and the loaders catch theirs and say on the status line what failed,
/// but the panic hook runs before that, and by default prints to stderr (and
/// ratatui's restores the terminal, for good, under a screen still in use). A panic of
/// this thread still goes to the hooks installed before (ratatui's restores the
/// terminal, then the message and backtrace print below it). Call it again after a
/// hook of someone else's is installed.
pub fn route_thread_panics_to_log() {
    let ui = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        if thread.id() == ui {
            previous(info);
            return;
        }
        tracing::error!(
            "thread {} panicked: {info}\n{}",
            thread.name().unwrap_or("unnamed"),
            std::backtrace::Backtrace::force_capture()
        );
    }));
}

/// Restores the terminal when dropped, whichever way the screen is left.
struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Everything the screen needs from the wiring.
pub struct Screen<E: Executor> {
    pub app: App,
    pub images: Arc<dyn ImageSource>,
    pub executor: E,
    pub render: RenderMode,
    /// The one event channel; the trainer posts into `events.0` too.
    pub events: (Sender<AppEvent>, Receiver<AppEvent>),
}

/// Take over the terminal and run the labeler until quit; returns the final app state
/// and the executor (so the caller can flush and report).
pub fn run<E: Executor>(screen: Screen<E>) -> anyhow::Result<(App, E)> {
    let mut terminal = ratatui::try_init()?;
    let _restore = RestoreOnDrop;
    // After ratatui's hook, so that a background thread's panic reaches neither the
    // screen nor ratatui's restore.
    route_thread_panics_to_log();
    // Before the input thread starts, so a capability answer is never read as a key.
    let renderer = render_mode::choose(screen.render, &TermEnv::from_process());
    tracing::info!("rendering images with {}", renderer.describe());
    let (tx, rx) = screen.events;
    event_loop::spawn_signal_watch(tx.clone())?;
    event_loop::spawn_input(tx.clone())?;
    event_loop::spawn_ticker(tx.clone())?;
    let requests = spawn_loader(screen.images, event_loop::image_sink(tx.clone()))?;
    drop(tx);
    let names = screen.app.items.iter().map(|i| i.name.clone()).collect();
    let pictures = Pictures::new(renderer, names);
    let mut runner = Runner::new(screen.app, pictures, screen.executor, Some(requests));
    if let Err(error) = runner.run(&mut terminal, &rx) {
        // The terminal first, at once: the trainer may be inside a step of minutes,
        // and the person must get the shell back with the message below it.
        ratatui::restore();
        let stopped = runner.executor.abandon();
        return Err(ScreenError {
            error,
            background_left_running: !stopped,
        }
        .into());
    }
    Ok((runner.app, runner.executor))
}

/// The screen ended on an error, the terminal already restored.
#[derive(Debug)]
pub struct ScreenError {
    pub error: anyhow::Error,
    /// The trainer is still inside a step: the process should end without waiting
    /// for it (`event_loop::leave_now`).
    pub background_left_running: bool,
}

impl std::fmt::Display for ScreenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for ScreenError {
    /// The error's own causes, so that a chain reads as the error's would.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}
