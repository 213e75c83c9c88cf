//! Trained models as products, end to end on the tiny profile of
//! `experiments/table1.toml` (one training run for every test here, about a
//! minute on two cores):
//! - `tempora check` passes against the committed baseline
//!   (`tests/baselines/table1-tiny-results.json`) the way a user's CI runs
//!   it, passes against the run's own report, and fails (exit 1) naming the
//!   model and the reason for a higher-accuracy baseline and for another
//!   parameter count;
//! - `tempora export` writes a package that loads, and refuses a model the
//!   spec does not have;
//! - `tempora predict` classifies generated wav files (stereo 22.05 kHz,
//!   mono 44.1 kHz shorter than one chunk) and the shared fixture clips when
//!   present; a text file named `.wav` gives one error line, the others
//!   still predict, and the exit code is 1; `--format json` and `csv` parse;
//! - PyTorch (`benches/pytorch_reference.py package`, when python3 imports
//!   torch; otherwise the output says it skipped) loads the same package and
//!   gives the same class probabilities on the network input `predict
//!   --save-inputs` stored;
//! - a package of another format version, or whose manifest disagrees with
//!   its weights, is refused with an error naming the file and what differs.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tempora");
const TABLE1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/table1.toml");
const BASELINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/baselines/table1-tiny-results.json"
);

fn tempora(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tempora")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

const TINY: [&str; 6] = ["--profile", "tiny", "--cache", "cache", "--device", "cpu"];

fn with_tiny<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(TINY);
    all
}

/// The shared fixture clips, when this checkout has them.
fn fixture_clips() -> Option<Vec<PathBuf>> {
    const CLIPS: [&str; 6] = [
        "ballroom-waltz-Media-105901.wav",
        "billboard-excerpt.flac",
        "candombe-excerpt.flac",
        "gtzan-country.00000.wav",
        "openmic-000046_3840.ogg",
        "salami-2.mp3",
    ];
    CLIPS
        .iter()
        .map(|name| common::fixture(&format!("audio/{name}")))
        .collect()
}

/// A sine sweep with a pulse, as 16-bit wav.
fn write_wav(path: &Path, rate: u32, channels: u16, seconds: f64) {
    let n = (seconds * f64::from(rate)) as usize;
    common::write_wav16(path, channels, rate, |writer| {
        for i in 0..n {
            let t = i as f64 / f64::from(rate);
            let pulse = if (t * 2.0).fract() < 0.05 { 0.5 } else { 0.0 };
            let v = 0.3 * (2.0 * std::f64::consts::PI * (220.0 + 50.0 * t) * t).sin() + pulse;
            for _ in 0..channels {
                writer.write_sample((v * 20_000.0) as i16).unwrap();
            }
        }
    });
}

fn check_cli(dir: &Path) {
    let out = tempora(&with_tiny(&["check", TABLE1, "--baseline", BASELINE]), dir);
    assert!(
        out.status.success(),
        "against the committed baseline: {}",
        show(&out)
    );
    assert!(text(&out.stdout).contains("check passed"), "{}", show(&out));

    let own = dir.join("reports/table1/results.json");
    let own = own.to_str().unwrap();
    let out = tempora(&with_tiny(&["check", TABLE1, "--baseline", own]), dir);
    assert!(
        out.status.success(),
        "against its own results: {}",
        show(&out)
    );

    let mut rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(own).unwrap()).unwrap();
    for row in &mut rows {
        if row["model"] == "O-net" {
            row["song_accuracy"] = serde_json::json!(1.0);
        }
        if row["model"] == "Time" {
            row["params"] = serde_json::json!(1);
        }
    }
    let worse = dir.join("higher.json");
    std::fs::write(&worse, serde_json::to_string(&rows).unwrap()).unwrap();
    let out = tempora(
        &with_tiny(&["check", TABLE1, "--baseline", worse.to_str().unwrap()]),
        dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    let line = |model: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{model} ")))
            .unwrap_or_else(|| panic!("no row for {model}:\n{stdout}"))
            .to_owned()
    };
    assert!(
        line("O-net").contains("FAIL: song accuracy dropped"),
        "{stdout}"
    );
    assert!(
        line("Time").contains("FAIL: parameter count changed: 1 →"),
        "{stdout}"
    );
    assert!(line("O-net + P-net").ends_with("ok"), "{stdout}");
}

fn export_cli(dir: &Path) -> PathBuf {
    let out = tempora(
        &with_tiny(&["export", TABLE1, "--model", "No-net", "--out", "x"]),
        dir,
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("no model `No-net`"),
        "{}",
        show(&out)
    );

    let out = tempora(
        &with_tiny(&["export", TABLE1, "--model", "O-net", "--out", "pkg"]),
        dir,
    );
    assert!(out.status.success(), "{}", show(&out));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pkg/package.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["model"], "O-net");
    assert_eq!(manifest["class_names"].as_array().unwrap().len(), 8);
    assert!(manifest["provenance"]["spec_hash"].as_str().unwrap().len() >= 16);
    dir.join("pkg")
}

