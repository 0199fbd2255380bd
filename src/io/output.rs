//! Output files.
//!
//! A regular file, or a path where nothing is yet, is replaced atomically: written to a temp
//! file beside it and renamed over it once complete, so a failed run never leaves a partial file
//! and never touches an existing one. A symlink is followed to its target (the link stays a
//! link), a device or FIFO (`/dev/null`, a named pipe) is written through, and a directory is
//! refused.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::IoError;

/// Symlinks followed before giving up, as Linux does.
const MAX_LINKS: usize = 40;

/// An output being written: write to [`Pending::file`], then [`Pending::commit`]. Dropped
/// uncommitted, a file that would have been replaced is left as it was.
pub struct Pending {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    /// A temp file to be renamed over `path`.
    Replace(tempfile::NamedTempFile),
    /// `path` itself, opened for writing (not a regular file).
    Through(File),
}

impl Pending {
    /// Where the bytes go.
    pub fn file(&self) -> &File {
        match &self.sink {
            Sink::Replace(tmp) => tmp.as_file(),
            Sink::Through(file) => file,
        }
    }

    /// The path written in the end (symlinks followed).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the output visible: syncs the temp file and renames it over the target.
    pub fn commit(self) -> Result<(), IoError> {
        match self.sink {
            Sink::Replace(tmp) => {
                tmp.as_file()
                    .sync_all()
                    .map_err(|e| IoError::new(tmp.path(), e))?;
                tmp.persist(&self.path)
                    .map_err(|e| IoError::new(&self.path, e.error))?;
            }
            Sink::Through(mut file) => file.flush().map_err(|e| IoError::new(&self.path, e))?,
        }
        Ok(())
    }
}

/// Starts writing `path` (see the module docs for what each kind of path gets).
pub fn create(path: &Path) -> Result<Pending, IoError> {
    let path = follow_links(path)?;
    let existing = match std::fs::metadata(&path) {
        Ok(meta) => Some(meta),
        // Nothing there, or a parent that is not a folder: `temp_beside` names the folder.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            None
        }
        Err(e) => return Err(IoError::new(&path, e)),
    };
    let sink = match existing {
        Some(meta) if meta.is_dir() => {
            return Err(IoError::new(
                &path,
                io::Error::new(io::ErrorKind::IsADirectory, "is a directory, not a file"),
            ));
        }
        Some(meta) if !meta.is_file() => Sink::Through(
            File::options()
                .write(true)
                .open(&path)
                .map_err(|e| IoError::new(&path, e))?,
        ),
        existing => Sink::Replace(temp_beside(&path, existing.map(|m| m.permissions()))?),
    };
    Ok(Pending { path, sink })
}

/// Writes `bytes` to `path` as [`create`] describes.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let pending = create(path)?;
    pending
        .file()
        .write_all(bytes)
        .map_err(|e| IoError::new(pending.path(), e))?;
    pending.commit()
}

/// Refuses to write `output` when it is the regular file `input` (under any name), which
/// replacing would destroy before it is read in full.
pub fn refuse_input(input: &Path, output: &Path) -> Result<(), IoError> {
    let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output)) else {
        return Ok(());
    };
    if a.is_file() && b.is_file() && same_file(input, output, &a, &b) {
        return Err(IoError::new(
            output,
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "is the input file; choose another output",
            ),
        ));
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(_: &Path, _: &Path, a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path, _: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// `path` with every symlink along the chain of its last component followed; a dangling link
/// gives the path it points to (so writing creates the link's target).
fn follow_links(path: &Path) -> Result<PathBuf, IoError> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&path).map_err(|e| IoError::new(&path, e))?;
                path = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(IoError::new(
        &path,
        io::Error::other(format!("more than {MAX_LINKS} symbolic links in a chain")),
    ))
}

/// A temp file beside `path`, with the permissions of the file it replaces, else 0644.
fn temp_beside(
    path: &Path,
    permissions: Option<std::fs::Permissions>,
) -> Result<tempfile::NamedTempFile, IoError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".latent-").suffix(".tmp");
    // Temp files are private (0600) by default; a new output file gets the usual 0644.
    #[cfg(unix)]
    let permissions =
        permissions.or_else(|| Some(std::os::unix::fs::PermissionsExt::from_mode(0o644)));
    if let Some(permissions) = permissions {
        builder.permissions(permissions);
    }
    let meta = std::fs::metadata(dir).map_err(|e| IoError::new(dir, e))?;
    if !meta.is_dir() {
        return Err(IoError::new(
            dir,
            io::Error::new(io::ErrorKind::NotADirectory, "is not a folder"),
        ));
    }
    // tempfile's own error names the temp file; the cause is what matters.
    builder
        .tempfile_in(dir)
        .map_err(|e| IoError::new(dir, io::Error::new(e.kind(), e.kind().to_string())))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_whole_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        super::write(&target, b"new contents").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new contents");
        assert_eq!(names(dir.path()), ["out.bin"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        super::write(&target, b"new").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn failure_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-dir");
        let err = super::write(&missing.join("out.bin"), b"x").unwrap_err();
        // The folder, and the cause once: never the temp file's name.
        assert_eq!(err.path, missing);
        assert_eq!(err.source.kind(), std::io::ErrorKind::NotFound);
        assert!(!err.source.to_string().contains(".tmp"), "{err:?}");
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let err = super::write(&dir.path().join("file").join("out.bin"), b"x").unwrap_err();
        assert!(err.source.to_string().contains("not a folder"), "{err:?}");
        assert_eq!(names(dir.path()), ["file"]);
    }

    #[test]
    fn an_uncommitted_output_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        let pending = super::create(&target).unwrap();
        std::io::Write::write_all(&mut pending.file(), b"half").unwrap();
        drop(pending);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = super::write(dir.path(), b"x").unwrap_err();
        assert!(err.source.to_string().contains("is a directory"), "{err:?}");
        assert!(names(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_through() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        super::write(null, b"discarded").unwrap();
        assert!(
            std::fs::metadata(null)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_stay_links() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.bin");
        let link = dir.path().join("link.bin");
        let dangling = dir.path().join("dangling.bin");
        std::fs::write(&target, b"old").unwrap();
        std::os::unix::fs::symlink("target.bin", &link).unwrap();
        std::os::unix::fs::symlink("new.bin", &dangling).unwrap();
        super::write(&link, b"through the link").unwrap();
        super::write(&dangling, b"created").unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert!(
            dangling
                .symlink_metadata()
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"through the link");
        assert_eq!(
            std::fs::read(dir.path().join("new.bin")).unwrap(),
            b"created"
        );
        assert_eq!(
            names(dir.path()),
            ["dangling.bin", "link.bin", "new.bin", "target.bin"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let err = super::write(&a, b"x").unwrap_err();
        assert!(err.source.to_string().contains("symbolic links"), "{err:?}");
    }

    #[test]
    fn the_input_is_refused_as_output_under_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.png");
        std::fs::write(&input, b"photo").unwrap();
        let other = dir.path().join("out.lat");
        super::refuse_input(&input, &other).unwrap();
        std::fs::write(&other, b"old").unwrap();
        super::refuse_input(&input, &other).unwrap();
        let err = super::refuse_input(&input, &input).unwrap_err();
        assert!(
            err.source.to_string().contains("is the input file"),
            "{err:?}"
        );
        let dotted = dir.path().join(".").join("in.png");
        assert!(super::refuse_input(&input, &dotted).is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("link.png");
            std::os::unix::fs::symlink("in.png", &link).unwrap();
            assert!(super::refuse_input(&input, &link).is_err());
        }
    }
}
