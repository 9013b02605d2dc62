//! What is drawn over (or instead of) the main screen: the help, the class picker and
//! the too-small-terminal message.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::app::{escape_name, App};
use super::picker::ClassPicker;
use super::view::{MIN_HEIGHT, MIN_WIDTH};

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
    let key = |k: &str, what: &str| {
        Line::from(vec![
            Span::styled(
                format!(" {k:<10}"),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(what.to_string()),
        ])
    };
    let keyed = app.classes.iter().filter(|c| c.key.is_some()).count();
    let mut lines = vec![if app.many_classes {
        key("1 2 3", "label with the first, second or third guess")
    } else {
        key(
            "keys",
            &format!(
                "label with the key next to the class ({keyed} of {})",
                app.classes.len()
            ),
        )
    }];
    lines.extend([
        key("Enter", "label with the first guess (the guesses panel)"),
        key("/", "pick a class by typing part of its name"),
        key("u", "undo the last label (again and again)"),
        key("s", "skip this image (it comes back at the end)"),
        key("a", "auto-oracle on/off: labels from the file names"),
        key("?", "this help"),
        key("q Esc ^C", "quit (every label is already saved)"),
        Line::from(""),
        Line::from(format!(
            " The model retrains after every {} labels and re-ranks",
            app.batch
        )),
        Line::from(" the pool; until then labeling goes on with the last"),
        Line::from(" ranking. Any key closes this help."),
    ]);
    let inner = popup(size, 62, lines.len() as u16 + 2, "help", buf);
    Paragraph::new(lines).render(inner, buf);
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
