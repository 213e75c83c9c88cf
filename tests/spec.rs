//! Spec loading end to end: the shipped experiments expand as documented
//! (Table 1's parameter counts, profiles, sweeps), the spec hash ignores
//! formatting, and every malformed spec of `tests/specs/` fails with the
//! located message and hint snapshotted in `tests/snapshots/`.

use std::path::{Path, PathBuf};

use tempora::dataset::{DatasetSource, SyntheticSize};
use tempora::model::{Init, PoolExtent};
use tempora::spec::{self, Experiment, SpecError};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn load(path: &str, profile: Option<&str>) -> Experiment {
    match spec::load(&repo(path), profile) {
        Ok(e) => e,
        Err(e) => panic!("{path} (profile {profile:?}) does not load:\n{e}"),
    }
}

/// Table 1's rows and the CBMI baselines, with the paper's parameter counts.
const TABLE1: [(&str, usize); 11] = [
    ("O-net", 4_188),
    ("P-net", 7_428),
    ("2x O-net", 8_368),
    ("O-net + P-net", 11_608),
    ("2x P-net", 14_848),
    ("2x O-net + 2x P-net", 23_208),
    ("4x O-net + 4x P-net", 46_408),
    ("8x O-net + 8x P-net", 92_808),
    ("Time", 7_336),
    ("Time-freq", 196_816),
    ("Black-box", 3_275_312),
];

#[test]
fn table1_expands_to_the_papers_eleven_models() {
    let e = load("experiments/table1.toml", None);
    let got: Vec<(&str, usize)> = e
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.arch.param_count()))
        .collect();
    assert_eq!(got, TABLE1);
    for m in &e.models {
        let paper = m.paper.as_ref().map(|p| p.params);
        assert_eq!(paper, Some(m.arch.param_count()), "{}", m.name);
        assert_eq!(m.arch.frames, m.chunk_frames);
        assert_eq!(m.arch.bands, 40);
        assert_eq!(m.arch.classes, 8);
    }
    assert_eq!(e.protocol.folds, 10);
    assert_eq!(
        e.dataset,
        DatasetSource::Synthetic {
            size: SyntheticSize::Full,
            seed: spec::SYNTHETIC_SEED
        }
    );
}

#[test]
fn table1_baselines_use_the_cbmi_settings() {
    let e = load("experiments/table1.toml", None);
    for name in ["Time", "Time-freq", "Black-box"] {
        let m = e.model(name).unwrap_or_else(|| panic!("no model {name}"));
        assert_eq!(
            (m.chunk_frames, m.hops.as_slice()),
            (80, &[80][..]),
            "{name}"
        );
        assert_eq!(m.arch.init, Init::GlorotUniform, "{name}");
    }
    let o = e.model("O-net").unwrap_or_else(|| panic!("no O-net"));
    assert_eq!((o.chunk_frames, o.hops.as_slice()), (250, &[250, 80][..]));
    assert_eq!(o.arch.init, Init::HeUniform);
    let widths: Vec<usize> = o.arch.banks[0].groups.iter().map(|g| g.width).collect();
    assert_eq!(widths, [6, 11, 16, 21, 26, 31, 36, 41]);
    assert!(o.arch.banks[0]
        .groups
        .iter()
        .all(|g| g.count == 5 && g.height == 1));
    assert_eq!(o.arch.banks[0].pool_freq, PoolExtent::Factor(4));
    let tf = e
        .model("Time-freq")
        .unwrap_or_else(|| panic!("no Time-freq"));
    assert_eq!(tf.arch.hidden, [200]);
    assert_eq!(tf.arch.feature_len(), 960);
    let paper = o
        .paper
        .as_ref()
        .map(|p| p.accuracy.clone())
        .unwrap_or_default();
    assert_eq!(paper.get(&250), Some(&76.66));
    assert_eq!(paper.get(&80), Some(&85.24));
}

#[test]
fn quick_and_tiny_profiles_override_the_protocol_only() {
    let quick = load("experiments/table1.toml", Some("quick"));
    assert_eq!(quick.profile.as_deref(), Some("quick"));
    assert!(matches!(
        quick.dataset,
        DatasetSource::Synthetic {
            size: SyntheticSize::Small,
            ..
        }
    ));
    assert_eq!(quick.models.len(), 11);
    assert_eq!(quick.protocol.folds, 2);
    let o = quick.model("O-net").unwrap_or_else(|| panic!("no O-net"));
    assert_eq!((o.hops.as_slice(), o.train.epochs), (&[250][..], 10));
    let time = quick.model("Time").unwrap_or_else(|| panic!("no Time"));
    assert_eq!(time.hops, [80], "a model's own hops win over the profile's");
    let tiny = load("experiments/table1.toml", Some("tiny"));
    let names: Vec<&str> = tiny.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["O-net", "O-net + P-net", "Time"]);
    assert!(matches!(
        tiny.dataset,
        DatasetSource::Synthetic {
            size: SyntheticSize::Tiny,
            ..
        }
    ));
}

#[test]
fn unknown_profile_names_the_available_ones() {
    let err = spec::load(&repo("experiments/table1.toml"), Some("quik")).map(|_| ());
    let Err(SpecError::Invalid(d)) = err else {
        panic!("expected an invalid-spec error, got {err:?}");
    };
    assert_eq!(d.message, "unknown profile `quik`");
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `quick`? valid profiles: `quick`, `tiny`")
    );
}
