//! Drawing a frame from the app state: the image as large as the area allows, then the
//! side panel (what the model thinks, the class legend, the accuracy chart), the trainer
//! status line and the key line. Pure: the same state and pane give the same buffer.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};
use ratatui::Frame;

use super::app::{escape_name, App, Mode, Overlay, GUESS_KEYS};
use super::chrome::{class_keys, class_name, key_hints, percent, status_line};
pub use super::chrome::{too_small, ImagePane, MIN_HEIGHT, MIN_WIDTH};
use super::guess::{self, GuessSource};
use super::keymap::Command;
use super::overlays;
use super::picker::sorted_by_name;
pub use super::review_view::{review_grid, Grid, CELL_HEIGHT, CELL_WIDTH};

/// The side panel's narrowest width; it widens (up to two fifths of the terminal) for
/// long class names.
const SIDE_WIDTH: u16 = 42;

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub image: Rect,
    pub side: Rect,
    pub status: Rect,
    pub keys: Rect,
}

/// The layout for a terminal of `size`; None when it is too small.
pub fn areas(size: Rect, app: &App) -> Option<Areas> {
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        return None;
    }
    let [main, status, keys] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(size);
    let longest = app
        .classes
        .iter()
        .map(|c| escape_name(&c.name).chars().count())
        .max()
        .unwrap_or(0) as u16;
    // A guess line is the name plus about 22 columns of key, percentage and bar.
    let side_width = (longest + 22).clamp(SIDE_WIDTH, SIDE_WIDTH.max(size.width * 2 / 5));
    let [image, side] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(side_width)]).areas(main);
    Some(Areas {
        image,
        side,
        status,
        keys,
    })
}

/// Where the image goes for a terminal of `size`; the event loop uses it to size block
/// art before drawing.
pub fn image_area(size: Rect, app: &App) -> Option<Rect> {
    areas(size, app).map(|a| Block::bordered().inner(a.image))
}

pub fn draw(frame: &mut Frame, app: &App, pane: &mut dyn ImagePane) {
    let size = frame.area();
    let buf = frame.buffer_mut();
    draw_to_buffer(size, buf, app, pane);
}

pub fn draw_to_buffer(size: Rect, buf: &mut Buffer, app: &App, pane: &mut dyn ImagePane) {
    match app.mode() {
        Mode::Review => return super::review_view::draw(size, buf, app, pane),
        Mode::Mistakes => return super::mistakes_view::draw(size, buf, app, pane),
        Mode::Single => {}
    }
    let Some(Areas {
        image,
        side,
        status,
        keys,
    }) = areas(size, app)
    else {
        too_small(size, buf);
        return;
    };
    draw_image(image, buf, app, pane);
    let prediction_height = 7;
    let chart_height = (side.height / 3).clamp(6, 14);
    let [prediction, legend, chart] = Layout::vertical([
        Constraint::Length(prediction_height),
        Constraint::Fill(1),
        Constraint::Length(chart_height),
    ])
    .areas(side);
    draw_prediction(prediction, buf, app);
    draw_legend(legend, buf, app);
    draw_chart(chart, buf, app);
    Paragraph::new(status_line(app)).render(status, buf);
    Paragraph::new(key_line(app)).render(keys, buf);
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => overlays::help(size, buf, app),
        // Over the side panel, so the image stays in view.
        Overlay::Picker(picker) => overlays::picker(side, buf, app, picker),
    }
}

fn draw_image(area: Rect, buf: &mut Buffer, app: &App, pane: &mut dyn ImagePane) {
    let title = match app.current() {
        Some(item) => format!(" {} ", escape_name(&app.items[item].name)),
        None => " done ".to_string(),
    };
    let block = Block::bordered().title(Line::from(title).bold());
    let inner = block.inner(area);
    block.render(area, buf);
    match app.current() {
        Some(item) => pane.paint(item, inner, buf),
        None => {
            let text = format!("Every item of the pool is labeled ({}).", app.labeled());
            Paragraph::new(text)
                .centered()
                .render(inner.centered_vertically(Constraint::Length(1)), buf);
        }
    }
}

