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

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tempora");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One Slurm for the whole file: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Files that carry wall-clock time, by kind.
const TIMED: [(&str, &str); 3] = [
    ("train", "test.json"),
    ("train", "epochs.csv"),
    ("report", "report_input.json"),
];

fn slurm_is_up() -> bool {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            let s = String::from_utf8_lossy(&o.stdout).to_string();
            o.status.success() && ["idle", "mixed", "allocated"].iter().any(|w| s.contains(w))
        });
    if !up {
        assert!(
            !common::in_ci(),
            "CI is set but no Slurm is running (scripts/slurm/start.sh starts one)"
        );
        common::skip("no Slurm is running here (start one with sudo scripts/slurm/start.sh)");
    }
    up
}

fn settings(dir: &Path) -> PathBuf {
    let path = dir.join("slurm.toml");
    let kinds: String = ["features", "norm", "chunks", "train", "report"]
        .iter()
        .map(|k| format!("[kinds.{k}]\ntime = \"20\"\ncpus = 1\nmemory = \"1500M\"\n"))
        .collect();
    let text = format!("account = \"\"\npartition = \"debug\"\npoll_seconds = 0.3\n{kinds}")
        .replace("[kinds.features]\n", "[kinds.features]\nshard = 16\n");
    std::fs::write(&path, text).unwrap();
    path
}

/// `tempora ARGS…` in the repository root, with `path_prefix` before PATH.
fn tempora(args: &[&str], path_prefix: Option<&Path>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(ROOT);
    if let Some(p) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", p.display()));
    }
    cmd
}

fn show(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An `sbatch` on PATH that logs each call to `calls`, then runs the real one.
fn counting_sbatch(dir: &Path) -> (PathBuf, PathBuf) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("sbatch-calls");
    let real = which("sbatch");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
        calls.display(),
        real.display()
    );
    let path = bin.join("sbatch");
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    (bin, calls)
}

fn which(program: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// kind/key/file → bytes of every compared file; manifests reduced to
/// their inputs and the hashes of compared outputs.
fn entries(cache: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for kind in ["features", "norm", "chunks", "train", "report"] {
        let Ok(keys) = std::fs::read_dir(cache.join(kind)) else {
            continue;
        };
        for key in keys.flatten() {
            let name = format!("{kind}/{}", key.file_name().to_string_lossy());
            for file in std::fs::read_dir(key.path()).unwrap().flatten() {
                let f = file.file_name().to_string_lossy().to_string();
                if TIMED.contains(&(kind, f.as_str())) || file.path().is_dir() {
                    continue;
                }
                let bytes = std::fs::read(file.path()).unwrap();
                let bytes = if f == "manifest.json" {
                    manifest(&bytes, kind)
                } else {
                    bytes
                };
                out.insert(format!("{name}/{f}"), bytes);
            }
        }
    }
    out
}

fn manifest(bytes: &[u8], kind: &str) -> Vec<u8> {
    let m: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let outputs: Vec<_> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !TIMED.contains(&(kind, o["path"].as_str().unwrap())))
        .cloned()
        .collect();
    serde_json::to_vec(&serde_json::json!({ "inputs": m["inputs"], "outputs": outputs })).unwrap()
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

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

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn an_unreadable_audio_file_cancels_only_its_dependents() {
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
    std::fs::write(&bad, b"RIFF this is not audio").unwrap();
    let cache = d.join("cache");
    let data = format!("folder:{}", corpus.display());
    let cfg = settings(d);
    let out = tempora(
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
            "--executor",
            "slurm",
            "--slurm-config",
            cfg.to_str().unwrap(),
        ],
        None,
    )
    .output()
    .unwrap();
    assert!(!out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = bad.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.contains(&*name),
        "the error names {name}: {}",
        show(&out)
    );
    let features = std::fs::read_dir(cache.join("features")).map_or(0, |r| r.count());
    assert_eq!(features, wavs.len() - 1, "every other track is published");
    let run = walk(&cache.join("slurm"))
        .into_iter()
        .find(|p| p.ends_with("submission.json"))
        .unwrap();
    let jobs: serde_json::Value = serde_json::from_slice(&std::fs::read(run).unwrap()).unwrap();
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
}

/// Jobs of this machine's queue (the tests own the local Slurm, one at a time).
fn queued() -> usize {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i"])
        .output()
        .unwrap();
    assert!(out.status.success(), "squeue: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).lines().count()
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
