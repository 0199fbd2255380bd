//! Byte-wise rANS (range asymmetric numeral systems) with 16-bit probabilities.
//!
//! 32-bit state kept in `[L, 256 L)`, one byte out per renormalisation step. The encoder runs
//! backwards (last symbol first) and fills a caller's buffer from its end; the decoder reads the
//! result forwards. Integer arithmetic only: every machine decodes the same symbols.

use crate::WireError;
use crate::cdf::{Cdf, PRECISION, TOTAL};

/// Lower bound of the normalised state.
const L: u32 = 1 << 23;

/// Encodes symbols in reverse order into the tail of a caller's buffer.
pub struct Encoder<'a> {
    buf: &'a mut [u8],
    pos: usize,
    state: u32,
}

impl<'a> Encoder<'a> {
    /// An encoder writing into `buf` (from its end).
    pub fn new(buf: &'a mut [u8]) -> Self {
        let pos = buf.len();
        Self { buf, pos, state: L }
    }

    fn push_byte(&mut self, byte: u8) -> Result<(), WireError> {
        if self.pos == 0 {
            return Err(WireError::BufferFull {
                capacity: self.buf.len(),
            });
        }
        self.pos -= 1;
        self.buf[self.pos] = byte;
        Ok(())
    }

    /// Encodes the interval `[start, start + freq)` out of `2^16`.
    fn put_range(&mut self, start: u32, freq: u32) -> Result<(), WireError> {
        debug_assert!(freq > 0 && start + freq <= TOTAL);
        let x_max = ((L >> PRECISION) << 8) * freq;
        while self.state >= x_max {
            self.push_byte(self.state as u8)?;
            self.state >>= 8;
        }
        self.state = ((self.state / freq) << PRECISION) + (self.state % freq) + start;
        Ok(())
    }

    /// Encodes symbol `s` of `cdf` (`s <= cdf.escape()`).
    pub fn put(&mut self, cdf: &Cdf, s: u32) -> Result<(), WireError> {
        let (start, freq) = cdf.range(s);
        self.put_range(start, freq)
    }

    /// Encodes the low `bits` bits of `value` with uniform probability (`1 <= bits <= 16`).
    pub fn put_bits(&mut self, value: u32, bits: u32) -> Result<(), WireError> {
        debug_assert!((1..=PRECISION).contains(&bits) && value < (1 << bits));
        let shift = PRECISION - bits;
        self.put_range(value << shift, 1 << shift)
    }

    /// Flushes the state; returns the coded bytes (the tail of the buffer).
    pub fn finish(mut self) -> Result<&'a [u8], WireError> {
        for byte in self.state.to_be_bytes().into_iter().rev() {
            self.push_byte(byte)?;
        }
        Ok(&self.buf[self.pos..])
    }
}

/// Decodes symbols from a stream made by [`Encoder`], checking it as it goes.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    state: u32,
}

impl<'a> Decoder<'a> {
    /// A decoder over `buf`; fails when the stream cannot start a valid state.
    pub fn new(buf: &'a [u8]) -> Result<Self, WireError> {
        let head: [u8; 4] =
            buf.get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(WireError::Truncated {
                    needed: 4,
                    available: buf.len(),
                })?;
        let state = u32::from_be_bytes(head);
        if !(L..L << 8).contains(&state) {
            return Err(WireError::CorruptPayload {
                reason: "initial rANS state out of range",
            });
        }
        Ok(Self { buf, pos: 4, state })
    }

    fn take_range(&mut self, start: u32, freq: u32) -> Result<(), WireError> {
        let cf = self.state & (TOTAL - 1);
        self.state = freq * (self.state >> PRECISION) + cf - start;
        while self.state < L {
            let byte = *self.buf.get(self.pos).ok_or(WireError::Truncated {
                needed: self.pos + 1,
                available: self.buf.len(),
            })?;
            self.pos += 1;
            self.state = (self.state << 8) | u32::from(byte);
        }
        Ok(())
    }

    /// Decodes one symbol of `cdf`.
    pub fn get(&mut self, cdf: &Cdf) -> Result<u32, WireError> {
        let s = cdf.find(self.state & (TOTAL - 1));
        let (start, freq) = cdf.range(s);
        self.take_range(start, freq)?;
        Ok(s)
    }

    /// Decodes `bits` uniform bits (`1 <= bits <= 16`).
    pub fn get_bits(&mut self, bits: u32) -> Result<u32, WireError> {
        let shift = PRECISION - bits;
        let value = (self.state & (TOTAL - 1)) >> shift;
        self.take_range(value << shift, 1 << shift)?;
        Ok(value)
    }

    /// Checks that the stream ended exactly where the encoder started.
    pub fn finish(self) -> Result<(), WireError> {
        if self.state != L {
            return Err(WireError::CorruptPayload {
                reason: "final rANS state mismatch",
            });
        }
        if self.pos != self.buf.len() {
            return Err(WireError::TrailingBytes {
                extra: self.buf.len() - self.pos,
            });
        }
        Ok(())
    }
}
