//! Command definitions and their thin glue over the library.

mod batch;
mod bench;
mod compress;
mod demos;
mod denoise;
mod eval;
mod link;
mod models;
mod packets;
mod tables;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use latent_codec::runtime::bundle::hex;
use latent_codec::runtime::bundle::{Embedded, MAX_QUALITY};
use latent_codec::runtime::precision::{self, Request, Stage};
use latent_codec::{
    EntropyModel, Limits, ModelBundle, Precision, io::imageio, io::output, report::metrics, sample,
};
use latent_wire::container::LatFile;
use serde_json::json;

/// Compress photos into small latent codes with a trained VAE, and back.
#[derive(Parser)]
#[command(name = "latent", version, about)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// `latent --version`: the crate's version and the compiled-in models, each with its
/// fingerprint (the codec's is the one `.lat` headers carry). Not clap's `long_version`, which
/// every run would compute.
pub fn version() -> String {
    let mut text = format!("latent {}", env!("CARGO_PKG_VERSION"));
    let mut line = |role: &str, id: Result<(String, [u8; 8]), latent_codec::error::BundleError>| {
        let _ = match id {
            Ok((name, fingerprint)) => write!(text, "\n{role:9} {name} {}", hex(&fingerprint)),
            Err(e) => write!(text, "\n{role:9} unreadable: {e}"),
        };
    };
    for which in Embedded::ALL {
        line(
            "codec",
            ModelBundle::compiled_in(which).map(|b| (b.prior.name.clone(), b.fingerprint)),
        );
    }
    for which in latent_codec::denoise::Embedded::ALL {
        line("denoiser", which.id());
    }
    match latent_codec::demos::vae2d::embedded_ids() {
        Ok(ids) => ids.into_iter().for_each(|id| line("demo", Ok(id))),
        Err(e) => line("demo", Err(e)),
    }
    text.push('\n');
    text
}

/// The flag of ours that does something about `e`, as a hint to print after it: the limits'
/// flags for a crossed bound, `--precision f32` for a bundle without int8 graphs, `--model` for
/// a `.lat` of another model.
pub fn hint(e: &anyhow::Error) -> Option<String> {
    use latent_codec::error::{BundleError, FrameError, IdxError, LatError, LimitError};
    use latent_codec::limits::Bound;
    let raise = |bound| {
        let flag = match bound {
            Bound::Pixels => "--max-pixels",
            Bound::LatentElements => "--max-latent-elements",
            Bound::FrameBytes => "--max-frame-bytes",
            Bound::Packets => "--max-packets",
            _ => "--max-input-bytes",
        };
        format!("raise it with {flag}")
    };
    e.chain().find_map(|cause| {
        let ours = cause.downcast_ref::<latent_codec::Error>();
        let limit = match (ours, cause.downcast_ref::<FrameError>()) {
            (Some(latent_codec::Error::Limit(l)), _) | (_, Some(FrameError::Limit(l))) => Some(l),
            _ => cause.downcast_ref::<LimitError>(),
        };
        let bundle = cause.downcast_ref::<BundleError>().or(match ours {
            Some(latent_codec::Error::Bundle(b)) => Some(b),
            _ => None,
        });
        let lat = cause.downcast_ref::<LatError>().or(match ours {
            Some(latent_codec::Error::Lat(l)) => Some(l),
            _ => None,
        });
        match (limit, bundle, lat, cause.downcast_ref::<IdxError>()) {
            (Some(limit), ..) => Some(raise(limit.bound)),
            (_, Some(BundleError::NoInt8 { .. }), ..) => Some("use --precision f32".into()),
            (_, _, Some(LatError::ModelMismatch { .. }), _) => {
                Some("pass its bundle with --model".into())
            }
            (.., Some(IdxError::TooLarge { .. })) => Some(raise(Bound::InputBytes)),
            _ => None,
        }
    })
}

