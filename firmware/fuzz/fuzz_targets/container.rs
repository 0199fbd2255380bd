//! `.lat` container parsing: any bytes parse or fail cleanly, as they come and with both CRCs
//! made valid (so the fields behind them are reached); a parsed file re-emits to the same bytes.
#![no_main]

use latent_wire::checksum::crc32;
use latent_wire::container::{HEADER_LEN, LatFile};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) {
    if let Ok(file) = LatFile::parse(data) {
        let mut out = vec![0u8; data.len()];
        let n = file.header().emit(file.payload(), &mut out).unwrap();
        assert_eq!(&out[..n], data);
    }
}

fuzz_target!(|data: &[u8]| {
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
});
