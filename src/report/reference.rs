//! The reference codecs an evaluation compares against: JPEG (the `image` crate) and WebP
//! (libwebp), each returning the file size and the decoded picture, gray for a gray picture.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, RgbImage};

use crate::io::imageio::is_gray;

/// A reference codec that could not code an image.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The `image` crate's JPEG encoder or decoder failed.
    #[error("JPEG")]
    Jpeg(#[from] image::ImageError),
    /// libwebp refused the image.
    #[error("WebP: {0}")]
    Webp(String),
}

/// Largest side libwebp codes.
pub const WEBP_MAX_SIDE: u32 = 16383;

/// `picture` as the 8-bit gray or RGB picture an evaluation measures: gray when it is gray.
pub fn measured(picture: &DynamicImage) -> DynamicImage {
    in_colours_of(picture, picture)
}

/// Encodes `picture` (8-bit gray or RGB, as [`measured`] gives it) as baseline JPEG (the `image`
/// crate's encoder: colour 4:2:0, gray one component) at `quality` 1..=100; returns the file size
/// in bytes and the decoded picture, in the same colours.
pub fn jpeg(picture: &DynamicImage, quality: u8) -> Result<(usize, DynamicImage), ReferenceError> {
    let mut bytes = Vec::new();
    picture.write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, quality))?;
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?;
    Ok((bytes.len(), in_colours_of(picture, &decoded)))
}

/// Encodes `picture` as lossy WebP with libwebp at `quality` 0..=100 and `method` 6 (slowest,
/// smallest: what Pillow's `method=6` asks for); a gray picture goes in as RGB (libwebp codes
/// its flat chroma in few bits) and comes back as its luma. Returns the file size and the
/// decoded picture, in the same colours.
pub fn webp(picture: &DynamicImage, quality: u8) -> Result<(usize, DynamicImage), ReferenceError> {
    let rgb = picture.to_rgb8();
    let (w, h) = rgb.dimensions();
    if w > WEBP_MAX_SIDE || h > WEBP_MAX_SIDE {
        return Err(ReferenceError::Webp(format!(
            "{w}x{h} is over WebP's limit of {WEBP_MAX_SIDE} pixels a side"
        )));
    }
    let mut config =
        webp::WebPConfig::new().map_err(|()| ReferenceError::Webp("bad libwebp version".into()))?;
    config.quality = f32::from(quality);
    config.method = 6;
    let encoded = webp::Encoder::from_rgb(rgb.as_raw(), w, h)
        .encode_advanced(&config)
        .map_err(|e| ReferenceError::Webp(format!("{e:?}")))?;
    let decoded = webp::Decoder::new(&encoded)
        .decode()
        .ok_or_else(|| ReferenceError::Webp("libwebp cannot decode its own output".into()))?;
    let image = (decoded.layout() == webp::PixelLayout::Rgb)
        .then(|| RgbImage::from_raw(decoded.width(), decoded.height(), decoded.to_vec()))
        .flatten()
        .ok_or_else(|| ReferenceError::Webp("libwebp decoded an unexpected layout".into()))?;
    Ok((
        encoded.len(),
        in_colours_of(picture, &DynamicImage::ImageRgb8(image)),
    ))
}

/// `decoded` as 8-bit gray or RGB, as `original` is.
pub fn in_colours_of(original: &DynamicImage, decoded: &DynamicImage) -> DynamicImage {
    if is_gray(original) {
        DynamicImage::ImageLuma8(decoded.to_luma8())
    } else {
        DynamicImage::ImageRgb8(decoded.to_rgb8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_codecs_round_trip_and_spend_more_bits_at_higher_quality() {
        let rgb = DynamicImage::ImageRgb8(RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x * y) % 256) as u8])
        }));
        let gray = measured(&DynamicImage::ImageLuma8(rgb.to_luma8()));
        for picture in [&rgb, &gray] {
            for code in [jpeg, webp] {
                let (small, low) = code(picture, 10).unwrap();
                let (big, high) = code(picture, 90).unwrap();
                assert!(small < big, "{small} !< {big}");
                assert_eq!(low.color(), picture.color(), "the same colours back");
                assert_eq!((low.width(), low.height()), (64, 48));
                let p = |i: &DynamicImage| {
                    crate::report::metrics::psnr(picture.as_bytes(), i.as_bytes())
                };
                assert!(p(&low) < p(&high));
            }
        }
        // A gray JPEG codes one component: fewer bytes than the colour one at the same quality.
        let (gray_bytes, _) = jpeg(&gray, 50).unwrap();
        let (rgb_bytes, _) = jpeg(&DynamicImage::ImageRgb8(gray.to_rgb8()), 50).unwrap();
        assert!(gray_bytes < rgb_bytes, "{gray_bytes} !< {rgb_bytes}");
    }
}
