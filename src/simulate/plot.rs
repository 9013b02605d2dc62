//! The plots `simulate` writes, drawn with `plotters`: accuracy against labels
//! (`curves`), or folder accuracy against keypresses (`review`), one line per strategy
//! (median over trials) inside a min–max band (a dot on a min–max bar where the trials
//! measured one label count only), with a dashed line for a model trained
//! on every label (`--full-baseline`). SVG and PNG show the same plot, text included:
//! plotters draws it with ab_glyph in DejaVu Sans, whose bytes the `dejavu` crate
//! bundles, so no system font is read. Beside them `STEM.plot.json` (`Spec`) keeps what
//! the plot shows that its CSV lacks, so that `glean plot DIR` draws it again from the
//! CSV alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{self, Curves};
use super::review;

const SIZE: (u32, u32) = (820, 500);
/// The legend's column, right of the chart.
const LEGEND_WIDTH: u32 = 190;
const TITLE_HEIGHT: u32 = 36;
const FONT: &str = "sans-serif";
/// Font sizes as plotters takes them (it draws 1/1.24 of the size asked): 12 and 15 px.
const TEXT_SIZE: f64 = 12.0 * 1.24;
const TITLE_SIZE: f64 = 15.0 * 1.24;
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
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

/// What a plot shows that its CSV lacks: `STEM.plot.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    /// The run: data, learner, settings.
    pub title: String,
    /// Accuracy of one model trained on every pool label: the dashed line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_baseline: Option<f64>,
    /// Review plots: the keypress grid each trial is read on (`review::on_grid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_step: Option<usize>,
}

/// One of the two plots: its files' stem, the CSV columns it draws and their names.
struct Kind {
    stem: &'static str,
    columns: [&'static str; 2],
    axes: [&'static str; 2],
}

const CURVES: Kind = Kind {
    stem: "curves",
    columns: ["labels", "accuracy"],
    axes: ["labels", "test accuracy"],
};

const REVIEW: Kind = Kind {
    stem: "review",
    columns: ["keypresses", "folder_accuracy"],
    axes: [
        "keypresses (single labels, marks, page confirms)",
        "folder accuracy (exported labels right)",
    ],
};

/// Writes `curves.plot.json`, `curves.svg` and `curves.png` into `dir`.
pub fn write(dir: &Path, title: &str, all: &[Curves], baseline: Option<f64>) -> anyhow::Result<()> {
    let spec = Spec {
        title: title.to_string(),
        full_baseline: baseline,
        grid_step: None,
    };
    write_kind(dir, &CURVES, &spec, all)
}

/// Writes `review.plot.json`, `review.svg` and `review.png` into `dir`: the curves of
/// folder accuracy against keypresses, read on a grid of `step` keypresses.
pub fn write_review(dir: &Path, title: &str, step: usize, all: &[Curves]) -> anyhow::Result<()> {
    let spec = Spec {
        title: title.to_string(),
        full_baseline: None,
        grid_step: Some(step),
    };
    write_kind(dir, &REVIEW, &spec, all)
}

fn write_kind(dir: &Path, kind: &Kind, spec: &Spec, all: &[Curves]) -> anyhow::Result<()> {
    let path = dir.join(format!("{}.plot.json", kind.stem));
    std::fs::write(&path, serde_json::to_string_pretty(spec)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    draw_files(dir, kind, spec, all).map(drop)
}

/// Draws `STEM.svg` and `STEM.png` again from `STEM.csv` and `STEM.plot.json`, for each
/// plot whose CSV is in `dir`; the files written.
pub fn redraw(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for kind in [&CURVES, &REVIEW] {
        let csv = dir.join(format!("{}.csv", kind.stem));
        if !csv.is_file() {
            continue;
        }
        let path = dir.join(format!("{}.plot.json", kind.stem));
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (the plot's title; rerun simulate to write it)",
                path.display()
            )
        })?;
        let spec: Spec =
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        let [x, y] = kind.columns;
        let all = report::read_curves(&csv, x, y)?;
        written.extend(draw_files(dir, kind, &spec, &all)?);
    }
    anyhow::ensure!(
        !written.is_empty(),
        "{}: no curves.csv or review.csv to plot",
        dir.display()
    );
    Ok(written)
}

fn draw_files(
    dir: &Path,
    kind: &Kind,
    spec: &Spec,
    all: &[Curves],
) -> anyhow::Result<[PathBuf; 2]> {
    let all: Vec<Curves> = match spec.grid_step {
        Some(step) => all.iter().map(|c| review::on_grid(c, step)).collect(),
        None => all.to_vec(),
    };
    let svg_path = dir.join(format!("{}.svg", kind.stem));
    std::fs::write(&svg_path, svg(kind, spec, &all)?)
        .with_context(|| format!("writing {}", svg_path.display()))?;
    let png_path = dir.join(format!("{}.png", kind.stem));
    // Compressed hard: the text's anti-aliasing makes these the results' largest files.
    let mut bytes = Vec::new();
    let encoder =
        PngEncoder::new_with_quality(&mut bytes, CompressionType::Best, FilterType::Adaptive);
    png(kind, spec, &all)?
        .write_with_encoder(encoder)
        .context("encoding the plot as PNG")?;
    std::fs::write(&png_path, bytes).with_context(|| format!("writing {}", png_path.display()))?;
    Ok([svg_path, png_path])
}

/// The plot as SVG.
fn svg(kind: &Kind, spec: &Spec, all: &[Curves]) -> anyhow::Result<String> {
    register_font()?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root, kind, spec, all).map_err(|e| anyhow!("drawing the plot as SVG: {e}"))?;
    }
    Ok(text)
}

