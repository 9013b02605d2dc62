//! Decoding one image into a square CHW u8 buffer of the model's input size, within
//! limits so a hostile header cannot make us allocate gigabytes, and choosing that size
//! automatically from a sample of the pool.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use super::{Item, SkipReason, Source};

/// Decoded images are square, `channels` × `size` × `size`, CHW, u8.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, serde::Serialize, serde::Deserialize)]
pub struct DecodeSpec {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: u8,
    pub size: u32,
}

impl DecodeSpec {
    /// Bytes one decoded image takes.
    pub fn item_len(&self) -> usize {
        self.channels as usize * self.size as usize * self.size as usize
    }

    pub(crate) fn validate(&self) -> Result<(), super::DatasetError> {
        let message = if !matches!(self.channels, 1 | 3) {
            "channels must be 1 or 3"
        } else if !(1..=1024).contains(&self.size) {
            "size must be between 1 and 1024"
        } else {
            return Ok(());
        };
        Err(super::DatasetError::BadSpec {
            channels: self.channels,
            size: self.size,
            message: message.into(),
        })
    }
}

impl std::fmt::Display for DecodeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.channels == 1 {
            "grayscale"
        } else {
            "RGB"
        };
        write!(
            f,
            "{kind} {}x{} ({} channel(s))",
            self.size, self.size, self.channels
        )
    }
}

/// Decoded images, one after the other: item `i` is `data[i*len .. (i+1)*len]` with
/// `len = spec.item_len()`, CHW, u8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub spec: DecodeSpec,
    pub data: Vec<u8>,
}

