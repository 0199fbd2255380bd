//! `latent bench`: per-stage latency of the bundled graphs (or of any ONNX graph), every
//! combination of threads and precision side by side, with the CPU's state before and after.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use latent_codec::denoise;
use latent_codec::runtime::bundle::{Embedded, ModelBundle, Role};
use latent_codec::runtime::engine::{DeclaredInput, Graph, NodeTime, executor};
use latent_codec::runtime::precision::{self, Choices, Precision, Stage};
use latent_codec::runtime::sysinfo::{self, Cpu, Thermal};
use latent_codec::{Limits, io::imageio, io::output, report::plot, runtime::kernels};
use serde::Serialize;
use serde_json::json;

use super::batch::percentile;
use super::json_line;

/// Options of `latent bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Codec bundle directory (encoder.onnx, decoder.onnx, prior.json); default: embedded.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Time the embedded gray model's stages (one channel in and out) instead of the colour one's.
    #[arg(long, conflicts_with_all = ["model", "onnx"])]
    gray: bool,
    /// Time this ONNX graph instead of the bundled stages (f32 inputs, filled with values in
    /// [0, 1)).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "stage", "size", "save_choice"])]
    onnx: Option<PathBuf>,
    /// With --onnx: an input's shape, NAME=1x3x512x512 (once per input whose declared dims are
    /// not all fixed).
    #[arg(long = "input", value_name = "NAME=SHAPE", requires = "onnx", value_parser = parse_input)]
    inputs: Vec<(String, Vec<usize>)>,
    /// The embedded denoiser the denoise stage times: fast or quality.
    #[arg(long, value_name = "fast|quality", default_value = "fast", value_parser = parse_denoiser)]
    denoiser: denoise::Embedded,
    /// Stages to measure: encode, decode, denoise.
    #[arg(long, value_delimiter = ',', default_value = "encode,decode,denoise")]
    stage: Vec<Stage>,
    /// Image size the stages work on (each side 16 to 16384).
    #[arg(long, value_name = "WxH", default_value = "768x512", value_parser = parse_size)]
    size: (usize, usize),
    /// Thread counts to compare (each 1 to 256).
    #[arg(long, value_delimiter = ',', default_value = "1,2",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Vec<u16>,
    /// Precisions to compare: f32, f16 (skipped with a note on CPUs without native f16), int8
    /// (not for denoise nor --onnx: a quantized graph runs as it is, at f32).
    #[arg(long, value_delimiter = ',', default_value = "f32")]
    precision: Vec<Precision>,
    /// Save the fastest precision of each stage (at the largest thread count) as this CPU's
    /// choice for `--precision auto`.
    #[arg(long)]
    save_choice: bool,
    /// Let tract use its direct spatial convolution (off by default: slower on x86), to A/B it.
    #[arg(long)]
    direct_conv: bool,
    /// Also time each op of the optimized graph over N runs and show where the time goes.
    #[arg(long, value_name = "N")]
    profile: Option<usize>,
    /// Timed runs per combination (at least).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Untimed runs before timing.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Keep running until this many seconds have been timed per combination.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    min_secs: f64,
    /// Exit with code 3 when any p95 is over this many ms.
    #[arg(long, value_name = "MS")]
    budget_ms: Option<f64>,
    /// Also draw the latency histogram of every combination into this PNG.
    #[arg(long, value_name = "FILE.png")]
    plot: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// One measured combination.
#[derive(Serialize)]
struct Row {
    /// encode, decode, denoise, or onnx (a graph given with --onnx).
    stage: String,
    onnx: String,
    /// The first input's shape.
    input_shape: Vec<usize>,
    /// Every input, with its shape (several for an --onnx graph of several inputs).
    inputs: Vec<InputShape>,
    threads: usize,
    precision: Precision,
    load_ms: f64,
    first_ms: f64,
    runs: usize,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    mean_ms: f64,
    std_ms: f64,
    /// Megapixels per second, of the image size (--onnx: of the first input's last two dims,
    /// when it has four).
    megapixels_per_s: Option<f64>,
    gmac: f64,
    gflops: f64,
    peak_rss_mb: Option<f64>,
    /// The matrix-multiply kernels tract picked.
    kernels: Vec<String>,
    /// What compress, decompress and `auto` run instead of this precision on this CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    runs_as: Option<Precision>,
    /// Time per op kind (with `--profile`), slowest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profile: Vec<OpShare>,
    /// Every timed run, sorted (for `--plot`).
    #[serde(skip)]
    times: Vec<f64>,
}

