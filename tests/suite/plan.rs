//! The planner against real specs: the expanded plan of
//! `experiments/table1.toml` (snapshot), exactly which tasks a changed spec
//! field invalidates, why (old → new values), and keys free of paths.
//!
//! The dataset is built here (698 tracks, Ballroom's size) so the plan does
//! not depend on decoding audio or on the dataset generator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tempora::dataset::{Dataset, SyntheticClip, Track, TrackSource};
use tempora::exec::store::{Check, Store};
use tempora::plan::{
    build, freshness, DeviceClass, Freshness, PlanOptions, PlanRecord, StaleReason, TaskGraph,
    TaskKind, TaskParams,
};
use tempora::spec::{self, Experiment};

const CLASSES: [&str; 8] = [
    "ChaChaCha",
    "Jive",
    "Quickstep",
    "Rumba",
    "Samba",
    "Tango",
    "VienneseWaltz",
    "Waltz",
];

/// Ballroom's song count.
const SONGS: usize = 698;

fn table1() -> Experiment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/table1.toml");
    spec::load(&path, None).expect("table1.toml expands")
}

fn synthetic_dataset(songs: usize) -> (Dataset, Vec<String>) {
    let tracks: Vec<Track> = (0..songs)
        .map(|i| Track {
            id: format!("{}/clip-{i:03}", CLASSES[i % 8]),
            label: i % 8,
            source: TrackSource::Synthetic(SyntheticClip {
                seed: i as u64,
                class: i % 8,
                index: i / 8,
                seconds: 30.0,
            }),
        })
        .collect();
    let hashes = (0..songs)
        .map(|i| blake3::hash(&(i as u64).to_le_bytes()).to_hex().to_string())
        .collect();
    let dataset = Dataset {
        name: "test corpus".into(),
        classes: CLASSES.iter().map(|c| c.to_string()).collect(),
        tracks,
    };
    (dataset, hashes)
}

fn plan_of(exp: &Experiment) -> TaskGraph {
    let (dataset, hashes) = synthetic_dataset(SONGS);
    build(exp, &dataset, &hashes, None, &PlanOptions::default()).expect("plan builds")
}

fn keys(graph: &TaskGraph) -> BTreeMap<String, String> {
    graph
        .tasks()
        .map(|t| (t.id.0.clone(), t.key.hex()))
        .collect()
}

#[test]
fn table1_expands_into_the_expected_tasks() {
    let exp = table1();
    let graph = plan_of(&exp);
    let counts: BTreeMap<String, usize> = graph
        .counts()
        .into_iter()
        .map(|(k, n)| (k.name().to_string(), n))
        .collect();
    let models: Vec<String> = exp
        .models
        .iter()
        .map(|m| {
            let train = graph
                .of_kind(TaskKind::Train)
                .filter(|t| matches!(&t.params, TaskParams::Train(p) if p.model == m.name))
                .count();
            format!(
                "{} | params {} | frames {} | hops {:?} | train tasks {train}",
                m.name,
                m.arch.param_count(),
                m.chunk_frames,
                m.hops
            )
        })
        .collect();
    insta::assert_json_snapshot!("table1_plan", (counts, models));
}

/// The same spec text with one model's dropout changed.
fn with_changed_model(exp: &Experiment, model: &str) -> Experiment {
    let mut changed = exp.clone();
    let m = changed
        .models
        .iter_mut()
        .find(|m| m.name == model)
        .expect("model exists");
    m.arch.dropout = 0.25;
    changed
}

#[test]
fn a_changed_model_invalidates_exactly_its_tasks_and_the_collectors() {
    let exp = table1();
    let before = keys(&plan_of(&exp));
    let after = keys(&plan_of(&with_changed_model(&exp, "P-net")));
    let changed: BTreeSet<&String> = before
        .iter()
        .filter(|(id, key)| after.get(*id) != Some(key))
        .map(|(id, _)| id)
        .collect();
    let expected: BTreeSet<String> = before
        .keys()
        .filter(|id| id.starts_with("train/P-net/") || id.starts_with("report/"))
        .cloned()
        .collect();
    assert_eq!(changed, expected.iter().collect());
    assert_eq!(
        changed.iter().filter(|id| id.starts_with("train/")).count(),
        20,
        "P-net: 2 hops × 10 folds"
    );
}

