//! The demo VAEs: small gray-image models with a 2-D latent (`fashion`, `mnist`), for sampling,
//! interpolation, attribute arithmetic and latent maps.
//!
//! A bundle directory holds `encoder.onnx` (image `Nx1xHxW` in `[0, 1]` → μ `NxD`, log σ² `NxD`),
//! `decoder.onnx` (z `NxD` → image `Nx1xHxW`) and `model.json` (name, input size, latent
//! dimension, class names and per-class mean μ over the training set). Both demo models are
//! compiled in; `models/vae2d/` has their recipe and model card.

use std::borrow::Cow;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, Luma};
use serde::Deserialize;

use crate::error::{BundleError, DemoError, Error};
use crate::limits::Limits;
use crate::runtime::bundle::read_file;
use crate::runtime::engine::{Graph, executor};

/// Names of the compiled-in demo models.
pub const EMBEDDED: [&str; 2] = ["fashion", "mnist"];
/// The compiled-in demo models' names and [`fingerprint`](crate::runtime::bundle::fingerprint)s (of
/// their two graphs and `model.json`).
pub fn embedded_ids() -> Result<Vec<(String, [u8; 8])>, BundleError> {
    [FASHION, MNIST]
        .into_iter()
        .map(|[encoder, decoder, meta]| {
            let name = Meta::parse("embedded", meta)?.name;
            Ok((
                name,
                crate::runtime::bundle::fingerprint(&[encoder, decoder, meta]),
            ))
        })
        .collect()
}

/// Name of the metadata file in a bundle directory.
pub const META_FILE: &str = "model.json";

const FASHION: [&[u8]; 3] = [
    include_bytes!("../../models/vae2d/fashion/encoder.onnx"),
    include_bytes!("../../models/vae2d/fashion/decoder.onnx"),
    include_bytes!("../../models/vae2d/fashion/model.json"),
];
const MNIST: [&[u8]; 3] = [
    include_bytes!("../../models/vae2d/mnist/encoder.onnx"),
    include_bytes!("../../models/vae2d/mnist/decoder.onnx"),
    include_bytes!("../../models/vae2d/mnist/model.json"),
];

/// Largest input side a demo model may declare (they work on thumbnails).
const MAX_SIDE: u32 = 256;
/// Largest latent dimension a demo model may declare.
const MAX_LATENT: usize = 64;
/// Images per inference call.
const BATCH: usize = 256;

/// `model.json`: what the graphs expect and what the classes are.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    /// Model name.
    pub name: String,
    /// The encoder's input image.
    pub input: InputSpec,
    /// Latent dimension D.
    pub latent_dim: usize,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Mean μ of each class over the training set (D values each).
    pub class_means: Vec<Vec<f32>>,
}

/// The encoder's input image.
#[derive(Debug, Clone, Deserialize)]
pub struct InputSpec {
    /// Image channels (1: gray).
    pub channels: usize,
    /// Height in pixels.
    pub height: u32,
    /// Width in pixels.
    pub width: u32,
    /// "light": objects are bright on a dark background (as in MNIST).
    pub foreground: String,
}

/// A loaded demo model.
pub struct Vae2d {
    /// Where it came from ("embedded fashion" or the directory).
    pub source: String,
    /// The validated metadata.
    pub meta: Meta,
    encoder: Graph,
    decoder: Graph,
}

/// How an input picture was adapted to the model's input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adapted {
    /// Original size when it was resized.
    pub resized_from: Option<(u32, u32)>,
    /// True when a dark-on-light picture was inverted to the model's light-on-dark.
    pub inverted: bool,
}

