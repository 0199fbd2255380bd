//! `latent tables`: context tables and a neighbour predictor fitted to a factorized bundle's
//! symbols on a folder of photos (`latent_codec::codec::fit`), written into its `prior.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use image::DynamicImage;
use image::imageops::FilterType;
use latent_codec::codec::fit::{PredictorFit, SHIFT, TableCounts};
use latent_codec::runtime::bundle::{DECODER_FILE, ENCODER_FILE, PRIOR_FILE, read_file};
use latent_codec::{Codec, EntropyModel, Limits, ModelBundle, Precision, io::imageio, io::output};
use serde_json::{Value, json};

use super::{batch, json_line};

/// The factorized prior a context prior.json is fitted from, kept beside it.
const FACTORIZED_FILE: &str = "prior.factorized.json";
/// Each training photo is used shrunk to these longest sides (when larger), as
/// `models/codec/context_tables.py` does.
const SIDES: [u32; 2] = [1024, 512];

/// Arguments of `latent tables`.
#[derive(clap::Args)]
pub struct TablesArgs {
    /// Bundle directory whose prior.json (or prior.factorized.json, when present) is factorized:
    /// one table per channel.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Folder of training photos the tables are counted on.
    photos: PathBuf,
    /// Folder of photos to measure the saving on (each coded with the factorized and the new
    /// tables).
    #[arg(long, value_name = "DIR")]
    val: Option<PathBuf>,
    /// Inference threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `latent tables`.
pub fn run(args: &TablesArgs) -> Result<String> {
    let limits = Limits::default();
    let dir = &args.model;
    let factorized_path = dir.join(FACTORIZED_FILE);
    // The factorized prior when it is kept beside (prior.json may then be absent, as after a
    // training stage), else prior.json itself, which is then kept as the factorized one.
    let (base, keep) = if factorized_path.exists() {
        (read_file(dir, FACTORIZED_FILE, &limits)?, false)
    } else {
        (read_file(dir, PRIOR_FILE, &limits)?, true)
    };
    let mut prior: Value = serde_json::from_slice(&base)
        .with_context(|| format!("{}: prior is not JSON", dir.display()))?;
    if prior.get("hyperprior").is_some() {
        bail!(
            "{}: a hyperprior model's tables are picked by its side information; `latent tables` fits factorized priors",
            dir.display()
        );
    }
    if prior.get("context").is_some() {
        bail!(
            "{}: {PRIOR_FILE} has context tables already and there is no {FACTORIZED_FILE} to fit from",
            dir.display()
        );
    }
    let (encoder, decoder) = (
        read_file(dir, ENCODER_FILE, &limits)?,
        read_file(dir, DECODER_FILE, &limits)?,
    );
    let bundle = |prior: &[u8]| {
        ModelBundle::from_bytes(
            dir.display().to_string(),
            encoder.clone().into(),
            decoder.clone().into(),
            prior,
        )
    };
    let threads = super::threads_or_all_cores(args.threads);
    let codec = Codec::new(bundle(&base)?, threads, Precision::F32, limits)?;
    let levels: Vec<u8> = codec.qualities();
    let channels = codec.bundle().prior.latent_channels;
    let photos = batch::pictures_in(&args.photos)?;
    if photos.is_empty() {
        bail!("{}: no pictures to count tables on", args.photos.display());
    }
    // Two passes over the photos (the encoder runs twice rather than keeping every latent):
    // the predictors first, then the tables of what they leave.
    let mut fits = vec![PredictorFit::new(channels); levels.len()];
    let first = batch::run(&photos, |path, _| {
        each_latent(&codec, path, |level, symbols, lh, lw| {
            fits[level].add(symbols, lh, lw);
            Ok(())
        })
    });
    if first.done.is_empty() {
        bail!("{}: no readable pictures", args.photos.display());
    }
    let weights: Vec<Vec<i16>> = fits.iter().map(PredictorFit::weights).collect();
    let prior_of = |q: u8| codec.bundle().prior.quality(q).map(|l| l.channels.clone());
    let mut counts = levels
        .iter()
        .zip(&weights)
        .map(|(&q, w)| Ok(TableCounts::new(&prior_of(q)?, w.clone())))
        .collect::<Result<Vec<_>>>()?;
    batch::run(&photos, |path, _| {
        each_latent(&codec, path, |level, symbols, lh, lw| {
            counts[level].add(symbols, lh, lw).map_err(Into::into)
        })
    });

    prior["context"] = json!("neighbours+channels");
    for (i, count) in counts.iter().enumerate() {
        let level = match prior.get_mut("qualities") {
            Some(levels) => &mut levels[i],
            None => &mut prior,
        };
        level["channels"] = serde_json::to_value(count.tables())?;
        level["predictor"] = json!({"shift": SHIFT, "weights": weights[i]});
    }
    let fitted = serde_json::to_vec(&prior)?;
    let fitted_bundle = bundle(&fitted)?;

    let saving = match &args.val {
        Some(val) => Some(measure(
            &codec,
            EntropyModel::new(fitted_bundle, limits),
            val,
        )?),
        None => None,
    };
    if keep {
        output::write(&factorized_path, &base)?;
    }
    output::write(&dir.join(PRIOR_FILE), &fitted)?;
    report(args, &levels, first.done.len(), &first.skipped, saving)
}

/// Runs `codec`'s encoder on the picture at `path` at each of [`SIDES`] and passes `each` every
/// level's symbols (the level's index in `codec.qualities()`, the symbols, the latent's height
/// and width).
fn each_latent(
    codec: &Codec,
    path: &Path,
    mut each: impl FnMut(usize, &[i32], usize, usize) -> Result<()>,
) -> Result<()> {
    for image in shrunk(&picture(codec, path)?) {
        let analysis = codec.analyze(&image)?;
        let h = analysis.header();
        let (lh, lw) = (h.latent_height.into(), h.latent_width.into());
        for (level, q) in codec.qualities().into_iter().enumerate() {
            each(level, &codec.symbols(&analysis, q)?, lh, lw)?;
        }
    }
    Ok(())
}

/// The picture at `path` as `codec` takes it: its luma for a gray model, else RGB.
fn picture(codec: &Codec, path: &Path) -> Result<DynamicImage> {
    let image = imageio::read(path, codec.limits())?;
    Ok(if codec.bundle().prior.colours == 1 {
        DynamicImage::ImageLuma8(image.to_luma8())
    } else {
        DynamicImage::ImageRgb8(image.to_rgb8())
    })
}

/// `image` at each of [`SIDES`] (shrunk when larger).
fn shrunk(image: &DynamicImage) -> Vec<DynamicImage> {
    SIDES
        .iter()
        .map(|&side| {
            let (w, h) = (image.width(), image.height());
            if w.max(h) <= side {
                return image.clone();
            }
            let s = f64::from(side) / f64::from(w.max(h));
            let (w, h) = (
                (f64::from(w) * s).round().max(1.0) as u32,
                (f64::from(h) * s).round().max(1.0) as u32,
            );
            image.resize_exact(w, h, FilterType::Lanczos3)
        })
        .collect()
}

/// Per level: bytes of the photos in `val` with the factorized tables and with `fitted`, and
/// their pixels.
fn measure(codec: &Codec, fitted: EntropyModel, val: &Path) -> Result<Saving> {
    let levels = codec.qualities();
    let photos = batch::pictures_in(val)?;
    let outcome = batch::run(&photos, |path, _| {
        let image = picture(codec, path)?;
        let analysis = codec.analyze(&image)?;
        let pixels = u64::from(image.width()) * u64::from(image.height());
        levels
            .iter()
            .map(|&q| {
                let symbols = codec.symbols(&analysis, q)?;
                let header = latent_wire::container::Header {
                    quality: q,
                    ..*analysis.header()
                };
                let before = codec.entropy().encode(&header, &symbols)?.len();
                let fitted_header = latent_wire::container::Header {
                    fingerprint: fitted.bundle().fingerprint,
                    ..header
                };
                let after = fitted.encode(&fitted_header, &symbols)?.len();
                Ok((before as u64, after as u64, pixels))
            })
            .collect::<Result<Vec<_>>>()
    });
    if outcome.done.is_empty() {
        bail!("{}: no readable pictures to measure on", val.display());
    }
    let mut per_level = vec![(0, 0, 0); levels.len()];
    for photo in &outcome.done {
        for (sum, (b, a, p)) in per_level.iter_mut().zip(photo) {
            *sum = (sum.0 + b, sum.1 + a, sum.2 + p);
        }
    }
    Ok(Saving {
        photos: outcome.done.len(),
        per_level,
    })
}

/// What the new tables save on the validation photos.
struct Saving {
    photos: usize,
    /// Per level: bytes with the factorized tables, bytes with the new ones, pixels.
    per_level: Vec<(u64, u64, u64)>,
}

fn report(
    args: &TablesArgs,
    levels: &[u8],
    photos: usize,
    skipped: &[String],
    saving: Option<Saving>,
) -> Result<String> {
    let written = args.model.join(PRIOR_FILE);
    let rows: Vec<Value> = saving.as_ref().map_or_else(Vec::new, |s| {
        levels
            .iter()
            .zip(&s.per_level)
            .map(|(q, &(before, after, pixels))| {
                json!({"quality": q, "factorized_bytes": before, "context_bytes": after,
                       "factorized_bpp": 8.0 * before as f64 / pixels as f64,
                       "context_bpp": 8.0 * after as f64 / pixels as f64,
                       "saving": 1.0 - after as f64 / before as f64})
            })
            .collect()
    });
    if args.json {
        return Ok(json_line(json!({
            "model": args.model, "written": written, "photos": photos, "skipped": skipped,
            "val_photos": saving.as_ref().map(|s| s.photos), "levels": rows,
        })));
    }
    let mut out = format!(
        "{}: context tables and predictors fitted on {photos} photos ({} skipped), written to {}\n",
        args.model.display(),
        skipped.len(),
        written.display()
    );
    if let Some(s) = &saving {
        writeln!(
            out,
            "on {} photos of {}:",
            s.photos,
            args.val.as_deref().unwrap_or(Path::new("")).display()
        )?;
        writeln!(out, "quality  factorized bpp  context bpp  saving")?;
        for r in &rows {
            writeln!(
                out,
                "{:>7}  {:>14.4}  {:>11.4}  {:>5.1} %",
                r["quality"],
                r["factorized_bpp"].as_f64().unwrap_or(f64::NAN),
                r["context_bpp"].as_f64().unwrap_or(f64::NAN),
                100.0 * r["saving"].as_f64().unwrap_or(f64::NAN)
            )?;
        }
    }
    Ok(out)
}
