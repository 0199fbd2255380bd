//! `latent denoise` end to end: pictures, folders, Y4M and raw streams (files and pipes),
//! latency budget, and bad streams.

use std::path::{Path, PathBuf};

use image::GenericImageView;
use latent_codec::denoise::{Denoiser, Embedded, Source};

use crate::common::{assert_fails_with, json, latent, latent_with_stdin, psnr, repo, s};
use tempfile::TempDir;

/// A noisy 96x64 crop of the sample photo (Gaussian sigma 25, fixed seed) and its clean version.
fn noisy_crop(dir: &Path) -> (PathBuf, PathBuf) {
    noisy_crop_of(dir, 96, 64)
}

/// [`noisy_crop`] of `w x h` pixels.
fn noisy_crop_of(dir: &Path, w: u32, h: u32) -> (PathBuf, PathBuf) {
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    let clean = sample.crop_imm(300, 180, w, h).to_rgb8();
    let mut noisy = clean.clone();
    let mut g = latent_codec::demos::gaussian::Normal::new(3);
    for p in noisy.pixels_mut() {
        for c in &mut p.0 {
            *c = (f64::from(*c) + 25.0 * g.sample())
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    let (n, c) = (dir.join("noisy.png"), dir.join("clean.png"));
    noisy.save(&n).unwrap();
    clean.save(&c).unwrap();
    (n, c)
}

/// A Y4M stream of `frames` frames of `chroma` (C420jpeg, C444, Cmono) at 48x32.
fn y4m(chroma: &str, frames: usize) -> (Vec<u8>, usize) {
    let (w, h) = (48usize, 32usize);
    let len = match chroma {
        "Cmono" => w * h,
        "C444" => 3 * w * h,
        _ => w * h + 2 * (w / 2) * (h / 2),
    };
    let mut v = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 {chroma}\n").into_bytes();
    for f in 0..frames {
        v.extend(b"FRAME\n");
        v.extend((0..len).map(|i| ((i * 37 + f * 11) % 200 + 28) as u8));
    }
    (v, len)
}

#[test]
fn pictures_get_cleaner_and_gray_stays_gray() {
    let dir = TempDir::new().unwrap();
    let (noisy, clean) = noisy_crop(dir.path());
    let out = dir.path().join("out.png");
    let before = psnr(&noisy, &clean);
    let mut after = Vec::new();
    // Pictures get the model that measures best, denoise-v2, unless --model says otherwise.
    for (model, name) in [
        (None, "denoise-v2"),
        (Some("fast"), "denoise-fast"),
        (Some("quality"), "denoise-v2"),
    ] {
        let mut args = vec![
            "denoise",
            s(&noisy),
            "-o",
            s(&out),
            "--threads",
            "1",
            "--json",
        ];
        args.extend(model.iter().flat_map(|m| ["--model", m]));
        let v = json(&latent(&args));
        assert_eq!(v["gray"], false);
        assert_eq!(v["model"], name, "--model {model:?}");
        after.push(psnr(&out, &clean));
        eprintln!(
            "sigma 25 crop, {name}: {before:.2} dB noisy -> {:.2} dB denoised",
            after.last().unwrap()
        );
        assert!(
            *after.last().unwrap() > before + 5.0,
            "{name}: {before:.2} -> {after:?} dB"
        );
    }
    assert_eq!(after[0], after[2], "the default is the quality model");
    let gray = dir.path().join("gray.png");
    image::open(&noisy).unwrap().to_luma8().save(&gray).unwrap();
    let gout = dir.path().join("gout.png");
    assert_eq!(
        json(&latent(&["denoise", s(&gray), "-o", s(&gout), "--json"]))["gray"],
        true
    );
    assert_eq!(image::open(&gout).unwrap().color(), image::ColorType::L8);
}

#[test]
fn tiles_are_seamless() {
    // 312x200 in tiles of 64 (the quality model: 96 px of context) and 40 (the fast one): sides
    // that split into tiles not multiples of the graph's 16, which must start in its phase.
    let dir = TempDir::new().unwrap();
    let (noisy, _) = noisy_crop_of(dir.path(), 312, 200);
    let (whole, tiled) = (dir.path().join("w.png"), dir.path().join("t.png"));
    for (model, tile) in [("quality", "64"), ("fast", "40")] {
        let run = |out: &Path, tile: &str| {
            let args = ["denoise", s(&noisy), "-o", s(out), "--model", model];
            assert!(
                latent(&[&args[..], &["--tile", tile]].concat())
                    .status
                    .success()
            );
        };
        run(&whole, "0");
        run(&tiled, tile);
        let (a, b) = (
            image::open(&whole).unwrap().to_rgb8(),
            image::open(&tiled).unwrap().to_rgb8(),
        );
        let worst = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap();
        assert!(
            worst <= 1,
            "{model}: tiled differs from whole by up to {worst}"
        );
    }
}

#[test]
fn a_model_that_takes_multiples_of_16_gets_padded_tiles() {
    let dir = TempDir::new().unwrap();
    let (noisy, clean) = noisy_crop(dir.path());
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    std::fs::copy(
        repo("models/denoise/denoiser.onnx"),
        model.join("denoiser.onnx"),
    )
    .unwrap();
    let meta = |multiple: u32| {
        let json = format!(r#"{{"name": "padded", "overlap": 16, "multiple": {multiple}}}"#);
        std::fs::write(model.join("model.json"), json).unwrap();
    };
    meta(16);
    // 96x64 in tiles of 40: tiles and their context are 56 to 96 wide, padded to 64 and 96.
    let out = dir.path().join("out.png");
    let r = json(&latent(&[
        "denoise",
        s(&noisy),
        "-o",
        s(&out),
        "--model",
        s(&model),
        "--tile",
        "40",
        "--json",
    ]));
    assert_eq!(r["model"], "padded");
    assert_eq!(image::open(&out).unwrap().dimensions(), (96, 64));
    assert!(psnr(&out, &clean) > psnr(&noisy, &clean) + 5.0);
    meta(0);
    let run = latent(&["denoise", s(&noisy), "-o", s(&out), "--model", s(&model)]);
    assert_fails_with(&run, "multiple 0 is not in 1..=64");
}

#[test]
fn a_folder_is_denoised_with_bad_files_skipped() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    noisy_crop(&input);
    std::fs::write(input.join("broken.png"), b"not a png").unwrap();
    let out = dir.path().join("out");
    let v = json(&latent(&["denoise", s(&input), "-o", s(&out), "--json"]));
    assert_eq!(v["pictures"], 2);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 1);
    assert!(out.join("noisy.png").exists() && out.join("clean.png").exists());
    assert!(!out.join("broken.png").exists());
}

#[test]
fn y4m_files_and_pipes_keep_header_and_frames() {
    let dir = TempDir::new().unwrap();
    for chroma in ["C420jpeg", "C444", "Cmono"] {
        let (stream, _) = y4m(chroma, 3);
        let (input, output) = (dir.path().join("in.y4m"), dir.path().join("out.y4m"));
        std::fs::write(&input, &stream).unwrap();
        let v = json(&latent(&[
            "denoise",
            s(&input),
            "-o",
            s(&output),
            "--budget-ms",
            "100000",
            "--json",
        ]));
        assert_eq!(v["frames"], 3);
        assert_eq!(v["over_budget"], 0);
        let out = std::fs::read(&output).unwrap();
        assert_eq!(out.len(), stream.len(), "{chroma}");
        let header_end = stream.iter().position(|&b| b == b'\n').unwrap();
        assert_eq!(out[..header_end], stream[..header_end]);
        // Through pipes: the same bytes on stdout, the summary on stderr.
        let piped = latent_with_stdin(&["denoise", "-", "-o", "-"], &stream);
        assert!(
            piped.status.success(),
            "{}",
            String::from_utf8_lossy(&piped.stderr)
        );
        assert_eq!(piped.stdout, out, "{chroma}");
        assert!(String::from_utf8_lossy(&piped.stderr).contains("3 frames"));
    }
}

#[test]
fn raw_frames_in_each_pixel_format() {
    for (fmt, len) in [
        ("gray8", 48 * 32),
        ("rgb24", 3 * 48 * 32),
        ("yuv420p", 48 * 32 * 3 / 2),
    ] {
        let frames: Vec<u8> = (0..2 * len).map(|i| (i % 251) as u8).collect();
        let out = latent_with_stdin(
            &[
                "denoise",
                "-",
                "-o",
                "-",
                "--raw",
                "48x32",
                "--pix-fmt",
                fmt,
            ],
            &frames,
        );
        assert!(
            out.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len(), frames.len(), "{fmt}");
    }
}

#[test]
fn budget_fitting_reports_its_choice() {
    let (stream, _) = y4m("C420jpeg", 4);
    let out = latent_with_stdin(
        &[
            "denoise",
            "-",
            "-o",
            "-",
            "--budget-ms",
            "0.001",
            "--fit-budget",
            "--json",
        ],
        &stream,
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(v["frames"], 4);
    assert_eq!(v["over_budget"], 4, "no setting runs in 1 µs");
    assert_eq!(v["model"], "denoise-fast", "over budget: the fast model");
    assert!(v["fit_budget"]["threads"].as_u64().unwrap() >= 1);
    assert!(v["latency_ms"]["p99"].as_f64().unwrap() >= v["latency_ms"]["p50"].as_f64().unwrap());
    // A budget any model meets (the best one, denoise-v2, is taken; --model fast keeps the fast
    // model); and streams without --fit-budget run the fast model.
    for (extra, model) in [
        (&["--budget-ms", "100000", "--fit-budget"][..], "denoise-v2"),
        (
            &["--budget-ms", "100000", "--fit-budget", "--model", "fast"][..],
            "denoise-fast",
        ),
        (&[][..], "denoise-fast"),
    ] {
        let mut args = vec!["denoise", "-", "-o", "-", "--json"];
        args.extend(extra);
        let out = latent_with_stdin(&args, &stream);
        let v: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stderr).trim()).unwrap();
        assert_eq!(v["model"], model, "{extra:?}");
    }
}

