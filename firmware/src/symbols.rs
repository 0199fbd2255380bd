//! Coding a quantized latent tensor (channel-major, `C x H x W`) with integer CDF tables.
//!
//! [`Tables`] says which table codes each value: its channel's one table (a factorized prior), or
//! one of several tables of its channel, picked by already-coded values: the neighbours in the
//! same channel ([`Context::Neighbours`]), or those and the values at the same position in the
//! channels before it ([`Context::NeighboursAndChannels`]); or, for a hyperprior, the table each
//! value's index names ([`Tables::indexed`]: the indexes come from side information both ends
//! compute identically). The class is integer arithmetic on
//! already-decoded symbols, so every machine picks the same table. With a [`Predictor`], what is
//! coded is the value minus the predictor's integer guess (from the same already-coded values).
//!
//! A value inside its table's range is one symbol. A value outside it is the escape symbol,
//! then a side bit (below / above the range), 6 bits holding `n - 1` where `n` is the bit length
//! of the distance `d >= 1` to the range, then the `n - 1` low bits of `d` in 16-bit chunks
//! (least significant chunk first).

use crate::WireError;
use crate::cdf::Cdf;
use crate::predict::{Neighbours, Predictor};
use crate::rans::{Decoder, Encoder};

/// Tables per channel with [`Context::Neighbours`].
pub const CONTEXT_CLASSES: usize = 7;

/// Tables per channel with [`Context::NeighboursAndChannels`].
pub const CHANNEL_CONTEXT_CLASSES: usize = 14;

/// Neighbour magnitudes (or distances from the guess) are capped here before they are summed.
const MAGNITUDE_CAP: u32 = 64;

/// Longest escape: `n - 1` for a distance below `2^34` (a value minus a guess minus an offset).
const MAX_ESCAPE_REST: u32 = 33;

/// How the table of each value is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// One table per channel.
    None,
    /// [`CONTEXT_CLASSES`] tables per channel (channel-major). The neighbours are the left, top,
    /// top-left and top-right values in the same channel; one is known when it lies on the plane
    /// and, in a span, at or after its first position. With none known, the value takes the
    /// channel's last table (class 6, no context: the first value of a plane or of a span).
    /// Otherwise the magnitudes of the known ones (their distances from the value's guess, with a
    /// [`Predictor`]), weighted 2 (left, top) and 1 (the diagonals), give the activity
    /// `a = 3 · weighted sum / known weight` (integer division): with all four known,
    /// `a = l + t + (tl + tr) / 2`; with fewer, the same scale, so a span's values, which
    /// rarely see the row above, pick the classes they would have in the whole plane. `a` picks
    /// class 0 for 0, 1 for 1, 2 for 2, 3 for 3..=4, 4 for 5..=7 and 5 from 8 up.
    Neighbours,
    /// [`CHANNEL_CONTEXT_CLASSES`] tables per channel (channel-major), and the values coded
    /// position by position (all channels of a position, then the next position), so that a
    /// value also sees `n`, how many of the channels before it are non-zero at its position.
    /// With neighbours known, `a + n / 3` (`a` as in [`Context::Neighbours`], integer division)
    /// picks class 0, 1, 2, 3 for 0..=3, 4 for 4..=5, 5 for 6..=7, 6 for 8..=10, 7 for 11..=14,
    /// 8 for 15..=20, 9 for 21..=28 and 10 from 29 up. With none known (the first position of
    /// a plane or span), `n` alone picks class 11 for 0..=1, 12 for 2..=7 and 13 from 8 up.
    NeighboursAndChannels,
}

impl Context {
    /// Tables per channel.
    pub const fn classes(self) -> usize {
        match self {
            Self::None => 1,
            Self::Neighbours => CONTEXT_CLASSES,
            Self::NeighboursAndChannels => CHANNEL_CONTEXT_CLASSES,
        }
    }

    /// Whether values are coded position by position rather than channel by channel.
    const fn position_major(self) -> bool {
        matches!(self, Self::NeighboursAndChannels)
    }
}

/// The CDF tables of a latent of `width x height` positions per channel, how a value's
/// table is picked, and the predictor whose guesses are taken off the values, if any.
#[derive(Debug, Clone, Copy)]
pub struct Tables<'t, 'c> {
    cdfs: &'t [Cdf<'c>],
    context: Context,
    width: usize,
    plane: usize,
    predictor: Option<Predictor<'t>>,
    indexes: Option<&'t [u8]>,
}

