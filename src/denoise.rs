//! The denoisers: blind models run in overlapping tiles, so memory stays bounded and the result
//! has no seams.
//!
//! A bundle directory holds `denoiser.onnx` (noisy `1x3xHxW` in `[0, 1]` → clean image of the
//! same shape; H and W multiples of `model.json`'s `multiple`, the runtime pads) and `model.json`
//! (name, the overlap each tile needs). Two models are compiled in ([`Embedded`]): a fast one for
//! streams and a quality one for photos; `models/denoise-fast/` and `models/denoise-v2/` have
//! their model cards (the recipe of both is `models/denoise-v2/train.py`). They run at f32, f16 or
//! int8 (`denoiser.int8.onnx`, from `models/quantize.py --denoiser`: within 0.25 dB of f32,
//! `models/PRECISION.md`).

use std::borrow::Cow;
use std::path::Path;
use std::sync::Mutex;

use image::{DynamicImage, RgbImage};
use serde::Deserialize;

use crate::error::{BundleError, Error};
use crate::limits::Limits;
use crate::runtime::bundle::read_file;
use crate::runtime::engine::{Graph, executor};
use crate::runtime::parallel::{at_once, each_tile};
use crate::runtime::precision::Precision;

/// File names inside a denoiser bundle directory.
pub const GRAPH_FILE: &str = "denoiser.onnx";
/// The int8 form of [`GRAPH_FILE`] (optional: a bundle without it runs at f32 and f16 only).
pub const INT8_GRAPH_FILE: &str = "denoiser.int8.onnx";
/// See [`GRAPH_FILE`].
pub const META_FILE: &str = "model.json";

/// The graph file of a bundle that runs at `precision`.
fn graph_file(precision: Precision) -> &'static str {
    if precision == Precision::Int8 {
        INT8_GRAPH_FILE
    } else {
        GRAPH_FILE
    }
}

/// The denoisers compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedded {
    /// denoise-fast (`models/denoise-fast/`, a U-Net of 8.3 kMAC per pixel): real time on
    /// camera streams.
    Fast,
    /// denoise-v2 (`models/denoise-v2/`, a U-Net of 50 kMAC per pixel): photos and still frames.
    Quality,
}

impl Embedded {
    /// Both, fast first.
    pub const ALL: [Self; 2] = [Self::Fast, Self::Quality];

    /// Its name on the command line (`fast`, `quality`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Quality => "quality",
        }
    }

    /// The one named `name` on the command line.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Its folder in the repository.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Fast => "models/denoise-fast",
            Self::Quality => "models/denoise-v2",
        }
    }

    /// Its graph.
    pub fn graph(self) -> &'static [u8] {
        match self {
            Self::Fast => include_bytes!("../models/denoise-fast/denoiser.onnx"),
            Self::Quality => include_bytes!("../models/denoise-v2/denoiser.onnx"),
        }
    }

    /// The graph that runs at `precision` (int8: its int8 graph), with its file name.
    pub fn graph_at(self, precision: Precision) -> (&'static str, &'static [u8]) {
        let graph: &'static [u8] = match (self, precision) {
            (_, p) if p != Precision::Int8 => self.graph(),
            (Self::Fast, _) => include_bytes!("../models/denoise-fast/denoiser.int8.onnx"),
            (Self::Quality, _) => include_bytes!("../models/denoise-v2/denoiser.int8.onnx"),
        };
        (graph_file(precision), graph)
    }

    fn meta_json(self) -> &'static [u8] {
        match self {
            Self::Fast => include_bytes!("../models/denoise-fast/model.json"),
            Self::Quality => include_bytes!("../models/denoise-v2/model.json"),
        }
    }

    /// Its model name and [`fingerprint`](crate::runtime::bundle::fingerprint) (of its graph and
    /// `model.json`).
    pub fn id(self) -> Result<(String, [u8; 8]), BundleError> {
        Ok((
            self.meta()?.name,
            crate::runtime::bundle::fingerprint(&[self.graph(), self.meta_json()]),
        ))
    }

    /// Its validated `model.json`.
    pub fn meta(self) -> Result<Meta, BundleError> {
        Meta::parse(&self.source_name(), self.meta_json())
    }

    fn source_name(self) -> String {
        format!("embedded {}", self.name())
    }
}

/// Where a denoiser comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A compiled-in model.
    Embedded(Embedded),
    /// A bundle directory.
    Dir(&'a Path),
}

/// Default tile side in pixels (before overlap).
pub const DEFAULT_TILE: usize = 512;

/// `model.json` of a denoiser bundle.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    /// Model name.
    pub name: String,
    /// Pixels of context each tile needs on every side (at least the receptive-field radius).
    pub overlap: usize,
    /// What the graph's height and width must be multiples of (`"multiple"`, default 2); tiles
    /// are padded up to it.
    #[serde(default = "two")]
    pub multiple: usize,
}

