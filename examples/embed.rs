//! A program that embeds latent-codec as a library: a camera frame (here, the bundled sample
//! photo) compressed into `.lat` bytes within a byte budget and decoded back.
//!
//! Builds without the command line's dependencies:
//! `cargo run --release --example embed --no-default-features`

use image::DynamicImage;
use latent_codec::{Codec, Limits, ModelBundle, Precision, io::imageio, report::metrics, sample};

fn main() -> Result<(), latent_codec::Error> {
    let limits = Limits::default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let codec = Codec::new(ModelBundle::embedded()?, threads, Precision::F32, limits)?;

    let frame: DynamicImage =
        imageio::decode(std::path::Path::new("frame"), sample::SAMPLE_PNG, &limits)?;
    // What a radio link can carry per frame: the best quality whose file fits.
    let encoded = codec.encode_within(&frame, 24_000)?;
    let decoded = codec.decode(&encoded.bytes)?;

    let psnr = metrics::psnr(frame.to_rgb8().as_raw(), decoded.image.to_rgb8().as_raw());
    let pixels = f64::from(frame.width()) * f64::from(frame.height());
    println!(
        "{}x{} frame: quality {}, {} bytes ({:.3} bpp), {psnr:.2} dB, encode {:.1} ms, decode {:.1} ms",
        frame.width(),
        frame.height(),
        encoded.header.quality,
        encoded.bytes.len(),
        8.0 * encoded.bytes.len() as f64 / pixels,
        encoded.encode_ms,
        decoded.decode_ms
    );
    Ok(())
}