fn predict_cli(dir: &Path, package: &Path) {
    let audio = dir.join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    write_wav(&audio.join("stereo-22k.wav"), 22_050, 2, 8.0);
    write_wav(&audio.join("short-44k.wav"), 44_100, 1, 2.0);
    let bad = dir.join("not-audio.wav");
    std::fs::write(&bad, "this is a text file").unwrap();
    let mut inputs = vec![audio.clone(), bad.clone()];
    // Without the fixtures (outside CI), `common::fixture` says why they are skipped.
    if let Some(clips) = fixture_clips() {
        inputs.extend(clips);
    }
    // The folder holds two files: as many good recordings as inputs.
    let n_ok = inputs.len();
    let args: Vec<&str> = ["predict", package.to_str().unwrap()]
        .into_iter()
        .chain(inputs.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let out = tempora(&args, dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("not-audio.wav"), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("stereo-22k.wav") && stdout.contains("short-44k.wav"),
        "{stdout}"
    );

    let mut json_args = args.clone();
    json_args.extend(["--format", "json", "--chunks"]);
    let out = tempora(&json_args, dir);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json parses");
    let predictions = value["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), n_ok, "{}", show(&out));
    for p in predictions {
        let probs: f64 = p["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((probs - 1.0).abs() < 1e-6, "{p}");
        assert!(!p["chunks"].as_array().unwrap().is_empty());
    }

    let mut csv_args = args.clone();
    csv_args.extend(["--format", "csv"]);
    let out = tempora(&csv_args, dir);
    let csv = text(&out.stdout);
    assert!(csv.starts_with("path,level,start_seconds,class,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + n_ok, "{csv}");
}

/// A copy of `package` whose manifest `edit` changed.
fn edited_package(
    dir: &Path,
    package: &Path,
    name: &str,
    edit: impl Fn(&mut serde_json::Value),
) -> PathBuf {
    let copy = dir.join(name);
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["package.json", "weights.safetensors"] {
        std::fs::copy(package.join(file), copy.join(file)).unwrap();
    }
    let path = copy.join("package.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    copy
}

fn bad_packages_cli(dir: &Path, package: &Path) {
    let clip = dir.join("audio/stereo-22k.wav");
    let clip = clip.to_str().unwrap();
    let future = edited_package(dir, package, "future", |m| {
        m["format"] = serde_json::json!(2)
    });
    let out = tempora(&["predict", future.to_str().unwrap(), clip], dir);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("package.json")
            && stderr.contains("package format 2, this tempora reads format 1"),
        "{stderr}"
    );
    let reshaped = edited_package(dir, package, "reshaped", |m| {
        m["tensors"][0]["shape"] = serde_json::json!([1, 2, 3]);
    });
    let out = tempora(&["predict", reshaped.to_str().unwrap(), clip], dir);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("weights.safetensors") && stderr.contains("the manifest says [1, 2, 3]"),
        "{stderr}"
    );
}

#[test]
fn tiny_models_check_export_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempora(&with_tiny(&["run", TABLE1]), dir.path());
    assert!(out.status.success(), "tempora run: {}", show(&out));
    check_cli(dir.path());
    let package = export_cli(dir.path());
    predict_cli(dir.path(), &package);
    pytorch_parity(dir.path(), &package);
    bad_packages_cli(dir.path(), &package);
}

/// The package's class probabilities from `tempora predict` and from the
/// PyTorch reference loading the same package on the same network input.
fn pytorch_parity(dir: &Path, package: &Path) {
    let importable = Command::new("python3")
        .args(["-c", "import torch, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !importable {
        common::skip("PyTorch parity: python3 cannot import torch and safetensors");
        return;
    }
    let clip = dir.join("parity.wav");
    write_wav(&clip, 22_050, 2, 20.0);
    let pkg = package.to_str().unwrap();
    let out = tempora(
        &[
            "predict",
            pkg,
            "parity.wav",
            "--format",
            "json",
            "--chunks",
            "--save-inputs",
            "inputs",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", show(&out));
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = &ours["predictions"][0];
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/pytorch_reference.py");
    let input = dir.join("inputs/parity.wav.input.safetensors");
    let out = Command::new("python3")
        .args([script, "package", "--package", pkg, "--input"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "pytorch_reference.py: {}", show(&out));
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let numbers = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let chunks = ours["chunks"].as_array().unwrap();
    let theirs_chunks = theirs["chunk_probabilities"].as_array().unwrap();
    assert_eq!(chunks.len(), theirs_chunks.len(), "chunk counts differ");
    let mut worst = 0.0f64;
    for (a, b) in std::iter::once((&ours["probabilities"], &theirs["probabilities"])).chain(
        chunks
            .iter()
            .map(|c| &c["probabilities"])
            .zip(theirs_chunks),
    ) {
        for (x, y) in numbers(a).iter().zip(numbers(b)) {
            worst = worst.max((x - y).abs());
        }
    }
    eprintln!(
        "PyTorch parity ({} chunks, torch {}): max |p_tempora - p_torch| = {worst:.2e}",
        chunks.len(),
        theirs["torch"]
    );
    assert!(worst < 1e-5, "probabilities differ by {worst:e}");
}
