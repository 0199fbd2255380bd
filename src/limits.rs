//! Bounds on sizes read from untrusted input, checked before anything is allocated.

use crate::error::LimitError;

/// Size limits applied to input images and `.lat` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum pixels (width x height) of an image to encode or decode.
    pub max_pixels: u64,
}

impl Default for Limits {
    /// 64 megapixels.
    fn default() -> Self {
        Self {
            max_pixels: 64_000_000,
        }
    }
}

impl Limits {
    /// Fails when a `width x height` image is over [`Limits::max_pixels`].
    pub fn check_pixels(
        &self,
        what: &'static str,
        width: u64,
        height: u64,
    ) -> Result<(), LimitError> {
        let pixels = width.saturating_mul(height);
        if pixels > self.max_pixels {
            return Err(LimitError {
                what,
                width,
                height,
                pixels,
                limit: self.max_pixels,
            });
        }
        Ok(())
    }
}
