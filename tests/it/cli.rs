//! The `latent` binary end to end: happy paths, JSON output and bad input.

use crate::common::{
    assert_fails_with, bundle_copy, compressed_crop, embedded_layout, json, latent,
    latent_with_stdin, s,
};

use tempfile::TempDir;

#[test]
fn compress_decompress_inspect_json() {
    let dir = TempDir::new().unwrap();
    let png = dir.path().join("in.ppm");
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    sample.crop_imm(0, 0, 70, 50).to_rgb8().save(&png).unwrap();
    let lat = dir.path().join("out.lat");
    let c = json(&latent(&[
        "compress",
        s(&png),
        "-o",
        s(&lat),
        "--json",
        "--threads",
        "2",
    ]));
    for key in [
        "input", "output", "width", "height", "bytes", "bpp", "quality", "model",
    ] {
        assert!(c.get(key).is_some(), "compress --json lacks {key}: {c}");
    }
    assert_eq!(
        (c["width"].as_u64(), c["height"].as_u64()),
        (Some(70), Some(50))
    );
    assert_eq!(
        c["bytes"].as_u64(),
        Some(std::fs::metadata(&lat).unwrap().len())
    );
    assert!(c["encode_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(c["precision"], "f32");

    let back = dir.path().join("back.png");
    let d = json(&latent(&["decompress", s(&lat), "-o", s(&back), "--json"]));
    assert_eq!(
        (d["width"].as_u64(), d["height"].as_u64()),
        (Some(70), Some(50))
    );
    assert!(d["decode_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(image::open(&back).unwrap().width(), 70);

    let i = json(&latent(&["inspect", s(&lat), "--json"]));
    let (channels, stride) = embedded_layout();
    let (lw, lh) = (70usize.div_ceil(stride), 50usize.div_ceil(stride));
    assert_eq!(i["latent_shape"], serde_json::json!([channels, lh, lw]));
    assert_eq!(i["fingerprint"], c["fingerprint"]);
    assert_eq!(i["model"], "codec-v5");
    let text = latent(&["inspect", s(&lat)]);
    let text = String::from_utf8_lossy(&text.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
    };
    assert!(
        line("latent_shape").ends_with(&format!(" {channels} x {lh} x {lw}")),
        "{text}"
    );
    assert!(line("encoder_precision").ends_with(" f32"), "{text}");
    let bpp = line("bpp").split_whitespace().last().unwrap_or_default();
    assert!(bpp.len() <= 8 && bpp.parse::<f64>().is_ok(), "{text}");
}

#[test]
fn demo_writes_its_files() {
    let dir = TempDir::new().unwrap();
    let out = latent(&["demo", "-o", s(dir.path()), "--threads", "1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("PSNR-RGB") && stdout.contains("bpp"),
        "{stdout}"
    );
    for f in ["sample.png", "sample.lat", "sample-decoded.png"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
}

#[test]
fn missing_and_non_image_inputs() {
    let dir = TempDir::new().unwrap();
    let out_lat = dir.path().join("x.lat");
    let out = latent(&["compress", "/nonexistent/photo.png", "-o", s(&out_lat)]);
    assert_fails_with(&out, "/nonexistent/photo.png");
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not an image at all").unwrap();
    assert_fails_with(
        &latent(&["compress", s(&text), "-o", s(&out_lat)]),
        "not a readable image",
    );
    assert!(!out_lat.exists());
}

#[test]
fn truncated_corrupt_and_foreign_version_lat() {
    let dir = TempDir::new().unwrap();
    let (_, lat) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let bytes = std::fs::read(&lat).unwrap();
    let bad = dir.path().join("bad.lat");
    let out_png = dir.path().join("out.png");
    let cases: [(Vec<u8>, &str); 4] = [
        (bytes[..bytes.len() - 5].to_vec(), "truncated"),
        (bytes[..10].to_vec(), "truncated"),
        (
            {
                let mut b = bytes.clone();
                let n = b.len();
                b[n - 3] ^= 0x40;
                b
            },
            "payload CRC mismatch",
        ),
        (
            {
                let mut b = bytes.clone();
                b[4] = 2;
                b
            },
            "unsupported .lat version 2",
        ),
    ];
    for (content, needle) in cases {
        std::fs::write(&bad, content).unwrap();
        assert_fails_with(&latent(&["decompress", s(&bad), "-o", s(&out_png)]), needle);
        assert_fails_with(&latent(&["inspect", s(&bad)]), needle);
        assert!(!out_png.exists());
    }
    std::fs::write(&bad, b"GIF89a....").unwrap();
    assert_fails_with(
        &latent(&["decompress", s(&bad), "-o", s(&out_png)]),
        "bad magic",
    );
}

#[test]
fn lat_from_another_model_names_both_fingerprints() {
    let dir = TempDir::new().unwrap();
    let (_, lat) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let other = bundle_copy(dir.path(), "other", None);
    let out_png = dir.path().join("out.png");
    let out = latent(&[
        "decompress",
        s(&lat),
        "-o",
        s(&out_png),
        "--model",
        s(&other),
    ]);
    assert_fails_with(&out, "was made by model");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let embedded = latent_codec::ModelBundle::embedded()
        .unwrap()
        .fingerprint_hex();
    assert!(stderr.contains(&embedded), "{stderr}");
    assert!(!out_png.exists());
}

#[test]
fn bundle_missing_a_file() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let broken = bundle_copy(dir.path(), "broken", None);
    std::fs::remove_file(broken.join("decoder.onnx")).unwrap();
    let out = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&dir.path().join("o.lat")),
        "--model",
        s(&broken),
    ]);
    assert_fails_with(&out, "missing decoder.onnx");
}

#[test]
fn bundle_with_the_wrong_graph_names_expected_and_found() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let wrong = bundle_copy(dir.path(), "wrong", None);
    std::fs::copy(wrong.join("decoder.onnx"), wrong.join("encoder.onnx")).unwrap();
    let out = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&dir.path().join("o.lat")),
        "--model",
        s(&wrong),
    ]);
    let (c, _) = embedded_layout();
    assert_fails_with(
        &out,
        &format!("bad encoder.onnx: input is [?, {c}, ?, ?], expected [N, 3, H, W]"),
    );
}

