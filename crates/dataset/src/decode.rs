//! Decoding one image into a square CHW u8 buffer of the model's input size, within
//! limits so a hostile header cannot make us allocate gigabytes.

use image::imageops::FilterType;
use image::DynamicImage;

use super::open::{open_image, open_image_bytes, MinSize};
use super::{DecodeSpec, SkipReason, ThumbnailCache};

/// Decodes an encoded image (PNG, JPEG, …; the format is told by the content) into
/// `out` (`spec.item_len()` bytes, CHW): the centred square of the shorter side, resized
/// to `spec.size`. Photos much larger than that keep the central `PHOTO_CROP` of the
/// square, as ImageNet models are evaluated (resize to 256, crop 224).
pub fn decode_image_bytes(
    bytes: &[u8],
    spec: DecodeSpec,
    out: &mut [u8],
) -> Result<(), SkipReason> {
    write_chw(open_image_bytes(bytes, min_size(spec))?, spec, out);
    Ok(())
}

/// The least a decoded image must keep for `spec`: the shorter side the square (and,
/// for photos, the central crop) is cut from. Asking for the side before the crop keeps
/// the crop decision of [`write_chw`] the same at any DCT scale.
fn min_size(spec: DecodeSpec) -> MinSize {
    let side = if spec.channels == 3 {
        (f64::from(spec.size) / PHOTO_CROP).ceil() as u32
    } else {
        spec.size
    };
    MinSize::ShorterSide(side)
}

/// Grayscale `rows`×`cols` pixels (an IDX image) into `out`.
pub(crate) fn convert_gray(pixels: &[u8], rows: u32, cols: u32, spec: DecodeSpec, out: &mut [u8]) {
    if spec.channels == 1 && rows == spec.size && cols == spec.size {
        out.copy_from_slice(pixels);
        return;
    }
    #[allow(
        clippy::expect_used,
        reason = "the IDX reader hands out rows × cols bytes per image"
    )]
    let buf = image::GrayImage::from_raw(cols, rows, pixels.to_vec())
        .expect("IDX image length matches its header");
    write_chw(DynamicImage::ImageLuma8(buf), spec, out);
}

/// Share of the shorter side kept when a colour photo is scaled down: the framing the
/// pretrained backbone saw in training (224 of 256). EfficientNet-Lite0 names 102 of
/// the 118 dog photos with it, 101 with the whole square.
pub const PHOTO_CROP: f64 = 224.0 / 256.0;

fn write_chw(image: DynamicImage, spec: DecodeSpec, out: &mut [u8]) {
    let s = spec.size;
    let photo = spec.channels == 3;
    let square = |img: DynamicImage| -> DynamicImage {
        let (w, h) = (img.width(), img.height());
        if w == s && h == s {
            return img;
        }
        let mut side = w.min(h);
        if photo && f64::from(side) * PHOTO_CROP >= f64::from(s) {
            side = (f64::from(side) * PHOTO_CROP).round() as u32;
        }
        let cropped = if w == side && h == side {
            img
        } else {
            img.crop_imm((w - side) / 2, (h - side) / 2, side, side)
        };
        cropped.resize_exact(s, s, FilterType::Triangle)
    };
    if spec.channels == 1 {
        let gray = square(DynamicImage::ImageLuma8(image.into_luma8())).into_luma8();
        out.copy_from_slice(gray.as_raw());
    } else {
        let rgb = square(DynamicImage::ImageRgb8(image.into_rgb8())).into_rgb8();
        let plane = (s * s) as usize;
        for (i, px) in rgb.as_raw().chunks_exact(3).enumerate() {
            out[i] = px[0];
            out[plane + i] = px[1];
            out[2 * plane + i] = px[2];
        }
    }
}

/// Decodes the image file at `path` (within the size limits) into `out`, as
/// [`decode_image_bytes`] does.
pub fn decode_file(
    path: &std::path::Path,
    spec: DecodeSpec,
    out: &mut [u8],
) -> Result<(), SkipReason> {
    decode_file_keeping_thumbnail(path, spec, out, None)
}

