//! The decoded form of a pool: the spec (channels and square side), the pixel buffer,
//! and the automatic choice of the spec from a sample of the images.

use image::ImageDecoder;

use super::open::reader;
use super::{Item, Source};

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