#[test]
fn cut_and_bad_streams_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    let (stream, len) = y4m("C420jpeg", 3);
    // Cut inside frame 3: frames 1 and 2 come out whole, then the error names frame 3.
    let cut = &stream[..stream.len() - len / 2];
    let out = latent_with_stdin(&["denoise", "-", "-o", "-"], cut);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("frame 3 is cut short"), "{stderr}");
    let header_len = stream.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(out.stdout.len(), header_len + 2 * (6 + len));
    let bad = latent_with_stdin(
        &["denoise", "-", "-o", "-"],
        b"YUV4MPEG2 W48 H32 C422\nFRAME\n",
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unsupported chroma C422"));
    let garbage = latent_with_stdin(&["denoise", "-", "-o", "-"], b"hello");
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("not a Y4M stream"));
    let raw = latent_with_stdin(
        &[
            "denoise",
            "-",
            "-o",
            "-",
            "--raw",
            "48x32",
            "--pix-fmt",
            "gray8",
        ],
        &[0u8; 2000],
    );
    assert!(
        String::from_utf8_lossy(&raw.stderr).contains("frame 2 is cut short: 464 of 1536 bytes")
    );
    // A failed single picture writes nothing and keeps an existing output.
    let existing = dir.path().join("keep.png");
    std::fs::write(&existing, b"precious").unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let o = latent(&["denoise", s(&broken), "-o", s(&existing)]);
    assert_fails_with(&o, "not a readable image");
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    // A stream cut inside its first frame leaves neither a file nor a changed one.
    let first_cut = &stream[..header_len + 6 + len / 2];
    let path = dir.path().join("cut.y4m");
    for target in [&path, &existing] {
        let o = latent_with_stdin(&["denoise", "-", "-o", s(target)], first_cut);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("error: frame 1 is cut short"));
    }
    assert!(!path.exists());
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
}

