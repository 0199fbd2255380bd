//! Packets for small-MTU links (LoRa ~222 B, BLE ~244 B, UDP ~1200 B).
//!
//! A coded image travels as one stream of packets. A **header packet** carries the `.lat`
//! header (image size, model fingerprint, latent shape, and the length and CRC of the whole
//! payload); the sender repeats it so that losing one copy loses nothing. Each **slice
//! packet** carries an independently decodable rANS stream of one [`Span`] of latent positions
//! (every channel), so a lost packet loses only its slice.
//!
//! Every packet starts with a 24-byte little-endian header:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic `LP` |
//! | 2 | 1 | version (1) |
//! | 3 | 1 | kind: 0 = header, 1 = slice |
//! | 4 | 2 | stream id |
//! | 6 | 2 | sequence number, `< total` |
//! | 8 | 2 | total packets in the stream |
//! | 10 | 4 | first latent position of the slice (0 for a header packet) |
//! | 14 | 4 | positions in the slice (0 for a header packet) |
//! | 18 | 2 | payload length |
//! | 20 | 4 | CRC-32 of bytes 0..20 and the payload |
//!
//! [`PacketHeader::emit`] writes a packet into a caller's buffer; [`Packet::parse`] validates
//! one and then gives infallible access; [`Reassembler`] collects a stream in a fixed-capacity
//! window over a caller's byte arena.

use heapless::Vec;

use crate::WireError;
use crate::container::{HEADER_LEN, Header, PayloadInfo};
use crate::symbols::{self, Span, Tables};

/// Packet magic.
pub const MAGIC: [u8; 2] = *b"LP";
/// The packet format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Packet header size in bytes.
pub const PACKET_HEADER_LEN: usize = 24;
/// The smallest MTU that fits a header packet.
pub const MIN_MTU: usize = PACKET_HEADER_LEN + HEADER_LEN;
/// Header packets (copies) a [`Reassembler`] records.
pub const MAX_HEADER_COPIES: usize = 8;
/// The largest packet (payload length is 16 bits).
pub const MAX_PACKET: usize = PACKET_HEADER_LEN + u16::MAX as usize;

/// What a packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The `.lat` header of the stream.
    Header,
    /// One independently decodable slice of the latent.
    Slice(Span),
}

/// The header fields of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    /// Identifies the stream (the sender picks it; the receiver rejects other streams).
    pub stream: u16,
    /// Sequence number, `0 .. total`.
    pub sequence: u16,
    /// Number of packets in the stream.
    pub total: u16,
    /// Header or slice.
    pub kind: Kind,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl PacketHeader {
    fn check(&self) -> Result<(), WireError> {
        if self.total == 0 || self.sequence >= self.total {
            return Err(WireError::InvalidField {
                field: "packet sequence",
                value: self.sequence.into(),
            });
        }
        if let Kind::Slice(span) = self.kind {
            if span.count == 0 || u32::try_from(span.first).is_err() {
                return Err(WireError::InvalidField {
                    field: "slice span",
                    value: span.count as u32,
                });
            }
            if u32::try_from(span.count).is_err() {
                return Err(WireError::InvalidField {
                    field: "slice span",
                    value: u32::MAX,
                });
            }
        }
        Ok(())
    }

    /// Writes this header and `payload` into `out`; returns the packet length.
    pub fn emit(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
        self.check()?;
        let len = u16::try_from(payload.len()).map_err(|_| WireError::InvalidField {
            field: "packet payload length",
            value: payload.len() as u32,
        })?;
        let total = PACKET_HEADER_LEN + payload.len();
        if out.len() < total {
            return Err(WireError::BufferFull {
                capacity: out.len(),
            });
        }
        let (kind, first, count) = match self.kind {
            Kind::Header => (0u8, 0u32, 0u32),
            Kind::Slice(s) => (1, s.first as u32, s.count as u32),
        };
        let h = &mut out[..PACKET_HEADER_LEN];
        h[0..2].copy_from_slice(&MAGIC);
        h[2] = VERSION;
        h[3] = kind;
        h[4..6].copy_from_slice(&self.stream.to_le_bytes());
        h[6..8].copy_from_slice(&self.sequence.to_le_bytes());
        h[8..10].copy_from_slice(&self.total.to_le_bytes());
        h[10..14].copy_from_slice(&first.to_le_bytes());
        h[14..18].copy_from_slice(&count.to_le_bytes());
        h[18..20].copy_from_slice(&len.to_le_bytes());
        out[PACKET_HEADER_LEN..total].copy_from_slice(payload);
        let crc = packet_crc(&out[..20], &out[PACKET_HEADER_LEN..total]);
        out[20..24].copy_from_slice(&crc.to_le_bytes());
        Ok(total)
    }
}

