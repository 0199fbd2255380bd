//! Fuzz target `packet`: see [`harness::packet`] for what it checks.
#![no_main]

#[path = "../harness.rs"]
#[allow(dead_code)] // each target calls one of its functions
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::packet(data));
