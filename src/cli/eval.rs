//! `latent eval`: rate-distortion of the codec against JPEG and WebP on a folder of images.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use image::DynamicImage;
use latent_codec::report::rd::{Coder, Point, Sample, Summary};
use latent_codec::report::reference::{self, ReferenceError};
use latent_codec::runtime::bundle::{Embedded, MAX_QUALITY};
use latent_codec::runtime::precision::Stage;
use latent_codec::{io::imageio, io::output, report::metrics, report::plot};
use serde::Serialize;
use serde_json::json;

use super::models::Codecs;
use super::{ModelOpts, json_line};

/// JPEG qualities swept (the `image` crate's encoder).
const JPEG_QUALITIES: [u8; 19] = [
    5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95,
];
/// WebP qualities swept (libwebp, method 6).
const WEBP_QUALITIES: [u8; 21] = [
    0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100,
];
/// Rates at which the summary compares codecs, bits per pixel.
const TARGET_BPP: [f64; 3] = [0.25, 0.5, 1.0];

/// Arguments of `latent eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Folder of images (every file in it; unreadable ones are skipped with a warning).
    dir: PathBuf,
    /// Folder for rd.csv, rd.json and rd.png (created if missing).
    #[arg(short, long)]
    output: PathBuf,
    /// Our qualities to run, comma-separated (default: every quality of the model).
    #[arg(long, value_delimiter = ',',
          value_parser = clap::value_parser!(u8).range(1..=MAX_QUALITY as i64))]
    quality: Vec<u8>,
    #[command(flatten)]
    model: ModelOpts,
    /// Print the summary as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// One coded version of one image.
#[derive(Serialize)]
struct Row {
    image: String,
    codec: Coder,
    setting: u8,
    bytes: usize,
    bpp: f64,
    psnr: f64,
    encode_ms: f64,
    decode_ms: f64,
}

/// Runs `latent eval`.
pub fn run(args: &EvalArgs) -> Result<String> {
    let codecs = Codecs::new(&args.model, Stage::Encode);
    // The qualities of the --model bundle, or of the embedded ones (both 1..=8).
    let offered = args.model.bundle(Embedded::Colour)?.prior;
    let qualities = if args.quality.is_empty() {
        offered.quality_numbers()
    } else {
        args.quality.clone()
    };
    for &q in &qualities {
        offered.quality(q)?;
    }
    let files = files_in(&args.dir)?;
    let bar = super::file_progress(files.len());
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    for path in &files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        bar.set_message(name.clone());
        match image_rows(&codecs, path, &name, &qualities, |w| {
            bar.suspend(|| eprintln!("warning: {name}: {w}"))
        }) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                bar.suspend(|| eprintln!("warning: skipped {}: {e:#}", path.display()));
                skipped.push(json!({"file": name, "reason": format!("{e:#}")}));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if rows.is_empty() {
        bail!(
            "no readable images in {} ({} files skipped)",
            args.dir.display(),
            skipped.len()
        );
    }
    let samples: Vec<Sample> = rows
        .iter()
        .map(|r| Sample {
            image: r.image.clone(),
            coder: r.codec,
            setting: r.setting,
            point: Point {
                bpp: r.bpp,
                psnr: r.psnr,
            },
        })
        .collect();
    let summary = Summary::of(&samples);
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    output::write(&args.output.join("rd.csv"), csv(&rows).as_bytes())?;
    let models = codecs.names();
    let report = json!({
        "dir": args.dir, "model": models, "precision": codecs.precision(),
        "qualities": qualities, "skipped": skipped, "summary": summary_json(&summary), "rows": rows,
    });
    output::write(
        &args.output.join("rd.json"),
        serde_json::to_string_pretty(&super::rounded(report))?.as_bytes(),
    )?;
    let png = plot::rd_curves(
        &format!("{models}: mean of {} images", summary.images()),
        &labelled_curves(&summary),
        x_max(&summary),
        (900, 560),
    )?;
    let png = imageio::encode(&DynamicImage::ImageRgb8(png), Path::new("rd.png"))?;
    output::write(&args.output.join("rd.png"), &png)?;
    Ok(if args.json {
        let out =
            json!({"output": args.output, "skipped": skipped, "summary": summary_json(&summary)});
        json_line(out)
    } else {
        summary_text(&summary, &args.output, &skipped)
    })
}