fn draw_prediction(area: Rect, buf: &mut Buffer, app: &App) {
    let block = Block::bordered().title(" guesses ");
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines = Vec::new();
    match app.current_guesses() {
        Some((source, top)) => {
            let name_width = usize::from(inner.width.saturating_sub(22)).max(6);
            for (rank, p) in top.iter().take(3).enumerate() {
                let key = if app.many_classes {
                    GUESS_KEYS[rank]
                } else {
                    app.classes
                        .get(usize::from(p.class))
                        .and_then(|c| c.key)
                        .unwrap_or(' ')
                };
                let name = class_name(app, p.class);
                let bar = "█".repeat((p.prob.clamp(0.0, 1.0) * 10.0).round() as usize);
                lines.push(Line::from(vec![
                    Span::styled(
                        format!(" {key} "),
                        Style::new().add_modifier(Modifier::BOLD).fg(Color::Yellow),
                    ),
                    Span::raw(format!(
                        "{:<name_width$.name_width$} {:>5.1}% ",
                        name,
                        percent(p.prob)
                    )),
                    Span::styled(bar, Style::new().fg(Color::Cyan)),
                ]));
            }
            let by = match source {
                GuessSource::ZeroShot => "ImageNet head".to_string(),
                GuessSource::Model => {
                    let learner = app.learner.as_deref().unwrap_or("model");
                    match app.ranking_labels {
                        // The cold start's guesses are the head's prior alone.
                        Some(0) => "ImageNet head (no label yet)".to_string(),
                        Some(1) => format!("{learner} (1 label)"),
                        Some(n) => format!("{learner} ({n} labels)"),
                        None => learner.to_string(),
                    }
                }
            };
            lines.push(Line::from(format!(" by {by} · ⏎ takes the 1st")).dim());
        }
        None if app.current().is_none() => {
            lines.push(Line::from(" nothing left to guess"));
        }
        None => {
            lines.push(Line::from(" no guess yet"));
        }
    }
    lines.push(match app.current_ranking() {
        None if app.current().is_none() => Line::default(),
        Some(ranked) if ranked.top.is_empty() => Line::from(format!(
            " why: {} pick (score {:.3})",
            app.strategy, ranked.score
        ))
        .dim(),
        Some(ranked) => {
            Line::from(format!(" why: {} score {:.3}", app.strategy, ranked.score)).dim()
        }
        // Labeled when the ranking was made, then undone: the next ranking scores it.
        None if app.ranking_labels.is_some() => {
            Line::from(" why: back after an undo; not ranked yet").dim()
        }
        None => Line::from(" order: shuffled until the 1st ranking").dim(),
    });
    let used = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    Paragraph::new(lines).render(inner, buf);
    // The wiring's standing note (no backbone, say), wrapped below, where room is left.
    if let Some(notice) = &app.notice {
        let [_, below] =
            Layout::vertical([Constraint::Length(used), Constraint::Fill(1)]).areas(inner);
        Paragraph::new(Line::from(notice.as_str()).fg(Color::Yellow))
            .wrap(Wrap { trim: true })
            .render(below.inner(Margin::new(1, 0)), buf);
    }
}

