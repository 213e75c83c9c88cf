//! A training interrupted on Slurm resumes from its checkpoint and ends with
//! the bytes of an uninterrupted local run:
//!
//! - the time-limit warning, sent by hand (`scancel --batch --signal=USR2`,
//!   what `--signal=B:USR2@…` makes Slurm do): the batch script passes it on,
//!   the worker stops after its next epoch checkpoint and the script requeues
//!   the element;
//! - the node set down (`scontrol update state=down`): Slurm 22.05 kills the
//!   running element (`NODE_FAIL`) and, as it was submitted with `--requeue`,
//!   puts it back in the queue; once the node is resumed it runs again.
//!
//! Slurm holds a requeued job until its credentials expire (`AuthInfo`
//! `cred_expire` + 1 s, 121 s by default, the job's reason is `BeginTime`);
//! the tests lift that hold (`scontrol update starttime=now`) so they take
//! seconds, not minutes. Not at once: slurmd refuses a credential issued in
//! the same second as the revocation of the element's previous one ("Job
//! credential revoked"; the element then fails with exit code 1), so the
//! tests wait [`REVOCATION_SECONDS`] first. (`starttime=now+2` would also do,
//! but the scheduler only looks again at its next pass, up to a minute.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::*;

/// Epochs of the interrupted training: enough that it is still running
/// when the signal or the node failure arrives.
const EPOCHS: usize = 40;

/// Seconds between seeing a requeued element held and lifting the hold: its
/// new credential must be issued in a later second than the revocation.
const REVOCATION_SECONDS: u64 = 2;

/// The tiny profile cut to one model, trained for [`EPOCHS`] epochs.
fn long_training_spec(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(ROOT).join("experiments/table1.toml")).unwrap();
    let tiny = "epochs = 1\nhops = [250]\nmodels = [\"O-net\", \"O-net + P-net\", \"Time\"]";
    assert!(
        text.contains(tiny),
        "the tiny profile changed: update this test"
    );
    let one = format!("epochs = {EPOCHS}\nhops = [250]\nmodels = [\"O-net + P-net\"]");
    let path = dir.join("long.toml");
    std::fs::write(&path, text.replace(tiny, &one)).unwrap();
    path
}

/// `run SPEC --profile tiny --folds 0` into `cache`, plus `extra`.
fn run_args(spec: &Path, cache: &Path, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["run", &spec.to_string_lossy(), "--profile", "tiny"]
        .map(String::from)
        .to_vec();
    args.extend(["--folds", "0", "--device", "cpu", "--cache"].map(String::from));
    args.push(cache.display().to_string());
    args.extend(extra.iter().cloned());
    args
}

fn argv(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The event file of the training task, once the run has one.
fn train_events(cache: &Path) -> Option<PathBuf> {
    walk(&cache.join("slurm")).into_iter().find(|p| {
        p.parent().is_some_and(|d| d.ends_with("events"))
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("train"))
    })
}

/// How many `event` lines of kind `kind` the file holds.
fn events(path: &Path, kind: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let tag = format!("\"event\":\"{kind}\"");
    text.lines().filter(|l| l.contains(&tag)).count()
}

/// `(id, state, reason)` of the training element in the queue, if there.
fn train_element() -> Option<(String, String, String)> {
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i|%j|%T|%r"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let f: Vec<&str> = l.trim().split('|').collect();
        (f.len() == 4 && f[1].contains(":train")).then(|| (f[0].into(), f[2].into(), f[3].into()))
    })
}

/// Epochs done in the training's checkpoint (0 when it has none).
fn checkpointed_epochs(cache: &Path) -> usize {
    let state = walk(&cache.join("work"))
        .into_iter()
        .find(|p| p.ends_with("checkpoint/state.json"));
    state.map_or(0, |p| {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        json["epochs_done"].as_u64().unwrap_or(0) as usize
    })
}

