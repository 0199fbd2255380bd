//! The classic VAE demos on the small 2-D models: sample, interpolate, arith, map, manifold.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::{DynamicImage, GrayImage};
use latent_codec::demos::gaussian::{self, Normal};
use latent_codec::demos::vae2d::{Vae2d, knn_accuracy};
use latent_codec::error::DemoError;
use latent_codec::{Limits, demos::idx, demos::tiles, io::imageio, io::output, report::plot};

use super::{LimitOpts, json_line};
use serde_json::json;

/// Options shared by the demo commands.
#[derive(clap::Args)]
pub struct DemoOpts {
    /// Demo model: fashion, mnist, or a bundle directory (encoder.onnx, decoder.onnx, model.json).
    #[arg(long, value_name = "fashion|mnist|DIR", default_value = "fashion")]
    model: String,
    /// Scale output pictures by this integer factor (nearest neighbour).
    #[arg(long, value_name = "Z", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    zoom: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitOpts,
}

impl DemoOpts {
    fn load(&self) -> Result<Vae2d> {
        Ok(Vae2d::load(&self.model, 1, &self.limits())?)
    }

    fn limits(&self) -> Limits {
        self.limits.limits()
    }
}

/// The demo subcommands.
#[derive(clap::Subcommand)]
pub enum DemoCommand {
    /// Decode samples of the prior N(0, I) into a grid of pictures.
    Sample {
        /// Number of samples.
        #[arg(short, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
        n: u32,
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        /// Random seed (the same seed gives the same picture on every machine).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        opts: DemoOpts,
    },
    /// Decode the straight line between two pictures' μ into a strip.
    Interpolate {
        /// First picture.
        a: PathBuf,
        /// Second picture.
        b: PathBuf,
        /// Pictures in the strip, both ends included.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=256))]
        steps: u32,
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        opts: DemoOpts,
    },
    /// Decode μ(A) + Σ μ(--add) − Σ μ(--sub) (attribute vectors), shown after A's reconstruction.
    Arith {
        /// The starting picture.
        a: PathBuf,
        /// Pictures whose μ is added (repeatable).
        #[arg(long, value_name = "IMAGE")]
        add: Vec<PathBuf>,
        /// Pictures whose μ is subtracted (repeatable).
        #[arg(long, value_name = "IMAGE")]
        sub: Vec<PathBuf>,
        /// Classes whose training-set mean μ is added (repeatable).
        #[arg(long, value_name = "K")]
        add_class: Vec<usize>,
        /// Classes whose training-set mean μ is subtracted (repeatable).
        #[arg(long, value_name = "K")]
        sub_class: Vec<usize>,
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        opts: DemoOpts,
    },
    /// Scatter plot of the μ of labelled images (IDX files, gzip or not), coloured by class.
    Map {
        /// IDX images ([count, rows, cols] unsigned bytes), e.g. t10k-images-idx3-ubyte.gz.
        images: PathBuf,
        /// IDX labels ([count] unsigned bytes), e.g. t10k-labels-idx1-ubyte.gz.
        labels: PathBuf,
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        opts: DemoOpts,
    },
    /// Decode a regular grid over the 2-D latent plane (evenly spaced quantiles of the prior).
    Manifold {
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        /// Grid side (pictures per row and column).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..=64))]
        size: u32,
        #[command(flatten)]
        opts: DemoOpts,
    },
}

/// Runs a demo command; returns what it prints on stdout.
pub fn run(command: DemoCommand) -> Result<String> {
    match command {
        DemoCommand::Sample {
            n,
            output,
            seed,
            opts,
        } => sample(n as usize, &output, seed, &opts),
        DemoCommand::Interpolate {
            a,
            b,
            steps,
            output,
            opts,
        } => interpolate(&a, &b, steps as usize, &output, &opts),
        DemoCommand::Arith {
            a,
            add,
            sub,
            add_class,
            sub_class,
            output,
            opts,
        } => {
            let terms = Terms {
                add,
                sub,
                add_class,
                sub_class,
            };
            arith(&a, &terms, &output, &opts)
        }
        DemoCommand::Map {
            images,
            labels,
            output,
            opts,
        } => map(&images, &labels, &output, &opts),
        DemoCommand::Manifold { output, size, opts } => manifold(size as usize, &output, &opts),
    }
}

fn write_png(path: &Path, image: DynamicImage) -> Result<()> {
    let bytes = imageio::encode(&image, path)?;
    output::write(path, &bytes)?;
    Ok(())
}

/// Columns of a near-square grid of `n` tiles.
fn columns(n: usize) -> usize {
    (n as f64).sqrt().ceil() as usize
}

