//! Integration tests of `tempora::dataset`: the synthetic corpus (determinism,
//! tempo table, rhythm measured on the audio), the Ballroom and folder loaders
//! on generated trees, bad inputs, folds, and `tempora datasets synth`.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tempora::dataset::synthetic::tempo::CLASSES;
use tempora::dataset::{
    fold_splits, Dataset, DatasetError, DatasetSource, SyntheticClip, SyntheticSize, TrackSource,
};

fn synthetic(size: SyntheticSize, seed: u64) -> Dataset {
    DatasetSource::Synthetic { size, seed }.load().unwrap()
}

fn clip(track: &tempora::dataset::Track) -> &SyntheticClip {
    match &track.source {
        TrackSource::Synthetic(clip) => clip,
        TrackSource::File(path) => panic!("unexpected file {}", path.display()),
    }
}

fn bits(samples: &[f32]) -> Vec<u32> {
    samples.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn same_seed_gives_byte_identical_audio_and_other_seeds_differ() {
    let a = synthetic(SyntheticSize::Tiny, 3);
    let b = synthetic(SyntheticSize::Tiny, 3);
    let c = synthetic(SyntheticSize::Tiny, 4);
    assert_eq!(a, b);
    for i in [0, 17, 47] {
        let (x, y, z) = (&a.tracks[i], &b.tracks[i], &c.tracks[i]);
        let audio = x.load_audio().unwrap();
        assert_eq!(audio.sample_rate, 44_100);
        assert_eq!(audio.samples.len(), 12 * 44_100);
        assert_eq!(bits(&audio.samples), bits(&y.load_audio().unwrap().samples));
        assert_ne!(bits(&audio.samples), bits(&z.load_audio().unwrap().samples));
        assert_eq!(x.content_hash().unwrap(), y.content_hash().unwrap());
        assert_ne!(x.content_hash().unwrap(), z.content_hash().unwrap());
        assert!(audio
            .samples
            .iter()
            .all(|s| s.is_finite() && s.abs() <= 1.0));
    }
}

#[test]
fn corpus_layout_ids_and_tempo_table() {
    let tiny = synthetic(SyntheticSize::Tiny, 1);
    assert_eq!(tiny.classes.len(), 8);
    assert_eq!(tiny.class_counts(), vec![6; 8]);
    assert_eq!(tiny.tracks[0].id, "ChaChaCha/synth-0000");
    assert_eq!(tiny.tracks[47].id, "Waltz/synth-0005");
    let full = synthetic(SyntheticSize::Full, 1);
    assert_eq!(full.class_counts(), [111, 60, 82, 98, 86, 86, 65, 110]);
    let mut ids: Vec<_> = full.tracks.iter().map(|t| &t.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 698);
    for track in &full.tracks {
        let plan = clip(track).plan();
        let stats = &CLASSES[track.label];
        assert!(
            plan.bpm >= stats.min_bpm() && plan.bpm <= stats.max_bpm(),
            "{}",
            track.id
        );
        let metre = if stats.name.contains("Waltz") { 3 } else { 4 };
        assert_eq!(plan.beats_per_bar, metre, "{}", track.id);
    }
}

#[test]
fn tempo_alone_does_not_separate_the_classes() {
    // Leave-one-out nearest neighbour on the drawn tempo over the full corpus:
    // far better than chance (tempo is informative, as in Ballroom) yet far
    // from perfect (classes overlap).
    let full = synthetic(SyntheticSize::Full, 1);
    let tempi: Vec<f64> = full.tracks.iter().map(|t| clip(t).plan().bpm).collect();
    let correct = (0..tempi.len())
        .filter(|&i| {
            let nearest = (0..tempi.len())
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    (tempi[a] - tempi[i])
                        .abs()
                        .total_cmp(&(tempi[b] - tempi[i]).abs())
                })
                .unwrap();
            full.tracks[nearest].label == full.tracks[i].label
        })
        .count();
    let accuracy = correct as f64 / tempi.len() as f64;
    eprintln!("tempo-only 1-NN accuracy {accuracy:.3}");
    assert!(
        accuracy > 0.3 && accuracy < 0.9,
        "tempo-only 1-NN accuracy {accuracy}"
    );
}

