//! What is drawn over the main screen: the help and the class picker.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::app::{escape_name, App, Mode};
use super::keymap::Command;
use super::picker::ClassPicker;

fn popup(size: Rect, width: u16, height: u16, title: &str, buf: &mut Buffer) -> Rect {
    let area = size.centered(
        Constraint::Length(width.min(size.width)),
        Constraint::Length(height.min(size.height)),
    );
    Clear.render(area, buf);
    let block = Block::bordered()
        .title(Line::from(format!(" {title} ")).bold())
        .border_style(Style::new().fg(Color::Cyan));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

pub fn help(size: Rect, buf: &mut Buffer, app: &App) {
    match app.mode() {
        Mode::Review => return review_help(size, buf, app),
        Mode::Mistakes => return mistakes_help(size, buf, app),
        Mode::Single => {}
    }
    let keyed = app.classes.iter().filter(|c| c.key.is_some()).count();
    let labeling = if app.many_classes {
        (
            "1 2 3".to_string(),
            "label with the first, second or third guess".to_string(),
        )
    } else {
        (
            "keys".to_string(),
            format!(
                "label with the key next to the class ({keyed} of {})",
                app.classes.len()
            ),
        )
    };
    let keys = |command| app.keymap.describe(command);
    let rows = [
        labeling,
        (
            keys(Command::AcceptGuess),
            "label with the first guess (the guesses panel)".into(),
        ),
        (
            keys(Command::Pick),
            "pick a class by typing part of its name".into(),
        ),
        (
            keys(Command::Undo),
            "undo the last label (again and again)".into(),
        ),
        (
            keys(Command::Skip),
            "skip this image (it comes back at the end)".into(),
        ),
        (
            keys(Command::Review),
            "review: pages of one predicted class at a time".into(),
        ),
        (
            keys(Command::Mistakes),
            "likely mistakes: labels the graph doubts most".into(),
        ),
        (
            keys(Command::Auto),
            "auto-oracle on/off: labels from the file names".into(),
        ),
        (keys(Command::Help), "this help".into()),
        (
            format!("{} ^C", keys(Command::Quit)),
            "quit (every label is already saved)".into(),
        ),
    ];
    let notes = [
        Line::from(format!(
            " The model retrains after every {} labels and re-ranks",
            app.batch
        )),
        Line::from(" the pool; until then labeling goes on with the last"),
        Line::from(" ranking. Any key closes this help."),
    ];
    help_popup(size, buf, "help", 52, Vec::from(rows), notes);
}

/// A help popup: the key rows, a blank line and the notes; `text_width` fits the rows'
/// descriptions and the notes beside the keys' column.
fn help_popup(
    size: Rect,
    buf: &mut Buffer,
    title: &str,
    text_width: u16,
    rows: Vec<(String, String)>,
    notes: impl IntoIterator<Item = Line<'static>>,
) {
    let (width, mut lines) = key_rows(rows);
    lines.push(Line::from(""));
    lines.extend(notes);
    let inner = popup(
        size,
        text_width + width as u16,
        lines.len() as u16 + 2,
        title,
        buf,
    );
    Paragraph::new(lines).render(inner, buf);
}

/// The help rows' keys column width and lines.
fn key_rows(rows: Vec<(String, String)>) -> (usize, Vec<Line<'static>>) {
    // The keys' column fits a user's longer keys too.
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count() + 1)
        .max()
        .unwrap_or(0)
        .max(10);
    let lines = rows
        .into_iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:<width$}"),
                    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
                ),
                Span::raw(what),
            ])
        })
        .collect();
    (width, lines)
}

