//! A `.lat` made on x86_64 decodes to the same symbols on every machine (checked by hash), and to
//! the committed reconstruction within float tolerance: `tests/data/fixture.lat` for the embedded
//! colour model, `tests/data/gray-fixture.lat` for the gray one. CI runs this under qemu as a
//! Cortex-A72 and decodes both with the binary as an A53, A72 and A76.
//!
//! After a change of an embedded model, `tests/data/regenerate.sh` (on x86_64) rewrites the
//! fixtures, their reconstructions and `*fixture.json` (the hashes).

use latent_codec::runtime::bundle::Embedded;
use latent_codec::{Codec, Limits, ModelBundle, Precision, report::metrics};

use crate::common::data;

/// Decodes `tests/data/{prefix}fixture.lat` with the embedded model `which` and compares it with
/// the committed hash and picture.
fn decodes_as_committed(which: Embedded, prefix: &str) {
    let bundle = ModelBundle::compiled_in(which).unwrap();
    let codec = Codec::new(bundle, 1, Precision::F32, Limits::default()).unwrap();
    let lat = std::fs::read(data(&format!("{prefix}fixture.lat"))).unwrap();
    let decoded = codec.decode(&lat).unwrap();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data(&format!("{prefix}fixture.json"))).unwrap())
            .unwrap();
    assert_eq!(
        decoded.symbols_sha256(),
        meta["symbols_sha256"].as_str().unwrap()
    );

    let expected = image::open(data(&format!("{prefix}fixture-expected.png"))).unwrap();
    assert_eq!(decoded.image.color(), expected.color());
    let (got, expected) = (decoded.image.as_bytes(), expected.as_bytes());
    assert_eq!(got.len(), expected.len());
    let max_diff = got
        .iter()
        .zip(expected)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    // Float rounding differs across CPUs; an 8-bit pixel may move by one step.
    assert!(max_diff <= 1, "max pixel difference {max_diff}");
    assert!(metrics::psnr(got, expected) > 50.0);
}

#[test]
fn committed_lat_decodes_to_committed_symbols_and_image() {
    decodes_as_committed(Embedded::Colour, "");
}

#[test]
fn committed_gray_lat_decodes_to_committed_symbols_and_gray_image() {
    decodes_as_committed(Embedded::Gray, "gray-");
}
