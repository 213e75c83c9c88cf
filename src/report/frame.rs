//! The polars side of a report: every run's test metrics gathered into one
//! tidy per-fold [`DataFrame`] ([`per_fold_frame`]), aggregated per
//! (model, hop) into mean ± standard deviation over folds ([`aggregate`]),
//! and joined with the spec's model list and the paper's numbers into
//! [`TableRow`]s.
//!
//! **Standard deviation** is the *sample* standard deviation over folds
//! (divisor n − 1, polars `std(1)`): the folds are a sample of the possible
//! splits, and the sample estimate is what cross-validation papers report. With
//! a single fold it is undefined and shown as missing.
//!
//! Must not know where the numbers came from (cache, fixture) or how they were
//! trained.

use polars::prelude::*;

use super::{ReportError, ReportInput, RunMetrics};

/// Column names of the per-fold frame (`results.csv`, `results.json`), in order.
pub const PER_FOLD_COLUMNS: [&str; 11] = [
    "model",
    "hop",
    "fold",
    "params",
    "chunk_accuracy",
    "song_accuracy",
    "balanced_song_accuracy",
    "epochs_run",
    "best_epoch",
    "seconds",
    "device",
];

/// One (model, hop) cell of Table 1: what ran, our aggregate, the paper's value.
#[derive(Debug, Clone, PartialEq)]
pub struct HopSummary {
    /// Chunk hop in frames.
    pub hop: usize,
    /// Whether the spec runs this model at this hop at all.
    pub planned: bool,
    /// Folds with results.
    pub folds_run: usize,
    /// Folds the protocol plans.
    pub folds_planned: usize,
    /// Mean song-level accuracy over the folds that ran (0..1).
    pub song_mean: Option<f64>,
    /// Sample standard deviation (n − 1) of the song-level accuracy over folds.
    pub song_std: Option<f64>,
    /// Mean balanced song-level accuracy (mean per-class recall) over the folds (0..1).
    pub balanced_mean: Option<f64>,
    /// Sample standard deviation (n − 1) of the balanced song-level accuracy.
    pub balanced_std: Option<f64>,
    /// Mean chunk-level accuracy over the folds that ran (0..1).
    pub chunk_mean: Option<f64>,
    /// Sample standard deviation (n − 1) of the chunk-level accuracy over folds.
    pub chunk_std: Option<f64>,
    /// Training seconds summed over the folds that ran.
    pub seconds: Option<f64>,
    /// The paper's mean song-level accuracy (0..1), if it reports one.
    pub paper: Option<f64>,
    /// Ours − paper (0..1 scale), when both exist.
    pub difference: Option<f64>,
}

/// One row of Table 1 (one model, spec order), with a cell per table hop.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// Model name as in the spec.
    pub model: String,
    /// Our parameter count.
    pub params: usize,
    /// The paper's parameter count, if it reports this model.
    pub paper_params: Option<usize>,
    /// One cell per hop of [`Table::hops`], in the same order.
    pub cells: Vec<HopSummary>,
}

/// Table 1 as numbers: hops (columns) and rows in spec order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Chunk hops, in order of first appearance in the spec.
    pub hops: Vec<usize>,
    /// Rows, in spec order.
    pub rows: Vec<TableRow>,
}

/// Builds the tidy per-fold frame (one row per run), sorted by spec model
/// order, then the model's hop order, then fold.
pub fn per_fold_frame(input: &ReportInput) -> Result<DataFrame, ReportError> {
    let mut runs: Vec<_> = input.runs.iter().map(|r| &r.metrics).collect();
    runs.sort_by_key(|m| {
        let model = input.model_index(&m.model).unwrap_or(usize::MAX);
        let hop = input
            .models
            .get(model)
            .and_then(|info| info.hops.iter().position(|&h| h == m.hop))
            .unwrap_or(usize::MAX);
        (model, hop, m.fold)
    });
    let u64s = |f: &dyn Fn(&RunMetrics) -> usize| -> Vec<u64> {
        runs.iter().map(|m| f(m) as u64).collect()
    };
    let frame = df!(
        "model" => runs.iter().map(|m| m.model.as_str()).collect::<Vec<_>>(),
        "hop" => u64s(&|m| m.hop),
        "fold" => u64s(&|m| m.fold),
        "params" => u64s(&|m| m.params),
        "chunk_accuracy" => runs.iter().map(|m| m.chunk_accuracy).collect::<Vec<_>>(),
        "song_accuracy" => runs.iter().map(|m| m.song_accuracy).collect::<Vec<_>>(),
        "balanced_song_accuracy" => runs.iter().map(|m| m.balanced_song_accuracy()).collect::<Vec<_>>(),
        "epochs_run" => u64s(&|m| m.epochs_run),
        "best_epoch" => u64s(&|m| m.best_epoch),
        "seconds" => runs.iter().map(|m| m.seconds).collect::<Vec<_>>(),
        "device" => runs.iter().map(|m| m.device.as_str()).collect::<Vec<_>>(),
    )?;
    Ok(frame)
}

