//! Seeded mutation tests over the committed inputs: bit flips, byte overwrites, truncations
//! and splices of a `.lat` file, a packet stream, a Y4M stream and an IDX file. Each mutant
//! must end quickly with a valid result or a clean error, never a panic.

use latent_codec::io::frames::Y4mHeader;
use latent_codec::{
    Codec, EntropyModel, Limits, ModelBundle, Precision, codec::packets, demos::idx,
};

use crate::common::data;

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// A deterministic generator of mutants (a 64-bit LCG picks what to change).
struct Mutator(u64);

impl Mutator {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }

    fn mutate(&mut self, bytes: &[u8], other: &[u8]) -> Vec<u8> {
        let mut v = bytes.to_vec();
        match self.below(4) {
            0 => {
                for _ in 0..1 + self.below(4) {
                    let i = self.below(v.len());
                    v[i] ^= 1 << self.below(8);
                }
            }
            1 => {
                let i = self.below(v.len());
                let n = (1 + self.below(8)).min(v.len() - i);
                for b in &mut v[i..i + n] {
                    *b = [0x00, 0xff, 0x7f, 0x80][self.below(4)];
                }
            }
            2 => v.truncate(self.below(v.len())),
            _ => {
                // Splice: a prefix of this input and a suffix of another.
                let (i, j) = (self.below(v.len()), self.below(other.len()));
                v.truncate(i);
                v.extend_from_slice(&other[j..]);
            }
        }
        v
    }
}

#[test]
fn mutated_lat_files_decode_or_fail_cleanly() {
    let codec = Codec::new(
        ModelBundle::embedded().unwrap(),
        1,
        Precision::F32,
        Limits::default(),
    )
    .unwrap();
    let lat = bytes("fixture.lat");
    let packet = bytes("packets/00001.pkt");
    let mut m = Mutator::new(1);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..300 {
        match codec.decode(&m.mutate(&lat, &packet)) {
            Ok(d) => {
                assert_eq!(d.image.width(), 128);
                ok += 1;
            }
            Err(_) => err += 1,
        }
    }
    eprintln!(".lat mutants: {ok} decoded, {err} refused");
    assert!(err > 250, "CRCs catch nearly every mutant ({ok} decoded)");
}

#[test]
fn mutated_packet_streams_reassemble_or_fail_cleanly() {
    // Reassembly needs the entropy model only, no graph.
    let model = EntropyModel::new(ModelBundle::embedded().unwrap(), Limits::default());
    // The whole stream, so that a round with no packet hit reassembles the file.
    let dir = data("packets");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let stream: Vec<Vec<u8>> = names.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let lat = bytes("fixture.lat");
    let mut m = Mutator::new(2);
    let (mut complete, mut partial, mut refused) = (0, 0, 0);
    for round in 0..200 {
        let mut packets: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, p) in stream.iter().enumerate() {
            let bytes = if m.below(3) == 0 {
                m.mutate(p, &stream[(i + 1) % stream.len()])
            } else {
                p.clone()
            };
            packets.push((format!("{round}-{i}"), bytes));
        }
        match packets::reassemble(&model, &packets) {
            Ok(r) if r.is_complete() => {
                // Whatever got through the CRCs rebuilds the original file exactly.
                assert_eq!(r.to_lat(&model).unwrap(), lat);
                complete += 1;
            }
            Ok(r) => {
                let positions =
                    usize::from(r.header.latent_height) * usize::from(r.header.latent_width);
                assert_eq!(
                    r.concealed_latent(&model).len(),
                    model.bundle().prior.latent_channels * positions
                );
                partial += 1;
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!("packet mutants: {complete} complete, {partial} concealed, {refused} refused");
    // Each outcome is reached, so each assertion above has run.
    assert!(complete > 0 && partial > 0 && refused > 0);
}

#[test]
fn mutated_y4m_streams_read_or_fail_cleanly() {
    let mut stream = b"YUV4MPEG2 W8 H6 F25:1 C420jpeg\n".to_vec();
    for f in 0..3u8 {
        stream.extend(b"FRAME\n");
        stream.extend((0..8 * 6 + 2 * 4 * 3).map(|i| i as u8 ^ f));
    }
    let mut m = Mutator::new(3);
    let limits = Limits {
        max_pixels: 1 << 16,
        max_frame_bytes: 1 << 17,
        ..Limits::default()
    };
    for _ in 0..500 {
        let mutant = m.mutate(&stream, b"YUV4MPEG2 W65536 H65536 Cmono\nFRAME\n");
        let mut r = &mutant[..];
        if let Ok(h) = Y4mHeader::read(&mut r, &limits) {
            for i in 0..10 {
                match h.read_frame(&mut r, i) {
                    Ok(Some(f)) => assert_eq!(f.data.len(), h.format.frame_len()),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}

#[test]
fn mutated_idx_files_parse_or_fail_cleanly() {
    let labels = bytes("vae2d/fashion-t10k-500-labels-idx1-ubyte");
    let mut m = Mutator::new(4);
    for _ in 0..500 {
        let mutant = m.mutate(&labels, &[0, 0, 8, 3, 0, 0, 0, 2]);
        if let Ok(a) = idx::parse(&mutant, 1 << 20) {
            assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
        }
    }
}
