//! Video frames from streams: Y4M (`YUV4MPEG2`, 4:2:0, 4:4:4 and mono, 8-bit) and headerless
//! raw frames (gray8, rgb24, yuv420p), read and written one frame at a time.
//!
//! A frame's planes are kept as they arrive (Y, then Cb and Cr when present); [`Frame::to_rgb8`]
//! and [`Frame::set_rgb8`] convert for the models with BT.601 full-range matrices, which invert
//! each other, so a stream round-trips apart from rounding.
//!
//! Y4M is parsed here rather than by the `y4m` crate (0.8): it reports a frame cut short as
//! `Error::EOF`, the same as a clean end of stream, so a truncated last frame would vanish
//! without a word; its header errors name neither the tag nor the value; it ignores the `I`
//! (interlace) tag; its one limit is a byte count, not [`Limits`]; and headerless raw frames,
//! which share [`Format`] and the frame reader with Y4M, would still need this module.

use std::io::{BufRead, Write};

use image::RgbImage;

use crate::error::FrameError;
use crate::limits::{Bound, Limits};

/// Chroma layout of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// Luma only.
    Mono,
    /// Cb and Cr at half width and half height.
    C420,
    /// Cb and Cr at full size.
    C444,
    /// Interleaved 8-bit RGB (raw `rgb24` only).
    Rgb,
}

/// Frame geometry and layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Chroma layout.
    pub chroma: Chroma,
}

impl Format {
    /// Size of (Cb or Cr) chroma planes.
    fn chroma_size(&self) -> (usize, usize) {
        match self.chroma {
            Chroma::C420 => (self.width.div_ceil(2), self.height.div_ceil(2)),
            _ => (self.width, self.height),
        }
    }

    /// Bytes of one frame's pixel data.
    pub fn frame_len(&self) -> usize {
        usize::try_from(self.frame_bytes()).unwrap_or(usize::MAX)
    }

    /// Bytes of one frame, in u64 arithmetic that saturates instead of overflowing (for sizes
    /// not yet checked against limits).
    fn frame_bytes(&self) -> u64 {
        let (w, h) = (self.width as u64, self.height as u64);
        let luma = w.saturating_mul(h);
        let chroma = match self.chroma {
            Chroma::Mono => 0,
            Chroma::Rgb | Chroma::C444 => luma.saturating_mul(2),
            Chroma::C420 => w
                .div_ceil(2)
                .saturating_mul(h.div_ceil(2))
                .saturating_mul(2),
        };
        luma.saturating_add(chroma)
    }

    /// This format, when its pixels and frame bytes are within `limits` (`what` names the
    /// stream in errors). Sizes are computed without overflow before any check.
    fn within(self, limits: &Limits, what: &str) -> Result<Self, FrameError> {
        limits
            .check_pixels(what, self.width as u64, self.height as u64)
            .map_err(FrameError::Limit)?;
        limits
            .check(
                Bound::FrameBytes,
                self.frame_bytes(),
                format_args!("{what} {}x{} frame", self.width, self.height),
            )
            .map_err(FrameError::Limit)?;
        Ok(self)
    }
}

/// One frame's bytes in its stream layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Geometry and layout.
    pub format: Format,
    /// Pixel data, [`Format::frame_len`] bytes (planar Y, Cb, Cr; or interleaved RGB).
    pub data: Vec<u8>,
}

fn clamp_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

impl Frame {
    /// True when the frame has no colour (the models then see gray and give gray back).
    pub fn is_gray(&self) -> bool {
        self.format.chroma == Chroma::Mono
    }

    /// The frame as a picture: gray (its Y plane) when it has no colour, else 8-bit RGB.
    pub fn to_image(&self) -> image::DynamicImage {
        if self.is_gray() {
            let Format { width, height, .. } = self.format;
            let luma = self.data[..width * height].to_vec();
            let gray = image::GrayImage::from_raw(width as u32, height as u32, luma)
                .expect("a mono frame holds width x height bytes");
            image::DynamicImage::ImageLuma8(gray)
        } else {
            self.to_rgb8().into()
        }
    }