impl<'t, 'c> Tables<'t, 'c> {
    /// Checks that `cdfs` holds a whole number of channels and that the plane is not empty.
    pub fn new(
        cdfs: &'t [Cdf<'c>],
        context: Context,
        width: usize,
        height: usize,
    ) -> Result<Self, WireError> {
        if cdfs.is_empty() || !cdfs.len().is_multiple_of(context.classes()) {
            return Err(WireError::ShapeMismatch {
                reason: "table count is not a whole number of channels",
            });
        }
        let plane = width.checked_mul(height).unwrap_or(0);
        if plane == 0 {
            return Err(WireError::ShapeMismatch {
                reason: "latent plane is empty or too large",
            });
        }
        Ok(Self {
            cdfs,
            context,
            width,
            plane,
            predictor: None,
            indexes: None,
        })
    }

    /// Tables shared by all channels, value `i` of the latent (channel-major) coded with
    /// `cdfs[indexes[i]]`; checks that `indexes` holds whole planes of `width x height` and
    /// names only tables there are.
    pub fn indexed(
        cdfs: &'t [Cdf<'c>],
        indexes: &'t [u8],
        width: usize,
        height: usize,
    ) -> Result<Self, WireError> {
        let tables = Self::new(cdfs, Context::None, width, height)?;
        if indexes.is_empty() || !indexes.len().is_multiple_of(tables.plane) {
            return Err(WireError::ShapeMismatch {
                reason: "table indexes are not a whole number of planes",
            });
        }
        if indexes.iter().any(|&i| usize::from(i) >= cdfs.len()) {
            return Err(WireError::ShapeMismatch {
                reason: "a table index names no table",
            });
        }
        Ok(Self {
            indexes: Some(indexes),
            ..tables
        })
    }

    /// These tables coding each value minus `predictor`'s guess; checks that it is made for as
    /// many channels.
    pub fn with_predictor(self, predictor: Predictor<'t>) -> Result<Self, WireError> {
        if self.indexes.is_some() {
            return Err(WireError::ShapeMismatch {
                reason: "indexed tables take no predictor",
            });
        }
        if predictor.channels() != self.channels() {
            return Err(WireError::ShapeMismatch {
                reason: "predictor and tables disagree on the channel count",
            });
        }
        Ok(Self {
            predictor: Some(predictor),
            ..self
        })
    }

    /// Latent channels.
    pub fn channels(&self) -> usize {
        match self.indexes {
            Some(indexes) => indexes.len() / self.plane,
            None => self.cdfs.len() / self.context.classes(),
        }
    }

    /// Positions per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Positions per channel.
    pub fn plane(&self) -> usize {
        self.plane
    }

    /// The table and the guess of position `p` of channel `c`; `latent` holds the values coded
    /// before it from position `first` on, `earlier` of them non-zero at position `p` (with
    /// [`Context::NeighboursAndChannels`]; ignored otherwise).
    fn coding(
        &self,
        latent: &[i32],
        (c, p, first): (usize, usize, usize),
        earlier: u32,
    ) -> (&Cdf<'c>, i64) {
        if let Some(indexes) = self.indexes {
            return (&self.cdfs[usize::from(indexes[c * self.plane + p])], 0);
        }
        let (class, guess) = self.context_of(latent, (c, p, first), earlier);
        (&self.cdfs[c * self.context.classes() + class], guess)
    }

    /// The context class (which of channel `c`'s tables) and the guess that code position `p` of
    /// channel `c`, as the coder picks them; for fitting tables to symbols: with `first`
    /// = 0 the value as a whole latent codes it, with `first` = `p` as the first value of a span.
    pub fn context_of(
        &self,
        latent: &[i32],
        (c, p, first): (usize, usize, usize),
        earlier: u32,
    ) -> (usize, i64) {
        let near = self.neighbours(latent, c, p, first);
        let guess = self.predictor.map_or(0, |pr| pr.guess(c, &near));
        (self.class(activity(&near, guess), earlier), guess)
    }

    /// The left, top, top-left and top-right values of position `p` of channel `c`, each known
    /// when it lies on the plane at or after position `first`.
    fn neighbours(&self, latent: &[i32], c: usize, p: usize, first: usize) -> Neighbours {
        let plane = &latent[c * self.plane..][..self.plane];
        let at = |q: usize| (q >= first).then(|| plane[q]);
        let x = p % self.width;
        let (left, right) = (x > 0, x + 1 < self.width);
        let top = p.checked_sub(self.width);
        [
            if left { at(p - 1) } else { None },
            top.and_then(at),
            top.filter(|_| left).and_then(|q| at(q - 1)),
            top.filter(|_| right).and_then(|q| at(q + 1)),
        ]
    }

    /// The class that the neighbours' `activity` and `earlier` pick.
    fn class(&self, activity: Option<u32>, earlier: u32) -> usize {
        match self.context {
            Context::None => 0,
            Context::Neighbours => match activity {
                None => CONTEXT_CLASSES - 1,
                Some(a @ 0..=2) => a as usize,
                Some(3..=4) => 3,
                Some(5..=7) => 4,
                Some(_) => 5,
            },
            Context::NeighboursAndChannels => match activity {
                None => match earlier {
                    0..=1 => 11,
                    2..=7 => 12,
                    _ => 13,
                },
                Some(a) => match a + earlier / 3 {
                    b @ 0..=3 => b as usize,
                    4..=5 => 4,
                    6..=7 => 5,
                    8..=10 => 6,
                    11..=14 => 7,
                    15..=20 => 8,
                    21..=28 => 9,
                    _ => 10,
                },
            },
        }
    }
}