/// The plot as pixels.
fn png(kind: &Kind, spec: &Spec, all: &[Curves]) -> anyhow::Result<image::RgbImage> {
    register_font()?;
    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        draw(&root, kind, spec, all).map_err(|e| anyhow!("drawing the plot as PNG: {e}"))?;
    }
    image::RgbImage::from_raw(width, height, pixels).context("the plot's pixels")
}

/// DejaVu Sans as plotters' sans-serif, once.
fn register_font() -> anyhow::Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    anyhow::ensure!(ok, "the bundled DejaVu Sans font did not load");
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    kind: &Kind,
    spec: &Spec,
    all: &[Curves],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    let (chart_area, legend) = body.split_horizontally(SIZE.0 - LEGEND_WIDTH);

    // The title, smaller until it fits the width.
    let mut size = TITLE_SIZE;
    while size > TEXT_SIZE * 0.75
        && top.estimate_text_size(&spec.title, &text(size))?.0 + 24 > SIZE.0
    {
        size -= 1.0;
    }
    top.draw(&Text::new(spec.title.as_str(), (12, 20), text(size)))?;

    let envelopes: Vec<_> = all.iter().map(envelope).collect();
    let points = || all.iter().flat_map(|c| c.trials.iter().flatten());
    let mut x_max = points().map(|p| p.labels).max().unwrap_or(0).max(1);
    // A curve of one label count is a dot: room for it right of the last count.
    if envelopes.iter().any(|e| e.len() == 1) {
        x_max += x_max.div_ceil(10);
    }
    let lowest = points()
        .map(|p| p.accuracy)
        .chain(spec.full_baseline)
        .fold(1.0f64, f64::min);
    let y_min = ((lowest * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_left(8)
        .margin_right(8)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0..x_max, y_min..1.0)?;
    chart
        .configure_mesh()
        .bold_line_style(RGBColor(229, 229, 229))
        .light_line_style(TRANSPARENT)
        .label_style(text(TEXT_SIZE))
        .axis_desc_style(text(TEXT_SIZE))
        .x_desc(kind.axes[0])
        .y_desc(kind.axes[1])
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .draw()?;

    let mut legend_entries = Vec::new();
    for ((c, env), &color) in all.iter().zip(&envelopes).zip(COLORS.iter().cycle()) {
        if let [(l, lo, m, hi)] = env[..] {
            chart.draw_series([PathElement::new(
                [(l, lo), (l, hi)],
                color.mix(0.4).stroke_width(3),
            )])?;
            chart.draw_series([Circle::new((l, m), 4, color.filled())])?;
        }
        let upper = env.iter().map(|&(l, _, _, hi)| (l, hi));
        let lower = env.iter().rev().map(|&(l, lo, _, _)| (l, lo));
        chart.draw_series([Polygon::new(
            upper.chain(lower).collect::<Vec<_>>(),
            color.mix(0.18).filled(),
        )])?;
        chart.draw_series(LineSeries::new(
            env.iter().map(|&(l, _, m, _)| (l, m)),
            color.stroke_width(2),
        ))?;
        legend_entries.push((c.strategy.clone(), color.stroke_width(3), false));
    }
    if let Some(b) = spec.full_baseline {
        chart.draw_series(DashedLineSeries::new(
            [(0, b), (x_max, b)],
            6,
            4,
            BLACK.into(),
        ))?;
        legend_entries.push((
            format!("all labels ({:.1}%)", b * 100.0),
            BLACK.into(),
            true,
        ));
    }

    for (i, (label, style, dashed)) in legend_entries.into_iter().enumerate() {
        let y = 10 + 20 * i as i32;
        let dashes: &[(i32, i32)] = if dashed {
            &[(16, 22), (26, 32), (36, 38)]
        } else {
            &[(16, 38)]
        };
        for &(x0, x1) in dashes {
            legend.draw(&PathElement::new([(x0, y), (x1, y)], style))?;
        }
        legend.draw(&Text::new(label, (44, y), text(TEXT_SIZE)))?;
    }
    root.present()
}

