//! The photo codec: image → μ → integers → rANS → `.lat`, and back; the entropy model alone
//! ([`entropy`]), `.lat` files as packets ([`packets`]), and context tables fitted to a
//! bundle's symbols ([`fit`]).

pub mod entropy;
pub mod fit;
pub mod hyper;
pub mod packets;

use std::sync::Mutex;
use std::time::Instant;

use image::{DynamicImage, GrayImage, ImageBuffer, Pixel, RgbImage};
use latent_wire::container::Header;
use sha2::{Digest, Sha256};

use crate::codec::entropy::{EntropyModel, Latent};
use crate::error::{BundleError, Error, LatError};
use crate::io::imageio::is_gray;
use crate::limits::Limits;
use crate::runtime::bundle::{ModelBundle, Role, hex};
use crate::runtime::engine::{Graph, executor};
use crate::runtime::kernels;
use crate::runtime::parallel::{at_once, each_tile};
use crate::runtime::precision::Precision;

/// Latent positions per tile side: images larger than one window (tile plus margins) are
/// encoded and decoded tile by tile, so memory stays bounded whatever the image size.
pub const DEFAULT_TILE: usize = 48;

/// Pixels of context the encoder sees on each side of a latent position: four 5x5 convolutions
/// after which the image has been halved 0, 1, 2 and 3 times (2 + 4 + 8 + 16).
const ENCODER_REACH: usize = 30;

/// Latent positions of context the decoder sees on each side: its 3x3 convolutions, the first at
/// the latent's resolution and the rest finer, reach under 2 positions.
const DECODER_REACH: usize = 2;

/// Latent positions of context on each side of a tile at `stride`: covers both graphs' reach, so
/// tiled results equal whole-image ones up to float rounding (2 at stride 16, 4 at stride 8).
fn margin(stride: usize) -> usize {
    ENCODER_REACH.div_ceil(stride).max(DECODER_REACH)
}

/// A loaded model bundle, ready to encode and decode.
pub struct Codec {
    entropy: EntropyModel,
    encoder: Graph,
    decoder: Graph,
    /// A hyperprior model's latent → z graph.
    hyper_encoder: Option<Graph>,
    precision: Precision,
    tile: usize,
    threads: usize,
}

/// The result of [`Codec::encode`].
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The whole `.lat` file.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: Header,
    /// Wall time of encoder inference + quantization + entropy coding.
    pub encode_ms: f64,
}

/// The encoder's output for one picture ([`Codec::analyze`]): one analysis serves every
/// quality ([`Codec::code`]).
#[derive(Debug, Clone)]
pub struct Analysis {
    /// μ, channel-major, before any quality's gains.
    mu: Vec<f32>,
    /// A hyperprior's side information: z's symbols, channel-major.
    z: Option<Vec<i32>>,
    /// The `.lat` header, its quality still unset.
    header: Header,
    /// Wall time of encoder inference.
    analyze_ms: f64,
}

impl Analysis {
    /// The `.lat` header (quality unset until [`Codec::code`]).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Latent positions per channel.
    fn plane(&self) -> usize {
        usize::from(self.header.latent_height) * usize::from(self.header.latent_width)
    }
}

/// The result of [`Codec::decode`].
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The reconstructed image (gray when the original was).
    pub image: DynamicImage,
    /// The `.lat` header.
    pub header: Header,
    /// The decoded latent symbols (channel-major).
    pub symbols: Vec<i32>,
    /// Wall time of entropy decoding + decoder inference.
    pub decode_ms: f64,
}

impl Decoded {
    /// SHA-256 (hex) of the decoded symbols as little-endian i32: equal on every machine that
    /// decodes the same `.lat`.
    pub fn symbols_sha256(&self) -> String {
        let mut hash = Sha256::new();
        for v in &self.symbols {
            hash.update(v.to_le_bytes());
        }
        hex(&hash.finalize())
    }
}

