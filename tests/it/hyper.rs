//! The integer hyper-decoder against its numpy reference (`models/compressai/hyper_int.py`, which
//! wrote `tests/data/hyper/`): the same outputs and table indexes, bit for bit, for a
//! bmshj2018-hyperprior (ReLU) and an mbt2018-mean (LeakyReLU, scales then means) h_s; and a
//! `.lat` of the hyperprior bundle `tests/data/compressai-mbt/` made on x86_64 decoding to the
//! same symbols. CI runs this under qemu as Cortex-A53, A72 and A76 too.

use std::path::Path;

use latent_codec::codec::entropy::EntropyModel;
use latent_codec::codec::hyper::HyperDecoder;
use latent_codec::codec::packets;
use latent_codec::{Codec, Limits, ModelBundle, Precision};
use latent_wire::container::{HEADER_LEN, LatFile};
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

#[test]
fn committed_hyperprior_lat_decodes_to_committed_symbols() {
    let dir = data("compressai-mbt");
    let bundle = ModelBundle::from_dir(&dir, &Limits::default()).unwrap();
    let codec = Codec::new(bundle, 1, Precision::F32, Limits::default()).unwrap();
    let lat = std::fs::read(dir.join("fixture.lat")).unwrap();
    let decoded = codec.decode(&lat).unwrap();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join("fixture.json")).unwrap()).unwrap();
    assert_eq!(
        decoded.symbols_sha256(),
        meta["symbols_sha256"].as_str().unwrap()
    );
    assert_eq!((decoded.image.width(), decoded.image.height()), (256, 192));
}

#[test]
fn hyperprior_lat_refuses_what_needs_independent_values() {
    let dir = data("compressai-mbt");
    let bundle = ModelBundle::from_dir(&dir, &Limits::default()).unwrap();
    let model = EntropyModel::new(bundle, Limits::default());
    let lat = std::fs::read(dir.join("fixture.lat")).unwrap();
    let err = packets::packetize(&model, &lat, 512)
        .unwrap_err()
        .to_string();
    assert!(err.contains("hyperprior"), "{err}");
    // A payload of the z length alone (z's bytes missing), and one cut inside the latent's.
    for len in [HEADER_LEN + 1, lat.len() - 100] {
        let err = model
            .decode_symbols(&reheader(&lat, len))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid .lat"), "{err}");
    }
}

/// `lat` cut to `len` bytes with a header that says so.
fn reheader(lat: &[u8], len: usize) -> Vec<u8> {
    let file = LatFile::parse(lat).unwrap();
    let payload = &lat[HEADER_LEN..len];
    let mut out = vec![0u8; len];
    file.header().emit(payload, &mut out).unwrap();
    out
}

#[test]
fn hyperprior_bundle_parts_must_come_together() {
    let dir = data("compressai-mbt");
    let tmp = std::env::temp_dir().join(format!("latent-hyper-parts-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let copy = |files: &[&str]| {
        for f in std::fs::read_dir(&tmp).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        for f in files {
            std::fs::copy(dir.join(f), tmp.join(f)).unwrap();
        }
    };
    let load = |p: &Path| {
        ModelBundle::from_dir(p, &Limits::default())
            .unwrap_err()
            .to_string()
    };
    copy(&["encoder.onnx", "decoder.onnx", "prior.json"]);
    let err = load(&tmp);
    assert!(
        err.contains("a hyperprior without hyper_encoder.onnx and hyper.json"),
        "{err}"
    );
    copy(&["encoder.onnx", "decoder.onnx", "prior.json", "hyper.json"]);
    let err = load(&tmp);
    assert!(err.contains("missing hyper_encoder.onnx"), "{err}");
    copy(&[
        "encoder.onnx",
        "decoder.onnx",
        "hyper_encoder.onnx",
        "hyper.json",
    ]);
    let mut prior: Value =
        serde_json::from_slice(&std::fs::read(dir.join("prior.json")).unwrap()).unwrap();
    prior["hyperprior"]["z_channels"] = 15.into();
    std::fs::write(tmp.join("prior.json"), serde_json::to_vec(&prior).unwrap()).unwrap();
    let err = load(&tmp);
    assert!(err.contains("15 z channels"), "{err}");
    prior["hyperprior"]["z_channels"] = 16.into();
    prior["channels"].as_array_mut().unwrap().pop();
    std::fs::write(tmp.join("prior.json"), serde_json::to_vec(&prior).unwrap()).unwrap();
    let err = load(&tmp);
    assert!(err.contains("Gaussian tables for the 64 scales"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
