//! What the Slurm tests share: the `tempora` command, the site settings
//! they submit with, the check that a Slurm is running (or the skip), and
//! reading a cache's entries for byte comparisons.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tempora");

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One Slurm for the whole file: one test at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Files that carry wall-clock time, by kind.
pub const TIMED: [(&str, &str); 3] = [
    ("train", "test.json"),
    ("train", "epochs.csv"),
    ("report", "report_input.json"),
];

pub fn slurm_is_up() -> bool {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            let s = String::from_utf8_lossy(&o.stdout).to_string();
            o.status.success() && ["idle", "mixed", "allocated"].iter().any(|w| s.contains(w))
        });
    if !up {
        assert!(
            !crate::common::in_ci(),
            "CI is set but no Slurm is running (scripts/slurm/start.sh starts one)"
        );
        crate::common::skip(
            "no Slurm is running here (start one with sudo scripts/slurm/start.sh)",
        );
    }
    up
}

pub fn settings(dir: &Path) -> PathBuf {
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
pub fn tempora(args: &[&str], path_prefix: Option<&Path>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(ROOT);
    if let Some(p) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", p.display()));
    }
    cmd
}

pub fn show(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An `sbatch` on PATH that logs each call to `calls`, then runs the real one.
pub fn counting_sbatch(dir: &Path) -> (PathBuf, PathBuf) {
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

pub fn which(program: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

pub fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// kind/key/file → bytes of every compared file; manifests reduced to
/// their inputs and the hashes of compared outputs.
pub fn entries(cache: &Path) -> BTreeMap<String, Vec<u8>> {
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

pub fn manifest(bytes: &[u8], kind: &str) -> Vec<u8> {
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

pub fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
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

/// Jobs of this machine's queue (the tests own the local Slurm, one at a time).
pub fn queued() -> usize {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i"])
        .output()
        .unwrap();
    assert!(out.status.success(), "squeue: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// `kind/key` → inode of every published entry's directory (a recomputed
/// entry is a new directory renamed into place).
pub fn entry_dirs(cache: &Path) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt as _;
    let mut out = BTreeMap::new();
    for kind in ["features", "norm", "chunks", "train", "report"] {
        for key in std::fs::read_dir(cache.join(kind))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = format!("{kind}/{}", key.file_name().to_string_lossy());
            out.insert(name, key.metadata().unwrap().ino());
        }
    }
    out
}

/// N of `N to run`, the line `tempora run` prints after its plan table.
pub fn to_run(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_suffix(" to run")?.parse().ok())
        .unwrap_or_else(|| panic!("no `N to run` line in:\n{stderr}"))
}

/// N of `N WORD` in the summary line `… computed, … reused, … failed, … skipped in …`.
pub fn summary_count(stderr: &str, word: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.contains(" computed, ") && l.contains(" skipped in "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    line.split(", ")
        .find_map(|part| {
            let mut words = part.split_whitespace();
            let n = words.next()?.parse().ok()?;
            (words.next() == Some(word)).then_some(n)
        })
        .unwrap_or_else(|| panic!("no `N {word}` in {line:?}"))
}
