//! `latent denoise`: pictures, folders of pictures, and frame streams (Y4M or raw) with a
//! per-frame latency budget.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use image::RgbImage;
use latent_codec::denoise::{DEFAULT_TILE, Denoiser, Embedded, Source as ModelSource};
use latent_codec::io::frames::{Frame, RawFormat, Y4mHeader, write_raw_frame, write_y4m_frame};
use latent_codec::runtime::precision::Stage;
use latent_codec::{Limits, io::imageio, io::output};

use super::batch::{self, Latency};
use super::{LimitOpts, PrecisionOpt, decode_picture, json_line};
use serde_json::json;

/// Options of `latent denoise`.
#[derive(clap::Args)]
pub struct DenoiseArgs {
    /// Input: a picture, a directory of pictures, a Y4M stream (file or - for stdin), or raw
    /// frames with --raw.
    input: PathBuf,
    /// Output: a picture, a directory, or a stream (file or - for stdout).
    #[arg(short, long)]
    output: PathBuf,
    /// Denoiser: `quality` (the default for pictures and folders), `fast` (the default for
    /// streams), or a bundle directory (denoiser.onnx, model.json).
    #[arg(long, value_name = "fast|quality|DIR", value_parser = parse_model)]
    model: Option<Model>,
    /// Inference threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    #[command(flatten)]
    precision: PrecisionOpt,
    /// Noise level hint (standard deviation in 8-bit levels): the model stays blind, and the
    /// noise it removes is rescaled to this RMS; 0 leaves frames as they are.
    #[arg(long, value_name = "SIGMA", value_parser = parse_sigma)]
    sigma: Option<f32>,
    /// Largest tile side in pixels (0: whole frame as one tile); tiles bound memory, and a
    /// frame is split into tiles of equal size.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_TILE)]
    tile: usize,
    /// Raw frames of this size (WIDTHxHEIGHT) instead of a Y4M stream.
    #[arg(long, value_name = "WxH", requires = "pix_fmt")]
    raw: Option<String>,
    /// Pixel format of raw frames: gray8, rgb24 or yuv420p.
    #[arg(long, value_name = "FMT", requires = "raw")]
    pix_fmt: Option<String>,
    /// Per-frame latency budget in ms: the summary counts frames over it.
    #[arg(long, value_name = "MS")]
    budget_ms: Option<f64>,
    /// After the first frame, pick the model (without --model: quality when it runs within
    /// --budget-ms, else fast) and the threads and tile size that run it fastest.
    #[arg(long, requires = "budget_ms")]
    fit_budget: bool,
    #[command(flatten)]
    limits: LimitOpts,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// `--model`: an embedded denoiser or a bundle directory.
#[derive(Clone, Debug)]
enum Model {
    Embedded(Embedded),
    Dir(PathBuf),
}

fn parse_model(s: &str) -> Result<Model, String> {
    Ok(Embedded::from_name(s).map_or_else(|| Model::Dir(s.into()), Model::Embedded))
}

fn parse_sigma(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=255.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a noise level in 0..=255")),
    }
}

impl DenoiseArgs {
    /// The `--model` denoiser, else the embedded one `default` names.
    fn denoiser(&self, threads: usize, default: Embedded) -> Result<Denoiser> {
        let source = match &self.model {
            None => ModelSource::Embedded(default),
            Some(Model::Embedded(which)) => ModelSource::Embedded(*which),
            Some(Model::Dir(dir)) => ModelSource::Dir(dir),
        };
        Ok(Denoiser::load(
            source,
            threads,
            self.precision.resolve(Stage::Denoise),
            &self.limits(),
        )?
        .with_sigma_hint(self.sigma))
    }

    fn limits(&self) -> Limits {
        self.limits.limits()
    }

    fn threads(&self) -> usize {
        super::threads_or_all_cores(self.threads)
    }
}

/// Runs `latent denoise`; returns what goes to stdout (empty when stdout carries frames: the
/// summary then goes to stderr).
pub fn run(args: &DenoiseArgs) -> Result<String> {
    let is_stdin = args.input.as_os_str() == "-";
    if !is_stdin && args.input.is_dir() {
        return folder(args);
    }
    if !is_stdin && args.output.as_os_str() != "-" {
        output::refuse_input(&args.input, &args.output)?;
    }
    let mut reader = super::open_input(&args.input)?;
    let y4m = reader
        .fill_buf()
        .map(|b| b.starts_with(b"YUV4MPEG2"))
        .unwrap_or(false);
    if args.raw.is_some() || y4m {
        return stream(args, reader);
    }
    if is_stdin {
        bail!(
            "stdin is not a Y4M stream (no YUV4MPEG2 header); for raw frames pass --raw WxH --pix-fmt FMT"
        );
    }
    picture(args)
}

