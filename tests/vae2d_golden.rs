//! tract against onnxruntime on the demo VAEs (`models/vae2d/<model>/golden/`, made by
//! `models/vae2d/golden.py`).

use std::path::{Path, PathBuf};

use image::GrayImage;
use latent_codec::Limits;
use latent_codec::vae2d::{EMBEDDED, Vae2d};

fn golden_dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("models/vae2d/{model}/golden"))
}

fn read_f32(model: &str, name: &str) -> Vec<f32> {
    std::fs::read(golden_dir(model).join(format!("{name}.f32")))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn encoders_match_onnxruntime() {
    for name in EMBEDDED {
        let model = Vae2d::load(name, 1, &Limits::default()).unwrap();
        let mu: Vec<f32> = model.encode(&read_f32(name, "images")).unwrap().concat();
        let diff = max_abs_diff(&mu, &read_f32(name, "mu"));
        eprintln!("{name} encoder: max abs diff tract vs onnxruntime {diff:.2e}");
        assert!(diff < 1e-4, "{name} encoder max abs diff {diff}");
    }
}

#[test]
fn decoders_match_onnxruntime() {
    for name in EMBEDDED {
        let model = Vae2d::load(name, 2, &Limits::default()).unwrap();
        let z: Vec<Vec<f32>> = read_f32(name, "z").chunks(2).map(<[f32]>::to_vec).collect();
        let pictures = model.decode(&z).unwrap();
        let expected = read_f32(name, "decoded");
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