/// Text of `size` (plotters' size), anchored left and centred on its point (the axes'
/// labels set their own anchors).
fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Left, VPos::Center))
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
        vec![
            Curves {
                strategy: "margin".into(),
                cold_start: "kmeans".into(),
                trials: vec![trial(0.0), trial(0.1), trial(0.05)],
            },
            Curves {
                strategy: "random".into(),
                cold_start: "random".into(),
                trials: vec![trial(-0.1), trial(-0.05)],
            },
        ]
    }

    fn spec(baseline: Option<f64>) -> Spec {
        Spec {
            title: "t <1> & more".into(),
            full_baseline: baseline,
            grid_step: None,
        }
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
        let s = svg(&CURVES, &spec(Some(0.99)), &curves()).unwrap();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<polygon").count(), 2, "{s}");
        // plotters writes each text on a line of its own.
        let text = |t: &str| s.contains(&format!(">\n{t}\n</text>"));
        assert!(text("margin") && text("random"), "{s}");
        assert!(text("all labels (99.0%)"), "{s}");
        assert!(text("t &lt;1&gt; &amp; more"), "{s}");
        assert!(text("labels") && text("test accuracy"), "{s}");
        assert!(text("40%") && text("100%"), "{s}");
        assert!(s.contains(r#"font-size="12""#), "{s}");
        // The medians in each strategy's colour.
        assert!(s.contains("#1F77B4") && s.contains("#D62728"), "{s}");
    }

    #[test]
    fn png_draws_the_plot_in_the_strategy_colours_with_text() {
        let img = png(&CURVES, &spec(None), &curves()).unwrap();
        assert_eq!(img.dimensions(), SIZE);
        for color in &COLORS[..2] {
            let rgb = [color.0, color.1, color.2];
            assert!(img.pixels().any(|p| p.0 == rgb), "{rgb:?}");
        }
        // Text is drawn anti-aliased: grey pixels in the title's row, left of any line.
        let grey = (12..400)
            .flat_map(|x| (8..32).map(move |y| (x, y)))
            .filter(|&(x, y)| {
                let [r, g, b] = img.get_pixel(x, y).0;
                r == g && g == b && (30..220).contains(&r)
            })
            .count();
        assert!(grey > 20, "{grey} grey pixels in the title");
    }

    #[test]
    fn trials_of_one_label_count_are_a_dot() {
        let mut one = curves();
        for trial in &mut one[0].trials {
            trial.truncate(1);
        }
        let img = png(&CURVES, &spec(None), &one[..1]).unwrap();
        let [r, g, b] = [COLORS[0].0, COLORS[0].1, COLORS[0].2];
        let chart_width = SIZE.0 - LEGEND_WIDTH;
        let dot = img
            .enumerate_pixels()
            .filter(|&(x, _, p)| x < chart_width && p.0 == [r, g, b])
            .count();
        // A disc of radius 4 in the chart, not only the legend's swatch.
        assert!(dot > 20, "{dot} pixels");
    }

    #[test]
    fn redraw_draws_from_the_csv_and_the_spec_alone() {
        let dir = tempfile::tempdir().unwrap();
        let err = redraw(dir.path()).unwrap_err();
        assert!(err.to_string().contains("no curves.csv"), "{err}");
        let mut csv = report::CurvesCsv::create(&dir.path().join("curves.csv")).unwrap();
        for c in &curves() {
            for (t, trial) in c.trials.iter().enumerate() {
                for p in trial {
                    csv.append(&c.strategy, t + 1, p, None).unwrap();
                }
            }
        }
        drop(csv);
        // Without the spec the title is unknown.
        let err = redraw(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("curves.plot.json"), "{err:#}");
        write(dir.path(), "the run", &curves(), Some(0.9)).unwrap();
        let first = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
        std::fs::remove_file(dir.path().join("curves.svg")).unwrap();
        let written = redraw(dir.path()).unwrap();
        assert_eq!(
            written,
            [dir.path().join("curves.svg"), dir.path().join("curves.png")]
        );
        let again = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
        assert_eq!(again, first, "the same plot from the CSV as from the run");
        let spec: Spec = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("curves.plot.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(spec.title, "the run");
        assert_eq!(spec.full_baseline, Some(0.9));
    }
}
