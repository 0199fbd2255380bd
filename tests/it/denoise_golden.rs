//! tract against onnxruntime on both embedded denoisers (`models/denoise-fast/golden/`,
//! `models/denoise-v2/golden/`, made by `models/denoise/golden.py`) and on denoise-v1, the fast
//! model before, as a bundle directory (`models/denoise/`); the embedded denoisers' int8 graphs
//! too (`output.int8.f32`). Each within one 8-bit level, over the whole picture and in tiles.

use latent_codec::denoise::{Denoiser, Embedded, Source};
use latent_codec::{Limits, Precision};

use crate::common::{read_f32, repo};

/// The largest difference, in 8-bit levels, between tract's output at `precision` and
/// onnxruntime's (`golden/OUTPUT` in `dir`), over the whole picture and over tiles of 32.
fn worst_difference(which: Source<'_>, dir: &str, precision: Precision, output: &str) -> u8 {
    let dir = repo(dir).join("golden");
    let input = image::open(dir.join("input.png")).unwrap().to_rgb8();
    let expected = read_f32(&dir.join(output));
    let (w, h) = (input.width() as usize, input.height() as usize);
    let denoiser = Denoiser::load(which, 1, precision, &Limits::default()).unwrap();
    let mut worst = 0u8;
    for tile in [0, 32] {
        let out = denoiser.denoise(&input, tile).unwrap();
        for (i, p) in out.pixels().enumerate() {
            for c in 0..3 {
                let want = (expected[c * w * h + i] * 255.0).round().clamp(0.0, 255.0) as u8;
                worst = worst.max(p.0[c].abs_diff(want));
            }
        }
    }
    eprintln!("{which:?} {precision}: max difference tract vs onnxruntime {worst} / 255");
    worst
}

#[test]
fn denoisers_match_onnxruntime() {
    let v1 = repo("models/denoise");
    for (which, dir) in [
        (Source::Embedded(Embedded::Fast), "models/denoise-fast"),
        (Source::Embedded(Embedded::Quality), "models/denoise-v2"),
        (Source::Dir(&v1), "models/denoise"),
    ] {
        assert!(worst_difference(which, dir, Precision::F32, "output.f32") <= 1);
    }
}

#[test]
fn int8_denoisers_match_onnxruntime() {
    for (which, dir) in [
        (Embedded::Fast, "models/denoise-fast"),
        (Embedded::Quality, "models/denoise-v2"),
    ] {
        let worst = worst_difference(
            Source::Embedded(which),
            dir,
            Precision::Int8,
            "output.int8.f32",
        );
        assert!(worst <= 1, "{which:?}: {worst} / 255");
    }
}
