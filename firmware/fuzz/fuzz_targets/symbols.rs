//! Entropy decoding: arbitrary coded bytes against fixed tables decode or fail cleanly, whole
//! or as a span.
#![no_main]

use latent_wire::cdf::{Cdf, TOTAL};
use latent_wire::symbols::{Span, decode, decode_span};
use libfuzzer_sys::fuzz_target;

const A: [u32; 6] = [0, 1000, 30000, 60000, 65000, TOTAL];
const B: [u32; 3] = [0, 65000, TOTAL];

fuzz_target!(|data: &[u8]| {
    let tables = [Cdf::new(-2, &A).unwrap(), Cdf::new(0, &B).unwrap()];
    let Some((&shape, coded)) = data.split_first() else {
        return;
    };
    let plane = usize::from(shape % 32) + 1;
    let mut out = vec![0i32; 2 * plane];
    let _ = decode(coded, &tables, plane, &mut out);
    let first = usize::from(shape >> 5) % plane;
    let span = Span {
        first,
        count: plane - first,
    };
    let _ = decode_span(coded, &tables, plane, span, &mut out);
});
