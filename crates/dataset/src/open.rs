//! Opening one image, for the model and for the screen alike: the format told by the
//! content, within limits so a hostile header cannot make us allocate gigabytes, turned
//! upright by its EXIF orientation, and — for JPEG photos much larger than needed —
//! decoded at a reduced DCT scale, which skips most of the decoding work.

use std::io::Cursor;
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use super::SkipReason;

/// Largest width or height a header may claim.
pub(crate) const MAX_SIDE: u32 = 16_384;
/// Largest decoder allocation for one image.
pub(crate) const MAX_ALLOC: u64 = 256 << 20;

/// How small an opened image may come out. A JPEG is decoded at the smallest DCT scale
/// (1/8, 1/4, 1/2 or 1) that still keeps this; other formats always come out whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinSize {
    /// Every pixel.
    Full,
    /// The shorter side at least this many pixels (the model cuts its square from it).
    ShorterSide(u32),
    /// The longer side at least this many pixels (the screen fits the image in a
    /// square this big).
    LongerSide(u32),
}

/// Opens the image file at `path` (see [`open_image_bytes`]), refusing non-files and
/// files over the size cap before reading them.
pub fn open_image(path: &Path, min: MinSize) -> Result<DynamicImage, SkipReason> {
    let meta = std::fs::metadata(path).map_err(|e| super::walk::reason_for(&e))?;
    if !meta.is_file() {
        return Err(SkipReason::NotRegularFile);
    }
    if meta.len() > super::collect::MAX_FILE_BYTES {
        return Err(SkipReason::TooLarge);
    }
    let bytes = std::fs::read(path).map_err(|e| super::walk::reason_for(&e))?;
    open_image_bytes(&bytes, min)
}

/// Decodes an encoded image (PNG, JPEG, GIF's first frame, WebP, TIFF, BMP; the format
/// is told by the content), upright, at least `min` large where the original is.
pub fn open_image_bytes(bytes: &[u8], min: MinSize) -> Result<DynamicImage, SkipReason> {
    if bytes.is_empty() {
        return Err(SkipReason::EmptyFile);
    }
    if let Some(reason) = unsupported_format(bytes) {
        return Err(reason);
    }
    // The header is checked against the limits first, so a hostile size is refused
    // before anything is allocated.
    let format = image::guess_format(bytes).map_err(|_| SkipReason::NotImage)?;
    match sniff_dimensions(bytes) {
        Some((w, h)) if w > MAX_SIDE || h > MAX_SIDE => return Err(SkipReason::TooLarge),
        Some(_) => {}
        None => {
            let decoder = reader(bytes)?.into_decoder().map_err(|e| reason_for(&e))?;
            if decoder.total_bytes() > MAX_ALLOC {
                return Err(SkipReason::TooLarge);
            }
        }
    }
    let image = if format == ImageFormat::Jpeg {
        open_jpeg(bytes, min)?
    } else {
        // The pixels go through image's own non-generic entry point: it is compiled
        // (optimised) in the image crate, where our generic call would be compiled
        // unoptimised into ours in dev builds, 5x slower.
        let mut image =
            image::load_from_memory_with_format(bytes, format).map_err(|e| reason_for(&e))?;
        image.apply_orientation(orientation(bytes, format));
        image
    };
    if image.width() == 0 || image.height() == 0 {
        return Err(SkipReason::Corrupt);
    }
    Ok(image)
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

pub(crate) fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, SkipReason> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| SkipReason::Unreadable)?;
    if reader.format().is_none() {
        return Err(SkipReason::NotImage);
    }
    reader.limits(limits());
    Ok(reader)
}

fn reason_for(e: &ImageError) -> SkipReason {
    match e {
        ImageError::Limits(_) => SkipReason::TooLarge,
        ImageError::Unsupported(_) => SkipReason::NotImage,
        _ => SkipReason::Corrupt,
    }
}

/// Photo formats people have that glean cannot decode, told by their content so a
/// renamed file is still named for what it is.
fn unsupported_format(bytes: &[u8]) -> Option<SkipReason> {
    // ISO base media files (HEIC, AVIF, Canon CR3) start with an `ftyp` box.
    if bytes.get(4..8) == Some(b"ftyp") {
        return match bytes.get(8..12)? {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"hevm" | b"hevs"
            | b"mif1" | b"msf1" | b"avif" | b"avis" => Some(SkipReason::UnsupportedHeif),
            b"crx " => Some(SkipReason::UnsupportedRaw),
            _ => None,
        };
    }
    // Canon CR2 (a TIFF marked "CR"), Olympus ORF, Panasonic RW2, Fujifilm RAF.
    let raw = (bytes.starts_with(b"II*\0") && bytes.get(8..10) == Some(b"CR"))
        || bytes.starts_with(b"IIRO")
        || bytes.starts_with(b"IIRS")
        || bytes.starts_with(b"IIU\0")
        || bytes.starts_with(b"FUJIFILMCCD-RAW");
    raw.then_some(SkipReason::UnsupportedRaw)
}

