//! What several integration tests share: the paper's numbers they check
//! against, and the one way a test finds a fixture or says it skipped.
//!
//! A test that needs something missing (a fixture in `../shared/fixtures`,
//! PyTorch) never passes silently: it prints `SKIPPED: <test>: <why>` past
//! libtest's output capture, so the line shows in every `cargo test` run. In
//! CI (`CI` set, as `.ci/run` has it, where `../shared/fixtures` exists) a
//! missing fixture fails the test instead.

#![allow(dead_code)] // each test crate uses only part of this module

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Table 1's rows and the CBMI 2016 baselines with the paper's parameter
/// counts (Table 1 and reference-protocol.md), in the paper's order.
pub const TABLE1_PARAMS: [(&str, usize); 11] = [
    ("O-net", 4_188),
    ("P-net", 7_428),
    ("2x O-net", 8_368),
    ("O-net + P-net", 11_608),
    ("2x P-net", 14_848),
    ("2x O-net + 2x P-net", 23_208),
    ("4x O-net + 4x P-net", 46_408),
    ("8x O-net + 8x P-net", 92_808),
    ("Time", 7_336),
    ("Time-freq", 196_816),
    ("Black-box", 3_275_312),
];

/// The shared fixtures directory, beside the repository.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");

/// Whether this is a CI run: `CI` set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"))
}

/// The fixture at `relative` (e.g. `audio/salami-2.mp3`) under [`FIXTURES`].
/// When it is missing: in CI, panics (a missing fixture must not pass);
/// elsewhere, prints why the calling test skips and returns `None`.
pub fn fixture(relative: &str) -> Option<PathBuf> {
    let path = Path::new(FIXTURES).join(relative);
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "fixture {} not found{}",
        path.display(),
        if Path::new(FIXTURES).is_dir() {
            ""
        } else {
            " (../shared/fixtures is absent)"
        }
    );
    assert!(
        !in_ci(),
        "{why}: CI must have every fixture (CI is set, so this is not skipped)"
    );
    skip(&why);
    None
}

/// Prints `SKIPPED: <test>: <why>` to the process's stderr, which libtest
/// does not capture, so the line shows even when the test passes. The test's
/// name is its thread's (libtest names each test's thread after the test).
pub fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}

/// Writes a 16-bit PCM wav of `channels` at `rate` Hz, with `fill` writing
/// the interleaved samples.
pub fn write_wav16(
    path: &Path,
    channels: u16,
    rate: u32,
    fill: impl FnOnce(&mut hound::WavWriter<std::io::BufWriter<std::fs::File>>),
) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    fill(&mut writer);
    writer.finalize().unwrap();
}

/// Every train entry's outputs, keyed by run, with wall-clock fields dropped.
pub fn train_outputs(
    cache: &Path,
) -> std::collections::BTreeMap<String, (String, String, Vec<u8>)> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(cache.join("train")).expect("train entries") {
        let dir = entry.unwrap().path();
        let Ok(test) = std::fs::read_to_string(dir.join("test.json")) else {
            continue; // an interrupted work directory, not an entry
        };
        let mut json: serde_json::Value = serde_json::from_str(&test).expect("test.json");
        let id = format!("{}/{}/{}", json["model"], json["hop"], json["fold"]);
        json.as_object_mut().unwrap().remove("seconds");
        let epochs = std::fs::read_to_string(dir.join("epochs.csv")).expect("epochs.csv");
        let epochs: Vec<String> = epochs
            .lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_owned())
            .collect();
        let weights = std::fs::read(dir.join("best.safetensors")).expect("weights");
        out.insert(id, (json.to_string(), epochs.join("\n"), weights));
    }
    out
}