impl Vae2d {
    /// One of the compiled-in models ([`EMBEDDED`]), or the bundle in directory `spec` (files
    /// within `limits`).
    pub fn load(spec: &str, threads: usize, limits: &Limits) -> Result<Self, Error> {
        let parts = match spec {
            "fashion" => Some(FASHION),
            "mnist" => Some(MNIST),
            _ => None,
        };
        match parts {
            Some([enc, dec, meta]) => Self::from_parts(
                format!("embedded {spec}"),
                Cow::Borrowed(enc),
                Cow::Borrowed(dec),
                meta,
                threads,
            ),
            None => Self::from_dir(Path::new(spec), threads, limits),
        }
    }

    /// Loads the bundle in directory `dir`, refusing files over `limits` unread.
    pub fn from_dir(dir: &Path, threads: usize, limits: &Limits) -> Result<Self, Error> {
        if !dir.is_dir() {
            return Err(DemoError::UnknownModel {
                spec: dir.display().to_string(),
            }
            .into());
        }
        let (enc, dec, meta) = (
            read_file(dir, crate::runtime::bundle::ENCODER_FILE, limits)?,
            read_file(dir, crate::runtime::bundle::DECODER_FILE, limits)?,
            read_file(dir, META_FILE, limits)?,
        );
        Self::from_parts(
            dir.display().to_string(),
            Cow::Owned(enc),
            Cow::Owned(dec),
            &meta,
            threads,
        )
    }

