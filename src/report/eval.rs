//! Rate-distortion evaluation: reference codecs (JPEG, WebP), PSNR at a given bpp and
//! BD-rate between two rate-distortion curves.

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

/// One coded version of an image: bits per pixel and PSNR-RGB.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Point {
    /// Bits per pixel of the whole file.
    pub bpp: f64,
    /// PSNR-RGB, dB.
    pub psnr: f64,
}

/// A reference codec that could not code an image.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The `image` crate's JPEG encoder or decoder failed.
    #[error("JPEG: {0}")]
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

/// The points of `points` that no other point beats (fewer or equal bits and higher PSNR),
/// sorted by bpp: a curve on which PSNR rises with bpp.
pub fn pareto(points: &[Point]) -> Vec<Point> {
    let mut sorted: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.bpp > 0.0 && p.bpp.is_finite() && p.psnr.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.bpp.total_cmp(&b.bpp).then(b.psnr.total_cmp(&a.psnr)));
    let mut front: Vec<Point> = Vec::new();
    for p in sorted {
        if front.last().is_none_or(|last| p.psnr > last.psnr) {
            front.push(p);
        }
    }
    front
}

/// PSNR of `curve` (a [`pareto`] front) at `bpp`, interpolated linearly in log(bpp); `None`
/// outside the curve's range (no extrapolation).
pub fn psnr_at(curve: &[Point], bpp: f64) -> Option<f64> {
    let x = bpp.ln();
    curve.windows(2).find_map(|w| {
        let (a, b) = (w[0].bpp.ln(), w[1].bpp.ln());
        (a..=b)
            .contains(&x)
            .then(|| w[0].psnr + (w[1].psnr - w[0].psnr) * (x - a) / (b - a))
    })
}

/// log(bpp) of `curve` at `psnr`, interpolated linearly (the curve's inverse).
fn log_rate_at(curve: &[Point], psnr: f64) -> Option<f64> {
    curve.windows(2).find_map(|w| {
        let (a, b) = (w[0].bpp.ln(), w[1].bpp.ln());
        (w[0].psnr..=w[1].psnr)
            .contains(&psnr)
            .then(|| a + (b - a) * (psnr - w[0].psnr) / (w[1].psnr - w[0].psnr))
    })
}

/// Bjøntegaard delta rate of `test` against `anchor` ([`pareto`] fronts), in percent: the mean
/// bitrate difference at equal PSNR over the PSNR range both curves cover (negative: `test`
/// needs fewer bits). Log-rate is interpolated piecewise linearly in PSNR, as the pchip
/// variant does, instead of a cubic fit that oscillates on long curves. `None` when the
/// curves do not overlap.
pub fn bd_rate(anchor: &[Point], test: &[Point]) -> Option<f64> {
    const STEPS: usize = 1000;
    let lo = anchor.first()?.psnr.max(test.first()?.psnr);
    let hi = anchor.last()?.psnr.min(test.last()?.psnr);
    if hi <= lo {
        return None;
    }
    let mut sum = 0.0;
    for i in 0..=STEPS {
        let p = lo + (hi - lo) * i as f64 / STEPS as f64;
        let weight = if i == 0 || i == STEPS { 0.5 } else { 1.0 };
        sum += weight * (log_rate_at(test, p)? - log_rate_at(anchor, p)?);
    }
    Some(((sum / STEPS as f64).exp() - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(f64, f64)]) -> Vec<Point> {
        pareto(
            &points
                .iter()
                .map(|&(bpp, psnr)| Point { bpp, psnr })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn pareto_drops_dominated_points_and_sorts() {
        let c = curve(&[
            (0.5, 30.0),
            (0.2, 28.0),
            (0.6, 29.0),
            (1.0, 33.0),
            (0.0, 10.0),
        ]);
        let bpps: Vec<f64> = c.iter().map(|p| p.bpp).collect();
        assert_eq!(bpps, [0.2, 0.5, 1.0]);
    }

    #[test]
    fn psnr_at_interpolates_in_log_bpp_and_never_extrapolates() {
        let c = curve(&[(0.25, 30.0), (1.0, 36.0)]);
        // 0.5 is halfway between 0.25 and 1.0 in log scale.
        assert!((psnr_at(&c, 0.5).unwrap() - 33.0).abs() < 1e-9);
        assert_eq!(psnr_at(&c, 0.25), Some(30.0));
        assert_eq!(psnr_at(&c, 0.2), None);
        assert_eq!(psnr_at(&c, 1.1), None);
    }

    #[test]
    fn bd_rate_of_a_curve_at_half_the_bits_is_minus_fifty_percent() {
        let anchor = curve(&[(0.2, 28.0), (0.4, 31.0), (0.8, 34.0), (1.6, 37.0)]);
        let half: Vec<Point> = anchor
            .iter()
            .map(|p| Point {
                bpp: p.bpp / 2.0,
                psnr: p.psnr,
            })
            .collect();
        assert!((bd_rate(&anchor, &half).unwrap() + 50.0).abs() < 1e-6);
        assert!((bd_rate(&half, &anchor).unwrap() - 100.0).abs() < 1e-6);
        assert!(bd_rate(&anchor, &anchor).unwrap().abs() < 1e-9);
    }

    #[test]
    fn bd_rate_needs_overlapping_psnr() {
        let a = curve(&[(0.2, 20.0), (0.4, 22.0)]);
        let b = curve(&[(0.2, 30.0), (0.4, 32.0)]);
        assert_eq!(bd_rate(&a, &b), None);
    }

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
