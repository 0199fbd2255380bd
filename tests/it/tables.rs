//! `latent tables`: context tables and a predictor fitted to a factorized bundle (here the tiny
//! gray one of `tests/data/gray-bundle/`, whose tables are flat), written into its prior.json.

use std::path::Path;

use tempfile::TempDir;

use crate::common::{assert_fails_with, json, latent, repo, s};

/// A gray crop of the sample photo at (`x`, `y`), saved as `dir/NAME.png`.
fn gray_crop(dir: &Path, name: &str, (x, y, w, h): (u32, u32, u32, u32)) -> std::path::PathBuf {
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    let path = dir.join(format!("{name}.png"));
    sample.crop_imm(x, y, w, h).to_luma8().save(&path).unwrap();
    path
}

#[test]
fn fitted_tables_code_the_same_symbols_in_fewer_bytes() {
    let dir = TempDir::new().unwrap();
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let original = repo("tests/data/gray-bundle");
    for f in ["encoder.onnx", "decoder.onnx", "prior.json"] {
        std::fs::copy(original.join(f), bundle.join(f)).unwrap();
    }
    let (photos, val) = (dir.path().join("photos"), dir.path().join("val"));
    std::fs::create_dir(&photos).unwrap();
    std::fs::create_dir(&val).unwrap();
    gray_crop(&photos, "a", (0, 0, 320, 240));
    gray_crop(&photos, "b", (400, 200, 320, 240));
    let probe = gray_crop(&val, "c", (200, 100, 256, 192));

    let before = dir.path().join("before.lat");
    json(&latent(&[
        "compress",
        s(&probe),
        "-o",
        s(&before),
        "--model",
        s(&bundle),
        "--json",
    ]));
    let fitted = json(&latent(&[
        "tables",
        "--model",
        s(&bundle),
        s(&photos),
        "--val",
        s(&val),
        "--threads",
        "1",
        "--json",
    ]));
    assert_eq!(fitted["photos"], 2, "{fitted}");
    let level = &fitted["levels"][0];
    assert!(level["saving"].as_f64().unwrap() > 0.2, "{fitted}");
    // The factorized prior is kept beside, byte for byte; the new one has context tables.
    assert_eq!(
        std::fs::read(bundle.join("prior.factorized.json")).unwrap(),
        std::fs::read(original.join("prior.json")).unwrap()
    );
    let prior: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("prior.json")).unwrap()).unwrap();
    assert_eq!(prior["context"], "neighbours+channels");
    assert_eq!(
        prior["qualities"][0]["channels"].as_array().unwrap().len(),
        4 * 14
    );

    // The same picture: fewer bytes, the same decoded pixels.
    let after = dir.path().join("after.lat");
    json(&latent(&[
        "compress",
        s(&probe),
        "-o",
        s(&after),
        "--model",
        s(&bundle),
        "--json",
    ]));
    let (b, a) = (
        std::fs::metadata(&before).unwrap().len(),
        std::fs::metadata(&after).unwrap().len(),
    );
    assert!(a < b, "{a} bytes with context tables, {b} without");
    let decoded = dir.path().join("after.png");
    json(&latent(&[
        "decompress",
        s(&after),
        "-o",
        s(&decoded),
        "--model",
        s(&bundle),
        "--json",
    ]));
    let reference = dir.path().join("reference");
    std::fs::create_dir(&reference).unwrap();
    for f in ["encoder.onnx", "decoder.onnx", "prior.json"] {
        std::fs::copy(original.join(f), reference.join(f)).unwrap();
    }
    let direct = dir.path().join("before.png");
    json(&latent(&[
        "decompress",
        s(&before),
        "-o",
        s(&direct),
        "--model",
        s(&reference),
        "--json",
    ]));
    assert_eq!(
        image::open(&decoded).unwrap(),
        image::open(&direct).unwrap()
    );

    // Fitting again starts from the kept factorized prior and gives the same tables.
    let first = std::fs::read(bundle.join("prior.json")).unwrap();
    json(&latent(&[
        "tables",
        "--model",
        s(&bundle),
        s(&photos),
        "--threads",
        "1",
        "--json",
    ]));
    assert_eq!(std::fs::read(bundle.join("prior.json")).unwrap(), first);

    // A context prior with no factorized one beside it cannot be refitted.
    std::fs::remove_file(bundle.join("prior.factorized.json")).unwrap();
    let out = latent(&["tables", "--model", s(&bundle), s(&photos)]);
    assert_fails_with(&out, "has context tables already");
}

#[test]
fn a_hyperprior_bundle_is_refused() {
    let photos = TempDir::new().unwrap();
    gray_crop(photos.path(), "a", (0, 0, 64, 64));
    let out = latent(&[
        "tables",
        "--model",
        s(&repo("tests/data/compressai-mbt")),
        s(photos.path()),
    ]);
    assert_fails_with(
        &out,
        "a hyperprior model's tables are picked by its side information",
    );
}
