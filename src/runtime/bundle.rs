//! Model bundles: encoder and decoder ONNX graphs plus the prior's integer CDF tables.
//!
//! A bundle directory holds `encoder.onnx` (image `1x3xHxW` in `[0, 1]`, or `1x1xHxW` for a gray
//! model → μ `1xCx(H/s)x(W/s)`), `decoder.onnx` (latent → image) and `prior.json` (name, latent
//! channels, stride `s`, colours, CDF precision, and per quality level per-channel gains and
//! `{offset, cdf}` tables; a single-rate prior has one list of tables and no gains), and optionally
//! `encoder.int8.onnx` and `decoder.int8.onnx`, the int8 graphs of the same model
//! (`models/quantize.py`). A hyperprior bundle adds `hyper_encoder.onnx` (latent → side
//! information z) and `hyper.json` (the integer hyper-decoder, [`crate::codec::hyper`]); its
//! `prior.json` holds the Gaussian tables as `channels` and z's tables under `hyperprior`. Two
//! bundles are compiled in: the default (colour) and a gray one.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use latent_wire::WireError;
use latent_wire::cdf::{Cdf, PRECISION};
use latent_wire::container::Header;
use latent_wire::predict::Predictor;
use latent_wire::symbols::{Context, Tables};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::codec::hyper::{HYPER_FILE, HyperDecoder};
use crate::error::{BundleError, LatError};
use crate::limits::Limits;
use crate::runtime::precision::Precision;

/// File names inside a bundle directory.
pub const ENCODER_FILE: &str = "encoder.onnx";
/// See [`ENCODER_FILE`].
pub const DECODER_FILE: &str = "decoder.onnx";
/// See [`ENCODER_FILE`].
pub const PRIOR_FILE: &str = "prior.json";
/// See [`ENCODER_FILE`] (optional).
pub const ENCODER_INT8_FILE: &str = "encoder.int8.onnx";
/// See [`ENCODER_FILE`] (optional).
pub const DECODER_INT8_FILE: &str = "decoder.int8.onnx";
/// See [`ENCODER_FILE`] (hyperprior bundles).
pub const HYPER_ENCODER_FILE: &str = "hyper_encoder.onnx";

/// Where the compiled-in colour bundle's files are in the repository.
pub const EMBEDDED_DIR: &str = "models/codec-v5";
/// Where the compiled-in gray bundle's files are in the repository.
pub const EMBEDDED_GRAY_DIR: &str = "models/codec-gray";

/// The five files of a bundle folder under `models/`, compiled in.
macro_rules! embedded_files {
    ($dir:literal) => {
        EmbeddedFiles {
            encoder: include_bytes!(concat!("../../models/", $dir, "/encoder.onnx")),
            decoder: include_bytes!(concat!("../../models/", $dir, "/decoder.onnx")),
            prior: include_bytes!(concat!("../../models/", $dir, "/prior.json")),
            encoder_int8: include_bytes!(concat!("../../models/", $dir, "/encoder.int8.onnx")),
            decoder_int8: include_bytes!(concat!("../../models/", $dir, "/decoder.int8.onnx")),
        }
    };
}

/// A compiled-in bundle's bytes.
struct EmbeddedFiles {
    encoder: &'static [u8],
    decoder: &'static [u8],
    prior: &'static [u8],
    encoder_int8: &'static [u8],
    decoder_int8: &'static [u8],
}

const COLOUR_FILES: EmbeddedFiles = embedded_files!("codec-v5");
const GRAY_FILES: EmbeddedFiles = embedded_files!("codec-gray");

/// The codec models compiled in: one for colour pictures, one for gray ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedded {
    /// codec-v5 ([`EMBEDDED_DIR`]): RGB pictures (a gray one too, through its three channels).
    Colour,
    /// codec-gray ([`EMBEDDED_GRAY_DIR`]): gray pictures only.
    Gray,
}

impl Embedded {
    /// Both, colour first.
    pub const ALL: [Self; 2] = [Self::Colour, Self::Gray];

