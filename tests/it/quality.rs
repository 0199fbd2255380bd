//! Variable-rate priors: quality levels with per-channel gains, stored in `.lat` headers.

use std::borrow::Cow;

use image::{DynamicImage, RgbImage};
use latent_codec::error::BundleError;
use latent_codec::{Codec, Error, Limits, ModelBundle, Precision, report::metrics};
use serde_json::{Value, json};

use crate::common::data;

const ENCODER: &[u8] = include_bytes!("../../models/codec/encoder.onnx");
const DECODER: &[u8] = include_bytes!("../../models/codec/decoder.onnx");
const PRIOR: &str = include_str!("../../models/codec/prior.json");

/// The embedded model's prior cut down to two of its levels, 2 and 5 (the default), so that the
/// levels it lacks can be asked for.
fn two_level_prior() -> Value {
    let mut prior: Value = serde_json::from_str(PRIOR).unwrap();
    prior["name"] = "two-level".into();
    let levels = prior["qualities"].as_array_mut().unwrap();
    levels.retain(|l| l["quality"] == 2 || l["quality"] == 5);
    assert_eq!(levels.len(), 2, "the embedded model has levels 2 and 5");
    prior
}

fn bundle(prior: &Value) -> Result<ModelBundle, BundleError> {
    ModelBundle::from_bytes(
        "test".into(),
        Cow::Borrowed(ENCODER),
        Cow::Borrowed(DECODER),
        prior.to_string().as_bytes(),
    )
}

fn codec() -> Codec {
    let b = bundle(&two_level_prior()).unwrap();
    Codec::new(b, 1, Precision::F32, Limits::default()).unwrap()
}

fn photo() -> DynamicImage {
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG)
        .unwrap()
        .to_rgb8();
    DynamicImage::ImageRgb8(image::imageops::crop_imm(&sample, 200, 120, 128, 96).to_image())
}

fn rgb_psnr(a: &DynamicImage, b: &RgbImage) -> f64 {
    metrics::psnr(a.to_rgb8().as_raw(), b.as_raw())
}

#[test]
fn higher_quality_spends_more_bits_for_a_better_picture() {
    let codec = codec();
    assert_eq!(codec.qualities(), [2, 5]);
    assert_eq!(codec.default_quality(), 5);
    let image = photo();
    let low = codec.encode(&image, 2).unwrap();
    let high = codec.encode(&image, 5).unwrap();
    assert_eq!((low.header.quality, high.header.quality), (2, 5));
    assert!(
        high.bytes.len() > low.bytes.len(),
        "{} !> {}",
        high.bytes.len(),
        low.bytes.len()
    );
    let decode = |bytes: &[u8]| codec.decode(bytes).unwrap();
    let (dl, dh) = (decode(&low.bytes), decode(&high.bytes));
    assert_eq!(dh.header.quality, 5);
    let (pl, ph) = (
        rgb_psnr(&image, &dl.image.to_rgb8()),
        rgb_psnr(&image, &dh.image.to_rgb8()),
    );
    assert!(
        ph > pl + 0.2,
        "quality 5 {ph:.2} dB vs quality 2 {pl:.2} dB"
    );
}

#[test]
fn a_quality_the_model_lacks_is_refused_when_encoding_and_decoding() {
    let codec = codec();
    let err = codec.encode(&photo(), 4).unwrap_err();
    assert!(
        matches!(&err, Error::Quality { requested: 4, supported } if supported == &[2, 5]),
        "{err}"
    );
    // A file whose header names a level this model does not have: checked before decoding.
    let mut header = codec.encode(&photo(), 2).unwrap().header;
    header.quality = 3;
    let err = codec.check_header(&header).unwrap_err();
    assert!(
        err.to_string().contains("quality 3 is not offered"),
        "{err}"
    );
}

/// A change that makes a prior invalid.
type Spoil = fn(&mut Value);

#[test]
fn bad_priors_name_what_is_wrong() {
    let cases: [(&str, Spoil); 12] = [
        ("gains must be finite and positive", |p| {
            p["qualities"][1]["gain"][5] = json!(-1.0)
        }),
        ("default_quality 4 is not one of its levels", |p| {
            p["default_quality"] = json!(4)
        }),
        ("levels must ascend within 1..=8", |p| {
            p["qualities"][1]["quality"] = json!(9)
        }),
        ("levels must ascend within 1..=8", |p| {
            p["qualities"][1]["quality"] = json!(2)
        }),
        ("exactly one of `channels` and `qualities`", |p| {
            p["channels"] = p["qualities"][0]["channels"].clone()
        }),
        (
            "unknown context \"spiral\" (known: \"neighbours\", \"neighbours+channels\")",
            |p| p["context"] = json!("spiral"),
        ),
        (
            "quality 5: 1791 CDF tables, 128 gains and 128 inverse gains for 128 latent channels \
             (14 tables per channel with context NeighboursAndChannels)",
            |p| {
                p["qualities"][1]["channels"].as_array_mut().unwrap().pop();
            },
        ),
        ("quality 2: 1792 CDF tables", |p| {
            p.as_object_mut().unwrap().remove("context");
        }),
        ("quality 5 predictor: shape mismatch", |p| {
            p["qualities"][1]["predictor"]["weights"]
                .as_array_mut()
                .unwrap()
                .truncate(4 * 127);
        }),
        (
            "quality 2 predictor: invalid header field predictor shift: 0",
            |p| p["qualities"][0]["predictor"]["shift"] = json!(0),
        ),
        ("integer `40000`, expected i16", |p| {
            p["qualities"][0]["predictor"]["weights"][3] = json!(40000)
        }),
        ("a top-level `predictor` goes with `channels`", |p| {
            p["predictor"] = p["qualities"][0]["predictor"].clone()
        }),
    ];
    for (needle, spoil) in cases {
        let mut prior = two_level_prior();
        spoil(&mut prior);
        let err = bundle(&prior).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
    let mut short = two_level_prior();
    short["qualities"][0]["inverse_gain"]
        .as_array_mut()
        .unwrap()
        .pop();
    let err = bundle(&short).unwrap_err().to_string();
    assert!(err.contains("127 inverse gains for 128"), "{err}");
}

/// A quality-2 `.lat` (a level other than the default, which `tests/data/fixture.lat` covers) of the
/// two-level model made on x86_64 decodes to the same symbols on every machine (CI runs this under
/// qemu as Cortex-A53, A72 and A76): the hash in `tests/data/quality2.json`. After a change of the
/// embedded model, `tests/data/regenerate.sh` rewrites both on x86_64 (with `LATENT_REGENERATE=1`).
#[test]
fn committed_quality_2_lat_decodes_to_committed_symbols() {
    let (lat, record) = (data("quality2.lat"), data("quality2.json"));
    let codec = codec();
    let regenerate = std::env::var_os("LATENT_REGENERATE").is_some();
    if regenerate {
        std::fs::write(&lat, codec.encode(&photo(), 2).unwrap().bytes).unwrap();
    }
    let decoded = codec.decode(&std::fs::read(&lat).unwrap()).unwrap();
    if regenerate {
        let made =
            json!({"made_on": "x86_64, 1 thread", "symbols_sha256": decoded.symbols_sha256()});
        std::fs::write(&record, serde_json::to_string_pretty(&made).unwrap() + "\n").unwrap();
    }
    let record: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(decoded.header.quality, 2);
    assert_eq!(
        decoded.symbols_sha256(),
        record["symbols_sha256"].as_str().unwrap()
    );
}
