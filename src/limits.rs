//! Bounds on sizes read from untrusted input (`.lat` headers, images, frame streams, packet
//! directories, model files), checked before anything is allocated.

use std::fmt::Display;

/// Which bound a size is checked against: a field of [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bound {
    /// Pixels of an image or frame (width x height).
    Pixels,
    /// Elements of a latent tensor (channels x height x width).
    LatentElements,
    /// Bytes of one input file.
    InputBytes,
    /// Bytes of one frame of a stream.
    FrameBytes,
    /// Packets of one stream held for reassembly.
    Packets,
}

impl Bound {
    /// What the bound counts, as printed in errors.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Pixels => "pixels",
            Self::LatentElements => "latent elements",
            Self::InputBytes | Self::FrameBytes => "bytes",
            Self::Packets => "packets",
        }
    }
}

/// Size limits for untrusted input. The defaults fit a 64-megapixel photo and an 8K 4:2:0
/// video frame; each one can be raised (or lowered) on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum pixels (width x height) of an image or frame.
    pub max_pixels: u64,
    /// Maximum elements of a latent (channels x height x width) read from a `.lat` header.
    pub max_latent_elements: u64,
    /// Maximum bytes of one input file (image, `.lat`, packet directory entry, model file).
    pub max_input_bytes: u64,
    /// Maximum bytes of one frame of a Y4M or raw stream.
    pub max_frame_bytes: u64,
    /// Maximum packets of one stream (and so the reassembly window).
    pub max_packets: u64,
}

impl Default for Limits {
    /// 64 MP, 32 M latent elements (a 64 MP image at 128 channels / 16x16 pixels), 256 MiB
    /// per input file, 64 MiB per frame, 4096 packets.
    fn default() -> Self {
        Self {
            max_pixels: 64_000_000,
            max_latent_elements: 32_000_000,
            max_input_bytes: 256 << 20,
            max_frame_bytes: 64 << 20,
            max_packets: 4096,
        }
    }
}

impl Limits {
    /// The limit for `bound`.
    pub fn get(&self, bound: Bound) -> u64 {
        match bound {
            Bound::Pixels => self.max_pixels,
            Bound::LatentElements => self.max_latent_elements,
            Bound::InputBytes => self.max_input_bytes,
            Bound::FrameBytes => self.max_frame_bytes,
            Bound::Packets => self.max_packets,
        }
    }

    /// Fails when `found` is over the limit for `bound`; `what` names the thing measured.
    pub fn check(&self, bound: Bound, found: u64, what: impl Display) -> Result<(), LimitError> {
        let limit = self.get(bound);
        if found > limit {
            return Err(LimitError {
                what: what.to_string(),
                bound,
                found,
                limit,
            });
        }
        Ok(())
    }

    /// Fails when a `width x height` image is over [`Limits::max_pixels`].
    pub fn check_pixels(&self, what: &str, width: u64, height: u64) -> Result<(), LimitError> {
        self.check(
            Bound::Pixels,
            width.saturating_mul(height),
            format_args!("{what} {width}x{height}"),
        )
    }
}

/// A size read from input that crosses a [`Limits`] bound.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {found} {}, over the limit of {limit}", bound.unit())]
pub struct LimitError {
    /// What was measured ("input image 4000x3000", "frame of a Y4M stream", a path).
    pub what: String,
    /// The bound crossed.
    pub bound: Bound,
    /// The size found.
    pub found: u64,
    /// The configured maximum.
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_what_crossed_which_bound() {
        let limits = Limits {
            max_frame_bytes: 100,
            ..Limits::default()
        };
        assert!(limits.check(Bound::FrameBytes, 100, "frame").is_ok());
        let e = limits.check(Bound::FrameBytes, 101, "frame").unwrap_err();
        assert_eq!(e.to_string(), "frame: 101 bytes, over the limit of 100");
        assert_eq!((e.bound, e.found, e.limit), (Bound::FrameBytes, 101, 100));
    }

    #[test]
    fn pixel_count_saturates() {
        let e = Limits::default()
            .check_pixels("image", u64::MAX, 3)
            .unwrap_err();
        assert_eq!(e.found, u64::MAX);
        assert!(e.to_string().starts_with("image 18446744073709551615x3: "));
    }
}
