//! A `.lat` made on x86_64 (`tests/data/fixture.lat`) decodes to the same symbols on every
//! machine (checked by hash), and to the committed reconstruction within float tolerance.
//! CI runs this under qemu as a Cortex-A72.
//!
//! After a change of the embedded model, `tests/data/regenerate.sh` (on x86_64) rewrites the
//! fixture, its reconstruction and `tests/data/fixture.json` (the hash).

use latent_codec::{Precision, report::metrics};

use crate::common::{data, embedded_codec};

#[test]
fn committed_lat_decodes_to_committed_symbols_and_image() {
    let codec = embedded_codec(1, Precision::F32);
    let lat = std::fs::read(data("fixture.lat")).unwrap();
    let decoded = codec.decode(&lat).unwrap();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("fixture.json")).unwrap()).unwrap();
    assert_eq!(
        decoded.symbols_sha256(),
        meta["symbols_sha256"].as_str().unwrap()
    );

    let expected = image::open(data("fixture-expected.png")).unwrap().to_rgb8();
    let got = decoded.image.to_rgb8();
    assert_eq!(got.dimensions(), expected.dimensions());
    let max_diff = got
        .as_raw()
        .iter()
        .zip(expected.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    // Float rounding differs across CPUs; an 8-bit pixel may move by one step.
    assert!(max_diff <= 1, "max pixel difference {max_diff}");
    assert!(metrics::psnr(got.as_raw(), expected.as_raw()) > 50.0);
}
