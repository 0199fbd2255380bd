//! The entropy model of a bundle: latent symbols to `.lat` bytes and back, with the bundle's
//! per-quality CDF tables, context rule and predictor. No graph is loaded, so re-slicing coded
//! bytes (packets) or checking a file costs no tract optimization.
//!
//! A hyperprior's payload is the length of z's coded bytes (LEB128), z's bytes (one table per z
//! channel), then the latent's: each value minus its mean (mean-scale models), coded with the
//! Gaussian table its scale names. Scales and means come from z through the integer
//! hyper-decoder, so both ends pick the same tables on every machine.

use latent_wire::container::{HEADER_LEN, Header, LatFile};
use latent_wire::symbols::{self, Context, Tables};

use crate::codec::hyper::HyperDecoder;
use crate::error::{Error, LatError};
use crate::limits::{Bound, Limits};
use crate::runtime::bundle::{HyperTables, ModelBundle, cdf_views, hex};

/// A latent as decoded: its symbols and, for a mean-scale hyperprior, each value's mean (the
/// decoder gets `symbol + mean`).
#[derive(Debug, Clone, PartialEq)]
pub struct Latent {
    /// Channel-major symbols.
    pub symbols: Vec<i32>,
    /// One mean per symbol, when the model predicts them.
    pub means: Option<Vec<f32>>,
}

/// A hyperprior's side information for one latent: each value's Gaussian table and mean.
struct Side {
    indexes: Vec<u8>,
    means: Option<Vec<f32>>,
}

/// A bundle's priors within limits on what `.lat` headers may ask for.
#[derive(Debug, Clone)]
pub struct EntropyModel {
    bundle: ModelBundle,
    limits: Limits,
}

impl EntropyModel {
    /// The entropy model of `bundle`, checking headers against `limits`.
    pub fn new(bundle: ModelBundle, limits: Limits) -> Self {
        Self { bundle, limits }
    }

    /// The model bundle.
    pub fn bundle(&self) -> &ModelBundle {
        &self.bundle
    }

    /// The limits headers are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Latent shape `[channels, height, width]` for a `width x height` image, within limits.
    pub fn latent_shape(&self, width: u32, height: u32) -> Result<[usize; 3], Error> {
        let s = self.bundle.prior.stride;
        let shape = [
            self.bundle.prior.latent_channels,
            (height as usize).div_ceil(s),
            (width as usize).div_ceil(s),
        ];
        if shape[1] > usize::from(u16::MAX) || shape[2] > usize::from(u16::MAX) {
            return Err(LatError::SideTooLong {
                width,
                height,
                max: u64::from(u16::MAX) * s as u64,
                stride: s,
            }
            .into());
        }
        let [c, h, w] = shape;
        self.limits.check(
            Bound::LatentElements,
            c as u64 * h as u64 * w as u64,
            format_args!("latent {c}x{h}x{w} of a {width}x{height} image"),
        )?;
        Ok(shape)
    }

