//! Hostile `folder:` datasets: labels with spaces, unicode and
//! shell metacharacters go through a whole run; symlink loops, dangling
//! links, FIFOs and unreadable files are named in one error; a dataset of one
//! class, a class of one song, more classes than the spec says and one
//! recording under two labels each have a defined outcome; an unbalanced
//! dataset is warned about before training (naming the class and the folds)
//! and scored with balanced accuracy beside the paper's. See
//! docs/robustness.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempora::dataset::{folder, DatasetError};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_tempora");

/// Writes a 2 s, 8 kHz mono wav whose content depends on `seed`.
fn song(path: &Path, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    common::write_wav16(path, 1, 8_000, |w| {
        for i in 0..16_000u32 {
            let x = ((i * (seed + 3)) % 97) as i32 * 200 - 9_700;
            w.write_sample(x as i16).unwrap();
        }
    });
}

/// A folder dataset with `songs[c]` songs in class folder `classes[c]`.
fn tree(root: &Path, classes: &[&str], songs: &[usize]) {
    let mut seed = 0;
    for (class, &n) in classes.iter().zip(songs) {
        for i in 0..n {
            seed += 1;
            song(&root.join(class).join(format!("song {i}.wav")), seed);
        }
    }
}

/// A one-model spec over `folder:ROOT` with `classes` classes, 3 folds, 1 epoch.
fn spec(dir: &Path, root: &Path, classes: usize) -> PathBuf {
    let text = format!(
        r#"[experiment]
name = "hostile"
dataset = "folder:{}"

[protocol]
folds = 3
classes = {classes}
epochs = 1
batch = 4
chunk_frames = 10
hops = [10]

[banks.O]
axis = "time"
lengths = [3]
filters_per_length = 2

[[model]]
name = "O-net"
banks = {{ O = 1 }}
"#,
        root.display()
    );
    let path = dir.join("hostile.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn tempora(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tempora")
}

/// `tempora plan` of `spec` with a cache in `dir`: (exit code, stderr).
fn plan(dir: &Path, spec: &Path) -> (i32, String) {
    let out = tempora(dir, &["plan", spec.to_str().unwrap(), "--cache", "cache"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

const ODD_LABELS: [&str; 4] = [
    "Cha Cha Cha",
    "Ünïcödé 舞曲",
    "$(touch pwned); `touch pwned2` 'q' \"d\" | & > *",
    "a,b;c\ttab",
];

#[test]
fn labels_with_spaces_unicode_and_shell_metacharacters_run_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &ODD_LABELS, &[2, 2, 2, 2]);
    let dataset = folder::load(&root, "odd".into()).unwrap();
    let mut sorted = ODD_LABELS.map(str::to_owned).to_vec();
    sorted.sort();
    assert_eq!(dataset.classes, sorted);
    let spec = spec(dir.path(), &root, 4);
    let out = tempora(
        dir.path(),
        &["run", spec.to_str().unwrap(), "--cache", "cache", "-j", "2"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
    assert!(dir.path().join("reports/hostile").is_dir(), "{stderr}");
}

#[test]
fn symlink_loops_dangling_links_and_fifos_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &["A", "B"], &[2, 2]);
    let load = || folder::load(&root, "x".into()).unwrap_err();

    let loop_link = root.join("A/back");
    std::os::unix::fs::symlink(root.join("A"), &loop_link).unwrap();
    let err = load();
    assert!(matches!(err, DatasetError::SymlinkLoop { .. }), "{err}");
    assert!(
        err.to_string().contains(&*loop_link.to_string_lossy()),
        "{err}"
    );
    std::fs::remove_file(&loop_link).unwrap();

    let own = root.join("A/self.wav");
    std::os::unix::fs::symlink(&own, &own).unwrap();
    let err = load();
    assert!(matches!(err, DatasetError::Io { .. }), "{err}");
    assert!(err.to_string().contains("self.wav"), "{err}");
    std::fs::remove_file(&own).unwrap();

    let dangling = root.join("B/gone.wav");
    std::os::unix::fs::symlink(dir.path().join("nowhere.wav"), &dangling).unwrap();
    let err = load();
    assert!(err.to_string().contains("gone.wav"), "{err}");
    assert!(
        err.to_string().contains("remove it from the dataset"),
        "{err}"
    );
    std::fs::remove_file(&dangling).unwrap();

    let fifo = root.join("B/pipe.wav");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let err = load();
        assert!(matches!(err, DatasetError::NotAFile { .. }), "{err}");
        std::fs::remove_file(&fifo).unwrap();
    } else {
        common::skip("mkfifo is not available");
    }
    folder::load(&root, "x".into()).unwrap();
}

#[test]
fn a_file_that_fails_to_read_is_named_with_its_track() {
    // Reading /proc/self/mem at offset 0 fails (EIO) even for the superuser:
    // an unreadable file that permissions cannot produce when tests run as root.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &["A", "B"], &[2, 2]);
    std::os::unix::fs::symlink("/proc/self/mem", root.join("B/broken.wav")).unwrap();
    let (code, stderr) = plan(dir.path(), &spec(dir.path(), &root, 2));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("track B/broken: cannot read") && stderr.contains("broken.wav"),
        "{stderr}"
    );
    assert!(stderr.contains("remove it from the dataset"), "{stderr}");
}