fn packet_crc(head: &[u8], payload: &[u8]) -> u32 {
    let mut digest = crate::checksum::digest();
    digest.update(head);
    digest.update(payload);
    digest.finalize()
}

/// A validated packet: magic, version, kind, sequence, length and CRC checked by
/// [`Packet::parse`]; a header packet's payload is also a valid `.lat` header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    header: PacketHeader,
    payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Validates `bytes` as exactly one packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        if bytes.len() < PACKET_HEADER_LEN {
            return Err(WireError::Truncated {
                needed: PACKET_HEADER_LEN,
                available: bytes.len(),
            });
        }
        if bytes[..2] != MAGIC {
            return Err(WireError::BadPacketMagic);
        }
        if bytes[2] != VERSION {
            return Err(WireError::UnsupportedVersion {
                found: bytes[2],
                supported: VERSION,
            });
        }
        let len = usize::from(u16_at(bytes, 18));
        let rest = &bytes[PACKET_HEADER_LEN..];
        if rest.len() < len {
            return Err(WireError::Truncated {
                needed: PACKET_HEADER_LEN + len,
                available: bytes.len(),
            });
        }
        if rest.len() > len {
            return Err(WireError::TrailingBytes {
                extra: rest.len() - len,
            });
        }
        let stored = u32_at(bytes, 20);
        let computed = packet_crc(&bytes[..20], rest);
        if stored != computed {
            return Err(WireError::PacketCrc { stored, computed });
        }
        let (first, count) = (u32_at(bytes, 10), u32_at(bytes, 14));
        let kind = match bytes[3] {
            0 if first == 0 && count == 0 => Kind::Header,
            1 => Kind::Slice(Span {
                first: first as usize,
                count: count as usize,
            }),
            k => {
                return Err(WireError::InvalidField {
                    field: "packet kind",
                    value: k.into(),
                });
            }
        };
        let header = PacketHeader {
            stream: u16_at(bytes, 4),
            sequence: u16_at(bytes, 6),
            total: u16_at(bytes, 8),
            kind,
        };
        header.check()?;
        if kind == Kind::Header {
            if rest.len() != HEADER_LEN {
                return Err(WireError::InvalidField {
                    field: "header packet length",
                    value: rest.len() as u32,
                });
            }
            Header::parse(rest)?;
        }
        Ok(Self {
            header,
            payload: rest,
        })
    }

    /// The validated packet header.
    pub fn header(&self) -> &PacketHeader {
        &self.header
    }

    /// The payload: a `.lat` header or a slice's rANS stream.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// For a header packet, the `.lat` header it carries (validated by [`Packet::parse`]).
    pub fn lat_header(&self) -> Option<(Header, PayloadInfo)> {
        match self.header.kind {
            Kind::Header => Header::parse(self.payload).ok(),
            Kind::Slice(_) => None,
        }
    }
}

/// Where one received slice lies in the arena.
#[derive(Debug, Clone, Copy)]
struct Entry {
    sequence: u16,
    span: Span,
    offset: usize,
    len: usize,
}

/// What [`Reassembler::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// A header packet (the first copy).
    Header,
    /// Another copy of the header packet (same contents, its own sequence number).
    HeaderCopy,
    /// A slice, stored.
    Slice(Span),
}

/// Collects one stream's packets in any order, with room for `N` slices whose payloads are
/// copied into a caller's `arena`. Duplicates, foreign streams, overlapping slices and packets
/// beyond the window are refused with a typed error and leave the state unchanged.
#[derive(Debug)]
pub struct Reassembler<'a, const N: usize> {
    arena: &'a mut [u8],
    used: usize,
    stream: Option<(u16, u16)>,
    header: Option<(Header, PayloadInfo)>,
    header_copies: Vec<u16, MAX_HEADER_COPIES>,
    slices: Vec<Entry, N>,
}

impl<'a, const N: usize> Reassembler<'a, N> {
    /// An empty reassembler storing slice payloads in `arena`.
    pub fn new(arena: &'a mut [u8]) -> Self {
        Self {
            arena,
            used: 0,
            stream: None,
            header: None,
            header_copies: Vec::new(),
            slices: Vec::new(),
        }
    }