/// The embedded models that pictures and folders (the first) and `--fit-budget` without
/// `--model` (in order, the first within the budget) take, best first as measured on the
/// validation photos (`models/denoise/compare.py`): denoise-v2 measures 0.16–0.25 dB above
/// denoise-fast in colour and level with it in gray.
const BEST_FIRST: &[Embedded] = &[Embedded::Quality, Embedded::Fast];

fn picture(args: &DenoiseArgs) -> Result<String> {
    let denoiser = args.denoiser(args.threads(), BEST_FIRST[0])?;
    let limits = args.limits();
    let bytes = limits.read_file(&args.input)?;
    let image = decode_picture(&args.input, &bytes, &limits, |w| eprintln!("{w}"))?;
    let start = Instant::now();
    let clean = denoiser.denoise_image(&image, args.tile)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    output::write(&args.output, &imageio::encode(&clean, &args.output)?)?;
    Ok(if args.json {
        let out = json!({"input": args.input, "output": args.output, "width": image.width(),
                         "height": image.height(), "gray": imageio::is_gray(&image),
                         "model": denoiser.meta.name, "precision": denoiser.precision(),
                         "ms": ms});
        json_line(out)
    } else {
        format!(
            "{} -> {}: {}x{}, denoised in {ms:.1} ms\n",
            args.input.display(),
            args.output.display(),
            image.width(),
            image.height()
        )
    })
}

fn folder(args: &DenoiseArgs) -> Result<String> {
    let denoiser = args.denoiser(args.threads(), BEST_FIRST[0])?;
    let files = batch::pictures_in(&args.input)?;
    batch::output_folder(&args.input, &args.output, "their denoised versions")?;
    let limits = args.limits();
    let outcome = batch::run(&files, |path, bar| {
        let bytes = limits.read_file(path)?;
        let image = decode_picture(path, &bytes, &limits, |w| bar.suspend(|| eprintln!("{w}")))?;
        let clean = denoiser.denoise_image(&image, args.tile)?;
        let out = args.output.join(path.file_name().unwrap_or_default());
        output::write(&out, &imageio::encode(&clean, &out)?)?;
        Ok(())
    });
    let (done, skipped, stats) = (outcome.done.len(), &outcome.skipped, &outcome.latency);
    Ok(if args.json {
        let out = json!({"input": args.input, "output": args.output, "pictures": done,
                         "skipped": skipped, "latency_ms": stats.json()});
        json_line(out)
    } else {
        let mut s = format!(
            "{}/ -> {}/: {done} pictures denoised, {} skipped; {}\n",
            args.input.display(),
            args.output.display(),
            skipped.len(),
            stats.text()
        );
        for f in skipped {
            let _ = writeln!(s, "  skipped {f}");
        }
        s
    })
}

/// Settings `--fit-budget` may pick.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Setting {
    threads: usize,
    tile: usize,
}

