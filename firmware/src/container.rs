//! The `.lat` container: a fixed 44-byte little-endian header, then the entropy-coded payload.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `LATC` |
//! | 4 | 1 | version (1) |
//! | 5 | 1 | quality |
//! | 6 | 1 | image channels (1 = gray, 3 = RGB) |
//! | 7 | 1 | encoder precision (0 = f32, 1 = f16, 2 = int8; files before it have 0) |
//! | 8 | 8 | model fingerprint |
//! | 16 | 4 | image width |
//! | 20 | 4 | image height |
//! | 24 | 2 | latent channels |
//! | 26 | 2 | latent height |
//! | 28 | 2 | latent width |
//! | 30 | 2 | reserved, 0 |
//! | 32 | 4 | payload length |
//! | 36 | 4 | CRC-32 of the payload |
//! | 40 | 4 | CRC-32 of bytes 0..40 |

use crate::WireError;
use crate::checksum::crc32;

/// File magic.
pub const MAGIC: [u8; 4] = *b"LATC";
/// The container version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 44;

/// The numeric precision the encoder ran at (informational: the symbols are integers, and any
/// decoder precision reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderPrecision {
    /// 32-bit float (0).
    F32,
    /// 16-bit float (1).
    F16,
    /// 8-bit integer (2).
    Int8,
}

impl EncoderPrecision {
    fn to_byte(self) -> u8 {
        match self {
            EncoderPrecision::F32 => 0,
            EncoderPrecision::F16 => 1,
            EncoderPrecision::Int8 => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(EncoderPrecision::F32),
            1 => Some(EncoderPrecision::F16),
            2 => Some(EncoderPrecision::Int8),
            _ => None,
        }
    }
}

/// The header fields of a `.lat` file (what [`LatFile::parse`] validated, or what
/// [`Header::emit`] writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Quality setting the file was made with.
    pub quality: u8,
    /// Channels of the original image: 1 (gray) or 3 (RGB).
    pub image_channels: u8,
    /// Precision the encoder ran at.
    pub precision: EncoderPrecision,
    /// Fingerprint of the model bundle that made it.
    pub fingerprint: [u8; 8],
    /// Image width in pixels (>= 1).
    pub width: u32,
    /// Image height in pixels (>= 1).
    pub height: u32,
    /// Latent channels (>= 1).
    pub latent_channels: u16,
    /// Latent height (>= 1).
    pub latent_height: u16,
    /// Latent width (>= 1).
    pub latent_width: u16,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Header {
    /// Number of latent values (`channels x height x width`).
    pub fn latent_len(&self) -> usize {
        usize::from(self.latent_channels)
            * usize::from(self.latent_height)
            * usize::from(self.latent_width)
    }

    fn check(&self) -> Result<(), WireError> {
        let field = |field, value: u32| Err(WireError::InvalidField { field, value });
        if !matches!(self.image_channels, 1 | 3) {
            return field("image channels", self.image_channels.into());
        }
        for (name, value) in [
            ("width", self.width),
            ("height", self.height),
            ("latent channels", self.latent_channels.into()),
            ("latent height", self.latent_height.into()),
            ("latent width", self.latent_width.into()),
        ] {
            if value == 0 {
                return field(name, 0);
            }
        }
        Ok(())
    }

    /// Writes header and `payload` into `out`; returns the number of bytes written.
    pub fn emit(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
        self.check()?;
        let payload_len = u32::try_from(payload.len()).map_err(|_| WireError::InvalidField {
            field: "payload length",
            value: u32::MAX,
        })?;
        let total = HEADER_LEN + payload.len();
        if out.len() < total {
            return Err(WireError::BufferFull {
                capacity: out.len(),
            });
        }
        let h = &mut out[..HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC);
        h[4] = VERSION;
        h[5] = self.quality;
        h[6] = self.image_channels;
        h[7] = self.precision.to_byte();
        h[8..16].copy_from_slice(&self.fingerprint);
        h[16..20].copy_from_slice(&self.width.to_le_bytes());
        h[20..24].copy_from_slice(&self.height.to_le_bytes());
        h[24..26].copy_from_slice(&self.latent_channels.to_le_bytes());
        h[26..28].copy_from_slice(&self.latent_height.to_le_bytes());
        h[28..30].copy_from_slice(&self.latent_width.to_le_bytes());
        h[30..32].copy_from_slice(&[0, 0]);
        h[32..36].copy_from_slice(&payload_len.to_le_bytes());
        h[36..40].copy_from_slice(&crc32(payload).to_le_bytes());
        let header_crc = crc32(&h[..40]);
        h[40..44].copy_from_slice(&header_crc.to_le_bytes());
        out[HEADER_LEN..total].copy_from_slice(payload);
        Ok(total)
    }
}

/// Length and CRC-32 of the payload that a header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadInfo {
    /// Payload length in bytes.
    pub len: u32,
    /// CRC-32 of the payload.
    pub crc: u32,
}

