//! The hyper-decoder of a hyperprior model (CompressAI's `h_s`) in integer arithmetic, so that
//! the Gaussian table each latent value is coded with is picked identically on every machine.
//!
//! `hyper.json` (written by `models/compressai/hyper_int.py`, whose numpy reference this matches
//! bit for bit) holds the layers as integers. Activations are integers at scale `2^F`
//! (`frac_bits`); the input is `z_hat = symbols + medians` as `symbols · 2^F + medians` (medians
//! already at `2^F`). Each convolution or transposed convolution has weights `[out, in, k, k]` at
//! a power-of-two scale `2^shift` per output channel and a bias at `2^(F + shift)`: a value is the
//! 64-bit sum of products plus the bias, shifted right by `shift` with rounding
//! (`(acc + 2^(shift-1)) >> shift`), then ReLU or LeakyReLU (`(x · slope) >> 16` below zero, the
//! product saturating) and clamped to `i32`. A scale's table index is how many of the scale
//! table's first `L - 1` entries (at `2^F`) are below `max(scale, lower_bound)`: CompressAI's
//! `build_indexes` on integers.

use serde::Deserialize;

use crate::error::BundleError;

/// File name of the integer hyper-decoder in a bundle.
pub const HYPER_FILE: &str = "hyper.json";

/// Bits of the LeakyReLU slope's fixed point.
const SLOPE_BITS: u32 = 16;

/// Largest weight magnitude (exclusive), input channels and kernel side: with activations
/// clamped to `i32`, a sum of products and the bias stays inside `i64`.
const WEIGHT_LIMIT: i64 = 1 << 15;
const MAX_INPUTS: usize = 1024;
const MAX_KERNEL: usize = 7;
const BIAS_LIMIT: i64 = 1 << 60;

/// What follows a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Activation {
    None,
    Relu,
    LeakyRelu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Conv,
    Deconv,
}

/// One layer as `hyper.json` has it.
#[derive(Debug, Clone, Deserialize)]
struct Layer {
    kind: Kind,
    #[serde(rename = "in")]
    inputs: usize,
    #[serde(rename = "out")]
    outputs: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
    shift: Vec<u32>,
    bias: Vec<i64>,
    weights: Vec<i64>,
    activation: Activation,
    #[serde(default)]
    slope: i64,
}

/// The integer hyper-decoder and the scale table its outputs index.
#[derive(Debug, Clone, Deserialize)]
pub struct HyperDecoder {
    frac_bits: u32,
    medians: Vec<i64>,
    scale_table: Vec<i64>,
    lower_bound: i64,
    layers: Vec<Layer>,
}

impl HyperDecoder {
    /// Parses and validates `hyper.json` bytes; `source` names the bundle in errors.
    pub fn parse(source: &str, json: &[u8]) -> Result<Self, BundleError> {
        let bad = |reason: String| BundleError::BadMeta {
            source_name: source.to_string(),
            file: HYPER_FILE,
            reason,
        };
        let net: Self = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        net.check().map_err(bad)?;
        Ok(net)
    }

    fn check(&self) -> Result<(), String> {
        if self.frac_bits > 16 {
            return Err(format!("frac_bits {} is over 16", self.frac_bits));
        }
        if self.scale_table.len() < 2 || self.scale_table.len() > 256 {
            return Err(format!(
                "scale_table has {} entries, not 2..=256",
                self.scale_table.len()
            ));
        }
        let first = self.layers.first().ok_or("no layers")?;
        if self.medians.len() != first.inputs {
            return Err(format!(
                "{} medians for {} input channels",
                self.medians.len(),
                first.inputs
            ));
        }
        if self.medians.iter().any(|m| m.abs() >= 1 << 40) {
            return Err("a median is out of range".into());
        }
        for (i, l) in self.layers.iter().enumerate() {
            let bad = |what: &str| Err(format!("layer {i}: {what}"));
            if i > 0 && self.layers[i - 1].outputs != l.inputs {
                return bad("its input channels are not the previous layer's outputs");
            }
            if l.inputs == 0 || l.inputs > MAX_INPUTS || l.outputs == 0 || l.outputs > MAX_INPUTS {
                return bad("channel count not in 1..=1024");
            }
            if l.kernel == 0 || l.kernel > MAX_KERNEL || !(1..=4).contains(&l.stride) {
                return bad("kernel not in 1..=7 or stride not in 1..=4");
            }
            if l.padding >= l.kernel || (l.output_padding > 0 && l.output_padding >= l.stride) {
                return bad("padding not below the kernel or output padding not below the stride");
            }
            if l.kind == Kind::Conv && l.output_padding != 0 {
                return bad("output padding on a convolution");
            }
            if l.weights.len() != l.outputs * l.inputs * l.kernel * l.kernel
                || l.shift.len() != l.outputs
                || l.bias.len() != l.outputs
            {
                return bad("weights, shift or bias of the wrong length");
            }
            if l.weights.iter().any(|w| w.abs() >= WEIGHT_LIMIT)
                || l.bias.iter().any(|b| b.abs() >= BIAS_LIMIT)
                || l.shift.iter().any(|&s| s > 30)
            {
                return bad("a weight, bias or shift out of range");
            }
            if l.activation == Activation::LeakyRelu && !(0..=1 << SLOPE_BITS).contains(&l.slope) {
                return bad("LeakyReLU slope not in 0..=1");
            }
        }
        Ok(())
    }

    /// Channels of `z` it takes.
    pub fn input_channels(&self) -> usize {
        self.layers[0].inputs
    }