/// Aggregates the per-fold frame per (model, hop), keeping first-appearance
/// order: `folds`, `params`, `song_mean`, `song_std`, `balanced_mean`,
/// `balanced_std`, `chunk_mean`,
/// `chunk_std`, `seconds`. Standard deviations are sample (n − 1).
pub fn aggregate(per_fold: &DataFrame) -> Result<DataFrame, ReportError> {
    let frame = per_fold
        .clone()
        .lazy()
        .group_by_stable([col("model"), col("hop")])
        .agg([
            col("fold").count().cast(DataType::UInt64).alias("folds"),
            col("params").max().alias("params"),
            col("params").min().alias("params_min"),
            col("song_accuracy").mean().alias("song_mean"),
            col("song_accuracy").std(1).alias("song_std"),
            col("balanced_song_accuracy").mean().alias("balanced_mean"),
            col("balanced_song_accuracy").std(1).alias("balanced_std"),
            col("chunk_accuracy").mean().alias("chunk_mean"),
            col("chunk_accuracy").std(1).alias("chunk_std"),
            col("seconds").sum().alias("seconds"),
        ])
        .collect()?;
    Ok(frame)
}

/// One aggregated (model, hop) as read back from the polars frame.
struct Aggregate {
    model: String,
    hop: usize,
    folds: usize,
    params: (usize, usize),
    song: (Option<f64>, Option<f64>),
    balanced: (Option<f64>, Option<f64>),
    chunk: (Option<f64>, Option<f64>),
    seconds: Option<f64>,
}

fn read_aggregates(agg: &DataFrame) -> Result<Vec<Aggregate>, ReportError> {
    let model = agg.column("model")?.str()?;
    let u = |name: &str| -> Result<Vec<usize>, ReportError> {
        Ok(agg
            .column(name)?
            .u64()?
            .into_iter()
            .map(|v| v.unwrap_or(0) as usize)
            .collect())
    };
    let f = |name: &str| -> Result<Vec<Option<f64>>, ReportError> {
        Ok(agg
            .column(name)?
            .f64()?
            .into_iter()
            .map(|v| v.filter(|x| x.is_finite()))
            .collect())
    };
    let (hop, folds, pmax, pmin) = (u("hop")?, u("folds")?, u("params")?, u("params_min")?);
    let (song_mean, song_std) = (f("song_mean")?, f("song_std")?);
    let (balanced_mean, balanced_std) = (f("balanced_mean")?, f("balanced_std")?);
    let (chunk_mean, chunk_std, seconds) = (f("chunk_mean")?, f("chunk_std")?, f("seconds")?);
    Ok((0..agg.height())
        .map(|i| Aggregate {
            model: model.get(i).unwrap_or_default().to_owned(),
            hop: hop[i],
            folds: folds[i],
            params: (pmin[i], pmax[i]),
            song: (song_mean[i], song_std[i]),
            balanced: (balanced_mean[i], balanced_std[i]),
            chunk: (chunk_mean[i], chunk_std[i]),
            seconds: seconds[i],
        })
        .collect())
}

/// Builds Table 1: every spec model × every hop any model runs, our
/// aggregates where runs exist, the paper's numbers, and the differences.
///
/// Fails when a run's parameter count differs from the model's (the cache
/// holds results of another architecture).
pub fn build_table(input: &ReportInput, per_fold: &DataFrame) -> Result<Table, ReportError> {
    let aggregates = read_aggregates(&aggregate(per_fold)?)?;
    let mut hops = Vec::new();
    for hop in input.models.iter().flat_map(|m| m.hops.iter().copied()) {
        if !hops.contains(&hop) {
            hops.push(hop);
        }
    }
    let mut rows = Vec::with_capacity(input.models.len());
    for info in &input.models {
        let mut cells = Vec::with_capacity(hops.len());
        for &hop in &hops {
            let found = aggregates
                .iter()
                .find(|a| a.model == info.name && a.hop == hop);
            if let Some(a) = found.filter(|a| a.params != (info.params, info.params)) {
                return Err(ReportError::Input(format!(
                    "model `{}` at hop {hop}: runs report {}..{} parameters but the spec's \
                     architecture has {}; the cached results belong to another architecture \
                     (rerun the experiment)",
                    info.name, a.params.0, a.params.1, info.params
                )));
            }
            let paper = info.paper_accuracy.get(&hop).copied();
            let song_mean = found.and_then(|a| a.song.0);
            cells.push(HopSummary {
                hop,
                planned: info.hops.contains(&hop),
                folds_run: found.map_or(0, |a| a.folds),
                folds_planned: input.folds,
                song_mean,
                song_std: found.and_then(|a| a.song.1),
                balanced_mean: found.and_then(|a| a.balanced.0),
                balanced_std: found.and_then(|a| a.balanced.1),
                chunk_mean: found.and_then(|a| a.chunk.0),
                chunk_std: found.and_then(|a| a.chunk.1),
                seconds: found.and_then(|a| a.seconds),
                paper,
                difference: song_mean.zip(paper).map(|(ours, paper)| ours - paper),
            });
        }
        rows.push(TableRow {
            model: info.name.clone(),
            params: info.params,
            paper_params: info.paper_params,
            cells,
        });
    }
    Ok(Table { hops, rows })
}