fn draw_legend(area: Rect, buf: &mut Buffer, app: &App) {
    let keyed = app.classes.iter().filter(|c| c.key.is_some()).count();
    let title = if keyed < app.classes.len() {
        format!(" classes ({}, / picks) ", app.classes.len())
    } else {
        format!(" classes ({}) ", app.classes.len())
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = usize::from(inner.height);
    if rows == 0 {
        return;
    }
    let counts = app.per_class();
    let current_guess = app
        .current_guesses()
        .and_then(|(_, top)| top.first())
        .map(|p| p.class);
    // Two columns of cut names for many keyed classes; without keys (more classes than
    // keys) the picker finds them, and one column shows whole names.
    let columns = if app.classes.len() > rows && inner.width >= 38 && !app.many_classes {
        2
    } else {
        1
    };
    let col_width = inner.width / columns;
    let capacity = rows * usize::from(columns);
    let shown = if app.classes.len() > capacity {
        capacity - 1
    } else {
        app.classes.len()
    };
    // In key order while every class has one; by name (case aside) when the keys go to
    // the guesses instead.
    let order: Vec<usize> = if app.many_classes {
        sorted_by_name(&app.classes)
    } else {
        (0..app.classes.len()).collect()
    };
    for (slot, i) in order.into_iter().take(shown).enumerate() {
        let class = &app.classes[i];
        let (col, row) = (slot / rows, slot % rows);
        let key = match (app.many_classes, class.key) {
            (true, _) => " ".to_string(),
            (false, Some(k)) => format!(" {k} "),
            (false, None) => " · ".to_string(),
        };
        let width = usize::from(col_width)
            .saturating_sub(5 + key.chars().count())
            .max(3);
        let style = if current_guess == Some(i as u16) {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new()
        };
        let line = Line::from(vec![
            Span::styled(
                key,
                Style::new().add_modifier(Modifier::BOLD).fg(Color::Yellow),
            ),
            Span::styled(
                format!("{:<width$.width$}", escape_name(&class.name)),
                style,
            ),
            Span::raw(format!("{:>4}", counts[i])),
        ]);
        let cell = Rect::new(
            inner.x + col as u16 * col_width,
            inner.y + row as u16,
            col_width,
            1,
        );
        line.render(cell, buf);
    }
    if shown < app.classes.len() {
        let more = format!(" +{} more (/)", app.classes.len() - shown);
        let row = Rect::new(inner.x, inner.y + inner.height - 1, inner.width, 1);
        if columns == 1 || shown < rows {
            Line::from(more).dim().render(row, buf);
        } else {
            let row = Rect::new(inner.x + col_width, row.y, col_width, 1);
            Line::from(more).dim().render(row, buf);
        }
    }
}

fn draw_chart(area: Rect, buf: &mut Buffer, app: &App) {
    let in_percent = |points: Vec<(usize, f64)>| -> Vec<(f64, f64)> {
        points
            .into_iter()
            .map(|(labels, acc)| (labels as f64, acc * 100.0))
            .collect()
    };
    // The title, the points, what shows without points, and the corner's end.
    let (title, points, empty, of) = if app.has_test_split {
        (
            " test accuracy vs labels ",
            in_percent(app.accuracy.clone()),
            " appears after the first round".to_string(),
            " ".to_string(),
        )
    } else if let Some((points, judged)) = app.audit_accuracy() {
        // The random checks estimate the accuracy on the whole folder; the strategy's
        // picks, its hardest images, would understate it.
        (
            " random checks: guessed right ",
            in_percent(points),
            String::new(),
            format!(" of {} ", judged.min(guess::CHART_WINDOW)),
        )
    } else {
        (
            " your labels: guessed right ",
            in_percent(app.label_accuracy()),
            format!(
                " no test split: after {} labels, how often\n the guess shown before each was right",
                app.batch
            ),
            " ".to_string(),
        )
    };
    let block = Block::bordered().title(title);
    if points.is_empty() {
        let inner = block.inner(area);
        block.render(area, buf);
        Paragraph::new(empty).dim().render(inner, buf);
        return;
    }
    let max_labels = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let last = points.last().map(|p| p.1).unwrap_or(0.0);
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(Color::Green))
        .data(&points);
    let chart = Chart::new(vec![dataset])
        .block(block.title_bottom(Line::from(format!(" now {last:.1}%{of}")).right_aligned()))
        .x_axis(
            Axis::default()
                .bounds([0.0, max_labels])
                .labels(["0".to_string(), format!("{max_labels:.0}")]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 100.0])
                .labels(["0", "50", "100"]),
        );
    chart.render(area, buf);
}

fn key_line(app: &App) -> Line<'static> {
    let label_keys = class_keys(app, "label", "1-3 guess".to_string());
    let key = |command| app.keymap.short(command);
    key_hints(
        &format!(
            " {label_keys}  {} 1st guess  {} pick  {} undo  {} skip  {} review",
            key(Command::AcceptGuess),
            key(Command::Pick),
            key(Command::Undo),
            key(Command::Skip),
            key(Command::Review),
        ),
        app,
    )
}
