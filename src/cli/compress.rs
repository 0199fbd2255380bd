//! `latent compress`: pictures (one, a folder, or a Y4M stream's frames) to `.lat` files, at a
//! quality or within a size.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use image::DynamicImage;
use latent_codec::codec::Encoded;
use latent_codec::io::frames::{Chroma, Format, Y4mHeader};
use latent_codec::runtime::precision::Stage;
use latent_codec::{Codec, io::output};
use serde_json::json;

use super::batch;
use super::models::Codecs;
use super::{
    ModelOpts, UsageError, check_output, decode_picture, is_std, json_line, open_input, read_input,
    write_output,
};

/// What `compress` is asked to hit.
#[derive(Debug, Clone, Copy)]
pub enum Rate {
    /// A quality level (default: the model's).
    Quality(Option<u8>),
    /// The best quality within this many bytes.
    MaxBytes(u64),
    /// The best quality at or under this many bits per pixel.
    TargetBpp(f64),
}

/// `--target-bpp`: a positive, finite rate.
pub fn parse_bpp(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(b) if b.is_finite() && b > 0.0 => Ok(b),
        _ => Err(format!("{s:?} is not a positive number of bits per pixel")),
    }
}

/// `latent compress`: one picture (or stdin), or every picture of a folder into another.
pub fn run(
    input: &Path,
    output: &Path,
    rate: Rate,
    opts: &ModelOpts,
    json: bool,
) -> Result<String> {
    if let Ok(format) = image::ImageFormat::from_path(output) {
        return Err(UsageError(format!(
            "{}: compress writes .lat files, not {format:?}; name the output .lat (decompress writes images)",
            output.display()
        ))
        .into());
    }
    if input.is_dir() {
        return folder(input, output, rate, opts, json);
    }
    check_output(input, output)?;
    let name = if is_std(input) {
        Path::new("stdin")
    } else {
        input
    };
    let mut reader = open_input(input)?;
    if reader
        .fill_buf()
        .is_ok_and(|head| head.starts_with(b"YUV4MPEG2"))
    {
        return stream(name, reader, output, rate, opts, json);
    }
    let bytes = if is_std(input) {
        opts.limits().read_all(reader, name, 0)?
    } else {
        read_input(input, &opts.limits())?
    };
    let mut report = String::new();
    let image = decode_picture(name, &bytes, &opts.limits(), |w| eprintln!("{w}"))?;
    let codecs = Codecs::new(opts, Stage::Encode);
    let codec = codecs.for_picture(&image)?;
    let pixels = f64::from(image.width()) * f64::from(image.height());
    let encoded = encode_at(codec, &image, rate, name)?;
    let quality = encoded.header.quality;
    let bpp = 8.0 * encoded.bytes.len() as f64 / pixels;
    if json {
        let out = json!({
            "input": input, "output": output, "width": image.width(), "height": image.height(),
            "bytes": encoded.bytes.len(), "bpp": bpp, "quality": quality,
            "model": codec.bundle().prior.name, "fingerprint": codec.bundle().fingerprint_hex(),
            "precision": codec.precision(), "encode_ms": encoded.encode_ms,
        });
        report.push_str(&json_line(out));
    } else {
        writeln!(
            report,
            "{} -> {}: {}x{}, quality {quality}, {} bytes, {bpp:.3} bpp, encoded in {:.1} ms ({})",
            input.display(),
            output.display(),
            image.width(),
            image.height(),
            encoded.bytes.len(),
            encoded.encode_ms,
            codec.precision()
        )?;
    }
    write_output(output, &encoded.bytes, report)
}

