//! Integer CDF tables: the learned prior of one latent channel, as the rANS coder uses it.

use crate::WireError;

/// Bits of probability precision: every table sums to `1 << PRECISION`.
pub const PRECISION: u32 = 16;
/// The total of every table.
pub const TOTAL: u32 = 1 << PRECISION;

/// A validated CDF table over the symbols `offset ..= offset + n - 1`, plus one escape symbol
/// (index `n`) for values outside that range.
///
/// `cdf` holds `n + 2` entries: `cdf[0] == 0`, strictly increasing, `cdf[n + 1] == TOTAL`.
#[derive(Debug, Clone, Copy)]
pub struct Cdf<'a> {
    offset: i32,
    cdf: &'a [u32],
}

impl<'a> Cdf<'a> {
    /// Checks the table once; afterwards every lookup is infallible.
    pub fn new(offset: i32, cdf: &'a [u32]) -> Result<Self, WireError> {
        let invalid = |reason| Err(WireError::InvalidCdf { reason });
        if cdf.len() < 3 {
            return invalid("fewer than one symbol plus escape");
        }
        if cdf[0] != 0 || cdf[cdf.len() - 1] != TOTAL {
            return invalid("must start at 0 and end at 2^16");
        }
        if cdf.windows(2).any(|w| w[1] <= w[0]) {
            return invalid("not strictly increasing (a symbol has zero frequency)");
        }
        if offset.checked_add(cdf.len() as i32 - 2).is_none() {
            return invalid("symbol range overflows i32");
        }
        Ok(Self { offset, cdf })
    }

    /// The smallest value with its own symbol.
    pub fn offset(&self) -> i32 {
        self.offset
    }

    /// Number of in-range symbols (the escape symbol not counted).
    pub fn symbols(&self) -> u32 {
        self.cdf.len() as u32 - 2
    }

    /// Index of the escape symbol.
    pub fn escape(&self) -> u32 {
        self.symbols()
    }

    /// `(start, frequency)` of symbol `s` (`s <= escape()`).
    pub(crate) fn range(&self, s: u32) -> (u32, u32) {
        let s = s as usize;
        (self.cdf[s], self.cdf[s + 1] - self.cdf[s])
    }

    /// The symbol whose interval holds `cf` (`cf < TOTAL`).
    pub(crate) fn find(&self, cf: u32) -> u32 {
        // Largest s with cdf[s] <= cf; cdf[0] == 0 so s exists, cdf[last] == TOTAL > cf.
        (self.cdf.partition_point(|&c| c <= cf) - 1) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_tables() {
        assert!(Cdf::new(0, &[0, TOTAL]).is_err());
        assert!(Cdf::new(0, &[1, 5, TOTAL]).is_err());
        assert!(Cdf::new(0, &[0, 5, 5, TOTAL]).is_err());
        assert!(Cdf::new(0, &[0, 5, TOTAL - 1]).is_err());
        assert!(Cdf::new(i32::MAX, &[0, 5, 9, TOTAL]).is_err());
    }

    #[test]
    fn finds_every_symbol_at_its_bounds() {
        let table = [0, 100, 40000, 65000, TOTAL];
        let cdf = Cdf::new(-1, &table).unwrap();
        for s in 0..4u32 {
            let (start, freq) = cdf.range(s);
            assert_eq!(cdf.find(start), s);
            assert_eq!(cdf.find(start + freq - 1), s);
        }
    }
}
