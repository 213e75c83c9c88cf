//! Fuzz target `spec`: arbitrary bytes through `harness::spec` (see
//! `fuzz/harness.rs`); any panic is a bug in tempora.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::spec(data));
