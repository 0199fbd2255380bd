//! The reference codecs an evaluation compares against: JPEG (the `image` crate) and WebP
//! (libwebp), each returning the file size and the decoded picture.

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

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

/// Encodes `rgb` as baseline JPEG (the `image` crate's encoder, 4:2:0) at `quality` 1..=100;
/// returns the file size in bytes and the decoded image.
pub fn jpeg(rgb: &RgbImage, quality: u8) -> Result<(usize, RgbImage), ReferenceError> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(rgb)?;
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?;
    Ok((bytes.len(), decoded.to_rgb8()))
}

/// Encodes `rgb` as lossy WebP with libwebp at `quality` 0..=100 and `method` 6 (slowest,
/// smallest: what Pillow's `method=6` asks for); returns the file size and the decoded image.
pub fn webp(rgb: &RgbImage, quality: u8) -> Result<(usize, RgbImage), ReferenceError> {
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
    Ok((encoded.len(), image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_codecs_round_trip_and_spend_more_bits_at_higher_quality() {
        let rgb = RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x * y) % 256) as u8])
        });
        for code in [jpeg, webp] {
            let (small, low) = code(&rgb, 10).unwrap();
            let (big, high) = code(&rgb, 90).unwrap();
            assert!(small < big, "{small} !< {big}");
            assert_eq!(low.dimensions(), (64, 48));
            let p = |i: &RgbImage| crate::report::metrics::psnr(rgb.as_raw(), i.as_raw());
            assert!(p(&low) < p(&high));
        }
    }
}
