//! `.lat` files over small-MTU links: cutting one into packets, and putting received packets
//! back together, as the same `.lat` when all arrived or as a latent with the lost slices
//! concealed. The packet format itself is [`latent_wire::packet`].

use latent_wire::WireError;
use latent_wire::checksum::crc32;
use latent_wire::container::{HEADER_LEN, Header, PayloadInfo};
use latent_wire::packet::{
    Kind, MAX_PACKET, MIN_MTU, PACKET_HEADER_LEN, Packet, PacketHeader, Reassembler, fit_span,
};
use latent_wire::symbols;

use crate::codec::entropy::EntropyModel;
use crate::error::{Error, LatError, PacketError};
use crate::limits::Bound;

/// Packets a stream may have, and the reassembly window (slices held at once).
pub const MAX_PACKETS: usize = 4096;

/// A `.lat` file cut into packets.
#[derive(Debug, Clone)]
pub struct Packetized {
    /// The packets, in sequence order: header, slices, header copy.
    pub packets: Vec<Vec<u8>>,
    /// Stream id (the low 16 bits of the `.lat` file's CRC-32).
    pub stream: u16,
}

impl Packetized {
    /// Slice packets (all but the two header copies).
    pub fn slices(&self) -> usize {
        self.packets.len() - 2
    }

    /// Bytes over all packets.
    pub fn bytes(&self) -> usize {
        self.packets.iter().map(Vec::len).sum()
    }
}

/// Cuts `lat` (made by `model`) into packets of at most `mtu` bytes: the `.lat` header
/// first and again last, and in between slices of latent positions, each as many positions as
/// fit in one packet and decodable on its own. The stream id is the low 16 bits of the file's
/// CRC-32.
pub fn packetize(model: &EntropyModel, lat: &[u8], mtu: usize) -> Result<Packetized, Error> {
    packetize_as(model, lat, mtu, crc32(lat) as u16)
}

/// [`packetize`] with the stream id given: a frame number, for a stream of frames.
pub fn packetize_as(
    model: &EntropyModel,
    lat: &[u8],
    mtu: usize,
    stream: u16,
) -> Result<Packetized, Error> {
    if !(MIN_MTU..=MAX_PACKET).contains(&mtu) {
        return Err(PacketError::Mtu {
            mtu,
            min: MIN_MTU,
            max: MAX_PACKET,
        }
        .into());
    }
    let (header, latent) = model.decode_symbols(lat)?;
    let cdfs = model.bundle().cdfs(header.quality)?;
    let tables = model.bundle().tables(&cdfs, &header)?;
    let plane = tables.plane();
    let mut scratch = vec![0u8; mtu - PACKET_HEADER_LEN];
    let mut spans = Vec::new();
    let mut first = 0;
    while first < plane {
        let (span, _) = fit_span(&latent, &tables, first, &mut scratch).map_err(|e| match e {
            WireError::BufferFull { .. } => Error::from(PacketError::MtuTooSmall {
                mtu,
                channels: header.latent_channels,
            }),
            e => LatError::Wire(e).into(),
        })?;
        spans.push(span);
        first += span.count;
        if spans.len() + 2 > MAX_PACKETS {
            return Err(PacketError::TooManyPackets {
                mtu,
                limit: MAX_PACKETS,
            }
            .into());
        }
    }
    let total = (spans.len() + 2) as u16;
    let emit = |sequence: u16, kind: Kind, payload: &[u8]| -> Result<Vec<u8>, Error> {
        let mut out = vec![0u8; PACKET_HEADER_LEN + payload.len()];
        let h = PacketHeader {
            stream,
            sequence,
            total,
            kind,
        };
        h.emit(payload, &mut out).map_err(LatError::Wire)?;
        Ok(out)
    };
    let mut packets = Vec::with_capacity(total.into());
    packets.push(emit(0, Kind::Header, &lat[..HEADER_LEN])?);
    for (i, &span) in spans.iter().enumerate() {
        let coded =
            symbols::encode_span(&latent, &tables, span, &mut scratch).map_err(LatError::Wire)?;
        packets.push(emit(i as u16 + 1, Kind::Slice(span), coded)?);
    }
    packets.push(emit(total - 1, Kind::Header, &lat[..HEADER_LEN])?);
    Ok(Packetized { packets, stream })
}

