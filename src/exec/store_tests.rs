//! Unit tests of the cache store: atomic publish, corrupt-entry detection,
//! incomplete markers and lock contention between threads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use super::*;

fn key(n: u8) -> String {
    blake3::hash(&[n]).to_hex().to_string()
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("cache")).expect("open store");
    (dir, store)
}

fn todo(claim: Claim) -> Pending {
    match claim {
        Claim::Todo(p) => p,
        Claim::Done(m) => panic!("expected work to do, found entry {}", m.key),
    }
}

fn publish_one(store: &Store, k: &str, content: &[u8]) -> Manifest {
    let pending = todo(store.claim("features", k, Check::Hashes).expect("claim"));
    fs::write(pending.dir().join("mel.f32"), content).expect("write output");
    pending
        .publish("features t1", BTreeMap::new())
        .expect("publish")
}

#[test]
fn publish_then_probe_finds_every_output_with_its_hash() {
    let (_tmp, store) = store();
    let k = key(1);
    assert_eq!(
        store.probe("features", &k, Check::Hashes).expect("probe"),
        Probe::Missing
    );
    let manifest = publish_one(&store, &k, b"abc");
    assert_eq!(manifest.outputs.len(), 1);
    assert_eq!(manifest.outputs[0].path, "mel.f32");
    assert_eq!(
        manifest.outputs[0].blake3,
        blake3::hash(b"abc").to_hex().to_string()
    );
    assert_eq!(
        store.probe("features", &k, Check::Hashes).expect("probe"),
        Probe::Present(manifest)
    );
    assert_eq!(
        store.read_output("features", &k, "mel.f32").expect("read"),
        b"abc"
    );
    assert!(!store.is_incomplete("features", &k));
    assert_eq!(
        store.entries().expect("entries"),
        vec![("features".into(), k)]
    );
}

#[test]
fn nothing_is_visible_before_publish_and_an_abandoned_claim_resumes() {
    let (_tmp, store) = store();
    let k = key(2);
    let pending = todo(store.claim("train", &k, Check::Hashes).expect("claim"));
    assert!(!pending.resumed());
    fs::write(pending.dir().join("checkpoint.bin"), b"epoch 3").expect("write");
    assert_eq!(
        store.probe("train", &k, Check::Sizes).expect("probe"),
        Probe::Missing
    );
    drop(pending); // as if the process died
    assert!(store.is_incomplete("train", &k));
    assert_eq!(
        store.probe("train", &k, Check::Sizes).expect("probe"),
        Probe::Missing
    );
    let again = todo(store.claim("train", &k, Check::Hashes).expect("claim"));
    assert!(again.resumed());
    assert_eq!(
        fs::read(again.dir().join("checkpoint.bin")).expect("checkpoint kept"),
        b"epoch 3"
    );
}

#[test]
fn a_flipped_byte_is_found_by_hashes_and_a_truncation_by_sizes() {
    let (_tmp, store) = store();
    let k = key(3);
    publish_one(&store, &k, b"0123456789");
    let file = store
        .entry_dir("features", &k)
        .expect("dir")
        .join("mel.f32");
    fs::write(&file, b"0123456780").expect("flip");
    assert!(matches!(
        store.probe("features", &k, Check::Sizes).expect("probe"),
        Probe::Present(_)
    ));
    assert!(matches!(
        store.probe("features", &k, Check::Hashes).expect("probe"),
        Probe::Corrupt(Corruption::Hash { .. })
    ));
    fs::write(&file, b"01234").expect("truncate");
    assert!(matches!(
        store.probe("features", &k, Check::Sizes).expect("probe"),
        Probe::Corrupt(Corruption::Size {
            expected: 10,
            actual: 5,
            ..
        })
    ));
}