fn scontrol(args: &[&str]) -> bool {
    Command::new("scontrol")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits for the training element to be back in the queue and held until
/// its begin time (first `PENDING` with reason `None`, then `BeginTime`).
fn wait_until_held(id: &str) {
    wait_for("the element requeued and held", 120, || {
        train_element().is_some_and(|(i, state, reason)| {
            i == id && state == "PENDING" && reason == "BeginTime"
        })
    });
}

/// Waits for `child` to end (killing it after `secs`); its status and what it
/// wrote to `out` and `err` (files, so a full pipe cannot stall it).
fn finish(mut child: Child, secs: u64, out: &Path, err: &Path) -> (bool, String) {
    let end = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let ok = child.wait().unwrap().success();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (
        ok,
        format!("stdout:\n{}\nstderr:\n{}", read(out), read(err)),
    )
}

/// Resumes this node when dropped, so a failing test leaves Slurm usable.
struct NodeBack(String);

impl Drop for NodeBack {
    fn drop(&mut self) {
        let _ = Command::new("scontrol")
            .args(["update", &format!("nodename={}", self.0), "state=resume"])
            .stderr(Stdio::null())
            .status();
    }
}

fn hostname() -> String {
    let out = Command::new("hostname").arg("-s").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs the long training locally and on Slurm, calling `interrupt` with the
/// training element's id once it has saved its first checkpoint; the Slurm
/// run must succeed with the local bytes after running the training twice.
fn interrupted_training_resumes(interrupt: impl FnOnce(&str)) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let spec = long_training_spec(&dir);
    let (local, remote) = (dir.join("local"), dir.join("slurm"));
    let out = tempora(&argv(&run_args(&spec, &local, &[])), None)
        .output()
        .unwrap();
    assert!(out.status.success(), "local run: {}", show(&out));

    let cfg = settings(&dir).display().to_string();
    let slurm = [
        "--executor".into(),
        "slurm".into(),
        "--slurm-config".into(),
        cfg,
    ];
    let (out, err) = (dir.join("watcher.out"), dir.join("watcher.err"));
    let watcher = tempora(&argv(&run_args(&spec, &remote, &slurm)), None)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut file = None;
    wait_for("the training's first epoch", 120, || {
        file = train_events(&remote);
        file.as_ref().is_some_and(|f| events(f, "progress") > 0)
    });
    let file = file.unwrap();
    let (id, state, _) = train_element().expect("the training element is queued");
    assert_eq!(state, "RUNNING");
    interrupt(&id);
    wait_until_held(&id);
    let saved = checkpointed_epochs(&remote);
    assert!(
        (1..EPOCHS).contains(&saved),
        "the requeued training has a checkpoint to resume from ({saved} epochs)"
    );
    std::thread::sleep(Duration::from_secs(REVOCATION_SECONDS));
    assert!(scontrol(&[
        "update",
        &format!("jobid={id}"),
        "starttime=now"
    ]));
    let (ok, output) = finish(watcher, 300, &out, &err);
    assert!(ok, "slurm run: {output}");
    assert_eq!(events(&file, "started"), 2, "the training ran twice");
    let (a, b) = (entries(&local), entries(&remote));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(
            &b[name] == bytes,
            "{name} differs from the uninterrupted run"
        );
    }
    dir
}

#[test]
fn the_time_limit_warning_requeues_a_training_that_resumes_with_the_same_bytes() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_is_up() {
        return;
    }
    let dir = interrupted_training_resumes(|id| {
        let ok = Command::new("scancel")
            .args(["--batch", "--signal=USR2", id])
            .status()
            .unwrap();
        assert!(ok.success(), "scancel --signal=USR2 {id}");
    });
    let log = walk(&dir.join("slurm/slurm"))
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("train"))
                && p.extension().is_some_and(|e| e == "out")
        })
        .expect("the training element's output file");
    let text = std::fs::read_to_string(log).unwrap();
    assert!(
        text.contains("requeueing after the time-limit warning"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_node_set_down_and_resumed_completes_the_requeued_work() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_is_up() {
        return;
    }
    let node = NodeBack(hostname());
    let dir = interrupted_training_resumes(|_| {
        let name = format!("nodename={}", node.0);
        assert!(scontrol(&[
            "update",
            &name,
            "state=down",
            "reason=tempora-test"
        ]));
        // With ReturnToService=2 the node may already be back; resume it otherwise.
        let _ = Command::new("scontrol")
            .args(["update", &name, "state=resume"])
            .stderr(Stdio::null())
            .status();
    });
    drop(node);
    let _ = std::fs::remove_dir_all(dir);
}