/// μ of the picture at `path`, with a note on stderr when it had to be resized or inverted.
fn encode_file(model: &Vae2d, path: &Path, limits: &Limits) -> Result<Vec<f32>> {
    let image = imageio::read(path, limits)?;
    let (pixels, adapted) = model.adapt(&image);
    let input = &model.meta.input;
    if let Some((w, h)) = adapted.resized_from {
        eprintln!(
            "note: {} is {w}x{h}; resized to the model's {}x{}",
            path.display(),
            input.width,
            input.height
        );
    }
    if adapted.inverted {
        eprintln!(
            "note: {} is dark on light; inverted to the model's light-on-dark",
            path.display()
        );
    }
    let mut mu = model.encode(&pixels)?;
    mu.pop()
        .with_context(|| format!("{}: encoder returned nothing", path.display()))
}

fn round_points(points: &[Vec<f32>]) -> Vec<Vec<f64>> {
    points
        .iter()
        .map(|p| {
            p.iter()
                .map(|&v| (f64::from(v) * 1e5).round() / 1e5)
                .collect()
        })
        .collect()
}

fn sample(n: usize, output: &Path, seed: u64, opts: &DemoOpts) -> Result<String> {
    let model = opts.load()?;
    let mut normal = Normal::new(seed);
    let points: Vec<Vec<f32>> = (0..n)
        .map(|_| {
            (0..model.meta.latent_dim)
                .map(|_| normal.sample() as f32)
                .collect()
        })
        .collect();
    let pictures = model.decode(&points)?;
    write_png(
        output,
        DynamicImage::ImageLuma8(tiles::grid(&pictures, columns(n), opts.zoom)),
    )?;
    Ok(if opts.json {
        let out = json!({"output": output, "model": model.meta.name, "seed": seed,
                         "z": round_points(&points)});
        json_line(out)
    } else {
        format!(
            "{}: {n} samples of N(0, I) decoded by {} (seed {seed})\n",
            output.display(),
            model.source
        )
    })
}

fn interpolate(a: &Path, b: &Path, steps: usize, output: &Path, opts: &DemoOpts) -> Result<String> {
    let model = opts.load()?;
    let (za, zb) = (
        encode_file(&model, a, &opts.limits())?,
        encode_file(&model, b, &opts.limits())?,
    );
    let points: Vec<Vec<f32>> = (0..steps)
        .map(|i| {
            let t = i as f32 / (steps - 1) as f32;
            za.iter().zip(&zb).map(|(x, y)| x + t * (y - x)).collect()
        })
        .collect();
    let pictures = model.decode(&points)?;
    write_png(
        output,
        DynamicImage::ImageLuma8(tiles::grid(&pictures, steps, opts.zoom)),
    )?;
    Ok(if opts.json {
        let out = json!({"output": output, "model": model.meta.name, "z": round_points(&points)});
        json_line(out)
    } else {
        format!(
            "{}: {steps} pictures from μ(A) = {:?} to μ(B) = {:?}\n",
            output.display(),
            round_points(&[za])[0],
            round_points(&[zb])[0]
        )
    })
}

/// The attribute vectors of `latent arith`.
struct Terms {
    add: Vec<PathBuf>,
    sub: Vec<PathBuf>,
    add_class: Vec<usize>,
    sub_class: Vec<usize>,
}

fn arith(a: &Path, terms: &Terms, output: &Path, opts: &DemoOpts) -> Result<String> {
    let model = opts.load()?;
    let za = encode_file(&model, a, &opts.limits())?;
    let mut z = za.clone();
    let mut apply = |v: &[f32], sign: f32| {
        for (zi, vi) in z.iter_mut().zip(v) {
            *zi += sign * vi;
        }
    };
    for path in &terms.add {
        apply(&encode_file(&model, path, &opts.limits())?, 1.0);
    }
    for path in &terms.sub {
        apply(&encode_file(&model, path, &opts.limits())?, -1.0);
    }
    for &k in &terms.add_class {
        apply(model.class_mean(k)?, 1.0);
    }
    for &k in &terms.sub_class {
        apply(model.class_mean(k)?, -1.0);
    }
    let pictures = model.decode(&[za.clone(), z.clone()])?;
    write_png(
        output,
        DynamicImage::ImageLuma8(tiles::grid(&pictures, 2, opts.zoom)),
    )?;
    let [za, z] = [round_points(&[za]), round_points(&[z])].map(|mut v| v.remove(0));
    Ok(if opts.json {
        let out = json!({"output": output, "model": model.meta.name, "z_a": za, "z": z});
        json_line(out)
    } else {
        format!(
            "{}: A's reconstruction at μ(A) = {za:?}, then the result at {z:?}\n",
            output.display()
        )
    })
}

