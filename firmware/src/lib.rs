//! `latent-wire`: the wire format of latent-codec, for hosts and microcontrollers alike.
//!
//! `#![no_std]`, no allocation: every function works on caller-provided buffers.
//!
//! - [`container`]: the `.lat` file, a validated view ([`container::LatFile`]) over raw bytes
//!   and a [`container::Header`] that writes itself into a caller's buffer.
//! - [`cdf`]: validated integer CDF tables: one per latent channel, or several picked by context.
//! - [`rans`]: a byte-wise rANS entropy coder over those tables, integer arithmetic only, so
//!   every machine decodes the same symbols.
//! - [`symbols`]: coding a latent tensor, whole or one [`symbols::Span`] of positions (with
//!   escapes for values outside a table), each value with its channel's table or with one picked
//!   by its already-coded neighbours ([`symbols::Context`]), optionally minus a guess from them
//!   ([`predict::Predictor`]).
//! - [`packet`]: packets for small-MTU links, each slice decodable on its own, and a
//!   fixed-capacity [`packet::Reassembler`].
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cdf;
pub mod checksum;
pub mod container;
pub mod packet;
pub mod predict;
pub mod rans;
pub mod symbols;

/// Everything that can be wrong with bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than the format requires.
    #[error("truncated: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes required.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The first bytes are not the `.lat` magic.
    #[error("not a .lat file (bad magic)")]
    BadMagic,
    /// A container version this crate cannot read.
    #[error("unsupported .lat version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version in the file.
        found: u8,
        /// Version this crate reads.
        supported: u8,
    },
    /// Header CRC mismatch.
    #[error("header CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    HeaderCrc {
        /// CRC stored in the header.
        stored: u32,
        /// CRC of the bytes read.
        computed: u32,
    },
    /// Payload CRC mismatch.
    #[error("payload CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    PayloadCrc {
        /// CRC stored in the header.
        stored: u32,
        /// CRC of the bytes read.
        computed: u32,
    },
    /// Bytes after the payload.
    #[error("{extra} unexpected bytes after the payload")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The first bytes are not the packet magic.
    #[error("not a latent-codec packet (bad magic)")]
    BadPacketMagic,
    /// Packet CRC mismatch.
    #[error("packet CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    PacketCrc {
        /// CRC stored in the packet.
        stored: u32,
        /// CRC of the bytes read.
        computed: u32,
    },
    /// A packet of another stream.
    #[error("packet of stream {found:#06x}, but this stream is {expected:#06x}")]
    ForeignStream {
        /// Stream being reassembled.
        expected: u16,
        /// Stream of the packet.
        found: u16,
    },
    /// A packet already received.
    #[error("duplicate packet {sequence}")]
    Duplicate {
        /// Its sequence number.
        sequence: u16,
    },
    /// More packets than the reassembly window holds.
    #[error("reassembly window full ({capacity} packets)")]
    WindowFull {
        /// The window's capacity.
        capacity: usize,
    },
    /// A packet that contradicts the ones already received.
    #[error("inconsistent packet: {reason}")]
    Inconsistent {
        /// What contradicts what.
        reason: &'static str,
    },
    /// A header field holds a value outside its valid range.
    #[error("invalid header field {field}: {value}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// Value found.
        value: u32,
    },
    /// A caller's output buffer is too small.
    #[error("output buffer too small ({capacity} bytes)")]
    BufferFull {
        /// Capacity of the buffer.
        capacity: usize,
    },
    /// A CDF table that is not strictly increasing from 0 to 2^precision.
    #[error("invalid CDF table: {reason}")]
    InvalidCdf {
        /// What is wrong.
        reason: &'static str,
    },
    /// The entropy-coded stream is inconsistent (corrupt data).
    #[error("corrupt entropy-coded payload: {reason}")]
    CorruptPayload {
        /// What is wrong.
        reason: &'static str,
    },
    /// Symbol count or table count disagree.
    #[error("shape mismatch: {reason}")]
    ShapeMismatch {
        /// What is wrong.
        reason: &'static str,
    },
}