/// [`decode_file`], keeping the image's thumbnail in `thumbnails` (where given) when it
/// has none yet and is worth one: made from the pixels decoded for the model (at least
/// as large as a thumbnail needs, for a photo the model's decode shrinks), so the
/// review grid never decodes the photo again.
pub fn decode_file_keeping_thumbnail(
    path: &std::path::Path,
    spec: DecodeSpec,
    out: &mut [u8],
    thumbnails: Option<&ThumbnailCache>,
) -> Result<(), SkipReason> {
    let pending = thumbnails.and_then(|t| t.missing(path));
    let image = open_image(path, min_size(spec))?;
    if let Some(pending) = pending {
        pending.keep(&image);
    }
    write_chw(image, spec, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn png(img: DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn crops_centre_square_and_writes_chw() {
        // 4 wide, 2 high: the centre 2×2 square is columns 1..3.
        let mut img = image::RgbImage::new(4, 2);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb([x as u8 * 10, 100, 200]);
        }
        let spec = DecodeSpec {
            channels: 3,
            size: 2,
        };
        let mut out = vec![0; spec.item_len()];
        decode_image_bytes(&png(DynamicImage::ImageRgb8(img)), spec, &mut out).unwrap();
        assert_eq!(
            out,
            [10, 20, 10, 20, 100, 100, 100, 100, 200, 200, 200, 200]
        );
    }

    #[test]
    fn large_photos_keep_the_central_crop() {
        // 64×64, a 4-pixel red frame around green: the 56-pixel crop drops the frame.
        let mut img = image::RgbImage::from_pixel(64, 64, image::Rgb([0, 255, 0]));
        for (x, y, p) in img.enumerate_pixels_mut() {
            if x < 4 || y < 4 || x >= 60 || y >= 60 {
                *p = image::Rgb([255, 0, 0]);
            }
        }
        let spec = DecodeSpec {
            channels: 3,
            size: 8,
        };
        let mut out = vec![0; spec.item_len()];
        decode_image_bytes(&png(DynamicImage::ImageRgb8(img)), spec, &mut out).unwrap();
        let (red, green) = out.split_at(64);
        assert!(red.iter().all(|&v| v == 0), "{red:?}");
        assert!(green[..64].iter().all(|&v| v == 255), "{green:?}");
    }

    #[test]
    fn gray_stays_gray_and_colour_converts() {
        let img = image::GrayImage::from_fn(3, 3, |x, y| image::Luma([(x + 3 * y) as u8]));
        let bytes = png(DynamicImage::ImageLuma8(img));
        let spec = DecodeSpec {
            channels: 1,
            size: 3,
        };
        let mut out = vec![0; 9];
        decode_image_bytes(&bytes, spec, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
        let rgb = DecodeSpec {
            channels: 3,
            size: 3,
        };
        let mut out = vec![0; 27];
        decode_image_bytes(&bytes, rgb, &mut out).unwrap();
        assert_eq!(&out[9..18], &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn bad_bytes_give_reasons() {
        let spec = DecodeSpec {
            channels: 1,
            size: 2,
        };
        let mut out = vec![0; 4];
        assert_eq!(
            decode_image_bytes(b"", spec, &mut out),
            Err(SkipReason::EmptyFile)
        );
        assert_eq!(
            decode_image_bytes(b"hello, not a jpeg", spec, &mut out),
            Err(SkipReason::NotImage)
        );
        let good = png(DynamicImage::ImageLuma8(image::GrayImage::new(40, 40)));
        assert_eq!(
            decode_image_bytes(&good[..good.len() / 2], spec, &mut out),
            Err(SkipReason::Corrupt)
        );
    }

    #[test]
    fn huge_headers_are_refused_before_allocating() {
        // A BMP (not sniffed by hand) claiming 30000×30000 goes through image's limits.
        let mut bmp = b"BM".to_vec();
        for v in [54u32 + 12, 0, 54, 40, 30000, 30000] {
            bmp.extend(v.to_le_bytes());
        }
        bmp.extend(1u16.to_le_bytes());
        bmp.extend(24u16.to_le_bytes());
        bmp.extend([0u8; 24]);
        bmp.extend([0u8; 12]);
        let spec = DecodeSpec {
            channels: 1,
            size: 2,
        };
        let mut out = vec![0; 4];
        assert_eq!(
            decode_image_bytes(&bmp, spec, &mut out),
            Err(SkipReason::TooLarge)
        );
    }
}
