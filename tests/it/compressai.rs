//! CompressAI models through the runtime, exported by `models/compressai/export.py` with what
//! CompressAI's own `compress()` and `decompress()` give for crops of the sample photo
//! (golden.json): `tests/data/compressai/`, a factorized prior (random init, N 32, M 48), and
//! `tests/data/compressai-mbt/`, a mean-scale hyperprior (mbt2018-mean, N 16, M 24, trained a few
//! minutes by `train_demo.py`).

use image::DynamicImage;
use latent_codec::{Codec, Limits, ModelBundle, Precision, report::metrics, sample};
use latent_wire::container::HEADER_LEN;

use crate::common::repo;

#[derive(serde::Deserialize)]
struct Golden {
    crops: Vec<Crop>,
}

#[derive(serde::Deserialize)]
struct Crop {
    crop: [u32; 4],
    bytes: usize,
    psnr: f64,
}

#[test]
fn compressai_models_code_within_2_percent_and_decode_within_a_twentieth_db() {
    for dir in ["tests/data/compressai", "tests/data/compressai-mbt"] {
        codes_like_compressai(&repo(dir));
    }
}

fn codes_like_compressai(dir: &std::path::Path) {
    let golden: Golden =
        serde_json::from_slice(&std::fs::read(dir.join("golden.json")).unwrap()).unwrap();
    let bundle = ModelBundle::from_dir(dir, &Limits::default()).unwrap();
    let codec = Codec::new(bundle, 1, Precision::F32, Limits::default()).unwrap();
    let sample = image::load_from_memory(sample::SAMPLE_PNG).unwrap();
    for Crop { crop, bytes, psnr } in golden.crops {
        let [x, y, w, h] = crop;
        let picture = DynamicImage::ImageRgb8(sample.crop_imm(x, y, w, h).to_rgb8());
        let encoded = codec.encode(&picture, codec.default_quality()).unwrap();
        let payload = encoded.bytes.len() - HEADER_LEN;
        let ratio = payload as f64 / bytes as f64;
        assert!(
            (ratio - 1.0).abs() <= 0.02,
            "{}, {crop:?}: {payload} payload bytes, CompressAI {bytes}",
            dir.display()
        );
        let decoded = codec.decode(&encoded.bytes).unwrap().image.to_rgb8();
        let ours = metrics::psnr(picture.to_rgb8().as_raw(), decoded.as_raw());
        assert!(
            (ours - psnr).abs() <= 0.05,
            "{}, {crop:?}: {ours:.4} dB, CompressAI {psnr} dB",
            dir.display()
        );
    }
}
