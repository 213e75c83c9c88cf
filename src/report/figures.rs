//! Choosing what each plot shows from a report's input and table: the best
//! (model, hop) for the confusion matrix, the fold-mean training curves per
//! hop, the filters when given. Then drawing them into the staged directory.
//!
//! Must not know how plots are drawn (that is [`super::plot`]) nor how the
//! table was aggregated.

use super::frame::Table;
use super::plot::{
    mean_over_folds, write_plot, AccuracyPlot, ConfusionPlot, CurvesPlot, FiltersPlot, ModelCurve,
};
use super::write::StagedDir;
use super::{ReportError, ReportInput};

/// The (model index, hop) with the highest mean song-level accuracy; ties go
/// to the earlier model in spec order, then the earlier hop.
pub fn best_model(table: &Table) -> Option<(usize, usize)> {
    best_model_among(table, |_| true)
}

/// [`best_model`] among the models (spec indices) that `keep` accepts.
pub fn best_model_among(table: &Table, keep: impl Fn(usize) -> bool) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize, f64)> = None;
    for (i, row) in table.rows.iter().enumerate().filter(|(i, _)| keep(*i)) {
        for cell in &row.cells {
            if let Some(mean) = cell.song_mean {
                if best.is_none_or(|(_, _, b)| mean > b) {
                    best = Some((i, cell.hop, mean));
                }
            }
        }
    }
    best.map(|(i, hop, _)| (i, hop))
}

/// Song-level confusion matrix of `model` at `hop`, summed over its folds
/// (matrices of different sizes are summed in the top-left corner).
fn summed_confusion(input: &ReportInput, model: &str, hop: usize) -> Vec<Vec<u64>> {
    let mut sum: Vec<Vec<u64>> = Vec::new();
    let runs = input
        .runs
        .iter()
        .map(|r| &r.metrics)
        .filter(|m| m.model == model && m.hop == hop);
    for metrics in runs {
        let n = metrics.confusion.len().max(sum.len());
        sum.resize_with(n, Vec::new);
        for row in &mut sum {
            row.resize(n, 0);
        }
        for (r, row) in metrics.confusion.iter().enumerate() {
            for (c, &count) in row.iter().enumerate() {
                sum[r][c] += u64::from(count);
            }
        }
    }
    sum
}

/// Fold-mean training curves per hop of the table, one per model with runs
/// (folds in fold order, so the means do not depend on run order).
fn curves(input: &ReportInput, table: &Table) -> Vec<(usize, Vec<ModelCurve>)> {
    let mut runs: Vec<_> = input.runs.iter().collect();
    runs.sort_by_key(|r| r.metrics.fold);
    table
        .hops
        .iter()
        .map(|&hop| {
            let models = input
                .models
                .iter()
                .enumerate()
                .filter_map(|(color, info)| {
                    let folds = runs
                        .iter()
                        .filter(|r| r.metrics.model == info.name && r.metrics.hop == hop)
                        .map(|r| r.epochs.as_slice());
                    let points = mean_over_folds(folds);
                    (!points.is_empty()).then(|| ModelCurve {
                        model: info.name.clone(),
                        color,
                        points,
                    })
                })
                .collect();
            (hop, models)
        })
        .collect()
}

/// Draws every plot that has data into `staged`; returns one line per plot
/// that was left out and why.
pub(crate) fn write_figures(
    input: &ReportInput,
    table: &Table,
    staged: &mut StagedDir,
) -> Result<Vec<String>, ReportError> {
    fn record(staged: &mut StagedDir, names: [String; 2]) {
        for name in names {
            staged.record(name);
        }
    }
    let mut skipped = Vec::new();
    let names = write_plot(&AccuracyPlot::new(table, &input.paper_only), staged.path())?;
    record(staged, names);
    match best_model(table) {
        Some((index, hop)) => {
            let model = &input.models[index].name;
            let title = format!(
                "Confusion matrix of the best model: {model}, hop {hop} (summed over folds)"
            );
            let matrix = summed_confusion(input, model, hop);
            let plot = ConfusionPlot::new(title, matrix, &input.class_names);
            record(staged, write_plot(&plot, staged.path())?);
        }
        None => skipped.push("confusion: no run has results".to_owned()),
    }
    let curves = curves(input, table);
    if curves.iter().any(|(_, models)| !models.is_empty()) {
        let curves = curves.into_iter().filter(|(_, m)| !m.is_empty()).collect();
        record(staged, write_plot(&CurvesPlot::new(curves), staged.path())?);
    } else {
        skipped.push("training_curves: no run has epoch metrics".to_owned());
    }
    match &input.filters {
        Some(weights) if !weights.groups.is_empty() => {
            record(
                staged,
                write_plot(&FiltersPlot::new(weights), staged.path())?,
            );
        }
        _ => skipped.push("filters: no first-layer filter weights were given".to_owned()),
    }
    Ok(skipped)
}