/// The neighbours' activity `3 · weighted sum / known weight` of their distances from `guess`
/// (see [`Context::Neighbours`]); `None` when no neighbour is known.
fn activity(near: &Neighbours, guess: i64) -> Option<u32> {
    const WEIGHTS: [u32; 4] = [2, 2, 1, 1];
    let (sum, weight) = near
        .iter()
        .zip(WEIGHTS)
        .fold((0, 0), |(sum, weight), (v, w)| match v {
            Some(v) => {
                let m = (i64::from(*v) - guess)
                    .unsigned_abs()
                    .min(MAGNITUDE_CAP.into());
                (sum + w * m as u32, weight + w)
            }
            None => (sum, weight),
        });
    (weight > 0).then(|| 3 * sum / weight)
}

/// Worst-case coded size of `elements` latent values, for sizing the encoder's buffer.
pub const fn max_coded_len(elements: usize) -> usize {
    // Per value: escape symbol (< 2 bytes at 16-bit precision) + 1 + 6 + 33 side bits.
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
    /// Checks that the span lies inside the plane of `tables`, and that `len` is a whole number
    /// of its planes, one per channel.
    fn check(&self, len: usize, tables: &Tables) -> Result<(), WireError> {
        let plane = tables.plane();
        if len != tables.channels() * plane {
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

    /// `(channel, position, latent index)` of the span's values in the coding order: channel by
    /// channel, or position by position when `tables`' context says so.
    fn indices(self, tables: &Tables) -> impl DoubleEndedIterator<Item = (usize, usize, usize)> {
        let (channels, plane) = (tables.channels(), tables.plane());
        let position_major = tables.context.position_major();
        (0..channels * self.count).map(move |k| {
            let (c, p) = if position_major {
                (k % channels, self.first + k / channels)
            } else {
                (k / self.count, self.first + k % self.count)
            };
            (c, p, c * plane + p)
        })
    }
}

/// Entropy-codes `latent` (every channel and position of `tables`) into the tail of `out`;
/// returns the coded bytes.
pub fn encode<'o>(
    latent: &[i32],
    tables: &Tables,
    out: &'o mut [u8],
) -> Result<&'o [u8], WireError> {
    let whole = Span {
        first: 0,
        count: tables.plane(),
    };
    encode_span(latent, tables, whole, out)
}

/// Decodes a whole latent (every channel and position of `tables`) from `coded` into `out`.
pub fn decode(coded: &[u8], tables: &Tables, out: &mut [i32]) -> Result<(), WireError> {
    let whole = Span {
        first: 0,
        count: tables.plane(),
    };
    decode_span(coded, tables, whole, out)
}

