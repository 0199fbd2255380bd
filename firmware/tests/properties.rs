//! Property tests of the wire crate: coding round trips, and arbitrary bytes never panic.

use latent_wire::cdf::{Cdf, TOTAL};
use latent_wire::container::{EncoderPrecision, Header, LatFile};
use latent_wire::predict::{Predictor, WEIGHTS_PER_CHANNEL};
use latent_wire::symbols::{Context, Tables, decode, encode, max_coded_len};
use proptest::prelude::*;

/// A valid CDF from arbitrary positive weights.
fn cdf_from_weights(weights: &[u32]) -> Vec<u32> {
    let n = weights.len() as u64;
    let sum: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    let spare = u64::from(TOTAL) - n;
    let mut cdf = vec![0u32];
    let mut acc = 0u64;
    for (i, &w) in weights.iter().enumerate() {
        let extra = if i + 1 == weights.len() {
            spare - (acc - i as u64)
        } else {
            spare * u64::from(w) / sum
        };
        acc += extra + 1;
        cdf.push(acc as u32);
    }
    cdf
}

/// The tables of `context`, drawn from the same pool: one per channel, or one per class.
fn coding_tables<'c>(cdfs: &[Cdf<'c>], context: Context) -> Vec<Cdf<'c>> {
    let (n, k) = (cdfs.len(), context.classes());
    (0..n * k).map(|j| cdfs[(j / k + j % k) % n]).collect()
}

fn context_strategy() -> impl Strategy<Value = Context> {
    prop_oneof![
        Just(Context::None),
        Just(Context::Neighbours),
        Just(Context::NeighboursAndChannels)
    ]
}

/// Arbitrary predictor weights (cycled to four per channel) and shift, or none.
fn predictor_strategy() -> impl Strategy<Value = Option<(Vec<i16>, u32)>> {
    prop::option::of((prop::collection::vec(any::<i16>(), 1..12), 1u32..=24))
}

/// `tables` with a predictor made of `weights` cycled over its channels, if given.
fn with_predictor<'t, 'c>(
    tables: Tables<'t, 'c>,
    weights: &'t mut Vec<i16>,
    predictor: &Option<(Vec<i16>, u32)>,
) -> Tables<'t, 'c> {
    let Some((seed, shift)) = predictor else {
        return tables;
    };
    *weights = (0..tables.channels() * WEIGHTS_PER_CHANNEL)
        .map(|i| seed[i % seed.len()])
        .collect();
    tables
        .with_predictor(Predictor::new(weights, *shift).unwrap())
        .unwrap()
}