/// Onset-strength envelopes at 100 frames/s of a low and a high register:
/// half-wave rectified differences of the log energy of the signal smoothed
/// over 8 samples (low) and of its first difference (high: bright, percussive
/// sounds).
fn onset_envelopes(samples: &[f32]) -> [Vec<f64>; 2] {
    const HOP: usize = 441;
    let energies: Vec<[f64; 2]> = samples
        .chunks_exact(HOP)
        .map(|f| {
            let low: f64 = f
                .windows(8)
                .map(|w| (w.iter().sum::<f32>() as f64 / 8.0).powi(2))
                .sum();
            let high: f64 = f.windows(2).map(|w| ((w[1] - w[0]) as f64).powi(2)).sum();
            [(1e-9 + low).ln(), (1e-9 + high).ln()]
        })
        .collect();
    [0, 1].map(|b| {
        energies
            .windows(2)
            .map(|w| (w[1][b] - w[0][b]).max(0.0))
            .collect()
    })
}

/// Normalised autocorrelations of the onset envelopes at lags given in beats.
fn rhythm_features(samples: &[f32], bpm: f64) -> Vec<f64> {
    const LAGS_IN_BEATS: [f64; 8] = [0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0];
    let mut features = Vec::new();
    for env in onset_envelopes(samples) {
        let mean = env.iter().sum::<f64>() / env.len() as f64;
        let x: Vec<f64> = env.iter().map(|v| v - mean).collect();
        let ac = |lag: usize| {
            x.iter().zip(&x[lag..]).map(|(a, b)| a * b).sum::<f64>() / (x.len() - lag) as f64
        };
        let ac0 = ac(0);
        features.extend(LAGS_IN_BEATS.iter().map(|beats| {
            let lag = beats * 60.0 / bpm * 100.0;
            let (k, frac) = (lag.floor() as usize, lag.fract());
            ((1.0 - frac) * ac(k) + frac * ac(k + 1)) / ac0
        }));
    }
    features
}

#[test]
fn classes_have_measurably_different_onset_patterns() {
    // Measured on the audio only: the tempo comes from the generator's
    // parameters to express lags in beats; the label only groups the clips.
    let tiny = synthetic(SyntheticSize::Tiny, 2017);
    let features: Vec<Vec<f64>> = tiny
        .tracks
        .iter()
        .map(|t| rhythm_features(&t.load_audio().unwrap().samples, clip(t).plan().bpm))
        .collect();
    let distance = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (mut within, mut between) = ((0.0, 0), (0.0, 0));
    for i in 0..features.len() {
        for j in i + 1..features.len() {
            let d = distance(&features[i], &features[j]);
            let slot = if tiny.tracks[i].label == tiny.tracks[j].label {
                &mut within
            } else {
                &mut between
            };
            slot.0 += d;
            slot.1 += 1;
        }
    }
    let (within, between) = (within.0 / within.1 as f64, between.0 / between.1 as f64);
    eprintln!("mean distance within classes {within:.4}, between {between:.4}");
    let loo = (0..features.len())
        .filter(|&i| {
            let centroid = |label: usize| {
                let members: Vec<_> = (0..features.len())
                    .filter(|&j| j != i && tiny.tracks[j].label == label)
                    .collect();
                (0..features[i].len())
                    .map(|f| {
                        members.iter().map(|&j| features[j][f]).sum::<f64>() / members.len() as f64
                    })
                    .collect::<Vec<_>>()
            };
            let nearest = (0..tiny.classes.len())
                .min_by(|&a, &b| {
                    distance(&features[i], &centroid(a))
                        .total_cmp(&distance(&features[i], &centroid(b)))
                })
                .unwrap();
            nearest == tiny.tracks[i].label
        })
        .count() as f64
        / features.len() as f64;
    eprintln!("leave-one-out nearest-centroid accuracy {loo:.3}");
    // Clips of a class resemble each other more than clips of other classes,
    // and a nearest-centroid rule does far better than chance (1/8).
    assert!(
        within < 0.85 * between,
        "within {within} vs between {between}"
    );
    assert!(
        loo > 3.0 / tiny.classes.len() as f64,
        "nearest-centroid accuracy {loo}"
    );

    // Metre: the waltzes repeat every 3 beats, the others every 4 (or 2).
    let bar_contrast = |label: usize| {
        let idx: Vec<_> = (0..features.len())
            .filter(|&i| tiny.tracks[i].label == label)
            .collect();
        idx.iter()
            .map(|&i| features[i][6] - features[i][7] + features[i][14] - features[i][15])
            .sum::<f64>()
            / idx.len() as f64
    };
    let waltzes = [6, 7].map(bar_contrast);
    let others: Vec<f64> = (0..6).map(bar_contrast).collect();
    eprintln!("ac(3 beats) - ac(4 beats): waltzes {waltzes:?}, others {others:?}");
    let highest_other = others.iter().cloned().fold(f64::MIN, f64::max);
    assert!(
        waltzes.iter().all(|&w| w > highest_other),
        "{waltzes:?} vs {others:?}"
    );
}

