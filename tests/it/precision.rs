//! Error budgets of the lower precisions, on crops of the bundled sample photo
//! (`models/PRECISION.md`), for both embedded codecs (the gray one on the crops' luma): decoding
//! the same `.lat` at f16 costs at most 0.05 dB PSNR against f32, at int8 at most 0.3 dB; the
//! whole pipeline (encode and decode) at f16/int8 stays within the same budgets with at most 2 %
//! more or fewer bytes; both denoisers' output likewise. int8 is checked on a 384x256 crop
//! (codec-v5: −0.15 dB decode, −0.22 dB pipeline, +0.7 % bytes on x86, the whole photo −0.18,
//! −0.26 dB and +1.0 %; codec-gray: −0.10, −0.20 dB, +0.6 %), so that CI's three emulated Arm
//! cores run it in reasonable time.
//!
//! f16 runs where it is native (tract's fp16 kernels, checked by name) and on x86, where tract
//! emulates it (slowly, so on a crop): the same f16 arithmetic, so the budget is checked here
//! too. On aarch64 cores without fp16 (Cortex-A53/A72) the product never runs f16, and the test
//! checks that it falls back to f32 instead. CI runs this file under qemu as a Cortex-A53, A72
//! and A76 (with `TRACT_CPU_ISA=+fp16`, since qemu shows the host's /proc/cpuinfo).

use image::{DynamicImage, RgbImage};
use latent_codec::denoise::{self, Denoiser, Source};
use latent_codec::runtime::bundle::Embedded;
use latent_codec::runtime::engine::{Graph, executor};
use latent_codec::runtime::precision::{self, Precision};
use latent_codec::{Codec, Limits, ModelBundle, report::metrics, sample};

use crate::common::embedded_codec;

const F16_BUDGET_DB: f64 = 0.05;
const INT8_BUDGET_DB: f64 = 0.3;
const BPP_BUDGET: f64 = 0.02;

fn sample_image() -> RgbImage {
    image::load_from_memory(sample::SAMPLE_PNG)
        .unwrap()
        .to_rgb8()
}

/// A crop of the sample photo: emulated f16 is ~240x slower than f32.
fn crop(w: u32, h: u32) -> RgbImage {
    image::imageops::crop_imm(&sample_image(), 240, 160, w, h).to_image()
}

fn codec(precision: Precision) -> Codec {
    embedded_codec(2, precision)
}

fn model(which: Embedded, precision: Precision) -> Codec {
    let bundle = ModelBundle::compiled_in(which).unwrap();
    Codec::new(bundle, 2, precision, Limits::default()).unwrap()
}

/// PSNR of `b` against `a`, both in the same colours.
fn psnr(a: &DynamicImage, b: &DynamicImage) -> f64 {
    assert_eq!(a.color(), b.color());
    metrics::psnr(a.as_bytes(), b.as_bytes())
}

/// Whether f16 arithmetic can be checked on this machine (native, or tract's x86 emulation).
fn f16_runs_here() -> bool {
    precision::native_f16() || cfg!(target_arch = "x86_64")
}

/// (ΔPSNR of decoding f32's `.lat` at `p`, ΔPSNR of the whole pipeline at `p`, relative change
/// in bytes), all against f32, for the embedded model `which` on `original`.
fn deltas(which: Embedded, original: &DynamicImage, p: Precision) -> (f64, f64, f64) {
    let (f32_codec, low) = (model(which, Precision::F32), model(which, p));
    let quality = f32_codec.default_quality();
    let lat = f32_codec.encode(original, quality).unwrap();
    let reference = psnr(original, &f32_codec.decode(&lat.bytes).unwrap().image);
    let decoded_low = psnr(original, &low.decode(&lat.bytes).unwrap().image);
    let lat_low = low.encode(original, quality).unwrap();
    assert_eq!(Precision::from_wire(lat_low.header.precision), p);
    let pipeline_low = psnr(original, &low.decode(&lat_low.bytes).unwrap().image);
    let bytes = lat_low.bytes.len() as f64 / lat.bytes.len() as f64 - 1.0;
    eprintln!(
        "{which:?} {p}: f32 {reference:.3} dB; decode at {p} {:+.3} dB; pipeline {:+.3} dB, bytes {:+.2} %",
        decoded_low - reference,
        pipeline_low - reference,
        100.0 * bytes
    );
    (reference - decoded_low, reference - pipeline_low, bytes)
}

