//! The entropy model of a bundle: latent symbols to `.lat` bytes and back, with the bundle's
//! per-quality CDF tables, context rule and predictor. No graph is loaded, so re-slicing coded
//! bytes (packets) or checking a file costs no tract optimization.

use latent_wire::container::{HEADER_LEN, Header, LatFile};
use latent_wire::symbols;

use crate::error::{Error, LatError};
use crate::limits::{Bound, Limits};
use crate::runtime::bundle::{ModelBundle, hex};

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
        let h = file.header();
        let cdfs = self.bundle.cdfs(h.quality)?;
        let tables = self.bundle.tables(&cdfs, h)?;
        let mut latent = vec![0i32; h.latent_len()];
        symbols::decode(file.payload(), &tables, &mut latent).map_err(LatError::Wire)?;
        Ok(latent)
    }

    /// Validates a `.lat` file and entropy-decodes its latent symbols.
    pub fn decode_symbols(&self, lat: &[u8]) -> Result<(Header, Vec<i32>), Error> {
        let file = self.checked(lat)?;
        Ok((*file.header(), self.symbols(&file)?))
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
