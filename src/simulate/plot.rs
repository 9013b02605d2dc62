//! The learning-curve plot: accuracy against labels, one line per strategy (median over
//! trials) inside a min–max band, written as hand-made SVG and rasterised to PNG with
//! the same geometry (the PNG carries no text; the SVG has the axes' numbers and legend).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::report::Curves;

const WIDTH: f64 = 820.0;
const HEIGHT: f64 = 500.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 54.0;
const COLORS: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (23, 190, 207),
];

/// Per label count: (labels, min, median, max) accuracy over the trials that have it.
pub fn envelope(c: &Curves) -> Vec<(usize, f64, f64, f64)> {
    let mut at: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for trial in &c.trials {
        for p in trial {
            at.entry(p.labels).or_default().push(p.accuracy);
        }
    }
    at.into_iter()
        .map(|(labels, mut accs)| {
            accs.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let n = accs.len();
            let med = if n % 2 == 1 {
                accs[n / 2]
            } else {
                (accs[n / 2 - 1] + accs[n / 2]) / 2.0
            };
            (labels, accs[0], med, accs[n - 1])
        })
        .collect()
}

/// The data ranges and the mapping into the plot area.
struct Frame {
    x_max: f64,
    y_min: f64,
}

impl Frame {
    fn new(all: &[Curves], baseline: Option<f64>) -> Frame {
        let points = all.iter().flat_map(|c| c.trials.iter().flatten());
        let (mut x_max, mut lowest) = (1.0f64, 1.0f64);
        for p in points {
            x_max = x_max.max(p.labels as f64);
            lowest = lowest.min(p.accuracy);
        }
        if let Some(b) = baseline {
            lowest = lowest.min(b);
        }
        let y_min = ((lowest * 10.0).floor() / 10.0).clamp(0.0, 0.9);
        Frame {
            x_max: nice_ceiling(x_max),
            y_min,
        }
    }

    fn x(&self, labels: f64) -> f64 {
        LEFT + labels / self.x_max * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, acc: f64) -> f64 {
        TOP + (1.0 - (acc - self.y_min) / (1.0 - self.y_min)) * (HEIGHT - TOP - BOTTOM)
    }

    fn x_ticks(&self) -> Vec<f64> {
        let step = nice_ceiling(self.x_max / 6.0);
        (0..)
            .map(|i| i as f64 * step)
            .take_while(|&v| v <= self.x_max + 1e-9)
            .collect()
    }

    fn y_ticks(&self) -> Vec<f64> {
        let step = if 1.0 - self.y_min > 0.3 { 0.1 } else { 0.05 };
        (0..)
            .map(|i| self.y_min + i as f64 * step)
            .take_while(|&v| v <= 1.0 + 1e-9)
            .collect()
    }
}

/// The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&c| c >= v - 1e-9)
        .unwrap_or(10.0 * mag)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What the axes measure.
#[derive(Debug, Clone, Copy)]
pub struct Axes<'a> {
    pub x: &'a str,
    pub y: &'a str,
}

/// The learning curves' axes.
pub const LEARNING_CURVE: Axes<'static> = Axes {
    x: "labels",
    y: "test accuracy",
};

pub fn svg(title: &str, all: &[Curves], baseline: Option<f64>) -> String {
    svg_with(title, LEARNING_CURVE, all, baseline)
}

