//! The VAE demo commands end to end: sample, interpolate, arith, map, manifold.

use std::path::{Path, PathBuf};

use crate::common::{assert_fails_with, json, latent, s};
use tempfile::TempDir;

fn data(name: &str) -> PathBuf {
    crate::common::data("vae2d").join(name)
}

const IMAGES: &str = "fashion-t10k-500-images-idx3-ubyte.gz";
const LABELS: &str = "fashion-t10k-500-labels-idx1-ubyte";

fn dims(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap()
}

#[test]
fn sample_grid_has_the_right_shape_and_is_seeded() {
    let dir = TempDir::new().unwrap();
    let (a, b, c) = (
        dir.path().join("a.png"),
        dir.path().join("b.png"),
        dir.path().join("c.png"),
    );
    for (out, seed) in [(&a, "5"), (&b, "5"), (&c, "6")] {
        let o = latent(&[
            "sample",
            "-n",
            "12",
            "-o",
            s(out),
            "--seed",
            seed,
            "--zoom",
            "1",
            "--json",
        ]);
        assert_eq!(json(&o)["z"].as_array().unwrap().len(), 12);
    }
    // 12 tiles in 4 columns x 3 rows of 28 px with 2 px gaps.
    assert_eq!(dims(&a), (4 * 30 + 2, 3 * 30 + 2));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    let o = latent(&[
        "sample",
        "-n",
        "1",
        "-o",
        s(&a),
        "--zoom",
        "3",
        "--model",
        "mnist",
    ]);
    assert!(o.status.success());
    assert_eq!(dims(&a), (3 * 32, 3 * 32));
}

#[test]
fn interpolate_walks_from_a_to_b() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("strip.png");
    let (a, b) = (data("fashion-0-label9.png"), data("fashion-2-label1.png"));
    let o = latent(&[
        "interpolate",
        s(&a),
        s(&b),
        "--steps",
        "7",
        "-o",
        s(&out),
        "--zoom",
        "1",
        "--json",
    ]);
    let z = json(&o)["z"].as_array().unwrap().clone();
    assert_eq!(z.len(), 7);
    assert_eq!(dims(&out), (7 * 30 + 2, 32));
    // The ends are the two images' μ, which differ (a boot and a pair of trousers).
    let enc = |p: &Path| {
        let o = latent(&[
            "interpolate",
            s(p),
            s(p),
            "--steps",
            "2",
            "-o",
            s(&out),
            "--json",
        ]);
        json(&o)["z"][0].clone()
    };
    assert_eq!(z[0], enc(&a));
    assert_eq!(z[6], enc(&b));
    assert_ne!(z[0], z[6]);
}

#[test]
fn arith_adds_and_subtracts_vectors() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("arith.png");
    let a = data("mnist-0-label2.png");
    let o = latent(&[
        "arith",
        s(&a),
        "--model",
        "mnist",
        "--add",
        s(&a),
        "--sub",
        s(&a),
        "-o",
        s(&out),
        "--json",
    ]);
    let v = json(&o);
    assert_eq!(v["z"], v["z_a"], "A + A - A = A");
    let o = latent(&[
        "arith",
        s(&a),
        "--model",
        "mnist",
        "--add-class",
        "7",
        "--sub-class",
        "2",
        "-o",
        s(&out),
        "--json",
    ]);
    let v = json(&o);
    assert_ne!(v["z"], v["z_a"]);
    assert_eq!(dims(&out), (2 * (2 * 30 + 2), 2 * 32));
    let o = latent(&["arith", s(&a), "--add-class", "10", "-o", s(&out)]);
    assert_fails_with(&o, "class 10 does not exist: the model has classes 0..=9");
}

