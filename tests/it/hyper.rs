//! The integer hyper-decoder against its numpy reference (`models/compressai/hyper_int.py`, which
//! wrote `tests/data/hyper/`): the same outputs and table indexes, bit for bit, for a
//! bmshj2018-hyperprior (ReLU) and an mbt2018-mean (LeakyReLU, scales then means) h_s. CI runs
//! this under qemu as Cortex-A53, A72 and A76 too.

use latent_codec::codec::hyper::HyperDecoder;
use serde_json::Value;

use crate::common::data;

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn outputs_and_indexes_match_the_reference() {
    for name in ["bmshj2018-hyperprior", "mbt2018-mean"] {
        let spec = std::fs::read(data(&format!("hyper/{name}.hyper.json"))).unwrap();
        let net = HyperDecoder::parse(name, &spec).unwrap();
        let golden: Value = serde_json::from_slice(
            &std::fs::read(data(&format!("hyper/{name}.golden.json"))).unwrap(),
        )
        .unwrap();
        let z: Vec<i32> = ints(&golden["z"]).into_iter().map(|v| v as i32).collect();
        let zs = ints(&golden["z_shape"]);
        let (out, shape) = net.run(&z, zs[1] as usize, zs[2] as usize).unwrap();
        let want_shape: Vec<usize> = ints(&golden["out_shape"])
            .iter()
            .map(|&v| v as usize)
            .collect();
        assert_eq!(shape.to_vec(), want_shape, "{name}");
        let want = ints(&golden["out"]);
        let differ = out
            .iter()
            .zip(&want)
            .filter(|(a, b)| i64::from(**a) != **b)
            .count();
        assert_eq!(
            differ,
            0,
            "{name}: {differ} of {} outputs differ",
            want.len()
        );
        // mbt2018-mean's h_s gives the scales, then the means.
        let scale_channels = if name == "mbt2018-mean" {
            shape[0] / 2
        } else {
            shape[0]
        };
        let scales = &out[..scale_channels * shape[1] * shape[2]];
        let idx: Vec<i64> = net.indexes(scales).into_iter().map(i64::from).collect();
        assert_eq!(idx, ints(&golden["indexes"]), "{name}: table indexes");
        assert!(
            idx.iter().any(|&i| i > 0) && idx.iter().any(|&i| i > 20),
            "{name}: indexes span the table"
        );
    }
}

#[test]
fn bad_hyper_files_are_named_errors() {
    let spec = std::fs::read(data("hyper/bmshj2018-hyperprior.hyper.json")).unwrap();
    let mut v: Value = serde_json::from_slice(&spec).unwrap();
    v["layers"][1]["in"] = 7.into();
    let err = HyperDecoder::parse("x", &serde_json::to_vec(&v).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad hyper.json: layer 1"), "{err}");
    let mut v: Value = serde_json::from_slice(&spec).unwrap();
    v["layers"][0]["weights"][0] = 40000.into();
    let err = HyperDecoder::parse("x", &serde_json::to_vec(&v).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("out of range"), "{err}");
    let err = HyperDecoder::parse("x", b"{").unwrap_err().to_string();
    assert!(err.contains("bad hyper.json"), "{err}");
    let net = HyperDecoder::parse("x", &spec).unwrap();
    assert!(net.run(&[0; 5], 3, 4).is_none(), "too few symbols");
    assert!(net.run(&[], 0, 4).is_none(), "an empty plane");
}