    /// The one made for a picture that is gray or not.
    pub fn for_picture(gray: bool) -> Self {
        if gray { Self::Gray } else { Self::Colour }
    }

    /// Its folder in the repository.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Colour => EMBEDDED_DIR,
            Self::Gray => EMBEDDED_GRAY_DIR,
        }
    }

    /// Its fingerprint (see [`ModelBundle::fingerprint`]), without parsing its prior.
    pub fn fingerprint(self) -> [u8; 8] {
        static CACHE: [OnceLock<[u8; 8]>; 2] = [OnceLock::new(), OnceLock::new()];
        *CACHE[self as usize].get_or_init(|| {
            let files = self.files();
            fingerprint(&[files.encoder, files.decoder, files.prior])
        })
    }

    fn files(self) -> &'static EmbeddedFiles {
        match self {
            Self::Colour => &COLOUR_FILES,
            Self::Gray => &GRAY_FILES,
        }
    }
}

/// Most latent channels a hyperprior may declare (its tables do not bound them).
const MAX_LATENT_CHANNELS: usize = 4096;

/// Highest quality level a prior may offer (`--quality 1..=MAX_QUALITY`).
pub const MAX_QUALITY: u8 = 8;

/// The quality of a single-rate prior (one `channels` list, no gains).
pub const SINGLE_RATE_QUALITY: u8 = 4;

/// The learned prior: per quality level, per-channel gains and CDF tables, one per channel or,
/// with a neighbour context, [`latent_wire::symbols::CONTEXT_CLASSES`] per channel.
#[derive(Debug, Clone)]
pub struct Prior {
    /// Model name.
    pub name: String,
    /// Latent channels (= tables per quality level).
    pub latent_channels: usize,
    /// Downsampling factor between image and latent.
    pub stride: usize,
    /// Channels of the pictures it codes: 3 (RGB), or 1 (gray only; `"colours": 1` in prior.json).
    pub colours: usize,
    /// Bits of CDF precision (16).
    pub cdf_precision: u32,
    /// How a symbol's table is picked (`"context": "neighbours"` in prior.json; none by default).
    pub context: Context,
    /// The quality `compress` uses when none is asked for.
    pub default_quality: u8,
    /// Quality levels, ascending.
    pub qualities: Vec<QualityLevel>,
    /// A hyperprior's side information: then the one level's `channels` are the Gaussian
    /// tables its hyper-decoder's scales index, shared by all latent channels.
    pub hyperprior: Option<HyperTables>,
}

/// The side information z of a hyperprior prior (`"hyperprior"` in prior.json).
#[derive(Debug, Clone, Deserialize)]
pub struct HyperTables {
    /// Channels of z.
    pub z_channels: usize,
    /// Downsampling between the latent and z: z is `ceil(h / z_stride) x ceil(w / z_stride)`.
    pub z_stride: usize,
    /// One table per z channel.
    pub z: Vec<ChannelTable>,
}

/// One rate point: the encoder codes `round(μ · gain)`, the decoder gets `symbol · inverse_gain`
/// (per channel), and the symbols are entropy coded with this level's tables.
#[derive(Debug, Clone, Deserialize)]
pub struct QualityLevel {
    /// 1 (smallest files) ..= [`MAX_QUALITY`] (best pictures).
    pub quality: u8,
    /// Per-channel gain applied to μ before rounding.
    pub gain: Vec<f32>,
    /// Per-channel gain applied to the integer symbols before the decoder.
    pub inverse_gain: Vec<f32>,
    /// The tables: per channel, or per channel and context class (channel-major).
    pub channels: Vec<ChannelTable>,
    /// Integer weights whose guess is taken off each symbol before it is coded, if any.
    pub predictor: Option<PredictorWeights>,
}