#[test]
fn folds_match_the_reference_protocol_for_698_songs() {
    let splits = fold_splits(698, 10, 11);
    assert_eq!(splits.len(), 10);
    let mut in_test = vec![0; 698];
    for (k, s) in splits.iter().enumerate() {
        assert_eq!(s.test.len(), if k < 8 { 70 } else { 69 }, "fold {k}");
        assert_eq!(s.validation.len(), 69);
        assert_eq!(s.train.len(), 698 - 69 - s.test.len());
        let mut all: Vec<_> = s
            .train
            .iter()
            .chain(&s.validation)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..698).collect::<Vec<_>>(),
            "fold {k} is not a partition"
        );
        s.test.iter().for_each(|&i| in_test[i] += 1);
    }
    assert!(in_test.iter().all(|&n| n == 1));
    assert_eq!(splits, fold_splits(698, 10, 11));
    assert_ne!(splits, fold_splits(698, 10, 12));
}

/// Writes a short 16-bit mono wav.
fn write_wav(path: &Path, value: i16) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    (0..64).for_each(|_| w.write_sample(value).unwrap());
    w.finalize().unwrap();
}

const TEN_FOLDERS: [&str; 10] = [
    "ChaChaCha",
    "Jive",
    "Quickstep",
    "Rumba-American",
    "Rumba-International",
    "Rumba-Misc",
    "Samba",
    "Tango",
    "VienneseWaltz",
    "Waltz",
];

/// Runs `f` with tracing events captured; returns its result and the log.
fn capture_warnings<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (out, log)
}

#[test]
fn ballroom_ten_folder_layout_merges_rumba_and_warns_on_count() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("BallroomData");
    for (i, folder) in TEN_FOLDERS.iter().enumerate() {
        write_wav(&root.join(folder).join(format!("b-{i}.wav")), i as i16);
        write_wav(&root.join(folder).join(format!("a-{i}.wav")), i as i16);
    }
    std::fs::write(root.join("allBallroomFiles"), "not a folder").unwrap();
    for path in [dir.path().to_path_buf(), root.clone()] {
        let (dataset, log) = capture_warnings(|| DatasetSource::Ballroom(path.clone()).load());
        let dataset = dataset.unwrap();
        assert_eq!(dataset.classes, CLASSES.map(|c| c.name.to_string()));
        assert_eq!(dataset.class_counts(), [2, 2, 2, 6, 2, 2, 2, 2]);
        let rumba: Vec<_> = dataset
            .tracks
            .iter()
            .filter(|t| t.label == 3)
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(
            rumba,
            [
                "Rumba/a-3",
                "Rumba/b-3",
                "Rumba/a-4",
                "Rumba/b-4",
                "Rumba/a-5",
                "Rumba/b-5"
            ]
        );
        assert!(
            log.contains("found 20 tracks where Ballroom has 698"),
            "{log}"
        );
    }
}

#[test]
fn ballroom_eight_folder_layout_and_missing_classes() {
    let dir = tempfile::tempdir().unwrap();
    for class in CLASSES {
        write_wav(&dir.path().join(class.name).join("x.wav"), 1);
    }
    let dataset = DatasetSource::Ballroom(dir.path().into()).load().unwrap();
    assert_eq!(dataset.class_counts(), [1; 8]);
    assert_eq!(dataset.tracks[3].id, "Rumba/x");
    std::fs::remove_dir_all(dir.path().join("Tango")).unwrap();
    let err = DatasetSource::Ballroom(dir.path().into())
        .load()
        .unwrap_err();
    assert!(matches!(err, DatasetError::NotBallroom { .. }), "{err}");
    assert!(err.to_string().contains("no folder for Tango"), "{err}");
}

