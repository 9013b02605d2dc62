use glean::tui::blockart::{self, CellShape};
#[test]
fn visual() {
    let photo = image::open("../shared/datasets/imagenet-dogs/n02099601_golden_retriever.JPEG").unwrap();
    for (name, shape, sx, sy) in [("sext", CellShape::Sextant, 2u32, 3u32), ("half", CellShape::Half, 1, 2)] {
        let (c, r) = blockart::fit(photo.width(), photo.height(), 100, 38);
        let art = blockart::render(&photo, c, r, shape);
        let px = art.reconstruct(shape);
        let (w, h) = (c as u32 * sx, r as u32 * sy);
        let img = image::RgbImage::from_fn(w * 6 / sx, h * 12 / sy, |x, y| image::Rgb(px[((y * sy / 12) * w + x * sx / 6) as usize]));
        img.save(format!("/tmp/dog_{name}.png")).unwrap();
    }
}
