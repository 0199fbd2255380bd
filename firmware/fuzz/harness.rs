//! What each wire fuzz target checks, one function per target. The targets in `fuzz_targets/`
//! call these, and so does the main crate's `tests/it/regress.rs` on every file under
//! `tests/data/regress/<target>/`, so a crash found once stays fixed.

use latent_wire::cdf::{Cdf, TOTAL};
use latent_wire::checksum::crc32;
use latent_wire::container::{EncoderPrecision, HEADER_LEN, Header, LatFile};
use latent_wire::packet::{
    Kind, MAX_HEADER_COPIES, PACKET_HEADER_LEN, Packet, PacketHeader, Reassembler,
};
use latent_wire::predict::{Predictor, WEIGHTS_PER_CHANNEL};
use latent_wire::symbols::{CHANNEL_CONTEXT_CLASSES, Context, Span, Tables, decode, decode_span};

/// `.lat` container parsing: any bytes parse or fail cleanly, as they come and with both CRCs
/// made valid (so the fields behind them are reached); a parsed file re-emits to the same bytes.
pub fn container(data: &[u8]) {
    fn check(data: &[u8]) {
        if let Ok(file) = LatFile::parse(data) {
            let mut out = vec![0u8; data.len()];
            let n = file.header().emit(file.payload(), &mut out).unwrap();
            assert_eq!(&out[..n], data);
        }
    }
    check(data);
    if data.len() >= HEADER_LEN {
        let mut fixed = data.to_vec();
        fixed[..4].copy_from_slice(b"LATC");
        let payload_crc = crc32(&fixed[HEADER_LEN..]);
        fixed[36..40].copy_from_slice(&payload_crc.to_le_bytes());
        let header_crc = crc32(&fixed[..40]);
        fixed[40..44].copy_from_slice(&header_crc.to_le_bytes());
        check(&fixed);
    }
}

/// Packet parsing: any bytes parse or fail cleanly, as they come and with magic, length and
/// CRC made valid (so the fields behind them are reached); a parsed packet re-emits to the
/// same bytes.
pub fn packet(data: &[u8]) {
    fn check(data: &[u8]) {
        if let Ok(p) = Packet::parse(data) {
            let mut out = vec![0u8; data.len()];
            let n = p.header().emit(p.payload(), &mut out).unwrap();
            assert_eq!(&out[..n], data);
            let _ = p.lat_header();
        }
    }
    check(data);
    if (PACKET_HEADER_LEN..PACKET_HEADER_LEN + 65536).contains(&data.len()) {
        let mut fixed = data.to_vec();
        fixed[..3].copy_from_slice(b"LP\x01");
        let len = (data.len() - PACKET_HEADER_LEN) as u16;
        fixed[18..20].copy_from_slice(&len.to_le_bytes());
        let mut covered = fixed[..20].to_vec();
        covered.extend_from_slice(&fixed[PACKET_HEADER_LEN..]);
        fixed[20..24].copy_from_slice(&crc32(&covered).to_le_bytes());
        check(&fixed);
    }
}

/// Reassembly into a small window, from packets with valid CRCs built from fuzzed fields (so
/// the window's logic is reached, not just the CRC check): never a panic, never more than the
/// window holds, and stored slices lie inside the plane.
pub fn reassembly(data: &[u8]) {
    /// One record: kind, stream, sequence, total, first, count, payload length, payload.
    fn packet(rec: &[u8], out: &mut [u8]) -> Option<usize> {
        let [kind, stream, seq, total, first, count, len, ..] = *rec else {
            return None;
        };
        let payload = &rec[7..][..usize::from(len).min(rec.len() - 7)];
        let header = PacketHeader {
            stream: u16::from(stream % 2),
            sequence: u16::from(seq % 16),
            total: u16::from(total % 16),
            kind: if kind % 2 == 0 {
                Kind::Header
            } else {
                Kind::Slice(Span {
                    first: usize::from(first),
                    count: usize::from(count),
                })
            },
        };
        if header.kind == Kind::Header {
            let lat = Header {
                quality: 4,
                image_channels: 3,
                precision: EncoderPrecision::F32,
                fingerprint: [first; 8],
                width: 64,
                height: 64,
                latent_channels: 1,
                latent_height: u16::from(count % 8) + 1,
                latent_width: u16::from(len % 8) + 1,
            };
            let mut bytes = [0u8; HEADER_LEN];
            lat.emit(&[], &mut bytes).ok()?;
            return header.emit(&bytes, out).ok();
        }
        header.emit(payload, out).ok()
    }
    let mut arena = [0u8; 512];
    let mut window: Reassembler<'_, 8> = Reassembler::new(&mut arena);
    let mut buf = [0u8; 512];
    for rec in data.chunks(24) {
        if let Some(n) = packet(rec, &mut buf) {
            let _ = window.push(&buf[..n]);
        }
        assert!(window.received() <= 8 + MAX_HEADER_COPIES);
    }
    if let Some((h, _)) = window.header() {
        let plane = usize::from(h.latent_height) * usize::from(h.latent_width);
        for (span, _) in window.slices() {
            assert!(span.first + span.count <= plane);
        }
        let _ = window.is_complete();
    }
}

/// Entropy decoding: arbitrary coded bytes against fixed tables, one per channel or several per
/// channel picked by context, decode or fail cleanly, whole or as a span. The first byte picks
/// the plane (bits 0-2: width - 1, bits 3-4: height - 1), the context (bits 5-6: none,
/// neighbours, neighbours and channels) and whether a predictor with extreme weights guesses
/// (bit 7), the second where the span starts.
pub fn symbols(data: &[u8]) {
    const A: [u32; 6] = [0, 1000, 30000, 60000, 65000, TOTAL];
    const B: [u32; 3] = [0, 65000, TOTAL];
    let (a, b) = (Cdf::new(-2, &A).unwrap(), Cdf::new(0, &B).unwrap());
    let Some((&[shape, start], coded)) = data.split_first_chunk() else {
        return;
    };
    let (width, height) = (
        usize::from(shape & 7) + 1,
        usize::from((shape >> 3) & 3) + 1,
    );
    let context = match (shape >> 5) & 3 {
        0 => Context::None,
        1 => Context::Neighbours,
        _ => Context::NeighboursAndChannels,
    };
    // Two channels: tables alternate between A and B, so classes differ.
    let pool: [Cdf; 2 * CHANNEL_CONTEXT_CLASSES] = core::array::from_fn(|j| [a, b][j % 2]);
    let tables = Tables::new(&pool[..2 * context.classes()], context, width, height).unwrap();
    const WEIGHTS: [i16; 2 * WEIGHTS_PER_CHANNEL] = [i16::MAX, 256, i16::MIN, -256, 1, -1, 77, 0];
    let tables = if shape >> 7 == 1 {
        let predictor = Predictor::new(&WEIGHTS, 8).unwrap();
        tables.with_predictor(predictor).unwrap()
    } else {
        tables
    };
    let plane = tables.plane();
    let mut out = vec![0i32; 2 * plane];
    let _ = decode(coded, &tables, &mut out);
    let first = usize::from(start) % plane;
    let span = Span {
        first,
        count: plane - first,
    };
    let _ = decode_span(coded, &tables, span, &mut out);
}
