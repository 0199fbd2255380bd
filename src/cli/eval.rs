//! `latent eval`: rate-distortion of the codec against JPEG and WebP on a folder of images.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use image::{DynamicImage, RgbImage};
use latent_codec::report::eval::{self, Point};
use latent_codec::runtime::bundle::MAX_QUALITY;
use latent_codec::runtime::precision::Stage;
use latent_codec::{Codec, io::imageio, io::output, report::metrics, report::plot};
use serde::Serialize;
use serde_json::json;

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
    codec: &'static str,
    setting: u8,
    bytes: usize,
    bpp: f64,
    psnr: f64,
    encode_ms: f64,
    decode_ms: f64,
}

const CODECS: [&str; 3] = ["latent", "webp", "jpeg"];

/// Runs `latent eval`.
pub fn run(args: &EvalArgs) -> Result<String> {
    let codec = args.model.codec(Stage::Encode)?;
    let qualities = if args.quality.is_empty() {
        codec.qualities()
    } else {
        args.quality.clone()
    };
    for &q in &qualities {
        codec.bundle().prior.quality(q)?;
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
        match image_rows(&codec, path, &name, &qualities, |w| {
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
    let summary = Summary::of(&rows);
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    output::write(&args.output.join("rd.csv"), csv(&rows).as_bytes())?;
    let report = json!({
        "dir": args.dir, "model": codec.bundle().prior.name, "precision": codec.precision(),
        "qualities": qualities, "skipped": skipped, "summary": summary.json(), "rows": rows,
    });
    output::write(
        &args.output.join("rd.json"),
        serde_json::to_string_pretty(&super::rounded(report))?.as_bytes(),
    )?;
    let png = plot::rd_curves(
        &format!(
            "{}: mean of {} images",
            codec.bundle().prior.name,
            summary.images.len()
        ),
        &summary.mean_curves(),
        summary.x_max(),
        (900, 560),
    )?;
    let png = imageio::encode(&DynamicImage::ImageRgb8(png), Path::new("rd.png"))?;
    output::write(&args.output.join("rd.png"), &png)?;
    Ok(if args.json {
        let out = json!({"output": args.output, "skipped": skipped, "summary": summary.json()});
        json_line(out)
    } else {
        summary.text(&args.output, &skipped)
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
    codec: &Codec,
    path: &Path,
    name: &str,
    qualities: &[u8],
    mut warn: impl FnMut(String),
) -> Result<Vec<Row>> {
    let image = imageio::read(path, codec.limits())?;
    let rgb = image.to_rgb8();
    let pixels = f64::from(rgb.width()) * f64::from(rgb.height());
    let row =
        |codec: &'static str, setting, bytes: usize, decoded: &RgbImage, ms: (f64, f64)| Row {
            image: name.to_string(),
            codec,
            setting,
            bytes,
            bpp: 8.0 * bytes as f64 / pixels,
            psnr: metrics::psnr(rgb.as_raw(), decoded.as_raw()),
            encode_ms: ms.0,
            decode_ms: ms.1,
        };
    let colour = DynamicImage::ImageRgb8(rgb.clone());
    let mut rows = Vec::new();
    codec.prepare(rgb.width(), rgb.height())?;
    // One encoder run serves every quality; each row's encode_ms still counts it.
    let analysis = codec.analyze(&colour)?;
    for &q in qualities {
        let encoded = codec.code(&analysis, q)?;
        let decoded = codec.decode(&encoded.bytes)?;
        rows.push(row(
            "latent",
            q,
            encoded.bytes.len(),
            &decoded.image.to_rgb8(),
            (encoded.encode_ms, decoded.decode_ms),
        ));
    }
    let references: [(&'static str, &[u8], ReferenceCodec); 2] = [
        ("webp", &WEBP_QUALITIES, eval::webp),
        ("jpeg", &JPEG_QUALITIES, eval::jpeg),
    ];
    for (label, sweep, code) in references {
        for &q in sweep {
            let start = Instant::now();
            match code(&rgb, q) {
                Ok((bytes, decoded)) => {
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    rows.push(row(label, q, bytes, &decoded, (ms, 0.0)));
                }
                Err(e) => {
                    warn(e.to_string());
                    break;
                }
            }
        }
    }
    Ok(rows)
}

/// [`eval::jpeg`] or [`eval::webp`].
type ReferenceCodec = fn(&RgbImage, u8) -> Result<(usize, RgbImage), eval::ReferenceError>;

fn csv(rows: &[Row]) -> String {
    let mut s = String::from("image,codec,setting,bytes,bpp,psnr,encode_ms,decode_ms\n");
    for r in rows {
        let _ = writeln!(
            s,
            "\"{}\",{},{},{},{:.6},{:.4},{:.2},{:.2}",
            r.image.replace('"', "\"\""),
            r.codec,
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

/// Per-image curves and what the summary derives from them.
struct Summary<'a> {
    rows: &'a [Row],
    /// Image names, each with its Pareto curve per codec (in [`CODECS`] order).
    images: Vec<(String, [Vec<Point>; 3])>,
}

impl<'a> Summary<'a> {
    fn of(rows: &'a [Row]) -> Self {
        let mut names: Vec<String> = rows.iter().map(|r| r.image.clone()).collect();
        names.dedup();
        let images = names
            .into_iter()
            .map(|name| {
                let curves = CODECS.map(|c| {
                    let points: Vec<Point> = rows
                        .iter()
                        .filter(|r| r.image == name && r.codec == c)
                        .map(|r| Point {
                            bpp: r.bpp,
                            psnr: r.psnr,
                        })
                        .collect();
                    eval::pareto(&points)
                });
                (name, curves)
            })
            .collect();
        Self { rows, images }
    }

    /// Per codec, the mean bpp and mean PSNR of each setting over the images that have it.
    fn mean_curves(&self) -> Vec<(String, Vec<(f64, f64)>)> {
        CODECS
            .iter()
            .map(|&c| {
                let mut settings: Vec<u8> = self
                    .rows
                    .iter()
                    .filter(|r| r.codec == c)
                    .map(|r| r.setting)
                    .collect();
                settings.sort_unstable();
                settings.dedup();
                let points = settings
                    .into_iter()
                    .map(|s| {
                        let (mut bpp, mut psnr, mut n) = (0.0, 0.0, 0.0);
                        for r in self.rows.iter().filter(|r| r.codec == c && r.setting == s) {
                            bpp += r.bpp;
                            psnr += r.psnr;
                            n += 1.0;
                        }
                        (bpp / n, psnr / n)
                    })
                    .collect();
                let label = match c {
                    "latent" => "latent-codec",
                    "webp" => "WebP (libwebp m6)",
                    _ => "JPEG (image crate)",
                };
                (label.to_string(), points)
            })
            .collect()
    }

    /// The plot's bpp range: a little past our highest mean rate, at least 1.2 bpp.
    fn x_max(&self) -> f64 {
        let ours = self.mean_curves()[0]
            .1
            .iter()
            .map(|p| p.0)
            .fold(0.0, f64::max);
        (ours * 1.25).max(1.2)
    }

    /// Mean PSNR of codec `k` at `bpp` over the images whose curves of codec `k` and of every
    /// codec in `with` reach it, and how many images that is.
    fn mean_at(&self, k: usize, with: &[usize], bpp: f64) -> (Option<f64>, usize) {
        let values: Vec<f64> = self
            .images
            .iter()
            .filter(|(_, c)| with.iter().all(|&j| eval::psnr_at(&c[j], bpp).is_some()))
            .filter_map(|(_, c)| eval::psnr_at(&c[k], bpp))
            .collect();
        let n = values.len();
        ((n > 0).then(|| values.iter().sum::<f64>() / n as f64), n)
    }

    /// Per quality of ours: mean bpp, mean PSNR, and the mean of (ours − WebP at the same bpp)
    /// over the images whose WebP curve reaches that bpp, with their count.
    fn per_quality(&self) -> Vec<(u8, f64, f64, Option<f64>, usize)> {
        let mut settings: Vec<u8> = self
            .rows
            .iter()
            .filter(|r| r.codec == CODECS[0])
            .map(|r| r.setting)
            .collect();
        settings.sort_unstable();
        settings.dedup();
        settings
            .into_iter()
            .map(|q| {
                let ours: Vec<&Row> = self
                    .rows
                    .iter()
                    .filter(|r| r.codec == CODECS[0] && r.setting == q)
                    .collect();
                let n = ours.len() as f64;
                let deltas: Vec<f64> = ours
                    .iter()
                    .filter_map(|r| {
                        let (_, curves) = self.images.iter().find(|(name, _)| *name == r.image)?;
                        Some(r.psnr - eval::psnr_at(&curves[1], r.bpp)?)
                    })
                    .collect();
                let k = deltas.len();
                (
                    q,
                    ours.iter().map(|r| r.bpp).sum::<f64>() / n,
                    ours.iter().map(|r| r.psnr).sum::<f64>() / n,
                    (k > 0).then(|| deltas.iter().sum::<f64>() / k as f64),
                    k,
                )
            })
            .collect()
    }

    /// Per image: BD-rate of ours against WebP, in percent.
    fn bd_rates(&self) -> Vec<(&str, f64)> {
        self.images
            .iter()
            .filter_map(|(name, c)| Some((name.as_str(), eval::bd_rate(&c[1], &c[0])?)))
            .collect()
    }

    /// The image where ours does worst against WebP (highest BD-rate).
    fn worst(&self) -> Option<(&str, f64)> {
        self.bd_rates()
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn mean_bd_rate(&self) -> Option<f64> {
        let v = self.bd_rates();
        (!v.is_empty()).then(|| v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64)
    }

    fn json(&self) -> serde_json::Value {
        let at: Vec<_> = TARGET_BPP
            .iter()
            .map(|&bpp| {
                let (ours, n) = self.mean_at(0, &[1], bpp);
                let (webp, _) = self.mean_at(1, &[0], bpp);
                let (jpeg, n_jpeg) = self.mean_at(2, &[], bpp);
                json!({"bpp": bpp, "images": n, "latent_psnr": ours, "webp_psnr": webp,
                       "latent_minus_webp_db": ours.zip(webp).map(|(a, b)| a - b),
                       "jpeg_psnr": jpeg, "jpeg_images": n_jpeg})
            })
            .collect();
        let per_image: Vec<_> = self
            .bd_rates()
            .iter()
            .map(|(name, bd)| json!({"image": name, "bd_rate_vs_webp_percent": bd}))
            .collect();
        let per_quality: Vec<_> = self
            .per_quality()
            .iter()
            .map(|&(q, bpp, psnr, delta, n)| {
                json!({"quality": q, "bpp": bpp, "psnr": psnr,
                       "minus_webp_same_bpp_db": delta, "images_compared": n})
            })
            .collect();
        json!({
            "images": self.images.len(),
            "per_quality": per_quality,
            "at_bpp": at,
            "mean_curves": self.mean_curves().iter().map(|(name, p)| json!({"codec": name, "points": p})).collect::<Vec<_>>(),
            "bd_rate_vs_webp_percent": self.mean_bd_rate(),
            "worst_image": self.worst().map(|(name, bd)| json!({"image": name, "bd_rate_vs_webp_percent": bd})),
            "per_image": per_image,
        })
    }

    fn text(&self, output: &Path, skipped: &[serde_json::Value]) -> String {
        let mut s = format!(
            "{} images; rd.csv, rd.json, rd.png in {}\n\n",
            self.images.len(),
            output.display()
        );
        let _ = writeln!(
            s,
            "{:>7}  {:>6}  {:>8}  {:>16}",
            "quality", "bpp", "PSNR", "vs WebP same bpp"
        );
        for (q, bpp, psnr, delta, n) in self.per_quality() {
            let _ = writeln!(
                s,
                "{q:>7}  {bpp:>6.3}  {psnr:>8.2}  {:>16}",
                delta.map_or("-".to_string(), |d| format!("{d:+.2} dB ({n})"))
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
            let (ours, n) = self.mean_at(0, &[1], bpp);
            let (webp, _) = self.mean_at(1, &[0], bpp);
            let (jpeg, n_jpeg) = self.mean_at(2, &[], bpp);
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
        match self.mean_bd_rate() {
            Some(bd) => {
                let _ = writeln!(
                    s,
                    "BD-rate of latent-codec vs WebP: {bd:+.1} % (mean over {} images; negative = fewer bits)",
                    self.bd_rates().len()
                );
            }
            None => s.push_str("BD-rate vs WebP: no overlapping PSNR range\n"),
        }
        if let Some((name, bd)) = self.worst() {
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
}