impl Header {
    /// Validates the first [`HEADER_LEN`] bytes of `bytes` as a header (magic, version, CRC,
    /// fields); returns it with the payload it announces. Bytes after the header are ignored.
    pub fn parse(bytes: &[u8]) -> Result<(Self, PayloadInfo), WireError> {
        let truncated = || WireError::Truncated {
            needed: HEADER_LEN,
            available: bytes.len(),
        };
        if bytes.len() < MAGIC.len() {
            return Err(truncated());
        }
        if bytes[..4] != MAGIC {
            return Err(WireError::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(truncated());
        }
        if bytes[4] != VERSION {
            return Err(WireError::UnsupportedVersion {
                found: bytes[4],
                supported: VERSION,
            });
        }
        let stored = u32_at(bytes, 40);
        let computed = crc32(&bytes[..40]);
        if stored != computed {
            return Err(WireError::HeaderCrc { stored, computed });
        }
        if bytes[30] != 0 || bytes[31] != 0 {
            return Err(WireError::InvalidField {
                field: "reserved bytes 30..32",
                value: u16_at(bytes, 30).into(),
            });
        }
        let precision = EncoderPrecision::from_byte(bytes[7]).ok_or(WireError::InvalidField {
            field: "encoder precision",
            value: bytes[7].into(),
        })?;
        let header = Header {
            quality: bytes[5],
            image_channels: bytes[6],
            precision,
            fingerprint: bytes[8..16].try_into().expect("8-byte slice"),
            width: u32_at(bytes, 16),
            height: u32_at(bytes, 20),
            latent_channels: u16_at(bytes, 24),
            latent_height: u16_at(bytes, 26),
            latent_width: u16_at(bytes, 28),
        };
        header.check()?;
        let payload = PayloadInfo {
            len: u32_at(bytes, 32),
            crc: u32_at(bytes, 36),
        };
        Ok((header, payload))
    }
}

/// A validated view of a whole `.lat` file: header CRC, fields, length and payload CRC all
/// checked by [`LatFile::parse`].
#[derive(Debug, Clone, Copy)]
pub struct LatFile<'a> {
    header: Header,
    payload: &'a [u8],
}

impl<'a> LatFile<'a> {
    /// Validates `bytes` as one complete `.lat` file.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (header, payload) = Header::parse(bytes)?;
        let rest = &bytes[HEADER_LEN..];
        let payload_len = payload.len as usize;
        if rest.len() < payload_len {
            return Err(WireError::Truncated {
                needed: HEADER_LEN + payload_len,
                available: bytes.len(),
            });
        }
        if rest.len() > payload_len {
            return Err(WireError::TrailingBytes {
                extra: rest.len() - payload_len,
            });
        }
        let computed = crc32(rest);
        if payload.crc != computed {
            return Err(WireError::PayloadCrc {
                stored: payload.crc,
                computed,
            });
        }
        Ok(Self {
            header,
            payload: rest,
        })
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The entropy-coded payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Header = Header {
        quality: 4,
        image_channels: 3,
        precision: EncoderPrecision::Int8,
        fingerprint: [1, 2, 3, 4, 5, 6, 7, 8],
        width: 768,
        height: 512,
        latent_channels: 128,
        latent_height: 32,
        latent_width: 48,
    };

    fn file(payload: &[u8], buf: &mut [u8; 128]) -> usize {
        HEADER.emit(payload, buf).unwrap()
    }

    #[test]
    fn round_trips() {
        let mut buf = [0u8; 128];
        let n = file(b"payload", &mut buf);
        let lat = LatFile::parse(&buf[..n]).unwrap();
        assert_eq!(*lat.header(), HEADER);
        assert_eq!(lat.payload(), b"payload");
    }

    #[test]
    fn every_truncation_and_extension_is_rejected() {
        let mut buf = [0u8; 128];
        let n = file(b"payload", &mut buf);
        for cut in 0..n {
            assert!(LatFile::parse(&buf[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            LatFile::parse(&buf[..n + 1]).unwrap_err(),
            WireError::TrailingBytes { extra: 1 }
        );
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let mut buf = [0u8; 128];
        let n = file(b"payload", &mut buf);
        for bit in 0..n * 8 {
            let mut copy = buf;
            copy[bit / 8] ^= 1 << (bit % 8);
            assert!(LatFile::parse(&copy[..n]).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn names_an_unknown_encoder_precision() {
        let mut buf = [0u8; 128];
        let n = file(b"", &mut buf);
        buf[7] = 3;
        let crc = crc32(&buf[..40]);
        buf[40..44].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            LatFile::parse(&buf[..n]).unwrap_err(),
            WireError::InvalidField {
                field: "encoder precision",
                value: 3
            }
        );
    }

    #[test]
    fn names_a_foreign_version() {
        let mut buf = [0u8; 128];
        let n = file(b"", &mut buf);
        buf[4] = 9;
        assert_eq!(
            LatFile::parse(&buf[..n]).unwrap_err(),
            WireError::UnsupportedVersion {
                found: 9,
                supported: 1
            }
        );
    }
}
