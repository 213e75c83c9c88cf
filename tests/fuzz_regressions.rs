//! Replays the fuzz seed corpora (`fuzz/corpus/<target>/seed-*`) and every input a
//! fuzz run ever found (`tests/fuzz_regressions/<target>/`) through the same
//! functions the fuzz targets call (`fuzz/harness.rs`), on stable: each must
//! return (an error is fine), never panic. `just fuzz TARGET` runs the targets
//! themselves on nightly.

#[path = "../fuzz/harness.rs"]
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

#[test]
fn audio_inputs_never_panic() {
    assert!(replay("audio") > 0, "the audio target has seeds");
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
    for target in harness::TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        assert!(dir.is_dir(), "fuzz/corpus/{target} holds the seeds");
    }
}