fn two() -> usize {
    2
}

impl Meta {
    /// Parses and validates `model.json` bytes; `source` names the bundle in errors.
    pub fn parse(source: &str, json: &[u8]) -> Result<Self, BundleError> {
        let bad = |reason: String| BundleError::BadMeta {
            source_name: source.to_string(),
            file: META_FILE,
            reason,
        };
        let meta: Self = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        if meta.overlap > 256 {
            return Err(bad(format!("overlap {} is over 256", meta.overlap)));
        }
        if !(1..=64).contains(&meta.multiple) {
            return Err(bad(format!("multiple {} is not in 1..=64", meta.multiple)));
        }
        Ok(meta)
    }
}

/// A loaded denoiser.
pub struct Denoiser {
    /// Where it came from ("embedded fast", "embedded quality" or the directory).
    pub source: String,
    /// The validated metadata.
    pub meta: Meta,
    graph: Graph,
    precision: Precision,
    sigma_hint: Option<f32>,
    threads: usize,
}

impl Denoiser {
    /// The model `source` names (a directory's files within `limits`), at `precision` (as given:
    /// resolve a user's request with [`crate::runtime::precision`] first; int8 runs
    /// `denoiser.int8.onnx`);
    /// inference on `threads` threads (a picture of several tiles runs that many tiles at once,
    /// each on one thread; the result is the same whatever `threads`).
    pub fn load(
        source: Source<'_>,
        threads: usize,
        precision: Precision,
        limits: &Limits,
    ) -> Result<Self, Error> {
        let (file, graph, meta, source): (_, Cow<'_, [u8]>, Cow<'_, [u8]>, _) = match source {
            Source::Embedded(which) => {
                let (file, graph) = which.graph_at(precision);
                (
                    file,
                    Cow::Borrowed(graph),
                    Cow::Borrowed(which.meta_json()),
                    which.source_name(),
                )
            }
            Source::Dir(dir) => {
                let file = graph_file(precision);
                let graph = match read_file(dir, file, limits) {
                    Err(Error::Bundle(BundleError::MissingFile { .. }))
                        if precision == Precision::Int8 =>
                    {
                        return Err(BundleError::NoInt8 {
                            source_name: dir.display().to_string(),
                            files: "denoiser.int8.onnx, from models/quantize.py --denoiser",
                        }
                        .into());
                    }
                    read => read?,
                };
                (
                    file,
                    Cow::Owned(graph),
                    Cow::Owned(read_file(dir, META_FILE, limits)?),
                    dir.display().to_string(),
                )
            }
        };
        crate::runtime::kernels::select(precision == Precision::Int8);
        let meta = Meta::parse(&source, &meta)?;
        let bad = |reason: String| BundleError::BadGraph {
            source_name: source.clone(),
            graph: file,
            reason,
        };
        let graph = Graph::load(file, &graph, executor(threads))
            .map_err(|e| BundleError::GraphLoad {
                source_name: source.clone(),
                graph: file,
                source: e.into(),
            })?
            .with_f16(precision == Precision::F16);
        if let Some(dims) = graph.declared_input()
            && (dims.len() != 4 || dims[1].is_some_and(|c| c != 3))
        {
            return Err(bad(format!("input is {dims:?}, expected [N, 3, H, W]")).into());
        }
        Ok(Self {
            source,
            meta,
            graph,
            precision,
            sigma_hint: None,
            threads: threads.max(1),
        })
    }

    /// The precision the graph runs at.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Sets a noise-level hint (standard deviation in 8-bit levels). The model stays blind; the
    /// noise it removes from each picture is rescaled (by at most 2x) so that its RMS equals the
    /// hint. A hint of 0 leaves pictures as they are.
    pub fn with_sigma_hint(mut self, sigma: Option<f32>) -> Self {
        self.sigma_hint = sigma.map(|s| s.max(0.0));
        self
    }