    /// Validates a `.lat` file for this model: container, fingerprint, limits, latent shape.
    pub fn checked<'a>(&self, lat: &'a [u8]) -> Result<LatFile<'a>, Error> {
        let file = LatFile::parse(lat).map_err(LatError::Wire)?;
        self.check_header(file.header())?;
        Ok(file)
    }

    /// Checks that a `.lat` header fits this model: fingerprint, quality, limits, latent shape.
    pub fn check_header(&self, header: &Header) -> Result<(), Error> {
        if header.fingerprint != self.bundle.fingerprint {
            return Err(LatError::ModelMismatch {
                file: hex(&header.fingerprint),
                model: self.bundle.fingerprint_hex(),
            }
            .into());
        }
        self.bundle.prior.quality(header.quality)?;
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

    /// Entropy-decodes the latent symbols of a `.lat` file already [`checked`](Self::checked).
    pub fn symbols(&self, file: &LatFile) -> Result<Vec<i32>, Error> {
        Ok(self.latent(file)?.symbols)
    }

    /// Entropy-decodes the latent of a `.lat` file already [`checked`](Self::checked): its
    /// symbols and, for a mean-scale hyperprior, their means.
    pub fn latent(&self, file: &LatFile) -> Result<Latent, Error> {
        if let (Some(tables), Some(hyper)) = (&self.bundle.prior.hyperprior, &self.bundle.hyper) {
            return self.hyper_latent(file, tables, &hyper.decoder);
        }
        let h = file.header();
        let cdfs = self.bundle.cdfs(h.quality)?;
        let tables = self.bundle.tables(&cdfs, h)?;
        let mut latent = vec![0i32; h.latent_len()];
        symbols::decode(file.payload(), &tables, &mut latent).map_err(LatError::Wire)?;
        Ok(Latent {
            symbols: latent,
            means: None,
        })
    }

    fn hyper_latent(
        &self,
        file: &LatFile,
        tables: &HyperTables,
        decoder: &HyperDecoder,
    ) -> Result<Latent, Error> {
        let header = file.header();
        let payload = file.payload();
        let (z_len, at) = leb128(payload).ok_or(LatError::SideInfo("cut short"))?;
        let z_bytes = payload
            .get(at..)
            .and_then(|rest| rest.get(..z_len))
            .ok_or(LatError::SideInfo("longer than the payload"))?;
        let [zc, zh, zw] = z_shape(tables, header);
        let z_cdfs = cdf_views(&tables.z)?;
        let z_tables = Tables::new(&z_cdfs, Context::None, zw, zh).map_err(LatError::Wire)?;
        let mut z = vec![0i32; zc * zh * zw];
        symbols::decode(z_bytes, &z_tables, &mut z).map_err(LatError::Wire)?;
        let side = side(decoder, &z, [zh, zw], latent_dims(header))?;
        let cdfs = self.bundle.cdfs(header.quality)?;
        let (lw, lh) = (header.latent_width.into(), header.latent_height.into());
        let y_tables = Tables::indexed(&cdfs, &side.indexes, lw, lh).map_err(LatError::Wire)?;
        let mut latent = vec![0i32; header.latent_len()];
        symbols::decode(&payload[at + z_len..], &y_tables, &mut latent).map_err(LatError::Wire)?;
        Ok(Latent {
            symbols: latent,
            means: side.means,
        })
    }

    /// Validates a `.lat` file and entropy-decodes its latent symbols.
    pub fn decode_symbols(&self, lat: &[u8]) -> Result<(Header, Vec<i32>), Error> {
        let file = self.checked(lat)?;
        Ok((*file.header(), self.symbols(&file)?))
    }

    /// The `.lat` file of a hyperprior model's latent `y` (channel-major reals of the shape in
    /// `header`) with its side information `z` (channel-major symbols).
    pub fn encode_hyper(&self, header: &Header, z: &[i32], y: &[f32]) -> Result<Vec<u8>, Error> {
        let (Some(tables), Some(hyper)) = (&self.bundle.prior.hyperprior, &self.bundle.hyper)
        else {
            return Err(LatError::SideInfo("the model is not a hyperprior").into());
        };
        let [zc, zh, zw] = z_shape(tables, header);
        if z.len() != zc * zh * zw || y.len() != header.latent_len() {
            return Err(LatError::SideInfo("z or the latent is not the header's shape").into());
        }
        let z_cdfs = cdf_views(&tables.z)?;
        let z_tables = Tables::new(&z_cdfs, Context::None, zw, zh).map_err(LatError::Wire)?;
        let mut z_buf = vec![0u8; symbols::max_coded_len(z.len())];
        let z_bytes = symbols::encode(z, &z_tables, &mut z_buf).map_err(LatError::Wire)?;
        let side = side(&hyper.decoder, z, [zh, zw], latent_dims(header))?;
        // round(y − mean), ties to even as CompressAI's torch.round; `as` saturates.
        let latent: Vec<i32> = match &side.means {
            Some(means) => y
                .iter()
                .zip(means)
                .map(|(v, m)| (v - m).round_ties_even() as i32)
                .collect(),
            None => y.iter().map(|v| v.round_ties_even() as i32).collect(),
        };
        let cdfs = self.bundle.cdfs(header.quality)?;
        let (lw, lh) = (header.latent_width.into(), header.latent_height.into());
        let y_tables = Tables::indexed(&cdfs, &side.indexes, lw, lh).map_err(LatError::Wire)?;
        let mut y_buf = vec![0u8; symbols::max_coded_len(latent.len())];
        let y_bytes = symbols::encode(&latent, &y_tables, &mut y_buf).map_err(LatError::Wire)?;
        let mut payload = Vec::with_capacity(4 + z_bytes.len() + y_bytes.len());
        push_leb128(&mut payload, z_bytes.len())
            .ok_or(LatError::SideInfo("z takes 2^28 bytes or more"))?;
        payload.extend_from_slice(z_bytes);
        payload.extend_from_slice(y_bytes);
        let mut bytes = vec![0u8; HEADER_LEN + payload.len()];
        header.emit(&payload, &mut bytes).map_err(LatError::Wire)?;
        Ok(bytes)
    }

    /// The `.lat` file of `latent` (channel-major symbols of the shape in `header`), coded with
    /// the tables of `header`'s quality.
    pub fn encode(&self, header: &Header, latent: &[i32]) -> Result<Vec<u8>, Error> {
        let cdfs = self.bundle.cdfs(header.quality)?;
        let tables = self.bundle.tables(&cdfs, header)?;
        let mut buf = vec![0u8; symbols::max_coded_len(latent.len())];
        let payload = symbols::encode(latent, &tables, &mut buf).map_err(LatError::Wire)?;
        let mut bytes = vec![0u8; HEADER_LEN + payload.len()];
        header.emit(payload, &mut bytes).map_err(LatError::Wire)?;
        Ok(bytes)
    }
}

