//! Spec loading end to end: the shipped experiments expand as documented
//! (Table 1's parameter counts, profiles, sweeps), the spec hash ignores
//! formatting, and every malformed spec of `tests/specs/` fails with the
//! located message and hint snapshotted in `tests/suite/snapshots/`.

use std::path::{Path, PathBuf};

use tempora::dataset::{DatasetSource, SyntheticSize};
use tempora::model::{Init, PoolExtent};
use tempora::spec::{self, Experiment, SpecError};

use crate::common::TABLE1_PARAMS;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn load(path: &str, profile: Option<&str>) -> Experiment {
    match spec::load(&repo(path), profile) {
        Ok(e) => e,
        Err(e) => panic!("{path} (profile {profile:?}) does not load:\n{e}"),
    }
}

#[test]
fn table1_expands_to_the_papers_eleven_models() {
    let e = load("experiments/table1.toml", None);
    let got: Vec<(&str, usize)> = e
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.arch.param_count()))
        .collect();
    assert_eq!(got, TABLE1_PARAMS);
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
            seed: tempora::dataset::synthetic::DEFAULT_SEED
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
            size: SyntheticSize::Full,
            ..
        }
    ));
    let names: Vec<&str> = quick.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "O-net",
            "P-net",
            "O-net + P-net",
            "Time",
            "Time-freq",
            "Black-box"
        ]
    );
    assert_eq!(quick.protocol.folds, 3);
    let o = quick.model("O-net").unwrap_or_else(|| panic!("no O-net"));
    assert_eq!((o.hops.as_slice(), o.train.epochs), (&[250, 80][..], 35));
    // The profile's schedule replaces the protocol's; omitted fields keep the paper's.
    let schedule = o.train.schedule;
    assert_eq!(schedule.val_patience, Some(6));
    assert_eq!((schedule.patience, schedule.stop_after), (20, 40));
    let tiny = load("experiments/table1.toml", Some("tiny"));
    let names: Vec<&str> = tiny.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["O-net", "O-net + P-net", "Time"]);
    let time = tiny.model("Time").unwrap_or_else(|| panic!("no Time"));
    assert_eq!(time.hops, [80], "a model's own hops win over the profile's");
    assert_eq!(tiny.model("O-net").map(|o| o.hops.clone()), Some(vec![250]));
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

#[test]
fn o_net_filters_per_length_sweeps_one_to_ten() {
    let e = load("experiments/ablations/o_net_filters_per_length.toml", None);
    let got: Vec<(String, usize)> = e
        .models
        .iter()
        .map(|m| (m.name.clone(), m.arch.param_count()))
        .collect();
    let want: Vec<(String, usize)> = (1..=10)
        .map(|k| (format!("O-net [O.filters_per_length={k}]"), 836 * k + 8))
        .collect();
    assert_eq!(got, want);
    let fifth = &e.models[4];
    assert_eq!(
        fifth.arch.param_count(),
        4_188,
        "k = 5 is the paper's O-net"
    );
    let point = fifth
        .sweep
        .as_ref()
        .unwrap_or_else(|| panic!("no sweep point"));
    assert_eq!(point.base, "O-net");
    assert_eq!(
        point.settings,
        [("O.filters_per_length".to_owned(), "5".to_owned())]
    );
    assert!(e.models.iter().all(|m| m.paper.is_none()));
    for profile in ["quick", "tiny"] {
        assert_eq!(
            load(
                "experiments/ablations/o_net_filters_per_length.toml",
                Some(profile)
            )
            .models
            .len(),
            10
        );
    }
}

#[test]
fn pooling_sweep_sets_every_bank_of_each_model() {
    let e = load("experiments/ablations/pooling.toml", None);
    let names: Vec<&str> = e.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "O-net [*.pool.freq=2]",
            "O-net [*.pool.freq=4]",
            "O-net [*.pool.freq=8]",
            "P-net [*.pool.freq=2]",
            "P-net [*.pool.freq=4]",
            "P-net [*.pool.freq=8]",
            "O-net + P-net [*.pool.freq=2]",
            "O-net + P-net [*.pool.freq=4]",
            "O-net + P-net [*.pool.freq=8]",
        ]
    );
    let both = e
        .model("O-net + P-net [*.pool.freq=8]")
        .unwrap_or_else(|| panic!("missing"));
    assert!(both
        .arch
        .banks
        .iter()
        .all(|b| b.pool_freq == PoolExtent::Factor(8)));
    // 75 filters × 5 pooled bands into 8 classes, plus the unchanged conv weights.
    assert_eq!(both.arch.param_count(), 11_608 - 75 * 5 * 8);
    let paper = e
        .model("O-net + P-net [*.pool.freq=4]")
        .unwrap_or_else(|| panic!("missing"));
    assert_eq!(paper.arch.param_count(), 11_608);
    for profile in ["quick", "tiny"] {
        assert_eq!(
            load("experiments/ablations/pooling.toml", Some(profile))
                .models
                .len(),
            9
        );
    }
}