    fn from_parts(
        source: String,
        encoder_onnx: Cow<'_, [u8]>,
        decoder_onnx: Cow<'_, [u8]>,
        meta_json: &[u8],
        threads: usize,
    ) -> Result<Self, Error> {
        let meta = Meta::parse(&source, meta_json)?;
        let exec = executor(threads);
        let load = |graph: &'static str, onnx: &[u8], expected: Vec<Option<i64>>| {
            let bad = |reason: String| BundleError::BadGraph {
                source_name: source.clone(),
                graph,
                reason,
            };
            let g = Graph::load(graph, onnx, exec.clone()).map_err(|e| BundleError::GraphLoad {
                source_name: source.clone(),
                graph,
                source: e.into(),
            })?;
            if let Some(found) = g.declared_input() {
                let fits = found.len() == expected.len()
                    && found
                        .iter()
                        .zip(&expected)
                        .all(|(f, e)| f.is_none() || e.is_none() || f == e);
                if !fits {
                    return Err(bad(format!(
                        "input is {}, expected {}",
                        dims(&found),
                        dims(&expected)
                    )));
                }
            }
            Ok(g)
        };
        let input = &meta.input;
        let encoder = load(
            "encoder.onnx",
            &encoder_onnx,
            vec![
                None,
                Some(input.channels as i64),
                Some(input.height.into()),
                Some(input.width.into()),
            ],
        )?;
        let decoder = load(
            "decoder.onnx",
            &decoder_onnx,
            vec![None, Some(meta.latent_dim as i64)],
        )?;
        Ok(Self {
            source,
            meta,
            encoder,
            decoder,
        })
    }

    /// Input pixels per image.
    fn input_len(&self) -> usize {
        (self.meta.input.width * self.meta.input.height) as usize
    }

    /// Converts a picture to the model's input: gray, resized to the model's size, inverted when
    /// it is dark-on-light (its border is brighter than mid-gray) while the model expects
    /// light-on-dark. Returns pixels in `[0, 1]` and what was changed.
    pub fn adapt(&self, image: &DynamicImage) -> (Vec<f32>, Adapted) {
        let (w, h) = (self.meta.input.width, self.meta.input.height);
        let mut gray = image.to_luma8();
        let mut adapted = Adapted::default();
        if gray.dimensions() != (w, h) {
            adapted.resized_from = Some(gray.dimensions());
            gray = image::imageops::resize(&gray, w, h, FilterType::Triangle);
        }
        let border: Vec<u8> = gray
            .enumerate_pixels()
            .filter(|(x, y, _)| *x == 0 || *y == 0 || *x == w - 1 || *y == h - 1)
            .map(|(_, _, p)| p.0[0])
            .collect();
        let border_mean = border.iter().map(|&v| f64::from(v)).sum::<f64>() / border.len() as f64;
        adapted.inverted = self.meta.input.foreground == "light" && border_mean > 127.5;
        let pixels = gray
            .pixels()
            .map(|p| {
                let v = if adapted.inverted {
                    255 - p.0[0]
                } else {
                    p.0[0]
                };
                f32::from(v) / 255.0
            })
            .collect();
        (pixels, adapted)
    }

    /// μ of each image (`images` holds whole model-sized images in `[0, 1]`, row-major).
    pub fn encode(&self, images: &[f32]) -> Result<Vec<Vec<f32>>, Error> {
        let (w, h) = (
            self.meta.input.width as usize,
            self.meta.input.height as usize,
        );
        let per = self.input_len();
        debug_assert_eq!(images.len() % per, 0, "partial image");
        let mut out = Vec::with_capacity(images.len() / per);
        for chunk in images.chunks(BATCH * per) {
            let n = chunk.len() / per;
            let (shape, mu) = self.encoder.run(&[n, 1, h, w], chunk.to_vec(), false)?;
            self.check_output("encoder.onnx", &shape, &[n, self.meta.latent_dim])?;
            out.extend(mu.chunks(self.meta.latent_dim).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    /// Decodes latent points (each of D values) to gray images.
    pub fn decode(&self, points: &[Vec<f32>]) -> Result<Vec<GrayImage>, Error> {
        let d = self.meta.latent_dim;
        let (w, h) = (self.meta.input.width, self.meta.input.height);
        let mut out = Vec::with_capacity(points.len());
        for chunk in points.chunks(BATCH) {
            if let Some(p) = chunk.iter().find(|p| p.len() != d) {
                return Err(DemoError::LatentDim {
                    expected: d,
                    found: p.len(),
                }
                .into());
            }
            let z: Vec<f32> = chunk.iter().flatten().copied().collect();
            let (shape, pixels) = self.decoder.run(&[chunk.len(), d], z, false)?;
            let expected = [chunk.len(), 1, h as usize, w as usize];
            self.check_output("decoder.onnx", &shape, &expected)?;
            out.extend(pixels.chunks(self.input_len()).map(|img| {
                GrayImage::from_fn(w, h, |x, y| {
                    let v = img[(y * w + x) as usize];
                    Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8])
                })
            }));
        }
        Ok(out)
    }

    /// The training-set mean μ of class `k`.
    pub fn class_mean(&self, k: usize) -> Result<&[f32], DemoError> {
        self.meta
            .class_means
            .get(k)
            .map(Vec::as_slice)
            .ok_or(DemoError::UnknownClass {
                class: k,
                classes: self.meta.classes.len(),
            })
    }

    fn check_output(
        &self,
        graph: &'static str,
        found: &[usize],
        expected: &[usize],
    ) -> Result<(), BundleError> {
        if found == expected {
            return Ok(());
        }
        Err(BundleError::BadGraph {
            source_name: self.source.clone(),
            graph,
            reason: format!("output is {found:?}, expected {expected:?}"),
        })
    }
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
        let input = &meta.input;
        if input.channels != 1 {
            return Err(bad(format!(
                "input.channels is {}, the demos run gray models (1)",
                input.channels
            )));
        }
        if !(1..=MAX_SIDE).contains(&input.width) || !(1..=MAX_SIDE).contains(&input.height) {
            return Err(bad(format!(
                "input is {}x{}, each side must be in 1..={MAX_SIDE}",
                input.width, input.height
            )));
        }
        if !(1..=MAX_LATENT).contains(&meta.latent_dim) {
            return Err(bad(format!(
                "latent_dim is {}, must be in 1..={MAX_LATENT}",
                meta.latent_dim
            )));
        }
        if meta.class_means.len() != meta.classes.len() {
            return Err(bad(format!(
                "{} class means for {} classes",
                meta.class_means.len(),
                meta.classes.len()
            )));
        }
        if let Some((k, m)) = meta
            .class_means
            .iter()
            .enumerate()
            .find(|(_, m)| m.len() != meta.latent_dim || m.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(format!(
                "class_means[{k}] has {} values (expected {} finite)",
                m.len(),
                meta.latent_dim
            )));
        }
        Ok(meta)
    }
}

