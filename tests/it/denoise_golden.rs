//! tract against onnxruntime on the embedded denoiser (`models/denoise/golden/`, made by
//! `models/denoise/golden.py`).

use latent_codec::denoise::Denoiser;
use latent_codec::{Limits, Precision};

use crate::common::{read_f32, repo};

#[test]
fn denoiser_matches_onnxruntime() {
    let dir = repo("models/denoise/golden");
    let input = image::open(dir.join("input.png")).unwrap().to_rgb8();
    let expected = read_f32(&dir.join("output.f32"));
    let (w, h) = (input.width() as usize, input.height() as usize);
    for tile in [0, 32] {
        let out = Denoiser::load(None, 1, Precision::F32, &Limits::default())
            .unwrap()
            .denoise(&input, tile)
            .unwrap();
        let mut worst = 0u8;
        for (i, p) in out.pixels().enumerate() {
            for c in 0..3 {
                let want = (expected[c * w * h + i] * 255.0).round().clamp(0.0, 255.0) as u8;
                worst = worst.max(p.0[c].abs_diff(want));
            }
        }
        eprintln!("tile {tile}: max difference tract vs onnxruntime {worst} / 255");
        assert!(worst <= 1, "tile {tile}: {worst} / 255");
    }
}