/// A level's predictor (see [`latent_wire::predict::Predictor`]): four weights per channel and
/// the power of two they are scaled by.
#[derive(Debug, Clone, Deserialize)]
pub struct PredictorWeights {
    /// The guess is `(Σ weight · value + 2^(shift−1)) >> shift`.
    pub shift: u32,
    /// Channel after channel: left, top, top-left, top-right.
    pub weights: Vec<i16>,
}

impl PredictorWeights {
    /// The validated view, made for `channels` channels.
    fn view(&self, channels: usize) -> Result<Predictor<'_>, WireError> {
        let predictor = Predictor::new(&self.weights, self.shift)?;
        if predictor.channels() != channels {
            return Err(WireError::ShapeMismatch {
                reason: "predictor weights are not 4 per latent channel",
            });
        }
        Ok(predictor)
    }
}

/// `prior.json` as written: a variable-rate prior lists `qualities`, a single-rate one
/// (stage 1 of the training recipe) lists `channels` (and its `predictor`, if any) only.
#[derive(Deserialize)]
struct PriorFile {
    name: String,
    latent_channels: usize,
    stride: usize,
    colours: Option<usize>,
    cdf_precision: u32,
    context: Option<String>,
    default_quality: Option<u8>,
    channels: Option<Vec<ChannelTable>>,
    predictor: Option<PredictorWeights>,
    qualities: Option<Vec<QualityLevel>>,
    hyperprior: Option<HyperTables>,
}

impl Prior {
    /// Parses and validates `prior.json` (tables, gains, quality numbers).
    fn parse(json: &[u8]) -> Result<Self, String> {
        let file: PriorFile = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let c = file.latent_channels;
        let context = match file.context.as_deref() {
            None => Context::None,
            Some("neighbours") => Context::Neighbours,
            Some("neighbours+channels") => Context::NeighboursAndChannels,
            Some(other) => {
                return Err(format!(
                    "unknown context {other:?} (known: \"neighbours\", \"neighbours+channels\")"
                ));
            }
        };
        let qualities = match (file.channels, file.qualities) {
            // Checked before the unit gains are allocated: `latent_channels` is untrusted.
            (Some(_), None) if file.hyperprior.is_some() && c > MAX_LATENT_CHANNELS => {
                return Err(format!("{c} latent channels, over {MAX_LATENT_CHANNELS}"));
            }
            (Some(channels), None)
                if file.hyperprior.is_none()
                    && Some(channels.len()) != c.checked_mul(context.classes()) =>
            {
                return Err(format!(
                    "{} CDF tables for {c} latent channels{}",
                    channels.len(),
                    per_channel(context)
                ));
            }
            (Some(channels), None) => vec![QualityLevel {
                quality: SINGLE_RATE_QUALITY,
                gain: vec![1.0; c],
                inverse_gain: vec![1.0; c],
                channels,
                predictor: file.predictor,
            }],
            (None, Some(levels)) if file.predictor.is_none() => levels,
            _ => {
                return Err(
                    "needs exactly one of `channels` and `qualities` (a top-level `predictor` goes with `channels`)".into(),
                );
            }
        };
        let default_quality = file.default_quality.unwrap_or(SINGLE_RATE_QUALITY);
        let prior = Self {
            name: file.name,
            latent_channels: c,
            stride: file.stride,
            colours: file.colours.unwrap_or(3),
            cdf_precision: file.cdf_precision,
            context,
            default_quality,
            qualities,
            hyperprior: file.hyperprior,
        };
        prior.validate()?;
        Ok(prior)
    }

