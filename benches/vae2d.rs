//! Demo VAE latency: one picture and a 64-picture grid through the decoder, one picture through
//! the encoder, single-threaded (`cargo bench --bench vae2d`).

use criterion::{Criterion, criterion_group, criterion_main};
use latent_codec::Limits;
use latent_codec::demos::vae2d::Vae2d;

fn bench(c: &mut Criterion) {
    for name in latent_codec::demos::vae2d::EMBEDDED {
        let model = Vae2d::load(name, 1, &Limits::default()).expect("embedded model");
        let one = vec![vec![0.3f32, -0.7]];
        let grid: Vec<Vec<f32>> = (0..64).map(|i| vec![i as f32 / 32.0 - 1.0, 0.5]).collect();
        let image = vec![0.5f32; 28 * 28];
        // The first call of each shape optimizes its plan: keep it out of the timings.
        model.decode(&one).unwrap();
        model.decode(&grid).unwrap();
        model.encode(&image).unwrap();
        c.bench_function(&format!("{name}/decode 1"), |b| {
            b.iter(|| model.decode(&one).unwrap())
        });
        c.bench_function(&format!("{name}/decode 64"), |b| {
            b.iter(|| model.decode(&grid).unwrap())
        });
        c.bench_function(&format!("{name}/encode 1"), |b| {
            b.iter(|| model.encode(&image).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