/// The help of the review screen.
fn review_help(size: Rect, buf: &mut Buffer, app: &App) {
    let keys = |command| app.keymap.describe(command);
    let marking = if app.many_classes {
        (
            format!("1 2 3 {}", keys(Command::Pick)),
            "mark the image as its 1st/2nd/3rd guess, or pick a class".to_string(),
        )
    } else {
        (
            "keys".to_string(),
            "mark the image as that class (the page's own: unmark)".to_string(),
        )
    };
    let rows = vec![
        ("←↑↓→".to_string(), "move over the page".to_string()),
        marking,
        (
            keys(Command::NotThisClass),
            "mark as not this class (it stays unlabeled)".into(),
        ),
        (
            keys(Command::AcceptGuess),
            "confirm the page: the rest take the class shown".into(),
        ),
        (
            format!("{} {}", keys(Command::PrevClass), keys(Command::NextClass)),
            "the previous / next class's page".into(),
        ),
        (
            keys(Command::Undo),
            "take back the last page (or label)".into(),
        ),
        (
            keys(Command::Review),
            "back to labeling one image at a time".into(),
        ),
        (
            keys(Command::Mistakes),
            "likely mistakes: labels the graph doubts most".into(),
        ),
        (
            keys(Command::Auto),
            "auto-oracle on/off: reviews pages from the file names".into(),
        ),
        (keys(Command::Help), "this help".into()),
        (
            format!("{} ^C", keys(Command::Quit)),
            "quit (every page is already saved)".into(),
        ),
    ];
    let notes = [
        Line::from(" A page shows the images the model assigns to one class,"),
        Line::from(" surest first. Confirmed pages count toward the batch of"),
        Line::from(format!(
            " {} labels after which the model retrains. Any key closes",
            app.batch
        )),
        Line::from(" this help."),
    ];
    help_popup(size, buf, "review help", 56, rows, notes);
}

/// The help of the likely-mistakes screen.
fn mistakes_help(size: Rect, buf: &mut Buffer, app: &App) {
    let keys = |command| app.keymap.describe(command);
    let marking = if app.many_classes {
        (
            format!("1 {}", keys(Command::Pick)),
            "give the label the predicted class, or pick one".to_string(),
        )
    } else {
        (
            "keys".to_string(),
            "give the label that class (its own: unmark)".to_string(),
        )
    };
    let rows = vec![
        ("←↑↓→".to_string(), "move over the page".to_string()),
        marking,
        (keys(Command::NotThisClass), "unmark".into()),
        (
            keys(Command::AcceptGuess),
            "confirm the page: marked labels change, the rest stand".into(),
        ),
        (
            keys(Command::Undo),
            "take back the last page (its labels as they were)".into(),
        ),
        (
            keys(Command::Mistakes),
            "find the likely mistakes anew (the labels as they are)".into(),
        ),
        (keys(Command::Review), "back to where you came from".into()),
        (
            keys(Command::Auto),
            "auto-oracle on/off: corrects from the file names".into(),
        ),
        (keys(Command::Help), "this help".into()),
        (
            format!("{} ^C", keys(Command::Quit)),
            "quit (every page is already saved)".into(),
        ),
    ];
    let notes = [
        " Each label is judged by the graph's propagation of the",
        " other nine folds' labels, least believed first. Under",
        " each image: its label, how much that propagation",
        " believes it, and the class it predicts. Any key closes",
        " this help.",
    ];
    help_popup(
        size,
        buf,
        "likely mistakes help",
        58,
        rows,
        notes.map(Line::from),
    );
}

/// The class picker, filling `area` (the side panel, so the image stays in view).
pub fn picker(area: Rect, buf: &mut Buffer, app: &App, picker: &ClassPicker) {
    let inner = popup(area, area.width, area.height, "pick a class", buf);
    if inner.height < 3 {
        return;
    }
    let matches = picker.matches(&app.classes);
    let prompt = Line::from(vec![
        Span::raw(" filter: "),
        Span::styled(
            format!("{}█", escape_name(&picker.filter)),
            Style::new().fg(Color::Yellow),
        ),
    ]);
    prompt.render(Rect::new(inner.x, inner.y, inner.width, 1), buf);
    let footer = format!(
        " {}/{} · ↑↓ · ⏎ label · Esc",
        matches.len(),
        app.classes.len()
    );
    Line::from(footer)
        .dim()
        .render(Rect::new(inner.x, inner.bottom() - 1, inner.width, 1), buf);
    let list_rows = usize::from(inner.height - 2);
    let first = picker.selected.saturating_sub(list_rows.saturating_sub(1));
    let counts = app.per_class();
    for (row, &class) in matches.iter().skip(first).take(list_rows).enumerate() {
        let selected = first + row == picker.selected;
        let name_width = usize::from(inner.width).saturating_sub(9);
        let text = format!(
            "{} {:<name_width$.name_width$}{:>5}",
            if selected { "▶" } else { " " },
            escape_name(&app.classes[class].name),
            counts[class]
        );
        let style = if selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        Line::styled(text, style).render(
            Rect::new(inner.x, inner.y + 1 + row as u16, inner.width, 1),
            buf,
        );
    }
    if matches.is_empty() {
        Line::from(" no class matches")
            .dim()
            .render(Rect::new(inner.x, inner.y + 1, inner.width, 1), buf);
    }
}