fn tables_strategy() -> impl Strategy<Value = Vec<(i32, Vec<u32>)>> {
    prop::collection::vec((-40i32..40, prop::collection::vec(1u32..1000, 2..40)), 1..5).prop_map(
        |ts| {
            ts.into_iter()
                .map(|(o, w)| (o, cdf_from_weights(&w)))
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn latents_round_trip(
        tables in tables_strategy(),
        width in 1usize..8,
        height in 1usize..8,
        seed in prop::collection::vec(any::<i32>(), 1..200),
        wide in any::<bool>(),
        context in context_strategy(),
        predictor in predictor_strategy(),
    ) {
        let cdfs: Vec<Cdf> = tables.iter().map(|(o, c)| Cdf::new(*o, c).unwrap()).collect();
        let cdfs = coding_tables(&cdfs, context);
        let mut weights = Vec::new();
        let tables = Tables::new(&cdfs, context, width, height).unwrap();
        let tables = with_predictor(tables, &mut weights, &predictor);
        let latent: Vec<i32> = (0..tables.channels() * width * height)
            .map(|i| {
                let v = seed[i % seed.len()];
                if wide { v } else { v % 60 }
            })
            .collect();
        let mut buf = vec![0u8; max_coded_len(latent.len())];
        let coded = encode(&latent, &tables, &mut buf).unwrap();
        let mut out = vec![0i32; latent.len()];
        decode(coded, &tables, &mut out).unwrap();
        prop_assert_eq!(out, latent);
    }

    #[test]
    fn arbitrary_payloads_decode_or_fail_cleanly(
        tables in tables_strategy(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        width in 1usize..8,
        height in 1usize..6,
        context in context_strategy(),
        predictor in predictor_strategy(),
    ) {
        let cdfs: Vec<Cdf> = tables.iter().map(|(o, c)| Cdf::new(*o, c).unwrap()).collect();
        let cdfs = coding_tables(&cdfs, context);
        let mut weights = Vec::new();
        let tables = Tables::new(&cdfs, context, width, height).unwrap();
        let tables = with_predictor(tables, &mut weights, &predictor);
        let mut out = vec![0i32; tables.channels() * width * height];
        let _ = decode(&bytes, &tables, &mut out);
    }

    #[test]
    fn arbitrary_files_parse_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = LatFile::parse(&bytes);
    }

    #[test]
    fn headers_round_trip(
        quality in any::<u8>(),
        gray in any::<bool>(),
        fingerprint in any::<[u8; 8]>(),
        width in 1u32..,
        height in 1u32..,
        latent in (1u16.., 1u16.., 1u16..),
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let header = Header {
            quality,
            image_channels: if gray { 1 } else { 3 },
            precision: [EncoderPrecision::F32, EncoderPrecision::F16, EncoderPrecision::Int8]
                [usize::from(fingerprint[0] % 3)],
            fingerprint,
            width,
            height,
            latent_channels: latent.0,
            latent_height: latent.1,
            latent_width: latent.2,
        };
        let mut buf = [0u8; 128];
        let n = header.emit(&payload, &mut buf).unwrap();
        let file = LatFile::parse(&buf[..n]).unwrap();
        prop_assert_eq!(*file.header(), header);
        prop_assert_eq!(file.payload(), &payload[..]);
    }
}

mod packets {
    use super::*;
    use latent_wire::container::HEADER_LEN;
    use latent_wire::packet::{
        Kind, PACKET_HEADER_LEN, Packet, PacketHeader, Reassembler, fit_span,
    };
    use latent_wire::symbols::{Span, decode_span};

    const WINDOW: usize = 64;

    /// Cuts a latent into a header packet, slices of at most `mtu` bytes, and a header copy.
    fn packetize(latent: &[i32], tables: &Tables, mtu: usize) -> Vec<Vec<u8>> {
        let plane = tables.plane();
        let (w, h) = (tables.width(), plane / tables.width());
        let header = Header {
            quality: 4,
            image_channels: 3,
            precision: EncoderPrecision::F32,
            fingerprint: [7; 8],
            width: 16 * w as u32,
            height: 16 * h as u32,
            latent_channels: tables.channels() as u16,
            latent_height: h as u16,
            latent_width: w as u16,
        };
        let mut lat = vec![0u8; HEADER_LEN];
        header.emit(&[], &mut lat).unwrap();
        let mut scratch = vec![0u8; mtu - PACKET_HEADER_LEN];
        let mut spans = Vec::new();
        let mut first = 0;
        while first < plane {
            let (span, _) = fit_span(latent, tables, first, &mut scratch).unwrap();
            first += span.count;
            spans.push(span);
        }
        let total = spans.len() as u16 + 2;
        let emit = |sequence: u16, kind: Kind, payload: &[u8]| {
            let mut out = vec![0u8; PACKET_HEADER_LEN + payload.len()];
            let h = PacketHeader {
                stream: 0x5a5a,
                sequence,
                total,
                kind,
            };
            h.emit(payload, &mut out).unwrap();
            out
        };
        let mut packets = vec![emit(0, Kind::Header, &lat)];
        for (i, &span) in spans.iter().enumerate() {
            let coded = latent_wire::symbols::encode_span(latent, tables, span, &mut scratch)
                .unwrap()
                .to_vec();
            packets.push(emit(i as u16 + 1, Kind::Slice(span), &coded));
        }
        packets.push(emit(total - 1, Kind::Header, &lat));
        packets
    }

    proptest! {
        #[test]
        fn lossy_reordered_duplicated_corrupted_streams(
            tables in tables_strategy(),
            width in 1usize..12,
            height in 1usize..6,
            context in context_strategy(),
            predictor in predictor_strategy(),
            values in prop::collection::vec(-50i32..50, 1..100),
            mtu in 40usize..160,
            order in prop::collection::vec(any::<u32>(), 1..200),
            lose_every in 0usize..6,
            corrupt in prop::collection::vec((any::<u16>(), any::<u8>()), 0..4),
        ) {
            let cdfs: Vec<Cdf> = tables.iter().map(|(o, c)| Cdf::new(*o, c).unwrap()).collect();
            let cdfs = coding_tables(&cdfs, context);
            let mut weights = Vec::new();
            let tables = Tables::new(&cdfs, context, width, height).unwrap();
            let tables = with_predictor(tables, &mut weights, &predictor);
            let plane = width * height;
            let latent: Vec<i32> =
                (0..tables.channels() * plane).map(|i| values[i % values.len()]).collect();
            let sent = packetize(&latent, &tables, mtu.max(PACKET_HEADER_LEN + 48));
            // The channel: drop every `lose_every`-th, repeat some, shuffle, flip bytes.
            let mut channel: Vec<Vec<u8>> = sent
                .iter()
                .enumerate()
                .filter(|(i, _)| lose_every < 2 || i % lose_every != 1)
                .map(|(_, p)| p.clone())
                .collect();
            let copies: Vec<Vec<u8>> = channel.iter().step_by(3).cloned().collect();
            channel.extend(copies);
            for (i, o) in order.iter().enumerate() {
                let n = channel.len();
                channel.swap(i % n, *o as usize % n);
            }
            let mut corrupted = vec![false; channel.len()];
            for &(at, x) in &corrupt {
                let i = usize::from(at) % channel.len();
                let p = &mut channel[i];
                let j = usize::from(at) % p.len();
                if x != 0 {
                    p[j] ^= x;
                    corrupted[i] = true;
                }
            }
            let mut arena = vec![0u8; 64 * 1024];
            let mut r: Reassembler<'_, WINDOW> = Reassembler::new(&mut arena);
            for p in &channel {
                let _ = r.push(p);
                prop_assert!(r.received() <= WINDOW + latent_wire::packet::MAX_HEADER_COPIES);
            }
            // Every accepted slice decodes, on its own, to exactly what was sent.
            for (span, coded) in r.slices() {
                let mut out = vec![i32::MIN; latent.len()];
                decode_span(coded, &tables, span, &mut out).unwrap();
                for c in 0..tables.channels() {
                    for p in span.first..span.first + span.count {
                        prop_assert_eq!(out[c * plane + p], latent[c * plane + p]);
                    }
                }
            }
            let clean = lose_every < 2 && !corrupted.iter().any(|&c| c);
            if clean && sent.len() - 2 <= WINDOW {
                prop_assert!(r.is_complete());
            }
        }

        #[test]
        fn arbitrary_packets_parse_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
            let _ = Packet::parse(&bytes);
            let mut arena = [0u8; 256];
            let mut r: Reassembler<'_, 4> = Reassembler::new(&mut arena);
            let _ = r.push(&bytes);
            let _: Option<Span> = r.slices().map(|(s, _)| s).next();
        }
    }
}