    /// Validates and stores one packet.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Accepted, WireError> {
        let packet = Packet::parse(bytes)?;
        let h = *packet.header();
        if let Some((stream, total)) = self.stream {
            if h.stream != stream {
                return Err(WireError::ForeignStream {
                    expected: stream,
                    found: h.stream,
                });
            }
            if h.total != total {
                return Err(WireError::Inconsistent {
                    reason: "packet total differs from the stream's",
                });
            }
        }
        if self.has(h.sequence) {
            return Err(WireError::Duplicate {
                sequence: h.sequence,
            });
        }
        let accepted = match h.kind {
            Kind::Header => {
                let (header, info) = packet.lat_header().ok_or(WireError::Inconsistent {
                    reason: "header packet without a header",
                })?;
                if self.header.is_some_and(|known| known != (header, info)) {
                    return Err(WireError::Inconsistent {
                        reason: "header copies differ",
                    });
                }
                let plane = usize::from(header.latent_height) * usize::from(header.latent_width);
                if self
                    .slices
                    .iter()
                    .any(|e| e.span.first + e.span.count > plane)
                {
                    return Err(WireError::Inconsistent {
                        reason: "a received slice lies outside this header's latent",
                    });
                }
                if self.header_copies.is_full() {
                    return Err(WireError::WindowFull {
                        capacity: MAX_HEADER_COPIES,
                    });
                }
                let _ = self.header_copies.push(h.sequence);
                let first = self.header.is_none();
                self.header = Some((header, info));
                if first {
                    Accepted::Header
                } else {
                    Accepted::HeaderCopy
                }
            }
            Kind::Slice(span) => {
                let end = span
                    .first
                    .checked_add(span.count)
                    .ok_or(WireError::Inconsistent {
                        reason: "slice outside the latent",
                    })?;
                if let Some((header, _)) = self.header {
                    let plane =
                        usize::from(header.latent_height) * usize::from(header.latent_width);
                    if end > plane {
                        return Err(WireError::Inconsistent {
                            reason: "slice outside the latent",
                        });
                    }
                }
                if self
                    .slices
                    .iter()
                    .any(|e| span.first < e.span.first + e.span.count && e.span.first < end)
                {
                    return Err(WireError::Inconsistent {
                        reason: "slice overlaps a received slice",
                    });
                }
                if self.slices.is_full() {
                    return Err(WireError::WindowFull { capacity: N });
                }
                let payload = packet.payload();
                let offset = self.used;
                let room = self.arena.len() - offset;
                if payload.len() > room {
                    return Err(WireError::BufferFull {
                        capacity: self.arena.len(),
                    });
                }
                self.arena[offset..offset + payload.len()].copy_from_slice(payload);
                self.used += payload.len();
                let entry = Entry {
                    sequence: h.sequence,
                    span,
                    offset,
                    len: payload.len(),
                };
                // Capacity was checked above.
                let _ = self.slices.push(entry);
                Accepted::Slice(span)
            }
        };
        self.stream = Some((h.stream, h.total));
        Ok(accepted)
    }

    /// The stream's `.lat` header, once a header packet has arrived.
    pub fn header(&self) -> Option<(Header, PayloadInfo)> {
        self.header
    }

    /// Packets in the stream (known after the first packet).
    pub fn total(&self) -> Option<u16> {
        self.stream.map(|(_, total)| total)
    }

    /// Packets stored so far (header and slices).
    pub fn received(&self) -> usize {
        self.slices.len() + self.header_copies.len()
    }

    /// True when a header arrived and the received slices cover the whole latent plane.
    pub fn is_complete(&self) -> bool {
        let Some((header, _)) = self.header else {
            return false;
        };
        let plane = usize::from(header.latent_height) * usize::from(header.latent_width);
        self.slices.iter().map(|e| e.span.count).sum::<usize>() == plane
    }

    /// The received slices, in arrival order: span and rANS stream.
    pub fn slices(&self) -> impl Iterator<Item = (Span, &[u8])> + '_ {
        self.slices
            .iter()
            .map(|e| (e.span, &self.arena[e.offset..e.offset + e.len]))
    }

    /// True when packet `sequence` has been received.
    pub fn has(&self, sequence: u16) -> bool {
        self.header_copies.contains(&sequence) || self.slices.iter().any(|e| e.sequence == sequence)
    }
}

