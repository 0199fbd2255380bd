//! Context tables and a neighbour predictor fitted to a factorized prior's own symbols: what
//! `models/codec/context_tables.py` does for our codecs, for any bundle (one trained elsewhere
//! included) and without Python.
//!
//! Per quality level, [`PredictorFit`] gathers least-squares statistics of each symbol against its
//! left, top, top-left and top-right neighbours and gives integer weights; [`TableCounts`] then
//! counts, per channel and [`Context::NeighboursAndChannels`] class, the symbols minus their
//! guesses, as latent-wire picks classes and guesses when it codes a whole latent (and, for the
//! no-neighbour classes, as it codes the first position of a span), and gives 16-bit tables
//! smoothed towards the factorized ones.

use latent_wire::cdf::{Cdf, TOTAL};
use latent_wire::predict::{INPUT_CAP, Predictor};
use latent_wire::symbols::{CHANNEL_CONTEXT_CLASSES, Context, Tables};

use crate::error::{Error, LatError};
use crate::runtime::bundle::ChannelTable;

/// Power of two the predictor's weights are scaled by.
pub const SHIFT: u32 = 12;
/// Pseudo-observations of the factorized table added to each context table's counts.
const ALPHA: f64 = 16.0;
/// Ridge per position, which keeps a collapsed (all-zero) channel at zero weights.
const RIDGE: f64 = 1e-3;

/// Least-squares statistics of one level's symbols against their four neighbours, per channel.
#[derive(Debug, Clone)]
pub struct PredictorFit {
    gram: Vec<[[f64; 4]; 4]>,
    cross: Vec<[f64; 4]>,
    positions: f64,
}

impl PredictorFit {
    /// No statistics yet, for `channels` channels.
    pub fn new(channels: usize) -> Self {
        Self {
            gram: vec![[[0.0; 4]; 4]; channels],
            cross: vec![[0.0; 4]; channels],
            positions: 0.0,
        }
    }

    /// Adds a channel-major latent of `height x width` positions (neighbours off the plane count
    /// as 0, values clamped as the predictor clamps them).
    pub fn add(&mut self, latent: &[i32], height: usize, width: usize) {
        let plane = height * width;
        for (c, values) in latent.chunks_exact(plane).enumerate() {
            let at =
                |y: usize, x: usize| f64::from(values[y * width + x].clamp(-INPUT_CAP, INPUT_CAP));
            for y in 0..height {
                for x in 0..width {
                    let near = [
                        if x > 0 { at(y, x - 1) } else { 0.0 },
                        if y > 0 { at(y - 1, x) } else { 0.0 },
                        if x > 0 && y > 0 {
                            at(y - 1, x - 1)
                        } else {
                            0.0
                        },
                        if x + 1 < width && y > 0 {
                            at(y - 1, x + 1)
                        } else {
                            0.0
                        },
                    ];
                    let v = f64::from(values[y * width + x]);
                    for i in 0..4 {
                        for j in 0..4 {
                            self.gram[c][i][j] += near[i] * near[j];
                        }
                        self.cross[c][i] += near[i] * v;
                    }
                }
            }
        }
        self.positions += plane as f64;
    }

    /// The weights, channel after channel (left, top, top-left, top-right), scaled by
    /// 2^[`SHIFT`] and rounded to 16-bit integers.
    pub fn weights(&self) -> Vec<i16> {
        let ridge = RIDGE * self.positions;
        self.gram
            .iter()
            .zip(&self.cross)
            .flat_map(|(gram, cross)| {
                let mut a = *gram;
                for (i, row) in a.iter_mut().enumerate() {
                    row[i] += ridge;
                }
                solve(a, *cross).map(|w| {
                    (w * f64::from(1u32 << SHIFT))
                        .round()
                        .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
                })
            })
            .collect()
    }
}

