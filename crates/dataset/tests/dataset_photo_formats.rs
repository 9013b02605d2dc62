//! A person's own photo folder: the formats people have all load, the ones glean cannot
//! read are skipped with a reason that names them, and nothing else is lost.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::fs;
use std::io::Cursor;
use std::path::Path;

use glean_dataset::{self as dataset, DecodeSpec, ScanOptions, SkipReason};
use glean_test_support::{jpeg, with_exif_orientation};
use image::{DynamicImage, ImageFormat};

const SIDE: u32 = 16;

fn spec() -> DecodeSpec {
    DecodeSpec {
        channels: 3,
        size: SIDE,
    }
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn red(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb([220, 20, 20])))
}

/// Two frames: red, then blue; only the first is the picture.
fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        let frames = [[220, 20, 20, 255], [20, 20, 220, 255]].map(|colour| {
            image::Frame::new(image::RgbaImage::from_pixel(32, 32, image::Rgba(colour)))
        });
        encoder.encode_frames(frames).unwrap();
    }
    out
}

/// An 8×8 palette PNG: red and a fully transparent entry (tRNS).
fn palette_png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 8, 8);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(vec![220, 20, 20, 0, 0, 0]);
        encoder.set_trns(vec![255, 0]);
        let mut writer = encoder.write_header().unwrap();
        let pixels: Vec<u8> = (0..64).map(|i| u8::from(i % 8 == 0)).collect();
        writer.write_image_data(&pixels).unwrap();
    }
    out
}

fn cmyk_jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    let pixels = [0u8, 230, 230, 30].repeat(64 * 64);
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&pixels, 64, 64, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    out
}

fn heic() -> Vec<u8> {
    let mut out = 24u32.to_be_bytes().to_vec();
    out.extend(b"ftypheic\0\0\0\0mif1heic");
    out.extend([0; 200]);
    out
}

/// `photos/` with one image of every format people have, in class `mine`, and the
/// files glean cannot read in class `other`. Returns how many should load.
fn build_photo_folder(root: &Path) -> usize {
    let mine = root.join("mine");
    let other = root.join("other");
    fs::create_dir_all(&mine).unwrap();
    fs::create_dir_all(&other).unwrap();
    let gray = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(40, 30, image::Luma([90])));
    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
        24,
        24,
        image::Rgb([56_000u16, 5_000, 5_000]),
    ));
    // Large enough that the model's decode takes the reduced-scale path.
    let phone = with_exif_orientation(&jpeg(&red(1200, 900), 90), 6);
    let good: [(&str, Vec<u8>); 9] = [
        ("colour.jpg", jpeg(&red(64, 48), 90)),
        ("phone.jpg", phone),
        ("gray.jpg", jpeg(&gray, 90)),
        ("cmyk.jpg", cmyk_jpeg()),
        ("deep.png", encoded(&deep, ImageFormat::Png)),
        ("palette.png", palette_png()),
        ("photo.webp", encoded(&red(20, 20), ImageFormat::WebP)),
        ("scan.tiff", encoded(&red(20, 20), ImageFormat::Tiff)),
        ("anim.gif", animated_gif()),
    ];
    for (name, bytes) in &good {
        fs::write(mine.join(name), bytes).unwrap();
    }
    fs::write(
        other.join("ok.png"),
        encoded(&red(20, 20), ImageFormat::Png),
    )
    .unwrap();
    fs::write(other.join("IMG_0001.HEIC"), heic()).unwrap();
    fs::write(other.join("renamed-heic.jpg"), heic()).unwrap();
    let mut cr2 = b"II*\0\x10\0\0\0CR\x02\0".to_vec();
    cr2.extend([0; 200]);
    fs::write(other.join("IMG_0002.CR2"), &cr2).unwrap();
    fs::write(other.join("renamed-raw.tif"), &cr2).unwrap();
    fs::write(other.join("DSC_0003.nef"), b"MM\0*\0\0\0\x08 a Nikon RAW").unwrap();
    let whole = jpeg(&red(400, 300), 90);
    fs::write(other.join("cut.jpg"), &whole[..whole.len() * 2 / 3]).unwrap();
    good.len() + 1
}

#[test]
fn every_format_people_have_loads_and_the_rest_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("photos");
    let good = build_photo_folder(&root);
    let cache = tmp.path().join("cache");
    let loaded = dataset::load(&root, &ScanOptions::default(), Some(spec()), &cache).unwrap();
    let pool = &loaded.pool;
    let ids: Vec<&str> = pool.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(pool.items.len(), good, "{ids:?}");

    let s = &pool.skipped;
    assert_eq!(s.count(SkipReason::UnsupportedHeif), 2, "{s:?}");
    assert_eq!(s.count(SkipReason::UnsupportedRaw), 3, "{s:?}");
    assert_eq!(s.count(SkipReason::Corrupt), 1, "{s:?}");
    assert_eq!(s.examples(SkipReason::Corrupt), ["other/cut.jpg"]);
    assert_eq!(s.total(), 6, "{s:?}");
    let report = dataset::report::render(&loaded);
    assert!(report.contains("HEIC/HEIF"), "{report}");
    assert!(report.contains("camera RAW"), "{report}");

    // Every coloured picture is red at its centre, the GIF from its first frame; the
    // palette PNG's transparent column does not reach the centre.
    let plane = (SIDE * SIDE) as usize;
    let centre = (SIDE / 2 * SIDE + SIDE / 2) as usize;
    for (i, item) in pool.items.iter().enumerate() {
        let pixels = loaded.pool_pixels.item(i);
        let rgb = [0, 1, 2].map(|c| pixels[c * plane + centre]);
        if item.id == "mine/gray.jpg" {
            assert!(
                rgb.iter().all(|&v| v.abs_diff(90) < 4),
                "{}: {rgb:?}",
                item.id
            );
        } else {
            assert!(
                rgb[0] > 180 && rgb[1] < 60 && rgb[2] < 60,
                "{}: {rgb:?}",
                item.id
            );
        }
    }
}

#[test]
fn the_model_sees_phone_photos_upright() {
    // 1200×900 stored sideways: top half red, bottom half blue once turned.
    let stored = DynamicImage::ImageRgb8(image::RgbImage::from_fn(1200, 900, |x, _| {
        image::Rgb(if x < 600 { [255, 0, 0] } else { [0, 0, 255] })
    }));
    let plain = jpeg(&stored, 90);
    let turned = with_exif_orientation(&plain, 6);
    let mut out = vec![0; spec().item_len()];
    let plane = (SIDE * SIDE) as usize;
    let red_at = |out: &[u8], x: u32, y: u32| out[(y * SIDE + x) as usize];
    dataset::decode_image_bytes(&turned, spec(), &mut out).unwrap();
    assert!(red_at(&out, SIDE / 2, 1) > 200, "top is red");
    assert!(red_at(&out, SIDE / 2, SIDE - 2) < 50, "bottom is blue");
    assert!(out[plane * 2 + ((SIDE - 2) * SIDE + SIDE / 2) as usize] > 200);
    // Without the tag, red stays on the left.
    dataset::decode_image_bytes(&plain, spec(), &mut out).unwrap();
    assert!(red_at(&out, 1, SIDE / 2) > 200 && red_at(&out, SIDE - 2, SIDE / 2) < 50);
}