#[test]
fn folder_loader_walks_labels_recursively() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_wav(&root.join("zeta/one.wav"), 1);
    write_wav(&root.join("alpha/deep/er/two.wav"), 2);
    write_wav(&root.join("alpha/b.WAV"), 3);
    write_wav(&root.join("alpha/.hidden.wav"), 4);
    std::fs::write(root.join("alpha/notes.txt"), "ignored").unwrap();
    let dataset = DatasetSource::Folder(root.into()).load().unwrap();
    assert_eq!(dataset.classes, ["alpha", "zeta"]);
    let ids: Vec<_> = dataset
        .tracks
        .iter()
        .map(|t| (t.id.as_str(), t.label))
        .collect();
    assert_eq!(
        ids,
        [("alpha/b", 0), ("alpha/deep/er/two", 0), ("zeta/one", 1)]
    );
    // Identical bytes, different paths: same content hash.
    write_wav(&root.join("zeta/copy.wav"), 1);
    let dataset = DatasetSource::Folder(root.into()).load().unwrap();
    let hashes: Vec<_> = dataset
        .tracks
        .iter()
        .map(|t| t.content_hash().unwrap())
        .collect();
    assert_eq!(hashes[2], hashes[3]);
    assert_ne!(hashes[0], hashes[2]);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let load = |s: DatasetSource| s.load().unwrap_err().to_string();

    let missing = root.join("nope");
    let err = load(DatasetSource::Folder(missing.clone()));
    assert!(
        err.contains("does not exist") && err.contains(&*missing.to_string_lossy()),
        "{err}"
    );
    let err = load(DatasetSource::Ballroom(missing));
    assert!(
        err.contains("TEMPORA_BALLROOM") && err.contains("ballroom:/path"),
        "{err}"
    );

    std::fs::create_dir_all(root.join("data")).unwrap();
    let err = load(DatasetSource::Folder(root.join("data")));
    assert!(err.contains("has no class folders"), "{err}");

    std::fs::create_dir_all(root.join("data/empty")).unwrap();
    write_wav(&root.join("data/full/a.wav"), 1);
    let err = load(DatasetSource::Folder(root.join("data")));
    assert!(
        err.contains("empty") && err.contains("holds no audio file"),
        "{err}"
    );

    std::fs::write(root.join("data/empty/readme.txt"), "no audio").unwrap();
    let err = load(DatasetSource::Folder(root.join("data")));
    assert!(err.contains("holds no audio file"), "{err}");

    let err = load(DatasetSource::Folder(root.join("data/full/a.wav")));
    assert!(err.contains("is not a directory"), "{err}");

    write_wav(&root.join("dup/x/a.wav"), 1);
    std::fs::copy(root.join("dup/x/a.wav"), root.join("dup/x/a.flac")).unwrap();
    let err = load(DatasetSource::Folder(root.join("dup")));
    assert!(err.contains("would both be track 'x/a'"), "{err}");
}

#[test]
fn synth_command_writes_the_corpus_as_wav_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tempora"))
        .args([
            "datasets", "synth", "--size", "tiny", "--seed", "9", "--format", "float32", "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let written = DatasetSource::Folder(out.clone()).load().unwrap();
    let generated = synthetic(SyntheticSize::Tiny, 9);
    assert_eq!(written.classes, generated.classes);
    let ids = |d: &Dataset| d.tracks.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&written), ids(&generated));
    let mut reader = hound::WavReader::open(out.join("Samba/synth-0002.wav")).unwrap();
    assert_eq!(reader.spec().sample_rate, 44_100);
    let samples: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    let expected = generated
        .tracks
        .iter()
        .find(|t| t.id == "Samba/synth-0002")
        .unwrap();
    assert_eq!(
        bits(&samples),
        bits(&expected.load_audio().unwrap().samples)
    );
    let leftovers = std::fs::read_dir(out.join("Samba")).unwrap().count();
    assert_eq!(leftovers, 6, "temporary files left behind");
}
