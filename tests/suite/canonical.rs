//! `tempora datasets verify` on one-file copies of Ballroom and GTZAN made
//! from the real fixture clips (which the canonical indexes list): the clip
//! matches and the rest is missing; a changed byte makes it differ; a
//! re-encoded file under the same name differs rather than going missing;
//! a file no excerpt names is extra. Exit status 0 only for an exact copy.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::fixture;

const BIN: &str = env!("CARGO_BIN_EXE_tempora");

fn verify(dataset: &str) -> (Output, String) {
    let out = Command::new(BIN)
        .args(["datasets", "verify", dataset])
        .output()
        .expect("run tempora");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

/// The `  <what>: N` count of a verify report.
fn count(stdout: &str, what: &str) -> usize {
    let prefix = format!("  {what}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no '{what}' line in:\n{stdout}"));
    line.rsplit(": ").next().unwrap().trim().parse().unwrap()
}

fn counts(stdout: &str) -> [usize; 4] {
    ["matching", "missing", "differing", "extra"].map(|w| count(stdout, w))
}

fn copy_into(clip: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(clip, to).unwrap();
    let mut perms = std::fs::metadata(to).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(to, perms).unwrap();
}

#[test]
fn a_one_file_ballroom_copy_matches_once_and_misses_697() {
    let Some(clip) = fixture("audio/ballroom-waltz-Media-105901.wav") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("BallroomData/Waltz/Media-105901.wav");
    copy_into(&clip, &file);
    let dataset = format!("ballroom:{}", dir.path().display());
    let (out, stdout) = verify(&dataset);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(counts(&stdout), [1, 697, 0, 0], "{stdout}");
    assert!(
        stdout.contains("not the canonical Ballroom (1/698 checksums match; 697 missing"),
        "{stdout}"
    );

    // One byte changed: the file differs, and is named.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let (_, stdout) = verify(&dataset);
    assert_eq!(counts(&stdout), [0, 697, 1, 0], "{stdout}");
    assert!(stdout.contains("    Waltz/Media-105901.wav"), "{stdout}");

    // A file no excerpt names is extra.
    copy_into(&clip, &dir.path().join("BallroomData/Waltz/mine.wav"));
    let (_, stdout) = verify(&dataset);
    assert_eq!(counts(&stdout), [0, 697, 1, 1], "{stdout}");
}

#[test]
fn a_reencoded_gtzan_file_differs_and_is_not_missing() {
    let Some(clip) = fixture("audio/gtzan-country.00000.wav") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("genres/country/country.00000.wav");
    copy_into(&clip, &file);
    let dataset = format!("gtzan:{}", dir.path().display());
    let (out, stdout) = verify(&dataset);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(counts(&stdout), [1, 999, 0, 0], "{stdout}");

    // The same audio written again as 32-bit float: same name, other bytes.
    let mut reader = hound::WavReader::open(&clip).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let float = hound::WavSpec {
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
        ..spec
    };
    let mut writer = hound::WavWriter::create(&file, float).unwrap();
    for s in samples {
        writer.write_sample(f32::from(s) / 32768.0).unwrap();
    }
    writer.finalize().unwrap();
    let (_, stdout) = verify(&dataset);
    assert_eq!(counts(&stdout), [0, 999, 1, 0], "{stdout}");
}

#[test]
fn only_ballroom_and_gtzan_have_canonical_checksums() {
    let (out, _) = verify("synthetic:tiny");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("knows ballroom:/path and gtzan:/path"),
        "{stderr}"
    );
}
