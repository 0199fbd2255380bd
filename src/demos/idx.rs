//! IDX files, the format of MNIST and Fashion-MNIST (`*-images-idx3-ubyte`, `*-labels-idx1-ubyte`),
//! plain or gzip-compressed.
//!
//! Layout: two zero bytes, a type byte (`0x08` = unsigned byte, the only one read here), the
//! number of dimensions, each dimension as a big-endian u32, then the data. Sizes are checked
//! against the header and against a byte limit before anything large is allocated.

use std::io::Read;
use std::path::Path;

use crate::error::IdxError;
use crate::limits::Limits;

/// An unsigned-byte IDX array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first (images: `[count, rows, cols]`; labels: `[count]`).
    pub dims: Vec<usize>,
    /// Row-major data, `dims.product()` bytes.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// Number of items (the first dimension).
    pub fn count(&self) -> usize {
        self.dims.first().copied().unwrap_or(0)
    }
}

/// Reads the IDX file at `path` (gzip detected from its magic), refusing files and
/// decompressed data over [`Limits::max_input_bytes`].
pub fn read(path: &Path, limits: &Limits) -> Result<IdxArray, crate::Error> {
    let max_bytes = limits.max_input_bytes;
    let raw = limits.read_file(path)?;
    let at = |source: IdxError| -> crate::Error {
        crate::error::Error::Idx {
            path: path.to_path_buf(),
            source,
        }
    };
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| at(IdxError::Gzip(e)))?;
        if out.len() as u64 > max_bytes {
            return Err(at(IdxError::TooLarge {
                bytes: out.len() as u64,
                limit: max_bytes,
            }));
        }
        out
    } else {
        raw
    };
    parse(&bytes, max_bytes).map_err(at)
}

/// Parses IDX `bytes` (not compressed).
pub fn parse(bytes: &[u8], max_bytes: u64) -> Result<IdxArray, IdxError> {
    let header = bytes.get(..4).ok_or(IdxError::Truncated {
        expected: 4,
        found: bytes.len() as u64,
    })?;
    if header[..2] != [0, 0] {
        return Err(IdxError::BadMagic {
            found: u32::from_be_bytes(header.try_into().expect("4 bytes")),
        });
    }
    if header[2] != 0x08 {
        return Err(IdxError::UnsupportedType(header[2]));
    }
    let ndim = usize::from(header[3]);
    if ndim == 0 {
        return Err(IdxError::NoDimensions);
    }
    let data_start = 4 + 4 * ndim;
    let dim_bytes = bytes.get(4..data_start).ok_or(IdxError::Truncated {
        expected: data_start as u64,
        found: bytes.len() as u64,
    })?;
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    if len > max_bytes {
        return Err(IdxError::TooLarge {
            bytes: len,
            limit: max_bytes,
        });
    }
    let expected = data_start as u64 + len;
    if (bytes.len() as u64) < expected {
        return Err(IdxError::Truncated {
            expected,
            found: bytes.len() as u64,
        });
    }
    if bytes.len() as u64 > expected {
        return Err(IdxError::TrailingBytes {
            expected,
            found: bytes.len() as u64,
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[data_start..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend(data);
        v
    }

    #[test]
    fn parses_images_and_labels() {
        let a = parse(&idx(&[2, 2, 3], &[1; 12]), 1 << 20).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.count(), 2);
        assert_eq!(
            parse(&idx(&[3], &[7, 8, 9]), 1 << 20).unwrap().data,
            [7, 8, 9]
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let full = idx(&[2, 2, 2], &[5; 8]);
        for n in 0..full.len() {
            let e = parse(&full[..n], 1 << 20).unwrap_err();
            assert!(matches!(e, IdxError::Truncated { .. }), "{n}: {e}");
        }
    }

    #[test]
    fn bad_headers_are_named() {
        let e = parse(b"\x08\x03\x00\x00rest", 1 << 20).unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
        let e = parse(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], 1 << 20).unwrap_err();
        assert!(matches!(e, IdxError::UnsupportedType(0x0d)), "{e}");
        let e = parse(&idx(&[u32::MAX, u32::MAX, u32::MAX], &[]), 1 << 20).unwrap_err();
        assert!(matches!(e, IdxError::TooLarge { .. }), "{e}");
        let e = parse(&idx(&[1], &[1, 2]), 1 << 20).unwrap_err();
        assert!(matches!(e, IdxError::TrailingBytes { .. }), "{e}");
    }

    #[test]
    fn gzip_is_detected_and_bounded() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&idx(&[4, 10, 10], &[3; 400])).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let with = |max_input_bytes| Limits {
            max_input_bytes,
            ..Limits::default()
        };
        assert_eq!(read(&path, &with(1 << 20)).unwrap().dims, vec![4, 10, 10]);
        // The gzip file is under 100 bytes; what it inflates to is not.
        let e = read(&path, &with(100)).unwrap_err();
        let Error::Idx {
            source:
                IdxError::TooLarge {
                    bytes: 101,
                    limit: 100,
                },
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read(&path, &with(1 << 20)).is_err());
    }
}