/// An input of the measured graph.
#[derive(Serialize)]
struct InputShape {
    name: String,
    shape: Vec<usize>,
}

/// Time spent in one kind of op, per run.
#[derive(Serialize)]
struct OpShare {
    op: String,
    nodes: usize,
    ms: f64,
    share: f64,
}

/// What `bench` found, and the exit code it asks for.
pub struct Outcome {
    /// Text for stdout.
    pub report: String,
    /// 0, or 3 when a p95 is over the budget.
    pub exit: u8,
}

/// The graph a stage runs at a precision: its path (for the report) and bytes.
fn graph_for<'a>(
    bundle: &'a ModelBundle,
    onnx_path: &dyn Fn(&str) -> String,
    denoiser: denoise::Embedded,
    stage: Stage,
    precision: Precision,
) -> Result<(String, &'a [u8])> {
    let role = match stage {
        Stage::Encode => Role::Encoder,
        Stage::Decode => Role::Decoder,
        Stage::Denoise => {
            let (file, graph) = denoiser.graph_at(precision);
            return Ok((format!("{}/{file}", denoiser.dir()), graph));
        }
    };
    let (file, bytes) = bundle
        .graph(role, precision)
        .ok_or_else(|| anyhow::anyhow!("bundle {} has no int8 graphs", bundle.source))?;
    Ok((onnx_path(file), bytes))
}

fn parse_denoiser(s: &str) -> Result<denoise::Embedded, String> {
    denoise::Embedded::from_name(s).ok_or_else(|| format!("{s:?} is not fast or quality"))
}

/// `--size WxH`, each side in 16..=16384.
fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let bad = || "expected WIDTHxHEIGHT, e.g. 640x480".to_string();
    let (w, h) = s.split_once('x').ok_or_else(bad)?;
    let (w, h): (usize, usize) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
    if !(16..=16384).contains(&w) || !(16..=16384).contains(&h) {
        return Err("each side must be in 16..=16384".into());
    }
    Ok((w, h))
}

/// `--input NAME=SHAPE`, a shape as `1x3x512x512` (each dim at least 1).
fn parse_input(s: &str) -> Result<(String, Vec<usize>), String> {
    let bad = || format!("{s:?}: expected NAME=SHAPE, e.g. image=1x3x512x512");
    let (name, shape) = s.rsplit_once('=').ok_or_else(bad)?;
    let dims = shape
        .split('x')
        .map(|d| d.parse::<usize>().ok().filter(|&d| d > 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    if name.is_empty() {
        return Err(bad());
    }
    Ok((name.to_string(), dims))
}

/// The shape each input of `graph` runs at: the one `given` for it, else its declared dims when
/// they are all fixed. Errors name the input and what is missing or does not fit.
fn input_shapes(
    declared: &[DeclaredInput],
    given: &[(String, Vec<usize>)],
) -> Result<Vec<Vec<usize>>> {
    let names: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
    if let Some((name, _)) = given.iter().find(|(n, _)| !names.contains(&n.as_str())) {
        anyhow::bail!(
            "--input {name}: the graph has no input {name:?} (its inputs: {})",
            names.join(", ")
        );
    }
    let shown = |dims: &[Option<i64>]| {
        let d: Vec<String> = dims
            .iter()
            .map(|d| d.map_or("?".into(), |d| d.to_string()))
            .collect();
        d.join("x")
    };
    declared
        .iter()
        .map(|input| {
            let name = &input.name;
            if let Some(datum) = input.datum.as_deref().filter(|&t| t != "F32") {
                anyhow::bail!("input {name} is {datum}; bench feeds f32 inputs only");
            }
            let dims = input.dims.as_deref();
            match given.iter().find(|(n, _)| n == name) {
                Some((_, shape)) => {
                    if let Some(dims) = dims {
                        let fits = dims.len() == shape.len()
                            && dims
                                .iter()
                                .zip(shape)
                                .all(|(d, &s)| d.is_none_or(|d| d == s as i64));
                        if !fits {
                            anyhow::bail!(
                                "--input {name}: shape {} does not fit its declared {}",
                                shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x"),
                                shown(dims)
                            );
                        }
                    }
                    Ok(shape.clone())
                }
                None => dims
                    .and_then(|dims| {
                        dims.iter()
                            .map(|d| d.and_then(|d| usize::try_from(d).ok()))
                            .collect::<Option<Vec<usize>>>()
                    })
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "input {name} has free dims ({}): give its shape with --input {name}=...",
                            dims.map_or("rank unknown".into(), shown)
                        )
                    }),
            }
        })
        .collect()
}

