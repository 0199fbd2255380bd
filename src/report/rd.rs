//! Rate-distortion analysis: Pareto curves, PSNR at a rate, BD-rate, and the summary of an
//! evaluation (ours against WebP and JPEG over a set of images).

use serde::Serialize;

/// One coded version of an image: bits per pixel and PSNR-RGB.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Point {
    /// Bits per pixel of the whole file.
    pub bpp: f64,
    /// PSNR-RGB, dB.
    pub psnr: f64,
}

/// The codecs an evaluation compares, in the order a summary lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Coder {
    /// This project's codec.
    Latent,
    /// WebP (libwebp, method 6).
    Webp,
    /// Baseline JPEG (the `image` crate).
    Jpeg,
}

impl Coder {
    /// Every coder, in summary order.
    pub const ALL: [Coder; 3] = [Coder::Latent, Coder::Webp, Coder::Jpeg];

    /// The name in CSV and JSON rows.
    pub fn name(self) -> &'static str {
        match self {
            Coder::Latent => "latent",
            Coder::Webp => "webp",
            Coder::Jpeg => "jpeg",
        }
    }
}

/// One coded version of one image.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The image's name.
    pub image: String,
    /// Who coded it.
    pub coder: Coder,
    /// The coder's quality setting.
    pub setting: u8,
    /// Its rate and PSNR.
    pub point: Point,
}

/// Per quality of ours: what it spends and gives, and how it stands against WebP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityRow {
    /// The quality.
    pub quality: u8,
    /// Mean bpp over the images.
    pub bpp: f64,
    /// Mean PSNR over the images.
    pub psnr: f64,
    /// Mean of (ours − WebP at the same bpp) over the images whose WebP curve reaches it.
    pub minus_webp_db: Option<f64>,
    /// How many images that mean is over.
    pub compared: usize,
}

/// An evaluation's samples with each image's Pareto curve per coder.
pub struct Summary<'a> {
    samples: &'a [Sample],
    /// Image names in first-seen order, each with its curve per coder (in [`Coder::ALL`] order).
    curves: Vec<(&'a str, [Vec<Point>; 3])>,
}

impl<'a> Summary<'a> {
    /// The curves of `samples`.
    pub fn of(samples: &'a [Sample]) -> Self {
        let mut names: Vec<&str> = Vec::new();
        for s in samples {
            if !names.contains(&s.image.as_str()) {
                names.push(&s.image);
            }
        }
        let curves = names
            .into_iter()
            .map(|name| {
                let curves = Coder::ALL.map(|c| {
                    let points: Vec<Point> = samples
                        .iter()
                        .filter(|s| s.image == name && s.coder == c)
                        .map(|s| s.point)
                        .collect();
                    pareto(&points)
                });
                (name, curves)
            })
            .collect();
        Self { samples, curves }
    }

    /// How many images.
    pub fn images(&self) -> usize {
        self.curves.len()
    }

    fn settings(&self, coder: Coder) -> Vec<u8> {
        let mut settings: Vec<u8> = self
            .samples
            .iter()
            .filter(|s| s.coder == coder)
            .map(|s| s.setting)
            .collect();
        settings.sort_unstable();
        settings.dedup();
        settings
    }

    /// The mean bpp and mean PSNR of each of `coder`'s settings over the images that have it.
    pub fn mean_curve(&self, coder: Coder) -> Vec<Point> {
        self.settings(coder)
            .into_iter()
            .map(|setting| {
                let (mut bpp, mut psnr, mut n) = (0.0, 0.0, 0.0);
                for s in self
                    .samples
                    .iter()
                    .filter(|s| s.coder == coder && s.setting == setting)
                {
                    bpp += s.point.bpp;
                    psnr += s.point.psnr;
                    n += 1.0;
                }
                Point {
                    bpp: bpp / n,
                    psnr: psnr / n,
                }
            })
            .collect()
    }

    /// Mean PSNR of `coder` at `bpp` over the images whose curves of `coder` and of every coder
    /// in `with` reach it, and how many images that is.
    pub fn mean_at(&self, coder: Coder, with: &[Coder], bpp: f64) -> (Option<f64>, usize) {
        let values: Vec<f64> = self
            .curves
            .iter()
            .filter(|(_, c)| with.iter().all(|&j| psnr_at(&c[j as usize], bpp).is_some()))
            .filter_map(|(_, c)| psnr_at(&c[coder as usize], bpp))
            .collect();
        let n = values.len();
        ((n > 0).then(|| values.iter().sum::<f64>() / n as f64), n)
    }

