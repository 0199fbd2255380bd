//! What each runtime fuzz target checks, one function per target. The targets in
//! `fuzz_targets/` call these, and so does `tests/it/regress.rs` on every file under
//! `tests/data/regress/<target>/`, so a crash found once stays fixed.

use latent_codec::Limits;
use latent_codec::codec::hyper::HyperDecoder;
use latent_codec::error::FrameError;
use latent_codec::io::frames::{Frame, RawFormat, Y4mHeader};
use latent_codec::{ModelBundle, demos::idx, demos::vae2d, denoise};

/// Small limits, so that hostile sizes are refused rather than allocated.
fn limits() -> Limits {
    Limits {
        max_pixels: 1 << 16,
        max_frame_bytes: 1 << 17,
        ..Limits::default()
    }
}

/// Frame streams: the first byte picks a Y4M stream (the rest is the stream) or a raw stream
/// (the next three bytes pick width, height and pixel format). Headers and up to 8 frames
/// read or fail cleanly; every frame read has its format's size and converts to RGB and back.
pub fn frames(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    // Checks one read; true when a frame came and the next may be read.
    let check = |read: Result<Option<Frame>, FrameError>, len: usize| -> bool {
        let Ok(Some(mut frame)) = read else {
            return false;
        };
        assert_eq!(frame.data.len(), len);
        let rgb = frame.to_rgb8();
        frame.set_rgb8(&rgb);
        assert_eq!(frame.data.len(), len);
        true
    };
    if pick % 2 == 0 {
        let mut reader = rest;
        let Ok(header) = Y4mHeader::read(&mut reader, &limits()) else {
            return;
        };
        let len = header.format.frame_len();
        for i in 0..8 {
            if !check(header.read_frame(&mut reader, i), len) {
                break;
            }
        }
    } else {
        let [w, h, fmt, ref stream @ ..] = *rest else {
            return;
        };
        let size = format!("{}x{}", u16::from(w) * 3, u16::from(h) * 3);
        let pix_fmt = ["gray8", "rgb24", "yuv420p", "nv12"][usize::from(fmt % 4)];
        let Ok(raw) = RawFormat::parse(&size, pix_fmt, &limits()) else {
            return;
        };
        let mut reader = stream;
        for i in 0..8 {
            if !check(raw.read_frame(&mut reader, i), raw.0.frame_len()) {
                break;
            }
        }
    }
}

/// Model-bundle metadata: the first byte picks the codec's `prior.json`, the denoiser's or the
/// demo models' `model.json`, or a hyperprior's `hyper.json`; the rest parses and validates or
/// fails cleanly. A codec prior that passes has tables that all validate again, at every quality
/// level; a hyper-decoder that passes runs on a 2x3 z to an output of the shape it says, every
/// value's table index inside its scale table.
pub fn bundle_meta(data: &[u8]) {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    match pick % 4 {
        0 => {
            let bundle =
                ModelBundle::from_bytes("fuzz".into(), (&[][..]).into(), (&[][..]).into(), json);
            if let Ok(bundle) = bundle {
                for q in bundle.prior.quality_numbers() {
                    let tables = bundle.cdfs(q).expect("validated tables");
                    let per_channel = bundle.prior.context.classes();
                    assert_eq!(tables.len(), bundle.prior.latent_channels * per_channel);
                }
                assert!(bundle.cdfs(bundle.prior.default_quality).is_ok());
            }
        }
        1 => {
            let _ = denoise::Meta::parse("fuzz", json);
        }
        2 => {
            if let Ok(meta) = vae2d::Meta::parse("fuzz", json) {
                assert!(meta.class_means.iter().all(|m| m.len() == meta.latent_dim));
            }
        }
        _ => {
            if let Ok(net) = HyperDecoder::parse("fuzz", json) {
                let z = vec![-3; net.input_channels() * 6];
                if let Some((out, [c, h, w])) = net.run(&z, 2, 3) {
                    assert_eq!(out.len(), c * h * w);
                    assert_eq!(c, net.output_channels());
                    let limit = net.scale_table_len();
                    assert!(net.indexes(&out).iter().all(|&i| usize::from(i) < limit));
                }
            }
        }
    }
}

/// IDX arrays (MNIST's format), uncompressed: parse or fail cleanly within 1 MiB of data; a
/// parsed array holds exactly what its dimensions say.
pub fn idx(data: &[u8]) {
    if let Ok(array) = idx::parse(data, 1 << 20) {
        let len = array.dims.iter().product::<usize>();
        assert_eq!(array.data.len(), len);
    }
}
