//! Fuzz target `frozen_plan`: arbitrary bytes through `harness::frozen_plan` (see
//! `fuzz/harness.rs`); any panic is a bug in tempora.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::frozen_plan(data));
