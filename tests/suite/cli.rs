//! The `tempora` binary end to end on the tiny profile of
//! `experiments/table1.toml`: `reproduce` writes the report (snapshotted with
//! timings, hashes and accuracies redacted) and reuses the cache; a run killed
//! with SIGKILL (during features, then mid-training) resumes to the same
//! results as an uninterrupted one — every output byte but wall-clock seconds
//! (`seconds` in `test.json`, the last column of `epochs.csv`); two
//! concurrent runs on one cache compute every task once; `gc` removes what
//! no plan refers to; `plan` estimates time only from the rate `calibrate`
//! saved.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tempora");
const TABLE1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/table1.toml");

/// The tiny profile's training settings as `experiments/table1.toml` writes them.
const TINY_EPOCHS: &str = "epochs = 1\nhops = [250]";

fn tempora(args: &[&str], dir: &Path) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tempora");
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A copy of table1.toml in `dir` whose tiny profile trains `epochs` epochs.
fn tiny_spec(dir: &Path, epochs: usize) -> PathBuf {
    let spec = std::fs::read_to_string(TABLE1).expect("read table1.toml");
    assert!(
        spec.contains(TINY_EPOCHS),
        "table1.toml's tiny profile changed; update this test"
    );
    let spec = spec.replace(TINY_EPOCHS, &format!("epochs = {epochs}\nhops = [250]"));
    let path = dir.join("table1.toml");
    std::fs::write(&path, spec).expect("write spec");
    path
}

/// What varies between machines and runs in `report.md`: hashes, device,
/// code version, timings, and our accuracies (bit-reproducible on one CPU, but
/// not promised across CPU models). insta filters, as in `tests/suite/report.rs`.
fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"content hash `[0-9a-f]+`", "content hash [hash]"),
        (
            r"\| (device|code version|spec hash|training time) \| [^\n]*\|",
            "| $1 | [redacted] |",
        ),
        (r"[−+]?\d+\.\d+ ± \d+\.\d+", "[acc ± std]"),
        // Findings verdicts follow the accuracies.
        (
            r"\| (holds|not shown|contradicted)[^|\n]* \|",
            "| [verdict] |",
        ),
        (r"`tempora (run|plan) \S*table1\.toml", "`tempora $1 [spec]"),
        (r"[−+]\d+\.\d+", "[Δ]"),
    ]
}

/// Starts `tempora args` in `dir`, stdout discarded.
fn spawn(args: &[impl AsRef<std::ffi::OsStr>], dir: &Path, stderr: Stdio) -> std::process::Child {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn tempora")
}

#[test]
fn an_ablation_reports_under_its_own_title_with_a_sweep_view() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/ablations/pooling.toml"
    );
    let out = tempora(
        &["run", spec, "--profile", "tiny", "--device", "cpu"],
        dir.path(),
    );
    assert_ok(&out, "pooling, tiny profile");
    let md = std::fs::read_to_string(dir.path().join("reports/pooling/report.md"))
        .expect("reports/pooling/report.md");
    assert!(md.starts_with("# Frequency pooling"), "{md}");
    for word in [
        "Table 1",
        "Marchand",
        "paper's columns",
        "#params paper",
        "Δ",
    ] {
        assert!(
            !md.contains(word),
            "`{word}` in the ablation's report:\n{md}"
        );
    }
    assert!(md.contains("### `*.pool.freq`, hop 250"), "{md}");
    assert!(md.contains("tempora run "), "names the full run: {md}");
}

#[test]
fn reproduce_tiny_writes_the_report_then_reuses_the_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = tiny_spec(dir.path(), 1);
    let args = [
        "reproduce",
        "--spec",
        spec.to_str().unwrap(),
        "--profile",
        "tiny",
        "--device",
        "cpu",
        "--jobs",
        "2",
    ];
    let first = tempora(&args, dir.path());
    assert_ok(&first, "first reproduce");
    let stdout = text(&first.stdout);
    assert!(
        stdout.starts_with("reproduce: profile `tiny` on the CPU"),
        "first line says what runs: {stdout}"
    );
    let report = dir.path().join("reports/table1");
    let mut files: Vec<String> = std::fs::read_dir(&report)
        .expect("report dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    insta::assert_snapshot!("tiny_report_files", files.join("\n"));
    let md = std::fs::read_to_string(report.join("report.md")).expect("report.md");
    insta::with_settings!({filters => redactions()}, {
        insta::assert_snapshot!("tiny_report_table1_md", md);
    });

    let second = tempora(&args, dir.path());
    assert_ok(&second, "second reproduce");
    assert!(
        text(&second.stderr).contains("\n0 to run"),
        "the second run computes nothing:\n{}",
        text(&second.stderr)
    );
    let again = std::fs::read_to_string(report.join("report.md")).expect("report.md");
    assert_eq!(
        md, again,
        "the report of a cached experiment is the same bytes"
    );
    let csv_first = std::fs::read(report.join("results.csv")).unwrap();
    let report_only = tempora(
        &[
            "report",
            spec.to_str().unwrap(),
            "--profile",
            "tiny",
            "--device",
            "cpu",
            "--quiet",
        ],
        dir.path(),
    );
    assert_ok(&report_only, "tempora report");
    assert_eq!(
        csv_first,
        std::fs::read(report.join("results.csv")).unwrap()
    );
}

