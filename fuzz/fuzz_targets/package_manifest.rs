//! Fuzz target `package_manifest`: arbitrary bytes through `harness::package_manifest` (see
//! `fuzz/harness.rs`); any panic is a bug in tempora.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::package_manifest(data));
