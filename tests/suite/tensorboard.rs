//! TensorBoard event files, read back by TensorBoard's own reader
//! (`EventAccumulator`, Python): a tiny Table 1 run writes one run per
//! (model, hop, fold) with every epoch's scalars as they end, and
//! `tempora tensorboard` rewrites the same scalars from a cache whose event
//! files are gone (as a cache from before event files existed). Without
//! `tensorboard` importable the test says SKIPPED; under `CI=true` it fails
//! (`.ci/run` installs it).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::{in_ci, skip};

const BIN: &str = env!("CARGO_BIN_EXE_tempora");
const TABLE1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/table1.toml");

/// Reads every run under a log directory with TensorBoard's EventAccumulator
/// and prints `{run: {tag: [[step, value], …]}}` as JSON.
const READER: &str = r#"
import json, os, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
root = sys.argv[1]
out = {}
for dirpath, _, files in os.walk(root):
    if not any("tfevents" in f for f in files):
        continue
    acc = EventAccumulator(dirpath, size_guidance={"scalars": 0})
    acc.Reload()
    run = os.path.relpath(dirpath, root)
    out[run] = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
print(json.dumps(out, sort_keys=True))
"#;

type Runs = BTreeMap<String, BTreeMap<String, Vec<(i64, f64)>>>;

/// Whether python3 imports TensorBoard; says SKIPPED (or fails in CI) when not.
fn reader_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import tensorboard"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why = "python3 cannot import tensorboard (pip install tensorboard)";
        assert!(
            !in_ci(),
            "{why}: CI installs it (CI is set, so this is not skipped)"
        );
        skip(why);
    }
    ok
}

fn read_runs(logdir: &Path) -> Runs {
    let out = Command::new("python3")
        .args(["-c", READER, logdir.to_str().unwrap()])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "TensorBoard's reader failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: BTreeMap<String, BTreeMap<String, Vec<(i64, f64)>>> =
        serde_json::from_slice(&out.stdout).expect("reader output is JSON");
    runs
}

fn tempora(args: &[&str], dir: &Path) -> std::process::Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tempora");
    assert!(
        out.status.success(),
        "tempora {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The per-epoch CSV of every train entry, by `model/hopH/foldK`.
fn recorded_curves(cache: &Path) -> BTreeMap<String, Vec<Vec<f64>>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(cache.join("train")).unwrap() {
        let dir = entry.unwrap().path();
        let test: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("test.json")).unwrap()).unwrap();
        let run = format!(
            "{}/hop{}/fold{}",
            test["model"].as_str().unwrap(),
            test["hop"],
            test["fold"]
        );
        let csv = std::fs::read_to_string(dir.join("epochs.csv")).unwrap();
        let rows = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
            .collect();
        out.insert(run, rows);
    }
    out
}

/// Each run's scalars equal its entry's `epochs.csv`, epoch by epoch (f32).
fn assert_runs_match(runs: &Runs, curves: &BTreeMap<String, Vec<Vec<f64>>>, prefix: &str) {
    assert_eq!(
        runs.len(),
        curves.len(),
        "one run per training: {:?}",
        runs.keys()
    );
    // Column of each tag in epochs.csv.
    let tags = [
        ("loss/train", 1),
        ("accuracy/train", 2),
        ("loss/validation", 3),
        ("accuracy/validation", 4),
        ("learning_rate", 5),
        ("epoch_seconds", 6),
    ];
    for (run, rows) in curves {
        let scalars = runs
            .get(&format!("{prefix}{run}"))
            .unwrap_or_else(|| panic!("no TensorBoard run {prefix}{run}: {:?}", runs.keys()));
        for (tag, column) in tags {
            let points = &scalars[tag];
            assert_eq!(points.len(), rows.len(), "{run} {tag}");
            for (point, row) in points.iter().zip(rows) {
                assert_eq!(point.0 as f64, row[0], "{run} {tag}: step = epoch");
                if tag != "epoch_seconds" {
                    assert_eq!(point.1 as f32, row[column] as f32, "{run} {tag}");
                }
            }
        }
    }
}

#[test]
fn tensorboard_reads_every_trainings_scalars_live_and_rewritten() {
    if !reader_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(TABLE1)
        .unwrap()
        .replace("epochs = 1\nhops = [250]", "epochs = 2\nhops = [250]");
    std::fs::write(dir.path().join("table1.toml"), spec).unwrap();
    let args = ["--profile", "tiny", "--device", "cpu", "--jobs", "2"];
    let run = tempora(
        &[&["run", "table1.toml", "--quiet"][..], &args].concat(),
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("tensorboard --logdir"), "{stderr}");
    let cache = dir.path().join("cache");
    let logdir = cache.join("tensorboard");
    let curves = recorded_curves(&cache);
    assert!(curves.values().all(|rows| rows.len() == 2), "{curves:?}");
    assert_runs_match(&read_runs(&logdir), &curves, "table1@tiny/");

    // A cache without event files (as one written before they existed).
    std::fs::remove_dir_all(&logdir).unwrap();
    let out = dir.path().join("tb");
    let written = tempora(
        &[
            &["tensorboard", "table1.toml", "--out", "tb"][..],
            &args[..4],
        ]
        .concat(),
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&written.stdout);
    assert!(
        stdout.contains(&format!("{} event files", curves.len())),
        "{stdout}"
    );
    assert_runs_match(&read_runs(&out), &curves, "");
}