    fn validate(&self) -> Result<(), String> {
        if self.cdf_precision != PRECISION {
            return Err(format!(
                "cdf_precision is {}, this runtime codes with {PRECISION}",
                self.cdf_precision
            ));
        }
        if self.latent_channels == 0 {
            return Err("0 latent channels".into());
        }
        if !(1..=256).contains(&self.stride) {
            return Err(format!("stride {} outside 1..=256", self.stride));
        }
        if !matches!(self.colours, 1 | 3) {
            return Err(format!(
                "colours {} is neither 1 (gray) nor 3 (RGB)",
                self.colours
            ));
        }
        if self.qualities.is_empty() {
            return Err("no quality levels".into());
        }
        let mut previous = 0;
        for level in &self.qualities {
            let q = level.quality;
            if !(1..=MAX_QUALITY).contains(&q) || q <= previous {
                return Err(format!(
                    "quality {q}: levels must ascend within 1..={MAX_QUALITY}"
                ));
            }
            previous = q;
            let c = self.latent_channels;
            let tables = match self.hyperprior {
                None => c.checked_mul(self.context.classes()),
                Some(_) => Some(level.channels.len()),
            };
            if Some(level.channels.len()) != tables
                || level.gain.len() != c
                || level.inverse_gain.len() != c
            {
                return Err(format!(
                    "quality {q}: {} CDF tables, {} gains and {} inverse gains for {c} latent channels{}",
                    level.channels.len(),
                    level.gain.len(),
                    level.inverse_gain.len(),
                    per_channel(self.context)
                ));
            }
            let positive = |g: &f32| g.is_finite() && *g > 0.0;
            if !level.gain.iter().all(positive) || !level.inverse_gain.iter().all(positive) {
                return Err(format!("quality {q}: gains must be finite and positive"));
            }
            if let Some(p) = &level.predictor {
                p.view(c)
                    .map_err(|e| format!("quality {q} predictor: {e}"))?;
            }
            let k = self.context.classes();
            for (i, t) in level.channels.iter().enumerate() {
                Cdf::new(t.offset, &t.cdf).map_err(|e| match k {
                    1 => format!("quality {q} channel {i}: {e}"),
                    k => format!("quality {q} channel {} class {}: {e}", i / k, i % k),
                })?;
            }
        }
        if let Some(hyper) = &self.hyperprior {
            self.validate_hyperprior(hyper)?;
        }
        if self.level(self.default_quality).is_none() {
            return Err(format!(
                "default_quality {} is not one of its levels",
                self.default_quality
            ));
        }
        Ok(())
    }

    fn validate_hyperprior(&self, hyper: &HyperTables) -> Result<(), String> {
        if self.context != Context::None || self.qualities.len() != 1 {
            return Err("a hyperprior has one level and no context".into());
        }
        let level = &self.qualities[0];
        if level.predictor.is_some() {
            return Err("a hyperprior takes no predictor".into());
        }
        if level.channels.is_empty() || level.channels.len() > 256 {
            return Err(format!(
                "{} Gaussian tables, not 1..=256",
                level.channels.len()
            ));
        }
        if !(1..=16).contains(&hyper.z_stride) {
            return Err(format!(
                "hyperprior z_stride {} outside 1..=16",
                hyper.z_stride
            ));
        }
        if hyper.z_channels == 0 || hyper.z.len() != hyper.z_channels {
            return Err(format!(
                "hyperprior: {} z tables for {} z channels",
                hyper.z.len(),
                hyper.z_channels
            ));
        }
        for (i, t) in hyper.z.iter().enumerate() {
            Cdf::new(t.offset, &t.cdf).map_err(|e| format!("hyperprior z channel {i}: {e}"))?;
        }
        Ok(())
    }

    /// The level numbered `quality`, if this prior offers it.
    pub fn level(&self, quality: u8) -> Option<&QualityLevel> {
        self.qualities.iter().find(|l| l.quality == quality)
    }

    /// The level numbered `quality`, or [`crate::Error::Quality`] naming those offered.
    pub fn quality(&self, quality: u8) -> Result<&QualityLevel, crate::Error> {
        self.level(quality).ok_or_else(|| crate::Error::Quality {
            requested: quality,
            supported: self.quality_numbers(),
        })
    }

    /// The quality numbers offered, ascending.
    pub fn quality_numbers(&self) -> Vec<u8> {
        self.qualities.iter().map(|l| l.quality).collect()
    }
}

/// How many tables per channel a context needs, for messages.
fn per_channel(context: Context) -> String {
    match context.classes() {
        1 => String::new(),
        k => format!(" ({k} tables per channel with context {context:?})"),
    }
}