impl Codec {
    /// Loads both graphs of `bundle` at `precision` (as given: resolve a user's request with
    /// [`crate::runtime::precision`] first, since f16 is emulated and slow without native f16);
    /// inference uses `threads` threads: a picture of several tiles runs that many tiles at once,
    /// each on one thread, a picture of one tile runs it on all of them. The tiles depend on the
    /// picture's size only, so the `.lat` and the decoded picture are the same whatever `threads`.
    pub fn new(
        bundle: ModelBundle,
        threads: usize,
        precision: Precision,
        limits: Limits,
    ) -> Result<Self, Error> {
        kernels::select(precision == Precision::Int8);
        let exec = executor(threads);
        let load = |role| -> Result<Graph, BundleError> {
            let (graph, onnx) =
                bundle
                    .graph(role, precision)
                    .ok_or_else(|| BundleError::NoInt8 {
                        source_name: bundle.source.clone(),
                        files: "encoder.int8.onnx and decoder.int8.onnx, from models/quantize.py",
                    })?;
            let loaded =
                Graph::load(graph, onnx, exec.clone()).map_err(|e| BundleError::GraphLoad {
                    source_name: bundle.source.clone(),
                    graph,
                    source: e.into(),
                })?;
            Ok(loaded.with_f16(precision == Precision::F16))
        };
        let (encoder, decoder) = (load(Role::Encoder)?, load(Role::Decoder)?);
        let hyper_encoder = match bundle.hyper {
            Some(_) => Some(load(Role::HyperEncoder)?),
            None => None,
        };
        let codec = Self {
            entropy: EntropyModel::new(bundle, limits),
            encoder,
            decoder,
            hyper_encoder,
            precision,
            tile: DEFAULT_TILE,
            threads: threads.max(1),
        };
        codec.check_input(&codec.encoder, codec.bundle().prior.colours)?;
        let latent_channels = codec.bundle().prior.latent_channels;
        codec.check_input(&codec.decoder, latent_channels)?;
        if let Some(graph) = &codec.hyper_encoder {
            codec.check_input(graph, latent_channels)?;
        }
        Ok(codec)
    }

    /// The precision both graphs run at.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The same codec with tiles of `tile` latent positions a side (at least 1).
    pub fn with_tile(mut self, tile: usize) -> Self {
        self.tile = tile.max(1);
        self
    }

    /// The model bundle in use.
    pub fn bundle(&self) -> &ModelBundle {
        self.entropy.bundle()
    }

    /// The limits untrusted input is checked against.
    pub fn limits(&self) -> &Limits {
        self.entropy.limits()
    }

    /// The entropy model: `.lat` bytes to symbols and back, without the graphs.
    pub fn entropy(&self) -> &EntropyModel {
        &self.entropy
    }

    /// Checks that a `.lat` header fits this model (see [`EntropyModel::check_header`]).
    pub fn check_header(&self, header: &Header) -> Result<(), Error> {
        self.entropy.check_header(header)
    }

    /// Validates a `.lat` file and entropy-decodes its latent symbols.
    pub fn decode_symbols(&self, lat: &[u8]) -> Result<(Header, Vec<i32>), Error> {
        self.entropy.decode_symbols(lat)
    }

    /// Refuses a graph whose declared input is not `N x channels x H x W`.
    fn check_input(&self, graph: &Graph, channels: usize) -> Result<(), Error> {
        let Some(dims) = graph.declared_input() else {
            return Ok(()); // undeclared: the first run's shape inference decides
        };
        let fits = dims.len() == 4 && dims[1].is_none_or(|c| c == channels as i64);
        if fits {
            return Ok(());
        }
        let found: Vec<String> = dims
            .iter()
            .map(|d| d.map_or("?".into(), |d| d.to_string()))
            .collect();
        Err(self.bad_graph(
            graph.name(),
            format!(
                "input is [{}], expected [N, {channels}, H, W]",
                found.join(", ")
            ),
        ))
    }

    fn bad_graph(&self, graph: &'static str, reason: String) -> Error {
        BundleError::BadGraph {
            source_name: self.bundle().source.clone(),
            graph,
            reason,
        }
        .into()
    }

    /// The windows (tiles with their margins) covering an `lh x lw` latent.
    fn windows(&self, lh: usize, lw: usize) -> Vec<(Window, Window)> {
        let margin = margin(self.bundle().prior.stride);
        let rows = windows(lh, self.tile, margin);
        let cols = windows(lw, self.tile, margin);
        rows.iter()
            .flat_map(|r| cols.iter().map(move |c| (r.clone(), c.clone())))
            .collect()
    }