/// Column names of the per-(model, hop) summary (`summary.csv`), in order.
pub const SUMMARY_COLUMNS: [&str; 14] = [
    "model",
    "hop",
    "folds_run",
    "folds_planned",
    "params",
    "paper_params",
    "song_accuracy_mean",
    "song_accuracy_std",
    "balanced_song_accuracy_mean",
    "balanced_song_accuracy_std",
    "chunk_accuracy_mean",
    "chunk_accuracy_std",
    "paper_song_accuracy",
    "difference",
];

/// Table 1 as a tidy frame, one row per planned (model, hop), for
/// `summary.csv`; missing values are nulls (empty CSV fields).
pub fn summary_frame(table: &Table) -> Result<DataFrame, ReportError> {
    let cells: Vec<_> = table
        .rows
        .iter()
        .flat_map(|row| {
            row.cells
                .iter()
                .filter(|c| c.planned)
                .map(move |c| (row, c))
        })
        .collect();
    let f =
        |get: fn(&HopSummary) -> Option<f64>| cells.iter().map(|(_, c)| get(c)).collect::<Vec<_>>();
    let frame = df!(
        SUMMARY_COLUMNS[0] => cells.iter().map(|(r, _)| r.model.as_str()).collect::<Vec<_>>(),
        SUMMARY_COLUMNS[1] => cells.iter().map(|(_, c)| c.hop as u64).collect::<Vec<_>>(),
        SUMMARY_COLUMNS[2] => cells.iter().map(|(_, c)| c.folds_run as u64).collect::<Vec<_>>(),
        SUMMARY_COLUMNS[3] => cells.iter().map(|(_, c)| c.folds_planned as u64).collect::<Vec<_>>(),
        SUMMARY_COLUMNS[4] => cells.iter().map(|(r, _)| r.params as u64).collect::<Vec<_>>(),
        SUMMARY_COLUMNS[5] => cells.iter().map(|(r, _)| r.paper_params.map(|p| p as u64)).collect::<Vec<_>>(),
        SUMMARY_COLUMNS[6] => f(|c| c.song_mean),
        SUMMARY_COLUMNS[7] => f(|c| c.song_std),
        SUMMARY_COLUMNS[8] => f(|c| c.balanced_mean),
        SUMMARY_COLUMNS[9] => f(|c| c.balanced_std),
        SUMMARY_COLUMNS[10] => f(|c| c.chunk_mean),
        SUMMARY_COLUMNS[11] => f(|c| c.chunk_std),
        SUMMARY_COLUMNS[12] => f(|c| c.paper),
        SUMMARY_COLUMNS[13] => f(|c| c.difference),
    )?;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample standard deviation (n − 1) of 0.5, 0.7, 0.9 is 0.2.
    #[test]
    fn aggregate_uses_the_sample_standard_deviation() {
        let frame = df!(
            "model" => ["a", "a", "a", "b"],
            "hop" => [80u64, 80, 80, 80],
            "fold" => [0u64, 1, 2, 0],
            "params" => [10u64, 10, 10, 20],
            "chunk_accuracy" => [0.5, 0.5, 0.5, 0.4],
            "song_accuracy" => [0.5, 0.7, 0.9, 0.4],
            "balanced_song_accuracy" => [Some(0.5), Some(0.6), None, Some(0.4)],
            "epochs_run" => [1u64, 1, 1, 1],
            "best_epoch" => [1u64, 1, 1, 1],
            "seconds" => [1.0, 2.0, 3.0, 4.0],
            "device" => ["cpu", "cpu", "cpu", "cpu"],
        )
        .unwrap();
        let rows = read_aggregates(&aggregate(&frame).unwrap()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].model.as_str(), rows[0].folds), ("a", 3));
        assert!((rows[0].song.0.unwrap() - 0.7).abs() < 1e-12);
        assert!((rows[0].song.1.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(rows[0].seconds, Some(6.0));
        // A run without a confusion matrix has no balanced accuracy: the mean is over the others.
        assert!((rows[0].balanced.0.unwrap() - 0.55).abs() < 1e-12);
        // One fold: the sample standard deviation is undefined, not zero.
        assert_eq!(rows[1].song.1, None);
    }
}
