//! Integration tests of the audio front end and the paper's features: the real
//! fixtures in `../shared/fixtures/audio/` (skipped with a message when absent,
//! a failure in CI; see `common::fixture`), a
//! bad-input corpus generated in a temp dir, properties of the mel matrix and
//! window computed independently of the implementation, and the one front end:
//! the features task, `tempora features FILE` and `predict` give the same
//! spectrogram, bit for bit, for the same file.

use crate::common;

use std::f64::consts::PI;
use std::path::Path;

use crate::common::fixture;

use tempora::audio::{self, AudioError, TARGET_SAMPLE_RATE};
use tempora::features::{
    cosine_sum_window, frame_count, hz_to_mel, mel_spectrogram, Extractor, FeatureConfig,
    MelBinRange, MelFilterbank, BLACKMAN_HARRIS_62DB,
};

/// Each fixture with its source rate, channel count and frame count as libsndfile
/// reports them (an independent decoder), and whether the codec is lossless.
const FIXTURE_TABLE: [(&str, u32, u16, u64, bool); 6] = [
    (
        "ballroom-waltz-Media-105901.wav",
        44_100,
        1,
        1_401_848,
        true,
    ),
    ("billboard-excerpt.flac", 44_100, 1, 44_100, true),
    ("candombe-excerpt.flac", 44_100, 2, 12_288, true),
    ("gtzan-country.00000.wav", 22_050, 1, 663_300, true),
    ("openmic-000046_3840.ogg", 22_050, 1, 44_100, false),
    ("salami-2.mp3", 44_100, 2, 90_060, false),
];

#[test]
fn every_fixture_decodes_to_44k1_mono_of_the_source_duration() {
    for (name, rate, _channels, frames, lossless) in FIXTURE_TABLE {
        let Some(path) = fixture(&format!("audio/{name}")) else {
            return;
        };
        let audio = audio::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(audio.sample_rate, TARGET_SAMPLE_RATE, "{name}");
        let expected = frames as f64 * f64::from(TARGET_SAMPLE_RATE) / f64::from(rate);
        let got = audio.samples.len() as f64;
        // Lossless: exact (after the rounded rate conversion); lossy: within 10 ms
        // (decoders differ on the last partial frame).
        let tolerance = if lossless {
            0.5
        } else {
            0.010 * f64::from(TARGET_SAMPLE_RATE)
        };
        assert!(
            (got - expected).abs() <= tolerance,
            "{name}: {got} samples, expected {expected}"
        );
        assert!(
            audio
                .samples
                .iter()
                .all(|s| s.is_finite() && s.abs() <= 1.5),
            "{name}"
        );
    }
}

#[test]
fn resampling_22k05_doubles_the_length_exactly() {
    let Some(path) = fixture("audio/gtzan-country.00000.wav") else {
        return;
    };
    let audio = audio::load(&path).unwrap();
    assert_eq!(audio.samples.len(), 2 * 663_300);
}

#[test]
fn stereo_is_downmixed_to_the_channel_mean() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    let (left, right): (Vec<i16>, Vec<i16>) =
        (0..4410).map(|i| ((i % 100) as i16 * 100, 3000)).unzip();
    common::write_wav16(&path, 2, 44_100, |w| {
        for (l, r) in left.iter().zip(&right) {
            w.write_sample(*l).unwrap();
            w.write_sample(*r).unwrap();
        }
    });
    let audio = audio::load(&path).unwrap();
    assert_eq!(audio.samples.len(), 4410);
    for (i, s) in audio.samples.iter().enumerate() {
        let mean = (f32::from(left[i]) + f32::from(right[i])) / 2.0 / 32_768.0;
        assert!((s - mean).abs() < 1e-6, "sample {i}: {s} vs {mean}");
    }
    // A stereo fixture decoded by symphonia (flac), not the wav fast path.
    let Some(path) = fixture("audio/candombe-excerpt.flac") else {
        return;
    };
    assert_eq!(audio::load(&path).unwrap().samples.len(), 12_288);
}