    /// Optimizes both graphs for a `width x height` image ahead of time.
    pub fn prepare(&self, width: u32, height: u32) -> Result<(), Error> {
        let [c, lh, lw] = self.entropy.latent_shape(width, height)?;
        let tiles = self.windows(lh, lw);
        let alone = at_once(self.threads, tiles.len());
        self.prepare_encoders(&tiles[0], [c, lh, lw], alone)?;
        let (rows, cols) = &tiles[0];
        self.decoder.prepare(&[1, c, rows.len, cols.len], alone)
    }

    /// Optimizes the encoder for the window `tile` (every window of an `lh x lw` latent is that
    /// size), and a hyperprior's hyper-encoder for the whole latent.
    fn prepare_encoders(
        &self,
        (rows, cols): &(Window, Window),
        [c, lh, lw]: [usize; 3],
        alone: bool,
    ) -> Result<(), Error> {
        let prior = &self.bundle().prior;
        let (s, colours) = (prior.stride, prior.colours);
        self.encoder
            .prepare(&[1, colours, rows.len * s, cols.len * s], alone)?;
        if let Some(graph) = &self.hyper_encoder {
            graph.prepare(&[1, c, lh, lw], false)?;
        }
        Ok(())
    }

    /// Quality settings this model offers, ascending.
    pub fn qualities(&self) -> Vec<u8> {
        self.bundle().prior.quality_numbers()
    }

    /// The quality used when none is asked for.
    pub fn default_quality(&self) -> u8 {
        self.bundle().prior.default_quality
    }

    /// Compresses `image` into a `.lat` file at `quality` (one of [`Codec::qualities`]);
    /// `encode_ms` excludes optimizing the plan for a new size.
    pub fn encode(&self, image: &DynamicImage, quality: u8) -> Result<Encoded, Error> {
        self.bundle().prior.quality(quality)?;
        self.code(&self.analyze(image)?, quality)
    }

    /// Compresses `image` at the best quality whose `.lat` file takes at most `max_bytes`: the
    /// encoder runs once, each quality tried is only quantized and entropy coded.
    pub fn encode_within(&self, image: &DynamicImage, max_bytes: usize) -> Result<Encoded, Error> {
        let analysis = self.analyze(image)?;
        let qualities = self.qualities();
        let Some((&lowest, higher)) = qualities.split_first() else {
            return Err(BundleError::BadPrior {
                source_name: self.bundle().source.clone(),
                reason: "no quality levels".into(),
            }
            .into());
        };
        for &quality in higher.iter().rev() {
            let encoded = self.code(&analysis, quality)?;
            if encoded.bytes.len() <= max_bytes {
                return Ok(encoded);
            }
        }
        let smallest = self.code(&analysis, lowest)?;
        if smallest.bytes.len() <= max_bytes {
            return Ok(smallest);
        }
        Err(Error::TooSmall {
            quality: lowest,
            bytes: smallest.bytes.len(),
            max: max_bytes,
        })
    }

