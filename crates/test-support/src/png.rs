//! Images made on the fly.

use std::io::Cursor;

/// A `side`×`side` grayscale PNG of one value.
pub fn png(side: u32, value: u8) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(side, side, image::Luma([value]));
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
