//! The executor and cache store across processes: two processes racing for
//! one task compute it once, and the binary's cached features are reused,
//! verified, and recomputed when corrupt.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tempora::exec::store::{Check, Claim, Store};

/// Environment variable that turns this test binary into a claiming child.
const CHILD_ENV: &str = "TEMPORA_EXEC_TEST_CHILD_CACHE";

const KEY: &str = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

/// Run by the children of `two_processes_compute_a_task_once` only: claims the
/// task, "computes" slowly, publishes, and prints what it did.
#[test]
fn child_claims_one_task() {
    let Ok(cache) = std::env::var(CHILD_ENV) else {
        return; // not a child: nothing to do
    };
    let store = Store::open(Path::new(&cache)).expect("open the cache");
    match store.claim("features", KEY, Check::Hashes).expect("claim") {
        Claim::Todo(pending) => {
            std::thread::sleep(std::time::Duration::from_millis(300));
            std::fs::write(pending.dir().join("out"), b"same bytes").expect("write");
            pending.publish("child", BTreeMap::new()).expect("publish");
            println!("CHILD computed");
        }
        Claim::Done(_) => println!("CHILD reused"),
    }
}

#[test]
fn two_processes_compute_a_task_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "exec::child_claims_one_task",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, dir.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    let outputs: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("child ends");
            assert!(out.status.success(), "child failed");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect();
    let computed = outputs
        .iter()
        .filter(|o| o.contains("CHILD computed"))
        .count();
    let reused = outputs
        .iter()
        .filter(|o| o.contains("CHILD reused"))
        .count();
    assert_eq!((computed, reused), (1, 1), "{outputs:?}");
    let store = Store::open(dir.path()).expect("open");
    assert_eq!(
        store
            .read_output("features", KEY, "out")
            .expect("published"),
        b"same bytes"
    );
}

fn features(cache: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tempora"))
        .args(["features", "synthetic:tiny", "--jobs", "2", "--cache"])
        .arg(cache)
        .output()
        .expect("run tempora");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn cached_features_are_reused_and_a_corrupt_entry_is_recomputed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let first = features(&cache);
    assert!(
        first.contains("48 tracks") && first.contains("0 cache hits, 48 computed"),
        "{first}"
    );
    let second = features(&cache);
    assert!(second.contains("48 cache hits, 0 computed"), "{second}");

    let store = Store::open(&cache).expect("open");
    let (kind, key) = store
        .entries()
        .expect("entries")
        .into_iter()
        .next()
        .expect("an entry");
    let mel = store.entry_dir(&kind, &key).expect("dir").join("mel.f32");
    let mut bytes = std::fs::read(&mel).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&mel, &bytes).expect("corrupt one byte");
    let third = features(&cache);
    assert!(third.contains("47 cache hits, 1 computed"), "{third}");
    let fourth = features(&cache);
    assert!(fourth.contains("48 cache hits, 0 computed"), "{fourth}");
}