/// The EXIF orientation of a non-JPEG image (JPEGs read theirs in [`open_jpeg`]).
fn orientation(bytes: &[u8], format: ImageFormat) -> Orientation {
    let found = match format {
        ImageFormat::Png => png_exif(bytes).and_then(Orientation::from_exif_chunk),
        // Rare in a photo folder: their own decoder's header reading is cheap enough.
        ImageFormat::WebP | ImageFormat::Tiff => reader(bytes)
            .ok()
            .and_then(|r| r.into_decoder().ok())
            .and_then(|mut d| d.orientation().ok()),
        _ => None,
    };
    found.unwrap_or(Orientation::NoTransforms)
}

/// The `eXIf` chunk of a PNG, when it comes before the pixel data (where the PNG spec
/// puts it), found by walking the chunk headers.
fn png_exif(bytes: &[u8]) -> Option<&[u8]> {
    let mut i = 8;
    loop {
        let len = u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(i + 4..i + 8)?;
        match kind {
            b"eXIf" => return bytes.get(i + 8..i + 8 + len),
            b"IDAT" | b"IEND" => return None,
            _ => i = i.checked_add(12 + len)?,
        }
    }
}

/// A JPEG, upright. Decoded at a reduced DCT scale (jpeg-decoder) when `min` allows;
/// at full scale by image's decoder (zune-jpeg, faster there), so small JPEGs keep
/// exactly the pixels they always had.
fn open_jpeg(bytes: &[u8], min: MinSize) -> Result<DynamicImage, SkipReason> {
    if !jpeg_is_complete(bytes) {
        return Err(SkipReason::Corrupt);
    }
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(MAX_ALLOC as usize);
    decoder.read_info().map_err(|_| SkipReason::Corrupt)?;
    let info = decoder.info().ok_or(SkipReason::Corrupt)?;
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let eighths = dct_eighths(w, h, min);
    let mut image = if eighths == 8 {
        image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).map_err(|e| reason_for(&e))?
    } else {
        decoder
            .scale(scaled(w, eighths) as u16, scaled(h, eighths) as u16)
            .map_err(|_| SkipReason::Corrupt)?;
        let pixels = decoder.decode().map_err(|_| SkipReason::Corrupt)?;
        let info = decoder.info().ok_or(SkipReason::Corrupt)?;
        jpeg_pixels(info, pixels).ok_or(SkipReason::Corrupt)?
    };
    image.apply_orientation(orientation);
    Ok(image)
}

/// A side after decoding at `eighths`/8 scale (rounded up, as the decoder does).
fn scaled(side: u32, eighths: u32) -> u32 {
    (side * eighths).div_ceil(8)
}

/// The smallest DCT scale, in eighths, at which a `w`×`h` JPEG still keeps `min`.
fn dct_eighths(w: u32, h: u32, min: MinSize) -> u32 {
    let (side, wanted) = match min {
        MinSize::Full => return 8,
        MinSize::ShorterSide(s) => (w.min(h), s),
        MinSize::LongerSide(s) => (w.max(h), s),
    };
    [1, 2, 4]
        .into_iter()
        .find(|&e| scaled(side, e) >= wanted)
        .unwrap_or(8)
}

fn jpeg_pixels(info: jpeg_decoder::ImageInfo, pixels: Vec<u8>) -> Option<DynamicImage> {
    use jpeg_decoder::PixelFormat;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    Some(match info.pixel_format {
        PixelFormat::L8 => DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, pixels)?),
        PixelFormat::L16 => {
            let values = pixels
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect();
            DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(w, h, values)?)
        }
        PixelFormat::RGB24 => DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, pixels)?),
        PixelFormat::CMYK32 => {
            // jpeg-decoder hands out plain (not inverted) CMYK.
            let rgb = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u16::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u16::from(p[i])) * k / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb)?)
        }
    })
}

/// Width and height from a PNG or baseline/progressive JPEG header, read by hand
/// because it is cheap (image's own header reading allocates its decoder buffers).
/// `None` for other formats or headers this does not understand.
fn sniff_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |i: usize| Some(u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    let frame = jpeg_segment(bytes, |marker| {
        matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc)
    })?;
    Some((be16(bytes, frame + 7)?, be16(bytes, frame + 5)?))
}

fn be16(bytes: &[u8], i: usize) -> Option<u32> {
    Some(u16::from_be_bytes(bytes.get(i..i + 2)?.try_into().ok()?) as u32)
}