#[test]
fn bundle_with_an_unparsable_graph_names_it_and_tracts_cause_once() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let broken = bundle_copy(dir.path(), "broken", None);
    std::fs::write(broken.join("decoder.onnx"), b"not a protobuf").unwrap();
    let out = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&dir.path().join("o.lat")),
        "--model",
        s(&broken),
    ]);
    assert_fails_with(&out, "decoder.onnx does not load: ");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    let cause = err.split("does not load: ").nth(1).unwrap().trim();
    assert!(!cause.is_empty());
    assert_eq!(err.matches(cause).count(), 1, "{err}");
}

#[test]
fn over_the_pixel_limit() {
    let dir = TempDir::new().unwrap();
    let (png, lat) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let out_lat = dir.path().join("o.lat");
    let out = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&out_lat),
        "--max-pixels",
        "1000",
    ]);
    assert_fails_with(&out, "over the limit of 1000 (raise it with --max-pixels)");
    let out_png = dir.path().join("o.png");
    let out = latent(&[
        "decompress",
        s(&lat),
        "-o",
        s(&out_png),
        "--max-pixels",
        "1000",
    ]);
    assert_fails_with(&out, "over the limit of 1000 (raise it with --max-pixels)");
    assert!(!out_lat.exists() && !out_png.exists());
}

#[test]
fn over_the_byte_and_latent_limits() {
    let dir = TempDir::new().unwrap();
    let (_, lat) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let size = std::fs::metadata(&lat).unwrap().len();
    let out_png = dir.path().join("o.png");
    let small = (size - 1).to_string();
    let out = latent(&[
        "decompress",
        s(&lat),
        "-o",
        s(&out_png),
        "--max-input-bytes",
        &small,
    ]);
    assert_fails_with(
        &out,
        &format!("{size} bytes, over the limit of {small} (raise it with --max-input-bytes)"),
    );
    let out = latent(&["inspect", s(&lat), "--max-input-bytes", &small]);
    assert_fails_with(&out, "--max-input-bytes");
    let (c, stride) = embedded_layout();
    let elements = c * (80 / stride) * (48 / stride);
    let out = latent(&[
        "decompress",
        s(&lat),
        "-o",
        s(&out_png),
        "--max-latent-elements",
        &(elements - 1).to_string(),
    ]);
    assert_fails_with(
        &out,
        &format!(
            "{elements} latent elements, over the limit of {}",
            elements - 1
        ),
    );
    assert!(!out_png.exists());
}

