//! Regression checks: an experiment's current results against a baseline
//! (an earlier report's `results.json`, `results.csv` or `summary.csv`, e.g.
//! one committed to the repository). What `tempora check` runs in a user's CI.
//!
//! # What fails
//! For every (model, hop) of the baseline:
//! - **parameters**: the model's parameter count (counted from its
//!   architecture in the current spec) differs from the baseline's;
//! - **missing**: the model is not in the current experiment, or folds the
//!   baseline has are not finished now;
//! - **accuracy**: the mean song-level accuracy dropped by more than the
//!   allowed drop.
//!
//! Models or hops that are new (not in the baseline) pass, marked `new`.
//!
//! # The statistic
//! With a per-fold baseline (`results.json`/`results.csv`) the comparison is
//! *paired* across folds (same fold = same split of the songs): with
//! `d_f = baseline_f − current_f` over the n folds both have, mean `d̄` and
//! sample standard deviation `s` (divisor n − 1), the check fails when
//!
//! ```text
//! d̄ > t(0.95, n − 1) · s / √n + margin
//! ```
//!
//! the upper end of a one-sided 95 % confidence interval of "no drop" plus a
//! minimum margin ([`MIN_MARGIN`], one percentage point), so that a drop
//! consistent with fold-to-fold noise passes and identical results always
//! pass. With one fold, or a `summary.csv` baseline (no per-fold values), the
//! spread is the baseline's own sample standard deviation over folds (none
//! with one fold: only the margin). `--tolerance X` replaces the whole
//! allowed drop with X (a fraction: 0.02 = 2 percentage points).

pub mod baseline;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::stats::{mean_sd, t95};

pub use baseline::{read_baseline, Baseline, BaselineRow};

/// The minimum allowed drop in mean song accuracy (0..1): one percentage point.
pub const MIN_MARGIN: f64 = 0.01;

/// Why a baseline could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegressionError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The baseline file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a report's results or summary.
    #[error("{}: {what} (expected a report's results.json, results.csv or summary.csv)", path.display())]
    Format {
        /// The baseline file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// One finished run now: what the check compares.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRun {
    /// Model name.
    pub model: String,
    /// Chunk hop.
    pub hop: usize,
    /// Fold.
    pub fold: usize,
    /// Song-level accuracy (0..1).
    pub song_accuracy: f64,
}

/// The current experiment: parameter counts of its models (from their
/// architectures) and every finished run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    /// Parameters per model name.
    pub params: BTreeMap<String, usize>,
    /// Finished runs.
    pub runs: Vec<CurrentRun>,
}

impl Current {
    /// The current results as a report input holds them: every model's
    /// parameter count and every finished run.
    pub fn from_report(input: &crate::report::ReportInput) -> Self {
        Self {
            params: input
                .models
                .iter()
                .map(|m| (m.name.clone(), m.params))
                .collect(),
            runs: input
                .runs
                .iter()
                .map(|r| CurrentRun {
                    model: r.metrics.model.clone(),
                    hop: r.metrics.hop,
                    fold: r.metrics.fold,
                    song_accuracy: r.metrics.song_accuracy,
                })
                .collect(),
        }
    }
}

/// The allowed drop: derived from fold-to-fold variance, or fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// `t(0.95, n − 1) · s / √n + margin` (module docs).
    Statistical {
        /// The minimum margin ([`MIN_MARGIN`] by default).
        margin: f64,
    },
    /// Exactly this drop (0..1).
    Fixed(f64),
}

impl Default for Tolerance {
    fn default() -> Self {
        Self::Statistical { margin: MIN_MARGIN }
    }
}

/// Why one (model, hop) fails.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The parameter count changed.
    Params {
        /// The baseline's.
        baseline: usize,
        /// Now.
        current: usize,
    },
    /// The model is not in the current experiment.
    ModelMissing,
    /// These baseline folds have no finished run now (summary baselines:
    /// the number of folds short).
    FoldsMissing(Vec<usize>),
    /// Mean song accuracy dropped by more than allowed.
    Accuracy {
        /// Baseline mean − current mean (0..1).
        drop: f64,
        /// The allowed drop (0..1).
        allowed: f64,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Params { baseline, current } => {
                write!(f, "parameter count changed: {baseline} → {current}")
            }
            Self::ModelMissing => write!(f, "model missing from the experiment"),
            Self::FoldsMissing(folds) => write!(f, "folds missing: {folds:?}"),
            Self::Accuracy { drop, allowed } => write!(
                f,
                "song accuracy dropped {:.2} pp (allowed {:.2} pp)",
                100.0 * drop,
                100.0 * allowed
            ),
        }
    }
}

/// The verdict on one (model, hop).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    /// Model name.
    pub model: String,
    /// Chunk hop.
    pub hop: usize,
    /// The baseline's parameters (`None`: new model).
    pub baseline_params: Option<usize>,
    /// Parameters now (`None`: model missing).
    pub current_params: Option<usize>,
    /// Folds compared.
    pub folds: usize,
    /// Baseline mean song accuracy over the compared folds.
    pub baseline_accuracy: Option<f64>,
    /// Current mean song accuracy over the compared folds.
    pub current_accuracy: Option<f64>,
    /// The allowed drop.
    pub allowed: Option<f64>,
    /// Everything that fails (empty: passes).
    pub failures: Vec<Failure>,
}

impl CheckRow {
    /// Whether this row passes.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The verdict on a whole experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// One row per baseline (model, hop), then the new ones.
    pub rows: Vec<CheckRow>,
}

impl CheckReport {
    /// Whether every row passes.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(CheckRow::passed)
    }
}