#[test]
fn sigma_hint_scales_what_is_removed() {
    let dir = TempDir::new().unwrap();
    let (noisy, clean) = noisy_crop(dir.path());
    let (zero, hinted) = (dir.path().join("zero.png"), dir.path().join("hinted.png"));
    assert!(
        latent(&["denoise", s(&noisy), "-o", s(&zero), "--sigma", "0"])
            .status
            .success()
    );
    let (a, b) = (
        image::open(&noisy).unwrap().to_rgb8(),
        image::open(&zero).unwrap().to_rgb8(),
    );
    assert_eq!(a, b, "a zero hint removes nothing");
    assert!(
        latent(&["denoise", s(&noisy), "-o", s(&hinted), "--sigma", "25"])
            .status
            .success()
    );
    assert!(psnr(&hinted, &clean) > psnr(&noisy, &clean) + 4.0);
    let o = latent(&["denoise", s(&noisy), "-o", s(&hinted), "--sigma", "-3"]);
    assert_eq!(o.status.code(), Some(2), "usage error");
}

#[test]
fn int8_runs_where_the_cpu_has_integer_dot_products_and_f32_with_a_warning_elsewhere() {
    let dir = TempDir::new().unwrap();
    let (noisy, _) = noisy_crop(dir.path());
    let out_png = dir.path().join("out.png");
    let args = [
        "denoise",
        s(&noisy),
        "-o",
        s(&out_png),
        "--precision",
        "int8",
        "--json",
    ];
    let out = latent(&args);
    let v = json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if latent_codec::runtime::precision::int8_dot_product() {
        assert_eq!(v["precision"], "int8");
        assert!(stderr.is_empty(), "{stderr}");
    } else {
        assert_eq!(v["precision"], "f32");
        assert!(stderr.contains("no integer dot product"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one warning line: {stderr}");
    }
}

#[test]
fn the_same_pixels_whatever_the_threads() {
    // 96x64 in tiles of 16 pixels (the fast model: 24 tiles) or 32 (the quality model, whose
    // 96-pixel overlap makes every tile the whole crop: 6), one by one on 1 thread, several at
    // once on 2 and 3.
    let dir = TempDir::new().unwrap();
    let (noisy, _) = noisy_crop(dir.path());
    let noisy = image::open(noisy).unwrap().to_rgb8();
    let limits = latent_codec::Limits::default();
    for (which, tile) in [(Embedded::Fast, 16), (Embedded::Quality, 32)] {
        let run = |threads| {
            Denoiser::load(
                Source::Embedded(which),
                threads,
                latent_codec::Precision::F32,
                &limits,
            )
            .unwrap()
            .denoise(&noisy, tile)
            .unwrap()
            .into_raw()
        };
        let one = run(1);
        for threads in [2, 3] {
            assert!(
                run(threads) == one,
                "{which:?}: {threads} threads give other pixels than 1"
            );
        }
    }
}