fn dims(d: &[Option<i64>]) -> String {
    let parts: Vec<String> = d
        .iter()
        .map(|v| v.map_or("?".into(), |v| v.to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Leave-one-out k-nearest-neighbour accuracy of `labels` from `points` (majority vote, ties
/// to the class of the nearer neighbours): how well classes cluster in the latent space.
pub fn knn_accuracy(points: &[Vec<f32>], labels: &[u8], k: usize) -> f64 {
    if points.len() <= k {
        return f64::NAN;
    }
    let mut correct = 0usize;
    let mut near: Vec<(f32, usize)> = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        near.clear();
        near.extend(
            points
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, q)| {
                    let d2 = p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>();
                    (d2, j)
                }),
        );
        near.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        let neighbours = &mut near[..k];
        neighbours.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut votes = [0usize; 256];
        for &(_, j) in neighbours.iter() {
            votes[usize::from(labels[j])] += 1;
        }
        let best = votes.iter().copied().max().unwrap_or(0);
        // Ties: the nearest neighbour among the tied classes wins.
        let predicted = neighbours
            .iter()
            .map(|&(_, j)| labels[j])
            .find(|&l| votes[usize::from(l)] == best);
        correct += usize::from(predicted == Some(labels[i]));
    }
    correct as f64 / points.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knn_separates_clusters_and_fails_on_mixed() {
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for i in 0..20 {
            points.push(vec![i as f32 * 0.01, 0.0]);
            labels.push(0);
            points.push(vec![10.0 + i as f32 * 0.01, 0.0]);
            labels.push(1);
        }
        assert_eq!(knn_accuracy(&points, &labels, 5), 1.0);
        // Labels alternating along one line: every neighbourhood is mixed.
        let line: Vec<Vec<f32>> = (0..40).map(|i| vec![i as f32, 0.0]).collect();
        let alternating: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
        assert!(knn_accuracy(&line, &alternating, 5) < 0.5);
    }

    #[test]
    fn embedded_models_load() {
        for name in EMBEDDED {
            let m = Vae2d::load(name, 1, &Limits::default()).unwrap();
            assert_eq!(m.meta.latent_dim, 2);
            assert_eq!(m.meta.classes.len(), 10);
        }
    }

    #[test]
    fn adapt_inverts_dark_on_light_and_resizes() {
        let m = Vae2d::load("mnist", 1, &Limits::default()).unwrap();
        let white = DynamicImage::ImageLuma8(GrayImage::from_pixel(56, 56, Luma([250])));
        let (pixels, adapted) = m.adapt(&white);
        assert_eq!(pixels.len(), 28 * 28);
        assert_eq!(adapted.resized_from, Some((56, 56)));
        assert!(adapted.inverted);
        assert!(pixels.iter().all(|&v| v < 0.03));
    }

    #[test]
    fn bad_meta_is_refused_with_reason() {
        let json =
            br#"{"name":"x","input":{"channels":1,"height":28,"width":28,"foreground":"light"},
            "latent_dim":2,"classes":["a","b"],"class_means":[[0,0]]}"#;
        let e = Meta::parse("test", json).unwrap_err().to_string();
        assert!(e.contains("1 class means for 2 classes"), "{e}");
        let json =
            br#"{"name":"x","input":{"channels":1,"height":99999,"width":28,"foreground":"light"},
            "latent_dim":2,"classes":[],"class_means":[]}"#;
        let e = Meta::parse("test", json).unwrap_err().to_string();
        assert!(e.contains("1..=256"), "{e}");
    }
}
