//! The regression check (`tempora::regression`, what `tempora check` runs):
//! passes against its own results; fails naming the model and the reason for
//! a higher-accuracy baseline, another parameter count, missing models and
//! folds; the allowed drop follows the paired fold-to-fold spread; the three
//! baseline formats are read by their header. The end-to-end check against
//! the committed tiny baseline is in `tests/suite/model_packages.rs`.

use std::collections::BTreeMap;

use tempora::regression::{
    compare, read_baseline, render, Baseline, Current, CurrentRun, Failure, Tolerance, MIN_MARGIN,
};

fn current(model: &str, params: usize, accuracies: &[f64]) -> Current {
    Current {
        params: BTreeMap::from([(model.to_owned(), params)]),
        runs: accuracies
            .iter()
            .enumerate()
            .map(|(fold, &a)| CurrentRun {
                model: model.to_owned(),
                hop: 250,
                fold,
                song_accuracy: a,
            })
            .collect(),
    }
}

/// The per-fold results.json a report would write for `current`.
fn results_json(current: &Current) -> String {
    let rows: Vec<serde_json::Value> = current
        .runs
        .iter()
        .map(|r| {
            serde_json::json!({"model": r.model, "hop": r.hop, "fold": r.fold,
                "params": current.params[&r.model], "chunk_accuracy": 0.5,
                "song_accuracy": r.song_accuracy, "epochs_run": 1, "best_epoch": 1,
                "seconds": 1.0, "device": "cpu"})
        })
        .collect();
    serde_json::to_string(&rows).unwrap()
}

fn baseline_of(text: &str, name: &str) -> Baseline {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    read_baseline(&path).unwrap()
}

#[test]
fn passes_against_its_own_results() {
    let now = current("O-net", 4188, &[0.5, 0.75, 0.625]);
    let baseline = baseline_of(&results_json(&now), "results.json");
    let report = compare(&baseline, &now, Tolerance::default());
    assert!(report.passed(), "{}", render(&report));
    assert!(render(&report).contains("check passed"));
}

#[test]
fn a_higher_accuracy_baseline_fails_naming_the_model_and_the_reason() {
    let now = current("O-net", 4188, &[0.5, 0.5, 0.5]);
    let better = current("O-net", 4188, &[0.8, 0.8, 0.8]);
    let baseline = baseline_of(&results_json(&better), "results.json");
    let report = compare(&baseline, &now, Tolerance::default());
    assert!(!report.passed());
    assert!(matches!(
        report.rows[0].failures[..],
        [Failure::Accuracy { drop, allowed }] if (drop - 0.3).abs() < 1e-12 && (allowed - MIN_MARGIN).abs() < 1e-12
    ));
    let text = render(&report);
    assert!(
        text.contains("O-net") && text.contains("song accuracy dropped 30.00 pp"),
        "{text}"
    );
}

#[test]
fn another_parameter_count_fails_naming_the_model() {
    let now = current("P-net", 7428, &[0.5, 0.5]);
    let other = current("P-net", 7000, &[0.5, 0.5]);
    let report = compare(
        &baseline_of(&results_json(&other), "r.json"),
        &now,
        Tolerance::default(),
    );
    assert_eq!(
        report.rows[0].failures,
        [Failure::Params {
            baseline: 7000,
            current: 7428
        }]
    );
    assert!(render(&report).contains("P-net"));
    assert!(render(&report).contains("parameter count changed: 7000 → 7428"));
}

/// A drop within fold-to-fold noise passes; the same mean drop with
/// consistent differences fails.
#[test]
fn the_allowed_drop_follows_the_paired_spread() {
    let base = current("m", 1, &[0.6, 0.6, 0.6, 0.6]);
    let noisy = current("m", 1, &[0.7, 0.4, 0.7, 0.4]); // mean drop 0.05, sd of d ≈ 0.173
    let steady = current("m", 1, &[0.55, 0.55, 0.55, 0.55]); // mean drop 0.05, sd 0
    let baseline = baseline_of(&results_json(&base), "results.json");
    assert!(compare(&baseline, &noisy, Tolerance::default()).passed());
    let report = compare(&baseline, &steady, Tolerance::default());
    assert!(!report.passed(), "{}", render(&report));
    // t(0.95, 3) · s / √n + margin for the noisy one.
    let d: [f64; 4] = [-0.1, 0.2, -0.1, 0.2];
    let mean = d.iter().sum::<f64>() / 4.0;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let allowed = compare(&baseline, &noisy, Tolerance::default()).rows[0]
        .allowed
        .unwrap();
    assert!((allowed - (2.353 * sd / 2.0 + MIN_MARGIN)).abs() < 1e-12);
    // A fixed tolerance replaces the statistic.
    assert!(compare(&baseline, &steady, Tolerance::Fixed(0.06)).passed());
}

#[test]
fn missing_models_and_folds_fail_and_new_models_pass() {
    let base = current("m", 1, &[0.5, 0.5, 0.5]);
    let baseline = baseline_of(&results_json(&base), "results.json");
    let fewer = current("m", 1, &[0.5, 0.5]);
    let report = compare(&baseline, &fewer, Tolerance::default());
    assert_eq!(report.rows[0].failures, [Failure::FoldsMissing(vec![2])]);
    let renamed = current("n", 1, &[0.5, 0.5, 0.5]);
    let report = compare(&baseline, &renamed, Tolerance::default());
    assert_eq!(report.rows[0].failures, [Failure::ModelMissing]);
    assert_eq!(report.rows[1].model, "n");
    assert!(report.rows[1].passed());
    assert!(render(&report).contains("new (not in the baseline)"));
}

#[test]
fn csv_baselines_are_read_by_their_header() {
    let per_fold =
        "model,hop,fold,params,chunk_accuracy,song_accuracy,epochs_run,best_epoch,seconds,device\n\
                    \"O-net, wide\",250,0,10,0.5,0.5,1,1,1.0,cpu\n\
                    \"O-net, wide\",250,1,10,0.5,0.7,1,1,1.0,cpu\n";
    let b = baseline_of(per_fold, "results.csv");
    assert_eq!(b.rows.len(), 1);
    assert_eq!(b.rows[0].model, "O-net, wide");
    assert_eq!(b.rows[0].folds.as_ref().unwrap().len(), 2);
    let summary = "model,hop,folds_run,folds_planned,params,paper_params,song_accuracy_mean,song_accuracy_std,chunk_accuracy_mean,chunk_accuracy_std,paper_song_accuracy,difference\n\
                   O-net,250,3,3,4188,4188,0.6,0.1,0.5,0.1,,\n\
                   P-net,250,0,3,7428,7428,,,,,,\n";
    let b = baseline_of(summary, "summary.csv");
    assert_eq!(b.rows.len(), 1, "rows without runs are skipped");
    assert_eq!(b.rows[0].song_std, Some(0.1));
    let now = current("O-net", 4188, &[0.6, 0.6, 0.6]);
    assert!(compare(&b, &now, Tolerance::default()).passed());
    let worse = current("O-net", 4188, &[0.4, 0.4, 0.4]);
    assert!(!compare(&b, &worse, Tolerance::default()).passed());
}

#[test]
fn a_file_that_is_no_baseline_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    std::fs::write(&path, "{\"a\": 1}").unwrap();
    let err = read_baseline(&path).unwrap_err().to_string();
    assert!(
        err.contains("x.json") && err.contains("results.json"),
        "{err}"
    );
}
