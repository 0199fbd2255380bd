//! Atomic output files: write a temp file beside the target, then rename it over.
//!
//! A failed run never leaves a partial file and never touches an existing one.

use std::io::Write;
use std::path::Path;

use crate::error::IoError;

/// A temp file beside `path` (mode 0644), to be written and then `persist`ed over `path`.
/// Dropped without persisting, it disappears.
pub fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, IoError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".latent-").suffix(".tmp");
    // Temp files are private (0600) by default; an output file gets the usual 0644.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder.tempfile_in(dir).map_err(|e| IoError::new(dir, e))
}

/// Writes `bytes` to `path` atomically (replacing an existing file only once all is written).
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut tmp = temp_beside(path)?;
    tmp.write_all(bytes)
        .map_err(|e| IoError::new(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| IoError::new(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| IoError::new(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_whole_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        super::write(&target, b"new contents").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new contents");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[test]
    fn failure_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing-dir").join("out.bin");
        assert!(super::write(&target, b"x").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