/// `len` bytes of input, spread and the same on every run and machine.
fn filler(len: usize) -> impl Iterator<Item = u8> {
    (0..len).map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 256) as u8)
}

/// Times the --onnx graph at every threads x precision combination asked for.
fn measure_onnx(args: &BenchArgs, path: &Path, precisions: &[Precision]) -> Result<Vec<Row>> {
    let bytes = Limits::default().read_file(path)?;
    let declared = Graph::load("bench", &bytes, executor(1))
        .with_context(|| format!("{}: tract cannot read this graph", path.display()))?
        .inputs();
    let shapes = input_shapes(&declared, &args.inputs)?;
    let inputs: Vec<(Vec<usize>, Vec<f32>)> = shapes
        .iter()
        .map(|s| {
            let data = filler(s.iter().product()).map(|v| f32::from(v) / 255.0);
            (s.clone(), data.collect())
        })
        .collect();
    let pixels = match shapes[0].as_slice() {
        [_, _, h, w] => Some(h * w),
        _ => None,
    };
    let mut rows = Vec::new();
    for threads in args.threads.iter().map(|&t| usize::from(t)) {
        for &precision in precisions {
            let row = measure(
                args,
                Subject {
                    stage: "onnx".into(),
                    onnx: path.display().to_string(),
                    bytes: &bytes,
                    names: declared.iter().map(|d| d.name.clone()).collect(),
                },
                &inputs,
                threads,
                precision,
                pixels,
            )
            .with_context(|| format!("{}", path.display()))?;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Times every stage (or the --onnx graph) x threads x precision combination asked for.
fn measure_all(args: &BenchArgs) -> Result<Measured> {
    let mut notes = Vec::new();
    let mut precisions: Vec<Precision> = Vec::new();
    for &p in &args.precision {
        if !precisions.contains(&p) {
            precisions.push(p);
        }
    }
    if args.onnx.is_some() {
        if precisions.contains(&Precision::Int8) {
            return Err(super::UsageError(
                "--onnx runs the graph as it is: a quantized graph is measured at --precision f32"
                    .into(),
            )
            .into());
        }
        if !precision::native_f16() && precisions.contains(&Precision::F16) {
            precisions.retain(|&p| p != Precision::F16);
            notes.push("f16 skipped: this CPU has no native f16 arithmetic".into());
        }
    }
    let cpu = Cpu::probe();
    let kernel_set = kernels::select(precisions.contains(&Precision::Int8));
    let before = Thermal::now();
    let rows = match &args.onnx {
        Some(path) => measure_onnx(args, path, &precisions)?,
        None => measure_stages(args, &precisions, &mut notes)?,
    };
    if args.save_choice {
        notes.push(save_choice(&cpu, &rows)?);
    }
    let after = Thermal::now();
    Ok(Measured {
        warning: sysinfo::throttle_warning(&before, &after),
        cpu,
        kernel_set: kernel_set.describe(),
        before,
        after,
        notes,
        precisions,
        rows,
    })
}

/// Times the bundled stages at every threads x precision combination; `notes` gets a line per
/// precision that does not run as asked.
fn measure_stages(
    args: &BenchArgs,
    precisions: &[Precision],
    notes: &mut Vec<String>,
) -> Result<Vec<Row>> {
    let (w, h) = args.size;
    // (precision, why it does not run as asked, the stages it did not run for that reason, whether
    // it was measured anyway)
    let mut skipped: Vec<(Precision, String, Vec<Stage>, bool)> = Vec::new();
    let which = Embedded::for_picture(args.gray);
    let bundle = super::load_bundle(args.model.as_deref(), which, &Limits::default())?;
    let onnx_path = |file: &str| match &args.model {
        Some(dir) => dir.join(file).display().to_string(),
        None => format!("{}/{file}", which.dir()),
    };
    let s = bundle.prior.stride;
    let (lh, lw) = (h.div_ceil(s), w.div_ceil(s));
    let c = bundle.prior.latent_channels;
    let multiple = args.denoiser.meta()?.multiple;
    let mut rows = Vec::new();
    for &stage in &args.stage {
        let shape = match stage {
            Stage::Encode => vec![1, bundle.prior.colours, lh * s, lw * s],
            Stage::Decode => vec![1, c, lh, lw],
            Stage::Denoise => vec![
                1,
                3,
                h.next_multiple_of(multiple),
                w.next_multiple_of(multiple),
            ],
        };
        for threads in args.threads.iter().map(|&t| usize::from(t)) {
            for &precision in precisions {
                let resolved = precision::effective(precision);
                // int8 without integer dot products runs, slowly: measured to show what it costs,
                // marked with what the other commands run instead.
                let shown = precision == Precision::Int8;
                if let Some(reason) = resolved.note {
                    match skipped.iter_mut().find(|s| s.1 == reason) {
                        Some((_, _, stages, _)) if stages.contains(&stage) => {}
                        Some((_, _, stages, _)) => stages.push(stage),
                        None => skipped.push((precision, reason, vec![stage], shown)),
                    }
                    if !shown {
                        continue;
                    }
                }
                let (onnx, bytes) =
                    graph_for(&bundle, &onnx_path, args.denoiser, stage, precision)?;
                let len: usize = shape.iter().product();
                // Images in [0, 1]; latents as small integers, as the decoder sees them.
                let data = filler(len)
                    .map(|v| {
                        if stage == Stage::Decode {
                            f32::from(v % 5) - 2.0
                        } else {
                            f32::from(v) / 255.0
                        }
                    })
                    .collect();
                let subject = Subject {
                    stage: stage.name().into(),
                    onnx,
                    bytes,
                    names: vec![stage.name().into()],
                };
                let inputs = [(shape.clone(), data)];
                let mut row = measure(args, subject, &inputs, threads, precision, Some(w * h))?;
                row.runs_as = (resolved.precision != precision).then_some(resolved.precision);
                rows.push(row);
            }
        }
    }
    for (precision, reason, stages, measured) in skipped {
        let stages = stages
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ");
        if measured {
            notes.push(format!(
                "{precision}* ({stages}) measured, not used here: {reason}"
            ));
        } else {
            notes.push(format!("{precision} skipped for {stages}: {reason}"));
        }
    }
    Ok(rows)
}

/// What `measure_all` found, with the machine's state around it.
struct Measured {
    cpu: Cpu,
    kernel_set: &'static str,
    before: Thermal,
    after: Thermal,
    /// A throttling warning from the state before and after.
    warning: Option<String>,
    notes: Vec<String>,
    /// The precisions asked for, each once.
    precisions: Vec<Precision>,
    rows: Vec<Row>,
}

/// Runs `latent bench`: measures, then draws and reports.
pub fn run(args: &BenchArgs) -> Result<Outcome> {
    let m = measure_all(args)?;
    let over = match args.budget_ms {
        Some(b) => m.rows.iter().filter(|r| r.p95_ms > b).count(),
        None => 0,
    };
    if let Some(path) = &args.plot {
        plot_histograms(&m, args, path)?;
    }
    let report = if args.json {
        let size = args.onnx.is_none().then_some([args.size.0, args.size.1]);
        json_line(json!({"cpu": m.cpu, "throttled": m.warning.is_some(),
                         "throttle_warning": m.warning, "native_f16": precision::native_f16(),
                         "kernel_set": m.kernel_set, "notes": m.notes,
                         "before": m.before, "after": m.after, "size": size,
                         "budget_ms": args.budget_ms, "over_budget": over, "results": m.rows}))
    } else {
        text_report(&m, args.budget_ms, over)?
    };
    Ok(Outcome {
        report,
        exit: if over == 0 { 0 } else { 3 },
    })
}

/// The latency histogram of every combination, as a PNG at `path`.
fn plot_histograms(m: &Measured, args: &BenchArgs, path: &Path) -> Result<()> {
    let series: Vec<(String, Vec<f64>)> = m
        .rows
        .iter()
        .map(|r| {
            let name = format!("{} {}t {}", r.stage, r.threads, r.precision);
            (name, r.times.clone())
        })
        .collect();
    let subject = match &args.onnx {
        Some(onnx) => onnx.display().to_string(),
        None => format!("{}x{}", args.size.0, args.size.1),
    };
    let title = format!("latency per run, {subject}, {}", m.cpu.model);
    let image = plot::histograms(&title, "ms", &series, (900, 500))?;
    let image = image::DynamicImage::ImageRgb8(image);
    output::write(path, &imageio::encode(&image, path)?)?;
    Ok(())
}

/// The table `bench` prints: machine state, one row per combination, kernels, the budget.
fn text_report(m: &Measured, budget_ms: Option<f64>, over: usize) -> Result<String> {
    let (cpu, rows, notes) = (&m.cpu, &m.rows, &m.notes);
    let mut report = String::new();
    writeln!(
        report,
        "cpu      {} ({} cores; {})",
        cpu.model,
        cpu.cores,
        cpu.features.join(" ")
    )?;
    writeln!(report, "tract    {}", m.kernel_set)?;
    let fmt = |t: &Thermal| {
        format!(
            "{} MHz, {} °C",
            t.frequency_mhz.map_or("?".into(), |f| format!("{f:.0}")),
            t.temperature_c.map_or("?".into(), |f| format!("{f:.0}"))
        )
    };
    writeln!(
        report,
        "state    before {}; after {}",
        fmt(&m.before),
        fmt(&m.after)
    )?;
    if let Some(w) = &m.warning {
        writeln!(report, "WARNING  {w}")?;
    }
    for note in notes {
        writeln!(report, "note     {note}")?;
    }

    writeln!(
        report,
        "\n{:8} {:>3} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}",
        "stage",
        "thr",
        "prec",
        "load ms",
        "first",
        "p50",
        "p95",
        "p99",
        "std",
        "MP/s",
        "GFLOP/s",
        "RSS MB"
    )?;
    for r in rows {
        writeln!(
            report,
            "{:8} {:>3} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>7.1} {:>7} {:>7.1} {:>7}",
            r.stage,
            r.threads,
            format!(
                "{}{}",
                r.precision,
                if r.runs_as.is_some() { "*" } else { "" }
            ),
            r.load_ms,
            r.first_ms,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.std_ms,
            r.megapixels_per_s.map_or("-".into(), |m| format!("{m:.2}")),
            r.gflops,
            r.peak_rss_mb.map_or("?".into(), |m| format!("{m:.0}"))
        )?;
        for op in r.profile.iter().take(6) {
            writeln!(
                report,
                "{:14}{:>5.1}% {:>8.1} ms  {} ({} nodes)",
                "",
                100.0 * op.share,
                op.ms,
                op.op,
                op.nodes
            )?;
        }
    }
    writeln!(report)?;
    for p in &m.precisions {
        let mut kernels: Vec<&str> = Vec::new();
        for r in rows.iter().filter(|r| r.precision == *p) {
            for k in &r.kernels {
                if !kernels.contains(&k.as_str()) {
                    kernels.push(k);
                }
            }
        }
        if !kernels.is_empty() {
            writeln!(report, "kernels  {p}: {}", kernels.join(", "))?;
        }
    }
    if let Some(b) = budget_ms {
        writeln!(
            report,
            "\n{} of {} over the {b} ms budget (p95)",
            over,
            rows.len()
        )?;
    }
    Ok(report)
}

/// What one row measures: its stage name, the graph's path (for the report) and bytes, and
/// the names of its inputs.
struct Subject<'a> {
    stage: String,
    onnx: String,
    bytes: &'a [u8],
    names: Vec<String>,
}

/// Times `subject`'s graph on `inputs` (each input's shape and data) at `threads` and
/// `precision`; `pixels` gives the megapixels per second.
fn measure(
    args: &BenchArgs,
    subject: Subject,
    inputs: &[(Vec<usize>, Vec<f32>)],
    threads: usize,
    precision: Precision,
    pixels: Option<usize>,
) -> Result<Row> {
    sysinfo::reset_peak_rss();
    let load = Instant::now();
    let graph = Graph::load("bench", subject.bytes, executor(threads))?
        .with_direct_conv(args.direct_conv)
        .with_f16(precision == Precision::F16);
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|(s, _)| s.clone()).collect();
    graph.prepare_all(&shapes, false)?;
    let load_ms = load.elapsed().as_secs_f64() * 1e3;
    let run = || -> Result<f64> {
        let t = Instant::now();
        graph.run_all(inputs.to_vec(), false)?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let first_ms = run()?;
    for _ in 0..args.warmup {
        run()?;
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < args.runs.max(1)
        || (start.elapsed().as_secs_f64() < args.min_secs && times.len() < 10_000)
    {
        times.push(run()?);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let std = (times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / times.len() as f64).sqrt();
    let fma = graph.fma_count(&shapes)? as f64;
    let profile = match args.profile {
        Some(runs) => op_shares(&graph.profile(inputs, runs.max(1))?, runs.max(1)),
        None => Vec::new(),
    };
    Ok(Row {
        stage: subject.stage,
        onnx: subject.onnx,
        input_shape: shapes[0].clone(),
        inputs: subject
            .names
            .into_iter()
            .zip(&shapes)
            .map(|(name, shape)| InputShape {
                name,
                shape: shape.clone(),
            })
            .collect(),
        threads,
        precision,
        load_ms,
        first_ms,
        runs: times.len(),
        p50_ms: percentile(&times, 50.0),
        p95_ms: percentile(&times, 95.0),
        p99_ms: percentile(&times, 99.0),
        mean_ms: mean,
        std_ms: std,
        megapixels_per_s: pixels.map(|p| p as f64 / 1e6 / (mean / 1e3)),
        gmac: fma / 1e9,
        gflops: 2.0 * fma / 1e9 / (mean / 1e3),
        peak_rss_mb: sysinfo::peak_rss_mb(),
        kernels: graph.kernels(&shapes)?,
        runs_as: None,
        profile,
        times,
    })
}

/// Node times summed per op kind, per run, slowest first.
fn op_shares(nodes: &[NodeTime], runs: usize) -> Vec<OpShare> {
    let total: f64 = nodes.iter().map(|n| n.time.as_secs_f64()).sum();
    let mut by_op: Vec<OpShare> = Vec::new();
    for n in nodes {
        let ms = n.time.as_secs_f64() * 1e3 / runs as f64;
        match by_op.iter_mut().find(|o| o.op == n.op) {
            Some(o) => {
                o.ms += ms;
                o.nodes += 1;
            }
            None => by_op.push(OpShare {
                op: n.op.clone(),
                nodes: 1,
                ms,
                share: 0.0,
            }),
        }
    }
    for o in &mut by_op {
        o.share = o.ms / 1e3 * runs as f64 / total.max(f64::MIN_POSITIVE);
    }
    by_op.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    by_op
}

/// Saves, per stage, the precision with the lowest p50 at the largest thread count measured as
/// this CPU's choice for `--precision auto`; returns a line saying what was saved where.
fn save_choice(cpu: &Cpu, rows: &[Row]) -> Result<String> {
    let dir = Choices::dir().ok_or_else(|| {
        anyhow::anyhow!("--save-choice: no cache directory (set LATENT_CACHE_DIR or HOME)")
    })?;
    let id = cpu.id();
    let mut choices = Choices::load(&dir, &id).unwrap_or(Choices {
        cpu: id.clone(),
        ..Default::default()
    });
    let max_threads = rows.iter().map(|r| r.threads).max().unwrap_or(1);
    let mut fastest: BTreeMap<Stage, &Row> = BTreeMap::new();
    // A precision that runs as another here is never auto's choice.
    for r in rows
        .iter()
        .filter(|r| r.threads == max_threads && r.runs_as.is_none())
    {
        let stage: Stage = r.stage.parse()?;
        let best = fastest.entry(stage).or_insert(r);
        if r.p50_ms < best.p50_ms {
            *best = r;
        }
    }
    for (stage, r) in fastest {
        choices.fastest.insert(stage, r.precision);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = Choices::path(&dir, &id);
    output::write(&path, &serde_json::to_vec_pretty(&choices)?)?;
    let list: Vec<String> = choices
        .fastest
        .iter()
        .map(|(stage, p)| format!("{stage} {p}"))
        .collect();
    Ok(format!(
        "auto will use {} on this CPU (saved in {})",
        list.join(", "),
        path.display()
    ))
}