/// One channel's CDF (see [`latent_wire::cdf::Cdf`]).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ChannelTable {
    /// Value of symbol 0.
    pub offset: i32,
    /// Cumulative frequencies, `0 ..= 2^16`, last interval the escape symbol.
    pub cdf: Vec<u32>,
}

/// A loaded, validated model bundle.
#[derive(Debug, Clone)]
pub struct ModelBundle {
    /// Where it came from ("embedded", "embedded (gray)" or the directory).
    pub source: String,
    /// Encoder ONNX bytes.
    pub encoder_onnx: Cow<'static, [u8]>,
    /// Decoder ONNX bytes.
    pub decoder_onnx: Cow<'static, [u8]>,
    /// The int8 graphs (encoder, decoder), when the bundle has them.
    pub int8: Option<Int8Graphs>,
    /// The prior.
    pub prior: Prior,
    /// A hyperprior model's side-information parts.
    pub hyper: Option<Hyperprior>,
    /// First 8 bytes of SHA-256 over the f32 encoder, decoder and prior bytes (and a hyperprior's
    /// hyper-encoder and hyper.json): the int8 graphs are a variant of the same model, and a
    /// `.lat` made at any precision decodes at any other.
    pub fingerprint: [u8; 8],
}

/// The side-information parts of a hyperprior bundle.
#[derive(Debug, Clone)]
pub struct Hyperprior {
    /// `hyper_encoder.onnx` bytes: latent → z (before rounding).
    pub encoder_onnx: Cow<'static, [u8]>,
    /// The integer hyper-decoder (`hyper.json`): z's symbols → each latent value's scale (and
    /// mean).
    pub decoder: HyperDecoder,
}

/// One of a bundle's two graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Image → μ.
    Encoder,
    /// Latent → image.
    Decoder,
    /// Latent → a hyperprior's side information.
    HyperEncoder,
}

/// The int8 graphs of a bundle.
#[derive(Debug, Clone)]
pub struct Int8Graphs {
    /// `encoder.int8.onnx` bytes.
    pub encoder_onnx: Cow<'static, [u8]>,
    /// `decoder.int8.onnx` bytes.
    pub decoder_onnx: Cow<'static, [u8]>,
}

impl ModelBundle {
    /// The default photo codec compiled into the binary ([`Embedded::Colour`]).
    pub fn embedded() -> Result<Self, BundleError> {
        Self::compiled_in(Embedded::Colour)
    }

    /// One of the bundles compiled into the binary.
    pub fn compiled_in(which: Embedded) -> Result<Self, BundleError> {
        let files = which.files();
        let name = match which {
            Embedded::Colour => "embedded",
            Embedded::Gray => "embedded (gray)",
        };
        let mut bundle = Self::assemble(
            name.into(),
            Cow::Borrowed(files.encoder),
            Cow::Borrowed(files.decoder),
            files.prior,
            which.fingerprint(),
            None,
        )?;
        bundle.int8 = Some(Int8Graphs {
            encoder_onnx: Cow::Borrowed(files.encoder_int8),
            decoder_onnx: Cow::Borrowed(files.decoder_int8),
        });
        Ok(bundle)
    }