    /// The frame as 8-bit RGB, chroma upsampled by replication.
    pub fn to_rgb8(&self) -> RgbImage {
        let Format {
            width: w,
            height: h,
            chroma,
        } = self.format;
        let n = w * h;
        let mut out = RgbImage::new(w as u32, h as u32);
        let (cw, ch) = self.format.chroma_size();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let (r, g, b) = match chroma {
                    Chroma::Rgb => (
                        f32::from(self.data[3 * i]),
                        f32::from(self.data[3 * i + 1]),
                        f32::from(self.data[3 * i + 2]),
                    ),
                    Chroma::Mono => {
                        let v = f32::from(self.data[i]);
                        (v, v, v)
                    }
                    Chroma::C420 | Chroma::C444 => {
                        let (sx, sy) = if chroma == Chroma::C420 {
                            (x / 2, y / 2)
                        } else {
                            (x, y)
                        };
                        let j = sy * cw + sx;
                        let luma = f32::from(self.data[i]);
                        let cb = f32::from(self.data[n + j]) - 128.0;
                        let cr = f32::from(self.data[n + cw * ch + j]) - 128.0;
                        (
                            luma + 1.402 * cr,
                            luma - 0.344_136 * cb - 0.714_136 * cr,
                            luma + 1.772 * cb,
                        )
                    }
                };
                out.put_pixel(
                    x as u32,
                    y as u32,
                    image::Rgb([clamp_u8(r), clamp_u8(g), clamp_u8(b)]),
                );
            }
        }
        out
    }

    /// Replaces the pixels with `rgb` (same size), converted back to the frame's layout (chroma
    /// averaged over 2x2 for 4:2:0; the mean of R, G, B for mono).
    pub fn set_rgb8(&mut self, rgb: &RgbImage) {
        let Format {
            width: w,
            height: h,
            chroma,
        } = self.format;
        let n = w * h;
        let raw = rgb.as_raw();
        let px = |i: usize| {
            let p = &raw[3 * i..3 * i + 3];
            (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]))
        };
        match chroma {
            Chroma::Rgb => {
                for i in 0..n {
                    let (r, g, b) = px(i);
                    self.data[3 * i..3 * i + 3].copy_from_slice(&[
                        clamp_u8(r),
                        clamp_u8(g),
                        clamp_u8(b),
                    ]);
                }
            }
            Chroma::Mono => {
                for i in 0..n {
                    let (r, g, b) = px(i);
                    self.data[i] = clamp_u8((r + g + b) / 3.0);
                }
            }
            Chroma::C420 | Chroma::C444 => {
                let (cw, ch) = self.format.chroma_size();
                let mut cb = vec![0f32; cw * ch];
                let mut cr = vec![0f32; cw * ch];
                let mut count = vec![0f32; cw * ch];
                for y in 0..h {
                    for x in 0..w {
                        let i = y * w + x;
                        let (r, g, b) = px(i);
                        self.data[i] = clamp_u8(0.299 * r + 0.587 * g + 0.114 * b);
                        let j = if chroma == Chroma::C420 {
                            (y / 2) * cw + x / 2
                        } else {
                            i
                        };
                        cb[j] += -0.168_736 * r - 0.331_264 * g + 0.5 * b;
                        cr[j] += 0.5 * r - 0.418_688 * g - 0.081_312 * b;
                        count[j] += 1.0;
                    }
                }
                for j in 0..cw * ch {
                    self.data[n + j] = clamp_u8(cb[j] / count[j] + 128.0);
                    self.data[n + cw * ch + j] = clamp_u8(cr[j] / count[j] + 128.0);
                }
            }
        }
    }
}

