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

fn table_of<'t, 'a>(tables: &'t [Cdf<'a>], plane: usize, i: usize) -> &'t Cdf<'a> {
    &tables[i / plane]
}

fn check_shape(len: usize, tables: &[Cdf], plane: usize) -> Result<(), WireError> {
    if plane == 0 || len != tables.len() * plane {
        return Err(WireError::ShapeMismatch {
            reason: "latent length is not channels x plane size",
        });
    }
    Ok(())
}

/// Entropy-codes `latent` (`tables.len()` channels of `plane` values each) into the tail of
/// `out`; returns the coded bytes.
pub fn encode<'o>(
    latent: &[i32],
    tables: &[Cdf],
    plane: usize,
    out: &'o mut [u8],
) -> Result<&'o [u8], WireError> {
    check_shape(latent.len(), tables, plane)?;
    let mut enc = Encoder::new(out);
    for (i, &v) in latent.iter().enumerate().rev() {
        let cdf = table_of(tables, plane, i);
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

/// Decodes `out.len()` latent values (`tables.len()` channels of `plane` values) from `coded`.
pub fn decode(
    coded: &[u8],
    tables: &[Cdf],
    plane: usize,
    out: &mut [i32],
) -> Result<(), WireError> {
    check_shape(out.len(), tables, plane)?;
    let mut dec = Decoder::new(coded)?;
    for (i, v) in out.iter_mut().enumerate() {
        let cdf = table_of(tables, plane, i);
        let s = dec.get(cdf)?;
        if s != cdf.escape() {
            *v = cdf.offset() + s as i32;
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
        *v = i32::try_from(value).map_err(|_| WireError::CorruptPayload {
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