    /// One row per quality of ours.
    pub fn per_quality(&self) -> Vec<QualityRow> {
        self.settings(Coder::Latent)
            .into_iter()
            .map(|quality| {
                let ours: Vec<&Sample> = self
                    .samples
                    .iter()
                    .filter(|s| s.coder == Coder::Latent && s.setting == quality)
                    .collect();
                let n = ours.len() as f64;
                let deltas: Vec<f64> = ours
                    .iter()
                    .filter_map(|s| {
                        let (_, curves) = self.curves.iter().find(|(name, _)| *name == s.image)?;
                        let webp = psnr_at(&curves[Coder::Webp as usize], s.point.bpp)?;
                        Some(s.point.psnr - webp)
                    })
                    .collect();
                let compared = deltas.len();
                QualityRow {
                    quality,
                    bpp: ours.iter().map(|s| s.point.bpp).sum::<f64>() / n,
                    psnr: ours.iter().map(|s| s.point.psnr).sum::<f64>() / n,
                    minus_webp_db: (compared > 0)
                        .then(|| deltas.iter().sum::<f64>() / compared as f64),
                    compared,
                }
            })
            .collect()
    }

    /// Per image whose curves overlap: BD-rate of ours against WebP, in percent.
    pub fn bd_rates(&self) -> Vec<(&'a str, f64)> {
        self.curves
            .iter()
            .filter_map(|(name, c)| {
                let bd = bd_rate(&c[Coder::Webp as usize], &c[Coder::Latent as usize])?;
                Some((*name, bd))
            })
            .collect()
    }

    /// The image where ours does worst against WebP (highest BD-rate).
    pub fn worst(&self) -> Option<(&'a str, f64)> {
        self.bd_rates()
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The mean of [`Summary::bd_rates`].
    pub fn mean_bd_rate(&self) -> Option<f64> {
        let v = self.bd_rates();
        (!v.is_empty()).then(|| v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64)
    }
}

/// The points of `points` that no other point beats (fewer or equal bits and higher PSNR),
/// sorted by bpp: a curve on which PSNR rises with bpp.
pub fn pareto(points: &[Point]) -> Vec<Point> {
    let mut sorted: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.bpp > 0.0 && p.bpp.is_finite() && p.psnr.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.bpp.total_cmp(&b.bpp).then(b.psnr.total_cmp(&a.psnr)));
    let mut front: Vec<Point> = Vec::new();
    for p in sorted {
        if front.last().is_none_or(|last| p.psnr > last.psnr) {
            front.push(p);
        }
    }
    front
}

/// PSNR of `curve` (a [`pareto`] front) at `bpp`, interpolated linearly in log(bpp); `None`
/// outside the curve's range (no extrapolation).
pub fn psnr_at(curve: &[Point], bpp: f64) -> Option<f64> {
    let x = bpp.ln();
    curve.windows(2).find_map(|w| {
        let (a, b) = (w[0].bpp.ln(), w[1].bpp.ln());
        (a..=b)
            .contains(&x)
            .then(|| w[0].psnr + (w[1].psnr - w[0].psnr) * (x - a) / (b - a))
    })
}

/// log(bpp) of `curve` at `psnr`, interpolated linearly (the curve's inverse).
fn log_rate_at(curve: &[Point], psnr: f64) -> Option<f64> {
    curve.windows(2).find_map(|w| {
        let (a, b) = (w[0].bpp.ln(), w[1].bpp.ln());
        (w[0].psnr..=w[1].psnr)
            .contains(&psnr)
            .then(|| a + (b - a) * (psnr - w[0].psnr) / (w[1].psnr - w[0].psnr))
    })
}

