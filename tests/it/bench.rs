//! `latent bench`: every field of the JSON report, combinations side by side, budget exit code.

use std::path::Path;

use crate::common::{assert_fails_with, data, json, latent, latent_env, s};

/// Two timed runs and no warm-up.
const FEW_RUNS: [&str; 6] = ["--runs", "2", "--warmup", "0", "--min-secs", "0"];

/// A small picture, few runs.
fn quick<'a>() -> impl Iterator<Item = &'a str> {
    ["--size", "64x48"].into_iter().chain(FEW_RUNS)
}

#[test]
fn json_report_has_every_field_for_every_combination() {
    let mut args = vec!["bench", "--threads", "1,2", "--json"];
    args.extend(quick());
    let v = json(&latent(&args));
    assert!(v["cpu"]["model"].is_string());
    assert!(v["cpu"]["features"].is_array());
    assert!(v["cpu"]["cores"].as_u64().unwrap() >= 1);
    assert!(v["throttled"].is_boolean());
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 3 * 2, "3 stages x 2 thread counts");
    for r in rows {
        for key in [
            "load_ms", "first_ms", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "std_ms", "gflops",
        ] {
            assert!(r[key].as_f64().unwrap() >= 0.0, "{key} in {r}");
        }
        assert!(r["p99_ms"].as_f64() >= r["p50_ms"].as_f64());
        assert_eq!(r["precision"], "f32");
        assert!(r["onnx"].as_str().unwrap().starts_with("models/"));
        let shape: Vec<u64> = serde_json::from_value(r["input_shape"].clone()).unwrap();
        match r["stage"].as_str().unwrap() {
            "encode" => assert_eq!(shape, [1, 3, 48, 64]),
            "decode" => assert_eq!(shape, [1, 64, 6, 8]),
            "denoise" => assert_eq!(shape, [1, 3, 48, 64]),
            s => panic!("stage {s}"),
        }
        // MACs from tract's cost model agree with the model cards (per pixel of 64x48).
        let mac_per_px = r["gmac"].as_f64().unwrap() * 1e9 / (64.0 * 48.0);
        let card = match r["stage"].as_str().unwrap() {
            "encode" => 11_476.0,
            "decode" => 36_624.0,
            _ => 8_288.0, // denoise-fast
        };
        assert!(
            (mac_per_px / card - 1.0).abs() < 0.05,
            "{} MAC/px vs {card}",
            mac_per_px
        );
    }
}

#[test]
fn gray_times_the_embedded_gray_models_one_channel_graphs() {
    let mut args = vec![
        "bench",
        "--gray",
        "--stage",
        "encode,decode",
        "--threads",
        "1",
    ];
    args.extend(quick());
    args.push("--json");
    let v = json(&latent(&args));
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert!(
            r["onnx"]
                .as_str()
                .unwrap()
                .starts_with("models/codec-gray/")
        );
        let shape: Vec<u64> = serde_json::from_value(r["input_shape"].clone()).unwrap();
        // MACs per pixel as its model card states them.
        let (want, card) = match r["stage"].as_str().unwrap() {
            "encode" => (vec![1, 1, 48, 64], 10_876.0),
            _ => (vec![1, 64, 6, 8], 35_184.0),
        };
        assert_eq!(shape, want);
        let mac_per_px = r["gmac"].as_f64().unwrap() * 1e9 / (64.0 * 48.0);
        assert!(
            (mac_per_px / card - 1.0).abs() < 0.05,
            "{mac_per_px} vs {card}"
        );
    }
    let both = latent(&["bench", "--gray", "--model", "models/codec-v5"]);
    assert_eq!(both.status.code(), Some(2));
}

/// The kernel set the report names is where the kernels come from: AVX-512 is left out only
/// without int8 (whose VNNI kernels need it), and `TRACT_CPU_ISA` in the environment wins.
#[test]
fn kernel_set_matches_the_kernels_picked() {
    let run = |precision: &str, vars: &[(&str, &Path)]| {
        let mut args = vec!["bench", "--stage", "encode", "--threads", "1", "--json"];
        args.extend(["--precision", precision]);
        args.extend(quick());
        json(&latent_env(&args, vars))
    };
    let v = run("f32", &[]);
    let set = v["kernel_set"].as_str().unwrap();
    let kernels = v["results"][0]["kernels"].as_array().unwrap();
    assert!(!kernels.is_empty());
    if set.contains("left out") {
        assert!(
            kernels
                .iter()
                .all(|k| !k.as_str().unwrap().contains("avx512"))
        );
    }
    let v = run("f32,int8", &[]);
    assert!(!v["kernel_set"].as_str().unwrap().contains("left out"));
    let v = run("f32", &[("TRACT_CPU_ISA", Path::new(""))]);
    assert!(v["kernel_set"].as_str().unwrap().contains("TRACT_CPU_ISA"));
}

