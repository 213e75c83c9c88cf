//! Fuzz target `cache_manifest`: arbitrary bytes through `harness::cache_manifest` (see
//! `fuzz/harness.rs`); any panic is a bug in tempora.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::cache_manifest(data));
