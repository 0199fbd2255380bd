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
    let unreadable = |source| ImageError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| unreadable(image::ImageError::IoError(e)))
    };
    let (width, height) = reader()?.into_dimensions().map_err(unreadable)?;
    limits.check_pixels("input image", width.into(), height.into())?;
    // The decoders' own allocations, bounded too: what the largest picture allowed takes at 16
    // bits per RGBA channel, plus working room.
    let mut bounded = image::Limits::default();
    bounded.max_alloc = Some(
        limits
            .max_pixels
            .saturating_mul(8)
            .saturating_add(DECODER_ROOM),
    );
    let mut reader = reader()?;
    reader.limits(bounded);
    Ok(reader.decode().map_err(unreadable)?)
}

/// Bytes a decoder may allocate beyond the pixels themselves (rows, palettes, chunk buffers).
const DECODER_ROOM: u64 = 64 << 20;

/// Content of an input picture that the RGB (or gray) pipeline does not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dropped {
    /// Pixels that are not fully opaque: their alpha is discarded and the colour under them is
    /// what gets coded.
    Alpha {
        /// How many pixels have alpha under 255.
        translucent: u64,
    },
    /// An animation: only its first frame is read.
    Frames,
    /// Samples deeper than 8 bits (16-bit or float): scaled to 8 bits, as the models take.
    Depth {
        /// Bits per sample in the picture.
        bits: u16,
    },
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dropped::Alpha { translucent: 1 } => f.write_str(
                "transparency dropped: 1 pixel is not opaque, and the colour under it is what \
                 is kept",
            ),
            Dropped::Alpha { translucent } => write!(
                f,
                "transparency dropped: {translucent} pixels are not opaque, and the colour \
                 under them is what is kept"
            ),
            Dropped::Frames => f.write_str("an animation: only its first frame is used"),
            Dropped::Depth { bits } => write!(
                f,
                "{bits}-bit samples scaled to 8 bits (the models code 8-bit pictures)"
            ),
        }
    }
}

/// What of the picture in `bytes`, decoded as `image`, is not kept: translucent pixels, frames
/// after the first, and sample depth beyond 8 bits.
pub fn dropped(bytes: &[u8], image: &DynamicImage) -> Vec<Dropped> {
    use image::AnimationDecoder;
    let mut dropped = Vec::new();
    let colour = image.color();
    let bits = colour.bits_per_pixel() / u16::from(colour.channel_count());
    if bits > 8 {
        dropped.push(Dropped::Depth { bits });
    }
    if image.color().has_alpha() {
        let translucent = image.to_rgba8().pixels().filter(|p| p[3] < 255).count() as u64;
        if translucent > 0 {
            dropped.push(Dropped::Alpha { translucent });
        }
    }
    let animated = match image::guess_format(bytes) {
        Ok(ImageFormat::Gif) => image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .is_ok_and(|d| d.into_frames().take(2).count() > 1),
        Ok(ImageFormat::Png) => image::codecs::png::PngDecoder::new(Cursor::new(bytes))
            .is_ok_and(|d| d.is_apng().unwrap_or(false)),
        Ok(ImageFormat::WebP) => image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
            .is_ok_and(|d| d.has_animation()),
        _ => false,
    };
    if animated {
        dropped.push(Dropped::Frames);
    }
    dropped
}

/// True for gray (and gray + alpha) images.
pub fn is_gray(image: &DynamicImage) -> bool {
    image.color().channel_count() <= 2
}

/// Encodes `image` in the format implied by `path`'s extension (PNG when there is none).
pub fn encode(image: &DynamicImage, path: &Path) -> Result<Vec<u8>, ImageError> {
    let unwritable = |source| ImageError::Unwritable {
        path: path.to_path_buf(),
        source,
    };
    let format = match path.extension() {
        None => ImageFormat::Png,
        Some(_) => ImageFormat::from_path(path).map_err(unwritable)?,
    };
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).map_err(unwritable)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use image::{Delay, Frame, Rgba, RgbaImage};

    use super::*;

    fn png(image: &DynamicImage) -> Vec<u8> {
        encode(image, Path::new("x.png")).unwrap()
    }

    #[test]
    fn translucent_pixels_are_noted_and_opaque_alpha_is_not() {
        let mut rgba = RgbaImage::from_pixel(8, 4, Rgba([10, 20, 30, 255]));
        let opaque = DynamicImage::ImageRgba8(rgba.clone());
        assert_eq!(dropped(&png(&opaque), &opaque), []);
        rgba.put_pixel(0, 0, Rgba([10, 20, 30, 0]));
        rgba.put_pixel(1, 0, Rgba([10, 20, 30, 128]));
        let translucent = DynamicImage::ImageRgba8(rgba);
        assert_eq!(
            dropped(&png(&translucent), &translucent),
            [Dropped::Alpha { translucent: 2 }]
        );
    }

    #[test]
    fn deep_samples_are_noted_and_8_bit_ones_are_not() {
        let gray8 = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 4, image::Luma([9])));
        assert_eq!(dropped(&png(&gray8), &gray8), []);
        let gray16 =
            DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(4, 4, image::Luma([2313u16])));
        let bytes = png(&gray16);
        let image = decode(Path::new("a.png"), &bytes, &Limits::default()).unwrap();
        assert_eq!(dropped(&bytes, &image), [Dropped::Depth { bits: 16 }]);
    }

    #[test]
    fn animations_are_noted_and_still_pictures_are_not() {
        let gif = |frames: usize| {
            let mut bytes = Vec::new();
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
            let frame = |v| {
                let pixels = RgbaImage::from_pixel(4, 4, Rgba([v, v, v, 255]));
                Frame::from_parts(pixels, 0, 0, Delay::from_numer_denom_ms(100, 1))
            };
            encoder
                .encode_frames((0..frames).map(|i| frame(40 * i as u8)))
                .unwrap();
            drop(encoder);
            bytes
        };
        for (frames, want) in [(1, vec![]), (3, vec![Dropped::Frames])] {
            let bytes = gif(frames);
            let image = decode(Path::new("a.gif"), &bytes, &Limits::default()).unwrap();
            assert_eq!(dropped(&bytes, &image), want, "{frames} frames");
        }
    }
}