/// A packet that was not used, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// Where it came from (file name).
    pub name: String,
    /// Why it was refused.
    pub error: WireError,
}

/// What arrived of one stream.
#[derive(Debug, Clone)]
pub struct Reassembly {
    /// The `.lat` header the stream carries.
    pub header: Header,
    /// The whole payload's length and CRC, from the header.
    pub payload: PayloadInfo,
    /// Packets in the stream.
    pub total: u16,
    /// Sequence numbers that did not arrive (or were refused).
    pub missing: Vec<u16>,
    /// Packets refused (corrupt, duplicate, foreign stream, inconsistent).
    pub rejected: Vec<Rejected>,
    /// The latent (channel-major); positions of lost slices hold 0 until concealed.
    latent: Vec<i32>,
    /// Per latent position: whether its slice arrived.
    known: Vec<bool>,
}

/// The `.lat` header of the first intact header packet among `packets`: which model the stream
/// is for (its fingerprint), before [`reassemble`] needs that model.
pub fn header_of(packets: &[(String, Vec<u8>)]) -> Option<Header> {
    packets
        .iter()
        .find_map(|(_, bytes)| Packet::parse(bytes).ok()?.lat_header().map(|(h, _)| h))
}

/// Puts received `packets` (name, bytes; any order, duplicates and strangers allowed) back
/// together for `model`. The first valid packet decides the stream. Fails only when no
/// header packet arrived, or the header is not for this model.
pub fn reassemble(
    model: &EntropyModel,
    packets: &[(String, Vec<u8>)],
) -> Result<Reassembly, Error> {
    let mut arena = vec![0u8; packets.iter().map(|(_, p)| p.len()).sum()];
    // Boxed: the window's index is too large for a test thread's stack.
    let mut window: Box<Reassembler<'_, MAX_PACKETS>> = Box::new(Reassembler::new(&mut arena));
    let mut rejected = Vec::new();
    for (name, bytes) in packets {
        if let Err(error) = window.push(bytes) {
            rejected.push(Rejected {
                name: name.clone(),
                error,
            });
        }
    }
    let (header, payload) = window.header().ok_or(PacketError::NoHeader {
        packets: packets.len(),
    })?;
    model.check_header(&header)?;
    let total = window.total().expect("a header arrived");
    model
        .limits()
        .check(Bound::Packets, total.into(), "packet stream")?;
    let cdfs = model.bundle().cdfs(header.quality)?;
    let tables = model.bundle().tables(&cdfs, &header)?;
    let plane = tables.plane();
    let mut latent = vec![0i32; header.latent_len()];
    let mut known = vec![false; plane];
    let mut saved = Vec::new();
    for (span, coded) in window.slices() {
        // A slice that passed its CRC but does not decode is treated as lost: what it wrote
        // is put back.
        let positions = |c: usize| c * plane + span.first..c * plane + span.first + span.count;
        saved.clear();
        for c in 0..usize::from(header.latent_channels) {
            saved.extend_from_slice(&latent[positions(c)]);
        }
        match symbols::decode_span(coded, &tables, span, &mut latent) {
            Ok(()) => known[span.first..span.first + span.count].fill(true),
            Err(error) => {
                for (c, old) in saved.chunks(span.count).enumerate() {
                    latent[positions(c)].copy_from_slice(old);
                }
                rejected.push(Rejected {
                    name: format!("slice at position {}", span.first),
                    error,
                });
            }
        }
    }
    let missing = (0..total).filter(|&s| !window.has(s)).collect();
    Ok(Reassembly {
        header,
        payload,
        total,
        missing,
        rejected,
        latent,
        known,
    })
}

impl Reassembly {
    /// True when every latent position arrived.
    pub fn is_complete(&self) -> bool {
        self.known.iter().all(|&k| k)
    }

    /// Latent positions whose slice was lost.
    pub fn lost_positions(&self) -> usize {
        self.known.iter().filter(|&&k| !k).count()
    }

    /// Latent positions in all.
    pub fn positions(&self) -> usize {
        self.known.len()
    }

