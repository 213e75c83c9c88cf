//! Peak resident memory of the `tempora` binary on real work, against bounds
//! (BENCHMARKS.md, Memory): the paper's features of the full synthetic corpus
//! (698 clips of 30 s); one epoch of O-net on that corpus at both hops over 3
//! folds (what sets the peak of `just reproduce` on a CPU: every normalised
//! spectrogram and chunk set in memory); Table 1's `tiny` profile end to end.
//!
//! Each child's peak comes from the kernel (`wait4`'s `ru_maxrss`), for that
//! process alone. The kernel carries a forked process's high-water mark over
//! its `exec`, so a child forked from this test binary (which holds every
//! other test's memory) would report at least this binary's size: the test
//! re-runs this binary as a small fresh process ([`measuring_child`]), which
//! starts `tempora` and reports its peak. The bounds are about twice the measured peaks: a regression
//! that holds every spectrogram or every clip's audio at once, or leaks per
//! task, exceeds them, while allocator and thread-count noise does not.

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tempora");

/// Features of `synthetic:full`: measured 41 MiB peak on 2 threads.
const FEATURES_4096_MIB: u64 = 96;
/// One epoch of O-net on `synthetic:full`, hops 250 and 80, 3 folds:
/// measured 319 MiB peak (`just reproduce` on a CPU: 343 MiB).
const FULL_CORPUS_RUN_BOUND_MIB: u64 = 640;
/// Table 1's `tiny` profile, 3 models × 3 folds: measured 51 MiB peak.
const TINY_RUN_BOUND_MIB: u64 = 128;

/// The full-corpus run: Table 1's features, chunks and O-net, one epoch.
const FULL_CORPUS_SPEC: &str = r#"
[experiment]
name = "memory"
dataset = "synthetic:full"
seed = 11

[protocol]
folds = 3
chunk_frames = 250
hops = [250, 80]
epochs = 1

[banks.O]
axis = "time"
lengths = { from = 6, to = 41, step = 5 }
filters_per_length = 5
pool = { freq = 4, time = "all" }

[[model]]
name = "O-net"
banks = { O = 1 }
"#;

/// Environment variable that turns this test binary into the measuring
/// process: it holds the `tempora` arguments, separated by `\x1f`.
const MEASURE_ENV: &str = "TEMPORA_MEMORY_TEST_ARGS";

/// Run by [`peak_rss_mib`] only, in a fresh process: starts `tempora` with
/// the arguments in [`MEASURE_ENV`] and prints `PEAK_KIB n`.
#[test]
fn measuring_child() {
    let Ok(joined) = std::env::var(MEASURE_ENV) else {
        return; // not the measuring process: nothing to do
    };
    let args: Vec<&str> = joined.split('\x1f').collect();
    let dir = std::env::current_dir().expect("working directory");
    println!("\nPEAK_KIB {}", peak_of_child_kib(&args, &dir));
}

/// Runs `tempora args…` in `dir` on 2 worker threads; returns its peak
/// resident memory in MiB, after checking that it succeeded (its stderr goes
/// to `dir/stderr.txt`, shown on failure).
fn peak_rss_mib(args: &[&str], dir: &Path) -> u64 {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "memory::measuring_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MEASURE_ENV, args.join("\x1f"))
        .current_dir(dir)
        .output()
        .expect("the measuring process starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kib: u64 = stdout
        .lines()
        .find_map(|l| l.split("PEAK_KIB ").nth(1))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no peak reported: {stdout}"));
    kib / 1024
}

/// `tempora args…` in `dir` as a child of this process: its peak resident
/// memory in KiB (`wait4`), after checking that it succeeded.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std does not know
fn peak_of_child_kib(args: &[&str], dir: &Path) -> u64 {
    let stderr_path = dir.join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let child = Command::new(BIN)
        .args(args)
        .args(["--jobs", "2"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("tempora starts");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which nothing else waits for; the
    // pointers are valid for the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "tempora {args:?} failed (wait status {status}): {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    // Linux reports ru_maxrss in KiB.
    u64::try_from(usage.ru_maxrss).expect("non-negative")
}

#[test]
fn features_of_the_full_corpus_stay_under_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let peak = peak_rss_mib(
        &["features", "synthetic:full", "--cache", "cache"],
        dir.path(),
    );
    eprintln!("features of synthetic:full: peak RSS {peak} MiB (bound {FEATURES_4096_MIB})");
    assert!(
        peak <= FEATURES_4096_MIB,
        "features of synthetic:full peaked at {peak} MiB, over the {FEATURES_4096_MIB} MiB bound"
    );
}

#[test]
fn a_run_on_the_full_corpus_stays_under_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("memory.toml"), FULL_CORPUS_SPEC).unwrap();
    let peak = peak_rss_mib(
        &["run", "memory.toml", "--device", "cpu", "--cache", "cache"],
        dir.path(),
    );
    eprintln!(
        "one O-net epoch on synthetic:full: peak RSS {peak} MiB (bound {FULL_CORPUS_RUN_BOUND_MIB})"
    );
    assert!(
        peak <= FULL_CORPUS_RUN_BOUND_MIB,
        "the full-corpus run peaked at {peak} MiB, over the {FULL_CORPUS_RUN_BOUND_MIB} MiB bound"
    );
}

#[test]
fn a_tiny_table1_run_stays_under_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/table1.toml");
    let spec = spec.to_str().expect("UTF-8 path");
    let peak = peak_rss_mib(
        &[
            "run",
            spec,
            "--profile",
            "tiny",
            "--device",
            "cpu",
            "--cache",
            "cache",
        ],
        dir.path(),
    );
    eprintln!("tiny Table 1 run: peak RSS {peak} MiB (bound {TINY_RUN_BOUND_MIB})");
    assert!(
        peak <= TINY_RUN_BOUND_MIB,
        "the tiny run peaked at {peak} MiB, over the {TINY_RUN_BOUND_MIB} MiB bound"
    );
}
