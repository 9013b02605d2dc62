//! Drawing the review screen: the page's class and confidence range, a grid of
//! thumbnails with each image's probability or mark under it, the trainer's status
//! line and the review keys. Pure, as the single view is.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::{App, Mark, Overlay, ReviewPage};
use super::chrome::{
    class_keys, class_name, key_hints, percent, status_line, too_small, ImagePane, MIN_HEIGHT,
    MIN_WIDTH,
};
use super::keymap::Command;
use super::overlays;

/// A grid cell: the thumbnail over a caption line, with one blank column to its right.
/// 12×6 cells put 60 images on a 120×40 terminal, each 11×5 characters: a 28×28 digit
/// as 10×10 half blocks (20×15 sextants), enough to read it.
pub const CELL_WIDTH: u16 = 12;
pub const CELL_HEIGHT: u16 = 6;

/// Below this probability (the model more likely wrong than right) a caption on a page
/// of several classes is marked unsure.
pub const UNSURE_BELOW: f32 = 0.5;

/// Where the review grid's cells go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub area: Rect,
    pub cols: u16,
    pub rows: u16,
}

impl Grid {
    /// How many images a page of this grid holds.
    pub fn capacity(&self) -> usize {
        usize::from(self.cols) * usize::from(self.rows)
    }

    /// Cell `index`'s thumbnail and caption areas (row by row).
    pub fn cell(&self, index: usize) -> (Rect, Rect) {
        let cols = usize::from(self.cols.max(1));
        let (col, row) = ((index % cols) as u16, (index / cols) as u16);
        let x = self.area.x + col * CELL_WIDTH;
        let y = self.area.y + row * CELL_HEIGHT;
        let width = CELL_WIDTH - 1;
        (
            Rect::new(x, y, width, CELL_HEIGHT - 1),
            Rect::new(x, y + CELL_HEIGHT - 1, width, 1),
        )
    }
}

/// Where the parts of a grid screen (review, likely mistakes) go.
pub(super) struct ReviewAreas {
    pub header: Rect,
    pub body: Rect,
    pub grid: Grid,
    pub status: Rect,
    pub keys: Rect,
}

pub(super) fn review_areas(size: Rect) -> Option<ReviewAreas> {
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        return None;
    }
    let [header, body, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(size);
    let cols = body.width / CELL_WIDTH;
    let rows = body.height / CELL_HEIGHT;
    // Centred, counting the last column's blank as the margin it is.
    let width = cols * CELL_WIDTH;
    let x = body.x + (body.width + 1).saturating_sub(width) / 2;
    let grid = Grid {
        area: Rect::new(x, body.y, width, rows * CELL_HEIGHT),
        cols,
        rows,
    };
    Some(ReviewAreas {
        header,
        body,
        grid,
        status,
        keys,
    })
}

/// The review grid for a terminal of `size` (None: too small for any screen). The event
/// loop gives the app its columns and rows, which size the pages.
pub fn review_grid(size: Rect) -> Option<Grid> {
    review_areas(size).map(|a| a.grid)
}

pub fn draw(size: Rect, buf: &mut Buffer, app: &App, pane: &mut dyn ImagePane) {
    draw_screen(
        size,
        buf,
        app,
        header(app),
        key_line(app),
        |areas, buf| match app.page() {
            Some(page) => draw_grid(&areas.grid, buf, app, page, pane),
            None => draw_empty(areas.body, buf, app),
        },
    );
}

/// A grid screen (review, likely mistakes): `header`, the body `body` draws (the grid,
/// or why there is none), the trainer's status line, the `keys` and any overlay; or
/// the too-small note.
pub(super) fn draw_screen(
    size: Rect,
    buf: &mut Buffer,
    app: &App,
    header: Line<'static>,
    keys: Line<'static>,
    body: impl FnOnce(&ReviewAreas, &mut Buffer),
) {
    let Some(areas) = review_areas(size) else {
        too_small(size, buf);
        return;
    };
    Paragraph::new(header).render(areas.header, buf);
    body(&areas, buf);
    Paragraph::new(status_line(app)).render(areas.status, buf);
    Paragraph::new(keys).render(areas.keys, buf);
    draw_overlay(size, &areas, buf, app);
}

/// The help or the picker over a grid screen.
fn draw_overlay(size: Rect, areas: &ReviewAreas, buf: &mut Buffer, app: &App) {
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => overlays::help(size, buf, app),
        Overlay::Picker(picker) => {
            // At the right, over the grid's last columns.
            let width = areas.body.width.min(42);
            let area = Rect::new(
                areas.body.right() - width,
                areas.body.y,
                width,
                areas.body.height,
            );
            overlays::picker(area, buf, app, picker);
        }
    }
}

fn header(app: &App) -> Line<'static> {
    let mut spans = vec![Span::styled(
        " review",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let Some(page) = app.page() else {
        return Line::from(spans);
    };
    let key = |class: u16| {
        app.classes
            .get(usize::from(class))
            .and_then(|c| c.key)
            .map(|k| format!(" [{k}]"))
            .unwrap_or_default()
    };
    let shared = page.class_count();
    let bold_cyan = Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan);
    spans.push(Span::raw(": "));
    if shared > 1 {
        // The cursor's class in full: a caption has room for a few letters only.
        spans.push(Span::raw(format!("{shared} classes · ▶ ")));
        let at = page.classes.get(page.cursor).copied().unwrap_or(page.class);
        let prob = page.probs.get(page.cursor).copied().unwrap_or(0.0);
        spans.push(Span::styled(
            format!("{}{}", class_name(app, at), key(at)),
            bold_cyan,
        ));
        spans.push(Span::raw(format!(" {:.1}%", percent(prob))));
    } else {
        spans.push(Span::styled(
            format!("{}{}", class_name(app, page.class), key(page.class)),
            bold_cyan,
        ));
    }
    // What matters most first: the line is cut at the screen's edge.
    let mut rest = String::new();
    if let Some((max, min)) = page.confidence_range() {
        rest.push_str(&format!(
            " · confidence {:.1}–{:.1}%",
            percent(max),
            percent(min)
        ));
    }
    let marked = page.marked();
    if marked > 0 {
        rest.push_str(&format!(" · {marked} marked"));
    }
    rest.push_str(&match (page.items.len(), shared) {
        (1, _) => " · the one image the model calls it".to_string(),
        (n, 1) => format!(" · {n} images the model calls it, surest first"),
        (n, _) => format!(
            " · {n} images, each over the class the model calls it (?: under {:.0}%)",
            UNSURE_BELOW * 100.0
        ),
    });
    spans.push(Span::raw(rest));
    Line::from(spans)
}

