//! Integer linear prediction of a latent value from its neighbours in the same channel.
//!
//! A [`Predictor`] guesses the value at position `p` of channel `c` from the left, top, top-left
//! and top-right values of channel `c`, with integer weights per channel and a power-of-two
//! scale. The coder then codes the value minus the guess, which is smaller where a channel is
//! smooth across positions. Integer arithmetic only, so every machine guesses the same.

use crate::WireError;

/// Weights per channel: left, top, top-left, top-right.
pub const WEIGHTS_PER_CHANNEL: usize = 4;

/// The left, top, top-left and top-right values of a position in its channel; `None` where
/// not known (off the plane, or before the start of a span).
pub(crate) type Neighbours = [Option<i32>; WEIGHTS_PER_CHANNEL];

/// Values are clamped to `±INPUT_CAP` before they are weighted (no overflow on escaped values).
pub const INPUT_CAP: i32 = 4096;

/// A guess is clamped to `±GUESS_CAP`.
pub const GUESS_CAP: i64 = 1 << 16;

/// Largest scale exponent a predictor may have.
pub const MAX_SHIFT: u32 = 24;

/// Validated weights: [`WEIGHTS_PER_CHANNEL`] per channel (left, top, top-left, top-right),
/// channel after channel, and the power of two they are scaled by.
#[derive(Debug, Clone, Copy)]
pub struct Predictor<'w> {
    weights: &'w [i16],
    shift: u32,
}

impl<'w> Predictor<'w> {
    /// Checks that `weights` holds whole channels and that `shift` lies in `1..=MAX_SHIFT`. The
    /// guess is `(Σ weight · neighbour + 2^(shift−1)) >> shift` over the known neighbours.
    pub fn new(weights: &'w [i16], shift: u32) -> Result<Self, WireError> {
        if weights.is_empty() || !weights.len().is_multiple_of(WEIGHTS_PER_CHANNEL) {
            return Err(WireError::ShapeMismatch {
                reason: "predictor weights are not 4 per channel",
            });
        }
        if !(1..=MAX_SHIFT).contains(&shift) {
            return Err(WireError::InvalidField {
                field: "predictor shift",
                value: shift,
            });
        }
        Ok(Self { weights, shift })
    }

    /// Channels this predictor is made for.
    pub fn channels(&self) -> usize {
        self.weights.len() / WEIGHTS_PER_CHANNEL
    }

    /// The guess for a value of channel `c` whose known neighbours are `near`.
    pub(crate) fn guess(&self, c: usize, near: &Neighbours) -> i64 {
        let w = &self.weights[c * WEIGHTS_PER_CHANNEL..][..WEIGHTS_PER_CHANNEL];
        let sum: i64 = near
            .iter()
            .zip(w)
            .filter_map(|(v, &w)| {
                v.map(|v| i64::from(w) * i64::from(v.clamp(-INPUT_CAP, INPUT_CAP)))
            })
            .sum();
        ((sum + (1 << (self.shift - 1))) >> self.shift).clamp(-GUESS_CAP, GUESS_CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_shift_are_checked() {
        let w = [0i16; 8];
        assert_eq!(Predictor::new(&w, 8).unwrap().channels(), 2);
        assert!(Predictor::new(&w[..7], 8).is_err());
        assert!(Predictor::new(&[], 8).is_err());
        assert!(Predictor::new(&w, 0).is_err());
        assert!(Predictor::new(&w, MAX_SHIFT + 1).is_err());
    }

    #[test]
    fn guesses_from_the_known_neighbours() {
        // Channel 1: left + top / 2 - top-left / 4 + top-right / 8.
        let w = [0, 0, 0, 0, 256, 128, -64, 32];
        let pred = Predictor::new(&w, 8).unwrap();
        // 40 + 16 / 2 - 8 / 4 + 24 / 8 = 49.
        assert_eq!(pred.guess(1, &[Some(40), Some(16), Some(8), Some(24)]), 49);
        assert_eq!(pred.guess(0, &[Some(40), Some(16), Some(8), Some(24)]), 0);
        // Only the known ones count: 16 / 2 + 24 / 8 = 11.
        assert_eq!(pred.guess(1, &[None, Some(16), None, Some(24)]), 11);
        assert_eq!(pred.guess(1, &[None; 4]), 0);
        // Halves round up: 1 / 2 -> 1, -1 / 2 -> 0, -3 / 2 -> -1.
        let halves = Predictor::new(&[128, 0, 0, 0], 8).unwrap();
        let left = |v| halves.guess(0, &[Some(v), None, None, None]);
        assert_eq!((left(1), left(-1), left(-3)), (1, 0, -1));
        // Escaped values are clamped before they are weighted.
        assert_eq!(left(i32::MIN), -i64::from(INPUT_CAP) / 2);
        let big = Predictor::new(&[i16::MAX; 4], 1).unwrap();
        assert_eq!(big.guess(0, &[Some(i32::MAX); 4]), GUESS_CAP);
    }
}
