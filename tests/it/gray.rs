//! One-colour (gray) bundles: `"colours": 1` in prior.json, graphs of one channel in and out.
//! `tests/data/gray-bundle/` is a tiny untrained one (`make.py` there): each 8x8 block as four
//! orthonormal functions.

use image::{DynamicImage, GrayImage};
use latent_codec::report::rd::{self, Point};
use latent_codec::report::reference;
use latent_codec::runtime::bundle::Embedded;
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

#[test]
fn the_embedded_gray_model_offers_the_colour_models_qualities() {
    let gray = ModelBundle::compiled_in(Embedded::Gray).unwrap();
    let colour = ModelBundle::embedded().unwrap();
    assert_eq!(
        (gray.prior.name.as_str(), gray.prior.colours),
        ("codec-gray", 1)
    );
    assert_eq!(gray.prior.quality_numbers(), colour.prior.quality_numbers());
    assert_eq!(gray.fingerprint, Embedded::Gray.fingerprint());
    assert_eq!(colour.fingerprint, Embedded::Colour.fingerprint());
    assert_ne!(gray.fingerprint, colour.fingerprint);
    assert!(gray.int8.is_some());
}

#[test]
fn the_cli_sends_gray_pictures_to_the_embedded_gray_model_and_decodes_by_fingerprint() {
    let dir = TempDir::new().unwrap();
    let pictures = dir.path().join("in");
    std::fs::create_dir(&pictures).unwrap();
    gray_crop(64, 48).save(pictures.join("gray.png")).unwrap();
    image::load_from_memory(sample::SAMPLE_PNG)
        .unwrap()
        .crop_imm(200, 150, 64, 48)
        .to_rgb8()
        .save(pictures.join("rgb.png"))
        .unwrap();
    let lats = dir.path().join("lat");
    let c = json(&latent(&[
        "compress",
        s(&pictures),
        "-o",
        s(&lats),
        "--json",
        "--threads",
        "1",
    ]));
    assert_eq!(c["model"], "codec-v5, codec-gray");
    for (name, model, channels) in [("gray", "codec-gray", 1), ("rgb", "codec-v5", 3)] {
        let lat = lats.join(format!("{name}.lat"));
        let back = dir.path().join(format!("{name}.png"));
        let d = json(&latent(&["decompress", s(&lat), "-o", s(&back), "--json"]));
        assert_eq!(
            (d["model"].as_str(), d["channels"].as_u64()),
            (Some(model), Some(channels))
        );
        let i = json(&latent(&["inspect", s(&lat), "--json"]));
        assert_eq!(i["model"], model);
        let decoded = image::open(&back).unwrap();
        assert_eq!(decoded.color().channel_count(), channels as u8, "{name}");
        // The lossy link's path picks the model the same way.
        let packets = dir.path().join(format!("{name}-packets"));
        json(&latent(&[
            "packetize",
            s(&lat),
            "--mtu",
            "222",
            "-o",
            s(&packets),
            "--json",
        ]));
        let again = dir.path().join(format!("{name}-again.png"));
        json(&latent(&[
            "depacketize",
            s(&packets),
            "-o",
            s(&again),
            "--json",
        ]));
        assert_eq!(image::open(&again).unwrap(), decoded, "{name}");
    }
    // The same gray pixels stored as RGB are colour to the runtime, as the file says.
    let as_rgb = dir.path().join("gray-as-rgb.png");
    DynamicImage::ImageLuma8(gray_crop(64, 48))
        .to_rgb8()
        .save(&as_rgb)
        .unwrap();
    let c = json(&latent(&[
        "compress",
        s(&as_rgb),
        "-o",
        s(&dir.path().join("as-rgb.lat")),
        "--json",
    ]));
    assert_eq!(c["model"], "codec-v5");
}

/// The yardstick for small gray pictures: a 256x256 gray crop at the default quality
/// beats a one-component JPEG (the `image` crate's, as `latent eval` sweeps it) at the same bpp.
#[test]
fn a_256_gray_crop_at_the_default_quality_beats_grayscale_jpeg_at_its_bpp() {
    let sample = image::load_from_memory(sample::SAMPLE_PNG).unwrap();
    let gray = DynamicImage::ImageLuma8(sample.crop_imm(256, 128, 256, 256).to_luma8());
    let codec = Codec::new(
        ModelBundle::compiled_in(Embedded::Gray).unwrap(),
        2,
        Precision::F32,
        Limits::default(),
    )
    .unwrap();
    let encoded = codec.encode(&gray, codec.default_quality()).unwrap();
    let decoded = codec.decode(&encoded.bytes).unwrap().image;
    let pixels = 256.0 * 256.0;
    let bpp = 8.0 * encoded.bytes.len() as f64 / pixels;
    let ours = metrics::psnr(gray.as_bytes(), decoded.as_bytes());
    let jpeg: Vec<Point> = (5..=95)
        .step_by(5)
        .map(|q| {
            let (bytes, back) = reference::jpeg(&gray, q).unwrap();
            Point {
                bpp: 8.0 * bytes as f64 / pixels,
                psnr: metrics::psnr(gray.as_bytes(), back.as_bytes()),
            }
        })
        .collect();
    let jpeg = rd::psnr_at(&rd::pareto(&jpeg), bpp).expect("JPEG's sweep covers our bpp");
    eprintln!("ours {bpp:.3} bpp {ours:.2} dB, JPEG at that bpp {jpeg:.2} dB");
    assert!(
        ours > jpeg,
        "{ours:.2} dB !> JPEG's {jpeg:.2} dB at {bpp:.3} bpp"
    );
}