/// z's shape `[channels, height, width]` for the latent of `header`.
fn z_shape(tables: &HyperTables, header: &Header) -> [usize; 3] {
    let s = tables.z_stride;
    [
        tables.z_channels,
        usize::from(header.latent_height).div_ceil(s),
        usize::from(header.latent_width).div_ceil(s),
    ]
}

fn latent_dims(header: &Header) -> [usize; 3] {
    [
        header.latent_channels.into(),
        header.latent_height.into(),
        header.latent_width.into(),
    ]
}

/// Runs the hyper-decoder on z's symbols (`zh x zw` per channel) and takes, for the `[c, h, w]`
/// latent, each value's table index (of the first `c` output channels, the scales) and mean (the
/// next `c`, if there are).
fn side(
    decoder: &HyperDecoder,
    z: &[i32],
    [zh, zw]: [usize; 2],
    [c, h, w]: [usize; 3],
) -> Result<Side, Error> {
    let (out, [oc, oh, ow]) = decoder
        .run(z, zh, zw)
        .ok_or(LatError::SideInfo("the hyper-decoder leaves no output"))?;
    if oh < h || ow < w || (oc != c && oc != 2 * c) {
        return Err(
            LatError::SideInfo("the hyper-decoder's output does not cover the latent").into(),
        );
    }
    let crop = |first: usize| -> Vec<i32> {
        let mut v = Vec::with_capacity(c * h * w);
        for ch in first..first + c {
            for y in 0..h {
                let at = (ch * oh + y) * ow;
                v.extend_from_slice(&out[at..at + w]);
            }
        }
        v
    };
    Ok(Side {
        indexes: decoder.indexes(&crop(0)),
        means: (oc == 2 * c).then(|| crop(c).into_iter().map(|m| decoder.real(m)).collect()),
    })
}

/// Appends `n` as LEB128 (at most 4 bytes: `n < 2^28`); `None` when it does not fit.
fn push_leb128(out: &mut Vec<u8>, mut n: usize) -> Option<()> {
    if n >= 1 << 28 {
        return None;
    }
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    Some(())
}

/// A LEB128 unsigned number at the start of `bytes` (at most 4 bytes) and its length.
fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut n = 0usize;
    for (i, &b) in bytes.iter().take(4).enumerate() {
        n |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((n, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use latent_wire::container::EncoderPrecision;

    use super::*;

    #[test]
    fn symbols_round_trip_without_graphs() {
        let model = EntropyModel::new(ModelBundle::embedded().unwrap(), Limits::default());
        let [c, h, w] = model.latent_shape(40, 24).unwrap();
        let header = Header {
            quality: 3,
            image_channels: 3,
            precision: EncoderPrecision::F32,
            fingerprint: model.bundle().fingerprint,
            width: 40,
            height: 24,
            latent_channels: c as u16,
            latent_height: h as u16,
            latent_width: w as u16,
        };
        let latent: Vec<i32> = (0..c * h * w).map(|i| (i % 7) as i32 - 3).collect();
        let lat = model.encode(&header, &latent).unwrap();
        assert_eq!(model.decode_symbols(&lat).unwrap(), (header, latent));
        let other = Header {
            fingerprint: [0; 8],
            ..header
        };
        let err = model.check_header(&other).unwrap_err();
        assert!(
            matches!(err, Error::Lat(LatError::ModelMismatch { .. })),
            "{err}"
        );
    }
}