    /// Loads the bundle in directory `dir`; files over `limits` are refused unread.
    pub fn from_dir(dir: &Path, limits: &Limits) -> Result<Self, crate::Error> {
        let encoder = read_file(dir, ENCODER_FILE, limits)?;
        let decoder = read_file(dir, DECODER_FILE, limits)?;
        let prior = read_file(dir, PRIOR_FILE, limits)?;
        let source = dir.display().to_string();
        let mut bundle = if dir.join(HYPER_FILE).exists() || dir.join(HYPER_ENCODER_FILE).exists() {
            let hyper_encoder = read_file(dir, HYPER_ENCODER_FILE, limits)?;
            let hyper_json = read_file(dir, HYPER_FILE, limits)?;
            let fingerprint =
                fingerprint(&[&encoder, &decoder, &prior, &hyper_encoder, &hyper_json]);
            let hyper = Hyperprior {
                encoder_onnx: Cow::Owned(hyper_encoder),
                decoder: HyperDecoder::parse(&source, &hyper_json)?,
            };
            Self::assemble(
                source,
                Cow::Owned(encoder),
                Cow::Owned(decoder),
                &prior,
                fingerprint,
                Some(hyper),
            )?
        } else {
            Self::from_bytes(source, Cow::Owned(encoder), Cow::Owned(decoder), &prior)?
        };
        if dir.join(ENCODER_INT8_FILE).exists() || dir.join(DECODER_INT8_FILE).exists() {
            bundle.int8 = Some(Int8Graphs {
                encoder_onnx: Cow::Owned(read_file(dir, ENCODER_INT8_FILE, limits)?),
                decoder_onnx: Cow::Owned(read_file(dir, DECODER_INT8_FILE, limits)?),
            });
        }
        Ok(bundle)
    }

    /// A bundle from its files' bytes: the prior is parsed and its CDF tables validated; the
    /// graphs are only fingerprinted here (they load in [`crate::Codec::new`]).
    pub fn from_bytes(
        source: String,
        encoder_onnx: Cow<'static, [u8]>,
        decoder_onnx: Cow<'static, [u8]>,
        prior_json: &[u8],
    ) -> Result<Self, BundleError> {
        let fingerprint = fingerprint(&[&encoder_onnx, &decoder_onnx, prior_json]);
        Self::assemble(
            source,
            encoder_onnx,
            decoder_onnx,
            prior_json,
            fingerprint,
            None,
        )
    }

    /// [`Self::from_bytes`] with the fingerprint of the files known, and a hyperprior's parts.
    fn assemble(
        source: String,
        encoder_onnx: Cow<'static, [u8]>,
        decoder_onnx: Cow<'static, [u8]>,
        prior_json: &[u8],
        fingerprint: [u8; 8],
        hyper: Option<Hyperprior>,
    ) -> Result<Self, BundleError> {
        let bad = |reason: String| BundleError::BadPrior {
            source_name: source.clone(),
            reason,
        };
        let prior = Prior::parse(prior_json).map_err(bad)?;
        match (&prior.hyperprior, &hyper) {
            (None, None) => {}
            (Some(tables), Some(hyper)) => {
                fits_hyper_decoder(&prior, tables, &hyper.decoder).map_err(bad)?
            }
            (Some(_), None) => {
                return Err(bad(format!(
                    "a hyperprior without {HYPER_ENCODER_FILE} and {HYPER_FILE}"
                )));
            }
            (None, Some(_)) => {
                return Err(bad(format!(
                    "no \"hyperprior\" tables for {HYPER_ENCODER_FILE} and {HYPER_FILE}"
                )));
            }
        }
        Ok(Self {
            source,
            encoder_onnx,
            decoder_onnx,
            int8: None,
            prior,
            hyper,
            fingerprint,
        })
    }