/// `x` with `a x = b` (Gaussian elimination with partial pivoting; `a` positive definite here).
fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> [f64; 4] {
    for col in 0..4 {
        let pivot = (col..4)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..4 {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 4];
    for row in (0..4).rev() {
        let rest: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x
}

/// Counts of one level's symbols minus their guesses, per channel and context class, over the
/// ranges of the level's factorized tables (the last bin is the escape).
#[derive(Debug, Clone)]
pub struct TableCounts {
    factorized: Vec<ChannelTable>,
    weights: Vec<i16>,
    counts: Vec<Vec<f64>>,
}

impl TableCounts {
    /// No counts yet, for tables over `factorized`'s ranges (one table per channel) with the
    /// predictor `weights` ([`PredictorFit::weights`]).
    pub fn new(factorized: &[ChannelTable], weights: Vec<i16>) -> Self {
        let counts = factorized
            .iter()
            .flat_map(|t| std::iter::repeat_n(vec![0.0; t.cdf.len() - 1], CHANNEL_CONTEXT_CLASSES))
            .collect();
        Self {
            factorized: factorized.to_vec(),
            weights,
            counts,
        }
    }

    /// Adds a channel-major latent of `height x width` positions: classes 0..=10 count each
    /// value in the class it takes in a whole latent, classes 11..=13 (no neighbour known, the
    /// first position of a span) count every value in the class it would take there.
    pub fn add(&mut self, latent: &[i32], height: usize, width: usize) -> Result<(), Error> {
        let wire = |e| Error::from(LatError::Wire(e));
        let Self {
            factorized,
            weights,
            counts,
        } = self;
        let channels = factorized.len();
        // Tables only pick classes here: one placeholder table per class will do.
        const PLACEHOLDER: [u32; 3] = [0, TOTAL / 2, TOTAL];
        let one = Cdf::new(0, &PLACEHOLDER).map_err(wire)?;
        let cdfs = vec![one; channels * CHANNEL_CONTEXT_CLASSES];
        let tables = Tables::new(&cdfs, Context::NeighboursAndChannels, width, height)
            .map_err(wire)?
            .with_predictor(Predictor::new(weights, SHIFT).map_err(wire)?)
            .map_err(wire)?;
        let plane = height * width;
        for p in 0..plane {
            let mut earlier = 0;
            for c in 0..channels {
                let value = latent[c * plane + p];
                let (class, guess) = tables.context_of(latent, (c, p, 0), earlier);
                let mut count = |class: usize, guess: i64| {
                    let bins = &mut counts[c * CHANNEL_CONTEXT_CLASSES + class];
                    let escape = bins.len() - 1;
                    let at = i64::from(value) - guess - i64::from(factorized[c].offset);
                    bins[usize::try_from(at).map_or(escape, |i| i.min(escape))] += 1.0;
                };
                if class < 11 {
                    count(class, guess);
                }
                let (alone, guess) = tables.context_of(latent, (c, p, p), earlier);
                count(alone, guess);
                earlier += u32::from(value != 0);
            }
        }
        Ok(())
    }

    /// The context tables ([`CHANNEL_CONTEXT_CLASSES`] per channel, channel-major): counts plus
    /// [`ALPHA`] times the factorized table, as integer frequencies of at least 1 summing to
    /// 2^16.
    pub fn tables(&self) -> Vec<ChannelTable> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, counts)| {
                let learned = &self.factorized[i / CHANNEL_CONTEXT_CLASSES];
                let weights: Vec<f64> = counts
                    .iter()
                    .zip(learned.cdf.windows(2))
                    .map(|(n, w)| n + ALPHA * f64::from(w[1] - w[0]) / f64::from(TOTAL))
                    .collect();
                let mut cdf = vec![0];
                for f in frequencies(&weights, TOTAL) {
                    cdf.push(cdf.last().copied().unwrap_or(0) + f);
                }
                ChannelTable {
                    offset: learned.offset,
                    cdf,
                }
            })
            .collect()
    }
}

/// Integer frequencies of at least 1 summing to `total`, close to `weights` (largest remainder).
fn frequencies(weights: &[f64], total: u32) -> Vec<u32> {
    let n = weights.len();
    let sum: f64 = weights.iter().sum();
    let room = f64::from(total) - n as f64;
    let scaled: Vec<f64> = weights.iter().map(|w| w / sum * room).collect();
    let mut freqs: Vec<u32> = scaled.iter().map(|s| s.floor() as u32 + 1).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        (scaled[b] - scaled[b].floor()).total_cmp(&(scaled[a] - scaled[a].floor()))
    });
    let rest = total - freqs.iter().sum::<u32>();
    for i in 0..rest as usize {
        freqs[order[i % n]] += 1;
    }
    freqs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_sum_to_the_total_and_are_never_zero() {
        for weights in [vec![1.0, 0.0, 3.0], vec![1e-9; 5], vec![7.0; 1000]] {
            let f = frequencies(&weights, TOTAL);
            assert_eq!(f.iter().sum::<u32>(), TOTAL);
            assert!(f.iter().all(|&v| v >= 1));
        }
        let f = frequencies(&[1.0, 3.0], TOTAL);
        assert!((f64::from(f[1]) / f64::from(f[0]) - 3.0).abs() < 1e-3);
    }

    #[test]
    fn the_predictor_learns_a_horizontal_ramp() {
        // Each row counts up from its start: the left neighbour plus one, so the fit leans on
        // the left (and on top minus top-left, the same step).
        let (h, w) = (12, 16);
        let latent: Vec<i32> = (0..h * w).map(|i| ((i % w) + 3 * (i / w)) as i32).collect();
        let mut fit = PredictorFit::new(1);
        fit.add(&latent, h, w);
        let weights = fit.weights();
        let guess = |y: usize, x: usize| {
            let v = |y: usize, x: usize| f64::from(latent[y * w + x]);
            let near = [v(y, x - 1), v(y - 1, x), v(y - 1, x - 1), v(y - 1, x + 1)];
            near.iter()
                .zip(&weights)
                .map(|(n, &k)| n * f64::from(k))
                .sum::<f64>()
                / 4096.0
        };
        assert!(
            (guess(5, 7) - f64::from(latent[5 * w + 7])).abs() < 0.5,
            "{weights:?}"
        );
    }

    #[test]
    fn counts_make_valid_tables_that_favour_what_was_seen() {
        let factorized = vec![ChannelTable {
            offset: -2,
            cdf: vec![0, 10_000, 20_000, 45_000, 55_000, 65_000, TOTAL],
        }];
        let mut counts = TableCounts::new(&factorized, vec![0; 4]);
        let latent = vec![0; 8 * 8];
        counts.add(&latent, 8, 8).unwrap();
        let tables = counts.tables();
        assert_eq!(tables.len(), CHANNEL_CONTEXT_CLASSES);
        for t in &tables {
            Cdf::new(t.offset, &t.cdf).unwrap();
        }
        // Zeros everywhere: class 0 (quiet neighbours) gives 0 (index 2) most of the mass (63
        // counts against 16 pseudo-counts; the factorized table gave it 25,000 of 65,536).
        let zero = tables[0].cdf[3] - tables[0].cdf[2];
        assert!(zero > 50_000, "{:?}", tables[0].cdf);
    }
}
