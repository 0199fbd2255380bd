//! Folder in, folder out: the pictures of a folder one at a time, with a progress bar, each
//! failure a warning and a line in the summary, and latency percentiles.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use serde_json::json;

/// Image files of a directory, by extension, in name order.
pub fn pictures_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && image::ImageFormat::from_path(p).is_ok())
        .collect();
    v.sort();
    Ok(v)
}

/// Creates the output folder, refusing the input folder itself (`what` names what its
/// pictures would be replaced by).
pub fn output_folder(input: &Path, output: &Path, what: &str) -> Result<()> {
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    if matches!((input.canonicalize(), output.canonicalize()), (Ok(a), Ok(b)) if a == b) {
        bail!(
            "{}: is the input folder; the pictures would be replaced by {what}, choose another output folder",
            output.display()
        );
    }
    Ok(())
}

/// What a run over a folder did.
pub struct Outcome<T> {
    /// Per picture done, what `each` returned.
    pub done: Vec<T>,
    /// The pictures skipped.
    pub skipped: Vec<String>,
    /// Wall time per picture done.
    pub latency: Latency,
}

/// Runs `each` on every picture (its path, and the bar to print warnings above); a failure is a
/// warning and the picture is listed as skipped.
pub fn run<T>(
    files: &[PathBuf],
    mut each: impl FnMut(&Path, &ProgressBar) -> Result<T>,
) -> Outcome<T> {
    let bar = super::file_progress(files.len());
    let (mut done, mut skipped, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for path in files {
        let name = path.file_name().unwrap_or_default();
        bar.set_message(name.to_string_lossy().into_owned());
        let start = Instant::now();
        match each(path, &bar) {
            Ok(t) => {
                times.push(start.elapsed().as_secs_f64() * 1e3);
                done.push(t);
            }
            Err(e) => {
                let (name, e) = (path.display().to_string(), format!("{e:#}"));
                // Most errors name the file already.
                let line = match e.starts_with(&name) {
                    true => format!("warning: skipped {e}"),
                    false => format!("warning: skipped {name}: {e}"),
                };
                bar.suspend(|| eprintln!("{line}"));
                skipped.push(path.display().to_string());
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Outcome {
        done,
        skipped,
        latency: Latency::of(&times),
    }
}

/// Nearest-rank percentile `q` (0..=100) of ascending `sorted`; NaN when it is empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Latency percentiles over pictures or frames.
pub struct Latency {
    sorted: Vec<f64>,
}

impl Latency {
    pub fn of(times: &[f64]) -> Self {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self { sorted }
    }

    /// Nearest-rank percentile.
    pub fn p(&self, q: f64) -> f64 {
        percentile(&self.sorted, q)
    }

    pub fn mean(&self) -> f64 {
        self.sorted.iter().sum::<f64>() / self.sorted.len().max(1) as f64
    }

    pub fn over(&self, budget: f64) -> usize {
        self.sorted.iter().filter(|&&t| t > budget).count()
    }

    pub fn json(&self) -> serde_json::Value {
        json!({"p50": self.p(50.0), "p95": self.p(95.0), "p99": self.p(99.0), "mean": self.mean()})
    }

    pub fn text(&self) -> String {
        if self.sorted.is_empty() {
            return "no latency measured".into();
        }
        format!(
            "latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            self.p(50.0),
            self.p(95.0),
            self.p(99.0)
        )
    }
}