/// Frame count of the Ballroom fixture: 1,401,848 samples at 44.1 kHz, frames of
/// 2048 centred on samples 0, 1024, 2048, …; the last frame is the first whose
/// centre k·1024 ≥ 1,401,848, i.e. k = ⌈1,401,848 / 1024⌉ = 1369, so there are
/// 1369 + 1 = 1370 frames (essentia's `FrameGenerator` yields the same).
#[test]
fn ballroom_fixture_has_the_documented_frame_count_and_sane_values() {
    let Some(path) = fixture("audio/ballroom-waltz-Media-105901.wav") else {
        return;
    };
    let audio = audio::load(&path).unwrap();
    assert_eq!(audio.samples.len(), 1_401_848);
    let spec = mel_spectrogram(&audio.samples, &FeatureConfig::default());
    assert_eq!(spec.frames, 1370);
    assert_eq!(frame_count(audio.samples.len(), 2048, 1024), 1370);
    assert_eq!((spec.bands, spec.data.len()), (40, 1370 * 40));
    // log10(1 + 10⁴x) ≥ 0; a band of unit-sum weights on a [-1, 1] signal with a
    // window of area 2 has power ≤ 4 per bin, so values stay below log10(1 + 4·10⁴).
    let max = 4.0e4f32.log10();
    assert!(spec
        .data
        .iter()
        .all(|v| v.is_finite() && (0.0..=max + 1e-3).contains(v)));
    // Music, not silence: most frames carry energy in the low bands.
    let loud = (0..spec.frames)
        .filter(|&k| spec.frame(k)[..10].iter().any(|v| *v > 1.0))
        .count();
    assert!(loud > spec.frames / 2, "only {loud} loud frames");
}

#[test]
fn mel_matrix_matches_independent_htk_construction() {
    let cfg = FeatureConfig::default();
    let extractor = Extractor::new(&cfg).unwrap();
    let bank = extractor.filterbank();
    assert_eq!((bank.bands(), bank.bins()), (40, 1025));
    // Band edges equally spaced on the HTK scale 2595·log10(1 + f/700), 0 to 22,050 Hz.
    let top = 2595.0 * (1.0 + 22_050.0f64 / 700.0).log10();
    for (i, edge) in bank.edges_hz().iter().enumerate() {
        let mel = 2595.0 * (1.0 + edge / 700.0).log10();
        assert!((mel - top * i as f64 / 41.0).abs() < 1e-6, "edge {i}");
    }
    let bin_hz = 22_050.0 / 1024.0;
    for b in 0..40 {
        let (first, w) = bank.band(b);
        let sum: f64 = w.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 1.0).abs() < 1e-5, "band {b} sums to {sum}");
        assert!(w.iter().all(|&v| v >= 0.0));
        // Support inside the band's outer edges, peak at the bin nearest the centre.
        let (lo, centre, hi) = (
            bank.edges_hz()[b],
            bank.edges_hz()[b + 1],
            bank.edges_hz()[b + 2],
        );
        let nonzero: Vec<usize> = (0..w.len())
            .filter(|&j| w[j] > 0.0)
            .map(|j| first + j)
            .collect();
        assert!(nonzero
            .iter()
            .all(|&j| j as f64 * bin_hz > lo && (j as f64 * bin_hz) < hi));
        let peak = first + (0..w.len()).max_by(|&a, &c| w[a].total_cmp(&w[c])).unwrap();
        assert!(
            (peak as f64 * bin_hz - centre).abs() <= bin_hz,
            "band {b}: peak at bin {peak}, centre {centre} Hz"
        );
        // Weights rise linearly in mel up to the centre.
        if nonzero.len() >= 3 && (nonzero[1] as f64 * bin_hz) < centre {
            let (j0, j1) = (nonzero[0], nonzero[1]);
            let ratio = f64::from(w[j1 - first]) / f64::from(w[j0 - first]);
            let expected = (hz_to_mel(j1 as f64 * bin_hz) - hz_to_mel(lo))
                / (hz_to_mel(j0 as f64 * bin_hz) - hz_to_mel(lo));
            assert!((ratio - expected).abs() < 1e-4 * expected, "band {b}");
        }
    }
    // The legacy bin rule is a sub-range of the current one.
    let legacy =
        MelFilterbank::new(40, 1025, 44_100.0, 0.0, 22_050.0, MelBinRange::Rounded).unwrap();
    assert!((0..40).all(|b| legacy.band(b).1.len() <= bank.band(b).1.len() + 1));
}