fn draw_grid(
    grid: &Grid,
    buf: &mut Buffer,
    app: &App,
    page: &ReviewPage,
    pane: &mut dyn ImagePane,
) {
    let shared = page.class_count() > 1;
    for (index, &item) in page.items.iter().enumerate().take(grid.capacity()) {
        let (image, caption) = grid.cell(index);
        pane.paint_thumb(item, image, buf);
        let mark = page.marks.get(index).copied().flatten();
        // The mark on the thumbnail too, so a glance over the page finds them.
        let badge = match mark {
            Some(Mark::Class(class)) => Some(
                app.classes
                    .get(usize::from(class))
                    .and_then(|c| c.key)
                    .map_or("→".to_string(), |k| k.to_string()),
            ),
            Some(Mark::NotThis) => Some("✗".to_string()),
            None => None,
        };
        if let Some(badge) = badge {
            paint_badge(badge, image, buf);
        }
        let cursor = index == page.cursor;
        let prob = page.probs.get(index).copied().unwrap_or(0.0);
        let shown = page.classes.get(index).copied().unwrap_or(page.class);
        let (text, style) = match mark {
            // On a page small classes share, each image's class under it, as much of
            // the name as the cell holds (breeds differ late: `Irish_setter`,
            // `Irish_terrier`); a `?` before it, not a number, says the unsure ones
            // (faint too, where the terminal draws faint).
            None if shared && prob < UNSURE_BELOW => {
                (format!("?{}", class_name(app, shown)), Style::new().dim())
            }
            None if shared => (class_name(app, shown), Style::new()),
            None => (format!("{:>5.1}%", percent(prob)), Style::new().dim()),
            Some(Mark::Class(class)) => {
                let key = app
                    .classes
                    .get(usize::from(class))
                    .and_then(|c| c.key)
                    .map_or(String::new(), |k| k.to_string());
                (
                    format!("→{key} {}", class_name(app, class)),
                    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                )
            }
            Some(Mark::NotThis) => (
                format!("✗ not {}", class_name(app, shown)),
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
        };
        paint_caption(&text, style, cursor, caption, buf);
    }
}

/// A mark's badge at the thumbnail's top left, so a glance over the page finds them.
pub(super) fn paint_badge(badge: String, image: Rect, buf: &mut Buffer) {
    Line::styled(
        badge,
        Style::new()
            .fg(Color::White)
            .bg(Color::Magenta)
            .add_modifier(Modifier::BOLD),
    )
    .render(Rect::new(image.x, image.y, 1, 1), buf);
}

/// A grid cell's caption: `▶` on the cursor's, cut or padded to the cell's width.
pub(super) fn paint_caption(
    text: &str,
    style: Style,
    cursor: bool,
    caption: Rect,
    buf: &mut Buffer,
) {
    let width = usize::from(caption.width);
    let text = format!("{}{text}", if cursor { "▶" } else { " " });
    let text: String = format!("{text:<width$}").chars().take(width).collect();
    let style = if cursor {
        style
            .remove_modifier(Modifier::DIM)
            .add_modifier(Modifier::REVERSED)
    } else {
        style
    };
    Line::styled(text, style).render(caption, buf);
}

fn draw_empty(area: Rect, buf: &mut Buffer, app: &App) {
    let why = if app.has_predictions() {
        "Every image the model assigns to a class is reviewed or labeled."
    } else {
        "Review needs the model's first ranking; label a batch first."
    };
    let then = if app.auto && !app.has_predictions() {
        "The auto-oracle labels single images until then.".to_string()
    } else {
        format!(
            "{} goes back to labeling one image at a time.",
            app.keymap.short(Command::Review)
        )
    };
    draw_notice(area, buf, why, &then, 3);
}

/// What a grid screen shows without a page: why, in bold, over what to do, dim; centred
/// in `height` lines of `area`.
pub(super) fn draw_notice(area: Rect, buf: &mut Buffer, why: &str, then: &str, height: u16) {
    let text = vec![
        Line::from(why).bold(),
        Line::from(""),
        Line::from(then).dim(),
    ];
    Paragraph::new(text)
        .centered()
        .wrap(Wrap { trim: true })
        .render(area.centered_vertically(Constraint::Length(height)), buf);
}

fn key_line(app: &App) -> Line<'static> {
    let key = |command| app.keymap.short(command);
    let mark_keys = class_keys(app, "mark", format!("1-3 {} mark", key(Command::Pick)));
    key_hints(
        &format!(
            " ←↑↓→ move  {mark_keys}  {} not this  {} confirm page  {} {} class  {} undo  {} single",
            key(Command::NotThisClass),
            key(Command::AcceptGuess),
            key(Command::PrevClass),
            key(Command::NextClass),
            key(Command::Undo),
            key(Command::Review),
        ),
        app,
    )
}