/// `job_end` events of jobs whose id starts with `prefix`, over every run log.
fn finished_jobs(cache: &Path, prefix: &str) -> usize {
    let Ok(logs) = std::fs::read_dir(cache.join("logs")) else {
        return 0;
    };
    let id = format!("\"id\":\"{prefix}");
    logs.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .flat_map(|log| log.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| l.contains("\"job_end\"") && l.contains(&id))
        .count()
}

/// Starts `args` and sends SIGKILL as soon as one more `prefix` job has
/// finished; returns whether the process was still running then.
fn kill_after_next(args: &[String], dir: &Path, cache: &Path, prefix: &str) -> bool {
    let before = finished_jobs(cache, prefix);
    let mut child = spawn(args, dir, Stdio::null());
    let clock = Instant::now();
    while finished_jobs(cache, prefix) == before {
        assert!(
            clock.elapsed() < Duration::from_secs(300),
            "no {prefix} task finished in 5 min"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let interrupted = child.try_wait().unwrap().is_none();
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    interrupted
}

#[test]
fn a_killed_run_resumes_to_the_same_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = tiny_spec(dir.path(), 40);
    let spec = spec.to_str().unwrap();
    let run = |cache: &str| {
        [
            "run",
            spec,
            "--profile",
            "tiny",
            "--device",
            "cpu",
            "--jobs",
            "2",
            "--cache",
            cache,
        ]
        .map(str::to_owned)
    };

    // Kill -9 twice: during feature extraction, then mid-training.
    let killed_cache = dir.path().join("killed");
    assert!(
        kill_after_next(&run("killed"), dir.path(), &killed_cache, "features/"),
        "the first kill landed during features"
    );
    let features_done = finished_jobs(&killed_cache, "features/");
    assert!(
        features_done < 48,
        "{features_done} of 48 features done before the first kill"
    );
    let interrupted = kill_after_next(&run("killed"), dir.path(), &killed_cache, "train/");
    let done_before = common::train_outputs(&killed_cache).len();
    assert!(
        interrupted && done_before < 9,
        "the second kill landed before the end ({done_before} of 9 runs done)"
    );

    let status = tempora(
        &[
            "status",
            spec,
            "--profile",
            "tiny",
            "--device",
            "cpu",
            "--cache",
            "killed",
        ],
        dir.path(),
    );
    assert!(status.status.code().is_some(), "status runs after a crash");

    let resumed = tempora(&run("killed").each_ref().map(String::as_str), dir.path());
    assert_ok(&resumed, "resumed run");
    let clean = tempora(&run("clean").each_ref().map(String::as_str), dir.path());
    assert_ok(&clean, "uninterrupted run");

    let resumed = common::train_outputs(&killed_cache);
    let clean = common::train_outputs(&dir.path().join("clean"));
    assert_eq!(resumed.len(), 9);
    assert_eq!(
        resumed.keys().collect::<Vec<_>>(),
        clean.keys().collect::<Vec<_>>()
    );
    for (run, (metrics, epochs, weights)) in &clean {
        let (m, e, w) = &resumed[run];
        assert_eq!(m, metrics, "{run}: test metrics differ after resume");
        assert_eq!(e, epochs, "{run}: epoch metrics differ after resume");
        assert!(w == weights, "{run}: weights differ after resume");
    }

    let again = tempora(&run("killed").each_ref().map(String::as_str), dir.path());
    assert_ok(&again, "third run");
    assert!(
        text(&again.stderr).contains("\n0 to run"),
        "{}",
        text(&again.stderr)
    );
}

/// `job_end` outcomes per task id across the logs of a cache.
fn outcomes(cache: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(cache.join("logs")).expect("logs") {
        let log = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in log.lines() {
            let event: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            if event["event"] == "job_end" {
                let field = |k: &str| event[k].as_str().unwrap_or_default().to_owned();
                out.entry(field("id")).or_default().push(field("outcome"));
            }
        }
    }
    out
}

#[test]
fn two_concurrent_runs_compute_every_task_once_and_gc_cleans_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = tiny_spec(dir.path(), 3);
    let spec = spec.to_str().unwrap();
    let args = [
        "run",
        spec,
        "--profile",
        "tiny",
        "--device",
        "cpu",
        "--jobs",
        "1",
    ];
    let children: Vec<_> = (0..2)
        .map(|_| spawn(&args, dir.path(), Stdio::piped()))
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_ok(&out, "concurrent run");
    }
    let cache = dir.path().join("cache");
    let outcomes = outcomes(&cache);
    assert_eq!(
        outcomes.len(),
        65,
        "every task of the tiny plan ran or was reused: {outcomes:?}"
    );
    for (id, seen) in &outcomes {
        let computed = seen.iter().filter(|o| o.as_str() == "computed").count();
        assert_eq!(computed, 1, "{id} was computed {computed} times: {seen:?}");
    }

    // A changed protocol leaves the old train and report entries unreferenced.
    let changed = tiny_spec(dir.path(), 2);
    let rerun = tempora(
        &[
            "run",
            changed.to_str().unwrap(),
            "--profile",
            "tiny",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert_ok(&rerun, "run of the changed spec");
    let gc = tempora(&["gc", changed.to_str().unwrap()], dir.path());
    assert_ok(&gc, "gc");
    let entries = |kind: &str| std::fs::read_dir(cache.join(kind)).map_or(0, |d| d.count());
    assert_eq!(
        entries("train"),
        9,
        "gc keeps the current train entries only:\n{}",
        text(&gc.stdout)
    );
    assert_eq!(entries("features"), 48);
    let after = tempora(
        &[
            "run",
            changed.to_str().unwrap(),
            "--profile",
            "tiny",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert_ok(&after, "run after gc");
    assert!(
        text(&after.stderr).contains("\n0 to run"),
        "{}",
        text(&after.stderr)
    );
}

/// `plan` runs no kernel: without a calibration it prints the FLOPs and asks
/// for `tempora calibrate`; after `calibrate` it estimates the time from the
/// cached rate.
#[test]
fn plan_estimates_time_from_a_cached_calibration_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = ["plan", TABLE1, "--profile", "tiny", "--device", "cpu"];
    let before = tempora(&args, dir.path());
    assert_ok(&before, "plan without a calibration");
    let stdout = text(&before.stdout);
    assert!(stdout.contains("training to run: ≤ "), "{stdout}");
    assert!(
        stdout.contains("time on cpu: unknown; run `tempora calibrate` for a time estimate"),
        "{stdout}"
    );
    assert!(!dir.path().join("cache/calibration.json").exists());

    let calibrate = tempora(&["calibrate"], dir.path());
    assert_ok(&calibrate, "calibrate");
    let said = text(&calibrate.stdout);
    assert!(
        said.contains("GFLOP/s, measured with the fused filter-bank forward")
            && said.contains("calibration.json"),
        "{said}"
    );
    let saved = std::fs::read_to_string(dir.path().join("cache/calibration.json"))
        .expect("calibrate saves in the cache root");
    assert!(saved.contains("flops_per_second"), "{saved}");

    let after = tempora(&args, dir.path());
    assert_ok(&after, "plan with a calibration");
    let stdout = text(&after.stdout);
    assert!(
        stdout.contains("time on cpu ×") && stdout.contains("GFLOP/s (measured with the fused"),
        "{stdout}"
    );
}

/// `--gpu-jobs` takes a positive count, and only for the local executor: a
/// Slurm element decides from its node (one error line naming what to set).
#[test]
fn gpu_jobs_is_positive_and_local_only() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), 1);
    let spec = spec.to_string_lossy();
    let zero = tempora(&["run", &spec, "--gpu-jobs", "0"], dir.path());
    assert!(!zero.status.success());
    assert!(
        text(&zero.stderr).contains("--gpu-jobs"),
        "{}",
        text(&zero.stderr)
    );
    let slurm = tempora(
        &["run", &spec, "--executor", "slurm", "--gpu-jobs", "2"],
        dir.path(),
    );
    assert!(!slurm.status.success());
    let stderr = text(&slurm.stderr);
    assert!(
        stderr.contains("--gpu-jobs applies to `--executor local`"),
        "{stderr}"
    );
    assert!(stderr.contains("[kinds.train] shard"), "{stderr}");
}