/// Bjøntegaard delta rate of `test` against `anchor` ([`pareto`] fronts), in percent: the mean
/// bitrate difference at equal PSNR over the PSNR range both curves cover (negative: `test`
/// needs fewer bits). Log-rate is interpolated piecewise linearly in PSNR, as the pchip
/// variant does, instead of a cubic fit that oscillates on long curves. `None` when the
/// curves do not overlap.
pub fn bd_rate(anchor: &[Point], test: &[Point]) -> Option<f64> {
    const STEPS: usize = 1000;
    let lo = anchor.first()?.psnr.max(test.first()?.psnr);
    let hi = anchor.last()?.psnr.min(test.last()?.psnr);
    if hi <= lo {
        return None;
    }
    let mut sum = 0.0;
    for i in 0..=STEPS {
        let p = lo + (hi - lo) * i as f64 / STEPS as f64;
        let weight = if i == 0 || i == STEPS { 0.5 } else { 1.0 };
        sum += weight * (log_rate_at(test, p)? - log_rate_at(anchor, p)?);
    }
    Some(((sum / STEPS as f64).exp() - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(f64, f64)]) -> Vec<Point> {
        pareto(
            &points
                .iter()
                .map(|&(bpp, psnr)| Point { bpp, psnr })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn pareto_drops_dominated_points_and_sorts() {
        let c = curve(&[
            (0.5, 30.0),
            (0.2, 28.0),
            (0.6, 29.0),
            (1.0, 33.0),
            (0.0, 10.0),
        ]);
        let bpps: Vec<f64> = c.iter().map(|p| p.bpp).collect();
        assert_eq!(bpps, [0.2, 0.5, 1.0]);
    }

    #[test]
    fn psnr_at_interpolates_in_log_bpp_and_never_extrapolates() {
        let c = curve(&[(0.25, 30.0), (1.0, 36.0)]);
        // 0.5 is halfway between 0.25 and 1.0 in log scale.
        assert!((psnr_at(&c, 0.5).unwrap() - 33.0).abs() < 1e-9);
        assert_eq!(psnr_at(&c, 0.25), Some(30.0));
        assert_eq!(psnr_at(&c, 0.2), None);
        assert_eq!(psnr_at(&c, 1.1), None);
    }

    #[test]
    fn bd_rate_of_a_curve_at_half_the_bits_is_minus_fifty_percent() {
        let anchor = curve(&[(0.2, 28.0), (0.4, 31.0), (0.8, 34.0), (1.6, 37.0)]);
        let half: Vec<Point> = anchor
            .iter()
            .map(|p| Point {
                bpp: p.bpp / 2.0,
                psnr: p.psnr,
            })
            .collect();
        assert!((bd_rate(&anchor, &half).unwrap() + 50.0).abs() < 1e-6);
        assert!((bd_rate(&half, &anchor).unwrap() - 100.0).abs() < 1e-6);
        assert!(bd_rate(&anchor, &anchor).unwrap().abs() < 1e-9);
    }

    #[test]
    fn bd_rate_needs_overlapping_psnr() {
        let a = curve(&[(0.2, 20.0), (0.4, 22.0)]);
        let b = curve(&[(0.2, 30.0), (0.4, 32.0)]);
        assert_eq!(bd_rate(&a, &b), None);
    }

    fn sample(image: &str, coder: Coder, setting: u8, bpp: f64, psnr: f64) -> Sample {
        Sample {
            image: image.into(),
            coder,
            setting,
            point: Point { bpp, psnr },
        }
    }

    /// Two images; on each, ours reaches WebP's PSNR at half its bits, and image "b" is 2 dB
    /// harder for both. Ours has qualities 1 and 2, WebP settings 10..40.
    fn two_images() -> Vec<Sample> {
        let mut v = Vec::new();
        for (image, offset) in [("a", 0.0), ("b", -2.0)] {
            for (i, (bpp, psnr)) in [(0.2, 28.0), (0.4, 31.0), (0.8, 34.0), (1.6, 37.0)]
                .into_iter()
                .enumerate()
            {
                v.push(sample(
                    image,
                    Coder::Webp,
                    10 * (i as u8 + 1),
                    bpp,
                    psnr + offset,
                ));
            }
            v.push(sample(image, Coder::Latent, 1, 0.2, 31.0 + offset));
            v.push(sample(image, Coder::Latent, 2, 0.4, 34.0 + offset));
        }
        v.push(sample("a", Coder::Jpeg, 50, 1.0, 30.0));
        v
    }

    #[test]
    fn summary_per_quality_compares_with_webp_at_the_same_bpp() {
        let samples = two_images();
        let s = Summary::of(&samples);
        assert_eq!(s.images(), 2);
        let rows = s.per_quality();
        assert_eq!(rows.len(), 2);
        // Quality 1: 0.2 bpp, where WebP gives 28 (a) and 26 (b): +3 dB on both.
        assert_eq!(rows[0].quality, 1);
        assert!((rows[0].bpp - 0.2).abs() < 1e-12);
        assert!((rows[0].psnr - 30.0).abs() < 1e-12);
        assert!((rows[0].minus_webp_db.unwrap() - 3.0).abs() < 1e-9);
        assert_eq!(rows[0].compared, 2);
    }

    #[test]
    fn summary_bd_rate_mean_at_and_worst() {
        let samples = two_images();
        let s = Summary::of(&samples);
        let bd = s.bd_rates();
        assert_eq!(bd.len(), 2);
        for (_, v) in &bd {
            assert!((v + 50.0).abs() < 1e-6, "{v}");
        }
        assert!((s.mean_bd_rate().unwrap() + 50.0).abs() < 1e-6);
        assert!(s.worst().is_some());
        // At 0.3 bpp both images have both curves: ours at log-midpoint of 31 and 34 (a).
        let (ours, n) = s.mean_at(Coder::Latent, &[Coder::Webp], 0.2f64.sqrt() * 0.4f64.sqrt());
        assert_eq!(n, 2);
        assert!((ours.unwrap() - 31.5).abs() < 1e-9);
        // Ours does not reach 1 bpp: no image counts there.
        assert_eq!(s.mean_at(Coder::Latent, &[], 1.0), (None, 0));
        // JPEG has one point on one image: no curve to interpolate.
        assert_eq!(s.mean_at(Coder::Jpeg, &[], 1.0).1, 0);
        let mean = s.mean_curve(Coder::Latent);
        assert_eq!(mean.len(), 2);
        assert!((mean[1].psnr - 33.0).abs() < 1e-12);
    }
}