/// Regular, non-hidden files of `dir`, in name order.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Every coded version of one image: ours at `qualities`, JPEG and WebP over their sweeps. A
/// reference codec that cannot code the image is reported through `warn` and left out.
fn image_rows(
    codecs: &Codecs,
    path: &Path,
    name: &str,
    qualities: &[u8],
    mut warn: impl FnMut(String),
) -> Result<Vec<Row>> {
    // A gray picture is measured on its gray values, against gray references.
    let picture = reference::measured(&imageio::read(path, &codecs.limits())?);
    let codec = codecs.for_picture(&picture)?;
    let pixels = f64::from(picture.width()) * f64::from(picture.height());
    // `decoded` in the colours of `picture`, as the reference codecs return it.
    let row = |codec: Coder, setting, bytes: usize, decoded: &DynamicImage, ms: (f64, f64)| Row {
        image: name.to_string(),
        codec,
        setting,
        bytes,
        bpp: 8.0 * bytes as f64 / pixels,
        psnr: metrics::psnr(picture.as_bytes(), decoded.as_bytes()),
        encode_ms: ms.0,
        decode_ms: ms.1,
    };
    let mut rows = Vec::new();
    codec.prepare(picture.width(), picture.height())?;
    // One encoder run serves every quality; each row's encode_ms still counts it.
    let analysis = codec.analyze(&picture)?;
    for &q in qualities {
        let encoded = codec.code(&analysis, q)?;
        let decoded = codec.decode(&encoded.bytes)?;
        rows.push(row(
            Coder::Latent,
            q,
            encoded.bytes.len(),
            &reference::in_colours_of(&picture, &decoded.image),
            (encoded.encode_ms, decoded.decode_ms),
        ));
    }
    let references: [(Coder, &[u8], ReferenceCodec); 2] = [
        (Coder::Webp, &WEBP_QUALITIES, reference::webp),
        (Coder::Jpeg, &JPEG_QUALITIES, reference::jpeg),
    ];
    for (label, sweep, code) in references {
        for &q in sweep {
            let start = Instant::now();
            match code(&picture, q) {
                Ok((bytes, decoded)) => {
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    rows.push(row(label, q, bytes, &decoded, (ms, 0.0)));
                }
                Err(e) => {
                    warn(format!("{:#}", anyhow::Error::from(e)));
                    break;
                }
            }
        }
    }
    Ok(rows)
}

/// [`reference::jpeg`] or [`reference::webp`].
type ReferenceCodec = fn(&DynamicImage, u8) -> Result<(usize, DynamicImage), ReferenceError>;

fn csv(rows: &[Row]) -> String {
    let mut s = String::from("image,codec,setting,bytes,bpp,psnr,encode_ms,decode_ms\n");
    for r in rows {
        let _ = writeln!(
            s,
            "\"{}\",{},{},{},{:.6},{:.4},{:.2},{:.2}",
            r.image.replace('"', "\"\""),
            r.codec.name(),
            r.setting,
            r.bytes,
            r.bpp,
            r.psnr,
            r.encode_ms,
            r.decode_ms
        );
    }
    s
}

/// Each coder's mean curve with its plot label.
fn labelled_curves(summary: &Summary) -> Vec<(String, Vec<(f64, f64)>)> {
    Coder::ALL
        .iter()
        .map(|&c| {
            let label = match c {
                Coder::Latent => "latent-codec",
                Coder::Webp => "WebP (libwebp m6)",
                Coder::Jpeg => "JPEG (image crate)",
            };
            let points = summary
                .mean_curve(c)
                .iter()
                .map(|p| (p.bpp, p.psnr))
                .collect();
            (label.to_string(), points)
        })
        .collect()
}

/// The plot's bpp range: a little past our highest mean rate, at least 1.2 bpp.
fn x_max(summary: &Summary) -> f64 {
    let ours = summary
        .mean_curve(Coder::Latent)
        .iter()
        .map(|p| p.bpp)
        .fold(0.0, f64::max);
    (ours * 1.25).max(1.2)
}