#[test]
fn over_budget_exits_with_3() {
    let mut args = vec![
        "bench",
        "--stage",
        "denoise",
        "--threads",
        "1",
        "--budget-ms",
        "0.000001",
    ];
    args.extend(quick());
    let out = latent(&args);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 of 1 over the"));
    let bad = latent(&["bench", "--precision", "fp8"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("f32, f16, int8, auto"));
}

#[test]
fn precisions_side_by_side_with_their_graphs_and_kernels() {
    let mut args = vec![
        "bench",
        "--threads",
        "1",
        "--precision",
        "f32,f16,int8",
        "--json",
    ];
    args.extend(quick());
    let v = json(&latent(&args));
    let native_f16 = v["native_f16"].as_bool().unwrap();
    let rows = v["results"].as_array().unwrap();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap().into(),
                r["precision"].as_str().unwrap().into(),
            )
        })
        .collect();
    for stage in ["encode", "decode", "denoise"] {
        assert!(got.contains(&(stage.into(), "f32".into())));
        assert!(got.contains(&(stage.into(), "int8".into())), "{got:?}");
        assert_eq!(
            got.contains(&(stage.into(), "f16".into())),
            native_f16,
            "{got:?}"
        );
    }
    let notes = v["notes"].to_string();
    assert_eq!(
        !native_f16,
        notes.contains("f16 skipped for encode, decode, denoise: "),
        "{notes}"
    );
    for r in rows.iter().filter(|r| r["precision"] == "int8") {
        let graph = match r["stage"].as_str().unwrap() {
            "encode" => format!("{}/encoder", latent_codec::runtime::bundle::EMBEDDED_DIR),
            "decode" => format!("{}/decoder", latent_codec::runtime::bundle::EMBEDDED_DIR),
            _ => "models/denoise-fast/denoiser".into(),
        };
        assert_eq!(r["onnx"], format!("{graph}.int8.onnx"));
        let kernels = r["kernels"].to_string();
        assert!(
            kernels.contains("_mmm_i32_"),
            "int8 ran no integer kernel: {kernels}"
        );
    }
}

