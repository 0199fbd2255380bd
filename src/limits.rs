//! Bounds on sizes read from untrusted input (`.lat` headers, images, frame streams, packet
//! directories, model files), checked before anything is allocated.

use std::fmt::Display;
use std::io::Read;
use std::path::Path;

use crate::error::{IoError, LimitError};

/// Which bound a size is checked against; names the CLI flag that raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// The command-line flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Pixels => "--max-pixels",
            Self::LatentElements => "--max-latent-elements",
            Self::InputBytes => "--max-input-bytes",
            Self::FrameBytes => "--max-frame-bytes",
            Self::Packets => "--max-packets",
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

    /// Reads the file at `path`, refusing one over [`Limits::max_input_bytes`] without reading
    /// it (and, for pipes and growing files, without reading more than the limit).
    pub fn read_file(&self, path: &Path) -> Result<Vec<u8>, crate::Error> {
        let file = std::fs::File::open(path).map_err(|e| IoError::new(path, e))?;
        let size = file.metadata().map_err(|e| IoError::new(path, e))?.len();
        self.check(Bound::InputBytes, size, path.display())?;
        self.read_all(file, path, size as usize)
    }

    /// Reads `reader` to its end (`name` in errors, `hint` bytes expected), refusing more than
    /// `max_input_bytes` without reading past them.
    pub fn read_all(
        &self,
        reader: impl Read,
        name: &Path,
        hint: usize,
    ) -> Result<Vec<u8>, crate::Error> {
        let mut bytes = Vec::with_capacity(hint);
        reader
            .take(self.max_input_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| IoError::new(name, e))?;
        self.check(Bound::InputBytes, bytes.len() as u64, name.display())?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_bound_and_its_flag() {
        let limits = Limits {
            max_frame_bytes: 100,
            ..Limits::default()
        };
        assert!(limits.check(Bound::FrameBytes, 100, "frame").is_ok());
        let e = limits.check(Bound::FrameBytes, 101, "frame").unwrap_err();
        assert_eq!(
            e.to_string(),
            "frame: 101 bytes, over the limit of 100 (raise it with --max-frame-bytes)"
        );
    }

    #[test]
    fn pixel_count_saturates() {
        let e = Limits::default()
            .check_pixels("image", u64::MAX, 3)
            .unwrap_err();
        assert_eq!(e.found, u64::MAX);
        assert!(e.to_string().starts_with("image 18446744073709551615x3: "));
    }

    #[test]
    fn read_file_refuses_files_over_the_byte_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [7u8; 10]).unwrap();
        let small = Limits {
            max_input_bytes: 9,
            ..Limits::default()
        };
        let e = small.read_file(&path).unwrap_err();
        assert!(
            e.to_string().contains("10 bytes, over the limit of 9"),
            "{e}"
        );
        let exact = Limits {
            max_input_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(exact.read_file(&path).unwrap(), [7u8; 10]);
    }

    #[test]
    fn read_all_stops_an_endless_stream_at_the_limit() {
        let small = Limits {
            max_input_bytes: 9,
            ..Limits::default()
        };
        let stdin = Path::new("stdin");
        let e = small.read_all(std::io::repeat(1), stdin, 0).unwrap_err();
        assert!(e.to_string().contains("stdin"), "{e}");
        assert_eq!(small.read_all(&[1u8; 9][..], stdin, 0).unwrap(), [1u8; 9]);
    }
}