fn stream(args: &DenoiseArgs, mut reader: BufReader<Box<dyn Read>>) -> Result<String> {
    enum Source {
        Y4m(Y4mHeader),
        Raw(RawFormat),
    }
    let limits = args.limits();
    let source = match (&args.raw, &args.pix_fmt) {
        (Some(size), Some(fmt)) => Source::Raw(RawFormat::parse(size, fmt, &limits)?),
        _ => Source::Y4m(Y4mHeader::read(&mut reader, &limits)?),
    };
    let to_stdout = args.output.as_os_str() == "-";
    // A file output is committed at the end (with the complete frames, also when the input is
    // cut short).
    let mut pending = None;
    let sink: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        let file = output::create(&args.output)?;
        let handle = file.file().try_clone()?;
        pending = Some(file);
        Box::new(handle)
    };
    let mut out = BufWriter::new(sink);
    if let Source::Y4m(h) = &source {
        h.write(&mut out)?;
    }
    let mut setting = Setting {
        threads: args.threads(),
        tile: args.tile,
    };
    let mut denoiser = args.denoiser(setting.threads, Embedded::Fast)?;
    let mut times = Vec::new();
    let mut fitted = None;
    let mut failure = None;
    for index in 0u64.. {
        let next = match &source {
            Source::Y4m(h) => h.read_frame(&mut reader, index),
            Source::Raw(r) => r.read_frame(&mut reader, index),
        };
        let mut frame = match next {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if index == 0 && args.fit_budget {
            let (best, dn, ms) = fit(args, &frame, setting)?;
            fitted = Some((best, ms));
            setting = best;
            denoiser = dn;
        }
        let start = Instant::now();
        let rgb = frame.to_rgb8();
        let clean = denoiser.denoise(&rgb, setting.tile)?;
        frame.set_rgb8(&clean);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        match &source {
            Source::Y4m(_) => write_y4m_frame(&mut out, &frame),
            Source::Raw(_) => write_raw_frame(&mut out, &frame),
        }
        .context("writing frames")?;
    }
    out.flush().context("writing frames")?;
    drop(out);
    // A stream that fails before its first complete frame leaves no file (an uncommitted
    // output is dropped).
    if let Some(file) = pending.filter(|_| failure.is_none() || !times.is_empty()) {
        file.commit()?;
    }
    let stats = Latency::of(&times);
    let over = args.budget_ms.map(|b| stats.over(b));
    let summary = if args.json {
        let fit = fitted
            .map(|(s, ms)| json!({"threads": s.threads, "tile": s.tile, "first_frame_ms": ms}));
        json!({"input": args.input, "output": args.output, "frames": times.len(),
               "latency_ms": stats.json(), "budget_ms": args.budget_ms, "over_budget": over,
               "fit_budget": fit, "threads": setting.threads, "tile": setting.tile,
               "precision": denoiser.precision(), "model": denoiser.meta.name})
        .to_string()
    } else {
        let mut s = format!("{} frames; {}", times.len(), stats.text());
        if let (Some(b), Some(n)) = (args.budget_ms, over) {
            let _ = write!(s, "; {n} over the {b} ms budget");
        }
        if let Some((f, ms)) = fitted {
            let _ = write!(
                s,
                "\nfit-budget chose {}, {} threads, tile {} (first frame {ms:.1} ms)",
                denoiser.meta.name,
                f.threads,
                if f.tile == 0 {
                    "whole frame".to_string()
                } else {
                    f.tile.to_string()
                }
            );
        }
        s
    };
    if let Some(e) = failure {
        eprintln!("{summary}");
        return Err(e.into());
    }
    if to_stdout {
        eprintln!("{summary}");
        Ok(String::new())
    } else {
        Ok(format!("{summary}\n"))
    }
}

/// Times each candidate setting on `frame` (the second of two runs, after a warm-up) and
/// returns the one to use, its denoiser and its time: without `--model`, the fastest setting of
/// the first of [`BEST_FIRST`] within the budget (else of the last); with `--model`, that
/// model's fastest.
fn fit(args: &DenoiseArgs, frame: &Frame, current: Setting) -> Result<(Setting, Denoiser, f64)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads: Vec<usize> = vec![1, 2, 4, cores];
    threads.retain(|&t| t <= cores);
    threads.sort_unstable();
    threads.dedup();
    let models: &[Embedded] = match args.model {
        None => BEST_FIRST,
        Some(_) => &[Embedded::Fast],
    };
    let budget = args.budget_ms.unwrap_or(f64::INFINITY);
    let rgb: RgbImage = frame.to_rgb8();
    let mut best: Option<(Setting, Denoiser, f64)> = None;
    for &which in models {
        best = None;
        for &t in &threads {
            let dn = args.denoiser(t, which)?;
            let mut fastest: Option<(Setting, f64)> = None;
            for tile in [0, 256, 128] {
                dn.denoise(&rgb, tile)?;
                let start = Instant::now();
                dn.denoise(&rgb, tile)?;
                let ms = start.elapsed().as_secs_f64() * 1e3;
                if fastest.is_none_or(|f| ms < f.1) {
                    fastest = Some((Setting { threads: t, tile }, ms));
                }
            }
            if let Some((s, ms)) = fastest
                && best.as_ref().is_none_or(|b| ms < b.2)
            {
                best = Some((s, dn, ms));
            }
        }
        if best.as_ref().is_some_and(|b| b.2 <= budget) {
            break;
        }
    }
    match best {
        Some(b) => Ok(b),
        None => Ok((
            current,
            args.denoiser(current.threads, Embedded::Fast)?,
            f64::NAN,
        )),
    }
}
