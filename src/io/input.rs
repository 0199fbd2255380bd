//! Reading untrusted input files within [`Limits::max_input_bytes`].

use std::io::Read;
use std::path::Path;

use crate::error::IoError;
use crate::limits::{Bound, Limits};

impl Limits {
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