fn map(images: &Path, labels: &Path, output: &Path, opts: &DemoOpts) -> Result<String> {
    let model = opts.load()?;
    let imgs = idx::read(images, &opts.limits())?;
    let labs = idx::read(labels, &opts.limits())?;
    if imgs.dims.len() != 3 {
        return Err(DemoError::Rank {
            what: "images",
            expected: 3,
            found: imgs.dims,
        }
        .into());
    }
    if labs.dims.len() != 1 {
        return Err(DemoError::Rank {
            what: "labels",
            expected: 1,
            found: labs.dims,
        }
        .into());
    }
    if imgs.count() != labs.count() {
        return Err(DemoError::CountMismatch {
            images: imgs.count(),
            labels: labs.count(),
        }
        .into());
    }
    let classes = model.meta.classes.len();
    if let Some((index, &label)) = labs
        .data
        .iter()
        .enumerate()
        .find(|(_, l)| usize::from(**l) >= classes)
    {
        return Err(DemoError::Label {
            index,
            label,
            classes,
        }
        .into());
    }
    let (rows, cols) = (imgs.dims[1] as u32, imgs.dims[2] as u32);
    let input = &model.meta.input;
    if (cols, rows) != (input.width, input.height) {
        eprintln!(
            "note: {} holds {cols}x{rows} images; resized to the model's {}x{}",
            images.display(),
            input.width,
            input.height
        );
    }
    let mut pixels = Vec::with_capacity(imgs.count() * (input.width * input.height) as usize);
    let per = (rows * cols) as usize;
    for chunk in imgs.data.chunks_exact(per.max(1)) {
        let picture = GrayImage::from_raw(cols, rows, chunk.to_vec()).context("IDX image size")?;
        pixels.extend(model.adapt(&DynamicImage::ImageLuma8(picture)).0);
    }
    let mu = model.encode(&pixels)?;
    if model.meta.latent_dim != 2 {
        return Err(DemoError::LatentDim {
            expected: 2,
            found: model.meta.latent_dim,
        }
        .into());
    }
    let points: Vec<(f32, f32, u8)> = mu
        .iter()
        .zip(&labs.data)
        .map(|(m, &l)| (m[0], m[1], l))
        .collect();
    let accuracy = knn_accuracy(&mu, &labs.data, 5);
    let title = format!(
        "{}: 2-D latent μ of {} images",
        model.meta.name,
        points.len()
    );
    let chart = plot::scatter(
        &title,
        ("μ[0]", "μ[1]"),
        &points,
        &model.meta.classes,
        (960, 720),
    )?;
    write_png(output, DynamicImage::ImageRgb8(chart))?;
    let mut report = String::new();
    if opts.json {
        let pts: Vec<serde_json::Value> = points
            .iter()
            .map(|&(x, y, l)| json!([round(x), round(y), l]))
            .collect();
        let out = json!({"points": pts, "knn5_accuracy": accuracy, "output": output,
                         "model": model.meta.name});
        report.push_str(&json_line(out));
    } else {
        writeln!(
            report,
            "{}: {} points; 5-nearest-neighbour accuracy (leave-one-out) {accuracy:.4}",
            output.display(),
            points.len()
        )?;
    }
    Ok(report)
}

fn round(v: f32) -> f64 {
    (f64::from(v) * 1e5).round() / 1e5
}

fn manifold(size: usize, output: &Path, opts: &DemoOpts) -> Result<String> {
    let model = opts.load()?;
    if model.meta.latent_dim != 2 {
        return Err(DemoError::LatentDim {
            expected: 2,
            found: model.meta.latent_dim,
        }
        .into());
    }
    // Quantiles 5 %..95 % of N(0, 1) on each axis, μ[1] growing upwards as in a plot.
    let q = |i: usize| gaussian::quantile(0.05 + 0.9 * i as f64 / (size - 1) as f64) as f32;
    let points: Vec<Vec<f32>> = (0..size)
        .flat_map(|row| (0..size).map(move |col| vec![q(col), q(size - 1 - row)]))
        .collect();
    let pictures = model.decode(&points)?;
    write_png(
        output,
        DynamicImage::ImageLuma8(tiles::grid(&pictures, size, opts.zoom)),
    )?;
    Ok(if opts.json {
        let out = json!({"output": output, "model": model.meta.name, "size": size,
                         "z": round_points(&points)});
        json_line(out)
    } else {
        format!(
            "{}: {size}x{size} decoded grid over μ in [{:.3}, {:.3}]² (5 %..95 % quantiles of the prior)\n",
            output.display(),
            q(0),
            q(size - 1)
        )
    })
}
