//! Drawing a frame from the app state: the image as large as the area allows, then the
//! side panel (what the model thinks, the class legend, the accuracy chart), the trainer
//! status line and the key line. Pure: the same state and pane give the same buffer.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget};
use ratatui::Frame;

use super::app::{escape_name, App, Overlay};
use super::overlays;
use super::types::TrainerStatus;

/// Smallest terminal the layout works in.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 18;
const SIDE_WIDTH: u16 = 42;

/// Draws the image of the current item into the area it is given.
pub trait ImagePane {
    fn paint(&mut self, item: usize, area: Rect, buf: &mut Buffer);
}

/// Where the image goes for a terminal of `size`; the event loop uses it to size block
/// art before drawing.
pub fn image_area(size: Rect) -> Option<Rect> {
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        return None;
    }
    let [main, _, _] = rows(size);
    let [image, _] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(SIDE_WIDTH)]).areas(main);
    Some(Block::bordered().inner(image))
}

fn rows(size: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(size)
}

pub fn draw(frame: &mut Frame, app: &App, pane: &mut dyn ImagePane) {
    let size = frame.area();
    let buf = frame.buffer_mut();
    draw_to_buffer(size, buf, app, pane);
}

pub fn draw_to_buffer(size: Rect, buf: &mut Buffer, app: &App, pane: &mut dyn ImagePane) {
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        overlays::too_small(size, buf);
        return;
    }
    let [main, status, keys] = rows(size);
    let [image, side] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(SIDE_WIDTH)]).areas(main);
    draw_image(image, buf, app, pane);
    let prediction_height = 6;
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
        Overlay::Picker(picker) => overlays::picker(size, buf, app, picker),
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
    let block = Block::bordered().title(" model ");
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines = Vec::new();
    match app.current_ranking() {
        Some(ranked) if !ranked.top.is_empty() => {
            let name_width = usize::from(inner.width.saturating_sub(20)).max(6);
            for p in ranked.top.iter().take(3) {
                let name = class_name(app, p.class);
                let bar = "█".repeat((p.prob.clamp(0.0, 1.0) * 10.0).round() as usize);
                lines.push(Line::from(vec![
                    Span::raw(format!(
                        " {:<name_width$.name_width$} {:>5.1}% ",
                        name,
                        p.prob * 100.0
                    )),
                    Span::styled(bar, Style::new().fg(Color::Cyan)),
                ]));
            }
            let learner = app.learner.as_deref().unwrap_or("model");
            let version = app
                .ranking_version
                .map(|v| format!(" v{v}"))
                .unwrap_or_default();
            lines.push(
                Line::from(format!(
                    " why: {} score {:.3} ({learner}{version})",
                    app.strategy, ranked.score
                ))
                .dim(),
            );
        }
        Some(ranked) => {
            lines.push(Line::from(" no prediction: no model yet"));
            lines.push(
                Line::from(format!(
                    " why: {} pick (score {:.3})",
                    app.strategy, ranked.score
                ))
                .dim(),
            );
        }
        None => {
            lines.push(Line::from(" no prediction yet"));
            lines.push(Line::from(" shown in pool order until the first").dim());
            lines.push(Line::from(format!(" ranking ({})", app.strategy)).dim());
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

fn class_name(app: &App, class: u16) -> String {
    app.classes
        .get(usize::from(class))
        .map(|c| escape_name(&c.name))
        .unwrap_or_else(|| format!("class {class}"))
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
        .current_ranking()
        .and_then(|r| r.top.first())
        .map(|p| p.class);
    let columns = if app.classes.len() > rows && inner.width >= 38 {
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
    for (i, class) in app.classes.iter().enumerate().take(shown) {
        let (col, row) = (i / rows, i % rows);
        let key = class
            .key
            .map(|k| k.to_string())
            .unwrap_or_else(|| "·".into());
        let width = usize::from(col_width).saturating_sub(8).max(3);
        let style = if current_guess == Some(i as u16) {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new()
        };
        let line = Line::from(vec![
            Span::styled(
                format!(" {key} "),
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
    let block = Block::bordered().title(" test accuracy vs labels ");
    if app.accuracy.is_empty() {
        let inner = block.inner(area);
        block.render(area, buf);
        Paragraph::new(" appears after the first round")
            .dim()
            .render(inner, buf);
        return;
    }
    let points: Vec<(f64, f64)> = app
        .accuracy
        .iter()
        .map(|&(labels, acc)| (labels as f64, acc * 100.0))
        .collect();
    let max_labels = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let last = points.last().map(|p| p.1).unwrap_or(0.0);
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(Color::Green))
        .data(&points);
    let chart = Chart::new(vec![dataset])
        .block(block.title_bottom(Line::from(format!(" now {last:.1}% ")).right_aligned()))
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

fn status_line(app: &App) -> Line<'static> {
    let state = match &app.trainer {
        TrainerStatus::Starting => {
            Span::styled("starting (first ranking)", Style::new().fg(Color::Yellow))
        }
        TrainerStatus::Preparing { what, done, total } => Span::styled(
            if *total > 1 {
                format!("preparing {what} {done}/{total}")
            } else {
                format!("preparing {what}")
            },
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
    if let Some(error) = &app.last_error {
        spans.push(Span::styled(
            format!(" │ error: {}", escape_name(error)),
            Style::new().fg(Color::Red),
        ));
    }
    Line::from(spans)
}

fn key_line(app: &App) -> Line<'static> {
    let keyed: Vec<char> = app.classes.iter().filter_map(|c| c.key).collect();
    let label_keys = match (keyed.first(), keyed.last()) {
        (Some(a), Some(b)) if keyed.len() > 1 => format!("{a}…{b} label"),
        (Some(a), _) => format!("{a} label"),
        _ => "/ label".into(),
    };
    let auto = if app.auto { "a auto ON" } else { "a auto" };
    let mut spans = vec![Span::raw(format!(
        " {label_keys}  / pick  u undo  s skip  {auto}  ? help  q quit"
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