    /// The original `.lat` file, byte for byte (the whole latent must have arrived).
    pub fn to_lat(&self, model: &EntropyModel) -> Result<Vec<u8>, Error> {
        if !self.is_complete() {
            return Err(PacketError::Incomplete {
                missing: self.missing.clone(),
            }
            .into());
        }
        let cdfs = model.bundle().cdfs(self.header.quality)?;
        let tables = model.bundle().tables(&cdfs, &self.header)?;
        let mut buf = vec![0u8; symbols::max_coded_len(self.latent.len())];
        let payload = symbols::encode(&self.latent, &tables, &mut buf).map_err(LatError::Wire)?;
        let computed = crc32(payload);
        if payload.len() != self.payload.len as usize || computed != self.payload.crc {
            return Err(LatError::Wire(WireError::PayloadCrc {
                stored: self.payload.crc,
                computed,
            })
            .into());
        }
        let mut lat = vec![0u8; HEADER_LEN + payload.len()];
        self.header
            .emit(payload, &mut lat)
            .map_err(LatError::Wire)?;
        Ok(lat)
    }

    /// The latent with lost positions concealed: each lost value is the mean of the nearest
    /// received values above, below, left and right of it in its channel, weighted by inverse
    /// distance (integer arithmetic, rounded half away from zero), and the channel's most
    /// probable value when its whole row and column were lost.
    pub fn concealed_latent(&self, model: &EntropyModel) -> Vec<i32> {
        let (h, w) = (
            usize::from(self.header.latent_height),
            usize::from(self.header.latent_width),
        );
        let plane = h * w;
        let modes = prior_modes(model, self.header.quality);
        let mut out = self.latent.clone();
        for y in 0..h {
            for x in 0..w {
                if self.known[y * w + x] {
                    continue;
                }
                // (distance, position) of the nearest received value in each direction.
                let known = &self.known;
                let near: Vec<(i128, usize)> = [
                    nearest(known, (0..y).rev().map(|r| (y - r, r * w + x))),
                    nearest(known, (y + 1..h).map(|r| (r - y, r * w + x))),
                    nearest(known, (0..x).rev().map(|k| (x - k, y * w + k))),
                    nearest(known, (x + 1..w).map(|k| (k - x, y * w + k))),
                ]
                .into_iter()
                .flatten()
                .collect();
                // Weight 1/d_i, scaled by the product of all distances: the others' product.
                let weight = |i: usize| -> i128 {
                    near.iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &(d, _))| d)
                        .product()
                };
                let weights: Vec<i128> = (0..near.len()).map(weight).collect();
                let den: i128 = weights.iter().sum();
                for (c, mode) in modes.iter().enumerate() {
                    let v = if near.is_empty() {
                        *mode
                    } else {
                        let num: i128 = near
                            .iter()
                            .zip(&weights)
                            .map(|(&(_, q), &wt)| i128::from(self.latent[c * plane + q]) * wt)
                            .sum();
                        ((2 * num + num.signum() * den) / (2 * den)) as i32
                    };
                    out[c * plane + y * w + x] = v;
                }
            }
        }
        out
    }
}

/// The first `(distance, position)` of `steps` whose position was received.
fn nearest(
    known: &[bool],
    mut steps: impl Iterator<Item = (usize, usize)>,
) -> Option<(i128, usize)> {
    steps.find(|&(_, q)| known[q]).map(|(d, q)| (d as i128, q))
}

/// The most probable value of each latent channel under the model's prior at `quality`: the
/// value with the most probability over all of the channel's tables (its only one, or one per
/// context class), the smaller on a tie; 0 for every channel of a quality the model lacks
/// (headers are checked before this runs).
fn prior_modes(model: &EntropyModel, quality: u8) -> Vec<i32> {
    let prior = &model.bundle().prior;
    let Some(level) = prior.level(quality) else {
        return vec![0; prior.latent_channels];
    };
    level
        .channels
        .chunks(prior.context.classes())
        .map(|tables| {
            // Each value's probability summed over the tables (interval widths, no escape).
            let mut mass = std::collections::BTreeMap::<i64, u64>::new();
            for t in tables {
                let symbols = t.cdf.len().saturating_sub(2);
                for (i, w) in t.cdf.windows(2).take(symbols).enumerate() {
                    *mass.entry(i64::from(t.offset) + i as i64).or_default() +=
                        u64::from(w[1] - w[0]);
                }
            }
            mass.iter()
                .max_by_key(|&(&v, &m)| (m, std::cmp::Reverse(v)))
                .map_or(0, |(&v, _)| v as i32)
        })
        .collect()
}