    /// Channels it gives: the scales, then (a mean-scale model) the means.
    pub fn output_channels(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// Entries of its scale table: the Gaussian tables its indexes name.
    pub fn scale_table_len(&self) -> usize {
        self.scale_table.len()
    }

    /// An output value (at `2^frac_bits`) as a real number, exactly (a power-of-two scale).
    pub fn real(&self, v: i32) -> f32 {
        v as f32 / (1u32 << self.frac_bits) as f32
    }

    /// The output (`channels x h x w`, at `2^frac_bits`) for the symbols of `z`
    /// (`input_channels x h x w`, channel-major), and its shape; `None` when the plane is empty,
    /// the symbols are not that many, or a layer would leave nothing.
    pub fn run(&self, symbols: &[i32], h: usize, w: usize) -> Option<(Vec<i32>, [usize; 3])> {
        let c = self.input_channels();
        if h == 0 || w == 0 || symbols.len() != c.checked_mul(h)?.checked_mul(w)? {
            return None;
        }
        let plane = h * w;
        let mut x: Vec<i32> = symbols
            .iter()
            .enumerate()
            .map(|(i, &q)| clamp((i64::from(q) << self.frac_bits) + self.medians[i / plane]))
            .collect();
        let mut shape = [c, h, w];
        for layer in &self.layers {
            (x, shape) = layer.run(&x, shape)?;
        }
        Some((x, shape))
    }

    /// The table index of each scale (at `2^frac_bits`).
    pub fn indexes(&self, scales: &[i32]) -> Vec<u8> {
        let table = &self.scale_table[..self.scale_table.len() - 1];
        scales
            .iter()
            .map(|&s| {
                let s = i64::from(s).max(self.lower_bound);
                table.partition_point(|&t| t < s) as u8
            })
            .collect()
    }
}

impl Layer {
    fn run(&self, x: &[i32], [c, h, w]: [usize; 3]) -> Option<(Vec<i32>, [usize; 3])> {
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        debug_assert_eq!(c, self.inputs);
        let (oh, ow) = match self.kind {
            Kind::Conv => (
                (h + 2 * p).checked_sub(k)? / s + 1,
                (w + 2 * p).checked_sub(k)? / s + 1,
            ),
            Kind::Deconv => (
                ((h - 1) * s + k + self.output_padding).checked_sub(2 * p)?,
                ((w - 1) * s + k + self.output_padding).checked_sub(2 * p)?,
            ),
        };
        if oh == 0 || ow == 0 {
            return None;
        }
        let mut acc = vec![0i64; self.outputs * oh * ow];
        for (o, out) in acc.chunks_exact_mut(oh * ow).enumerate() {
            for (i, input) in x.chunks_exact(h * w).enumerate() {
                for dy in 0..k {
                    for dx in 0..k {
                        let wt = self.weights[((o * c + i) * k + dy) * k + dx];
                        if wt == 0 {
                            continue;
                        }
                        match self.kind {
                            // Output (y, x) reads input (y·s + dy − p, x·s + dx − p).
                            Kind::Conv => {
                                let xs = span(ow, w, dx, s, p);
                                if xs.is_empty() {
                                    continue;
                                }
                                for y in span(oh, h, dy, s, p) {
                                    let iy = y * s + dy - p;
                                    axpy(
                                        &mut out[y * ow + xs.start..],
                                        1,
                                        &input[iy * w + xs.start * s + dx - p..],
                                        s,
                                        xs.len(),
                                        wt,
                                    );
                                }
                            }
                            // Input (y, x) adds into output (y·s + dy − p, x·s + dx − p).
                            Kind::Deconv => {
                                let xs = span(w, ow, dx, s, p);
                                if xs.is_empty() {
                                    continue;
                                }
                                for y in span(h, oh, dy, s, p) {
                                    let oy = y * s + dy - p;
                                    axpy(
                                        &mut out[oy * ow + xs.start * s + dx - p..],
                                        s,
                                        &input[y * w + xs.start..],
                                        1,
                                        xs.len(),
                                        wt,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        let y = acc
            .chunks(oh * ow)
            .zip(self.shift.iter().zip(&self.bias))
            .flat_map(|(row, (&shift, &bias))| {
                let half = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
                row.iter().map(move |&a| {
                    let v = (a + bias + half) >> shift;
                    clamp(match self.activation {
                        Activation::None => v,
                        Activation::Relu => v.max(0),
                        Activation::LeakyRelu if v < 0 => {
                            v.saturating_mul(self.slope) >> SLOPE_BITS
                        }
                        Activation::LeakyRelu => v,
                    })
                })
            })
            .collect();
        Some((y, [self.outputs, oh, ow]))
    }
}

/// The positions `j` in `0..n` whose `j·s + d − p` lies in `0..m`: along one axis, the outputs
/// of a convolution that read an input at kernel offset `d`, or the inputs of a transposed
/// convolution that add to an output.
fn span(n: usize, m: usize, d: usize, s: usize, p: usize) -> std::ops::Range<usize> {
    let first = p.saturating_sub(d).div_ceil(s);
    let end = (m + p).saturating_sub(d).div_ceil(s);
    first.min(n)..end.clamp(first.min(n), n)
}

/// `dst[j · dst_step] += weight · src[j · src_step]` for `j` in `0..n`.
fn axpy(dst: &mut [i64], dst_step: usize, src: &[i32], src_step: usize, n: usize, weight: i64) {
    if dst_step == 1 && src_step == 1 {
        for (d, &v) in dst[..n].iter_mut().zip(&src[..n]) {
            *d += weight * i64::from(v);
        }
    } else {
        let dst = dst.iter_mut().step_by(dst_step);
        for (d, &v) in dst.zip(src.iter().step_by(src_step)).take(n) {
            *d += weight * i64::from(v);
        }
    }
}

fn clamp(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}