fn allowed(tolerance: Tolerance, sd: Option<f64>, n: usize) -> f64 {
    match tolerance {
        Tolerance::Fixed(x) => x,
        Tolerance::Statistical { margin } => match sd {
            Some(s) if n >= 2 => t95(n - 1) * s / (n as f64).sqrt() + margin,
            _ => margin,
        },
    }
}

/// Compares `current` with `baseline` (see the module docs).
pub fn compare(baseline: &Baseline, current: &Current, tolerance: Tolerance) -> CheckReport {
    let mut rows: Vec<CheckRow> = baseline
        .rows
        .iter()
        .map(|b| compare_row(b, current, tolerance))
        .collect();
    let mut new: BTreeMap<(&str, usize), Vec<f64>> = BTreeMap::new();
    for run in &current.runs {
        let known = baseline
            .rows
            .iter()
            .any(|b| b.model == run.model && b.hop == run.hop);
        if !known {
            new.entry((run.model.as_str(), run.hop))
                .or_default()
                .push(run.song_accuracy);
        }
    }
    rows.extend(new.into_iter().map(|((model, hop), acc)| CheckRow {
        model: model.to_owned(),
        hop,
        baseline_params: None,
        current_params: current.params.get(model).copied(),
        folds: acc.len(),
        baseline_accuracy: None,
        current_accuracy: Some(mean_sd(&acc).0),
        allowed: None,
        failures: Vec::new(),
    }));
    CheckReport { rows }
}

fn compare_row(b: &BaselineRow, current: &Current, tolerance: Tolerance) -> CheckRow {
    let mut row = CheckRow {
        model: b.model.clone(),
        hop: b.hop,
        baseline_params: Some(b.params),
        current_params: current.params.get(&b.model).copied(),
        folds: 0,
        baseline_accuracy: None,
        current_accuracy: None,
        allowed: None,
        failures: Vec::new(),
    };
    let Some(params) = row.current_params else {
        row.failures.push(Failure::ModelMissing);
        return row;
    };
    if params != b.params {
        row.failures.push(Failure::Params {
            baseline: b.params,
            current: params,
        });
    }
    let now: BTreeMap<usize, f64> = current
        .runs
        .iter()
        .filter(|r| r.model == b.model && r.hop == b.hop)
        .map(|r| (r.fold, r.song_accuracy))
        .collect();
    let (drop, sd, n) = match &b.folds {
        Some(folds) => {
            let missing: Vec<usize> = folds
                .keys()
                .filter(|f| !now.contains_key(*f))
                .copied()
                .collect();
            if !missing.is_empty() {
                row.failures.push(Failure::FoldsMissing(missing));
            }
            let pairs: Vec<(f64, f64)> = folds
                .iter()
                .filter_map(|(f, base)| now.get(f).map(|cur| (*base, *cur)))
                .collect();
            if pairs.is_empty() {
                return row;
            }
            let (base, _) = mean_sd(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
            let (cur, _) = mean_sd(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
            let diffs: Vec<f64> = pairs.iter().map(|(b, c)| b - c).collect();
            let (d, sd) = mean_sd(&diffs);
            row.baseline_accuracy = Some(base);
            row.current_accuracy = Some(cur);
            (d, sd, pairs.len())
        }
        None => {
            if now.len() < b.folds_run {
                let short = (now.len()..b.folds_run).collect();
                row.failures.push(Failure::FoldsMissing(short));
            }
            if now.is_empty() {
                return row;
            }
            let cur = mean_sd(&now.values().copied().collect::<Vec<_>>()).0;
            row.baseline_accuracy = Some(b.song_mean);
            row.current_accuracy = Some(cur);
            (b.song_mean - cur, b.song_std, b.folds_run)
        }
    };
    row.folds = n;
    let allowed = allowed(tolerance, sd, n);
    row.allowed = Some(allowed);
    if drop > allowed {
        row.failures.push(Failure::Accuracy { drop, allowed });
    }
    row
}

/// The verdict as a table: one line per (model, hop) with what failed.
pub fn render(report: &CheckReport) -> String {
    let pct = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{:.2}", 100.0 * v));
    let num = |v: Option<usize>| v.map_or("—".to_owned(), |v| v.to_string());
    let width = report
        .rows
        .iter()
        .map(|r| r.model.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:<width$}  {:>5}  {:>9}  {:>9}  {:>5}  {:>8}  {:>8}  {:>8}  verdict\n",
        "model", "hop", "params", "(base)", "folds", "acc base", "acc now", "allowed"
    );
    for r in &report.rows {
        let verdict = if r.baseline_params.is_none() {
            "new (not in the baseline)".to_owned()
        } else if r.passed() {
            "ok".to_owned()
        } else {
            let reasons: Vec<String> = r.failures.iter().map(ToString::to_string).collect();
            format!("FAIL: {}", reasons.join("; "))
        };
        out.push_str(&format!(
            "{:<width$}  {:>5}  {:>9}  {:>9}  {:>5}  {:>8}  {:>8}  {:>8}  {verdict}\n",
            r.model,
            r.hop,
            num(r.current_params),
            num(r.baseline_params),
            r.folds,
            pct(r.baseline_accuracy),
            pct(r.current_accuracy),
            pct(r.allowed),
        ));
    }
    let failed = report.rows.iter().filter(|r| !r.passed()).count();
    out.push_str(&match failed {
        0 => "\ncheck passed\n".to_owned(),
        n => format!("\ncheck FAILED: {n} of {} rows\n", report.rows.len()),
    });
    out
}