/// Where the first JPEG segment whose marker `wanted` accepts starts, walking the
/// segments from the start; `None` when it is not a JPEG or the walk fails first.
fn jpeg_segment(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> Option<usize> {
    if !bytes.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    let mut i = 2;
    loop {
        while bytes.get(i) == Some(&0xff) && bytes.get(i + 1) == Some(&0xff) {
            i += 1; // fill bytes
        }
        if bytes.get(i) != Some(&0xff) {
            return None;
        }
        if wanted(*bytes.get(i + 1)?) {
            return Some(i);
        }
        i += 2 + be16(bytes, i + 2)? as usize;
    }
}

/// Whether a JPEG's compressed data reaches its end-of-image marker. A cut-off file
/// still decodes (the missing rows come out grey), so only this tells it apart. After
/// the first scan starts, FF D9 can only be that marker (the coded data escapes FF);
/// searched from the end, where a whole file has it.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    jpeg_segment(bytes, |marker| marker == 0xda)
        .is_some_and(|scan| bytes[scan..].windows(2).rev().any(|w| w == [0xff, 0xd9]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glean_test_support::{jpeg, with_exif_orientation};
    use image::GenericImageView;

    fn png(img: DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    /// Smooth colours, so a reduced-scale decode and a resized full decode agree.
    fn gradient(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
        }))
    }

    fn mean_abs_diff(a: &DynamicImage, b: &DynamicImage) -> f64 {
        let (a, b) = (a.to_rgb8(), b.to_rgb8());
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&x, &y)| u64::from(x.abs_diff(y)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn sniffs_png_and_jpeg_dimensions() {
        let png = png(DynamicImage::ImageLuma8(image::GrayImage::new(7, 5)));
        assert_eq!(sniff_dimensions(&png), Some((7, 5)));
        let jpeg = jpeg(&DynamicImage::ImageRgb8(image::RgbImage::new(9, 4)), 75);
        assert_eq!(sniff_dimensions(&jpeg), Some((9, 4)));
        assert_eq!(sniff_dimensions(&jpeg[..20]), None);
        assert_eq!(sniff_dimensions(b"GIF89a"), None);
    }

    #[test]
    fn dct_scale_is_the_smallest_that_keeps_the_side() {
        // A phone photo: 1/8 keeps 375 of the shorter side, 500 of the longer.
        assert_eq!(dct_eighths(4000, 3000, MinSize::ShorterSide(256)), 1);
        assert_eq!(dct_eighths(4000, 3000, MinSize::ShorterSide(376)), 2);
        assert_eq!(dct_eighths(4000, 3000, MinSize::LongerSide(256)), 1);
        assert_eq!(dct_eighths(4000, 3000, MinSize::LongerSide(1600)), 4);
        assert_eq!(dct_eighths(4000, 3000, MinSize::Full), 8);
        // ImageNet-size photos are too small to shrink for a 256 side.
        assert_eq!(dct_eighths(500, 375, MinSize::ShorterSide(256)), 8);
        assert_eq!(dct_eighths(20, 10, MinSize::LongerSide(40)), 8);
    }

    #[test]
    fn large_jpegs_decode_small_and_close_to_a_resized_full_decode() {
        let original = gradient(1024, 768);
        let bytes = jpeg(&original, 90);
        let full = open_image_bytes(&bytes, MinSize::Full).unwrap();
        assert_eq!(full.dimensions(), (1024, 768));
        for (min, side) in [
            (MinSize::ShorterSide(96), 96),
            (MinSize::ShorterSide(192), 192),
            (MinSize::LongerSide(512), 384),
        ] {
            let small = open_image_bytes(&bytes, min).unwrap();
            assert_eq!(small.height(), side, "{min:?}");
            let reference = full.resize_exact(
                small.width(),
                small.height(),
                image::imageops::FilterType::Triangle,
            );
            let diff = mean_abs_diff(&small, &reference);
            assert!(diff < 2.0, "{min:?}: mean difference {diff}");
        }
    }

    #[test]
    fn gray_and_cmyk_jpegs_decode_at_any_scale() {
        let gray = DynamicImage::ImageLuma8(image::GrayImage::from_fn(256, 256, |x, _| {
            image::Luma([x as u8])
        }));
        let bytes = jpeg(&gray, 90);
        for min in [MinSize::Full, MinSize::ShorterSide(32)] {
            let image = open_image_bytes(&bytes, min).unwrap();
            assert_eq!(image.color(), image::ColorType::L8, "{min:?}");
        }
        // Pure red in CMYK (no cyan, full magenta and yellow), as print workflows save.
        let mut cmyk = Vec::new();
        let pixels = [0u8, 255, 255, 0].repeat(256 * 256);
        jpeg_encoder::Encoder::new(&mut cmyk, 95)
            .encode(&pixels, 256, 256, jpeg_encoder::ColorType::Cmyk)
            .unwrap();
        for min in [MinSize::Full, MinSize::ShorterSide(32)] {
            let rgb = open_image_bytes(&cmyk, min).unwrap().to_rgb8();
            let p = rgb.get_pixel(rgb.width() / 2, rgb.height() / 2);
            assert!(p[0] > 240 && p[1] < 15 && p[2] < 15, "{min:?}: {p:?}");
        }
    }

    /// Left half red, right half blue, twice as wide as high.
    fn red_left_blue_right(w: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, w / 2, |x, _| {
            if x < w / 2 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        }))
    }

    #[test]
    fn exif_orientation_turns_jpegs_upright_at_any_scale() {
        // Orientation 6: the camera was turned clockwise, so the stored left edge is
        // the top of the picture.
        let bytes = with_exif_orientation(&jpeg(&red_left_blue_right(512), 90), 6);
        for min in [MinSize::Full, MinSize::LongerSide(64)] {
            let rgb = open_image_bytes(&bytes, min).unwrap().to_rgb8();
            let (w, h) = rgb.dimensions();
            assert_eq!(h, 2 * w, "{min:?}: upright is tall");
            let top = rgb.get_pixel(w / 2, h / 4);
            let bottom = rgb.get_pixel(w / 2, 3 * h / 4);
            assert!(top[0] > 200 && top[2] < 50, "{min:?}: top {top:?}");
            assert!(
                bottom[2] > 200 && bottom[0] < 50,
                "{min:?}: bottom {bottom:?}"
            );
        }
        // Without the tag it stays as stored.
        let plain = open_image_bytes(&jpeg(&red_left_blue_right(512), 90), MinSize::Full);
        assert_eq!(plain.unwrap().dimensions(), (512, 256));
    }

    #[test]
    fn exif_orientation_in_png_is_applied() {
        // The same TIFF-structured EXIF in a PNG eXIf chunk, before the pixels.
        let tagged = with_exif_orientation(&[0xff, 0xd8], 6);
        let exif = &tagged[2 + 4 + 6..];
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 4, 2);
            encoder.set_color(png::ColorType::Rgb);
            let mut writer = encoder.write_header().unwrap();
            writer
                .write_chunk(png::chunk::ChunkType(*b"eXIf"), exif)
                .unwrap();
            let pixels = red_left_blue_right(4).into_rgb8().into_raw();
            writer.write_image_data(&pixels).unwrap();
        }
        let rgb = open_image_bytes(&out, MinSize::Full).unwrap().to_rgb8();
        assert_eq!(rgb.dimensions(), (2, 4));
        assert_eq!(rgb.get_pixel(0, 0), &image::Rgb([255, 0, 0]));
        assert_eq!(rgb.get_pixel(0, 3), &image::Rgb([0, 0, 255]));
    }

    #[test]
    fn phone_and_camera_formats_are_named() {
        let mut heic = 24u32.to_be_bytes().to_vec();
        heic.extend(b"ftypheic\0\0\0\0mif1heic");
        heic.extend([0; 64]);
        assert_eq!(
            open_image_bytes(&heic, MinSize::Full),
            Err(SkipReason::UnsupportedHeif)
        );
        let mut cr2 = b"II*\0\x10\0\0\0CR\x02\0".to_vec();
        cr2.extend([0; 64]);
        assert_eq!(
            open_image_bytes(&cr2, MinSize::Full),
            Err(SkipReason::UnsupportedRaw)
        );
        // An MP4 is another ISO media file, not a photo.
        let mut mp4 = 24u32.to_be_bytes().to_vec();
        mp4.extend(b"ftypisom\0\0\0\0isommp41");
        assert_eq!(
            open_image_bytes(&mp4, MinSize::Full),
            Err(SkipReason::NotImage)
        );
    }

    #[test]
    fn truncated_jpegs_are_corrupt_at_any_scale() {
        let bytes = jpeg(&gradient(1024, 768), 90);
        for cut in [3, 2] {
            let head = &bytes[..bytes.len() / cut];
            for min in [MinSize::Full, MinSize::ShorterSide(96)] {
                assert_eq!(
                    open_image_bytes(head, min).map(|i| i.dimensions()),
                    Err(SkipReason::Corrupt),
                    "1/{cut} of the file, {min:?}"
                );
            }
        }
        // Bytes after the end marker (camera trailers) do not make a whole file cut.
        let mut trailer = bytes.clone();
        trailer.extend(b"\xff\xd8 trailing data");
        assert!(open_image_bytes(&trailer, MinSize::ShorterSide(96)).is_ok());
    }
}