/// The help heading of [`LimitOpts`], per flag so that it stops there.
const LIMITS: &str = "Limits on input";

/// Bounds on untrusted input, one flag per [`Limits`] field.
#[derive(clap::Args)]
struct LimitOpts {
    /// Refuse images and frames with more pixels than this.
    #[arg(long, help_heading = LIMITS, value_name = "PIXELS", default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
    /// Refuse latents (channels x height x width) with more elements than this.
    #[arg(long, help_heading = LIMITS, value_name = "N", default_value_t = Limits::default().max_latent_elements)]
    max_latent_elements: u64,
    /// Refuse input files larger than this.
    #[arg(long, help_heading = LIMITS, value_name = "BYTES", default_value_t = Limits::default().max_input_bytes)]
    max_input_bytes: u64,
    /// Refuse frame streams whose frames are larger than this.
    #[arg(long, help_heading = LIMITS, value_name = "BYTES", default_value_t = Limits::default().max_frame_bytes)]
    max_frame_bytes: u64,
    /// Refuse packet streams of more packets than this.
    #[arg(long, help_heading = LIMITS, value_name = "N", default_value_t = Limits::default().max_packets,
          value_parser = clap::value_parser!(u64).range(3..=latent_codec::codec::packets::MAX_PACKETS as u64))]
    max_packets: u64,
}

/// `--precision`, resolved per stage for this CPU.
#[derive(clap::Args)]
struct PrecisionOpt {
    /// Numeric precision: f32, f16 (runs f32 on CPUs without native f16 arithmetic), int8, or
    /// auto: the fastest that `latent bench --save-choice` measured on this CPU (until then f16
    /// where it is native, else f32).
    #[arg(long, value_name = "P", default_value = "auto")]
    precision: Request,
}

impl PrecisionOpt {
    /// The precision `stage` runs at; warns on stderr (once) when an explicit request falls
    /// back.
    fn resolve(&self, stage: Stage) -> Precision {
        static WARNED: AtomicBool = AtomicBool::new(false);
        let resolved = precision::resolve(self.precision, stage);
        if let (Request::Exactly(_), Some(note)) = (self.precision, &resolved.note)
            && !WARNED.swap(true, Ordering::Relaxed)
        {
            eprintln!("warning: {note}");
        }
        resolved.precision
    }
}

impl LimitOpts {
    fn limits(&self) -> Limits {
        Limits {
            max_pixels: self.max_pixels,
            max_latent_elements: self.max_latent_elements,
            max_input_bytes: self.max_input_bytes,
            max_frame_bytes: self.max_frame_bytes,
            max_packets: self.max_packets,
        }
    }
}

/// Options shared by the commands that run a model.
#[derive(clap::Args)]
struct ModelOpts {
    /// Model bundle directory (encoder.onnx, decoder.onnx, prior.json); default: embedded model.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Inference threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    #[command(flatten)]
    precision: PrecisionOpt,
    #[command(flatten)]
    limits: LimitOpts,
}

/// The bundle in `dir`, or the embedded one `which` names.
fn load_bundle(dir: Option<&Path>, which: Embedded, limits: &Limits) -> Result<ModelBundle> {
    Ok(match dir {
        Some(dir) => ModelBundle::from_dir(dir, limits)?,
        None => ModelBundle::compiled_in(which)?,
    })
}

