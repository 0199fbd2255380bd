//! One-colour (gray) bundles: `"colours": 1` in prior.json, graphs of one channel in and out.
//! `tests/data/gray-bundle/` is a tiny untrained one (`make.py` there): each 8x8 block as four
//! orthonormal functions.

use image::{DynamicImage, GrayImage};
use latent_codec::{Codec, Error, Limits, ModelBundle, Precision, report::metrics, sample};
use tempfile::TempDir;

use crate::common::{assert_fails_with, bundle_copy, json, latent, repo, s};

fn gray_bundle() -> ModelBundle {
    ModelBundle::from_dir(&repo("tests/data/gray-bundle"), &Limits::default()).unwrap()
}

fn gray_codec(threads: usize) -> Codec {
    Codec::new(gray_bundle(), threads, Precision::F32, Limits::default()).unwrap()
}

/// A gray crop of the sample photo, its sides not multiples of the stride.
fn gray_crop(w: u32, h: u32) -> GrayImage {
    let sample = image::load_from_memory(sample::SAMPLE_PNG).unwrap();
    sample.crop_imm(200, 150, w, h).to_luma8()
}

#[test]
fn a_gray_model_codes_gray_in_one_channel_and_decodes_gray() {
    let codec = gray_codec(1);
    assert_eq!(codec.bundle().prior.colours, 1);
    // Optimizing ahead of time (as eval and demo do) makes the one-channel plans.
    codec.prepare(100, 70).unwrap();
    let gray = gray_crop(100, 70);
    let encoded = codec
        .encode(&DynamicImage::ImageLuma8(gray.clone()), 1)
        .unwrap();
    let h = encoded.header;
    assert_eq!(h.image_channels, 1);
    assert_eq!(
        (h.latent_channels, h.latent_height, h.latent_width),
        (4, 9, 13)
    );
    let decoded = codec.decode(&encoded.bytes).unwrap();
    let back = decoded.image.as_luma8().expect("gray out");
    assert_eq!(back.dimensions(), (100, 70));
    // Four functions per 8x8 block draw this crop coarsely: onnxruntime gives 20.76 dB on
    // Pillow's luma of it; a swapped or misplaced plane falls far below.
    let psnr = metrics::psnr(gray.as_raw(), back.as_raw());
    assert!(psnr > 20.0, "{psnr:.2} dB");
}

#[test]
fn tiles_and_threads_give_a_gray_model_the_same_bytes_and_pixels() {
    let gray = DynamicImage::ImageLuma8(gray_crop(150, 90));
    let whole = gray_codec(1);
    let reference = whole.encode(&gray, 1).unwrap().bytes;
    let pixels = whole.decode(&reference).unwrap().image;
    for threads in [1, 3] {
        let tiled = gray_codec(threads).with_tile(4);
        let bytes = tiled.encode(&gray, 1).unwrap().bytes;
        assert_eq!(bytes, reference, "{threads} threads");
        assert_eq!(tiled.decode(&bytes).unwrap().image, pixels);
    }
}

#[test]
fn a_colour_picture_is_refused_by_a_gray_model() {
    let rgb = DynamicImage::ImageRgb8(
        image::load_from_memory(sample::SAMPLE_PNG)
            .unwrap()
            .crop_imm(0, 0, 64, 48)
            .to_rgb8(),
    );
    let err = gray_codec(1).encode(&rgb, 1).unwrap_err();
    assert!(
        matches!(&err, Error::ColourToGrayModel { model } if model == "gray-test"),
        "{err}"
    );
}

#[test]
fn the_cli_codes_gray_with_a_gray_model_and_refuses_colour() {
    let dir = TempDir::new().unwrap();
    let model = repo("tests/data/gray-bundle");
    let gray_png = dir.path().join("gray.png");
    gray_crop(64, 48).save(&gray_png).unwrap();
    let lat = dir.path().join("gray.lat");
    let c = json(&latent(&[
        "compress",
        s(&gray_png),
        "-o",
        s(&lat),
        "--model",
        s(&model),
        "--json",
    ]));
    assert_eq!(c["model"], "gray-test");
    let back = dir.path().join("back.png");
    let d = json(&latent(&[
        "decompress",
        s(&lat),
        "-o",
        s(&back),
        "--model",
        s(&model),
        "--json",
    ]));
    assert_eq!(d["channels"], 1);
    assert!(image::open(&back).unwrap().as_luma8().is_some());

    let rgb_png = dir.path().join("rgb.png");
    image::load_from_memory(sample::SAMPLE_PNG)
        .unwrap()
        .crop_imm(0, 0, 64, 48)
        .save(&rgb_png)
        .unwrap();
    let out = dir.path().join("rgb.lat");
    let run = latent(&["compress", s(&rgb_png), "-o", s(&out), "--model", s(&model)]);
    assert_fails_with(
        &run,
        "model gray-test codes gray pictures only, and this one is colour",
    );
    assert!(!out.exists());
}

#[test]
fn a_gray_prior_beside_colour_graphs_is_refused() {
    let dir = TempDir::new().unwrap();
    let bundle = bundle_copy(dir.path(), "gray-prior", None);
    let path = bundle.join("prior.json");
    let mut prior: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    prior["colours"] = 1.into();
    std::fs::write(&path, prior.to_string()).unwrap();
    let png = dir.path().join("in.png");
    gray_crop(64, 48).save(&png).unwrap();
    let run = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&dir.path().join("o.lat")),
        "--model",
        s(&bundle),
    ]);
    assert_fails_with(
        &run,
        "bad encoder.onnx: input is [?, 3, ?, ?], expected [N, 1, H, W]",
    );
}
