//! tract against onnxruntime on both embedded denoisers (`models/denoise-fast/golden/`,
//! `models/denoise-v2/golden/`, made by `models/denoise/golden.py`) and on denoise-v1, the fast
//! model before, as a bundle directory (`models/denoise/`).

use latent_codec::denoise::{Denoiser, Embedded, Source};
use latent_codec::{Limits, Precision};

use crate::common::{read_f32, repo};

#[test]
fn denoisers_match_onnxruntime() {
    let v1 = repo("models/denoise");
    for (which, dir) in [
        (Source::Embedded(Embedded::Fast), "models/denoise-fast"),
        (Source::Embedded(Embedded::Quality), "models/denoise-v2"),
        (Source::Dir(&v1), "models/denoise"),
    ] {
        let dir = repo(dir).join("golden");
        let input = image::open(dir.join("input.png")).unwrap().to_rgb8();
        let expected = read_f32(&dir.join("output.f32"));
        let (w, h) = (input.width() as usize, input.height() as usize);
        let denoiser = Denoiser::load(which, 1, Precision::F32, &Limits::default()).unwrap();
        for tile in [0, 32] {
            let out = denoiser.denoise(&input, tile).unwrap();
            let mut worst = 0u8;
            for (i, p) in out.pixels().enumerate() {
                for c in 0..3 {
                    let want = (expected[c * w * h + i] * 255.0).round().clamp(0.0, 255.0) as u8;
                    worst = worst.max(p.0[c].abs_diff(want));
                }
            }
            eprintln!("{which:?}, tile {tile}: max difference tract vs onnxruntime {worst} / 255");
            assert!(worst <= 1, "{which:?}, tile {tile}: {worst} / 255");
        }
    }
}