/// A two-key sweep: cartesian product, keys sorted, last key fastest, and
/// unselected models left alone.
#[test]
fn sweeps_expand_as_a_sorted_cartesian_product() {
    let text = r#"
[experiment]
name = "product"
dataset = "synthetic:tiny"

[banks.O]
axis = "time"
lengths = [6, 11]
filters_per_length = 2

[[model]]
name = "A"
banks = { O = 1 }

[[model]]
name = "B"
banks = { O = 1 }

[sweep]
models = ["B"]
"lr" = [0.1, 0.01]
"banks.O" = [1, 3]
"#;
    let e = spec::parse(text, "product.toml", None).unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<(&str, usize, f64)> = e
        .models
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.arch.banks[0].groups[0].count,
                m.train.learning_rate,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("A", 2, 0.01),
            ("B [O=1, lr=0.1]", 2, 0.1),
            ("B [O=1, lr=0.01]", 2, 0.01),
            ("B [O=3, lr=0.1]", 6, 0.1),
            ("B [O=3, lr=0.01]", 6, 0.01),
        ]
    );
}

const HASHED: &str = r#"
[experiment]
name = "hashed"
dataset = "synthetic:tiny"

[banks.O]
axis = "time"
lengths = { from = 6, to = 41, step = 5 }
filters_per_length = 5

[[model]]
name = "O-net"
banks = { O = 1 }
"#;

#[test]
fn spec_hash_ignores_formatting_but_not_values() {
    let hash = |text: &str| {
        spec::parse(text, "hashed.toml", None)
            .map(|e| e.hash().expect("a parsed spec hashes"))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let base = hash(HASHED);
    let reformatted = HASHED
        .replace("[banks.O]", "# the O bank\n[banks.O]   # onset filters")
        .replace(" = ", "=")
        .replace(
            "lengths={ from=6, to=41, step=5 }",
            "lengths = [6, 11, 16, 21, 26, 31, 36, 41]",
        );
    assert_ne!(reformatted, HASHED);
    assert_eq!(
        hash(&reformatted),
        base,
        "comments, spacing and spelling of lengths"
    );
    let defaults_spelt_out = HASHED.replace(
        "[banks.O]",
        "[protocol]\nfolds = 10\nhops = [250, 80]\nlr = 0.01\n\n[banks.O]",
    );
    assert_eq!(hash(&defaults_spelt_out), base, "defaults written out");
    assert_ne!(
        hash(&HASHED.replace("filters_per_length = 5", "filters_per_length = 4")),
        base
    );
    assert_ne!(
        hash(&HASHED.replace("synthetic:tiny", "synthetic:small")),
        base
    );
    let e = spec::parse(HASHED, "hashed.toml", None).unwrap_or_else(|e| panic!("{e}"));
    let moved = e.clone().with_dataset(DatasetSource::Synthetic {
        size: SyntheticSize::Tiny,
        seed: 12,
    });
    assert_ne!(
        moved.hash().unwrap(),
        e.hash().unwrap(),
        "with_dataset changes the hash"
    );
    assert_eq!(base.to_string().len(), 64);
}

#[test]
fn table1_titles_its_report_and_quotes_marchand_as_a_reference() {
    let exp = load("experiments/table1.toml", None);
    assert_eq!(exp.title, "Table 1");
    assert!(exp.description.as_deref().unwrap().contains("Pons & Serra"));
    let names: Vec<(&str, f64)> = exp
        .references
        .iter()
        .map(|r| (r.name.as_str(), r.accuracy))
        .collect();
    assert_eq!(names, [("Marchand et al.", 96.0)]);
    let quick = load("experiments/table1.toml", Some("quick"));
    assert!(quick
        .profile_description
        .as_deref()
        .unwrap()
        .starts_with("CPU"));
    assert_eq!(
        quick.description, exp.description,
        "a profile keeps the experiment's description"
    );
    let pooling = load("experiments/ablations/pooling.toml", None);
    assert!(pooling.references.is_empty());
    assert!(pooling.title.starts_with("Frequency pooling"));
}

#[test]
fn a_spec_over_one_mebibyte_is_refused_before_parsing() {
    // A valid spec padded with a comment to just over 1 MiB, read from a
    // file (the size is checked before reading) and as text.
    let table1 = std::fs::read_to_string(repo("experiments/table1.toml")).unwrap();
    let padding = "#".repeat((1 << 20) + 1 - table1.len());
    let text = format!("{table1}\n{padding}\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    std::fs::write(&path, &text).unwrap();
    let from_file = spec::load(&path, None).unwrap_err().to_string();
    assert!(
        from_file.contains("specs of at most 1048576 bytes"),
        "{from_file}"
    );
    let err = spec::parse(&text, "big.toml", None).unwrap_err();
    insta::assert_snapshot!("spec_over_one_mebibyte", err.to_string());
}

/// The malformed-spec corpus: every file fails with a located message and a
/// hint. A file may ask for a profile on a line `# test: --profile NAME`.
#[test]
fn malformed_specs_fail_with_located_hints() {
    let dir = repo("tests/specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "the corpus has only {} specs",
        files.len()
    );
    for path in files {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let profile = text
            .lines()
            .find_map(|l| l.strip_prefix("# test: --profile "))
            .map(str::trim);
        let origin = format!("tests/specs/{stem}.toml");
        let err = match spec::parse(&text, &origin, profile) {
            Ok(_) => panic!("{origin} loads, but it is meant to be malformed"),
            Err(e) => e,
        };
        let d = err
            .diagnostic()
            .unwrap_or_else(|| panic!("{origin}: no diagnostic: {err}"));
        assert!(d.hint.is_some(), "{origin} has no hint:\n{err}");
        insta::assert_snapshot!(stem, err.to_string());
    }
}
