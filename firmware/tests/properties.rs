//! Property tests of the wire crate: coding round trips, and arbitrary bytes never panic.

use latent_wire::cdf::{Cdf, TOTAL};
use latent_wire::container::{Header, LatFile};
use latent_wire::symbols::{decode, encode, max_coded_len};
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
        plane in 1usize..50,
        seed in prop::collection::vec(any::<i32>(), 1..200),
        wide in any::<bool>(),
    ) {
        let cdfs: Vec<Cdf> = tables.iter().map(|(o, c)| Cdf::new(*o, c).unwrap()).collect();
        let latent: Vec<i32> = (0..cdfs.len() * plane)
            .map(|i| {
                let v = seed[i % seed.len()];
                if wide { v } else { v % 60 }
            })
            .collect();
        let mut buf = vec![0u8; max_coded_len(latent.len())];
        let coded = encode(&latent, &cdfs, plane, &mut buf).unwrap();
        let mut out = vec![0i32; latent.len()];
        decode(coded, &cdfs, plane, &mut out).unwrap();
        prop_assert_eq!(out, latent);
    }

    #[test]
    fn arbitrary_payloads_decode_or_fail_cleanly(
        tables in tables_strategy(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        plane in 1usize..40,
    ) {
        let cdfs: Vec<Cdf> = tables.iter().map(|(o, c)| Cdf::new(*o, c).unwrap()).collect();
        let mut out = vec![0i32; cdfs.len() * plane];
        let _ = decode(&bytes, &cdfs, plane, &mut out);
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
