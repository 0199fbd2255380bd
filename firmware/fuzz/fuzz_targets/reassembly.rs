//! Reassembly into a small window, from packets with valid CRCs built from fuzzed fields (so
//! the window's logic is reached, not just the CRC check): never a panic, never more than the
//! window holds, and stored slices lie inside the plane.
#![no_main]

use latent_wire::container::{HEADER_LEN, Header};
use latent_wire::packet::{Kind, MAX_HEADER_COPIES, PacketHeader, Reassembler};
use latent_wire::symbols::Span;
use libfuzzer_sys::fuzz_target;

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

fuzz_target!(|data: &[u8]| {
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
});
