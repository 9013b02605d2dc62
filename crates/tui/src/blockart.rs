//! Block-art images for terminals without a graphics protocol. Each cell is split into
//! sub-pixels (1×2 for half blocks, 2×2 for quadrants, 2×3 for sextants); every cell
//! gets the two colours and the sub-pixel pattern that reproduce its sub-pixels with the
//! least squared error, and the Unicode block glyph for that pattern. Photos keep their
//! colours; single-channel images (digits) stay grey.

use image::DynamicImage;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

/// How finely a cell is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellShape {
    /// `▀`: 1×2 sub-pixels.
    Half,
    /// `▘▝▖▗…`: 2×2 sub-pixels.
    Quadrant,
    /// Unicode 13 sextants `🬀…`: 2×3 sub-pixels.
    Sextant,
}

impl CellShape {
    fn grid(self) -> (usize, usize) {
        match self {
            CellShape::Half => (1, 2),
            CellShape::Quadrant => (2, 2),
            CellShape::Sextant => (2, 3),
        }
    }

    /// The glyph whose ink covers the sub-pixels whose bits are set (bit k = sub-pixel k,
    /// row-major).
    pub fn glyph(self, mask: u8) -> char {
        match self {
            CellShape::Half => [' ', '▀', '▄', '█'][usize::from(mask & 3)],
            CellShape::Quadrant => QUADRANTS[usize::from(mask & 15)],
            CellShape::Sextant => sextant(mask & 63),
        }
    }
}

const QUADRANTS: [char; 16] = [
    ' ', '▘', '▝', '▀', '▖', '▌', '▞', '▛', '▗', '▚', '▐', '▜', '▄', '▙', '▟', '█',
];

/// U+1FB00.. holds sextants 1..=62 except the two half blocks that exist already.
fn sextant(mask: u8) -> char {
    match mask {
        0 => ' ',
        21 => '▌',
        42 => '▐',
        63 => '█',
        m => {
            let index = u32::from(m) - 1 - u32::from(m > 21) - u32::from(m > 42);
            char::from_u32(0x1FB00 + index).unwrap_or('█')
        }
    }
}

/// One terminal cell of block art.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtCell {
    pub glyph: char,
    pub fg: [u8; 3],
    pub bg: [u8; 3],
}

/// An image as a grid of cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockArt {
    pub cols: u16,
    pub rows: u16,
    pub cells: Vec<ArtCell>,
}

/// The largest cols×rows that fits `area` and keeps the image's aspect, for cells twice
/// as tall as wide. Never zero while the area is not.
pub fn fit(image_w: u32, image_h: u32, area_cols: u16, area_rows: u16) -> (u16, u16) {
    if image_w == 0 || image_h == 0 || area_cols == 0 || area_rows == 0 {
        return (0, 0);
    }
    let (w, h) = (f64::from(image_w), f64::from(image_h));
    let rows_for_full_width = f64::from(area_cols) * h / w / 2.0;
    if rows_for_full_width <= f64::from(area_rows) {
        let rows = rows_for_full_width.round().clamp(1.0, f64::from(area_rows));
        (area_cols, rows as u16)
    } else {
        let cols = (f64::from(area_rows) * 2.0 * w / h)
            .round()
            .clamp(1.0, f64::from(area_cols));
        (cols as u16, area_rows)
    }
}

/// Render `image` into exactly `cols`×`rows` cells.
pub fn render(image: &DynamicImage, cols: u16, rows: u16, shape: CellShape) -> BlockArt {
    let (channels, owned);
    let (width, height, data): (usize, usize, &[u8]) = match image {
        DynamicImage::ImageLuma8(gray) => {
            channels = 1;
            (gray.width() as usize, gray.height() as usize, gray.as_raw())
        }
        DynamicImage::ImageRgb8(rgb) => {
            channels = 3;
            (rgb.width() as usize, rgb.height() as usize, rgb.as_raw())
        }
        other => {
            channels = 3;
            owned = other.to_rgb8();
            (
                owned.width() as usize,
                owned.height() as usize,
                owned.as_raw(),
            )
        }
    };
    let (sx, sy) = shape.grid();
    let (gw, gh) = (usize::from(cols) * sx, usize::from(rows) * sy);
    if width == 0 || height == 0 || gw == 0 || gh == 0 {
        return BlockArt {
            cols: 0,
            rows: 0,
            cells: Vec::new(),
        };
    }
    let grid = downsample(data, width, height, channels, gw, gh);
    let n = sx * sy;
    let mut cells = Vec::with_capacity(usize::from(cols) * usize::from(rows));
    let mut sub = [[0f32; 3]; 6];
    for row in 0..usize::from(rows) {
        for col in 0..usize::from(cols) {
            for j in 0..sy {
                for i in 0..sx {
                    sub[j * sx + i] = grid[(row * sy + j) * gw + col * sx + i];
                }
            }
            let (mask, fg, bg) = best_split(&sub[..n]);
            cells.push(ArtCell {
                glyph: shape.glyph(mask),
                fg,
                bg,
            });
        }
    }
    BlockArt { cols, rows, cells }
}

