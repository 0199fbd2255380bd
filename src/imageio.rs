//! Reading input images (any format `image` knows, size checked first) and encoding outputs.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageFormat, ImageReader};

use crate::error::{Error, ImageError};
use crate::limits::Limits;

/// Reads the image at `path`, refusing files and sizes over `limits` before decoding pixels.
pub fn read(path: &Path, limits: &Limits) -> Result<DynamicImage, Error> {
    let bytes = limits.read_file(path)?;
    decode(path, &bytes, limits)
}

/// Decodes image `bytes` (named `path` in errors), refusing sizes over `limits`.
pub fn decode(path: &Path, bytes: &[u8], limits: &Limits) -> Result<DynamicImage, Error> {
    let unreadable = |reason: String| ImageError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| unreadable(e.to_string()))
    };
    let (width, height) = reader()?
        .into_dimensions()
        .map_err(|e| unreadable(e.to_string()))?;
    limits.check_pixels("input image", width.into(), height.into())?;
    Ok(reader()?.decode().map_err(|e| unreadable(e.to_string()))?)
}

/// True for gray (and gray + alpha) images.
pub fn is_gray(image: &DynamicImage) -> bool {
    image.color().channel_count() <= 2
}

/// Encodes `image` in the format implied by `path`'s extension (PNG when there is none).
pub fn encode(image: &DynamicImage, path: &Path) -> Result<Vec<u8>, ImageError> {
    let format = match path.extension() {
        None => ImageFormat::Png,
        Some(_) => ImageFormat::from_path(path).map_err(|e| ImageError::Unwritable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?,
    };
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .map_err(|e| ImageError::Unwritable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(out.into_inner())
}
