//! `latent eval`: rate-distortion of ours against JPEG and WebP on a folder.

use crate::common::{assert_fails_with, bundle_copy, json, latent, s};
use tempfile::TempDir;

/// A folder with two crops of the sample photo and one file that is not an image.
fn folder() -> TempDir {
    let dir = TempDir::new().unwrap();
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    sample
        .crop_imm(200, 120, 96, 64)
        .save(dir.path().join("a.png"))
        .unwrap();
    sample
        .crop_imm(400, 300, 80, 48)
        .save(dir.path().join("b.png"))
        .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a picture").unwrap();
    dir
}

#[test]
fn writes_csv_json_and_plot_and_skips_unreadable_files() {
    let input = folder();
    let out_dir = TempDir::new().unwrap();
    let out = out_dir.path().join("rd");
    let run = latent(&[
        "eval",
        s(input.path()),
        "-o",
        s(&out),
        "--threads",
        "1",
        "--json",
    ]);
    let report = json(&run);
    assert!(String::from_utf8_lossy(&run.stderr).contains("skipped"));
    assert_eq!(report["skipped"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["skipped"][0]["file"], "notes.txt");
    assert_eq!(report["summary"]["images"], 2);
    let per_quality = report["summary"]["per_quality"].as_array().unwrap();
    assert_eq!(
        per_quality.len(),
        8,
        "every quality of the model by default"
    );
    for (ours, q) in per_quality.iter().zip(1..) {
        assert_eq!(ours["quality"], q);
        // Compared where WebP's sweep reaches the same bpp: at quality 5 on both crops.
        let compared = ours["images_compared"].as_u64().unwrap();
        assert!(compared <= 2 && (q != 5 || compared == 2), "{ours}");
        if compared > 0 {
            assert!(ours["minus_webp_same_bpp_db"].as_f64().unwrap().abs() < 10.0);
        }
    }
    let bpp = |q: usize| per_quality[q]["bpp"].as_f64().unwrap();
    assert!(bpp(0) < bpp(7), "quality 1 spends fewer bits than 8");

    let csv = std::fs::read_to_string(out.join("rd.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("image,codec,setting,bytes,bpp,psnr,encode_ms,decode_ms")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Per image: the model's 8 qualities, 21 WebP and 19 JPEG settings.
    assert_eq!(rows.len(), 2 * (8 + 21 + 19), "{csv}");
    for codec in ["latent", "webp", "jpeg"] {
        let psnrs: Vec<f64> = rows
            .iter()
            .filter(|r| r[1] == codec)
            .map(|r| r[5].parse().unwrap())
            .collect();
        assert!(
            psnrs.iter().all(|p| (15.0..60.0).contains(p)),
            "{codec}: {psnrs:?}"
        );
    }

    let full: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("rd.json")).unwrap()).unwrap();
    assert_eq!(full["rows"].as_array().unwrap().len(), rows.len());
    assert_eq!(
        full["qualities"],
        serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8])
    );
    let plot = image::open(out.join("rd.png")).unwrap();
    assert_eq!((plot.width(), plot.height()), (900, 560));
}

#[test]
fn table_names_the_rates_and_bd_rate() {
    let input = folder();
    let out = TempDir::new().unwrap();
    let run = latent(&[
        "eval",
        s(input.path()),
        "-o",
        s(out.path()),
        "--threads",
        "1",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    for needle in [
        "0.25",
        "0.50",
        "1.00",
        "BD-rate",
        "skipped 1 files",
        "notes.txt",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn no_readable_image_and_bad_quality_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("junk.png"), b"\x89PNG truncated").unwrap();
    let out = dir.path().join("out");
    let run = latent(&["eval", s(dir.path()), "-o", s(&out)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("warning: skipped") && stderr.contains("junk.png"),
        "{stderr}"
    );
    assert!(stderr.contains("error: no readable images"), "{stderr}");
    assert!(
        !out.exists(),
        "nothing is written when nothing was measured"
    );
    let input = folder();
    let run = latent(&["eval", s(input.path()), "-o", s(&out), "--quality", "9"]);
    assert_eq!(run.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&run.stderr).contains("9 is not in 1..=8"));
    let two_levels = bundle_copy(dir.path(), "two-levels", Some(&[2, 5]));
    let model = ["--model", s(&two_levels)];
    let eval = |quality| {
        let args = ["eval", s(input.path()), "-o", s(&out), "--quality", quality];
        latent(&[&args[..], &model[..]].concat())
    };
    assert_fails_with(&eval("2,4"), "quality 4 is not offered");
}

#[test]
fn a_gray_picture_is_measured_against_gray_references() {
    let input = TempDir::new().unwrap();
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    let gray = sample.crop_imm(200, 120, 96, 64).to_luma8();
    gray.save(input.path().join("gray.png")).unwrap();
    image::DynamicImage::ImageLuma8(gray)
        .to_rgb8()
        .save(input.path().join("rgb.png"))
        .unwrap();
    let out = TempDir::new().unwrap();
    let args = [
        "eval",
        s(input.path()),
        "-o",
        s(out.path()),
        "--quality",
        "4",
    ];
    json(&latent(&[&args[..], &["--json"]].concat()));
    let csv = std::fs::read_to_string(out.path().join("rd.csv")).unwrap();
    let field = |image: &str, codec: &str, setting: &str, column: usize| -> f64 {
        csv.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|r| r[0] == format!("{image:?}") && r[1] == codec && r[2] == setting)
            .unwrap_or_else(|| panic!("no {image} {codec} {setting} row in {csv}"))[column]
            .parse()
            .unwrap()
    };
    // The same pixels: a one-component JPEG for the gray file, three for the RGB one.
    let (gray_bytes, rgb_bytes) = (
        field("gray.png", "jpeg", "50", 3),
        field("rgb.png", "jpeg", "50", 3),
    );
    assert!(gray_bytes < rgb_bytes, "{gray_bytes} !< {rgb_bytes}");
    // Ours codes the gray file with the gray model and the RGB one with the colour model.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("rd.json")).unwrap()).unwrap();
    assert_eq!(report["model"], "codec-v5, codec-gray");
    let bytes = |image| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["image"] == image && r["codec"] == "latent")
            .unwrap()["bytes"]
            .clone()
    };
    for (image, model) in [("gray.png", "codec-gray"), ("rgb.png", "codec-v5")] {
        let lat = out.path().join("one.lat");
        let picture = input.path().join(image);
        let c = json(&latent(&[
            "compress",
            s(&picture),
            "-o",
            s(&lat),
            "--quality",
            "4",
            "--json",
        ]));
        assert_eq!(c["model"], model);
        assert_eq!(bytes(image), c["bytes"], "{image}");
    }
}
