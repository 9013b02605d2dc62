//! JPEGs made on the fly, with the EXIF orientation phones write.

use std::io::Cursor;

/// `image` encoded as a JPEG of `quality` (1–100).
pub fn jpeg(image: &image::DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), quality);
    image.write_with_encoder(encoder).unwrap();
    out
}

/// `jpeg` with an EXIF (APP1) segment right after its start marker whose only tag is
/// the orientation (1–8; 6 = shown rotated 90° clockwise).
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert!(jpeg.starts_with(&[0xff, 0xd8]), "not a JPEG");
    // A big-endian TIFF header and one IFD holding one SHORT entry.
    let mut tiff = b"MM\0*".to_vec();
    tiff.extend(8u32.to_be_bytes());
    tiff.extend(1u16.to_be_bytes());
    tiff.extend(0x0112u16.to_be_bytes());
    tiff.extend(3u16.to_be_bytes());
    tiff.extend(1u32.to_be_bytes());
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0]);
    tiff.extend(0u32.to_be_bytes());
    let mut segment = vec![0xff, 0xe1];
    segment.extend((2 + 6 + tiff.len() as u16).to_be_bytes());
    segment.extend(b"Exif\0\0");
    segment.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend(segment);
    out.extend(&jpeg[2..]);
    out
}