#[test]
fn window_is_blackman_harris_62db_with_essentia_normalisation() {
    let w = cosine_sum_window(2048, BLACKMAN_HARRIS_62DB, true);
    let raw: Vec<f64> = (0..2048)
        .map(|n| {
            let x = 2.0 * PI * n as f64 / 2047.0;
            0.44959 - 0.49364 * x.cos() + 0.05677 * (2.0 * x).cos()
        })
        .collect();
    let area: f64 = raw.iter().sum();
    for (n, (a, r)) in w.iter().zip(&raw).enumerate() {
        assert!((f64::from(*a) - 2.0 * r / area).abs() < 1e-9, "sample {n}");
    }
}

#[test]
fn a_pure_sine_lands_in_the_band_centred_nearest_its_frequency() {
    let cfg = FeatureConfig::default();
    let edges = Extractor::new(&cfg)
        .unwrap()
        .filterbank()
        .edges_hz()
        .to_vec();
    for freq in [440.0, 1000.0, 5000.0] {
        let x: Vec<f32> = (0..44_100)
            .map(|n| (0.5 * (2.0 * PI * freq * n as f64 / 44_100.0).sin()) as f32)
            .collect();
        let spec = mel_spectrogram(&x, &cfg);
        let row = spec.frame(spec.frames / 2);
        let loudest = (0..40).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        let nearest = (0..40)
            .min_by(|&a, &b| {
                let d = |i: usize| (hz_to_mel(edges[i + 1]) - hz_to_mel(freq)).abs();
                d(a).total_cmp(&d(b))
            })
            .unwrap();
        assert_eq!(loudest, nearest, "{freq} Hz");
    }
}

/// A short wav of a 440 Hz tone.
fn tone_wav(path: &Path) {
    common::write_wav16(path, 1, 44_100, |w| {
        for n in 0..4410 {
            w.write_sample((8000.0 * (2.0 * PI * 440.0 * n as f64 / 44_100.0).sin()) as i16)
                .unwrap();
        }
    });
}

#[test]
fn each_bad_input_gives_one_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);

    std::fs::write(at("empty.wav"), b"").unwrap();
    tone_wav(&at("good.wav"));
    let good = std::fs::read(at("good.wav")).unwrap();
    std::fs::write(at("truncated.wav"), &good[..good.len() / 2]).unwrap();
    std::fs::write(
        at("text.wav"),
        b"this is not audio, just a text file\n".repeat(20),
    )
    .unwrap();
    common::write_wav16(&at("zero.wav"), 1, 44_100, |_| {});
    common::write_wav16(&at("silent.wav"), 2, 44_100, |w| {
        (0..8820).for_each(|_| w.write_sample(0i16).unwrap())
    });
    std::fs::write(at("song.xyz"), &good).unwrap();
    // A flac cut short goes through symphonia rather than the wav fast path.
    if let Some(flac) = fixture("audio/billboard-excerpt.flac") {
        let bytes = std::fs::read(flac).unwrap();
        std::fs::write(at("truncated.flac"), &bytes[..bytes.len() / 2]).unwrap();
        let err = audio::load(&at("truncated.flac")).unwrap_err();
        assert!(
            matches!(
                err,
                AudioError::Truncated { .. } | AudioError::Corrupt { .. }
            ),
            "{err}"
        );
    }

    assert!(audio::load(&at("good.wav")).is_ok());
    type Case = (&'static str, fn(&AudioError) -> bool);
    let cases: [Case; 7] = [
        ("empty.wav", |e| matches!(e, AudioError::Empty { .. })),
        ("truncated.wav", |e| {
            matches!(e, AudioError::Truncated { .. })
        }),
        ("text.wav", |e| {
            matches!(e, AudioError::UnsupportedFormat { .. })
        }),
        ("zero.wav", |e| matches!(e, AudioError::NoSamples { .. })),
        ("silent.wav", |e| matches!(e, AudioError::Silent { .. })),
        ("song.xyz", |e| {
            matches!(e, AudioError::UnsupportedExtension { .. })
        }),
        ("missing.wav", |e| {
            matches!(e, AudioError::Unreadable { .. })
        }),
    ];
    for (name, is_expected) in cases {
        let err = audio::load(&at(name)).expect_err(name);
        assert!(is_expected(&err), "{name}: unexpected error {err:?}");
        assert!(
            err.to_string().contains(name),
            "{name}: message does not name the file: {err}"
        );
    }
}