    /// The CDF tables of `quality` (validated when the bundle loaded), for [`Self::tables`].
    pub fn cdfs(&self, quality: u8) -> Result<Vec<Cdf<'_>>, crate::Error> {
        cdf_views(&self.prior.quality(quality)?.channels)
    }

    /// The coding tables of a latent shaped as `header` says, over `cdfs` (its level's tables),
    /// with the level's predictor if it has one.
    /// A hyperprior's values take tables picked by side information: refused with
    /// [`LatError::Hyperprior`], naming `what` needed them.
    pub fn tables<'t, 'c>(
        &'t self,
        cdfs: &'t [Cdf<'c>],
        header: &Header,
    ) -> Result<Tables<'t, 'c>, crate::Error> {
        if self.hyper.is_some() {
            return Err(
                LatError::Hyperprior("coding the latent without its side information").into(),
            );
        }
        let (w, h) = (header.latent_width.into(), header.latent_height.into());
        let wire = |e| crate::error::LatError::Wire(e).into();
        let tables = Tables::new(cdfs, self.prior.context, w, h).map_err(wire)?;
        match &self.prior.quality(header.quality)?.predictor {
            Some(p) => tables
                .with_predictor(p.view(self.prior.latent_channels).map_err(wire)?)
                .map_err(wire),
            None => Ok(tables),
        }
    }

    /// The file name and bytes of `role`'s graph at `precision` (f16 runs the f32 graph,
    /// translated); `None` for int8 when the bundle has no int8 graphs.
    pub fn graph(&self, role: Role, precision: Precision) -> Option<(&'static str, &[u8])> {
        Some(match (role, precision) {
            (Role::Encoder, Precision::Int8) => {
                (ENCODER_INT8_FILE, &self.int8.as_ref()?.encoder_onnx)
            }
            (Role::Decoder, Precision::Int8) => {
                (DECODER_INT8_FILE, &self.int8.as_ref()?.decoder_onnx)
            }
            (Role::Encoder, Precision::F32 | Precision::F16) => (ENCODER_FILE, &self.encoder_onnx),
            (Role::Decoder, Precision::F32 | Precision::F16) => (DECODER_FILE, &self.decoder_onnx),
            (Role::HyperEncoder, Precision::Int8) => return None,
            (Role::HyperEncoder, Precision::F32 | Precision::F16) => {
                (HYPER_ENCODER_FILE, &self.hyper.as_ref()?.encoder_onnx)
            }
        })
    }

    /// Fingerprint as 16 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        hex(&self.fingerprint)
    }
}

/// The coder's views of `tables` (validated when their bundle loaded).
pub fn cdf_views(tables: &[ChannelTable]) -> Result<Vec<Cdf<'_>>, crate::Error> {
    tables
        .iter()
        .map(|t| Cdf::new(t.offset, &t.cdf))
        .collect::<Result<_, WireError>>()
        .map_err(|e| LatError::Wire(e).into())
}

/// Checks that a hyperprior's tables fit its hyper-decoder: z's channels are its input, the
/// Gaussian tables are its scale table's, and it gives a scale (or a scale and a mean) per
/// latent channel.
fn fits_hyper_decoder(
    prior: &Prior,
    tables: &HyperTables,
    decoder: &HyperDecoder,
) -> Result<(), String> {
    if decoder.input_channels() != tables.z_channels {
        return Err(format!(
            "{HYPER_FILE} takes {} channels, z has {}",
            decoder.input_channels(),
            tables.z_channels
        ));
    }
    let gaussian = prior.qualities[0].channels.len();
    if decoder.scale_table_len() != gaussian {
        return Err(format!(
            "{gaussian} Gaussian tables for the {} scales of {HYPER_FILE}",
            decoder.scale_table_len()
        ));
    }
    let out = decoder.output_channels();
    if out != prior.latent_channels && out != 2 * prior.latent_channels {
        return Err(format!(
            "{HYPER_FILE} gives {out} channels: neither the {} latent channels' scales nor their scales and means",
            prior.latent_channels
        ));
    }
    Ok(())
}

/// Reads `file` from the bundle directory `dir` within `limits`; a missing file is a
/// [`BundleError::MissingFile`] naming both.
pub fn read_file(dir: &Path, file: &'static str, limits: &Limits) -> Result<Vec<u8>, crate::Error> {
    limits.read_file(&dir.join(file)).map_err(|e| match e {
        crate::Error::Io(io) if io.source.kind() == std::io::ErrorKind::NotFound => {
            BundleError::MissingFile {
                dir: dir.to_path_buf(),
                file,
            }
            .into()
        }
        e => e,
    })
}

/// The first 8 bytes of the SHA-256 of `parts` one after the other: a model's identity.
pub fn fingerprint(parts: &[&[u8]]) -> [u8; 8] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.finalize()[..8]);
    first
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
