//! A cache on a full and on a read-only file system: one clear
//! error naming the path and the remedy, a non-zero exit, each cause printed
//! once per line, no published entry that is not valid, and after space is
//! freed a rerun that ends with the results of an undisturbed run.
//!
//! The file systems are small tmpfs mounts; where `mount` is refused (no
//! privilege, a container without it) the tests say SKIPPED and pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempora::exec::store::{Check, Probe, Store};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_tempora");
const TABLE1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/table1.toml");

/// A tmpfs mounted at a fresh folder, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts `size` (e.g. `2m`) at `dir`; `None` (after a SKIPPED line) when refused.
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            common::skip("cannot mount a tmpfs here (needs root and mount)");
            return None;
        }
        Some(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Remounts with new options (`size=64m`, `ro`).
    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

fn run_tiny(dir: &Path, cache: &Path, spec: &str) -> Output {
    Command::new(BIN)
        .args(["run", spec, "--profile", "tiny", "-j", "2", "--cache"])
        .arg(cache)
        .current_dir(dir)
        .output()
        .expect("run tempora")
}

/// No line of `stderr` says the same I/O error twice.
fn assert_causes_once(stderr: &str, cause: &str) {
    for line in stderr.lines() {
        assert!(
            line.matches(cause).count() <= 1,
            "repeated cause in: {line}"
        );
    }
}

/// Every published entry of the cache passes a full hash check.
fn assert_entries_valid(cache: &Path) {
    let store = Store::open(cache).unwrap();
    for (kind, key) in store.entries().unwrap() {
        let probe = store.probe(&kind, &key, Check::Hashes).unwrap();
        assert!(
            matches!(probe, Probe::Present(_)),
            "{kind}/{key}: {probe:?}"
        );
    }
}

/// Test metrics (wall-clock seconds removed) and weights of every train entry.
fn results(cache: &Path) -> BTreeMap<String, (String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(cache.join("train")).unwrap() {
        let dir = entry.unwrap().path();
        let mut test: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("test.json")).unwrap()).unwrap();
        test.as_object_mut().unwrap().remove("seconds");
        let weights = std::fs::read(dir.join("best.safetensors")).unwrap();
        let key = dir.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(key, (test.to_string(), weights));
    }
    out
}

#[test]
fn a_full_disk_fails_clearly_and_a_rerun_after_freeing_space_matches() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("small"), "1500k") else {
        return;
    };
    let cache = fs.dir.join("cache");
    let out = run_tiny(dir.path(), &cache, TABLE1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a full disk must fail the run:\n{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("the file system is full"), "{stderr}");
    assert!(stderr.contains(&*cache.to_string_lossy()), "{stderr}");
    assert_causes_once(&stderr, "No space left on device");
    assert_entries_valid(&cache);

    fs.remount("size=64m");
    let out = run_tiny(dir.path(), &cache, TABLE1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let undisturbed = dir.path().join("undisturbed");
    let out = run_tiny(dir.path(), &undisturbed, TABLE1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(results(&cache), results(&undisturbed));
}

#[test]
fn a_read_only_cache_fails_once_naming_the_path_and_the_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("ro"), "64m") else {
        return;
    };
    // A fresh cache on a read-only file system, then an existing one.
    fs.remount("ro");
    let fresh = fs.dir.join("cache");
    let out = run_tiny(dir.path(), &fresh, TABLE1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("read-only file system: pass --cache DIR"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_causes_once(&stderr, "Read-only file system");

    fs.remount("rw");
    let out = run_tiny(dir.path(), &fresh, TABLE1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs.remount("ro");
    // Two epochs: every train task is new.
    let spec = std::fs::read_to_string(TABLE1)
        .unwrap()
        .replace("epochs = 1\nhops = [250]", "epochs = 2\nhops = [250]");
    std::fs::write(dir.path().join("two.toml"), spec).unwrap();
    let out = run_tiny(dir.path(), &fresh, "two.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&*fresh.to_string_lossy()), "{stderr}");
    assert!(
        stderr.contains("read-only file system: pass --cache DIR"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_entries_valid(&fresh);
}