#[test]
fn a_changed_dataset_invalidates_every_task() {
    let exp = table1();
    let before = keys(&plan_of(&exp));
    let (dataset, mut hashes) = synthetic_dataset(SONGS);
    hashes[0] = blake3::hash(b"another first song").to_hex().to_string();
    let after = keys(&build(&exp, &dataset, &hashes, None, &PlanOptions::default()).expect("plan"));
    // Every task but the untouched songs' features reads song 0 (through the
    // song lists of norm and chunks).
    for (id, key) in &before {
        let same = after.get(id) == Some(key);
        let is_other_song = id.starts_with("features/") && id != "features/ChaChaCha/clip-000";
        assert_eq!(same, is_other_song, "{id}");
    }
}

#[test]
fn the_device_class_keys_training_only() {
    let exp = table1();
    let (dataset, hashes) = synthetic_dataset(SONGS);
    let cuda = PlanOptions {
        device: DeviceClass::Cuda,
        ..PlanOptions::default()
    };
    let cpu = keys(&plan_of(&exp));
    let gpu = keys(&build(&exp, &dataset, &hashes, None, &cuda).expect("plan"));
    for (id, key) in &cpu {
        let trains = id.starts_with("train/") || id.starts_with("report/");
        assert_eq!(gpu.get(id) != Some(key), trains, "{id}");
    }
}

/// Keys hash content, not locations: the same audio in two folders plans the same keys.
#[test]
fn keys_do_not_depend_on_where_the_files_are() {
    let exp = table1();
    let located = |root: &str| {
        let (mut dataset, hashes) = synthetic_dataset(SONGS);
        for track in &mut dataset.tracks {
            track.source = TrackSource::File(PathBuf::from(root).join(format!("{}.wav", track.id)));
        }
        keys(&build(&exp, &dataset, &hashes, None, &PlanOptions::default()).expect("plan"))
    };
    assert_eq!(located("/data/a"), located("/mnt/elsewhere/b"));
}

#[test]
fn a_rerun_says_which_field_changed_with_old_and_new_values() {
    let exp = table1();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    let old = plan_of(&exp);
    let record = PlanRecord::of(&old);
    let new = plan_of(&with_changed_model(&exp, "O-net"));
    let judged = freshness::judge(&new, &store, Check::Sizes, Some(&record)).expect("judge");
    let id = new
        .tasks()
        .find(|t| t.id.0 == "train/O-net/hop250/fold0")
        .map(|t| t.id.clone())
        .expect("task planned");
    match &judged[&id] {
        Freshness::Stale(StaleReason::Changed(changes)) => {
            let dropout = changes
                .iter()
                .find(|c| c.what == "arch.dropout")
                .expect("dropout change listed");
            assert_eq!(
                (dropout.old.as_str(), dropout.new.as_str()),
                ("0.5", "0.25")
            );
        }
        other => panic!("expected a Changed reason, got {other:?}"),
    }
    let untouched = new
        .tasks()
        .find(|t| t.id.0 == "train/P-net/hop250/fold0")
        .map(|t| t.id.clone())
        .expect("task planned");
    assert_eq!(judged[&untouched], Freshness::Stale(StaleReason::Missing));
}

#[test]
fn selections_plan_only_what_they_need_and_no_collectors() {
    let exp = table1();
    let (dataset, hashes) = synthetic_dataset(SONGS);
    let opts = PlanOptions {
        only: vec!["O-net".into()],
        folds: Some(vec![0, 1]),
        ..PlanOptions::default()
    };
    let graph = build(&exp, &dataset, &hashes, None, &opts).expect("plan");
    let counts = graph.counts();
    assert_eq!(counts.get(&TaskKind::Train), Some(&4));
    assert_eq!(counts.get(&TaskKind::Chunks), Some(&4));
    assert_eq!(counts.get(&TaskKind::Report), None);
    let wrong = PlanOptions {
        only: vec!["O-nett".into()],
        ..PlanOptions::default()
    };
    let err = build(&exp, &dataset, &hashes, None, &wrong)
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean \"O-net\""), "{err}");
}