/// `svg` with other axes: the curves' `labels` are then whatever `axes.x` names.
pub fn svg_with(title: &str, axes: Axes<'_>, all: &[Curves], baseline: Option<f64>) -> String {
    let f = Frame::new(all, baseline);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" font-size="15">{}</text>"#,
        LEFT,
        escape(title)
    );
    let (x0, x1, y0, y1) = (f.x(0.0), f.x(f.x_max), f.y(f.y_min), f.y(1.0));
    for t in f.x_ticks() {
        let x = f.x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y0:.1}" stroke="#e5e5e5"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{t}</text>"#,
            y0 + 18.0
        );
    }
    for t in f.y_ticks() {
        let y = f.y(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="#e5e5e5"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{:.0}%</text>"#,
            x0 - 6.0,
            y + 4.0,
            t * 100.0
        );
    }
    let _ = writeln!(
        s,
        r#"<polyline points="{x0:.1},{y1:.1} {x0:.1},{y0:.1} {x1:.1},{y0:.1}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 12.0,
        escape(axes.x)
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"#,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0,
        escape(axes.y)
    );
    for (i, c) in all.iter().enumerate() {
        let (r, g, b) = COLORS[i % COLORS.len()];
        let env = envelope(c);
        if env.is_empty() {
            continue;
        }
        let upper: Vec<String> = env
            .iter()
            .map(|&(l, _, _, hi)| format!("{:.1},{:.1}", f.x(l as f64), f.y(hi)))
            .collect();
        let lower: Vec<String> = env
            .iter()
            .rev()
            .map(|&(l, lo, _, _)| format!("{:.1},{:.1}", f.x(l as f64), f.y(lo)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polygon points="{} {}" fill="rgb({r},{g},{b})" fill-opacity="0.18" stroke="none"/>"#,
            upper.join(" "),
            lower.join(" ")
        );
        let line: Vec<String> = env
            .iter()
            .map(|&(l, _, m, _)| format!("{:.1},{:.1}", f.x(l as f64), f.y(m)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="rgb({r},{g},{b})" stroke-width="2"/>"#,
            line.join(" ")
        );
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = WIDTH - RIGHT + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="rgb({r},{g},{b})" stroke-width="3"/>"#,
            lx + 22.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 28.0,
            ly + 4.0,
            escape(&c.strategy)
        );
    }
    if let Some(b) = baseline {
        let y = f.y(b);
        let _ = writeln!(
            s,
            r#"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="black" stroke-dasharray="6 4"/>"#
        );
        let ly = TOP + 10.0 + all.len() as f64 * 20.0;
        let lx = WIDTH - RIGHT + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="black" stroke-dasharray="6 4"/>"#,
            lx + 22.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">all labels ({:.1}%)</text>"#,
            lx + 28.0,
            ly + 4.0,
            b * 100.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The same plot as pixels (lines, bands, axes, legend swatches; no text).
pub fn png(all: &[Curves], baseline: Option<f64>) -> image::RgbImage {
    let f = Frame::new(all, baseline);
    let mut img =
        image::RgbImage::from_pixel(WIDTH as u32, HEIGHT as u32, image::Rgb([255, 255, 255]));
    let grid = [229, 229, 229];
    for t in f.x_ticks() {
        line(
            &mut img,
            (f.x(t), f.y(1.0)),
            (f.x(t), f.y(f.y_min)),
            grid,
            1.0,
        );
    }
    for t in f.y_ticks() {
        line(
            &mut img,
            (f.x(0.0), f.y(t)),
            (f.x(f.x_max), f.y(t)),
            grid,
            1.0,
        );
    }
    line(
        &mut img,
        (f.x(0.0), f.y(1.0)),
        (f.x(0.0), f.y(f.y_min)),
        [0, 0, 0],
        1.0,
    );
    line(
        &mut img,
        (f.x(0.0), f.y(f.y_min)),
        (f.x(f.x_max), f.y(f.y_min)),
        [0, 0, 0],
        1.0,
    );
    for (i, c) in all.iter().enumerate() {
        let (r, g, b) = COLORS[i % COLORS.len()];
        let env = envelope(c);
        let tint = |v: u8| (255.0 - (255.0 - v as f64) * 0.18) as u8;
        for w in env.windows(2) {
            let (xa, xb) = (f.x(w[0].0 as f64), f.x(w[1].0 as f64));
            for px in xa.round() as i64..=xb.round() as i64 {
                let t = if xb > xa {
                    ((px as f64 - xa) / (xb - xa)).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let hi = f.y(w[0].3 + (w[1].3 - w[0].3) * t);
                let lo = f.y(w[0].1 + (w[1].1 - w[0].1) * t);
                for py in hi.round() as i64..=lo.round() as i64 {
                    put(&mut img, px, py, [tint(r), tint(g), tint(b)]);
                }
            }
        }
        for w in env.windows(2) {
            line(
                &mut img,
                (f.x(w[0].0 as f64), f.y(w[0].2)),
                (f.x(w[1].0 as f64), f.y(w[1].2)),
                [r, g, b],
                2.0,
            );
        }
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = WIDTH - RIGHT + 16.0;
        line(&mut img, (lx, ly), (lx + 22.0, ly), [r, g, b], 3.0);
    }
    if let Some(b) = baseline {
        let y = f.y(b);
        let mut x = f.x(0.0);
        while x < f.x(f.x_max) {
            line(
                &mut img,
                (x, y),
                ((x + 6.0).min(f.x(f.x_max)), y),
                [0, 0, 0],
                1.0,
            );
            x += 10.0;
        }
    }
    img
}

fn put(img: &mut image::RgbImage, x: i64, y: i64, rgb: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, image::Rgb(rgb));
    }
}

/// A line `width` pixels thick, drawn by stamping squares along it.
fn line(img: &mut image::RgbImage, a: (f64, f64), b: (f64, f64), rgb: [u8; 3], width: f64) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    let half = ((width - 1.0) / 2.0).round() as i64;
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (
            (a.0 + (b.0 - a.0) * t).round() as i64,
            (a.1 + (b.1 - a.1) * t).round() as i64,
        );
        for dx in -half..=half {
            for dy in -half..=half {
                put(img, x + dx, y + dy, rgb);
            }
        }
    }
}

