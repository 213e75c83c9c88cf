//! SIGTERM and Ctrl-C (SIGINT) during a local `tempora run`: the
//! process exits at once with 128 + the signal's number, says which tasks
//! were interrupted and the command that resumes them, and a rerun
//! completes. (That the resumed results equal an uninterrupted run's is what
//! `just soak N TERM|INT` checks at random moments; `tests/suite/cli.rs` checks it
//! for kill -9 at chosen points.)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tempora");
const TABLE1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/table1.toml");

/// table1.toml with the tiny profile training `epochs` epochs, in `dir`.
fn spec(dir: &Path, epochs: usize) -> String {
    let text = std::fs::read_to_string(TABLE1).unwrap().replace(
        "epochs = 1\nhops = [250]",
        &format!("epochs = {epochs}\nhops = [250]"),
    );
    let path = dir.join("table1.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Whether a train task has started (its work directory exists).
fn training(cache: &Path) -> bool {
    std::fs::read_dir(cache.join("work/train")).is_ok_and(|mut d| d.next().is_some())
}

fn interrupt_once(signal: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), 15);
    let args = [
        "run",
        &spec,
        "--profile",
        "tiny",
        "-j",
        "2",
        "--cache",
        "cache",
    ];
    let child = Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !training(&dir.path().join("cache")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "training never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{signal}:\n{stderr}");
    let name = if signal == "INT" {
        "Ctrl-C (SIGINT)"
    } else {
        "SIGTERM"
    };
    assert!(
        stderr.contains(&format!("interrupted by {name}: ")),
        "{stderr}"
    );
    assert!(stderr.contains("stopped unfinished: train/"), "{stderr}");
    assert!(
        stderr.contains(&format!("Resume with: tempora run {spec} --profile tiny")),
        "{stderr}"
    );
    let rerun = Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
}

#[test]
fn sigterm_exits_143_naming_the_interrupted_tasks_and_a_rerun_completes() {
    interrupt_once("TERM", 143);
}

#[test]
fn ctrl_c_exits_130_naming_the_interrupted_tasks_and_a_rerun_completes() {
    interrupt_once("INT", 130);
}
