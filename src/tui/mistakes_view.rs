//! Drawing the likely-mistakes screen: the queue's model version and label count, a
//! grid of the labels it doubts most (each thumbnail over its label, how much the
//! held-out propagation believes that label, and the class it predicts instead), or
//! what the screen waits for. Pure, as the other views are.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::{escape_name, App, MistakesPage, Mode};
use super::keymap::Command;
use super::review_view::{draw_overlay, paint_badge, paint_caption, review_areas, Grid};
use super::view::{class_name, status_line, too_small, with_message, ImagePane};

pub fn draw(size: Rect, buf: &mut Buffer, app: &App, pane: &mut dyn ImagePane) {
    let Some(areas) = review_areas(size) else {
        too_small(size, buf);
        return;
    };
    Paragraph::new(header(app)).render(areas.header, buf);
    match app.mistakes_page() {
        Some(page) => draw_grid(&areas.grid, buf, app, page, pane),
        None => draw_empty(areas.body, buf, app),
    }
    Paragraph::new(status_line(app)).render(areas.status, buf);
    Paragraph::new(key_line(app)).render(areas.keys, buf);
    draw_overlay(size, &areas, buf, app);
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
        pane.paint_thumb(suspect.item, image, buf);
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
    let text = vec![
        Line::from(why).bold(),
        Line::from(""),
        Line::from(then).dim(),
    ];
    Paragraph::new(text)
        .centered()
        .wrap(Wrap { trim: true })
        .render(area.centered_vertically(Constraint::Length(4)), buf);
}

fn key_line(app: &App) -> Line<'static> {
    let keyed: Vec<char> = app.classes.iter().filter_map(|c| c.key).collect();
    let key = |command| app.keymap.short(command);
    let mark_keys = match (keyed.first(), keyed.last()) {
        _ if app.many_classes => format!("1 predicted {} pick", key(Command::Pick)),
        (Some(a), Some(b)) if keyed.len() > 1 => format!("{a}…{b} right class"),
        (Some(a), _) => format!("{a} right class"),
        _ => format!("{} right class", key(Command::Pick)),
    };
    let auto = if app.auto { " ON" } else { "" };
    let spans = vec![Span::raw(format!(
        " ←↑↓→ move  {mark_keys}  {} unmark  {} confirm page  {} undo  {} anew  {} back  {} auto{auto}  {} help  {} quit",
        key(Command::NotThisClass),
        key(Command::AcceptGuess),
        key(Command::Undo),
        key(Command::Mistakes),
        key(Command::Review),
        key(Command::Auto),
        key(Command::Help),
        key(Command::Quit),
    ))
    .dim()];
    with_message(spans, app)
}