pub fn write(dir: &Path, title: &str, all: &[Curves], baseline: Option<f64>) -> anyhow::Result<()> {
    write_named(dir, "curves", title, LEARNING_CURVE, all, baseline)
}

/// Writes `STEM.svg` and `STEM.png` into `dir`.
pub fn write_named(
    dir: &Path,
    stem: &str,
    title: &str,
    axes: Axes<'_>,
    all: &[Curves],
    baseline: Option<f64>,
) -> anyhow::Result<()> {
    let svg_path = dir.join(format!("{stem}.svg"));
    std::fs::write(&svg_path, svg_with(title, axes, all, baseline))
        .with_context(|| format!("writing {}", svg_path.display()))?;
    let png_path = dir.join(format!("{stem}.png"));
    png(all, baseline)
        .save(&png_path)
        .with_context(|| format!("writing {}", png_path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::report::Point;
    use super::*;

    fn curves() -> Vec<Curves> {
        let trial = |a: f64| {
            vec![
                Point {
                    labels: 20,
                    accuracy: 0.5 + a,
                    seconds: 1.0,
                    calibration_error: None,
                },
                Point {
                    labels: 30,
                    accuracy: 0.8 + a,
                    seconds: 1.0,
                    calibration_error: None,
                },
            ]
        };
        vec![Curves {
            strategy: "margin".into(),
            cold_start: "kmeans".into(),
            trials: vec![trial(0.0), trial(0.1), trial(0.05)],
        }]
    }

    #[test]
    fn envelope_gives_min_median_max() {
        let e = envelope(&curves()[0]);
        assert_eq!(e.len(), 2);
        let (l, lo, med, hi) = e[0];
        assert_eq!(l, 20);
        assert!((lo - 0.5).abs() < 1e-9 && (med - 0.55).abs() < 1e-9 && (hi - 0.6).abs() < 1e-9);
    }

    #[test]
    fn svg_has_a_band_a_line_and_a_legend_per_strategy() {
        let s = svg("t <1>", &curves(), Some(0.99));
        assert!(s.starts_with("<svg"));
        assert_eq!(s.matches("<polygon").count(), 1);
        assert!(s.contains(">margin</text>"));
        assert!(s.contains("all labels (99.0%)"));
        assert!(s.contains("t &lt;1&gt;"));
        assert!(s.contains(">50%</text>") || s.contains(">40%</text>"));
    }

    #[test]
    fn png_draws_in_the_strategy_colour() {
        let img = png(&curves(), None);
        let (r, g, b) = COLORS[0];
        assert!(img.pixels().any(|p| p.0 == [r, g, b]));
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(7.0), 8.0);
        assert_eq!(nice_ceiling(300.0), 300.0);
        assert_eq!(nice_ceiling(310.0), 400.0);
        assert_eq!(nice_ceiling(50.0), 50.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }
}