    /// Denoises `src` in tiles of at most `tile` pixels a side (as many along each axis as that
    /// needs, of equal size), each with the model's overlap on every side; `tile = 0` runs the
    /// whole image as one tile.
    pub fn denoise(&self, src: &RgbImage, tile: usize) -> Result<RgbImage, Error> {
        let (w, h) = (src.width() as usize, src.height() as usize);
        let tile = if tile == 0 {
            w.max(h).max(1)
        } else {
            tile.max(16)
        };
        // Tiles and their context start at multiples of the graph's `multiple`, as the whole
        // picture does: a graph that downsamples sees each tile in the same phase.
        let m = self.meta.multiple;
        let (tile_w, tile_h) = (even_tile(w, tile, m), even_tile(h, tile, m));
        let o = self.meta.overlap.next_multiple_of(m);
        let out = Mutex::new(RgbImage::new(src.width(), src.height()));
        let tiles: Vec<(usize, usize)> = (0..h)
            .step_by(tile_h)
            .flat_map(|ty| (0..w).step_by(tile_w).map(move |tx| (ty, tx)))
            .collect();
        let alone = at_once(self.threads, tiles.len());
        each_tile(&tiles, self.threads, |&(ty, tx)| {
            // The tile with its context, clipped to the image, grown to the sizes the graph
            // takes (edge pixels repeated).
            let (x0, y0) = (tx.saturating_sub(o), ty.saturating_sub(o));
            let (x1, y1) = ((tx + tile_w + o).min(w), (ty + tile_h + o).min(h));
            let (tw, th) = ((x1 - x0).next_multiple_of(m), (y1 - y0).next_multiple_of(m));
            let plane = tw * th;
            let mut input = vec![0f32; 3 * plane];
            for y in 0..th {
                let sy = (y0 + y).min(h - 1);
                for x in 0..tw {
                    let p = src.get_pixel((x0 + x).min(w - 1) as u32, sy as u32);
                    for c in 0..3 {
                        input[c * plane + y * tw + x] = f32::from(p.0[c]) / 255.0;
                    }
                }
            }
            let shape = [1, 3, th, tw];
            let (found, clean) = self.graph.run(&shape, input, alone)?;
            if found != shape {
                return Err(BundleError::BadGraph {
                    source_name: self.source.clone(),
                    graph: GRAPH_FILE,
                    reason: format!("output is {found:?}, expected {shape:?}"),
                }
                .into());
            }
            let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
            for y in ty..(ty + tile_h).min(h) {
                for x in tx..(tx + tile_w).min(w) {
                    let at = (y - y0) * tw + (x - x0);
                    let px = std::array::from_fn(|c| {
                        (clean[c * plane + at] * 255.0).round().clamp(0.0, 255.0) as u8
                    });
                    out.put_pixel(x as u32, y as u32, image::Rgb(px));
                }
            }
            Ok(())
        })?;
        let mut out = out.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(sigma) = self.sigma_hint {
            rescale_removed_noise(src, &mut out, sigma);
        }
        Ok(out)
    }

    /// Denoises a picture; gray pictures come back gray.
    pub fn denoise_image(&self, image: &DynamicImage, tile: usize) -> Result<DynamicImage, Error> {
        let clean = self.denoise(&image.to_rgb8(), tile)?;
        Ok(if crate::io::imageio::is_gray(image) {
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(clean).into_luma8())
        } else {
            DynamicImage::ImageRgb8(clean)
        })
    }
}

/// The side of the fewest tiles of at most `tile` that cover `n` pixels, all of (nearly) equal
/// size, so that tiles run at once take about as long as each other, rounded up to a multiple
/// of `multiple` (so a tile may exceed `tile` by less than that); at least 1.
fn even_tile(n: usize, tile: usize, multiple: usize) -> usize {
    n.div_ceil(n.div_ceil(tile).max(1))
        .max(1)
        .next_multiple_of(multiple)
}

/// Rescales `noisy − clean` so that its RMS is `sigma` (gain clamped to 0..=2).
fn rescale_removed_noise(noisy: &RgbImage, clean: &mut RgbImage, sigma: f32) {
    let n = noisy.as_raw().len().max(1) as f64;
    let sum_sq: f64 = noisy
        .as_raw()
        .iter()
        .zip(clean.as_raw())
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let rms = (sum_sq / n).sqrt();
    let gain = if rms > 0.0 {
        (f64::from(sigma) / rms).clamp(0.0, 2.0)
    } else {
        1.0
    };
    for (c, &a) in clean.iter_mut().zip(noisy.as_raw()) {
        let removed = f64::from(a) - f64::from(*c);
        *c = (f64::from(a) - gain * removed).round().clamp(0.0, 255.0) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::even_tile;

    #[test]
    fn even_tiles_cover_the_axis_in_the_fewest_equal_parts() {
        assert_eq!(even_tile(640, 512, 1), 320);
        assert_eq!(even_tile(480, 512, 1), 480);
        assert_eq!(even_tile(1025, 512, 1), 342);
        assert_eq!(even_tile(1025, 512, 16), 352);
        assert_eq!(even_tile(0, 512, 1), 1);
        assert_eq!(even_tile(0, 512, 16), 16);
        for n in 1..300 {
            for tile in [16, 17, 64, 100] {
                for m in [1, 2, 16] {
                    let t = even_tile(n, tile, m);
                    assert!(
                        t < tile + m && t >= 1 && t.is_multiple_of(m),
                        "n {n} tile {tile}: {t}"
                    );
                    assert!(n.div_ceil(t) <= n.div_ceil(tile), "n {n} tile {tile}: {t}");
                }
            }
        }
    }
}