/// The three callers of the front end agree bit for bit on one stereo
/// 22.05 kHz wav (so decoding, downmixing and resampling are all exercised):
/// the features task's `mel.f32` (a one-class `folder:` dataset, planned and
/// run through the workspace), `tempora features FILE --out x.npy`, and
/// `predict`'s spectrogram before standardisation and chunking.
#[test]
fn task_cli_and_predict_share_one_front_end() {
    use tempora::dataset::DatasetSource;
    use tempora::device::ComputeDevice;
    use tempora::exec::runner::Mode;
    use tempora::tasks::features::{read_mel, read_shape};
    use tempora::workspace::{LocalExecutor, Workspace};

    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("data/tone");
    std::fs::create_dir_all(&class).unwrap();
    let wav = class.join("song.wav");
    common::write_wav16(&wav, 2, 22_050, |w| {
        for i in 0..22_050 * 2 {
            let t = f64::from(i) / 22_050.0;
            let left = 0.4 * (2.0 * PI * (220.0 + 400.0 * t) * t).sin();
            let right = 0.3 * (2.0 * PI * 1_000.0 * t).sin()
                + 0.05 * ((i * 7919 % 101) as f64 / 50.0 - 1.0);
            w.write_sample((left * 32_767.0) as i16).unwrap();
            w.write_sample((right * 32_767.0) as i16).unwrap();
        }
    });
    let cfg = FeatureConfig::default();

    // The features task.
    let dataset = DatasetSource::Folder(dir.path().join("data"))
        .load()
        .unwrap();
    let workspace = Workspace::open(&dir.path().join("cache")).unwrap();
    let plan = workspace.plan_features(dataset, &cfg).unwrap();
    let mut executor = LocalExecutor::all_cores(Mode::Run);
    executor.jobs = 1;
    let run = workspace.run_features(&plan, &executor, vec![]).unwrap();
    assert!(run.ok(), "{:?}", run.summary.failed);
    let ctx = workspace.context(plan.dataset.clone(), ComputeDevice::Cpu);
    let task = plan.graph.tasks().next().expect("one features task");
    let from_task = read_mel(&ctx, task, &task.key).unwrap();
    let shape = read_shape(&ctx, task, &task.key).unwrap();
    assert_eq!((from_task.frames, from_task.bands), (shape.frames, 40));
    // 2 s at 44.1 kHz: ⌈88,200 / 1024⌉ + 1 frames.
    assert_eq!(from_task.frames, frame_count(88_200, 2048, 1024));

    // `tempora features FILE --out x.npy`: the same matrix, as a .npy.
    let npy = dir.path().join("x.npy");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tempora"))
        .arg("features")
        .arg(&wav)
        .arg("--out")
        .arg(&npy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = Vec::new();
    tempora::features::write_npy(&from_task, &mut expected).unwrap();
    assert!(
        std::fs::read(&npy).unwrap() == expected,
        "the .npy differs from mel.f32"
    );

    // `predict`, before standardisation and chunking.
    let from_predict = tempora::package::predict::recording_mel(&wav, &cfg).unwrap();
    let bits = |m: &tempora::features::MelSpectrogram| -> Vec<u32> {
        m.data.iter().map(|v| v.to_bits()).collect()
    };
    assert_eq!(
        (from_predict.mel.frames, from_predict.mel.bands),
        (from_task.frames, from_task.bands)
    );
    assert!(
        bits(&from_predict.mel) == bits(&from_task),
        "predict's spectrogram differs"
    );
    assert_eq!(from_predict.seconds.to_bits(), shape.seconds.to_bits());
}