#[test]
fn save_choice_makes_auto_use_the_measured_fastest() {
    let cache = tempfile::TempDir::new().unwrap();
    let env = [("LATENT_CACHE_DIR", cache.path())];
    let mut args = vec![
        "bench",
        "--stage",
        "decode",
        "--threads",
        "1",
        "--precision",
        "f32,int8",
    ];
    args.extend(quick());
    args.push("--save-choice");
    let out = latent_env(&args, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    let saved = std::fs::read_dir(cache.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let choices: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let fastest = choices["fastest"]["decode"].as_str().unwrap().to_string();
    assert!(
        report.contains(&format!("auto will use decode {fastest}")),
        "{report}"
    );

    let dir = tempfile::TempDir::new().unwrap();
    let lat = dir.path().join("x.lat");
    let png = dir.path().join("x.png");
    let c = json(&latent_env(
        &[
            "compress",
            "tests/data/fixture-input.png",
            "-o",
            s(&lat),
            "--json",
        ],
        &env,
    ));
    let d = json(&latent_env(
        &["decompress", s(&lat), "-o", s(&png), "--json"],
        &env,
    ));
    assert_eq!(
        d["precision"],
        fastest.as_str(),
        "auto takes the saved decode choice"
    );
    assert_eq!(d["encoder_precision"], c["precision"]);
}

#[test]
fn plot_writes_a_latency_histogram() {
    let dir = tempfile::TempDir::new().unwrap();
    let png = dir.path().join("latency.png");
    let mut args = vec![
        "bench",
        "--stage",
        "encode,decode",
        "--threads",
        "1",
        "--plot",
        png.to_str().unwrap(),
    ];
    args.extend(quick());
    let out = latent(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = image::open(&png).unwrap();
    assert_eq!((image.width(), image.height()), (900, 500));
}

/// The instruction-set edit that takes every integer dot product away from tract, as on a Zen 3
/// (x86) or a Cortex-A72 (aarch64).
fn no_dot_product() -> &'static Path {
    Path::new(if cfg!(target_arch = "aarch64") {
        "-dotprod"
    } else {
        "-avx512f,-avx512vnni,-avxvnni,-amx-int8"
    })
}

/// Without integer dot products int8 is never a trap: bench measures it but marks the row, auto
/// does not pick it, and an explicit `--precision int8` warns and encodes at f32.
#[test]
fn int8_without_dot_products_runs_f32_with_a_warning() {
    let cache = tempfile::TempDir::new().unwrap();
    let env = [
        ("TRACT_CPU_ISA", no_dot_product()),
        ("LATENT_CACHE_DIR", cache.path()),
    ];
    let mut args = vec!["bench", "--stage", "decode", "--threads", "1"];
    args.extend(["--precision", "f32,int8", "--json", "--save-choice"]);
    args.extend(quick());
    let v = json(&latent_env(&args, &env));
    let rows = v["results"].as_array().unwrap();
    let int8 = rows.iter().find(|r| r["precision"] == "int8").unwrap();
    assert_eq!(int8["runs_as"], "f32", "{int8}");
    let f32_row = rows.iter().find(|r| r["precision"] == "f32").unwrap();
    assert!(f32_row.get("runs_as").is_none(), "{f32_row}");
    let saved = std::fs::read_dir(cache.path()).unwrap().next().unwrap();
    let choices: serde_json::Value =
        serde_json::from_slice(&std::fs::read(saved.unwrap().path()).unwrap()).unwrap();
    assert_eq!(choices["fastest"]["decode"], "f32", "{choices}");

    let dir = tempfile::TempDir::new().unwrap();
    let lat = dir.path().join("s.lat");
    let sample = crate::common::data("sample.png");
    let out = latent_env(
        &["compress", s(&sample), "-o", s(&lat), "--precision", "int8"],
        &env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no integer dot product"), "{stderr}");
    let inspect = json(&latent(&["inspect", s(&lat), "--json"]));
    assert_eq!(inspect["encoder_precision"], "f32", "{inspect}");
}

#[test]
fn any_onnx_graph_of_several_inputs_is_timed() {
    let graph = data("onnx/two-inputs.onnx");
    let mut args = vec![
        "bench",
        "--onnx",
        s(&graph),
        "--input",
        "a=1x3x32x48",
        "--input",
        "b=1x3x32x48",
        "--threads",
        "1,2",
        "--profile",
        "1",
        "--json",
    ];
    args.extend(FEW_RUNS);
    let v = json(&latent(&args));
    assert!(v["size"].is_null());
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "2 thread counts");
    for r in rows {
        assert_eq!(r["stage"], "onnx");
        assert_eq!(r["onnx"], s(&graph));
        let inputs: Vec<(String, Vec<u64>)> = r["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let shape = serde_json::from_value(i["shape"].clone()).unwrap();
                (i["name"].as_str().unwrap().to_string(), shape)
            })
            .collect();
        let shape = vec![1, 3, 32, 48];
        assert_eq!(inputs, [("a".into(), shape.clone()), ("b".into(), shape)]);
        // The convolution: 4 outputs x 3 channels x 3x3 per pixel.
        assert_eq!(r["gmac"].as_f64().unwrap(), 4.0 * 27.0 * 32.0 * 48.0 / 1e9);
        assert!(r["megapixels_per_s"].as_f64().unwrap() > 0.0);
        assert!(!r["profile"].as_array().unwrap().is_empty());
    }
}

#[test]
fn onnx_graphs_that_cannot_run_are_clear_errors() {
    let two = data("onnx/two-inputs.onnx");
    let (unsupported, not_onnx) = (
        data("onnx/unsupported.onnx"),
        crate::common::repo("README.md"),
    );
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--onnx", s(&unsupported)], "Frobnicate"),
        (
            vec!["--onnx", s(&two), "--input", "a=1x3x8x8"],
            "input b has free dims (1x3x?x?): give its shape with --input b=",
        ),
        (
            vec!["--onnx", s(&two), "--input", "c=1x3x8x8"],
            "the graph has no input \"c\" (its inputs: a, b)",
        ),
        (
            vec![
                "--onnx",
                s(&two),
                "--input",
                "a=1x4x8x8",
                "--input",
                "b=1x3x8x8",
            ],
            "--input a: shape 1x4x8x8 does not fit its declared 1x3x?x?",
        ),
        (vec!["--onnx", s(&not_onnx)], "tract cannot read this graph"),
    ];
    for (args, needle) in cases {
        let out = latent(&[&["bench"], args.as_slice()].concat());
        assert_fails_with(&out, needle);
    }
    for usage in [
        vec!["--onnx", s(&two), "--stage", "encode"],
        vec!["--onnx", s(&two), "--precision", "int8"],
        vec!["--input", "a=1x3x8x8"],
        vec!["--onnx", s(&two), "--input", "a=1x3x0x8"],
    ] {
        let out = latent(&[&["bench"], usage.as_slice()].concat());
        assert_eq!(out.status.code(), Some(2), "{usage:?}");
    }
}