#[test]
fn a_corrupt_entry_is_never_read_and_is_recomputed() {
    let (_tmp, store) = store();
    let k = key(4);
    publish_one(&store, &k, b"good bytes");
    let dir = store.entry_dir("features", &k).expect("dir");
    fs::write(dir.join("mel.f32"), b"evil bytes").expect("corrupt");
    let err = store.read_output("features", &k, "mel.f32").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(!dir.exists(), "the corrupt entry is moved aside");
    let fixed = publish_one(&store, &k, b"good bytes");
    assert_eq!(
        store.read_output("features", &k, "mel.f32").expect("read"),
        b"good bytes"
    );
    assert_eq!(fixed.outputs[0].bytes, 10);
}

#[test]
fn a_garbled_manifest_is_corrupt_and_claim_recomputes() {
    let (_tmp, store) = store();
    let k = key(5);
    publish_one(&store, &k, b"x");
    let dir = store.entry_dir("features", &k).expect("dir");
    fs::write(dir.join(MANIFEST_FILE), b"{ not json").expect("garble");
    assert!(matches!(
        store.probe("features", &k, Check::Sizes).expect("probe"),
        Probe::Corrupt(Corruption::Manifest(_))
    ));
    todo(store.claim("features", &k, Check::Sizes).expect("claim"));
}

#[test]
fn names_that_could_escape_the_cache_are_refused() {
    let (_tmp, store) = store();
    assert!(store.entry_dir("../etc", &key(0)).is_err());
    assert!(store.entry_dir("features", "../../x").is_err());
    assert!(store.entry_dir("Features", &key(0)).is_err());
}

/// Two threads race for the same task: exactly one computes it, the other
/// waits on the lock and then finds the published entry.
#[test]
fn two_claimants_compute_a_task_once() {
    let (_tmp, store) = store();
    let k = key(6);
    let computed = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (store, k, computed, start) =
                (store.clone(), k.clone(), computed.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                match store.claim("features", &k, Check::Hashes).expect("claim") {
                    Claim::Todo(p) => {
                        computed.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        fs::write(p.dir().join("out"), b"same").expect("write");
                        p.publish("t", BTreeMap::new()).expect("publish")
                    }
                    Claim::Done(m) => m,
                }
            })
        })
        .collect();
    let manifests: Vec<Manifest> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    assert_eq!(manifests[0], manifests[1]);
}

#[test]
fn a_held_lock_shows_as_running() {
    let (_tmp, store) = store();
    let k = key(7);
    assert!(!store.is_running("train", &k).expect("probe lock"));
    let pending = todo(store.claim("train", &k, Check::Sizes).expect("claim"));
    assert!(store.is_running("train", &k).expect("probe lock"));
    assert!(store.try_lock("train", &k).expect("try").is_none());
    drop(pending);
    assert!(!store.is_running("train", &k).expect("probe lock"));
}

/// A process that ignores locks (another machine on a file system without
/// them) may publish the same key while this one computes: its valid entry
/// is kept, and this work directory is discarded.
#[test]
fn publishing_never_replaces_a_valid_entry_published_meanwhile() {
    let (_tmp, store) = store();
    let (_other_tmp, other) = self::store();
    let k = key(9);
    let theirs = publish_one(&other, &k, b"theirs");
    let pending = todo(store.claim("features", &k, Check::Hashes).expect("claim"));
    fs::write(pending.dir().join("mel.f32"), b"ours").expect("write");
    // The other publisher's entry lands in this cache under our feet.
    let from = other.entry_dir("features", &k).expect("dir");
    let to = store.entry_dir("features", &k).expect("dir");
    fs::create_dir_all(to.parent().expect("kind dir")).expect("mkdir");
    fs::rename(&from, &to).expect("move the entry in");
    let kept = pending
        .publish("features t9", BTreeMap::new())
        .expect("publish");
    assert_eq!(kept, theirs);
    assert_eq!(
        store.read_output("features", &k, "mel.f32").expect("read"),
        b"theirs"
    );
    assert!(store.incomplete_entries().expect("work").is_empty());
}