/// The longest span starting at position `first` whose slice stream fits in `scratch` (size
/// it to the MTU minus [`PACKET_HEADER_LEN`]); returns it with its coded length. Run it from
/// position 0, each time from the end of the last span, to cut a latent into packets.
pub fn fit_span(
    latent: &[i32],
    tables: &Tables,
    first: usize,
    scratch: &mut [u8],
) -> Result<(Span, usize), WireError> {
    let plane = tables.plane();
    let coded_len = |count: usize, scratch: &mut [u8]| match symbols::encode_span(
        latent,
        tables,
        Span { first, count },
        scratch,
    ) {
        Ok(coded) => Ok(Some(coded.len())),
        Err(WireError::BufferFull { .. }) => Ok(None),
        Err(e) => Err(e),
    };
    let left = plane.saturating_sub(first);
    let Some(mut best_len) = coded_len(1, scratch)? else {
        return Err(WireError::BufferFull {
            capacity: scratch.len(),
        });
    };
    // Exponential then binary search for the largest count that fits (coded size grows with
    // the count, up to the few bytes of rANS state flushing).
    let (mut fits, mut too_big) = (1, left + 1);
    let mut probe = 2;
    while probe <= left {
        match coded_len(probe, scratch)? {
            Some(len) => {
                (fits, best_len) = (probe, len);
                probe *= 2;
            }
            None => {
                too_big = probe;
                break;
            }
        }
    }
    if probe > left && fits < left {
        match coded_len(left, scratch)? {
            Some(len) => (fits, best_len) = (left, len),
            None => too_big = left,
        }
    }
    while too_big - fits > 1 {
        let mid = fits + (too_big - fits) / 2;
        match coded_len(mid, scratch)? {
            Some(len) => (fits, best_len) = (mid, len),
            None => too_big = mid,
        }
    }
    Ok((Span { first, count: fits }, best_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdf::{Cdf, TOTAL};
    use crate::symbols::Context;

    const TABLE: [u32; 5] = [0, 2000, 60000, 64000, TOTAL];

    fn lat_header() -> [u8; HEADER_LEN] {
        let header = Header {
            quality: 4,
            image_channels: 3,
            precision: crate::container::EncoderPrecision::F32,
            fingerprint: [9; 8],
            width: 64,
            height: 32,
            latent_channels: 2,
            latent_height: 2,
            latent_width: 4,
        };
        let mut out = [0u8; HEADER_LEN + 3];
        header.emit(&[1, 2, 3], &mut out).unwrap();
        out[..HEADER_LEN].try_into().unwrap()
    }

    fn packet(sequence: u16, kind: Kind, payload: &[u8], out: &mut [u8]) -> usize {
        let h = PacketHeader {
            stream: 0xbeef,
            sequence,
            total: 4,
            kind,
        };
        h.emit(payload, out).unwrap()
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let mut buf = [0u8; 128];
        let span = Span { first: 3, count: 5 };
        let n = packet(2, Kind::Slice(span), b"abc", &mut buf);
        assert_eq!(n, PACKET_HEADER_LEN + 3);
        let p = Packet::parse(&buf[..n]).unwrap();
        assert_eq!(p.header().kind, Kind::Slice(span));
        assert_eq!(
            (p.header().sequence, p.header().total, p.header().stream),
            (2, 4, 0xbeef)
        );
        assert_eq!(p.payload(), b"abc");
        let n = packet(0, Kind::Header, &lat_header(), &mut buf);
        assert!(Packet::parse(&buf[..n]).unwrap().lat_header().is_some());
    }

    #[test]
    fn every_truncation_and_bit_flip_is_rejected() {
        let mut buf = [0u8; 128];
        let n = packet(0, Kind::Header, &lat_header(), &mut buf);
        for cut in 0..n {
            assert!(Packet::parse(&buf[..cut]).is_err(), "cut {cut}");
        }
        for bit in 0..n * 8 {
            let mut b = buf;
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(Packet::parse(&b[..n]).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn bad_fields_are_refused_by_emit() {
        let mut buf = [0u8; 64];
        let bad = PacketHeader {
            stream: 1,
            sequence: 4,
            total: 4,
            kind: Kind::Header,
        };
        assert!(bad.emit(&[], &mut buf).is_err());
        let small = PacketHeader { sequence: 0, ..bad };
        assert_eq!(
            small.emit(&[0; 64], &mut buf),
            Err(WireError::BufferFull { capacity: 64 })
        );
    }

    #[test]
    fn reassembler_handles_order_duplicates_and_foreigners() {
        let mut arena = [0u8; 64];
        let mut r: Reassembler<'_, 2> = Reassembler::new(&mut arena);
        let mut buf = [0u8; 128];
        let n = packet(2, Kind::Slice(Span { first: 4, count: 4 }), b"xy", &mut buf);
        assert_eq!(
            r.push(&buf[..n]),
            Ok(Accepted::Slice(Span { first: 4, count: 4 }))
        );
        assert_eq!(r.push(&buf[..n]), Err(WireError::Duplicate { sequence: 2 }));
        let n = packet(1, Kind::Slice(Span { first: 6, count: 1 }), b"z", &mut buf);
        assert!(matches!(
            r.push(&buf[..n]),
            Err(WireError::Inconsistent { .. })
        ));
        let mut foreign = [0u8; 128];
        let h = PacketHeader {
            stream: 7,
            sequence: 1,
            total: 4,
            kind: Kind::Header,
        };
        let m = h.emit(&lat_header(), &mut foreign).unwrap();
        assert_eq!(
            r.push(&foreign[..m]),
            Err(WireError::ForeignStream {
                expected: 0xbeef,
                found: 7
            })
        );
        assert!(!r.is_complete());
        let n = packet(3, Kind::Header, &lat_header(), &mut buf);
        assert_eq!(r.push(&buf[..n]), Ok(Accepted::Header));
        let n = packet(0, Kind::Header, &lat_header(), &mut buf);
        assert_eq!(r.push(&buf[..n]), Ok(Accepted::HeaderCopy));
        let n = packet(1, Kind::Slice(Span { first: 0, count: 4 }), b"w", &mut buf);
        assert_eq!(
            r.push(&buf[..n]),
            Ok(Accepted::Slice(Span { first: 0, count: 4 }))
        );
        assert!(r.is_complete());
        assert_eq!(r.received(), 4);
        assert!((0..4).all(|s| r.has(s)));
        let slices: heapless::Vec<_, 4> = r.slices().collect();
        assert_eq!(slices[0].1, b"xy");
        assert_eq!(slices[1].1, b"w");
    }

    #[test]
    fn window_never_grows_past_capacity() {
        let mut arena = [0u8; 64];
        let mut r: Reassembler<'_, 1> = Reassembler::new(&mut arena);
        let mut buf = [0u8; 64];
        let n = packet(1, Kind::Slice(Span { first: 0, count: 1 }), b"a", &mut buf);
        r.push(&buf[..n]).unwrap();
        let n = packet(2, Kind::Slice(Span { first: 1, count: 1 }), b"b", &mut buf);
        assert_eq!(
            r.push(&buf[..n]),
            Err(WireError::WindowFull { capacity: 1 })
        );
        assert_eq!(r.received(), 1);
    }

    #[test]
    fn fit_span_fills_the_budget() {
        let cdfs = [Cdf::new(-1, &TABLE).unwrap(), Cdf::new(0, &TABLE).unwrap()];
        let tables = Tables::new(&cdfs, Context::None, 20, 10).unwrap();
        let plane = 200;
        let mut latent = [0i32; 400];
        for (i, v) in latent.iter_mut().enumerate() {
            *v = (i as i32 * 7 % 5) - 2;
        }
        let mut scratch = [0u8; 40];
        let mut first = 0;
        let mut out = [99i32; 400];
        while first < plane {
            let (span, len) = fit_span(&latent, &tables, first, &mut scratch).unwrap();
            assert!(len <= 40);
            if span.first + span.count < plane {
                // One more position would not have fit.
                let mut big = [0u8; 400];
                let more = Span {
                    first,
                    count: span.count + 1,
                };
                let coded = symbols::encode_span(&latent, &tables, more, &mut big).unwrap();
                assert!(coded.len() > 40);
            }
            let coded = symbols::encode_span(&latent, &tables, span, &mut scratch).unwrap();
            let mut copy = [0u8; 40];
            copy[..coded.len()].copy_from_slice(coded);
            symbols::decode_span(&copy[..len], &tables, span, &mut out).unwrap();
            first += span.count;
        }
        assert_eq!(out, latent);
        assert!(matches!(
            fit_span(&latent, &tables, 0, &mut [0u8; 2]),
            Err(WireError::BufferFull { .. })
        ));
    }
}