/// `--threads` when given, else every core.
fn threads_or_all_cores(threads: Option<u16>) -> usize {
    match threads {
        Some(n) => n.into(),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

impl ModelOpts {
    /// `--threads`, or every core.
    fn threads(&self) -> usize {
        threads_or_all_cores(self.threads)
    }

    fn limits(&self) -> Limits {
        self.limits.limits()
    }

    /// The `--model` bundle, or the embedded one `which` names.
    fn bundle(&self, which: Embedded) -> Result<ModelBundle> {
        load_bundle(self.model.as_deref(), which, &self.limits())
    }

    /// The entropy model alone (no graph loaded) of the bundle that made the `.lat` file `lat`
    /// (see [`models::for_lat`]).
    fn entropy_for_lat(&self, lat: &[u8]) -> Result<EntropyModel> {
        Ok(EntropyModel::new(
            self.bundle(models::for_lat(self, lat))?,
            self.limits(),
        ))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Compress an image (PNG, JPEG, PPM/PGM, BMP, TIFF, WebP, GIF; RGB or gray) to .lat; a
    /// folder of them, or the frames of a Y4M stream, into a folder of .lat files.
    Compress {
        /// Input image, folder or Y4M stream (- for stdin).
        input: PathBuf,
        /// Output .lat file (- for stdout), or folder.
        #[arg(short, long)]
        output: PathBuf,
        /// Quality, 1 (smallest file) to 8 (best picture); default: the model's default.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=MAX_QUALITY as i64))]
        quality: Option<u8>,
        /// The best quality whose file takes at most BYTES (an error when even the lowest
        /// does not fit).
        #[arg(long, value_name = "BYTES", conflicts_with_all = ["quality", "target_bpp"],
              value_parser = clap::value_parser!(u64).range(1..))]
        max_bytes: Option<u64>,
        /// The best quality at or under B bits per pixel (the file's bytes x 8 / pixels).
        #[arg(long, value_name = "B", conflicts_with = "quality", value_parser = compress::parse_bpp)]
        target_bpp: Option<f64>,
        #[command(flatten)]
        model: ModelOpts,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Decompress a .lat file to an image (format from the output's extension, default PNG).
    Decompress {
        /// Input .lat file (- for stdin).
        input: PathBuf,
        /// Output image (- for PNG on stdout).
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        model: ModelOpts,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the header fields of a .lat file.
    Inspect {
        /// Input .lat file (- for stdin).
        input: PathBuf,
        #[command(flatten)]
        limits: LimitOpts,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compress and decompress the bundled sample photo; print size, PSNR and latency.
    Demo {
        /// Where to write sample.png, sample.lat and sample-decoded.png.
        #[arg(short, long, default_value_os_t = std::env::temp_dir().join("latent-demo"))]
        output_dir: PathBuf,
        #[command(flatten)]
        model: ModelOpts,
    },
    /// Cut a .lat file into packets of at most MTU bytes, one file per packet (00000.pkt, ...).
    Packetize {
        /// Input .lat file.
        input: PathBuf,
        /// Largest packet in bytes (LoRa ~222, BLE ~244, UDP ~1200), at least 68.
        #[arg(long, value_name = "BYTES", value_parser = parse_mtu)]
        mtu: usize,
        /// Output directory (created when missing; must not hold packets yet).
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        model: ModelOpts,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Reassemble received packets: OUT.lat when all arrived, or an image (OUT.png, ...)
    /// decoded with lost slices concealed.
    Depacketize {
        /// Directory of packet files (any names; read in name order).
        input: PathBuf,
        /// Output .lat or image file.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        model: ModelOpts,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Measure per-stage latency (every threads x precision combination side by side), CPU
    /// state and peak memory; exit code 3 when a p95 is over --budget-ms.
    Bench(bench::BenchArgs),
    /// Remove sensor noise from a picture, a directory of pictures, or a frame stream (Y4M or
    /// raw frames, file or stdin/stdout), with per-frame latency and an optional budget.
    Denoise(denoise::DenoiseArgs),
    /// Send a .lat, a picture or a Y4M stream as UDP datagrams of .lat packets, paced to a link
    /// rate; --drop, --duplicate and --reorder simulate a lossy link.
    Send(link::SendArgs),
    /// Receive .lat packets over UDP: each frame put back together, what is lost concealed, and
    /// written as a picture, a Y4M stream or numbered PNGs.
    Receive(link::ReceiveArgs),
    /// Rate-distortion on a folder of images: ours at each quality against JPEG and WebP
    /// sweeps; writes rd.csv, rd.json and an rd.png plot, prints PSNR at 0.25/0.5/1 bpp and
    /// BD-rate against WebP.
    Eval(eval::EvalArgs),
    /// Fit context tables and a neighbour predictor to a factorized bundle's symbols on a folder
    /// of photos and write them into its prior.json (the factorized one kept as
    /// prior.factorized.json); --val measures the saving.
    Tables(tables::TablesArgs),
    #[command(flatten)]
    Vae2d(demos::DemoCommand),
}

/// Runs one parsed command line; returns what it prints on stdout and the exit code (0, or 3
/// when `bench` found a p95 over budget).
pub fn run(args: Args) -> Result<(String, u8)> {
    let report = match args.command {
        Command::Bench(b) => {
            let outcome = bench::run(&b)?;
            return Ok((outcome.report, outcome.exit));
        }
        Command::Compress {
            input,
            output,
            quality,
            max_bytes,
            target_bpp,
            model,
            json,
        } => {
            let rate = match (max_bytes, target_bpp) {
                (Some(bytes), _) => compress::Rate::MaxBytes(bytes),
                (_, Some(bpp)) => compress::Rate::TargetBpp(bpp),
                _ => compress::Rate::Quality(quality),
            };
            compress::run(&input, &output, rate, &model, json)
        }
        Command::Decompress {
            input,
            output,
            model,
            json,
        } => decompress(&input, &output, &model, json),
        Command::Inspect {
            input,
            limits,
            json,
        } => inspect(&input, &limits.limits(), json),
        Command::Demo { output_dir, model } => demo(&output_dir, &model),
        Command::Packetize {
            input,
            mtu,
            output,
            model,
            json,
        } => packets::packetize(&input, mtu, &output, &model, json),
        Command::Depacketize {
            input,
            output,
            model,
            json,
        } => packets::depacketize(&input, &output, &model, json),
        Command::Denoise(args) => denoise::run(&args),
        Command::Send(args) => link::send(&args),
        Command::Receive(args) => link::receive(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Tables(args) => tables::run(&args),
        Command::Vae2d(command) => demos::run(command),
    }?;
    Ok((report, 0))
}

/// A command-line mistake: exit code 2, as for the errors clap reports.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `--mtu`: a packet must hold its own header and the `.lat` header.
fn parse_mtu(s: &str) -> Result<usize, String> {
    use latent_wire::packet::{MAX_PACKET, MIN_MTU};
    match s.parse::<usize>() {
        Ok(mtu) if (MIN_MTU..=MAX_PACKET).contains(&mtu) => Ok(mtu),
        _ => Err(format!(
            "{s:?} is not a packet size in {MIN_MTU}..={MAX_PACKET} bytes"
        )),
    }
}

/// Significant digits of the floats in JSON reports: more than any measurement here carries,
/// so an f32 widened to f64 (`149.7606964111328`) prints as `149.761`.
const JSON_DIGITS: usize = 6;

/// `value` with every float rounded to [`JSON_DIGITS`] significant digits.
fn rounded(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or_default();
            let r: f64 = format!("{x:.*e}", JSON_DIGITS - 1).parse().unwrap_or(x);
            serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(rounded).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, rounded(v))).collect())
        }
        other => other,
    }
}

/// A JSON report: one line, floats [`rounded`].
fn json_line(value: serde_json::Value) -> String {
    format!("{}\n", rounded(value))
}

/// `-` names stdin or stdout, as for cwebp and most Unix tools.
fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The bytes of `path`, or of stdin for `-`, within the input-size limit.
fn read_input(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    Ok(if is_std(path) {
        limits.read_all(std::io::stdin().lock(), Path::new("stdin"), 0)?
    } else {
        limits.read_file(path)?
    })
}

/// `path` (a file, or stdin for `-`), buffered, so that its first bytes can be looked at
/// before it is read as a picture or as a stream.
fn open_input(path: &Path) -> Result<std::io::BufReader<Box<dyn std::io::Read>>> {
    let reader: Box<dyn std::io::Read> = if is_std(path) {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path);
        Box::new(file.map_err(|e| latent_codec::error::IoError::new(path, e))?)
    };
    Ok(std::io::BufReader::with_capacity(1 << 20, reader))
}

/// Refuses an `output` that would destroy `input` (see [`output::refuse_input`]).
fn check_output(input: &Path, output: &Path) -> Result<()> {
    if !is_std(input) && !is_std(output) {
        output::refuse_input(input, output)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` (see [`output`]), or to stdout for `-`; the command's report then
/// goes to stderr so that it does not mix with the data.
fn write_output(path: &Path, bytes: &[u8], report: String) -> Result<String> {
    if !is_std(path) {
        output::write(path, bytes)?;
        return Ok(report);
    }
    let mut stdout = std::io::stdout().lock();
    std::io::Write::write_all(&mut stdout, bytes)
        .and_then(|()| std::io::Write::flush(&mut stdout))
        .context("writing to stdout")?;
    eprint!("{report}");
    Ok(String::new())
}

fn decompress(input: &Path, output: &Path, opts: &ModelOpts, json: bool) -> Result<String> {
    check_output(input, output)?;
    let mut report = String::new();
    let lat = read_input(input, &opts.limits())?;
    let codecs = models::Codecs::new(opts, Stage::Decode);
    let codec = codecs.for_lat(&lat)?;
    let decoded = codec
        .decode(&lat)
        .with_context(|| input.display().to_string())?;
    let header = decoded.header;
    let bytes = imageio::encode(&decoded.image, output)?;
    if json {
        let out = json!({
            "input": input, "output": output, "width": header.width, "height": header.height,
            "channels": header.image_channels, "quality": header.quality,
            "model": codec.bundle().prior.name, "precision": codec.precision(),
            "encoder_precision": Precision::from_wire(header.precision),
            "decode_ms": decoded.decode_ms, "symbols_sha256": decoded.symbols_sha256(),
        });
        report.push_str(&json_line(out));
    } else {
        writeln!(
            report,
            "{} -> {}: {}x{}, decoded in {:.1} ms ({})",
            input.display(),
            output.display(),
            header.width,
            header.height,
            decoded.decode_ms,
            codec.precision()
        )?;
    }
    write_output(output, &bytes, report)
}

fn inspect(input: &Path, limits: &Limits, json: bool) -> Result<String> {
    let mut report = String::new();
    let lat = read_input(input, limits)?;
    let file =
        LatFile::parse(&lat).with_context(|| format!("{}: invalid .lat", input.display()))?;
    let fields = header_json(&file);
    if json {
        report.push_str(&json_line(fields));
    } else if let Some(map) = rounded(fields).as_object() {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                serde_json::Value::Array(items) => {
                    let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                    items.join(" x ")
                }
                v => v.to_string(),
            };
            writeln!(report, "{k:18} {v}")?;
        }
    }
    Ok(report)
}

/// The name of the embedded model with `fingerprint`, if one has it.
fn embedded_name(fingerprint: [u8; 8]) -> Option<String> {
    let which = Embedded::ALL
        .into_iter()
        .find(|w| w.fingerprint() == fingerprint)?;
    ModelBundle::compiled_in(which).ok().map(|b| b.prior.name)
}

fn header_json(file: &LatFile) -> serde_json::Value {
    let h = file.header();
    json!({
        "version": latent_wire::container::VERSION,
        "width": h.width,
        "height": h.height,
        "channels": h.image_channels,
        "quality": h.quality,
        "encoder_precision": Precision::from_wire(h.precision),
        "fingerprint": hex(&h.fingerprint),
        "model": embedded_name(h.fingerprint),
        "latent_shape": [h.latent_channels, h.latent_height, h.latent_width],
        "payload_bytes": file.payload().len(),
        "bytes": latent_wire::container::HEADER_LEN + file.payload().len(),
        "bpp": 8.0 * (latent_wire::container::HEADER_LEN + file.payload().len()) as f64
            / (f64::from(h.width) * f64::from(h.height)),
    })
}

fn demo(dir: &Path, opts: &ModelOpts) -> Result<String> {
    let mut report = String::new();
    let load = Instant::now();
    let codecs = models::Codecs::new(opts, Stage::Encode);
    let codec = codecs.for_gray(false)?;
    let image = imageio::decode(Path::new("sample.png"), sample::SAMPLE_PNG, &opts.limits())?;
    codec.prepare(image.width(), image.height())?;
    let load_ms = load.elapsed().as_secs_f64() * 1e3;
    let encoded = codec.encode(&image, codec.default_quality())?;
    let decoded = codec.decode(&encoded.bytes)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (original, lat, rebuilt) = (
        dir.join("sample.png"),
        dir.join("sample.lat"),
        dir.join("sample-decoded.png"),
    );
    output::write(&original, sample::SAMPLE_PNG)?;
    output::write(&lat, &encoded.bytes)?;
    output::write(&rebuilt, &imageio::encode(&decoded.image, &rebuilt)?)?;
    let pixels = f64::from(image.width()) * f64::from(image.height());
    let psnr = metrics::psnr(image.to_rgb8().as_raw(), decoded.image.to_rgb8().as_raw());
    writeln!(
        report,
        "model      {} ({}, {})",
        codec.bundle().prior.name,
        codec.bundle().source,
        codec.precision()
    )?;
    writeln!(
        report,
        "image      {}x{} sample photo",
        image.width(),
        image.height()
    )?;
    writeln!(
        report,
        "size       {} bytes = {:.3} bpp (PNG: {} bytes)",
        encoded.bytes.len(),
        8.0 * encoded.bytes.len() as f64 / pixels,
        sample::SAMPLE_PNG.len()
    )?;
    writeln!(report, "PSNR-RGB   {psnr:.2} dB")?;
    writeln!(
        report,
        "latency    load+optimize {load_ms:.0} ms, encode {:.1} ms, decode {:.1} ms",
        encoded.encode_ms, decoded.decode_ms
    )?;
    writeln!(report, "wrote      {}", original.display())?;
    writeln!(report, "           {}", lat.display())?;
    writeln!(report, "           {}", rebuilt.display())?;
    Ok(report)
}

/// Decodes picture `bytes` (named `name` in messages), passing `warn` a line for each thing
/// of it that is not kept (transparency, animation frames, depth beyond 8 bits).
fn decode_picture(
    name: &Path,
    bytes: &[u8],
    limits: &Limits,
    warn: impl Fn(String),
) -> Result<image::DynamicImage> {
    let image = imageio::decode(name, bytes, limits)?;
    for dropped in imageio::dropped(bytes, &image) {
        warn(format!("warning: {}: {dropped}", name.display()));
    }
    Ok(image)
}

/// A progress bar over `len` files (position, count and the current file's name).
fn file_progress(len: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn json_floats_keep_six_significant_digits() {
        let widened = f64::from(149.7607_f32);
        assert_eq!(widened.to_string(), "149.7606964111328");
        let line = super::json_line(json!({
            "ms": widened, "bpp": 0.6797590361445783, "tiny": 1.234567e-9,
            "n": 14105, "list": [2.0_f64.sqrt()], "name": "f32",
        }));
        assert_eq!(
            line,
            "{\"bpp\":0.679759,\"list\":[1.41421],\"ms\":149.761,\"n\":14105,\"name\":\"f32\",\
             \"tiny\":1.23457e-9}\n"
        );
    }
}