impl Pixels {
    pub fn empty(spec: DecodeSpec) -> Pixels {
        Pixels {
            spec,
            data: Vec::new(),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.data.len() / self.spec.item_len().max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The CHW bytes of image `i`.
    pub fn item(&self, i: usize) -> &[u8] {
        let n = self.spec.item_len();
        &self.data[i * n..(i + 1) * n]
    }
}

/// Largest width or height a header may claim.
const MAX_SIDE: u32 = 16_384;
/// Largest decoder allocation for one image.
const MAX_ALLOC: u64 = 256 << 20;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, SkipReason> {
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

/// Decodes an encoded image (PNG, JPEG, …; the format is told by the content) into
/// `out` (`spec.item_len()` bytes, CHW): the centred square of the shorter side, resized
/// to `spec.size`.
pub fn decode_image_bytes(
    bytes: &[u8],
    spec: DecodeSpec,
    out: &mut [u8],
) -> Result<(), SkipReason> {
    if bytes.is_empty() {
        return Err(SkipReason::EmptyFile);
    }
    let image = reader(bytes)?.decode().map_err(|e| reason_for(&e))?;
    write_chw(image, spec, out);
    Ok(())
}

/// Grayscale `rows`×`cols` pixels (an IDX image) into `out`.
pub(crate) fn convert_gray(pixels: &[u8], rows: u32, cols: u32, spec: DecodeSpec, out: &mut [u8]) {
    if spec.channels == 1 && rows == spec.size && cols == spec.size {
        out.copy_from_slice(pixels);
        return;
    }
    let buf = image::GrayImage::from_raw(cols, rows, pixels.to_vec())
        .expect("IDX image length matches its header");
    write_chw(DynamicImage::ImageLuma8(buf), spec, out);
}

fn write_chw(image: DynamicImage, spec: DecodeSpec, out: &mut [u8]) {
    let s = spec.size;
    let square = |img: DynamicImage| -> DynamicImage {
        let (w, h) = (img.width(), img.height());
        if w == s && h == s {
            return img;
        }
        let side = w.min(h);
        let cropped = if w == h {
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

/// Reads and decodes a file into `out`.
pub(crate) fn decode_file(
    path: &std::path::Path,
    spec: DecodeSpec,
    out: &mut [u8],
) -> Result<(), SkipReason> {
    let meta = std::fs::metadata(path).map_err(|e| super::walk::reason_for(&e))?;
    if !meta.is_file() {
        return Err(SkipReason::NotRegularFile);
    }
    if meta.len() > super::scan::MAX_FILE_BYTES {
        return Err(SkipReason::TooLarge);
    }
    let bytes = std::fs::read(path).map_err(|e| super::walk::reason_for(&e))?;
    decode_image_bytes(&bytes, spec, out)
}

/// How many images the automatic spec looks at.
const SPEC_SAMPLE: usize = 48;
/// Default side for grayscale images of mixed or large size, and the backbone's side
/// for photos.
const GRAY_SIZE: u32 = 28;
const PHOTO_SIZE: u32 = 224;
/// Grayscale images sharing one native side up to this keep it.
const MAX_NATIVE_GRAY: u32 = 64;

/// The spec `load` uses when none is given: grayscale images stay 1 channel at 28×28
/// (or their shared native side, up to 64); colour photos get 3 channels at 224, or at
/// the largest shorter side of the sample when all are smaller (CIFAR-10 stays 32×32).
pub(crate) fn auto_spec(items: &[&Item], idx_side: Option<(u32, u32)>) -> DecodeSpec {
    if let Some((rows, cols)) = idx_side {
        let size = if rows == cols && rows <= MAX_NATIVE_GRAY {
            rows
        } else {
            GRAY_SIZE
        };
        return DecodeSpec { channels: 1, size };
    }
    // Headers of evenly spread items; unreadable ones are passed over.
    let step = (items.len() / SPEC_SAMPLE).max(1);
    let headers: Vec<(bool, u32, u32)> = items
        .iter()
        .step_by(step)
        .take(SPEC_SAMPLE * 2)
        .filter_map(|item| match &item.source {
            Source::File(path) => {
                let bytes = std::fs::read(path).ok()?;
                let decoder = reader(&bytes).ok()?.into_decoder().ok()?;
                let (w, h) = decoder.dimensions();
                Some((decoder.color_type().has_color(), w, h))
            }
            Source::Idx { .. } => None,
        })
        .filter(|&(_, w, h)| w > 0 && h > 0)
        .take(SPEC_SAMPLE)
        .collect();
    spec_from_headers(&headers)
}

/// (has colour, width, height) of sampled images → spec.
fn spec_from_headers(headers: &[(bool, u32, u32)]) -> DecodeSpec {
    if headers.iter().all(|h| !h.0) {
        let first = headers.first().map(|h| h.1);
        let shared_square = headers.iter().all(|&(_, w, h)| w == h && Some(w) == first);
        let size = match first {
            Some(side) if shared_square && side <= MAX_NATIVE_GRAY => side,
            _ => GRAY_SIZE,
        };
        return DecodeSpec { channels: 1, size };
    }
    let largest_short_side = headers
        .iter()
        .map(|&(_, w, h)| w.min(h))
        .max()
        .unwrap_or(PHOTO_SIZE);
    DecodeSpec {
        channels: 3,
        size: largest_short_side.min(PHOTO_SIZE),
    }
}

#[cfg(test)]
mod tests {
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
    fn automatic_spec_rules() {
        assert_eq!(
            spec_from_headers(&[(false, 28, 28), (false, 28, 28)]),
            DecodeSpec {
                channels: 1,
                size: 28
            }
        );
        assert_eq!(
            spec_from_headers(&[(false, 64, 64)]),
            DecodeSpec {
                channels: 1,
                size: 64
            }
        );
        assert_eq!(
            spec_from_headers(&[(false, 20, 20), (false, 30, 30)]),
            DecodeSpec {
                channels: 1,
                size: 28
            }
        );
        assert_eq!(
            spec_from_headers(&[(false, 100, 100)]),
            DecodeSpec {
                channels: 1,
                size: 28
            }
        );
        assert_eq!(
            spec_from_headers(&[(true, 32, 32), (false, 32, 32)]),
            DecodeSpec {
                channels: 3,
                size: 32
            }
        );
        assert_eq!(
            spec_from_headers(&[(true, 500, 375), (true, 100, 90)]),
            DecodeSpec {
                channels: 3,
                size: 224
            }
        );
        assert_eq!(
            spec_from_headers(&[(true, 100, 90), (true, 60, 80)]),
            DecodeSpec {
                channels: 3,
                size: 90
            }
        );
        assert_eq!(
            auto_spec(&[], Some((28, 28))),
            DecodeSpec {
                channels: 1,
                size: 28
            }
        );
        assert_eq!(
            auto_spec(&[], Some((100, 100))),
            DecodeSpec {
                channels: 1,
                size: 28
            }
        );
    }
}