/// Every frame of the Y4M stream in `reader` (named `name`) into `output/frame-NNNNN.lat`,
/// numbered from 1; a mono stream's frames are coded as gray pictures.
fn stream(
    name: &Path,
    mut reader: impl BufRead,
    output: &Path,
    rate: Rate,
    opts: &ModelOpts,
    json: bool,
) -> Result<String> {
    let to_file = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("lat"));
    if is_std(output) || to_file {
        return Err(UsageError(format!(
            "{}: is a Y4M stream, which compresses into a folder (-o DIR, one .lat per frame), not {}",
            name.display(),
            output.display()
        ))
        .into());
    }
    let limits = opts.limits();
    let header = Y4mHeader::read(&mut reader, &limits)
        .with_context(|| format!("reading {}", name.display()))?;
    let gray = header.format.chroma == Chroma::Mono;
    let codecs = Codecs::new(opts, Stage::Encode);
    let codec = codecs.for_gray(gray)?;
    batch::output_folder(name, output, "their .lat files")?;
    let (mut bytes, mut times) = (0usize, Vec::new());
    for index in 0u64.. {
        let Some(frame) = header
            .read_frame(&mut reader, index)
            .with_context(|| format!("reading {}", name.display()))?
        else {
            break;
        };
        let start = Instant::now();
        let frame_name = PathBuf::from(format!("{} frame {}", name.display(), index + 1));
        let encoded = encode_at(codec, &frame.to_image(), rate, &frame_name)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        output::write(
            &output.join(format!("frame-{:05}.lat", index + 1)),
            &encoded.bytes,
        )?;
        bytes += encoded.bytes.len();
    }
    let Format { width, height, .. } = header.format;
    let frames = times.len();
    let bpp = 8.0 * bytes as f64 / (width * height * frames).max(1) as f64;
    let latency = batch::Latency::of(&times);
    Ok(if json {
        json_line(json!({
            "input": name, "output": output, "frames": frames, "width": width, "height": height,
            "gray": gray, "bytes": bytes, "bpp": bpp,
            "model": codec.bundle().prior.name, "precision": codec.precision(),
            "latency_ms": latency.json(),
        }))
    } else {
        format!(
            "{} -> {}/: {frames} {width}x{height} {} frames compressed; {bytes} bytes, \
             {bpp:.3} bpp; {}\n",
            name.display(),
            output.display(),
            if gray { "gray" } else { "colour" },
            latency.text()
        )
    })
}

/// Encodes `image` (named `name` in errors) as `rate` asks.
fn encode_at(codec: &Codec, image: &DynamicImage, rate: Rate, name: &Path) -> Result<Encoded> {
    Ok(match rate {
        Rate::Quality(q) => codec.encode(image, q.unwrap_or_else(|| codec.default_quality()))?,
        Rate::MaxBytes(max) => codec
            .encode_within(image, usize::try_from(max).unwrap_or(usize::MAX))
            .with_context(|| format!("{}: --max-bytes {max}", name.display()))?,
        Rate::TargetBpp(b) => {
            let pixels = f64::from(image.width()) * f64::from(image.height());
            let max = (b * pixels / 8.0).floor() as usize;
            codec.encode_within(image, max).with_context(|| {
                format!(
                    "{}: --target-bpp {b} allows {max} bytes at {}x{}",
                    name.display(),
                    image.width(),
                    image.height()
                )
            })?
        }
    })
}

/// Every picture of folder `input` into `output/NAME.lat`.
fn folder(input: &Path, output: &Path, rate: Rate, opts: &ModelOpts, json: bool) -> Result<String> {
    if is_std(output) {
        return Err(UsageError(format!(
            "{}: is a folder, which compresses into a folder (-o DIR), not stdout",
            input.display()
        ))
        .into());
    }
    let codecs = Codecs::new(opts, Stage::Encode);
    let files = batch::pictures_in(input)?;
    batch::output_folder(input, output, "their .lat files")?;
    let limits = opts.limits();
    let mut written = HashSet::new();
    let outcome = batch::run(&files, |path, bar| {
        let out = output
            .join(path.file_stem().unwrap_or_default())
            .with_extension("lat");
        if !written.insert(out.clone()) {
            bail!("{} is already another picture's output", out.display());
        }
        let bytes = limits.read_file(path)?;
        let image = decode_picture(path, &bytes, &limits, |w| bar.suspend(|| eprintln!("{w}")))?;
        let encoded = encode_at(codecs.for_picture(&image)?, &image, rate, path)?;
        output::write(&out, &encoded.bytes)?;
        Ok((
            encoded.bytes.len(),
            u64::from(image.width()) * u64::from(image.height()),
        ))
    });
    let bytes: usize = outcome.done.iter().map(|d| d.0).sum();
    let pixels: u64 = outcome.done.iter().map(|d| d.1).sum();
    let bpp = 8.0 * bytes as f64 / pixels.max(1) as f64;
    let (done, skipped) = (outcome.done.len(), &outcome.skipped);
    Ok(if json {
        json_line(json!({
            "input": input, "output": output, "pictures": done, "skipped": skipped,
            "bytes": bytes, "bpp": bpp, "model": codecs.names(),
            "precision": codecs.precision(), "latency_ms": outcome.latency.json(),
        }))
    } else {
        let mut s = format!(
            "{}/ -> {}/: {done} pictures compressed, {} skipped; {bytes} bytes, {bpp:.3} bpp over \
             all their pixels; {}\n",
            input.display(),
            output.display(),
            skipped.len(),
            outcome.latency.text()
        );
        for f in skipped {
            let _ = writeln!(s, "  skipped {f}");
        }
        s
    })
}
