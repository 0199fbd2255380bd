//! `latent bench`: every field of the JSON report, combinations side by side, budget exit code.

mod common;

use common::{json, latent};

const QUICK: [&str; 8] = [
    "--size",
    "64x48",
    "--runs",
    "2",
    "--warmup",
    "0",
    "--min-secs",
    "0",
];

#[test]
fn json_report_has_every_field_for_every_combination() {
    let mut args = vec!["bench", "--threads", "1,2", "--json"];
    args.extend(QUICK);
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
            "decode" => assert_eq!(shape, [1, 128, 3, 4]),
            "denoise" => assert_eq!(shape, [1, 3, 48, 64]),
            s => panic!("stage {s}"),
        }
        // MACs from tract's cost model agree with the model cards (per pixel of 64x48).
        let mac_per_px = r["gmac"].as_f64().unwrap() * 1e9 / (64.0 * 48.0);
        let card = match r["stage"].as_str().unwrap() {
            "encode" => 10_276.0,
            "decode" => 14_368.0,
            _ => 8_640.0,
        };
        assert!(
            (mac_per_px / card - 1.0).abs() < 0.05,
            "{} MAC/px vs {card}",
            mac_per_px
        );
    }
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
    args.extend(QUICK);
    let out = latent(&args);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 of 1 over the"));
    let bad = latent(&["bench", "--precision", "int8"]);
    assert_eq!(bad.status.code(), Some(1));
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
    args.extend(QUICK);
    let out = latent(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = image::open(&png).unwrap();
    assert_eq!((image.width(), image.height()), (900, 500));
}
