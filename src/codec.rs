//! The photo codec: image → μ → integers → rANS → `.lat`, and back.

use std::time::Instant;

use image::{DynamicImage, RgbImage};
use latent_wire::container::{HEADER_LEN, Header, LatFile};
use latent_wire::symbols;
use sha2::{Digest, Sha256};

use crate::bundle::{ModelBundle, hex};
use crate::engine::{Graph, executor};
use crate::error::{BundleError, Error, LatError, LimitError};
use crate::imageio::is_gray;
use crate::limits::Limits;

/// The only quality of a single-rate model (the value stored in `.lat` headers).
pub const DEFAULT_QUALITY: u8 = 4;

/// A loaded model bundle, ready to encode and decode.
pub struct Codec {
    bundle: ModelBundle,
    encoder: Graph,
    decoder: Graph,
    limits: Limits,
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
    /// Loads both graphs of `bundle`; inference uses `threads` threads.
    pub fn new(bundle: ModelBundle, threads: usize, limits: Limits) -> Result<Self, Error> {
        let exec = executor(threads);
        let load = |graph: &'static str, onnx: &[u8]| {
            Graph::load(graph, onnx, exec.clone()).map_err(|e| BundleError::BadGraph {
                source_name: bundle.source.clone(),
                graph,
                reason: format!("{e:#}"),
            })
        };
        let encoder = load("encoder.onnx", &bundle.encoder_onnx)?;
        let decoder = load("decoder.onnx", &bundle.decoder_onnx)?;
        let codec = Self {
            bundle,
            encoder,
            decoder,
            limits,
        };
        codec.check_input(&codec.encoder, "encoder.onnx", 3)?;
        let latent_channels = codec.bundle.prior.latent_channels;
        codec.check_input(&codec.decoder, "decoder.onnx", latent_channels)?;
        Ok(codec)
    }

    /// The model bundle in use.
    pub fn bundle(&self) -> &ModelBundle {
        &self.bundle
    }

    /// Latent shape `[channels, height, width]` for a `width x height` image.
    fn latent_shape(&self, width: u32, height: u32) -> Result<[usize; 3], Error> {
        let s = self.bundle.prior.stride;
        let shape = [
            self.bundle.prior.latent_channels,
            (height as usize).div_ceil(s),
            (width as usize).div_ceil(s),
        ];
        if shape[1] > usize::from(u16::MAX) || shape[2] > usize::from(u16::MAX) {
            let max_side = u64::from(u16::MAX) * s as u64;
            return Err(LimitError {
                what: "image side (max side is 65535 x stride)",
                width: width.into(),
                height: height.into(),
                pixels: u64::from(width).max(height.into()),
                limit: max_side,
            }
            .into());
        }
        Ok(shape)
    }

    /// Refuses a graph whose declared input is not `N x channels x H x W`.
    fn check_input(&self, graph: &Graph, name: &'static str, channels: usize) -> Result<(), Error> {
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
            name,
            format!(
                "input is [{}], expected [N, {channels}, H, W]",
                found.join(", ")
            ),
        ))
    }

    fn bad_graph(&self, graph: &'static str, reason: String) -> Error {
        BundleError::BadGraph {
            source_name: self.bundle.source.clone(),
            graph,
            reason,
        }
        .into()
    }

    /// Optimizes both graphs for a `width x height` image ahead of time.
    pub fn prepare(&self, width: u32, height: u32) -> Result<(), Error> {
        let [c, lh, lw] = self.latent_shape(width, height)?;
        let s = self.bundle.prior.stride;
        self.encoder.prepare(&[1, 3, lh * s, lw * s])?;
        self.decoder.prepare(&[1, c, lh, lw])
    }

    /// Quality settings this model offers.
    pub fn qualities(&self) -> Vec<u8> {
        vec![DEFAULT_QUALITY]
    }

    /// Compresses `image` into a `.lat` file at `quality` (one of [`Codec::qualities`]);
    /// `encode_ms` excludes optimizing the plan for a new size.
    pub fn encode(&self, image: &DynamicImage, quality: u8) -> Result<Encoded, Error> {
        if !self.qualities().contains(&quality) {
            return Err(Error::Quality {
                requested: quality,
                supported: self.qualities(),
            });
        }
        let (width, height) = (image.width(), image.height());
        self.limits
            .check_pixels("input image", width.into(), height.into())?;
        let [c, lh, lw] = self.latent_shape(width, height)?;
        let s = self.bundle.prior.stride;
        let input = planar_padded(&image.to_rgb8(), lh * s, lw * s);
        self.encoder.prepare(&[1, 3, lh * s, lw * s])?;
        let start = Instant::now();
        let (shape, mu) = self.encoder.run(&[1, 3, lh * s, lw * s], input)?;
        if shape != [1, c, lh, lw] {
            return Err(self.bad_graph(
                "encoder.onnx",
                format!("output shape {shape:?}, expected {:?}", [1, c, lh, lw]),
            ));
        }
        // `as` saturates: a non-finite or huge μ becomes an escaped extreme value, never UB.
        let latent: Vec<i32> = mu.iter().map(|v| v.round_ties_even() as i32).collect();
        let cdfs = self.bundle.cdfs().map_err(LatError::Wire)?;
        let mut buf = vec![0u8; symbols::max_coded_len(latent.len())];
        let payload = symbols::encode(&latent, &cdfs, lh * lw, &mut buf).map_err(LatError::Wire)?;
        let header = Header {
            quality,
            image_channels: if is_gray(image) { 1 } else { 3 },
            fingerprint: self.bundle.fingerprint,
            width,
            height,
            latent_channels: c as u16,
            latent_height: lh as u16,
            latent_width: lw as u16,
        };
        let mut bytes = vec![0u8; HEADER_LEN + payload.len()];
        header.emit(payload, &mut bytes).map_err(LatError::Wire)?;
        Ok(Encoded {
            bytes,
            header,
            encode_ms: start.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Validates a `.lat` file for this model: container, fingerprint, limits, latent shape.
    fn checked<'a>(&self, lat: &'a [u8]) -> Result<LatFile<'a>, Error> {
        let file = LatFile::parse(lat).map_err(LatError::Wire)?;
        self.check_header(file.header())?;
        Ok(file)
    }

    /// Checks that a `.lat` header fits this model: fingerprint, limits, latent shape.
    pub fn check_header(&self, header: &Header) -> Result<(), Error> {
        if header.fingerprint != self.bundle.fingerprint {
            return Err(LatError::ModelMismatch {
                file: hex(&header.fingerprint),
                model: self.bundle.fingerprint_hex(),
            }
            .into());
        }
        self.limits
            .check_pixels(".lat image", header.width.into(), header.height.into())?;
        let expected = self.latent_shape(header.width, header.height)?;
        let found = [
            header.latent_channels.into(),
            header.latent_height.into(),
            header.latent_width.into(),
        ];
        if found != expected {
            return Err(LatError::LatentShape {
                found,
                expected,
                width: header.width,
                height: header.height,
            }
            .into());
        }
        Ok(())
    }

    fn entropy_decode(&self, file: &LatFile) -> Result<Vec<i32>, Error> {
        let h = file.header();
        let cdfs = self.bundle.cdfs().map_err(LatError::Wire)?;
        let mut latent = vec![0i32; h.latent_len()];
        let plane = usize::from(h.latent_height) * usize::from(h.latent_width);
        symbols::decode(file.payload(), &cdfs, plane, &mut latent).map_err(LatError::Wire)?;
        Ok(latent)
    }

    /// Validates a `.lat` file and entropy-decodes its latent symbols.
    pub fn decode_symbols(&self, lat: &[u8]) -> Result<(Header, Vec<i32>), Error> {
        let file = self.checked(lat)?;
        Ok((*file.header(), self.entropy_decode(&file)?))
    }

    /// Decompresses a `.lat` file (`decode_ms` excludes optimizing the plan for a new size).
    pub fn decode(&self, lat: &[u8]) -> Result<Decoded, Error> {
        let file = self.checked(lat)?;
        let header = *file.header();
        let [c, lh, lw] = [
            usize::from(header.latent_channels),
            usize::from(header.latent_height),
            usize::from(header.latent_width),
        ];
        self.decoder.prepare(&[1, c, lh, lw])?;
        let start = Instant::now();
        let symbols = self.entropy_decode(&file)?;
        self.render(header, symbols, start)
    }

    /// Decodes latent `symbols` (channel-major, the shape in `header`) to an image, as
    /// [`Codec::decode`] does after entropy decoding; for latents that did not come from one
    /// `.lat` file (reassembled packets with concealed slices).
    pub fn decode_latent(&self, header: Header, symbols: Vec<i32>) -> Result<Decoded, Error> {
        self.check_header(&header)?;
        if symbols.len() != header.latent_len() {
            return Err(LatError::Wire(latent_wire::WireError::ShapeMismatch {
                reason: "latent length is not channels x plane size",
            })
            .into());
        }
        let start = Instant::now();
        self.render(header, symbols, start)
    }

    fn render(&self, header: Header, symbols: Vec<i32>, start: Instant) -> Result<Decoded, Error> {
        let [c, lh, lw] = [
            usize::from(header.latent_channels),
            usize::from(header.latent_height),
            usize::from(header.latent_width),
        ];
        let latent = symbols.iter().map(|&v| v as f32).collect();
        let (shape, planes) = self.decoder.run(&[1, c, lh, lw], latent)?;
        let s = self.bundle.prior.stride;
        if shape != [1, 3, lh * s, lw * s] {
            return Err(self.bad_graph(
                "decoder.onnx",
                format!(
                    "output shape {shape:?}, expected {:?}",
                    [1, 3, lh * s, lw * s]
                ),
            ));
        }
        let rgb = interleaved_cropped(&planes, lh * s, lw * s, header.width, header.height);
        let image = if header.image_channels == 1 {
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).into_luma8())
        } else {
            DynamicImage::ImageRgb8(rgb)
        };
        Ok(Decoded {
            image,
            header,
            symbols,
            decode_ms: start.elapsed().as_secs_f64() * 1e3,
        })
    }
}

/// Planar `3 x ph x pw` floats in `[0, 1]`, edges replicated into the padding.
fn planar_padded(rgb: &RgbImage, ph: usize, pw: usize) -> Vec<f32> {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let raw = rgb.as_raw();
    let mut out = vec![0f32; 3 * ph * pw];
    for y in 0..ph {
        let sy = y.min(h - 1);
        for x in 0..pw {
            let sx = x.min(w - 1);
            let p = 3 * (sy * w + sx);
            for c in 0..3 {
                out[c * ph * pw + y * pw + x] = f32::from(raw[p + c]) / 255.0;
            }
        }
    }
    out
}

/// Interleaved 8-bit RGB of the top-left `width x height` of planar `3 x ph x pw` floats.
fn interleaved_cropped(planes: &[f32], ph: usize, pw: usize, width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let at = y as usize * pw + x as usize;
        image::Rgb(std::array::from_fn(|c| {
            (planes[c * ph * pw + at] * 255.0).round().clamp(0.0, 255.0) as u8
        }))
    })
}
