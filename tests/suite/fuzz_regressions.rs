//! Replays the fuzz seed corpora (`fuzz/corpus/<target>/seed-*`), every input a
//! fuzz run ever found (`tests/fuzz_regressions/<target>/`; audio findings are
//! rebuilt in code, and real recordings come from the shared fixtures: audio is
//! never committed) through the same
//! functions the fuzz targets call (`fuzz/harness.rs`), on stable: each must
//! return (an error is fine), never panic. `just fuzz TARGET` runs the targets
//! themselves on nightly.

use crate::common;
#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// Every file in `dir` (none when it does not exist), sorted.
fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every kept input of `target`; returns how many ran.
fn replay(target: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    for dir in [
        root.join("fuzz/corpus").join(target),
        root.join("tests/fuzz_regressions").join(target),
    ] {
        for file in inputs(&dir) {
            if dir.ends_with(target) && dir.starts_with(root.join("fuzz")) {
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                if !name.starts_with("seed-") {
                    continue; // inputs a local fuzz run added, not committed
                }
            }
            let data = std::fs::read(&file).expect("read the input");
            let outcome = std::panic::catch_unwind(|| harness::run(target, &data));
            assert!(outcome.is_ok(), "{target} panicked on {}", file.display());
            ran += 1;
        }
    }
    ran
}

#[test]
fn spec_inputs_never_panic() {
    assert!(replay("spec") > 0, "the spec target has seeds");
}

/// Runs one audio input (the first byte picks the container, as in the target).
fn replay_audio(what: &str, data: &[u8]) {
    let outcome = std::panic::catch_unwind(|| harness::run("audio", data));
    assert!(outcome.is_ok(), "audio panicked on {what}");
}

/// A float wav whose samples are finite but near `f32::MAX` (the fuzz
/// finding: the resampler's FFT overflowed and panicked), built here: audio
/// is never committed.
fn huge_float_wav(rate: u32, channels: u16) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("wav writer");
    for i in 0..4096 {
        let sample = if i % 7 == 0 { 3.0e38f32 } else { 0.25 };
        writer.write_sample(sample).expect("write sample");
    }
    writer.finalize().expect("finalize");
    let mut data = vec![0u8]; // picks the first supported extension
    data.extend(bytes.into_inner());
    data
}

#[test]
fn audio_inputs_never_panic() {
    replay("audio");
    let wav = tempora::audio::SUPPORTED_EXTENSIONS
        .iter()
        .position(|e| *e == "wav")
        .expect("wav is supported") as u8;
    for (rate, channels) in [(22_050, 1), (44_100, 2), (22_050, 2)] {
        let mut data = huge_float_wav(rate, channels);
        data[0] = wav;
        replay_audio(
            &format!("a huge-sample float wav ({rate} Hz, {channels} ch)"),
            &data,
        );
    }
    // Real recordings of every container, whole and cut short, from the
    // shared fixtures (`common::fixture` says why when they are missing).
    for clip in [
        "audio/ballroom-waltz-Media-105901.wav",
        "audio/billboard-excerpt.flac",
        "audio/openmic-000046_3840.ogg",
        "audio/salami-2.mp3",
    ] {
        let Some(path) = common::fixture(clip) else {
            continue;
        };
        let ext = path
            .extension()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let pick = tempora::audio::SUPPORTED_EXTENSIONS
            .iter()
            .position(|e| *e == ext)
            .expect("a supported extension") as u8;
        let bytes = std::fs::read(&path).expect("read the fixture");
        for cut in [bytes.len(), bytes.len() / 2, 4096.min(bytes.len()), 44] {
            let mut data = vec![pick];
            data.extend_from_slice(&bytes[..cut.min(bytes.len())]);
            replay_audio(&format!("{clip} cut to {cut} bytes"), &data);
        }
    }
}

#[test]
fn package_manifest_inputs_never_panic() {
    assert!(replay("package_manifest") > 0);
}

#[test]
fn frozen_plan_inputs_never_panic() {
    assert!(replay("frozen_plan") > 0);
}

#[test]
fn plan_record_inputs_never_panic() {
    assert!(replay("plan_record") > 0);
}

#[test]
fn cache_manifest_inputs_never_panic() {
    assert!(replay("cache_manifest") > 0);
}

#[test]
fn report_input_inputs_never_panic() {
    assert!(replay("report_input") > 0);
}

#[test]
fn every_target_is_replayed() {
    assert_eq!(harness::TARGETS.len(), 7);
    // Audio seeds are generated by `just fuzz audio`, not committed.
    for target in harness::TARGETS.iter().filter(|t| **t != "audio") {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        assert!(dir.is_dir(), "fuzz/corpus/{target} holds the seeds");
    }
}
