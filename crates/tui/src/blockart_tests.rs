use super::*;
use image::{GrayImage, Luma, Rgb, RgbImage};

/// Mean squared error of the art against the image, both on a 2×6-per-cell grid that
/// every cell shape divides.
fn error_on_common_grid(image: &DynamicImage, cols: u16, rows: u16, shape: CellShape) -> f64 {
    let art = render(image, cols, rows, shape);
    let shown = art.reconstruct(shape);
    let (sx, sy) = shape.grid();
    let (fw, fh) = (usize::from(cols) * 2, usize::from(rows) * 6);
    let rgb = image.to_rgb8();
    let fine = downsample(
        rgb.as_raw(),
        rgb.width() as usize,
        rgb.height() as usize,
        3,
        fw,
        fh,
    );
    let gw = usize::from(cols) * sx;
    let mut sum = 0.0;
    for y in 0..fh {
        for x in 0..fw {
            let s = shown[(y * sy / 6) * gw + x * sx / 2];
            let t = fine[y * fw + x];
            sum += (0..3)
                .map(|c| (f64::from(s[c]) - f64::from(t[c])).powi(2))
                .sum::<f64>();
        }
    }
    sum / (fw * fh * 3) as f64
}

#[test]
fn sextant_glyphs_cover_all_patterns_once() {
    let glyphs: std::collections::HashSet<char> =
        (0..64).map(|m| CellShape::Sextant.glyph(m)).collect();
    assert_eq!(glyphs.len(), 64);
    assert_eq!(CellShape::Sextant.glyph(1), '\u{1FB00}');
    assert_eq!(CellShape::Sextant.glyph(62), '\u{1FB3B}');
    assert_eq!(CellShape::Sextant.glyph(21), '▌');
    assert_eq!(CellShape::Quadrant.glyph(0b1001), '▚');
}

#[test]
fn a_left_right_split_becomes_a_half_block_with_exact_colours() {
    let img = RgbImage::from_fn(4, 6, |x, _| {
        if x < 2 {
            Rgb([250, 10, 10])
        } else {
            Rgb([5, 5, 200])
        }
    });
    let art = render(&DynamicImage::ImageRgb8(img), 1, 1, CellShape::Sextant);
    let cell = art.cells[0];
    assert_eq!(cell.glyph, '▌');
    assert_eq!(cell.fg, [250, 10, 10]);
    assert_eq!(cell.bg, [5, 5, 200]);
}

#[test]
fn a_diagonal_corner_uses_a_quadrant() {
    // top-left quarter bright, the rest dark
    let img = GrayImage::from_fn(8, 8, |x, y| Luma([if x < 4 && y < 4 { 255 } else { 0 }]));
    let art = render(&DynamicImage::ImageLuma8(img), 1, 1, CellShape::Quadrant);
    assert_eq!(art.cells[0].glyph, '▘');
    assert_eq!(art.cells[0].fg, [255, 255, 255]);
    assert_eq!(art.cells[0].bg, [0, 0, 0]);
}

#[test]
fn uniform_cells_are_blank_with_the_mean_colour() {
    let img = RgbImage::from_pixel(10, 10, Rgb([30, 60, 90]));
    let art = render(&DynamicImage::ImageRgb8(img), 3, 2, CellShape::Sextant);
    assert!(art
        .cells
        .iter()
        .all(|c| c.glyph == ' ' && c.bg == [30, 60, 90]));
}

#[test]
fn grey_images_stay_grey_when_enlarged() {
    let img = GrayImage::from_fn(28, 28, |x, y| Luma([((x * 9 + y * 3) % 256) as u8]));
    let art = render(&DynamicImage::ImageLuma8(img), 56, 28, CellShape::Sextant);
    assert_eq!(art.cells.len(), 56 * 28);
    assert!(art
        .cells
        .iter()
        .all(|c| c.fg[0] == c.fg[1] && c.fg[1] == c.fg[2]));
}

#[test]
fn fit_keeps_aspect_for_two_to_one_cells() {
    // 4:3 photo in a wide area: height bound
    assert_eq!(fit(1024, 768, 120, 40), (107, 40));
    // square digit: a cell is twice as tall as wide
    assert_eq!(fit(28, 28, 80, 30), (60, 30));
    // tall narrow area: width bound
    assert_eq!(fit(28, 28, 20, 30), (20, 10));
    assert_eq!(fit(0, 10, 20, 30), (0, 0));
}

#[test]
fn finer_cells_reproduce_a_dog_photo_better() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/imagenet-dogs/n02085620_Chihuahua.JPEG");
    if !glean_test_support::needs("../shared/datasets/imagenet-dogs", path.is_file()) {
        return;
    }
    let photo = image::open(&path).expect("a readable JPEG");
    let (cols, rows) = fit(photo.width(), photo.height(), 60, 20);
    let half = error_on_common_grid(&photo, cols, rows, CellShape::Half);
    let quadrant = error_on_common_grid(&photo, cols, rows, CellShape::Quadrant);
    let sextant = error_on_common_grid(&photo, cols, rows, CellShape::Sextant);
    eprintln!("mse half {half:.1} quadrant {quadrant:.1} sextant {sextant:.1}");
    assert!(
        sextant < quadrant && quadrant < half,
        "{half} {quadrant} {sextant}"
    );
    assert!(sextant < half * 0.8);
}

#[test]
fn paint_centres_the_art_and_sets_colours() {
    let img = RgbImage::from_fn(2, 4, |_, y| {
        if y < 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let art = render(&DynamicImage::ImageRgb8(img), 1, 1, CellShape::Half);
    let mut buf = Buffer::empty(Rect::new(0, 0, 3, 3));
    art.paint(buf.area, &mut buf);
    let cell = &buf[(1, 1)];
    assert_eq!(cell.symbol(), "▀");
    assert_eq!(cell.fg, Color::Rgb(255, 0, 0));
    assert_eq!(cell.bg, Color::Rgb(0, 0, 255));
    assert_eq!(buf[(0, 0)].symbol(), " ");
}
