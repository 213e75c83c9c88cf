//! Fuzz target `audio`: arbitrary bytes through `harness::audio` (see
//! `fuzz/harness.rs`); any panic that escapes tempora is a bug in tempora.
//!
//! tempora deliberately catches a panic inside the third-party decoder
//! (symphonia) on malformed data and reports it as corrupt data for that file
//! (`tempora::audio::decode`). libfuzzer-sys aborts on *any* panic, caught or
//! not, so this target replaces its panic hook with one that prints each
//! decoder panic location once and lets the panic unwind to tempora's catch; a
//! panic tempora does not catch still reaches libfuzzer-sys's own
//! `catch_unwind` and aborts the run.

#![no_main]

use std::collections::HashSet;
use std::sync::{Mutex, Once};

#[path = "../harness.rs"]
mod harness;

static HOOK: Once = Once::new();
static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map_or_else(|| "unknown".to_owned(), ToString::to_string);
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if seen.get_or_insert_with(HashSet::new).insert(at.clone()) {
                eprintln!("panic at {at} (caught by tempora if inside the decoder): {info}");
            }
        }));
    });
    harness::audio(data);
});
