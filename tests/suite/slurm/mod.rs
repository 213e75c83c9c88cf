//! The Slurm executor on a real Slurm (`scripts/slurm/start.sh` starts a
//! single-node one; CI does). Without a running Slurm each test prints
//! SKIPPED and passes, except under `CI=true`, where it fails.
//!
//! - The tiny profile on Slurm publishes the same keys and the same bytes as
//!   the local executor; on the way the watching process is killed with
//!   SIGKILL and a second `run` attaches without any new `sbatch` call.
//!   Compared: every file of every entry, except what carries wall-clock
//!   time — `manifest.json` (`started_unix`, `seconds`: its `inputs` and the
//!   outputs' hashes of the compared files are checked instead), train's
//!   `test.json` and `epochs.csv` (training seconds) and report's
//!   `report_input.json` (gathers those seconds).
//! - An unreadable audio file: its features task fails, only what depends
//!   on it is cancelled (every other track is published), the run exits
//!   non-zero naming the file, and no job of the run is left in the queue.
//!   Once the file is valid again, a rerun computes only what was missing:
//!   it runs as many tasks as had failed or been cancelled, and every entry
//!   published before keeps its directory.
//! - `tempora cancel` empties the queue; a rerun resumes.
//! - Faults ([`faults`]): the time-limit warning (`scancel --signal=USR2`)
//!   requeues a training that resumes from its checkpoint with the bytes of
//!   an uninterrupted run; a node set down and resumed: the requeued work
//!   completes.
//!
//! Layout: `support.rs` holds what the tests share.

mod faults;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use support::*;

#[test]
fn tiny_profile_on_slurm_gives_the_local_bytes_and_a_killed_watcher_reattaches() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_is_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (local, remote) = (d.join("local"), d.join("slurm"));
    let spec = [
        "run",
        "experiments/table1.toml",
        "--profile",
        "tiny",
        "--device",
        "cpu",
    ];
    let reports = d.join("reports");
    let common = |cache: &Path| {
        let mut a: Vec<String> = spec.iter().map(|s| s.to_string()).collect();
        a.extend(["--cache".into(), cache.display().to_string()]);
        a.extend(["--reports-dir".into(), reports.display().to_string()]);
        a
    };
    let clock = Instant::now();
    let args = common(&local);
    let out = tempora(&args.iter().map(String::as_str).collect::<Vec<_>>(), None)
        .output()
        .unwrap();
    assert!(out.status.success(), "local run: {}", show(&out));
    let local_s = clock.elapsed().as_secs_f64();

    let (bin, calls) = counting_sbatch(d);
    let cfg = settings(d);
    let mut args = common(&remote);
    args.extend(["--executor", "slurm", "--slurm-config"].map(String::from));
    args.push(cfg.display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let clock = Instant::now();
    let mut watcher = tempora(&argv, Some(&bin))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs = remote.join("slurm");
    wait_for("the submission record", 120, || {
        walk(&runs).iter().any(|p| p.ends_with("active"))
    });
    watcher.kill().unwrap(); // SIGKILL
    watcher.wait().unwrap();
    let submitted = lines(&calls);
    assert!(submitted > 0);
    let out = tempora(&argv, Some(&bin)).output().unwrap();
    let slurm_s = clock.elapsed().as_secs_f64();
    assert!(out.status.success(), "slurm run: {}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("attaching"), "{stderr}");
    assert_eq!(lines(&calls), submitted, "the second run submitted again");
    println!(
        "tiny profile: local {local_s:.1} s, slurm {slurm_s:.1} s (ratio {:.2}), {submitted} sbatch calls",
        slurm_s / local_s
    );

    let (a, b) = (entries(&local), entries(&remote));
    let keys = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b), "the same entries and files");
    for (name, bytes) in &a {
        assert!(&b[name] == bytes, "{name} differs between the executors");
    }
}