/// Entropy-codes the values of `span` (every channel) of `latent` into the tail of `out`, as a
/// stream that [`decode_span`] decodes on its own; returns the coded bytes.
pub fn encode_span<'o>(
    latent: &[i32],
    tables: &Tables,
    span: Span,
    out: &'o mut [u8],
) -> Result<&'o [u8], WireError> {
    span.check(latent.len(), tables)?;
    let mut enc = Encoder::new(out);
    let (channels, plane) = (tables.channels(), tables.plane());
    // Coded in reverse: at a position's last channel, count its non-zero values, then take
    // each value off before its class is picked, leaving those of the channels before it.
    let mut earlier = 0;
    for (c, p, i) in span.indices(tables).rev() {
        let v = latent[i];
        if tables.context.position_major() {
            if c + 1 == channels {
                earlier = (0..channels)
                    .filter(|&k| latent[k * plane + p] != 0)
                    .count() as u32;
            }
            earlier -= u32::from(v != 0);
        }
        let (cdf, guess) = tables.coding(latent, (c, p, span.first), earlier);
        let s = i64::from(v) - guess - i64::from(cdf.offset());
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
/// (every channel and position of `tables`); other values are left as they are.
pub fn decode_span(
    coded: &[u8],
    tables: &Tables,
    span: Span,
    latent: &mut [i32],
) -> Result<(), WireError> {
    span.check(latent.len(), tables)?;
    let mut dec = Decoder::new(coded)?;
    // Position by position, the non-zero values so far of the position being decoded.
    let mut earlier = 0;
    for (c, p, i) in span.indices(tables) {
        if c == 0 {
            earlier = 0;
        }
        let (cdf, guess) = tables.coding(latent, (c, p, span.first), earlier);
        let value = i32::try_from(decode_value(&mut dec, cdf)? + guess).map_err(|_| {
            WireError::CorruptPayload {
                reason: "decoded value outside i32",
            }
        })?;
        latent[i] = value;
        if tables.context.position_major() {
            earlier += u32::from(value != 0);
        }
    }
    dec.finish()
}

/// Decodes one value coded with `cdf` (before the guess is added back): a symbol, or the escape
/// and its side bits.
fn decode_value(dec: &mut Decoder, cdf: &Cdf) -> Result<i64, WireError> {
    let s = dec.get(cdf)?;
    if s != cdf.escape() {
        return Ok(i64::from(cdf.offset()) + i64::from(s));
    }
    let above = dec.get_bits(1)? == 1;
    let rest = dec.get_bits(6)?;
    if rest > MAX_ESCAPE_REST {
        return Err(WireError::CorruptPayload {
            reason: "escape length over 34 bits",
        });
    }
    let mut d: u64 = 1 << rest;
    let chunks = rest.div_ceil(16);
    for k in 0..chunks {
        let bits = (rest - 16 * k).min(16);
        d |= u64::from(dec.get_bits(bits)?) << (16 * k);
    }
    Ok(if above {
        i64::from(cdf.offset()) + i64::from(cdf.symbols()) - 1 + d as i64
    } else {
        i64::from(cdf.offset()) - d as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdf::TOTAL;

    const TABLE_A: [u32; 6] = [0, 1000, 30000, 60000, 65000, TOTAL];
    const TABLE_B: [u32; 4] = [0, 20000, 65530, TOTAL];

    fn cdfs() -> [Cdf<'static>; 2] {
        [
            Cdf::new(-2, &TABLE_A).unwrap(),
            Cdf::new(0, &TABLE_B).unwrap(),
        ]
    }

    /// Two channels of `width x (plane / width)`, one table each.
    fn round_trip(latent: &[i32], width: usize) {
        let cdfs = cdfs();
        let tables = Tables::new(&cdfs, Context::None, width, latent.len() / 2 / width).unwrap();
        let mut buf = [0u8; 4096];
        let coded = encode(latent, &tables, &mut buf).unwrap();
        let mut out = [0i32; 512];
        decode(coded, &tables, &mut out[..latent.len()]).unwrap();
        assert_eq!(&out[..latent.len()], latent);
    }

    #[test]
    fn spans_decode_independently_into_place() {
        let latent = [-2, -1, 0, 1, 9, 1, 0, 0, 1, 2, -7, 0];
        let cdfs = cdfs();
        let tables = Tables::new(&cdfs, Context::None, 3, 2).unwrap();
        let mut out = [100i32; 12];
        for span in [
            Span { first: 0, count: 2 },
            Span { first: 2, count: 3 },
            Span { first: 5, count: 1 },
        ] {
            let mut buf = [0u8; 256];
            let coded = encode_span(&latent, &tables, span, &mut buf).unwrap();
            decode_span(coded, &tables, span, &mut out).unwrap();
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
            assert!(encode_span(&latent, &tables, bad, &mut buf).is_err());
        }
    }

    #[test]
    fn indexed_tables_code_each_value_with_its_table() {
        // Three channels of 2x2 sharing two tables; values inside and outside each table.
        let latent = [-2, 0, 1, 5, 0, 1, 1, -3, 2, 0, 0, 0];
        let indexes = [0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1];
        let cdfs = cdfs();
        let tables = Tables::indexed(&cdfs, &indexes, 2, 2).unwrap();
        assert_eq!(tables.channels(), 3);
        let mut buf = [0u8; 256];
        let whole = encode(&latent, &tables, &mut buf).unwrap().to_vec();
        let mut out = [0i32; 12];
        decode(&whole, &tables, &mut out).unwrap();
        assert_eq!(out, latent);
        // Other indexes code other bytes (so they are used), and spans still decode alone.
        let swapped = indexes.map(|i| 1 - i);
        let other = Tables::indexed(&cdfs, &swapped, 2, 2).unwrap();
        assert_ne!(encode(&latent, &other, &mut buf).unwrap(), &whole[..]);
        let mut out = [100i32; 12];
        for span in [Span { first: 0, count: 3 }, Span { first: 3, count: 1 }] {
            let coded = encode_span(&latent, &tables, span, &mut buf).unwrap();
            decode_span(coded, &tables, span, &mut out).unwrap();
        }
        assert_eq!(out, latent);
        assert!(
            Tables::indexed(&cdfs, &indexes[..11], 2, 2).is_err(),
            "not whole planes"
        );
        assert!(
            Tables::indexed(&cdfs, &[0, 1, 2, 0], 2, 2).is_err(),
            "no table 2"
        );
    }

    #[test]
    fn round_trips_in_range_and_escaped_values() {
        round_trip(&[-2, -1, 0, 1, 0, 1, 0, 0], 2);
        round_trip(&[i32::MIN, i32::MAX, -3, 2, 2, -1, 1 << 20, -(1 << 20)], 4);
    }

    #[test]
    fn predictor_guesses_are_taken_off_and_put_back() {
        let cdfs = cdfs();
        let plain = Tables::new(&cdfs, Context::None, 4, 2).unwrap();
        // Channel 1 (4 x 2) is smooth, far from its table: its left value is a good guess.
        let weights = [0, 0, 0, 0, 256, 0, 0, 0];
        let predictor = Predictor::new(&weights, 8).unwrap();
        let predicted = plain.with_predictor(predictor).unwrap();
        let latent = [-2, -1, 0, 1, 2, 1, 0, -1, 40, 41, 41, 40, 30, 31, 31, 30];
        let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
        let without = encode(&latent, &plain, &mut a).unwrap().len();
        let coded = encode(&latent, &predicted, &mut b).unwrap();
        assert!(coded.len() < without, "{} vs {without}", coded.len());
        let mut out = [0i32; 16];
        decode(coded, &predicted, &mut out).unwrap();
        assert_eq!(out, latent);
        // Extremes: value minus guess falls outside i32.
        let mut extremes = [0; 16];
        extremes[8..12].copy_from_slice(&[4096, i32::MIN, i32::MAX, -4096]);
        let coded = encode(&extremes, &predicted, &mut b).unwrap();
        decode(coded, &predicted, &mut out).unwrap();
        assert_eq!(out, extremes);
        let three = [0i16; 12];
        let wrong = Predictor::new(&three, 8).unwrap();
        assert!(plain.with_predictor(wrong).is_err());
    }

    /// Seven tables for one channel: class k codes values near k well.
    fn context_cdfs() -> [[u32; 11]; CONTEXT_CLASSES] {
        core::array::from_fn(|k| {
            let mut cdf = [0u32; 11];
            let mut total = 0;
            for (s, slot) in cdf[1..].iter_mut().enumerate() {
                total += if s == k + 1 { 60000 } else { 100 };
                *slot = total;
            }
            cdf[10] = TOTAL;
            cdf
        })
    }

    /// `latent` (at most 36 values) decodes whole, and as the span from position `first` to the
    /// end of the plane into a latent that holds other values elsewhere.
    fn round_trips_whole_and_from(latent: &[i32], tables: &Tables, first: usize) {
        let mut buf = [0u8; 512];
        let coded = encode(latent, tables, &mut buf).unwrap();
        let mut out = [0i32; 36];
        let out = &mut out[..latent.len()];
        decode(coded, tables, out).unwrap();
        assert_eq!(out, latent);
        let plane = tables.plane();
        let span = Span {
            first,
            count: plane - first,
        };
        let coded = encode_span(latent, tables, span, &mut buf).unwrap();
        out.fill(9);
        decode_span(coded, tables, span, out).unwrap();
        for c in 0..tables.channels() {
            let tail = c * plane + first..(c + 1) * plane;
            assert_eq!(out[tail.clone()], latent[tail]);
        }
    }

    #[test]
    fn neighbours_pick_the_class_on_both_sides() {
        let raw = context_cdfs();
        let cdfs: [Cdf; CONTEXT_CLASSES] = core::array::from_fn(|k| Cdf::new(-1, &raw[k]).unwrap());
        let tables = Tables::new(&cdfs, Context::Neighbours, 4, 3).unwrap();
        assert_eq!(tables.channels(), 1);
        let latent = [0, 0, 0, 0, 2, 1, 2, 2, 0, 0, 3, 4];
        let picks = |at, k| core::ptr::eq(tables.coding(&latent, at, 0).0, &cdfs[k]);
        // The last value (right edge, no top-right): 3 · (2·3 + 2·2 + 2) / 5 = 7, class 4.
        assert!(picks((0, 11, 0), 4));
        // Before the span's first position, neighbours are not known.
        assert!(picks((0, 11, 11), 6));
        // Only the left (3) known: a = 3 · 2 · 3 / 2 = 9, class 5.
        assert!(picks((0, 11, 10), 5));
        assert!(picks((0, 0, 0), 6));
        // At the left edge: 3 · (2 |top| 2 + |top-right| 1) / 3 = 5, class 4.
        assert!(picks((0, 8, 0), 4));
        round_trips_whole_and_from(&latent, &tables, 5);
        assert!(Tables::new(&cdfs[..6], Context::Neighbours, 4, 3).is_err());
    }

    #[test]
    fn with_a_predictor_the_class_sees_distances_from_the_guess() {
        let raw = context_cdfs();
        let cdfs: [Cdf; CONTEXT_CLASSES] = core::array::from_fn(|k| Cdf::new(-1, &raw[k]).unwrap());
        let plain = Tables::new(&cdfs, Context::Neighbours, 4, 3).unwrap();
        // The guess is the left value.
        let weights = [256, 0, 0, 0];
        let tables = plain
            .with_predictor(Predictor::new(&weights, 8).unwrap())
            .unwrap();
        let latent = [0, 0, 0, 0, 0, 0, 9, 9, 0, 0, 9, 9];
        // Position 11: left, top and top-left are 9. Their magnitudes: a = 27, class 5; their
        // distances from the guess 9: a = 0, class 0.
        let (t, guess) = plain.coding(&latent, (0, 11, 0), 0);
        assert!(core::ptr::eq(t, &cdfs[5]) && guess == 0);
        let (t, guess) = tables.coding(&latent, (0, 11, 0), 0);
        assert!(core::ptr::eq(t, &cdfs[0]) && guess == 9);
        round_trips_whole_and_from(&latent, &tables, 5);
    }

    /// `models/codec/context_tables.py` counts its tables with a NumPy copy of the class rule;
    /// `context_classes_golden.py` wrote the classes it gives a 10 x 6 x 8 latent.
    #[test]
    fn classes_equal_context_tables_py() {
        const GOLDEN: &[u8] = include_bytes!("../tests/data/context_classes.bin");
        const C: usize = 10;
        const N: usize = C * 6 * 8;
        let mut words = GOLDEN
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let mut next = || words.next().unwrap();
        let (c, h, w, shift) = (next() as usize, next() as usize, next() as usize, next());
        assert_eq!((c, h * w * c), (C, N));
        let weights: [i16; 4 * C] = core::array::from_fn(|_| next() as i16);
        let latent: [i32; N] = core::array::from_fn(|_| next());
        let want: [i32; N] = core::array::from_fn(|_| next());
        assert!(words.next().is_none());
        let raw = context_cdfs();
        let one: [Cdf; CONTEXT_CLASSES] = core::array::from_fn(|k| Cdf::new(-1, &raw[k]).unwrap());
        let cdfs: [Cdf; C * CHANNEL_CONTEXT_CLASSES] =
            core::array::from_fn(|j| one[j % CONTEXT_CLASSES]);
        let tables = Tables::new(&cdfs, Context::NeighboursAndChannels, w, h)
            .unwrap()
            .with_predictor(Predictor::new(&weights, shift as u32).unwrap())
            .unwrap();
        let plane = h * w;
        let mut seen = [false; CHANNEL_CONTEXT_CLASSES];
        for p in 0..plane {
            for ch in 0..c {
                let earlier = (0..ch).filter(|&k| latent[k * plane + p] != 0).count() as u32;
                let table = tables.coding(&latent, (ch, p, 0), earlier).0;
                let class = tables.context_of(&latent, (ch, p, 0), earlier).0;
                assert!(core::ptr::eq(
                    table,
                    &cdfs[ch * CHANNEL_CONTEXT_CLASSES + class]
                ));
                assert_eq!(
                    class as i32,
                    want[ch * plane + p],
                    "channel {ch}, position {p}"
                );
                seen[class] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "the case reaches every class");
    }

    #[test]
    fn channels_before_a_position_join_its_neighbours() {
        let raw = context_cdfs();
        let one: [Cdf; CONTEXT_CLASSES] = core::array::from_fn(|k| Cdf::new(-1, &raw[k]).unwrap());
        // Three channels, each with the seven tables twice over.
        let cdfs: [Cdf; 3 * CHANNEL_CONTEXT_CLASSES] =
            core::array::from_fn(|j| one[j % CONTEXT_CLASSES]);
        let tables = Tables::new(&cdfs, Context::NeighboursAndChannels, 4, 3).unwrap();
        assert_eq!(tables.channels(), 3);
        let class = |latent: &[i32], c, p, first, earlier| {
            let t = tables.coding(latent, (c, p, first), earlier).0;
            (0..CHANNEL_CONTEXT_CLASSES)
                .find(|&k| core::ptr::eq(t, &cdfs[c * CHANNEL_CONTEXT_CLASSES + k]))
                .unwrap()
        };
        let latent = [
            0, 0, 0, 0, 2, 1, 2, 2, 0, 0, 3, 4, // channel 0
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // channel 1
            0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, // channel 2
        ];
        // Position 11: channel 1's neighbours are all 0, class 0; channel 0's give a = 7 (as
        // with Neighbours), and 6 non-zero channels before it add 6 / 3: 9, class 6.
        assert_eq!(class(&latent, 1, 11, 0, 0), 0);
        assert_eq!(class(&latent, 0, 11, 0, 6), 6);
        // No neighbours known: n alone picks 11, 12 or 13.
        assert_eq!(class(&latent, 2, 0, 0, 1), 11);
        assert_eq!(class(&latent, 2, 0, 0, 2), 12);
        assert_eq!(class(&latent, 2, 5, 5, 8), 13);
        // a + n / 3 from 29 up: class 10.
        assert_eq!(class(&latent, 0, 11, 0, 66), 10);
        round_trips_whole_and_from(&latent, &tables, 5);
        assert!(Tables::new(&cdfs[..20], Context::NeighboursAndChannels, 4, 3).is_err());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let latent = [0, 1, -1, 2, 1, 0, 1, 1];
        let cdfs = cdfs();
        let tables = Tables::new(&cdfs, Context::None, 2, 2).unwrap();
        let mut buf = [0u8; 256];
        let coded = encode(&latent, &tables, &mut buf).unwrap();
        let mut out = [0i32; 8];
        for cut in 0..coded.len() {
            assert!(decode(&coded[..cut], &tables, &mut out).is_err());
        }
    }

    #[test]
    fn rejects_wrong_shapes_and_small_buffers() {
        let cdfs = cdfs();
        let tables = Tables::new(&cdfs, Context::None, 4, 1).unwrap();
        let mut buf = [0u8; 4];
        assert!(matches!(
            encode(&[0; 7], &tables, &mut buf),
            Err(WireError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            encode(&[0, 1, 1, 1, 0, 0, 0, 0], &tables, &mut buf),
            Err(WireError::BufferFull { .. })
        ));
        assert!(Tables::new(&cdfs, Context::None, 0, 4).is_err());
        assert!(Tables::new(&cdfs, Context::None, usize::MAX, 2).is_err());
    }
}
