//! Criterion benches of the pipeline stages at 256x192, single-threaded: codec encoder and
//! decoder graphs, entropy coding of their latent, and one denoiser tile
//! (`cargo bench --bench pipeline`).

use criterion::{Criterion, criterion_group, criterion_main};
use latent_codec::denoise::{Denoiser, Embedded, Source};
use latent_codec::{Codec, Limits, ModelBundle, Precision};
use latent_wire::symbols;

fn bench(c: &mut Criterion) {
    let codec = Codec::new(
        ModelBundle::embedded().unwrap(),
        1,
        Precision::F32,
        Limits::default(),
    )
    .unwrap();
    let photo = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    let crop = photo.crop_imm(256, 160, 256, 192);
    codec.prepare(256, 192).unwrap();
    let lat = codec.encode(&crop, 4).unwrap().bytes;
    c.bench_function("codec/encode 256x192", |b| {
        b.iter(|| codec.encode(&crop, 4).unwrap())
    });
    c.bench_function("codec/decode 256x192", |b| {
        b.iter(|| codec.decode(&lat).unwrap())
    });

    let (header, latent) = codec.decode_symbols(&lat).unwrap();
    let cdfs = codec.bundle().cdfs(header.quality).unwrap();
    let tables = codec.bundle().tables(&cdfs, &header).unwrap();
    let mut buf = vec![0u8; symbols::max_coded_len(latent.len())];
    let coded = symbols::encode(&latent, &tables, &mut buf)
        .unwrap()
        .to_vec();
    let mut out = vec![0i32; latent.len()];
    c.bench_function("entropy/encode 256x192 latent", |b| {
        b.iter(|| symbols::encode(&latent, &tables, &mut buf).unwrap().len())
    });
    c.bench_function("entropy/decode 256x192 latent", |b| {
        b.iter(|| symbols::decode(&coded, &tables, &mut out).unwrap())
    });

    let denoiser = Denoiser::load(
        Source::Embedded(Embedded::Fast),
        1,
        Precision::F32,
        &Limits::default(),
    )
    .unwrap();
    let tile = crop.to_rgb8();
    denoiser.denoise(&tile, 0).unwrap();
    c.bench_function("denoise/tile 256x192", |b| {
        b.iter(|| denoiser.denoise(&tile, 0).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