fn summary_json(summary: &Summary) -> serde_json::Value {
    let at: Vec<_> = TARGET_BPP
        .iter()
        .map(|&bpp| {
            let (ours, n) = summary.mean_at(Coder::Latent, &[Coder::Webp], bpp);
            let (webp, _) = summary.mean_at(Coder::Webp, &[Coder::Latent], bpp);
            let (jpeg, n_jpeg) = summary.mean_at(Coder::Jpeg, &[], bpp);
            json!({"bpp": bpp, "images": n, "latent_psnr": ours, "webp_psnr": webp,
                       "latent_minus_webp_db": ours.zip(webp).map(|(a, b)| a - b),
                       "jpeg_psnr": jpeg, "jpeg_images": n_jpeg})
        })
        .collect();
    let per_image: Vec<_> = summary
        .bd_rates()
        .iter()
        .map(|(name, bd)| json!({"image": name, "bd_rate_vs_webp_percent": bd}))
        .collect();
    let per_quality: Vec<_> = summary
        .per_quality()
        .iter()
        .map(|r| {
            json!({"quality": r.quality, "bpp": r.bpp, "psnr": r.psnr,
                       "minus_webp_same_bpp_db": r.minus_webp_db, "images_compared": r.compared})
        })
        .collect();
    json!({
        "images": summary.images(),
        "per_quality": per_quality,
        "at_bpp": at,
        "mean_curves": labelled_curves(summary).iter().map(|(name, p)| json!({"codec": name, "points": p})).collect::<Vec<_>>(),
        "bd_rate_vs_webp_percent": summary.mean_bd_rate(),
        "worst_image": summary.worst().map(|(name, bd)| json!({"image": name, "bd_rate_vs_webp_percent": bd})),
        "per_image": per_image,
    })
}

fn summary_text(summary: &Summary, output: &Path, skipped: &[serde_json::Value]) -> String {
    let mut s = format!(
        "{} images; rd.csv, rd.json, rd.png in {}\n\n",
        summary.images(),
        output.display()
    );
    let _ = writeln!(
        s,
        "{:>7}  {:>6}  {:>8}  {:>16}",
        "quality", "bpp", "PSNR", "vs WebP same bpp"
    );
    for r in summary.per_quality() {
        let _ = writeln!(
            s,
            "{:>7}  {:>6.3}  {:>8.2}  {:>16}",
            r.quality,
            r.bpp,
            r.psnr,
            r.minus_webp_db
                .map_or("-".to_string(), |d| format!("{d:+.2} dB ({})", r.compared))
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "{:>6}  {:>14}  {:>10}  {:>8}  {:>14}",
        "bpp", "latent-codec", "WebP", "Δ dB", "JPEG"
    );
    let db = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    for &bpp in &TARGET_BPP {
        let (ours, n) = summary.mean_at(Coder::Latent, &[Coder::Webp], bpp);
        let (webp, _) = summary.mean_at(Coder::Webp, &[Coder::Latent], bpp);
        let (jpeg, n_jpeg) = summary.mean_at(Coder::Jpeg, &[], bpp);
        let _ = writeln!(
            s,
            "{bpp:>6.2}  {:>14}  {:>10}  {:>8}  {:>14}",
            format!("{} ({n})", db(ours)),
            db(webp),
            db(ours.zip(webp).map(|(a, b)| a - b)),
            format!("{} ({n_jpeg})", db(jpeg)),
        );
    }
    let _ = writeln!(
        s,
        "\n(mean PSNR-RGB in dB at each rate, interpolated per image in log-bpp, over the \
             (n) images whose curves reach that rate; Δ = latent-codec − WebP)"
    );
    match summary.mean_bd_rate() {
        Some(bd) => {
            let _ = writeln!(
                s,
                "BD-rate of latent-codec vs WebP: {bd:+.1} % (mean over {} images; negative = fewer bits)",
                summary.bd_rates().len()
            );
        }
        None => s.push_str("BD-rate vs WebP: no overlapping PSNR range\n"),
    }
    if let Some((name, bd)) = summary.worst() {
        let _ = writeln!(s, "worst image: {name}, BD-rate {bd:+.1} % vs WebP");
    }
    if !skipped.is_empty() {
        let _ = writeln!(s, "skipped {} files:", skipped.len());
        for k in skipped {
            let _ = writeln!(s, "  {}", k["reason"].as_str().unwrap_or("?"));
        }
    }
    s
}
