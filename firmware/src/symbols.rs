//! Coding a quantized latent tensor (channel-major, `C x H x W`) with one CDF table per channel.
//!
//! A value inside its table's range is one symbol. A value outside it is the escape symbol,
//! then a side bit (below / above the range), 6 bits holding `n - 1` where `n` is the bit length
//! of the distance `d >= 1` to the range, then the `n - 1` low bits of `d` in 16-bit chunks
//! (least significant chunk first).

use crate::WireError;
use crate::cdf::Cdf;
use crate::rans::{Decoder, Encoder};

/// Worst-case coded size of `elements` latent values, for sizing the encoder's buffer.
pub const fn max_coded_len(elements: usize) -> usize {
    // Per value: escape symbol (< 2 bytes at 16-bit precision) + 1 + 6 + 32 side bits.
    elements * 8 + 8
}

/// Positions `first .. first + count` of each channel's plane: a run of latent positions in
/// raster order, all channels. The unit of an independently decodable slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First position (`y * width + x`).
    pub first: usize,
    /// Number of positions.
    pub count: usize,
}

impl Span {
    /// Checks that the span lies inside a plane of `plane` positions, and that `len` is a
    /// whole number of `tables.len()` planes.
    fn check(&self, len: usize, tables: &[Cdf], plane: usize) -> Result<(), WireError> {
        if plane == 0 || len != tables.len() * plane {
            return Err(WireError::ShapeMismatch {
                reason: "latent length is not channels x plane size",
            });
        }
        if self.count == 0
            || self
                .first
                .checked_add(self.count)
                .is_none_or(|end| end > plane)
        {
            return Err(WireError::ShapeMismatch {
                reason: "span outside the latent plane",
            });
        }
        Ok(())
    }

    /// Latent indices of the span, channel-major (the coding order).
    fn indices(
        self,
        channels: usize,
        plane: usize,
    ) -> impl DoubleEndedIterator<Item = (usize, usize)> {
        (0..channels).flat_map(move |c| {
            (self.first..self.first + self.count).map(move |p| (c, c * plane + p))
        })
    }
}

/// Entropy-codes `latent` (`tables.len()` channels of `plane` values each) into the tail of
/// `out`; returns the coded bytes.
pub fn encode<'o>(
    latent: &[i32],
    tables: &[Cdf],
    plane: usize,
    out: &'o mut [u8],
) -> Result<&'o [u8], WireError> {
    encode_span(
        latent,
        tables,
        plane,
        Span {
            first: 0,
            count: plane,
        },
        out,
    )
}

/// Decodes a whole latent (`tables.len()` channels of `plane` values) from `coded` into `out`.
pub fn decode(
    coded: &[u8],
    tables: &[Cdf],
    plane: usize,
    out: &mut [i32],
) -> Result<(), WireError> {
    decode_span(
        coded,
        tables,
        plane,
        Span {
            first: 0,
            count: plane,
        },
        out,
    )
}

/// Entropy-codes the values of `span` (every channel) of `latent` into the tail of `out`, as a
/// stream that [`decode_span`] decodes on its own; returns the coded bytes.
pub fn encode_span<'o>(
    latent: &[i32],
    tables: &[Cdf],
    plane: usize,
    span: Span,
    out: &'o mut [u8],
) -> Result<&'o [u8], WireError> {
    span.check(latent.len(), tables, plane)?;
    let mut enc = Encoder::new(out);
    for (c, i) in span.indices(tables.len(), plane).rev() {
        let cdf = &tables[c];
        let v = latent[i];
        let s = i64::from(v) - i64::from(cdf.offset());
        if (0..i64::from(cdf.symbols())).contains(&s) {
            enc.put(cdf, s as u32)?;
            continue;
        }
        let above = s >= 0;
        let d = if above {
            s - i64::from(cdf.symbols()) + 1
        } else {
            -s
        } as u64;
        let n = 64 - d.leading_zeros();
        // Pushed in reverse of the decoder's reading order.
        let rest = n - 1;
        let chunks = rest.div_ceil(16);
        for k in (0..chunks).rev() {
            let bits = (rest - 16 * k).min(16);
            enc.put_bits(((d >> (16 * k)) & ((1 << bits) - 1)) as u32, bits)?;
        }
        enc.put_bits(rest, 6)?;
        enc.put_bits(u32::from(above), 1)?;
        enc.put(cdf, cdf.escape())?;
    }
    enc.finish()
}

