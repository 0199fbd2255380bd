//! The integration tests, one binary: tract is linked once, not once per test file.
//! Filter by module, e.g. `cargo test --test it quality::`.

mod common;

mod bench;
mod cli;
mod compressai;
mod demos;
mod denoise;
mod denoise_golden;
mod eval;
mod golden;
mod gray;
mod hyper;
mod lat_fixture;
mod link;
mod mutations;
mod packets;
mod precision;
mod quality;
mod regress;
mod roundtrip;
mod tables;
mod vae2d_golden;