    /// Runs the encoder graph over `image`, tile by tile: μ for every latent position, before
    /// any quality's gains.
    pub fn analyze(&self, image: &DynamicImage) -> Result<Analysis, Error> {
        let (width, height) = (image.width(), image.height());
        self.limits()
            .check_pixels("input image", width.into(), height.into())?;
        let [c, lh, lw] = self.entropy.latent_shape(width, height)?;
        let prior = &self.bundle().prior;
        let (s, colours) = (prior.stride, prior.colours);
        if colours == 1 && !is_gray(image) {
            return Err(Error::ColourToGrayModel {
                model: prior.name.clone(),
            });
        }
        // No copy of an image that is RGB8 (or gray for a gray model) already: a 64 MP one is
        // 192 MB.
        let pixels = if colours == 1 {
            Pixels::Gray(match image.as_luma8() {
                Some(gray) => std::borrow::Cow::Borrowed(gray),
                None => std::borrow::Cow::Owned(image.to_luma8()),
            })
        } else {
            Pixels::Rgb(match image.as_rgb8() {
                Some(rgb) => std::borrow::Cow::Borrowed(rgb),
                None => std::borrow::Cow::Owned(image.to_rgb8()),
            })
        };
        let tiles = self.windows(lh, lw);
        let alone = at_once(self.threads, tiles.len());
        self.prepare_encoders(&tiles[0], [c, lh, lw], alone)?;
        let start = Instant::now();
        let mu = Mutex::new(vec![0f32; c * lh * lw]);
        each_tile(&tiles, self.threads, |(rows, cols)| {
            let shape = [1, colours, rows.len * s, cols.len * s];
            let (y0, x0) = (rows.start * s, cols.start * s);
            let input = match &pixels {
                Pixels::Gray(gray) => planar_window(gray, y0, x0, shape[2], shape[3]),
                Pixels::Rgb(rgb) => planar_window(rgb, y0, x0, shape[2], shape[3]),
            };
            let (found, out) = self.encoder.run(&shape, input, alone)?;
            let expected = [1, c, rows.len, cols.len];
            if found != expected {
                return Err(self.bad_graph(
                    self.encoder.name(),
                    format!("output shape {found:?}, expected {expected:?}"),
                ));
            }
            let mut mu = mu.lock().unwrap_or_else(|e| e.into_inner());
            for ch in 0..c {
                for y in rows.keep.clone() {
                    let src = (ch * rows.len + y - rows.start) * cols.len;
                    let dst = (ch * lh + y) * lw;
                    mu[dst + cols.keep.start..dst + cols.keep.end].copy_from_slice(
                        &out[src + cols.keep.start - cols.start..src + cols.keep.end - cols.start],
                    );
                }
            }
            Ok(())
        })?;
        let mu = mu.into_inner().unwrap_or_else(|e| e.into_inner());
        let z = self.side_information(&mu, [c, lh, lw])?;
        let header = Header {
            quality: 0,
            image_channels: if is_gray(image) { 1 } else { 3 },
            precision: self.precision.to_wire(),
            fingerprint: self.bundle().fingerprint,
            width,
            height,
            latent_channels: c as u16,
            latent_height: lh as u16,
            latent_width: lw as u16,
        };
        Ok(Analysis {
            mu,
            z,
            header,
            analyze_ms: start.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// A hyperprior's z symbols for latent `mu` (`[c, lh, lw]`), from the hyper-encoder run on
    /// the whole latent; `None` for other models.
    fn side_information(
        &self,
        mu: &[f32],
        [c, lh, lw]: [usize; 3],
    ) -> Result<Option<Vec<i32>>, Error> {
        let (Some(graph), Some(tables)) = (&self.hyper_encoder, &self.bundle().prior.hyperprior)
        else {
            return Ok(None);
        };
        let (found, z) = graph.run(&[1, c, lh, lw], mu.to_vec(), false)?;
        let s = tables.z_stride;
        let expected = [1, tables.z_channels, lh.div_ceil(s), lw.div_ceil(s)];
        if found != expected {
            return Err(self.bad_graph(
                graph.name(),
                format!("output shape {found:?}, expected {expected:?}"),
            ));
        }
        // round(·), ties to even as CompressAI's torch.round; `as` saturates.
        Ok(Some(z.iter().map(|v| v.round_ties_even() as i32).collect()))
    }

    /// The latent symbols of `analysis` at `quality` (channel-major, the shape in its header);
    /// a hyperprior's depend on its side information and are refused.
    pub fn symbols(&self, analysis: &Analysis, quality: u8) -> Result<Vec<i32>, Error> {
        if analysis.z.is_some() {
            return Err(
                LatError::Hyperprior("quantizing a latent without its side information").into(),
            );
        }
        let level = self.bundle().prior.quality(quality)?;
        Ok(quantize(&analysis.mu, &level.gain, analysis.plane()))
    }

    /// Quantizes `analysis` at `quality` and entropy codes it into a `.lat` file; `encode_ms`
    /// counts the analysis too.
    pub fn code(&self, analysis: &Analysis, quality: u8) -> Result<Encoded, Error> {
        let start = Instant::now();
        let level = self.bundle().prior.quality(quality)?;
        let header = Header {
            quality,
            ..analysis.header
        };
        let bytes = match &analysis.z {
            Some(z) => self.entropy.encode_hyper(&header, z, &analysis.mu)?,
            None => {
                let latent = quantize(&analysis.mu, &level.gain, analysis.plane());
                self.entropy.encode(&header, &latent)?
            }
        };
        Ok(Encoded {
            bytes,
            header,
            encode_ms: analysis.analyze_ms + start.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Decompresses a `.lat` file (`decode_ms` excludes optimizing the plan for a new size).
    pub fn decode(&self, lat: &[u8]) -> Result<Decoded, Error> {
        let file = self.entropy.checked(lat)?;
        let header = *file.header();
        let [c, lh, lw] = [
            usize::from(header.latent_channels),
            usize::from(header.latent_height),
            usize::from(header.latent_width),
        ];
        // Entropy decoding first: a corrupt payload fails before any graph work.
        let start = Instant::now();
        let latent = self.entropy.latent(&file)?;
        let entropy = start.elapsed();
        let tiles = self.windows(lh, lw);
        let (rows, cols) = &tiles[0];
        self.decoder.prepare(
            &[1, c, rows.len, cols.len],
            at_once(self.threads, tiles.len()),
        )?;
        self.render(header, latent, Instant::now() - entropy)
    }

    /// Decodes latent `symbols` (channel-major, the shape in `header`) to an image, as
    /// [`Codec::decode`] does after entropy decoding; for latents that did not come from one
    /// `.lat` file (reassembled packets with concealed slices).
    pub fn decode_latent(&self, header: Header, symbols: Vec<i32>) -> Result<Decoded, Error> {
        self.check_header(&header)?;
        if self.bundle().hyper.is_some() {
            return Err(
                LatError::Hyperprior("decoding a latent without its side information").into(),
            );
        }
        if symbols.len() != header.latent_len() {
            return Err(LatError::Wire(latent_wire::WireError::ShapeMismatch {
                reason: "latent length is not channels x plane size",
            })
            .into());
        }
        let start = Instant::now();
        let latent = Latent {
            symbols,
            means: None,
        };
        self.render(header, latent, start)
    }

    fn render(&self, header: Header, latent: Latent, start: Instant) -> Result<Decoded, Error> {
        let Latent { symbols, means } = latent;
        let [c, lh, lw] = [
            usize::from(header.latent_channels),
            usize::from(header.latent_height),
            usize::from(header.latent_width),
        ];
        let prior = &self.bundle().prior;
        let (s, colours) = (prior.stride, prior.colours);
        let inverse_gain = &prior.quality(header.quality)?.inverse_gain;
        let out = Mutex::new(vec![
            0u8;
            colours * header.width as usize * header.height as usize
        ]);
        let tiles = self.windows(lh, lw);
        let alone = at_once(self.threads, tiles.len());
        each_tile(&tiles, self.threads, |(rows, cols)| {
            let mut latent = Vec::with_capacity(c * rows.len * cols.len);
            for (ch, &g) in inverse_gain.iter().enumerate().take(c) {
                for y in rows.start..rows.start + rows.len {
                    let at = (ch * lh + y) * lw + cols.start;
                    let values = symbols[at..at + cols.len].iter().map(|&v| v as f32 * g);
                    match &means {
                        Some(m) => latent.extend(values.zip(&m[at..]).map(|(v, m)| v + m)),
                        None => latent.extend(values),
                    }
                }
            }
            let (found, planes) = self
                .decoder
                .run(&[1, c, rows.len, cols.len], latent, alone)?;
            let (ph, pw) = (rows.len * s, cols.len * s);
            if found != [1, colours, ph, pw] {
                return Err(self.bad_graph(
                    self.decoder.name(),
                    format!(
                        "output shape {found:?}, expected {:?}",
                        [1, colours, ph, pw]
                    ),
                ));
            }
            let (y0, x0) = (rows.start * s, cols.start * s);
            let ys = rows.keep.start * s..(rows.keep.end * s).min(header.height as usize);
            let xs = cols.keep.start * s..(cols.keep.end * s).min(header.width as usize);
            let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
            for y in ys {
                for x in xs.clone() {
                    let at = (y - y0) * pw + (x - x0);
                    let px = colours * (y * header.width as usize + x);
                    for k in 0..colours {
                        out[px + k] =
                            (planes[k * ph * pw + at] * 255.0).round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
            Ok(())
        })?;
        let out = out.into_inner().unwrap_or_else(|e| e.into_inner());
        let (w, h) = (header.width, header.height);
        let image = if colours == 1 {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, out).expect("w x h bytes"))
        } else {
            let rgb = RgbImage::from_raw(w, h, out).expect("3 x w x h bytes");
            if header.image_channels == 1 {
                DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).into_luma8())
            } else {
                DynamicImage::ImageRgb8(rgb)
            }
        };
        Ok(Decoded {
            image,
            header,
            symbols,
            decode_ms: start.elapsed().as_secs_f64() * 1e3,
        })
    }
}

/// One axis of a tile: the window run through a graph and the part of it kept, in latent
/// positions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    /// First position of the window.
    start: usize,
    /// Positions in the window.
    len: usize,
    /// Positions whose results are kept (inside the window, at least `margin` from any window
    /// edge that is not an image edge).
    keep: std::ops::Range<usize>,
}

/// The symbols of latent `mu` at a quality's per-channel `gain` (`plane` positions per
/// channel): round(μ · g), ties to even. `as` saturates: a non-finite or huge μ becomes an
/// escaped extreme value, never UB.
fn quantize(mu: &[f32], gain: &[f32], plane: usize) -> Vec<i32> {
    mu.iter()
        .enumerate()
        .map(|(i, v)| (v * gain[i / plane]).round_ties_even() as i32)
        .collect()
}

/// Windows along an axis of `n` positions: one window of all `n` when that is at most
/// `tile + 2 * margin`, else the fewest tiles of at most `tile` positions, of equal size, each in
/// a window of that size plus `2 * margin` (all the same length, so one optimized plan serves
/// them all) shifted inside the axis at its ends.
fn windows(n: usize, tile: usize, margin: usize) -> Vec<Window> {
    if n <= tile + 2 * margin {
        return vec![Window {
            start: 0,
            len: n,
            keep: 0..n,
        }];
    }
    let size = n.div_ceil(n.div_ceil(tile));
    let len = size + 2 * margin;
    (0..n)
        .step_by(size)
        .map(|first| Window {
            start: first.saturating_sub(margin).min(n - len),
            len,
            keep: first..(first + size).min(n),
        })
        .collect()
}

/// Planar `channels x h x w` floats in `[0, 1]` of the window at (`y0`, `x0`) of `image`, with edges
/// replicated past the image.
fn planar_window<P: Pixel<Subpixel = u8>>(
    image: &ImageBuffer<P, Vec<u8>>,
    y0: usize,
    x0: usize,
    h: usize,
    w: usize,
) -> Vec<f32> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let n = usize::from(P::CHANNEL_COUNT);
    let raw = image.as_raw();
    let mut out = vec![0f32; n * h * w];
    for y in 0..h {
        let sy = (y0 + y).min(height - 1);
        for x in 0..w {
            let p = n * (sy * width + (x0 + x).min(width - 1));
            for c in 0..n {
                out[c * h * w + y * w + x] = f32::from(raw[p + c]) / 255.0;
            }
        }
    }
    out
}

/// The picture the encoder reads, in the model's colours.
enum Pixels<'a> {
    Gray(std::borrow::Cow<'a, GrayImage>),
    Rgb(std::borrow::Cow<'a, RgbImage>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_axis_once_with_margins() {
        for n in 1..60 {
            for tile in 1..8 {
                let ws = windows(n, tile, 2);
                let mut next = 0;
                for w in &ws {
                    assert_eq!(w.keep.start, next, "n {n} tile {tile}: {ws:?}");
                    next = w.keep.end;
                    assert!(w.start + w.len <= n);
                    assert!(w.start <= w.keep.start && w.keep.end <= w.start + w.len);
                    assert!(w.start == 0 || w.keep.start - w.start >= 2);
                    assert!(w.start + w.len == n || w.start + w.len - w.keep.end >= 2);
                    assert_eq!(w.len, ws[0].len);
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn margins_cover_the_encoders_reach_at_either_stride() {
        assert_eq!(margin(16), 2);
        assert_eq!(margin(8), 4);
        for stride in [8, 16] {
            assert!(margin(stride) * stride >= ENCODER_REACH);
        }
    }
}
