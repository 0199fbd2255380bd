//! Variable-rate priors: quality levels with per-channel gains, stored in `.lat` headers.

use std::borrow::Cow;

use image::{DynamicImage, RgbImage};
use latent_codec::error::BundleError;
use latent_codec::{Codec, Error, Limits, ModelBundle, Precision, report::metrics};
use serde_json::{Value, json};

use crate::common::data;

const ENCODER: &[u8] = include_bytes!("../../models/codec-v5/encoder.onnx");
const DECODER: &[u8] = include_bytes!("../../models/codec-v5/decoder.onnx");
const PRIOR: &str = include_str!("../../models/codec-v5/prior.json");

/// The low level of [`two_level_prior`]; the high one is the embedded model's default.
const LOW: u8 = 2;

fn embedded_prior() -> Value {
    serde_json::from_str(PRIOR).unwrap()
}

/// The embedded model's default quality (above [`LOW`]) and latent channels.
fn high_and_channels() -> (u8, usize) {
    let prior = embedded_prior();
    let high = prior["default_quality"].as_u64().unwrap() as u8;
    assert!(high > LOW, "the embedded default {high} is above {LOW}");
    (high, prior["latent_channels"].as_u64().unwrap() as usize)
}

/// The embedded model's prior cut down to two of its levels, [`LOW`] and the default, so that the
/// levels it lacks can be asked for.
fn two_level_prior() -> Value {
    let mut prior = embedded_prior();
    let (high, _) = high_and_channels();
    prior["name"] = "two-level".into();
    let levels = prior["qualities"].as_array_mut().unwrap();
    levels.retain(|l| l["quality"] == LOW || l["quality"] == high);
    assert_eq!(
        levels.len(),
        2,
        "the embedded model has levels {LOW} and {high}"
    );
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
    let (high_q, _) = high_and_channels();
    assert_eq!(codec.qualities(), [LOW, high_q]);
    assert_eq!(codec.default_quality(), high_q);
    let image = photo();
    let low = codec.encode(&image, LOW).unwrap();
    let high = codec.encode(&image, high_q).unwrap();
    assert_eq!((low.header.quality, high.header.quality), (LOW, high_q));
    assert!(
        high.bytes.len() > low.bytes.len(),
        "{} !> {}",
        high.bytes.len(),
        low.bytes.len()
    );
    let decode = |bytes: &[u8]| codec.decode(bytes).unwrap();
    let (dl, dh) = (decode(&low.bytes), decode(&high.bytes));
    assert_eq!(dh.header.quality, high_q);
    let (pl, ph) = (
        rgb_psnr(&image, &dl.image.to_rgb8()),
        rgb_psnr(&image, &dh.image.to_rgb8()),
    );
    assert!(
        ph > pl + 0.2,
        "quality {high_q} {ph:.2} dB vs quality {LOW} {pl:.2} dB"
    );
}

#[test]
fn a_quality_the_model_lacks_is_refused_when_encoding_and_decoding() {
    let codec = codec();
    let (high, _) = high_and_channels();
    let lacking = LOW + 1;
    assert!(lacking < high);
    let err = codec.encode(&photo(), lacking).unwrap_err();
    assert!(
        matches!(&err, Error::Quality { requested, supported }
            if *requested == lacking && supported == &[LOW, high]),
        "{err}"
    );
    // A file whose header names a level this model does not have: checked before decoding.
    let mut header = codec.encode(&photo(), LOW).unwrap().header;
    header.quality = lacking;
    let err = codec.check_header(&header).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("quality {lacking} is not offered")),
        "{err}"
    );
}

/// A change that makes a prior invalid.
type Spoil = fn(&mut Value);

#[test]
fn bad_priors_name_what_is_wrong() {
    let (high, c) = high_and_channels();
    let cases: [(String, Spoil); 13] = [
        ("gains must be finite and positive".into(), |p| {
            p["qualities"][1]["gain"][5] = json!(-1.0)
        }),
        (
            format!("default_quality {} is not one of its levels", LOW + 1),
            |p| p["default_quality"] = json!(LOW + 1),
        ),
        ("colours 2 is neither 1 (gray) nor 3 (RGB)".into(), |p| {
            p["colours"] = json!(2)
        }),
        ("levels must ascend within 1..=8".into(), |p| {
            p["qualities"][1]["quality"] = json!(9)
        }),
        ("levels must ascend within 1..=8".into(), |p| {
            p["qualities"][1]["quality"] = json!(LOW)
        }),
        ("exactly one of `channels` and `qualities`".into(), |p| {
            p["channels"] = p["qualities"][0]["channels"].clone()
        }),
        (
            "unknown context \"spiral\" (known: \"neighbours\", \"neighbours+channels\")".into(),
            |p| p["context"] = json!("spiral"),
        ),
        (
            format!(
                "quality {high}: {} CDF tables, {c} gains and {c} inverse gains for {c} latent \
                 channels (14 tables per channel with context NeighboursAndChannels)",
                14 * c - 1
            ),
            |p| {
                p["qualities"][1]["channels"].as_array_mut().unwrap().pop();
            },
        ),
        (format!("quality {LOW}: {} CDF tables", 14 * c), |p| {
            p.as_object_mut().unwrap().remove("context");
        }),
        (format!("quality {high} predictor: shape mismatch"), |p| {
            let (_, c) = high_and_channels();
            p["qualities"][1]["predictor"]["weights"]
                .as_array_mut()
                .unwrap()
                .truncate(4 * (c - 1));
        }),
        (
            format!("quality {LOW} predictor: invalid header field predictor shift: 0"),
            |p| p["qualities"][0]["predictor"]["shift"] = json!(0),
        ),
        ("integer `40000`, expected i16".into(), |p| {
            p["qualities"][0]["predictor"]["weights"][3] = json!(40000)
        }),
        ("a top-level `predictor` goes with `channels`".into(), |p| {
            p["predictor"] = p["qualities"][0]["predictor"].clone()
        }),
    ];
    for (needle, spoil) in cases {
        let mut prior = two_level_prior();
        spoil(&mut prior);
        let err = bundle(&prior).unwrap_err();
        assert!(err.to_string().contains(&needle), "{needle}: {err}");
    }
    let mut short = two_level_prior();
    short["qualities"][0]["inverse_gain"]
        .as_array_mut()
        .unwrap()
        .pop();
    let err = bundle(&short).unwrap_err().to_string();
    assert!(
        err.contains(&format!("{} inverse gains for {c}", c - 1)),
        "{err}"
    );
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
