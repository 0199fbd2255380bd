//! Library round trips with the embedded model: sizes, gray, determinism, limits.

use image::{DynamicImage, RgbImage};
use latent_codec::error::LatError;
use latent_codec::{Codec, Error, Limits, ModelBundle, Precision, report::metrics};

use crate::common::{embedded_codec, embedded_layout};

fn codec() -> Codec {
    embedded_codec(1, Precision::F32)
}

/// A crop of the bundled sample photo.
fn photo(width: u32, height: u32) -> RgbImage {
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG)
        .unwrap()
        .to_rgb8();
    image::imageops::crop_imm(&sample, 200, 120, width, height).to_image()
}

/// Latent positions per tile side in the tiling tests.
const TILE: usize = 8;

/// A photo crop whose latent is 24x20 positions at the embedded model's stride, its sides not
/// multiples of it: one window by default; with [`TILE`] at stride 8 (4 positions of margin a
/// side), 3x3 tiles of at most 8 positions in windows of 16.
fn tiles_photo() -> RgbImage {
    let (_, s) = embedded_layout();
    photo(24 * s as u32 - 6, 20 * s as u32 - 4)
}

#[test]
fn photo_round_trip_keeps_size_and_quality() {
    let codec = codec();
    let original = DynamicImage::ImageRgb8(photo(128, 96));
    let encoded = codec.encode(&original, codec.default_quality()).unwrap();
    let decoded = codec.decode(&encoded.bytes).unwrap();
    assert_eq!((decoded.image.width(), decoded.image.height()), (128, 96));
    assert_eq!(decoded.header, encoded.header);
    let psnr = metrics::psnr(
        original.to_rgb8().as_raw(),
        decoded.image.to_rgb8().as_raw(),
    );
    let bpp = 8.0 * encoded.bytes.len() as f64 / (128.0 * 96.0);
    // The bee's fur, the hardest part of the photo: codec-v4 gives 25.3 dB at 1.09 bpp here.
    assert!(psnr > 21.0, "PSNR {psnr:.2} dB at {bpp:.3} bpp");
    assert!(bpp < 2.0, "{bpp:.3} bpp");
}

#[test]
fn odd_and_tiny_sizes_round_trip() {
    let codec = codec();
    let (_, stride) = embedded_layout();
    for (w, h) in [(1, 1), (17, 5), (33, 40)] {
        let image = DynamicImage::ImageRgb8(photo(w, h));
        let encoded = codec.encode(&image, codec.default_quality()).unwrap();
        assert_eq!(
            encoded.header.latent_height,
            (h as usize).div_ceil(stride) as u16
        );
        assert_eq!(
            encoded.header.latent_width,
            (w as usize).div_ceil(stride) as u16
        );
        let decoded = codec.decode(&encoded.bytes).unwrap();
        assert_eq!((decoded.image.width(), decoded.image.height()), (w, h));
    }
}

#[test]
fn gray_stays_gray() {
    let codec = codec();
    let gray = DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(photo(48, 32)).into_luma8());
    let encoded = codec.encode(&gray, codec.default_quality()).unwrap();
    assert_eq!(encoded.header.image_channels, 1);
    let decoded = codec.decode(&encoded.bytes).unwrap();
    assert!(matches!(decoded.image, DynamicImage::ImageLuma8(_)));
}

#[test]
fn encoding_is_deterministic_and_symbols_survive_the_wire() {
    let codec = codec();
    let image = DynamicImage::ImageRgb8(photo(64, 48));
    let a = codec.encode(&image, codec.default_quality()).unwrap();
    let b = codec.encode(&image, codec.default_quality()).unwrap();
    assert_eq!(a.bytes, b.bytes);
    let (header, symbols) = codec.decode_symbols(&a.bytes).unwrap();
    assert_eq!(symbols.len(), header.latent_len());
}

#[test]
fn unsupported_quality_is_refused() {
    let image = DynamicImage::ImageRgb8(photo(16, 16));
    let err = codec().encode(&image, 99).unwrap_err();
    assert!(matches!(err, Error::Quality { requested: 99, .. }), "{err}");
}