/// Reads up to `buf.len()` bytes; returns how many arrived before the end of the stream.
fn read_full(reader: &mut impl BufRead, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads frame number `index` (0-based) of `format` from `reader`: `None` at a clean end of
/// stream, an error when the stream ends inside the frame.
fn read_frame_data(
    reader: &mut impl BufRead,
    format: Format,
    index: u64,
) -> Result<Option<Frame>, FrameError> {
    let mut data = vec![0u8; format.frame_len()];
    let got = read_full(reader, &mut data).map_err(FrameError::Io)?;
    if got == 0 {
        return Ok(None);
    }
    if got < data.len() {
        return Err(FrameError::Truncated {
            frame: index + 1,
            got,
            expected: data.len(),
        });
    }
    Ok(Some(Frame { format, data }))
}

/// A Y4M stream: its header line, then frames.
#[derive(Debug, Clone)]
pub struct Y4mHeader {
    /// The frame format the header describes.
    pub format: Format,
    /// The header line as read (without the newline), written back unchanged.
    pub line: String,
    /// Frame rate, when the header gives one.
    pub fps: Option<f64>,
}

/// Longest header or frame-header line accepted.
const MAX_LINE: usize = 4096;

fn read_line(reader: &mut impl BufRead, what: &'static str) -> Result<Option<String>, FrameError> {
    let mut line = Vec::new();
    let n = std::io::Read::take(&mut *reader, MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(FrameError::Io)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(FrameError::BadHeader(format!(
            "{what} line is not terminated within {MAX_LINE} bytes"
        )));
    }
    line.pop();
    // ASCII, not just UTF-8: the parser splits tags off by byte.
    if !line.is_ascii() {
        return Err(FrameError::BadHeader(format!("{what} line is not ASCII")));
    }
    Ok(Some(String::from_utf8(line).expect("ASCII is UTF-8")))
}

impl Y4mHeader {
    /// Reads and validates the stream header; sizes are checked against `limits`.
    pub fn read(reader: &mut impl BufRead, limits: &Limits) -> Result<Self, FrameError> {
        let line = read_line(reader, "Y4M header")?
            .ok_or_else(|| FrameError::BadHeader("empty stream".into()))?;
        let mut words = line.split(' ');
        if words.next() != Some("YUV4MPEG2") {
            return Err(FrameError::BadHeader(
                "does not start with YUV4MPEG2".into(),
            ));
        }
        let (mut width, mut height, mut chroma, mut fps) = (None, None, Chroma::C420, None);
        for word in words.filter(|w| !w.is_empty()) {
            let (tag, value) = word.split_at(1);
            let number = |v: &str| {
                v.parse::<usize>()
                    .map_err(|_| FrameError::BadHeader(format!("bad {tag} value {v:?}")))
            };
            match tag {
                "W" => width = Some(number(value)?),
                "H" => height = Some(number(value)?),
                "C" => {
                    chroma = match value {
                        "420jpeg" | "420paldv" | "420mpeg2" | "420" => Chroma::C420,
                        "444" => Chroma::C444,
                        "mono" => Chroma::Mono,
                        other => {
                            return Err(FrameError::UnsupportedChroma(format!("chroma C{other}")));
                        }
                    }
                }
                "F" => {
                    if let Some((n, d)) = value.split_once(':') {
                        let (n, d) = (number(n)?, number(d)?);
                        if n > 0 && d > 0 {
                            fps = Some(n as f64 / d as f64);
                        }
                    }
                }
                "I" if value != "p" && value != "?" => {
                    return Err(FrameError::BadHeader(format!(
                        "interlaced streams (I{value}) are not supported; deinterlace first"
                    )));
                }
                _ => {}
            }
        }
        let (width, height) = match (width, height) {
            (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
            _ => return Err(FrameError::BadHeader("missing or zero W / H".into())),
        };
        Ok(Self {
            format: Format {
                width,
                height,
                chroma,
            }
            .within(limits, "Y4M stream")?,
            line,
            fps,
        })
    }

    /// Reads frame `index` (0-based): `None` at a clean end of stream.
    pub fn read_frame(
        &self,
        reader: &mut impl BufRead,
        index: u64,
    ) -> Result<Option<Frame>, FrameError> {
        let Some(line) = read_line(reader, "FRAME")? else {
            return Ok(None);
        };
        if !(line == "FRAME" || line.starts_with("FRAME ")) {
            return Err(FrameError::BadHeader(format!(
                "frame {} does not start with FRAME",
                index + 1
            )));
        }
        match read_frame_data(reader, self.format, index)? {
            Some(frame) => Ok(Some(frame)),
            None => Err(FrameError::Truncated {
                frame: index + 1,
                got: 0,
                expected: self.format.frame_len(),
            }),
        }
    }

    /// Writes the header line.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(self.line.as_bytes())?;
        out.write_all(b"\n")
    }
}

/// Writes one Y4M frame and flushes it.
pub fn write_y4m_frame(out: &mut impl Write, frame: &Frame) -> std::io::Result<()> {
    out.write_all(b"FRAME\n")?;
    out.write_all(&frame.data)?;
    out.flush()
}

/// Headerless raw frames of a fixed format, back to back.
#[derive(Debug, Clone, Copy)]
pub struct RawFormat(pub Format);

impl RawFormat {
    /// `WxH` and a pixel format name (gray8, rgb24, yuv420p), checked against `limits`.
    pub fn parse(size: &str, pix_fmt: &str, limits: &Limits) -> Result<Self, FrameError> {
        let bad = || {
            FrameError::BadHeader(format!(
                "--raw {size:?}: expected WIDTHxHEIGHT, e.g. 640x480"
            ))
        };
        let (w, h) = size.split_once('x').ok_or_else(bad)?;
        let (width, height): (usize, usize) =
            (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
        if width == 0 || height == 0 {
            return Err(bad());
        }
        let chroma = match pix_fmt {
            "gray8" | "gray" => Chroma::Mono,
            "rgb24" => Chroma::Rgb,
            "yuv420p" => Chroma::C420,
            other => {
                return Err(FrameError::UnsupportedChroma(format!(
                    "pixel format {other}"
                )));
            }
        };
        Ok(Self(
            Format {
                width,
                height,
                chroma,
            }
            .within(limits, "raw stream")?,
        ))
    }

    /// Reads frame `index` (0-based): `None` at a clean end of stream; a partial frame is an
    /// error naming its size and the expected size.
    pub fn read_frame(
        &self,
        reader: &mut impl BufRead,
        index: u64,
    ) -> Result<Option<Frame>, FrameError> {
        read_frame_data(reader, self.0, index)
    }
}

/// Writes one raw frame and flushes it.
pub fn write_raw_frame(out: &mut impl Write, frame: &Frame) -> std::io::Result<()> {
    out.write_all(&frame.data)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(header: &str, frames: &[Vec<u8>]) -> Vec<u8> {
        let mut v = header.as_bytes().to_vec();
        v.push(b'\n');
        for f in frames {
            v.extend(b"FRAME\n");
            v.extend(f);
        }
        v
    }

    #[test]
    fn a_mono_frame_is_a_gray_picture_and_a_colour_one_rgb() {
        let format = |chroma| Format {
            width: 3,
            height: 2,
            chroma,
        };
        let mono = Frame {
            format: format(Chroma::Mono),
            data: vec![0, 50, 100, 150, 200, 250],
        };
        let image = mono.to_image();
        assert_eq!(
            image.as_luma8().map(|g| g.as_raw().clone()),
            Some(mono.data)
        );
        let colour = Frame {
            format: format(Chroma::C444),
            data: vec![128; 18],
        };
        assert_eq!(colour.to_image().as_rgb8(), Some(&colour.to_rgb8()));
    }

    #[test]
    fn reads_420_444_and_mono_streams() {
        for (c, len) in [
            ("C420jpeg", 4 * 3 + 2 * 2 * 2),
            ("C444", 3 * 12),
            ("Cmono", 12),
            ("", 20),
        ] {
            let s = stream(
                &format!("YUV4MPEG2 W4 H3 F30:1 Ip A1:1 {c}"),
                &[vec![7; len], vec![9; len]],
            );
            let mut r = &s[..];
            let h = Y4mHeader::read(&mut r, &Limits::default()).unwrap();
            assert_eq!(h.format.frame_len(), len, "{c}");
            assert_eq!(h.fps, Some(30.0));
            assert_eq!(h.read_frame(&mut r, 0).unwrap().unwrap().data, vec![7; len]);
            assert_eq!(h.read_frame(&mut r, 1).unwrap().unwrap().data, vec![9; len]);
            assert!(h.read_frame(&mut r, 2).unwrap().is_none());
        }
    }

    #[test]
    fn a_cut_frame_names_the_frame() {
        let mut s = stream("YUV4MPEG2 W4 H4 Cmono", &[vec![1; 16], vec![2; 16]]);
        s.truncate(s.len() - 5);
        let mut r = &s[..];
        let h = Y4mHeader::read(&mut r, &Limits::default()).unwrap();
        h.read_frame(&mut r, 0).unwrap().unwrap();
        let e = h.read_frame(&mut r, 1).unwrap_err().to_string();
        assert!(e.contains("frame 2 is cut short: 11 of 16 bytes"), "{e}");
    }

    #[test]
    fn bad_headers_are_named() {
        let limits = Limits::default();
        for (header, needle) in [
            ("YUV4MPEG W4 H4", "YUV4MPEG2"),
            ("YUV4MPEG2 W4", "missing or zero W / H"),
            ("YUV4MPEG2 W4 H4 C422", "422"),
            ("YUV4MPEG2 W4 H4 C420p10", "420p10"),
            ("YUV4MPEG2 W4 H4 It", "interlaced"),
            ("YUV4MPEG2 W100000 H100000", "over the limit"),
        ] {
            let s = stream(header, &[]);
            let e = Y4mHeader::read(&mut &s[..], &limits)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{header}: {e}");
        }
        let e = Y4mHeader::read(&mut &b"YUV4MPEG2 W4 H4"[..], &limits)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not terminated"), "{e}");
    }

    #[test]
    fn yuv_rgb_round_trip_is_within_rounding() {
        // In-gamut colours: RGB -> 4:4:4 YUV -> RGB comes back within rounding.
        let rgb = RgbImage::from_fn(8, 4, |x, y| {
            image::Rgb([
                (x * 31) as u8,
                (y * 60 + 10) as u8,
                (255 - x * 20 - y * 9) as u8,
            ])
        });
        let format = Format {
            width: 8,
            height: 4,
            chroma: Chroma::C444,
        };
        let mut frame = Frame {
            format,
            data: vec![0; format.frame_len()],
        };
        frame.set_rgb8(&rgb);
        let back = frame.to_rgb8();
        for (a, b) in back.as_raw().iter().zip(rgb.as_raw()) {
            assert!(a.abs_diff(*b) <= 2, "{a} vs {b}");
        }
    }

    #[test]
    fn frame_bytes_are_bounded_before_reading() {
        // 8K 4:4:4 is within the default pixel limit but over the default frame limit.
        let s = stream("YUV4MPEG2 W7680 H4320 C444", &[]);
        let e = Y4mHeader::read(&mut &s[..], &Limits::default()).unwrap_err();
        let FrameError::Limit(limit) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(limit.bound, crate::limits::Bound::FrameBytes);
        let e = e.to_string();
        assert!(e.contains("99532800 bytes"), "{e}");
        let small = Limits {
            max_frame_bytes: 47,
            ..Limits::default()
        };
        assert!(RawFormat::parse("4x4", "rgb24", &small).is_err()); // 48 bytes
        assert!(RawFormat::parse("4x4", "yuv420p", &small).is_ok());
    }

    #[test]
    fn raw_formats_and_sizes() {
        let l = Limits::default();
        assert_eq!(
            RawFormat::parse("640x480", "yuv420p", &l)
                .unwrap()
                .0
                .frame_len(),
            640 * 480 * 3 / 2
        );
        assert_eq!(
            RawFormat::parse("3x3", "yuv420p", &l)
                .unwrap()
                .0
                .frame_len(),
            9 + 2 * 4
        );
        assert!(RawFormat::parse("640", "gray8", &l).is_err());
        assert!(
            RawFormat::parse("4x4", "nv12", &l)
                .unwrap_err()
                .to_string()
                .contains("nv12")
        );
        let raw = RawFormat::parse("2x2", "rgb24", &l).unwrap();
        let bytes = [1u8; 12 + 5];
        let mut r = &bytes[..];
        assert!(raw.read_frame(&mut r, 0).unwrap().is_some());
        let e = raw.read_frame(&mut r, 1).unwrap_err().to_string();
        assert!(e.contains("frame 2 is cut short: 5 of 12 bytes"), "{e}");
    }
}