#[test]
fn an_unreadable_audio_file_cancels_only_its_dependents_and_a_rerun_computes_the_rest() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_is_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = d.join("corpus");
    let out = tempora(
        &[
            "datasets",
            "synth",
            "--size",
            "tiny",
            "--out",
            corpus.to_str().unwrap(),
        ],
        None,
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let wavs: Vec<PathBuf> = walk(&corpus)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    let bad = wavs.iter().min().unwrap().clone();
    let original = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, b"RIFF this is not audio").unwrap();
    let cache = d.join("cache");
    let data = format!("folder:{}", corpus.display());
    let cfg = settings(d);
    let run = || {
        tempora(
            &[
                "run",
                "experiments/table1.toml",
                "--profile",
                "tiny",
                "--device",
                "cpu",
                "--data",
                &data,
                "--cache",
                cache.to_str().unwrap(),
                "--reports-dir",
                d.join("reports").to_str().unwrap(),
                "--executor",
                "slurm",
                "--slurm-config",
                cfg.to_str().unwrap(),
            ],
            None,
        )
        .output()
        .unwrap()
    };
    let out = run();
    assert!(!out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let name = bad.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.contains(&*name),
        "the error names {name}: {}",
        show(&out)
    );
    let features = std::fs::read_dir(cache.join("features")).map_or(0, |r| r.count());
    assert_eq!(features, wavs.len() - 1, "every other track is published");
    let run_dir = walk(&cache.join("slurm"))
        .into_iter()
        .find(|p| p.ends_with("submission.json"))
        .unwrap();
    let jobs: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir).unwrap()).unwrap();
    let queue = Command::new("squeue")
        .args(["-h", "-o", "%F"])
        .output()
        .unwrap();
    let queue = String::from_utf8_lossy(&queue.stdout).to_string();
    for job in jobs["jobs"].as_array().unwrap() {
        let id = job.to_string();
        assert!(
            !queue.lines().any(|l| l.trim() == id),
            "job {job} left in the queue"
        );
    }

    // The file is valid again: the rerun runs what failed or was cancelled, nothing else.
    let missing = summary_count(&stderr, "failed") + summary_count(&stderr, "skipped");
    let published = entry_dirs(&cache);
    std::fs::write(&bad, original).unwrap();
    let out = run();
    assert!(out.status.success(), "rerun: {}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(to_run(&stderr), missing, "{}", show(&out));
    assert_eq!(
        summary_count(&stderr, "computed"),
        missing,
        "{}",
        show(&out)
    );
    for (entry, inode) in &published {
        assert_eq!(
            entry_dirs(&cache).get(entry),
            Some(inode),
            "{entry} was recomputed"
        );
    }
    let features = std::fs::read_dir(cache.join("features")).map_or(0, |r| r.count());
    assert_eq!(features, wavs.len());
}

#[test]
fn cancel_empties_the_queue_and_a_rerun_resumes() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_is_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = settings(d);
    let cache = d.join("cache");
    let spec: Vec<String> = [
        "experiments/table1.toml",
        "--profile",
        "tiny",
        "--cache",
        &cache.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let with = |first: &str, extra: &[&str]| {
        let mut a = vec![first.to_string()];
        a.extend(spec.iter().cloned());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run_args = with(
        "run",
        &[
            "--device",
            "cpu",
            "--reports-dir",
            &d.join("reports").display().to_string(),
            "--executor",
            "slurm",
            "--slurm-config",
            &cfg.display().to_string(),
        ],
    );
    fn argv(a: &[String]) -> Vec<&str> {
        a.iter().map(String::as_str).collect()
    }
    let mut detached = run_args.clone();
    detached.push("--detach".into());
    let out = tempora(&argv(&detached), None).output().unwrap();
    assert!(out.status.success(), "detached run: {}", show(&out));
    assert!(queued() > 0, "the detached run left jobs in the queue");

    let out = tempora(&argv(&with("cancel", &[])), None).output().unwrap();
    assert!(out.status.success(), "cancel: {}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cancelled Slurm jobs"),
        "{}",
        show(&out)
    );
    wait_for("an empty queue after cancel", 60, || queued() == 0);

    let out = tempora(&argv(&run_args), None).output().unwrap();
    assert!(out.status.success(), "rerun after cancel: {}", show(&out));
    assert_eq!(queued(), 0, "the rerun left jobs behind");
    let again = tempora(&argv(&with("run", &["--device", "cpu"])), None)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", show(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("\n0 to run"),
        "everything was computed after the cancel: {}",
        show(&again)
    );
}