/// Decodes the values of `span` (every channel) from `coded` into their places in `latent`
/// (`tables.len()` channels of `plane` values); other values are left as they are.
pub fn decode_span(
    coded: &[u8],
    tables: &[Cdf],
    plane: usize,
    span: Span,
    latent: &mut [i32],
) -> Result<(), WireError> {
    span.check(latent.len(), tables, plane)?;
    let mut dec = Decoder::new(coded)?;
    for (c, i) in span.indices(tables.len(), plane) {
        let cdf = &tables[c];
        let s = dec.get(cdf)?;
        if s != cdf.escape() {
            latent[i] = cdf.offset() + s as i32;
            continue;
        }
        let above = dec.get_bits(1)? == 1;
        let rest = dec.get_bits(6)?;
        if rest > 32 {
            return Err(WireError::CorruptPayload {
                reason: "escape length over 33 bits",
            });
        }
        let mut d: u64 = 1 << rest;
        let chunks = rest.div_ceil(16);
        for k in 0..chunks {
            let bits = (rest - 16 * k).min(16);
            d |= u64::from(dec.get_bits(bits)?) << (16 * k);
        }
        let value = if above {
            i64::from(cdf.offset()) + i64::from(cdf.symbols()) - 1 + d as i64
        } else {
            i64::from(cdf.offset()) - d as i64
        };
        latent[i] = i32::try_from(value).map_err(|_| WireError::CorruptPayload {
            reason: "escaped value outside i32",
        })?;
    }
    dec.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdf::TOTAL;

    const TABLE_A: [u32; 6] = [0, 1000, 30000, 60000, 65000, TOTAL];
    const TABLE_B: [u32; 4] = [0, 20000, 65530, TOTAL];

    fn tables() -> [Cdf<'static>; 2] {
        [
            Cdf::new(-2, &TABLE_A).unwrap(),
            Cdf::new(0, &TABLE_B).unwrap(),
        ]
    }

    fn round_trip(latent: &[i32], plane: usize) {
        let mut buf = [0u8; 4096];
        let coded = encode(latent, &tables(), plane, &mut buf).unwrap();
        let mut out = [0i32; 512];
        decode(coded, &tables(), plane, &mut out[..latent.len()]).unwrap();
        assert_eq!(&out[..latent.len()], latent);
    }

    #[test]
    fn spans_decode_independently_into_place() {
        let latent = [-2, -1, 0, 1, 9, 1, 0, 0, 1, 2, -7, 0];
        let plane = 6;
        let mut out = [100i32; 12];
        for span in [
            Span { first: 0, count: 2 },
            Span { first: 2, count: 3 },
            Span { first: 5, count: 1 },
        ] {
            let mut buf = [0u8; 256];
            let coded = encode_span(&latent, &tables(), plane, span, &mut buf).unwrap();
            decode_span(coded, &tables(), plane, span, &mut out).unwrap();
        }
        assert_eq!(out, latent);
        let mut buf = [0u8; 256];
        for bad in [
            Span { first: 5, count: 2 },
            Span { first: 0, count: 0 },
            Span {
                first: usize::MAX,
                count: 2,
            },
        ] {
            assert!(encode_span(&latent, &tables(), plane, bad, &mut buf).is_err());
        }
    }

    #[test]
    fn round_trips_in_range_and_escaped_values() {
        round_trip(&[-2, -1, 0, 1, 0, 1, 0, 0], 4);
        round_trip(&[i32::MIN, i32::MAX, -3, 2, 2, -1, 1 << 20, -(1 << 20)], 4);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let latent = [0, 1, -1, 2, 1, 0, 1, 1];
        let mut buf = [0u8; 256];
        let coded = encode(&latent, &tables(), 4, &mut buf).unwrap();
        let mut out = [0i32; 8];
        for cut in 0..coded.len() {
            assert!(decode(&coded[..cut], &tables(), 4, &mut out).is_err());
        }
    }

    #[test]
    fn rejects_wrong_shapes_and_small_buffers() {
        let mut buf = [0u8; 4];
        assert!(matches!(
            encode(&[0; 7], &tables(), 4, &mut buf),
            Err(WireError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            encode(&[0, 1, 1, 1, 0, 0, 0, 0], &tables(), 4, &mut buf),
            Err(WireError::BufferFull { .. })
        ));
    }
}
