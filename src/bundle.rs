//! Model bundles: encoder and decoder ONNX graphs plus the prior's integer CDF tables.
//!
//! A bundle directory holds `encoder.onnx` (image `1x3xHxW` in `[0, 1]` → μ `1xCx(H/s)x(W/s)`),
//! `decoder.onnx` (latent → image) and `prior.json` (name, latent channels, stride `s`,
//! CDF precision, one `{offset, cdf}` table per channel), and optionally `encoder.int8.onnx` and
//! `decoder.int8.onnx`, the int8 graphs of the same model (`models/quantize.py`). The default
//! bundle is compiled in.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

use latent_wire::WireError;
use latent_wire::cdf::{Cdf, PRECISION};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::BundleError;
use crate::limits::Limits;
use crate::precision::Precision;

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

const EMBEDDED_ENCODER: &[u8] = include_bytes!("../models/codec/encoder.onnx");
const EMBEDDED_DECODER: &[u8] = include_bytes!("../models/codec/decoder.onnx");
const EMBEDDED_PRIOR: &[u8] = include_bytes!("../models/codec/prior.json");
const EMBEDDED_ENCODER_INT8: &[u8] = include_bytes!("../models/codec/encoder.int8.onnx");
const EMBEDDED_DECODER_INT8: &[u8] = include_bytes!("../models/codec/decoder.int8.onnx");

/// The learned prior: one CDF table per latent channel.
#[derive(Debug, Clone, Deserialize)]
pub struct Prior {
    /// Model name.
    pub name: String,
    /// Latent channels (= number of tables).
    pub latent_channels: usize,
    /// Downsampling factor between image and latent.
    pub stride: usize,
    /// Bits of CDF precision (16).
    pub cdf_precision: u32,
    /// Per-channel tables.
    pub channels: Vec<ChannelTable>,
}

/// One channel's CDF (see [`latent_wire::cdf::Cdf`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelTable {
    /// Value of symbol 0.
    pub offset: i32,
    /// Cumulative frequencies, `0 ..= 2^16`, last interval the escape symbol.
    pub cdf: Vec<u32>,
}

/// A loaded, validated model bundle.
#[derive(Debug, Clone)]
pub struct ModelBundle {
    /// Where it came from ("embedded" or the directory).
    pub source: String,
    /// Encoder ONNX bytes.
    pub encoder_onnx: Cow<'static, [u8]>,
    /// Decoder ONNX bytes.
    pub decoder_onnx: Cow<'static, [u8]>,
    /// The int8 graphs (encoder, decoder), when the bundle has them.
    pub int8: Option<Int8Graphs>,
    /// The prior.
    pub prior: Prior,
    /// First 8 bytes of SHA-256 over the f32 encoder, decoder and prior bytes: the int8 graphs
    /// are a variant of the same model, and a `.lat` made at any precision decodes at any other.
    pub fingerprint: [u8; 8],
}

/// One of a bundle's two graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Image → μ.
    Encoder,
    /// Latent → image.
    Decoder,
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
    /// The default photo codec compiled into the binary.
    pub fn embedded() -> Result<Self, BundleError> {
        let mut bundle = Self::from_bytes(
            "embedded".into(),
            Cow::Borrowed(EMBEDDED_ENCODER),
            Cow::Borrowed(EMBEDDED_DECODER),
            EMBEDDED_PRIOR,
        )?;
        bundle.int8 = Some(Int8Graphs {
            encoder_onnx: Cow::Borrowed(EMBEDDED_ENCODER_INT8),
            decoder_onnx: Cow::Borrowed(EMBEDDED_DECODER_INT8),
        });
        Ok(bundle)
    }

    /// Loads the bundle in directory `dir`; files over `limits` are refused unread.
    pub fn from_dir(dir: &Path, limits: &Limits) -> Result<Self, crate::Error> {
        let encoder = read_file(dir, ENCODER_FILE, limits)?;
        let decoder = read_file(dir, DECODER_FILE, limits)?;
        let prior = read_file(dir, PRIOR_FILE, limits)?;
        let mut bundle = Self::from_bytes(
            dir.display().to_string(),
            Cow::Owned(encoder),
            Cow::Owned(decoder),
            &prior,
        )?;
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
        let bad = |reason: String| BundleError::BadPrior {
            source_name: source.clone(),
            reason,
        };
        let prior: Prior = serde_json::from_slice(prior_json).map_err(|e| bad(e.to_string()))?;
        if prior.cdf_precision != PRECISION {
            return Err(bad(format!(
                "cdf_precision is {}, this runtime codes with {PRECISION}",
                prior.cdf_precision
            )));
        }
        if prior.channels.len() != prior.latent_channels || prior.latent_channels == 0 {
            return Err(bad(format!(
                "{} CDF tables for {} latent channels",
                prior.channels.len(),
                prior.latent_channels
            )));
        }
        if !(1..=256).contains(&prior.stride) {
            return Err(bad(format!("stride {} outside 1..=256", prior.stride)));
        }
        for (c, t) in prior.channels.iter().enumerate() {
            Cdf::new(t.offset, &t.cdf).map_err(|e| bad(format!("channel {c}: {e}")))?;
        }
        let mut hash = Sha256::new();
        hash.update(&encoder_onnx);
        hash.update(&decoder_onnx);
        hash.update(prior_json);
        let fingerprint = hash.finalize()[..8]
            .try_into()
            .expect("SHA-256 has 32 bytes");
        Ok(Self {
            source,
            encoder_onnx,
            decoder_onnx,
            int8: None,
            prior,
            fingerprint,
        })
    }

    /// The validated CDF tables, one per latent channel.
    pub fn cdfs(&self) -> Result<Vec<Cdf<'_>>, WireError> {
        self.prior
            .channels
            .iter()
            .map(|t| Cdf::new(t.offset, &t.cdf))
            .collect()
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
        })
    }

    /// Fingerprint as 16 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        hex(&self.fingerprint)
    }
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

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