/// Box-average (or, when enlarging, nearest-neighbour) resample to gw×gh RGB sub-pixels.
fn downsample(
    data: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    gw: usize,
    gh: usize,
) -> Vec<[f32; 3]> {
    let span = |g: usize, out: usize, src: usize| {
        let start = g * src / out;
        let end = ((g + 1) * src / out).max(start + 1).min(src);
        (start.min(src - 1), end)
    };
    let xs: Vec<(usize, usize)> = (0..gw).map(|g| span(g, gw, width)).collect();
    let mut grid = vec![[0f32; 3]; gw * gh];
    let mut row_sums = vec![[0u32; 3]; gw];
    for gy in 0..gh {
        let (y0, y1) = span(gy, gh, height);
        row_sums.iter_mut().for_each(|s| *s = [0; 3]);
        for y in y0..y1 {
            let line = &data[y * width * channels..(y + 1) * width * channels];
            for (sum, &(x0, x1)) in row_sums.iter_mut().zip(&xs) {
                let px = &line[x0 * channels..x1 * channels];
                if channels == 1 {
                    let s: u32 = px.iter().map(|&v| u32::from(v)).sum();
                    sum[0] += s;
                } else {
                    for p in px.chunks_exact(channels) {
                        sum[0] += u32::from(p[0]);
                        sum[1] += u32::from(p[1]);
                        sum[2] += u32::from(p[2]);
                    }
                }
            }
        }
        for (gx, sum) in row_sums.iter().enumerate() {
            let (x0, x1) = xs[gx];
            let count = ((x1 - x0) * (y1 - y0)) as f32;
            let c = if channels == 1 {
                let v = sum[0] as f32 / count;
                [v, v, v]
            } else {
                [
                    sum[0] as f32 / count,
                    sum[1] as f32 / count,
                    sum[2] as f32 / count,
                ]
            };
            grid[gy * gw + gx] = c;
        }
    }
    grid
}

/// The pattern (the last sub-pixel always background) and colour pair with the least
/// squared error. Error = Σ|c|² − |S_fg|²/n_fg − |S_bg|²/n_bg, so maximise the last two.
fn best_split(sub: &[[f32; 3]]) -> (u8, [u8; 3], [u8; 3]) {
    let n = sub.len();
    let total = sub
        .iter()
        .fold([0f32; 3], |a, c| [a[0] + c[0], a[1] + c[1], a[2] + c[2]]);
    let norm = |s: [f32; 3]| s[0] * s[0] + s[1] * s[1] + s[2] * s[2];
    let mut best = (0u8, norm(total) / n as f32, [0f32; 3], 0usize);
    for mask in 1u8..(1 << (n - 1)) {
        let mut fg = [0f32; 3];
        let mut count = 0;
        for (k, c) in sub.iter().enumerate() {
            if mask & (1 << k) != 0 {
                fg = [fg[0] + c[0], fg[1] + c[1], fg[2] + c[2]];
                count += 1;
            }
        }
        let bg = [total[0] - fg[0], total[1] - fg[1], total[2] - fg[2]];
        let gain = norm(fg) / count as f32 + norm(bg) / (n - count) as f32;
        // Relative margin: float noise must not turn a flat cell into a pattern.
        if gain > best.1 * (1.0 + 1e-5) + 1e-3 {
            best = (mask, gain, fg, count);
        }
    }
    let (mask, _, fg_sum, fg_count) = best;
    let mean = |s: [f32; 3], k: usize| {
        let k = k.max(1) as f32;
        [to_u8(s[0] / k), to_u8(s[1] / k), to_u8(s[2] / k)]
    };
    let bg_sum = [
        total[0] - fg_sum[0],
        total[1] - fg_sum[1],
        total[2] - fg_sum[2],
    ];
    let bg = mean(bg_sum, n - fg_count);
    let fg = if mask == 0 {
        bg
    } else {
        mean(fg_sum, fg_count)
    };
    (mask, fg, bg)
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

impl BlockArt {
    /// Draw centred in `area` (clipped if larger).
    pub fn paint(&self, area: Rect, buf: &mut Buffer) {
        let x0 = area.x + area.width.saturating_sub(self.cols) / 2;
        let y0 = area.y + area.height.saturating_sub(self.rows) / 2;
        let mut glyph = [0u8; 4];
        for row in 0..self.rows.min(area.height) {
            for col in 0..self.cols.min(area.width) {
                let cell = self.cells[usize::from(row) * usize::from(self.cols) + usize::from(col)];
                if let Some(out) = buf.cell_mut((x0 + col, y0 + row)) {
                    out.set_symbol(cell.glyph.encode_utf8(&mut glyph));
                    out.set_fg(rgb(cell.fg));
                    out.set_bg(rgb(cell.bg));
                }
            }
        }
    }

    /// Reconstruct the sub-pixel image the cells show (for measuring quality).
    pub fn reconstruct(&self, shape: CellShape) -> Vec<[u8; 3]> {
        let (sx, sy) = shape.grid();
        let gw = usize::from(self.cols) * sx;
        let mut out = vec![[0u8; 3]; gw * usize::from(self.rows) * sy];
        for (index, cell) in self.cells.iter().enumerate() {
            let (row, col) = (
                index / usize::from(self.cols),
                index % usize::from(self.cols),
            );
            let mask = mask_of(shape, cell.glyph);
            for j in 0..sy {
                for i in 0..sx {
                    let k = j * sx + i;
                    let colour = if mask & (1 << k) != 0 {
                        cell.fg
                    } else {
                        cell.bg
                    };
                    out[(row * sy + j) * gw + col * sx + i] = colour;
                }
            }
        }
        out
    }
}

fn mask_of(shape: CellShape, glyph: char) -> u8 {
    let count = match shape {
        CellShape::Half => 4,
        CellShape::Quadrant => 16,
        CellShape::Sextant => 64,
    };
    (0..count).find(|&m| shape.glyph(m) == glyph).unwrap_or(0)
}

fn rgb(c: [u8; 3]) -> Color {
    Color::Rgb(c[0], c[1], c[2])
}

#[cfg(test)]
#[path = "blockart_tests.rs"]
mod tests;
