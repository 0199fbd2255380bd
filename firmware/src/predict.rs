//! Integer linear prediction of a latent value from its neighbours in the same channel.
//!
//! A [`Predictor`] guesses the value at position `p` of channel `c` from the left, top, top-left
//! and top-right values of channel `c`, with integer weights per channel and a power-of-two
//! scale. The coder then codes the value minus the guess, which is smaller where a channel is
//! smooth across positions. Integer arithmetic only, so every machine guesses the same.

use crate::WireError;

/// Weights per channel: left, top, top-left, top-right.
pub const WEIGHTS_PER_CHANNEL: usize = 4;

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

    /// The guess for position `p` of channel `c` of a channel-major `latent` of planes of
    /// `plane` positions, `width` per row. A neighbour is known when it lies on the plane at or
    /// after position `first` (the start of a span); unknown ones count as 0.
    pub(crate) fn guess(
        &self,
        latent: &[i32],
        (c, p, first): (usize, usize, usize),
        width: usize,
        plane: usize,
    ) -> i64 {
        let w = &self.weights[c * WEIGHTS_PER_CHANNEL..][..WEIGHTS_PER_CHANNEL];
        let x = p % width;
        let top = p.checked_sub(width);
        let near = [
            (x > 0).then(|| p - 1),
            top,
            top.filter(|_| x > 0).map(|q| q - 1),
            top.filter(|_| x + 1 < width).map(|q| q + 1),
        ];
        let base = c * plane;
        let sum: i64 = near
            .iter()
            .zip(w)
            .filter_map(|(q, &wt)| {
                q.filter(|&q| q >= first).map(|q| {
                    i64::from(wt) * i64::from(latent[base + q].clamp(-INPUT_CAP, INPUT_CAP))
                })
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
        // Channel 1 of a 3 x 2 plane: left + top / 2 - top-left / 4 + top-right / 8.
        let w = [0, 0, 0, 0, 256, 128, -64, 32];
        let pred = Predictor::new(&w, 8).unwrap();
        let latent = [9, 9, 9, 9, 9, 9, 8, 16, 24, 40, 7, 1];
        let guess = |p, first| pred.guess(&latent, (1, p, first), 3, 6);
        // Position 4 (x = 1): 40 + 16 / 2 - 8 / 4 + 24 / 8 = 49.
        assert_eq!(guess(4, 0), 49);
        // From a span starting at 4, none of them is known: 0.
        assert_eq!(guess(4, 4), 0);
        // Position 3 (left edge): top and top-right, 8 / 2 + 16 / 8 = 6.
        assert_eq!(guess(3, 0), 6);
        // Position 5 (right edge): 7 + 24 / 2 - 16 / 4 = 15.
        assert_eq!(guess(5, 0), 15);
        // Position 1 (top row): 8 from the left; halves round up: 1 / 2 -> 1, -1 / 2 -> 0.
        assert_eq!(guess(1, 0), 8);
        let halves = Predictor::new(&[0, 0, 0, 0, 128, 0, 0, 0], 8).unwrap();
        assert_eq!(halves.guess(&[0, 0, 0, 1, 0, 0], (1, 1, 0), 3, 3), 1);
        assert_eq!(halves.guess(&[0, 0, 0, -1, 0, 0], (1, 1, 0), 3, 3), 0);
        // Escaped values are clamped before they are weighted.
        assert_eq!(
            halves.guess(&[0, 0, 0, i32::MIN, 0, 0], (1, 1, 0), 3, 3),
            -i64::from(INPUT_CAP) / 2
        );
    }
}
