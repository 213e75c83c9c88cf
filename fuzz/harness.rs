//! One function per fuzz target: feeds arbitrary bytes to one reader of outside
//! input, exactly as tempora reads that input. The fuzz targets
//! (`fuzz_targets/*.rs`) and the stable regression test
//! (`tests/suite/fuzz_regressions.rs`) both include this file, so a kept input is
//! replayed through the same code that found it. Every function must return
//! normally on every input: an `Err` from tempora is the expected answer to bad
//! input, a panic is a bug.

#![allow(dead_code)]

use std::path::Path;

/// The targets, by name (the directory names under `fuzz/corpus/`).
pub const TARGETS: [&str; 7] = [
    "spec",
    "audio",
    "package_manifest",
    "frozen_plan",
    "plan_record",
    "cache_manifest",
    "report_input",
];

/// Runs `data` through the target named `target`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "spec" => spec(data),
        "audio" => audio(data),
        "package_manifest" => package_manifest(data),
        "frozen_plan" => frozen_plan(data),
        "plan_record" => plan_record(data),
        "cache_manifest" => cache_manifest(data),
        "report_input" => report_input(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// The experiment spec parser (TOML → experiment, sweeps and profiles): the
/// default profile, then each profile the spec declares.
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = tempora::spec::parse(text, "fuzz.toml", None);
    for profile in ["tiny", "quick", "paper", "no-such-profile"] {
        let _ = tempora::spec::parse(text, "fuzz.toml", Some(profile));
    }
}

/// The audio front end (bytes → mono samples at the target rate). The first
/// byte picks the container the file name claims; the rest is the file.
pub fn audio(data: &[u8]) {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let exts = tempora::audio::SUPPORTED_EXTENSIONS;
    let name = format!("fuzz.{}", exts[usize::from(pick) % exts.len()]);
    let _ = tempora::audio::decode_bytes(bytes.to_vec(), Path::new(&name));
}

/// The model-package manifest (`package.json`).
pub fn package_manifest(data: &[u8]) {
    if let Ok(manifest) =
        tempora::package::manifest::parse_manifest(data, Path::new("package.json"))
    {
        let _ = manifest.card();
    }
}

/// Writes `data` to a file named `name` in a fresh temporary directory.
fn in_temp_file(name: &str, data: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("write the input");
    (dir, path)
}

/// The frozen-plan reader, then every task rebuilt from it (by id and by key).
pub fn frozen_plan(data: &[u8]) {
    let (_dir, path) = in_temp_file("plan.json", data);
    if let Ok(plan) = tempora::plan::FrozenPlan::load(&path) {
        let _ = plan.hash();
        for task in &plan.tasks {
            let _ = plan.task(&task.id.0);
            let key = task.key.to_string();
            let _ = plan.task(&key);
            let _ = plan.task(key.get(..12).unwrap_or(&key));
        }
        let _ = plan.task("");
        let _ = plan.task("0");
    }
}

/// The plan record (`plan.json` in the cache: why tasks rerun).
pub fn plan_record(data: &[u8]) {
    let (_dir, path) = in_temp_file("record.json", data);
    if let Some(record) = tempora::plan::PlanRecord::load(&path) {
        let _ = record.save(&path, None);
    }
}

/// A cache entry's manifest, probed as a run probes it (sizes, then hashes).
pub fn cache_manifest(data: &[u8]) {
    use tempora::exec::store::{Check, Store, MANIFEST_FILE};
    let root = tempfile::tempdir().expect("temporary directory");
    let Ok(store) = Store::open(root.path()) else {
        return;
    };
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let Ok(dir) = store.entry_dir("features", key) else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("entry directory");
    std::fs::write(dir.join(MANIFEST_FILE), data).expect("write the manifest");
    std::fs::write(dir.join("features.bin"), b"tempora").expect("write an output");
    let _ = store.probe("features", key, Check::Sizes);
    let _ = store.probe("features", key, Check::Hashes);
}

/// The report input (`report-input.json`): parsed, then validated.
pub fn report_input(data: &[u8]) {
    if let Ok(input) = serde_json::from_slice::<tempora::report::ReportInput>(data) {
        if input.validate().is_ok() {
            let _ = input.display_title();
            let _ = input.quotes_papers();
        }
    }
}
