//! Image quality measures.

/// PSNR in dB between two 8-bit buffers of equal length (`f64::INFINITY` when identical).
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "psnr of buffers of different lengths");
    let sse: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum();
    if sse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64.powi(2) * a.len() as f64 / sse).log10()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::psnr(&[1, 2], &[1, 2]), f64::INFINITY);
        // MSE 1 → 20 log10(255) = 48.13 dB.
        assert!((super::psnr(&[0, 0], &[1, 1]) - 48.1308).abs() < 1e-3);
    }
}
