//! tract against onnxruntime: the embedded codec graphs on the golden input
//! (`models/codec/golden/`, made by `models/codec/golden.py`).

use std::path::PathBuf;

use latent_codec::ModelBundle;
use latent_codec::runtime::engine::{Graph, executor};

use crate::common::{max_abs_diff, read_f32, repo};

fn golden_dir() -> PathBuf {
    repo("models/codec/golden")
}

fn golden(name: &str) -> Vec<f32> {
    read_f32(&golden_dir().join(name))
}

fn shape(name: &str) -> [usize; 4] {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden_dir().join("golden.json")).unwrap()).unwrap();
    let dims: Vec<usize> = serde_json::from_value(meta["shapes"][name].clone()).unwrap();
    dims.try_into().unwrap()
}

fn input_planes() -> Vec<f32> {
    let rgb = image::open(golden_dir().join("input.png"))
        .unwrap()
        .to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let mut planes = vec![0f32; 3 * w * h];
    for (i, p) in rgb.pixels().enumerate() {
        for c in 0..3 {
            planes[c * w * h + i] = f32::from(p.0[c]) / 255.0;
        }
    }
    planes
}

#[test]
fn encoder_matches_onnxruntime() {
    let bundle = ModelBundle::embedded().unwrap();
    let graph = Graph::load("encoder", &bundle.encoder_onnx, executor(1)).unwrap();
    let input_shape = [1, 3, shape("decoder_image")[2], shape("decoder_image")[3]];
    let (out_shape, mu) = graph.run(&input_shape, input_planes(), false).unwrap();
    assert_eq!(out_shape, shape("encoder_mu"));
    let diff = max_abs_diff(&mu, &golden("encoder_mu.f32"));
    eprintln!("encoder: max abs diff tract vs onnxruntime {diff:.2e}");
    assert!(diff < 2e-3, "encoder max abs diff {diff}");
}

#[test]
fn decoder_matches_onnxruntime() {
    let bundle = ModelBundle::embedded().unwrap();
    let graph = Graph::load("decoder", &bundle.decoder_onnx, executor(2)).unwrap();
    let (out_shape, image) = graph
        .run(&shape("latent"), golden("latent.f32"), false)
        .unwrap();
    assert_eq!(out_shape, shape("decoder_image"));
    let diff = max_abs_diff(&image, &golden("decoder_image.f32"));
    eprintln!("decoder: max abs diff tract vs onnxruntime {diff:.2e}");
    assert!(diff < 1e-4, "decoder max abs diff {diff}");
}