/// Checks `p`'s deltas against `budget_db` and [`BPP_BUDGET`].
fn within_budget(which: Embedded, original: &DynamicImage, p: Precision, budget_db: f64) {
    let (decode, pipeline, bytes) = deltas(which, original, p);
    assert!(
        decode <= budget_db,
        "{which:?} {p} decode costs {decode:.3} dB"
    );
    assert!(
        pipeline <= budget_db,
        "{which:?} {p} pipeline costs {pipeline:.3} dB"
    );
    assert!(
        bytes.abs() <= BPP_BUDGET,
        "{which:?} {p} changes bytes by {bytes:.4}"
    );
}

/// A colour crop and its gray version, as the two embedded models take them.
fn crops(w: u32, h: u32) -> [(Embedded, DynamicImage); 2] {
    let rgb = DynamicImage::ImageRgb8(crop(w, h));
    let gray = DynamicImage::ImageLuma8(rgb.to_luma8());
    [(Embedded::Colour, rgb), (Embedded::Gray, gray)]
}

#[test]
fn int8_is_within_its_budget() {
    for (which, original) in crops(384, 256) {
        within_budget(which, &original, Precision::Int8, INT8_BUDGET_DB);
    }
}

#[test]
fn f16_is_within_its_budget_where_it_runs() {
    if !f16_runs_here() {
        let r = precision::effective(Precision::F16);
        assert_eq!(
            r.precision,
            Precision::F32,
            "f16 without native f16 must run f32"
        );
        assert!(r.note.unwrap().contains("running f32"));
        return;
    }
    for (which, original) in crops(192, 128) {
        within_budget(which, &original, Precision::F16, F16_BUDGET_DB);
    }
}

#[test]
fn f16_uses_tracts_native_kernels_where_the_cpu_has_them() {
    let bundle = ModelBundle::embedded().unwrap();
    let graph = Graph::load("decoder.onnx", &bundle.decoder_onnx, executor(1))
        .unwrap()
        .with_f16(true);
    let kernels = graph
        .kernels(&[vec![1, bundle.prior.latent_channels, 4, 4]])
        .unwrap();
    if precision::native_f16() {
        assert!(
            kernels.iter().any(|k| k.starts_with("arm64fp16_mmm_f16")),
            "native f16, yet tract picked {kernels:?}"
        );
    } else {
        assert!(
            kernels.iter().all(|k| !k.starts_with("arm64fp16")),
            "{kernels:?}"
        );
    }
}

/// Each embedded denoiser's PSNR at `p` and at f32 on a noisy crop of the sample (uniform noise,
/// sigma about 15 levels) stays within `budget_db`.
fn denoisers_within(p: Precision, budget_db: f64) {
    let clean = crop(192, 128);
    let mut noisy = clean.clone();
    let mut state = 1u32;
    for v in noisy.iter_mut() {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = ((state >> 24) as i32 - 128) / 5;
        *v = (i32::from(*v) + noise).clamp(0, 255) as u8;
    }
    for which in denoise::Embedded::ALL {
        let run = |p| {
            let d = Denoiser::load(Source::Embedded(which), 2, p, &Limits::default()).unwrap();
            metrics::psnr(clean.as_raw(), d.denoise(&noisy, 512).unwrap().as_raw())
        };
        let reference = run(Precision::F32);
        let got = run(p);
        eprintln!(
            "denoise {which:?}: f32 {reference:.3} dB, {p} {:+.3} dB",
            got - reference
        );
        assert!(
            reference - got <= budget_db,
            "{which:?} {p}: {got:.3} vs {reference:.3} dB"
        );
    }
}

#[test]
fn denoisers_are_within_the_f16_budget() {
    if f16_runs_here() {
        denoisers_within(Precision::F16, F16_BUDGET_DB);
    } // else f16 falls back to f32: checked above
}

#[test]
fn denoisers_are_within_the_int8_budget() {
    denoisers_within(Precision::Int8, INT8_BUDGET_DB);
}

#[test]
fn a_denoiser_bundle_without_an_int8_graph_says_so() {
    let v1 = crate::common::repo("models/denoise");
    let err = Denoiser::load(Source::Dir(&v1), 1, Precision::Int8, &Limits::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no int8 graphs (denoiser.int8.onnx"), "{err}");
}

#[test]
fn a_lat_from_any_precision_decodes_at_any_other() {
    let image = DynamicImage::ImageRgb8(crop(64, 48));
    let int8 = codec(Precision::Int8).encode(&image, 4).unwrap();
    let f32_codec = codec(Precision::F32);
    let decoded = f32_codec.decode(&int8.bytes).unwrap();
    assert_eq!(
        Precision::from_wire(decoded.header.precision),
        Precision::Int8
    );
    let f32_lat = f32_codec.encode(&image, 4).unwrap();
    codec(Precision::Int8).decode(&f32_lat.bytes).unwrap();
}