#[test]
fn limits_apply_to_input_and_to_lat_headers() {
    let small = Limits {
        max_pixels: 100,
        ..Limits::default()
    };
    let tight = Codec::new(ModelBundle::embedded().unwrap(), 1, Precision::F32, small).unwrap();
    let image = DynamicImage::ImageRgb8(photo(16, 16));
    let err = tight.encode(&image, tight.default_quality()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("256 pixels, over the limit of 100"),
        "{err}"
    );
    let roomy = codec();
    let lat = roomy.encode(&image, roomy.default_quality()).unwrap().bytes;
    let err = tight.decode(&lat).unwrap_err();
    assert!(matches!(err, Error::Limit(_)), "{err}");
    let (c, stride) = embedded_layout();
    let side = 16 / stride;
    let elements = c * side * side;
    let few = Limits {
        max_latent_elements: elements as u64 - 1,
        ..Limits::default()
    };
    let err = Codec::new(ModelBundle::embedded().unwrap(), 1, Precision::F32, few)
        .unwrap()
        .decode(&lat)
        .unwrap_err();
    assert!(
        err.to_string().ends_with(&format!(
            "latent {c}x{side}x{side} of a 16x16 image: {elements} latent elements, over the \
             limit of {}",
            elements - 1
        )),
        "{err}"
    );
}

#[test]
fn corrupt_payload_is_an_error_not_a_panic() {
    let codec = codec();
    let lat = codec
        .encode(
            &DynamicImage::ImageRgb8(photo(32, 32)),
            codec.default_quality(),
        )
        .unwrap()
        .bytes;
    for cut in [0, 3, 20, 43, 44, lat.len() - 1] {
        assert!(matches!(
            codec.decode(&lat[..cut]),
            Err(Error::Lat(LatError::Wire(_)))
        ));
    }
}

#[test]
fn tiled_coding_matches_whole_image_coding() {
    let image = DynamicImage::ImageRgb8(tiles_photo());
    let whole = codec();
    let tiled = codec().with_tile(TILE);
    let a = whole.encode(&image, whole.default_quality()).unwrap();
    let b = tiled.encode(&image, tiled.default_quality()).unwrap();
    let whole_a = whole.decode(&a.bytes).unwrap();
    let (sa, sb) = (&whole_a.symbols, whole.decode(&b.bytes).unwrap().symbols);
    // Float rounding may move a μ that sits on a .5 boundary to the other integer.
    let differ = sa.iter().zip(&sb).filter(|(x, y)| x != y).count();
    assert!(
        differ * 1000 <= sa.len(),
        "{differ} of {} symbols differ",
        sa.len()
    );
    let (da, db) = (
        whole_a.image.to_rgb8(),
        tiled.decode(&a.bytes).unwrap().image.to_rgb8(),
    );
    let worst = da
        .as_raw()
        .iter()
        .zip(db.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap();
    assert!(worst <= 1, "tiled decode differs by up to {worst} levels");
}

#[test]
fn the_same_bytes_and_pixels_whatever_the_threads() {
    // Tiles run one by one on 1 thread and several at once on 2, 3 and 4 (4 workers do not
    // divide 9 tiles evenly); and as one tile on 1 to 4 threads.
    let image = DynamicImage::ImageRgb8(tiles_photo());
    for tile in [TILE, latent_codec::codec::DEFAULT_TILE] {
        let mut first: Option<(Vec<u8>, Vec<u8>)> = None;
        for threads in [1, 2, 3, 4] {
            let codec = embedded_codec(threads, Precision::F32).with_tile(tile);
            let encoded = codec.encode(&image, codec.default_quality()).unwrap();
            let decoded = codec.decode(&encoded.bytes).unwrap().image.to_rgb8();
            let got = (encoded.bytes, decoded.into_raw());
            match &first {
                None => first = Some(got),
                Some(want) => assert!(
                    want == &got,
                    "tile {tile}: {threads} threads give other bytes or pixels than 1"
                ),
            }
        }
    }
}
