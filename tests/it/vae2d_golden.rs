//! tract against onnxruntime on the demo VAEs (`models/vae2d/<model>/golden/`, made by
//! `models/vae2d/golden.py`).

use std::path::PathBuf;

use image::GrayImage;
use latent_codec::Limits;
use latent_codec::demos::vae2d::{EMBEDDED, Vae2d};

use crate::common::{max_abs_diff, read_f32, repo};

fn golden_dir(model: &str) -> PathBuf {
    repo(&format!("models/vae2d/{model}/golden"))
}

fn golden(model: &str, name: &str) -> Vec<f32> {
    read_f32(&golden_dir(model).join(format!("{name}.f32")))
}

#[test]
fn encoders_match_onnxruntime() {
    for name in EMBEDDED {
        let model = Vae2d::load(name, 1, &Limits::default()).unwrap();
        let mu: Vec<f32> = model.encode(&golden(name, "images")).unwrap().concat();
        let diff = max_abs_diff(&mu, &golden(name, "mu"));
        eprintln!("{name} encoder: max abs diff tract vs onnxruntime {diff:.2e}");
        assert!(diff < 1e-4, "{name} encoder max abs diff {diff}");
    }
}

#[test]
fn decoders_match_onnxruntime() {
    for name in EMBEDDED {
        let model = Vae2d::load(name, 2, &Limits::default()).unwrap();
        let z: Vec<Vec<f32>> = golden(name, "z").chunks(2).map(<[f32]>::to_vec).collect();
        let pictures = model.decode(&z).unwrap();
        let expected = golden(name, "decoded");
        // The decoder output is quantized to 8 bits here: compare in that domain.
        let got: Vec<f32> = pictures
            .iter()
            .flat_map(GrayImage::pixels)
            .map(|p| f32::from(p.0[0]))
            .collect();
        let want: Vec<f32> = expected
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round())
            .collect();
        let diff = max_abs_diff(&got, &want);
        eprintln!("{name} decoder: max abs diff tract vs onnxruntime {diff} / 255");
        assert!(diff <= 1.0, "{name} decoder max abs diff {diff} / 255");
    }
}