#[test]
fn map_prints_points_in_input_order_and_clusters() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("map.png");
    let o = latent(&[
        "map",
        s(&data(IMAGES)),
        s(&data(LABELS)),
        "-o",
        s(&out),
        "--json",
    ]);
    let v = json(&o);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 500);
    let labels = std::fs::read(data(LABELS)).unwrap();
    for (p, &l) in points.iter().zip(&labels[8..]) {
        assert_eq!(p[2], u64::from(l));
    }
    // Point 0 is the first image of the file: the same μ as encoding that image alone.
    let strip = dir.path().join("s.png");
    let first = data("fashion-0-label9.png");
    let o = latent(&[
        "interpolate",
        s(&first),
        s(&first),
        "--steps",
        "2",
        "-o",
        s(&strip),
        "--json",
    ]);
    assert_eq!(
        json(&o)["z"][0],
        serde_json::json!([points[0][0], points[0][1]])
    );
    let accuracy = v["knn5_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.6, "5-NN accuracy {accuracy}");
    assert_eq!(dims(&out), (960, 720));
}

#[test]
fn manifold_grid_has_size_squared_tiles() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("m.png");
    let o = latent(&[
        "manifold",
        "-o",
        s(&out),
        "--size",
        "5",
        "--zoom",
        "1",
        "--json",
    ]);
    let v = json(&o);
    assert_eq!(v["z"].as_array().unwrap().len(), 25);
    assert_eq!(dims(&out), (5 * 30 + 2, 5 * 30 + 2));
    // Row 0 is the top: largest μ[1]; columns grow in μ[0].
    assert!(v["z"][0][1].as_f64() > v["z"][20][1].as_f64());
    assert!(v["z"][0][0].as_f64() < v["z"][4][0].as_f64());
}

#[test]
fn wrong_size_and_dark_on_light_pictures_are_adapted_with_a_note() {
    let dir = TempDir::new().unwrap();
    let big = dir.path().join("big.png");
    let digit = image::open(data("mnist-1-label6.png")).unwrap().to_luma8();
    let mut inverted =
        image::imageops::resize(&digit, 64, 64, image::imageops::FilterType::Triangle);
    image::imageops::invert(&mut inverted);
    inverted.save(&big).unwrap();
    let out = dir.path().join("o.png");
    let o = latent(&[
        "interpolate",
        s(&big),
        s(&data("mnist-2-label6.png")),
        "-o",
        s(&out),
        "--model",
        "mnist",
    ]);
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("is 64x64; resized to the model's 28x28"),
        "{stderr}"
    );
    assert!(stderr.contains("inverted"), "{stderr}");
}

#[test]
fn bad_idx_files_are_named() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("map.png");
    let labels = std::fs::read(data(LABELS)).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let bad_magic = write("magic", b"\x50\x4b\x03\x04 not idx at all");
    let o = latent(&["map", s(&data(IMAGES)), s(&bad_magic), "-o", s(&out)]);
    assert_fails_with(&o, "not an IDX file (magic 0x504b0304");
    let short = write("short", &labels[..300]);
    let o = latent(&["map", s(&data(IMAGES)), s(&short), "-o", s(&out)]);
    assert_fails_with(&o, "truncated: 300 bytes, the header needs 508");
    let mut fewer = labels.clone();
    fewer[4..8].copy_from_slice(&499u32.to_be_bytes());
    fewer.pop();
    let fewer = write("fewer", &fewer);
    let o = latent(&["map", s(&data(IMAGES)), s(&fewer), "-o", s(&out)]);
    assert_fails_with(&o, "500 images but 499 labels");
    let o = latent(&["map", s(&data(LABELS)), s(&data(LABELS)), "-o", s(&out)]);
    assert_fails_with(&o, "images must be a 3-D IDX array");
    let gz = std::fs::read(data(IMAGES)).unwrap();
    let cut = write("cut.gz", &gz[..gz.len() / 2]);
    let o = latent(&["map", s(&cut), s(&data(LABELS)), "-o", s(&out)]);
    assert_fails_with(&o, "bad gzip data");
    assert!(!out.exists(), "no output on failure");
    let o = latent(&["sample", "-o", s(&out), "--model", "no-such-model"]);
    assert_fails_with(
        &o,
        "neither an embedded model (fashion, mnist) nor a directory",
    );
}
