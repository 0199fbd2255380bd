//! tract against onnxruntime: each codec bundle's graphs on its golden input (`golden/` in the
//! bundle's folder, made by `models/codec/golden.py --codec DIR`): the embedded codec-v5 and
//! codec-gray, and codec-v4 in `models/codec`.

use std::path::PathBuf;

use latent_codec::ModelBundle;
use latent_codec::runtime::bundle::{EMBEDDED_DIR, EMBEDDED_GRAY_DIR, Embedded};
use latent_codec::runtime::engine::{Graph, executor};

use crate::common::{max_abs_diff, read_f32, repo};

/// A bundle folder's golden I/O.
struct Golden(PathBuf);

impl Golden {
    fn of(bundle_dir: &str) -> Self {
        Self(repo(bundle_dir).join("golden"))
    }

    fn f32(&self, name: &str) -> Vec<f32> {
        read_f32(&self.0.join(name))
    }

    fn shape(&self, name: &str) -> [usize; 4] {
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.0.join("golden.json")).unwrap()).unwrap();
        let dims: Vec<usize> = serde_json::from_value(meta["shapes"][name].clone()).unwrap();
        dims.try_into().unwrap()
    }

    /// The input picture as planes in [0, 1]: three, or one for a gray model.
    fn input_planes(&self, colours: usize) -> Vec<f32> {
        let picture = image::open(self.0.join("input.png")).unwrap();
        let pixels = match colours {
            1 => picture.to_luma8().into_raw(),
            _ => picture.to_rgb8().into_raw(),
        };
        let plane = pixels.len() / colours;
        let mut planes = vec![0f32; pixels.len()];
        for (i, &v) in pixels.iter().enumerate() {
            planes[(i % colours) * plane + i / colours] = f32::from(v) / 255.0;
        }
        planes
    }
}

fn encoder_matches(bundle: &ModelBundle, golden: &Golden) {
    let graph = Graph::load("encoder", &bundle.encoder_onnx, executor(1)).unwrap();
    let image = golden.shape("decoder_image");
    let colours = bundle.prior.colours;
    let (out_shape, mu) = graph
        .run(
            &[1, colours, image[2], image[3]],
            golden.input_planes(colours),
            false,
        )
        .unwrap();
    assert_eq!(out_shape, golden.shape("encoder_mu"));
    let diff = max_abs_diff(&mu, &golden.f32("encoder_mu.f32"));
    eprintln!("encoder: max abs diff tract vs onnxruntime {diff:.2e}");
    assert!(diff < 2e-3, "encoder max abs diff {diff}");
}

fn decoder_matches(bundle: &ModelBundle, golden: &Golden) {
    let graph = Graph::load("decoder", &bundle.decoder_onnx, executor(2)).unwrap();
    let (out_shape, image) = graph
        .run(&golden.shape("latent"), golden.f32("latent.f32"), false)
        .unwrap();
    assert_eq!(out_shape, golden.shape("decoder_image"));
    let diff = max_abs_diff(&image, &golden.f32("decoder_image.f32"));
    eprintln!("decoder: max abs diff tract vs onnxruntime {diff:.2e}");
    assert!(diff < 1e-4, "decoder max abs diff {diff}");
}

fn dir_bundle(dir: &str) -> ModelBundle {
    ModelBundle::from_dir(&repo(dir), &Default::default()).unwrap()
}

#[test]
fn embedded_encoder_matches_onnxruntime() {
    encoder_matches(&ModelBundle::embedded().unwrap(), &Golden::of(EMBEDDED_DIR));
}

#[test]
fn embedded_decoder_matches_onnxruntime() {
    decoder_matches(&ModelBundle::embedded().unwrap(), &Golden::of(EMBEDDED_DIR));
}

#[test]
fn embedded_gray_encoder_matches_onnxruntime() {
    let bundle = ModelBundle::compiled_in(Embedded::Gray).unwrap();
    encoder_matches(&bundle, &Golden::of(EMBEDDED_GRAY_DIR));
}

#[test]
fn embedded_gray_decoder_matches_onnxruntime() {
    let bundle = ModelBundle::compiled_in(Embedded::Gray).unwrap();
    decoder_matches(&bundle, &Golden::of(EMBEDDED_GRAY_DIR));
}

#[test]
fn codec_v4_matches_onnxruntime() {
    let bundle = dir_bundle("models/codec");
    let golden = Golden::of("models/codec");
    encoder_matches(&bundle, &golden);
    decoder_matches(&bundle, &golden);
}
