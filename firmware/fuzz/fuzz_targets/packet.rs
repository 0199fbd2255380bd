//! Packet parsing: any bytes parse or fail cleanly, as they come and with magic, length and
//! CRC made valid (so the fields behind them are reached); a parsed packet re-emits to the
//! same bytes.
#![no_main]

use latent_wire::checksum::crc32;
use latent_wire::packet::{PACKET_HEADER_LEN, Packet};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) {
    if let Ok(p) = Packet::parse(data) {
        let mut out = vec![0u8; data.len()];
        let n = p.header().emit(p.payload(), &mut out).unwrap();
        assert_eq!(&out[..n], data);
        let _ = p.lat_header();
    }
}

fuzz_target!(|data: &[u8]| {
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
});
