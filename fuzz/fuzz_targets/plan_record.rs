//! Fuzz target `plan_record`: arbitrary bytes through `harness::plan_record` (see
//! `fuzz/harness.rs`); any panic is a bug in tempora.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::plan_record(data));