#[test]
fn failed_run_keeps_existing_output() {
    let dir = TempDir::new().unwrap();
    let existing = dir.path().join("keep.png");
    std::fs::write(&existing, b"precious").unwrap();
    let junk = dir.path().join("junk.lat");
    std::fs::write(&junk, b"LATC\x01").unwrap();
    assert_fails_with(
        &latent(&["decompress", s(&junk), "-o", s(&existing)]),
        "truncated",
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "temp files left behind: {names:?}");
}

#[test]
fn bad_quality_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "in", (300, 200, 80, 48));
    let q_lat = dir.path().join("q.lat");
    let two_levels = bundle_copy(dir.path(), "two-levels", Some(&[2, 5]));
    let compress = |quality| {
        latent(&[
            "compress",
            s(&png),
            "-o",
            s(&q_lat),
            "--quality",
            quality,
            "--model",
            s(&two_levels),
        ])
    };
    assert_fails_with(
        &compress("7"),
        "quality 7 is not offered by this model (it offers: [2, 5])",
    );
    let out = compress("9");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("9 is not in 1..=8"));
}

#[test]
fn f16_runs_natively_or_falls_back_to_f32_with_one_warning() {
    let dir = TempDir::new().unwrap();
    let (png, lat) = compressed_crop(dir.path(), "crop", (240, 160, 64, 48));
    let out = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&lat),
        "--precision",
        "f16",
        "--json",
    ]);
    let v = json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match v["precision"].as_str().unwrap() {
        "f16" => assert!(stderr.is_empty(), "{stderr}"),
        "f32" => {
            assert!(stderr.starts_with("warning: f16 asked for"), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
        p => panic!("precision {p}"),
    }
    let inspect = json(&latent(&["inspect", s(&lat), "--json"]));
    assert_eq!(inspect["encoder_precision"], v["precision"]);
}

#[test]
fn dash_is_stdin_and_stdout() {
    let dir = TempDir::new().unwrap();
    let (png, lat) = compressed_crop(dir.path(), "crop", (30, 40, 70, 50));
    let want = std::fs::read(&lat).unwrap();

    let piped = latent_with_stdin(
        &["compress", "-", "-o", "-", "--threads", "1"],
        &std::fs::read(&png).unwrap(),
    );
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert_eq!(
        piped.stdout, want,
        "stdin -> stdout must give the file's bytes"
    );
    assert!(String::from_utf8_lossy(&piped.stderr).contains("bpp"));
    assert!(!dir.path().join("-").exists());

    let info = json(&latent_with_stdin(&["inspect", "-", "--json"], &want));
    assert_eq!(info["bytes"].as_u64(), Some(want.len() as u64));

    let back = latent_with_stdin(&["decompress", "-", "-o", "-", "--threads", "1"], &want);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    let from_file = dir.path().join("back.png");
    let out = latent(&["decompress", s(&lat), "-o", s(&from_file), "--threads", "1"]);
    assert!(out.status.success());
    assert_eq!(back.stdout, std::fs::read(&from_file).unwrap());
}

#[test]
fn outputs_respect_what_is_at_the_path() {
    let dir = TempDir::new().unwrap();
    let (png, lat) = compressed_crop(dir.path(), "crop", (30, 40, 70, 50));
    let photo = std::fs::read(&png).unwrap();
    let compress =
        |out: &std::path::Path| latent(&["compress", s(&png), "-o", s(out), "--threads", "1"]);

    // The input itself, under its own name or through a link: refused, left as it was.
    let out = latent(&["decompress", s(&lat), "-o", s(&lat)]);
    assert_fails_with(&out, "is the input file");
    #[cfg(unix)]
    {
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink("crop.png", &link).unwrap();
        let out = latent(&["denoise", s(&png), "-o", s(&link)]);
        assert_fails_with(&out, "is the input file");
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    }
    assert_eq!(std::fs::read(&png).unwrap(), photo);

    // An image name for compress's .lat output: a usage error (exit 2).
    let out = compress(&dir.path().join("out.png"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("compress writes .lat files"));
    assert!(!dir.path().join("out.png").exists());

    // A directory is refused; a missing folder names its path and the cause once.
    let out = compress(dir.path());
    assert_fails_with(&out, "is a directory");
    let out = compress(&dir.path().join("missing").join("x.lat"));
    assert_fails_with(&out, "missing: No such file or directory");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    let out = compress(&png.join("x.lat"));
    assert_fails_with(&out, "crop.png: is not a folder");

    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        // A symlink is written through and stays a link.
        let target = dir.path().join("target.lat");
        let link = dir.path().join("link.lat");
        std::fs::write(&target, b"old").unwrap();
        std::os::unix::fs::symlink("target.lat", &link).unwrap();
        assert!(compress(&link).status.success());
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(
            std::fs::read(&target).unwrap(),
            std::fs::read(&lat).unwrap()
        );
        // A device is written through, not replaced by a regular file.
        let null = std::path::Path::new("/dev/null");
        assert!(compress(null).status.success());
        assert!(
            std::fs::metadata(null)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
}

#[test]
fn json_is_not_listed_under_the_limits() {
    for command in ["compress", "inspect", "denoise", "packetize"] {
        let help = latent(&[command, "--help"]);
        let help = String::from_utf8_lossy(&help.stdout);
        let (json, limits) = (help.find("--json"), help.find("Limits on input:"));
        assert!(json.is_some() && limits.is_some(), "{help}");
        assert!(json < limits, "{command}: {help}");
    }
}

#[test]
fn out_of_range_options_are_usage_errors() {
    let cases: [&[&str]; 4] = [
        &["bench", "--size", "0x0"],
        &["bench", "--stage", "encoder"],
        &["bench", "--threads", "0"],
        &["packetize", "in.lat", "--mtu", "10", "-o", "packets"],
    ];
    for args in cases {
        let out = latent(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: invalid value"), "{stderr}");
    }
}

#[test]
fn dropped_transparency_is_a_warning() {
    let dir = TempDir::new().unwrap();
    let png = dir.path().join("glass.png");
    let mut rgba = image::RgbaImage::from_pixel(32, 32, image::Rgba([200, 100, 50, 255]));
    rgba.put_pixel(3, 3, image::Rgba([200, 100, 50, 0]));
    rgba.save(&png).unwrap();
    let lat = dir.path().join("glass.lat");
    let out = latent(&["compress", s(&png), "-o", s(&lat), "--threads", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("glass.png: transparency dropped: 1 pixel is not opaque"),
        "{stderr}"
    );
    assert!(lat.is_file());
}

#[test]
fn max_bytes_and_target_bpp_pick_the_best_quality_that_fits() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "crop", (200, 100, 160, 128));
    let at = |quality: u8| {
        let lat = dir.path().join(format!("q{quality}.lat"));
        let q = quality.to_string();
        let out = latent(&[
            "compress",
            s(&png),
            "-o",
            s(&lat),
            "--quality",
            &q,
            "--threads",
            "1",
        ]);
        assert!(out.status.success());
        std::fs::read(lat).unwrap()
    };
    let sizes: Vec<Vec<u8>> = (1..=8).map(at).collect();
    let fitted = |flag: &str, value: String| {
        let lat = dir.path().join("fit.lat");
        let out = latent(&["compress", s(&png), "-o", s(&lat), flag, &value, "--json"]);
        (
            json(&out)["quality"].as_u64().unwrap(),
            std::fs::read(lat).unwrap(),
        )
    };
    // A budget between qualities 5 and 6 gets quality 5, byte for byte.
    let budget = (sizes[4].len() + sizes[5].len()) / 2;
    assert!(sizes[4].len() < budget && budget < sizes[5].len());
    assert_eq!(
        fitted("--max-bytes", budget.to_string()),
        (5, sizes[4].clone())
    );
    let pixels = 160.0 * 128.0;
    let bpp = 8.0 * budget as f64 / pixels;
    assert_eq!(
        fitted("--target-bpp", format!("{bpp}")),
        (5, sizes[4].clone())
    );
    assert_eq!(fitted("--max-bytes", "100000000".into()).0, 8);

    // Under quality 1's size: an error naming what quality 1 takes, and no file.
    let too_small = (sizes[0].len() - 1).to_string();
    let lat = dir.path().join("none.lat");
    let out = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&lat),
        "--max-bytes",
        &too_small,
    ]);
    let want = format!("even quality 1, the lowest, takes {} bytes", sizes[0].len());
    assert_fails_with(&out, &want);
    assert!(!lat.exists());
    let out = latent(&[
        "compress",
        s(&png),
        "-o",
        s(&lat),
        "--max-bytes",
        "9",
        "--quality",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn version_names_the_embedded_models_and_their_fingerprints() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "crop", (0, 0, 64, 48));
    let lat = dir.path().join("crop.lat");
    let c = json(&latent(&["compress", s(&png), "-o", s(&lat), "--json"]));
    let out = latent(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let codec = format!(
        "codec     {} {}",
        c["model"].as_str().unwrap(),
        c["fingerprint"].as_str().unwrap()
    );
    assert!(
        text.starts_with("latent ") && text.contains(&codec),
        "{text}"
    );
    for role in [
        "denoiser  denoise-",
        "demo      fashion ",
        "demo      mnist ",
    ] {
        assert!(text.contains(role), "{role}: {text}");
    }
}

#[test]
fn a_folder_compresses_into_a_folder() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    sample
        .crop_imm(0, 0, 64, 48)
        .save(input.join("a.png"))
        .unwrap();
    sample
        .crop_imm(64, 0, 80, 32)
        .to_luma8()
        .save(input.join("b.jpg"))
        .unwrap();
    std::fs::copy(input.join("a.png"), input.join("a.bmp")).unwrap();
    std::fs::write(input.join("broken.png"), b"not a picture").unwrap();
    std::fs::write(input.join("notes.txt"), b"ignored").unwrap();
    let output = dir.path().join("out");
    let out = latent(&["compress", s(&input), "-o", s(&output), "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v = json(&out);
    assert_eq!(v["pictures"], 2, "{v}");
    // a.bmp and a.png would both be a.lat: the second is skipped, as is the broken file.
    let skipped: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 2, "{v}");
    assert!(skipped[0].ends_with("a.png") && skipped[1].ends_with("broken.png"));
    assert!(
        stderr.contains("already another picture's output"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("broken.png").count(), 1, "{stderr}");
    let mut written: Vec<String> = std::fs::read_dir(&output)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["a.lat", "b.lat"]);
    let bytes: u64 = written
        .iter()
        .map(|f| std::fs::metadata(output.join(f)).unwrap().len())
        .sum();
    assert_eq!(v["bytes"], bytes);
    let back = dir.path().join("b.png");
    let d = json(&latent(&[
        "decompress",
        s(&output.join("b.lat")),
        "-o",
        s(&back),
        "--json",
    ]));
    assert_eq!(
        (d["width"].as_u64(), d["channels"].as_u64()),
        (Some(80), Some(1))
    );

    // Into itself, or to stdout: refused.
    let out = latent(&["compress", s(&input), "-o", s(&input)]);
    assert_fails_with(&out, "is the input folder");
    let out = latent(&["compress", s(&input), "-o", "-"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_mono_y4m_stream_compresses_frame_by_frame_as_gray() {
    let dir = TempDir::new().unwrap();
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    let frames: Vec<image::GrayImage> = [(0, 0), (300, 200)]
        .iter()
        .map(|&(x, y)| sample.crop_imm(x, y, 64, 48).to_luma8())
        .collect();
    let y4m = dir.path().join("mono.y4m");
    let mut stream = b"YUV4MPEG2 W64 H48 F25:1 Ip A1:1 Cmono\n".to_vec();
    for f in &frames {
        stream.extend(b"FRAME\n");
        stream.extend(f.as_raw());
    }
    std::fs::write(&y4m, &stream).unwrap();
    let out = dir.path().join("lat");
    let c = json(&latent(&[
        "compress",
        s(&y4m),
        "-o",
        s(&out),
        "--json",
        "--threads",
        "1",
    ]));
    assert_eq!(
        (
            c["frames"].as_u64(),
            c["gray"].as_bool(),
            c["model"].as_str()
        ),
        (Some(2), Some(true), Some("codec-gray"))
    );
    // Each frame's file is what the same gray picture alone compresses to.
    for (i, frame) in frames.iter().enumerate() {
        let png = dir.path().join(format!("{i}.png"));
        frame.save(&png).unwrap();
        let alone = dir.path().join(format!("{i}.lat"));
        json(&latent(&[
            "compress",
            s(&png),
            "-o",
            s(&alone),
            "--json",
            "--threads",
            "1",
        ]));
        let from_stream = out.join(format!("frame-{:05}.lat", i + 1));
        assert_eq!(
            std::fs::read(&from_stream).unwrap(),
            std::fs::read(&alone).unwrap()
        );
    }
    assert!(!out.join("frame-00003.lat").exists());

    let to_file = latent(&["compress", s(&y4m), "-o", s(&dir.path().join("one.lat"))]);
    assert_eq!(to_file.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&to_file.stderr).contains("compresses into a folder"));
    let cut = dir.path().join("cut.y4m");
    std::fs::write(&cut, &stream[..stream.len() - 100]).unwrap();
    let out = latent(&["compress", s(&cut), "-o", s(&dir.path().join("cut"))]);
    assert_fails_with(&out, "frame 2 is cut short");
}
