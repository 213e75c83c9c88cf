//! Fuzz target `report_input`: arbitrary bytes through `harness::report_input` (see
//! `fuzz/harness.rs`); any panic is a bug in tempora.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::report_input(data));
