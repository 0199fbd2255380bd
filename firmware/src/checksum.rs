//! CRC-32 (ISO-HDLC, the zlib/PNG polynomial) over header and payload bytes.

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// A running CRC-32, for data in several pieces.
pub(crate) fn digest() -> crc::Digest<'static, u32> {
    CRC32.digest()
}

/// CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_standard_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }
}
