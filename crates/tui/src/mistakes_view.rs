//! Drawing the likely-mistakes screen: the queue's model version and label count, a
//! grid of the labels it doubts most (each thumbnail over its label, how much the
//! held-out propagation believes that label, and the class it predicts instead), or
//! what the screen waits for. Pure, as the other views are.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::app::{escape_name, App, MistakesPage, Mode};
use super::chrome::{class_keys, class_name, key_hints, ImagePane};
use super::keymap::Command;
use super::review_view::{draw_notice, draw_screen, paint_badge, paint_caption, Grid};

pub fn draw(size: Rect, buf: &mut Buffer, app: &App, pane: &mut dyn ImagePane) {
    draw_screen(
        size,
        buf,
        app,
        header(app),
        key_line(app),
        |areas, buf| match app.mistakes_page() {
            Some(page) => draw_grid(&areas.grid, buf, app, page, pane),
            None => draw_empty(areas.body, buf, app),
        },
    );
}

fn header(app: &App) -> Line<'static> {
    let mut spans = vec![Span::styled(
        " likely mistakes",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if let Some(labels) = app.mistakes_pending() {
        spans.push(Span::styled(
            format!(": judging {labels} labels…"),
            Style::new().fg(Color::Yellow),
        ));
        return Line::from(spans);
    }
    let Some(queue) = app.mistakes_queue() else {
        return Line::from(spans);
    };
    spans.push(Span::styled(
        format!(
            ": queue from model v{}, {} labels",
            queue.model_version, queue.labels
        ),
        Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan),
    ));
    // What matters most first: the line is cut at the screen's edge.
    let mut rest = String::new();
    if let Some(page) = app.mistakes_page() {
        rest.push_str(&format!(
            " · page {}, {} to check",
            page.number,
            app.mistakes_to_check()
        ));
        let marked = page.marked();
        if marked > 0 {
            rest.push_str(&format!(" · {marked} marked"));
        }
        rest.push_str(" · shown: label p%→predicted");
    }
    spans.push(Span::raw(rest));
    Line::from(spans)
}

/// A class as a cell names it: its key, else the start of its name.
fn tag(app: &App, class: u16) -> String {
    match app.classes.get(usize::from(class)).and_then(|c| c.key) {
        Some(key) => key.to_string(),
        None => class_name(app, class).chars().take(3).collect(),
    }
}

fn draw_grid(
    grid: &Grid,
    buf: &mut Buffer,
    app: &App,
    page: &MistakesPage,
    pane: &mut dyn ImagePane,
) {
    for (index, suspect) in page.cells.iter().enumerate().take(grid.capacity()) {
        let (image, caption) = grid.cell(index);
        pane.paint_thumb(suspect.pool_index, image, buf);
        let mark = page.marks.get(index).copied().flatten();
        if let Some(class) = mark {
            paint_badge(tag(app, class).chars().take(1).collect(), image, buf);
        }
        let (text, style) = match mark {
            None => {
                let believed = format!(
                    "{} {:.0}%",
                    tag(app, suspect.given),
                    suspect.prob_given * 100.0
                );
                if suspect.predicted == suspect.given {
                    (believed, Style::new().dim())
                } else {
                    (
                        format!("{believed}→{}", tag(app, suspect.predicted)),
                        Style::new(),
                    )
                }
            }
            Some(class) => (
                format!("→{} {}", tag(app, class), class_name(app, class)),
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            ),
        };
        paint_caption(&text, style, index == page.cursor, caption, buf);
    }
}

fn draw_empty(area: Rect, buf: &mut Buffer, app: &App) {
    let back = format!(
        "{} goes back to {}.",
        app.keymap.short(Command::Review),
        match app.mistakes_from() {
            Mode::Review => "the review pages",
            _ => "labeling one image at a time",
        }
    );
    let again = app.keymap.short(Command::Mistakes);
    let (why, then) = if let Some(labels) = app.mistakes_pending() {
        (
            format!("Finding the likely mistakes among {labels} labels…"),
            format!(
                "Each label is judged by the graph's propagation of the other folds' labels, \
                 on the trainer (a second for 1,000 labels, a minute for 60,000). {back}"
            ),
        )
    } else if let Some(error) = app.mistakes_error() {
        (format!("No likely mistakes: {}", escape_name(error)), back)
    } else if let Some(queue) = app.mistakes_queue() {
        (
            format!(
                "Every label of the queue (model v{}, {} labels) is checked.",
                queue.model_version, queue.labels
            ),
            format!("{again} finds the likely mistakes anew. {back}"),
        )
    } else {
        (
            "No likely-mistakes queue yet.".to_string(),
            format!("{again} finds the likely mistakes. {back}"),
        )
    };
    draw_notice(area, buf, &why, &then, 4);
}

fn key_line(app: &App) -> Line<'static> {
    let key = |command| app.keymap.short(command);
    let mark_keys = class_keys(
        app,
        "right class",
        format!("1 predicted {} pick", key(Command::Pick)),
    );
    key_hints(
        &format!(
            " ←↑↓→ move  {mark_keys}  {} unmark  {} confirm page  {} undo  {} anew  {} back",
            key(Command::NotThisClass),
            key(Command::AcceptGuess),
            key(Command::Undo),
            key(Command::Mistakes),
            key(Command::Review),
        ),
        app,
    )
}