#[test]
fn an_unreadable_file_is_named_with_its_track() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &["A", "B"], &[2, 2]);
    let locked = root.join("B/song 1.wav");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        // The superuser reads any file whatever its permissions.
        common::skip("running as root: permissions cannot make a file unreadable");
        return;
    }
    let (code, stderr) = plan(dir.path(), &spec(dir.path(), &root, 2));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("song 1.wav") && stderr.contains("B/song 1"),
        "{stderr}"
    );
}

#[test]
fn one_class_is_refused_and_more_classes_than_the_spec_says_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("one");
    tree(&root, &["Solo"], &[4]);
    let (code, stderr) = plan(dir.path(), &spec(dir.path(), &root, 2));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("single class (Solo)"), "{stderr}");

    let root = dir.path().join("three");
    tree(&root, &["A", "B", "C"], &[2, 2, 2]);
    let (code, stderr) = plan(dir.path(), &spec(dir.path(), &root, 2));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("has 3 classes but the spec says classes = 2; set [protocol] classes = 3"),
        "{stderr}"
    );
}

#[test]
fn a_class_with_one_song_plans() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &["A", "B", "C"], &[3, 3, 1]);
    let (code, stderr) = plan(dir.path(), &spec(dir.path(), &root, 3));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(untested_folds(&stderr, "C").len(), 2, "{stderr}");
}

#[test]
fn one_recording_under_two_labels_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &["A", "B"], &[2, 2]);
    std::fs::copy(root.join("A/song 0.wav"), root.join("B/copy.wav")).unwrap();
    // A copy under the same label is allowed.
    std::fs::copy(root.join("A/song 0.wav"), root.join("A/again.wav")).unwrap();
    let (code, stderr) = plan(dir.path(), &spec(dir.path(), &root, 2));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("'A/") && stderr.contains("'B/copy'") && stderr.contains("two labels"),
        "{stderr}"
    );
}

/// The folds of the one test block that holds a class's only song, from the
/// warning's own words: `folds a, b will not test it`.
fn untested_folds(stderr: &str, class: &str) -> Vec<usize> {
    let head = format!("warning: class '{class}' has 1 song for 3 folds: folds ");
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no one-song warning for {class}:\n{stderr}"));
    line[head.len()..]
        .trim_end_matches(" will not test it")
        .split(", ")
        .map(|f| f.parse().unwrap())
        .collect()
}

/// Mean per-class recall of a `[true][predicted]` confusion matrix, over the
/// classes with test songs.
fn mean_recall(confusion: &[Vec<u64>]) -> f64 {
    let recalls: Vec<f64> = confusion
        .iter()
        .enumerate()
        .filter(|(_, row)| row.iter().sum::<u64>() > 0)
        .map(|(c, row)| row[c] as f64 / row.iter().sum::<u64>() as f64)
        .collect();
    recalls.iter().sum::<f64>() / recalls.len() as f64
}

#[test]
fn an_unbalanced_dataset_is_warned_about_once_and_scored_balanced() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &["A", "B", "C"], &[12, 1, 10]);
    let spec = spec(dir.path(), &root, 3);
    let out = tempora(
        dir.path(),
        &["run", spec.to_str().unwrap(), "--cache", "cache", "-j", "2"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let untested = untested_folds(&stderr, "B");
    assert_eq!(untested.len(), 2, "{stderr}");
    assert_eq!(
        stderr.matches("has 1 song for 3 folds").count(),
        1,
        "once: {stderr}"
    );
    assert!(
        stderr.contains("warning: class 'B' has fewer than 2 training songs in folds 0, 1, 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: classes are unbalanced: 'A' has 12 songs, 'B' 1 (ratio 12.0"),
        "{stderr}"
    );
    // The fold that tests B is the one the warning leaves out; its test.json says so.
    let mut recalls = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir.path().join("cache/train")).unwrap() {
        let test: serde_json::Value = serde_json::from_slice(
            &std::fs::read(entry.unwrap().path().join("test.json")).unwrap(),
        )
        .unwrap();
        let fold = test["fold"].as_u64().unwrap() as usize;
        let confusion: Vec<Vec<u64>> = serde_json::from_value(test["confusion"].clone()).unwrap();
        let b_songs: u64 = confusion[1].iter().sum();
        assert_eq!(
            b_songs > 0,
            !untested.contains(&fold),
            "fold {fold}: {confusion:?}"
        );
        recalls.insert(fold, mean_recall(&confusion));
    }
    // results.csv: balanced accuracy beside the paper's accuracy, per fold.
    let csv = std::fs::read_to_string(dir.path().join("reports/hostile/results.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (fold, balanced) = (column("fold"), column("balanced_song_accuracy"));
    assert_eq!(balanced, column("song_accuracy") + 1, "{header:?}");
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let f: usize = cells[fold].parse().unwrap();
        let value: f64 = cells[balanced].parse().unwrap();
        assert!(
            (value - recalls[&f]).abs() < 1e-12,
            "fold {f}: {value} vs {}",
            recalls[&f]
        );
    }
    let summary = std::fs::read_to_string(dir.path().join("reports/hostile/summary.csv")).unwrap();
    assert!(summary
        .lines()
        .next()
        .unwrap()
        .contains("balanced_song_accuracy_mean"));
}
