//! What every screen shares: the image pane the screens paint through, the minimum
//! terminal size and the screen drawn below it, the trainer's status line, class names
//! and the key line's hints. The single-image view and the review and likely-mistakes
//! grids all draw with these; none of them imports another screen.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use glean_core::BackgroundWork;

use super::app::{escape_name, App};
use super::keymap::Command;
use super::types::TrainerStatus;

/// Smallest terminal the layout works in.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 18;

/// Draws the image of an item into the area it is given.
pub trait ImagePane {
    fn paint(&mut self, item: usize, area: Rect, buf: &mut Buffer);

    /// A review grid's thumbnail of `item` (by default as `paint` draws it).
    fn paint_thumb(&mut self, item: usize, area: Rect, buf: &mut Buffer) {
        self.paint(item, area, buf);
    }
}

pub(crate) fn class_name(app: &App, class: u16) -> String {
    app.classes
        .get(usize::from(class))
        .map(|c| escape_name(&c.name))
        .unwrap_or_else(|| format!("class {class}"))
}

/// A probability in percent to one decimal, cut rather than rounded: below 1 it never
/// reads 100.0 %.
pub(crate) fn percent(prob: f32) -> f32 {
    (prob.clamp(0.0, 1.0) * 1000.0).floor() / 10.0
}

pub(crate) fn status_line(app: &App) -> Line<'static> {
    let state = match &app.trainer {
        TrainerStatus::Starting => {
            Span::styled("starting (first ranking)", Style::new().fg(Color::Yellow))
        }
        TrainerStatus::Preparing {
            what,
            done,
            total,
            per_second,
        } => Span::styled(
            preparing(what, *done, *total, *per_second),
            Style::new().fg(Color::Yellow),
        ),
        TrainerStatus::Idle => Span::styled("idle", Style::new().fg(Color::Green)),
        TrainerStatus::Training { steps: 0, .. } => {
            Span::styled("training…", Style::new().fg(Color::Yellow))
        }
        TrainerStatus::Training { step, steps, loss } => {
            let mut text = format!("training step {step}/{steps}");
            if let Some(loss) = loss {
                text.push_str(&format!(" loss {loss:.4}"));
            }
            Span::styled(text, Style::new().fg(Color::Yellow))
        }
        TrainerStatus::Scoring => Span::styled("scoring pool", Style::new().fg(Color::Yellow)),
    };
    let mut spans = vec![Span::raw(" trainer: "), state];
    spans.push(Span::raw(format!(" │ model v{}", app.model_version)));
    if let Some(device) = &app.device {
        spans.push(Span::raw(format!(" │ {device}")));
    }
    if let Some(round) = app.last_round {
        spans.push(Span::raw(format!(
            " │ last round {:.1}s",
            round.as_secs_f64()
        )));
    }
    spans.push(Span::raw(format!(
        " │ labeled {}/{} │ batch {}/{}",
        app.labeled(),
        app.pool_size(),
        app.labels_since_round(),
        app.batch
    )));
    if app.mistakes_pending().is_some() {
        spans.push(Span::styled(
            " │ finding likely mistakes…",
            Style::new().fg(Color::Yellow),
        ));
    }
    // Last but the warnings: the line is cut at the screen's edge, and the counts matter
    // more.
    if let Some(work) = &app.background {
        spans.push(Span::raw(" │ "));
        spans.push(Span::styled(
            background(work),
            Style::new().fg(if work.finished {
                Color::Green
            } else {
                Color::Yellow
            }),
        ));
    }
    let left_out = app.unusable_count();
    if left_out > 0 {
        spans.push(Span::raw(format!(" │ {left_out} undecodable")));
    }
    if let Some(error) = &app.last_error {
        spans.push(Span::styled(
            format!(" │ error: {}", escape_name(error)),
            Style::new().fg(Color::Red),
        ));
    }
    Line::from(spans)
}

/// The work beside the rounds: `autoencoder 12/50 epochs`, then `autoencoder ready
/// (next round)` while its graph waits to join.
fn background(work: &BackgroundWork) -> String {
    let what = &work.what;
    if work.finished {
        format!("{what} ready (next round)")
    } else if work.total == 0 {
        format!("{what}…")
    } else {
        format!("{what} {}/{} epochs", work.done, work.total)
    }
}

/// `what done/total`, with the rate and the time left when the step measures them.
fn preparing(what: &str, done: usize, total: usize, per_second: Option<f64>) -> String {
    if total <= 1 {
        return format!("preparing {what}");
    }
    let mut text = format!("{what} {done}/{total}");
    if let Some(rate) = per_second.filter(|r| *r > 0.0) {
        let left = (total.saturating_sub(done) as f64 / rate).round() as u64;
        let left = if left >= 60 {
            format!("{}m{:02}s", left / 60, left % 60)
        } else {
            format!("{left}s")
        };
        text.push_str(&format!(" · {rate:.1}/s · {left} left"));
    }
    text
}

/// The class keys as a key line names them: `a…b verb` over the keyed classes, or
/// `many` when the classes are too many for keys (the keys take the guesses).
pub(crate) fn class_keys(app: &App, verb: &str, many: String) -> String {
    let keyed: Vec<char> = app.classes.iter().filter_map(|c| c.key).collect();
    match (keyed.first(), keyed.last()) {
        _ if app.many_classes => many,
        (Some(a), Some(b)) if keyed.len() > 1 => format!("{a}…{b} {verb}"),
        (Some(a), _) => format!("{a} {verb}"),
        _ => format!("{} {verb}", app.keymap.short(Command::Pick)),
    }
}

/// A key line: the screen's own `keys`, then the auto-oracle's, the help's and quit's,
/// dim, with the app's note after them.
pub(crate) fn key_hints(keys: &str, app: &App) -> Line<'static> {
    let key = |command| app.keymap.short(command);
    let auto = if app.auto { " ON" } else { "" };
    let mut spans = vec![Span::raw(format!(
        "{keys}  {} auto{auto}  {} help  {} quit",
        key(Command::Auto),
        key(Command::Help),
        key(Command::Quit),
    ))
    .dim()];
    if let Some(message) = &app.message {
        spans.push(Span::styled(
            format!("  {}", escape_name(message)),
            Style::new().fg(Color::Magenta),
        ));
    }
    Line::from(spans)
}

/// Drawn instead of the main screen when the terminal is below the minimum size.
pub fn too_small(size: Rect, buf: &mut Buffer) {
    let text = vec![
        Line::from("Terminal too small").bold(),
        Line::from(format!(
            "{}×{} now, glean needs {MIN_WIDTH}×{MIN_HEIGHT}",
            size.width, size.height
        )),
        Line::from("Enlarge the window, or q to quit."),
    ];
    let area = size.centered_vertically(Constraint::Length(3));
    Paragraph::new(text)
        .centered()
        .wrap(Wrap { trim: true })
        .render(area, buf);
}
