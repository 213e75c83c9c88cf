//! The report task: gathers everything Table 1 needs from the cache into one
//! [`ReportInput`] (`report_input.json` in its entry). `tempora run` then
//! writes `reports/<experiment>/` from it, and `tempora report SPEC`
//! re-renders it without training anything.
//!
//! What comes from where:
//!
//! | field of [`ReportInput`] | source |
//! |---|---|
//! | experiment, title, description, profile, protocol, dataset (name, tracks, content hash), spec hash, models with the paper's numbers, reference rows, class names | the task's parameters ([`ReportParams`], fixed at plan time) |
//! | runs (test metrics, epochs) | every train entry: `test.json`, `epochs.csv` |
//! | device | the devices the runs recorded |
//! | wall time | the sum of the runs' training seconds |
//! | filters | `best.safetensors` of the best model that has 1×n filters, first fold |
//! | notes | derived: profile, synthetic data, unfinished runs |
//!
//! [`gather`] also serves `tempora report SPEC` on a partly finished
//! experiment: it takes whichever train entries exist, and the report marks
//! the missing folds.

use std::collections::BTreeSet;
use std::path::Path;

use crate::exec::store::Store;
use crate::layout::files;
use crate::model::{group_weight_name, ArchConfig, BankAxis};
use crate::plan::params::ReportParams;
use crate::plan::{Key, Task, TaskKind};
use crate::report::{
    self, EpochRow, FilterGroupWeights, FilterWeights, ReportInput, RunMetrics, RunOutput, SongRow,
};
use crate::train::entry::{parse_epochs_csv, EpochMetrics, SongPrediction, TestMetrics};
use crate::train::weights::decode_safetensors;

use super::{write_json, Context, TaskError};

/// Gathers the report input from the train entries `trains` (any subset of
/// the planned ones; missing runs are reported as missing, never filled).
pub fn gather(
    store: &Store,
    params: &ReportParams,
    trains: &[Key],
) -> Result<ReportInput, TaskError> {
    let runs = trains
        .iter()
        .map(|key| read_run(store, key))
        .collect::<Result<Vec<_>, _>>()?;
    let devices: BTreeSet<&str> = runs.iter().map(|r| r.metrics.device.as_str()).collect();
    let device = if devices.is_empty() {
        "none (no run has finished)".to_owned()
    } else {
        devices.into_iter().collect::<Vec<_>>().join(", ")
    };
    let wall_seconds = runs.iter().map(|r| r.metrics.seconds).sum();
    let mut input = ReportInput {
        experiment: params.experiment.clone(),
        title: params.title.clone(),
        description: params.description.clone(),
        spec_hash: params.spec_hash.clone(),
        // No profile: the spec as written, which is not necessarily a paper's protocol.
        profile: params
            .profile
            .clone()
            .unwrap_or_else(|| "none (the spec as written)".into()),
        dataset: params.dataset.clone(),
        protocol: params.protocol.clone(),
        folds: params.folds,
        device,
        code_version: code_version(),
        wall_seconds,
        notes: Vec::new(),
        class_names: params.class_names.clone(),
        models: params.models.clone(),
        paper_only: params.references.clone(),
        claims: params.claims.clone(),
        runs,
        filters: None,
    };
    input.notes = notes(params, &input);
    input.filters = first_layer_filters(store, params, &input, trains)?;
    Ok(input)
}

/// One train entry's test metrics and epochs, copied into the report's rows.
fn read_run(store: &Store, key: &Key) -> Result<RunOutput, TaskError> {
    let (kind, hex) = (TaskKind::Train.name(), key.hex());
    let metrics: TestMetrics = read_json(store, kind, &hex, files::TEST)?;
    let csv = store.read_output(kind, &hex, files::EPOCHS)?;
    let epochs = parse_epochs_csv(&csv).map_err(|what| TaskError::Format {
        task: format!(
            "train/{}/hop{}/fold{}",
            metrics.model, metrics.hop, metrics.fold
        ),
        what: format!("{}: {what}", files::EPOCHS),
    })?;
    Ok(RunOutput {
        metrics: run_metrics(metrics),
        epochs: epochs.into_iter().map(epoch_row).collect(),
    })
}

/// The report's copy of a run's test metrics (every field, so
/// `report_input.json` holds what `test.json` holds).
fn run_metrics(m: TestMetrics) -> RunMetrics {
    let song = |s: SongPrediction| SongRow {
        track: s.track,
        label: s.label,
        predicted: s.predicted,
        votes: s.votes,
    };
    RunMetrics {
        model: m.model,
        hop: m.hop,
        fold: m.fold,
        params: m.params,
        chunk_accuracy: m.chunk_accuracy,
        song_accuracy: m.song_accuracy,
        epochs_run: m.epochs_run,
        best_epoch: m.best_epoch,
        seconds: m.seconds,
        device: m.device,
        confusion: m.confusion,
        songs: m.songs.into_iter().map(song).collect(),
    }
}

/// The report's copy of one epoch's metrics.
fn epoch_row(e: EpochMetrics) -> EpochRow {
    EpochRow {
        epoch: e.epoch,
        train_loss: e.train_loss,
        train_accuracy: e.train_accuracy,
        val_loss: e.val_loss,
        val_accuracy: e.val_accuracy,
        learning_rate: e.learning_rate,
        seconds: e.seconds,
    }
}

/// The report task: gathers from every upstream train entry.
pub fn compute(ctx: &Context, task: &Task, p: &ReportParams, out: &Path) -> Result<(), TaskError> {
    let trains: Vec<Key> = task
        .deps
        .iter()
        .filter(|d| d.kind == TaskKind::Train)
        .map(|d| d.key)
        .collect();
    let input = gather(&ctx.store, p, &trains)?;
    input.validate().map_err(|e| TaskError::Invalid {
        task: task.id.0.clone(),
        reason: e.to_string(),
    })?;
    write_json(task, out, files::REPORT_INPUT, &input)
}

/// Reads the report input a report entry holds.
pub fn read_input(store: &Store, key: &Key) -> Result<ReportInput, TaskError> {
    read_json(
        store,
        TaskKind::Report.name(),
        &key.hex(),
        files::REPORT_INPUT,
    )
}

fn read_json<T: serde::de::DeserializeOwned>(
    store: &Store,
    kind: &str,
    key: &str,
    file: &str,
) -> Result<T, TaskError> {
    let bytes = store.read_output(kind, key, file)?;
    serde_json::from_slice(&bytes).map_err(|e| TaskError::Format {
        task: format!("{kind}/{}", &key[..key.len().min(12)]),
        what: format!("{file}: {e}"),
    })
}

/// The crate version and the cache code versions of the tasks behind a report.
pub fn code_version() -> String {
    format!(
        "tempora {} (task code: features v{}, train v{}, report v{})",
        env!("CARGO_PKG_VERSION"),
        TaskKind::Features.code_version(),
        TaskKind::Train.code_version(),
        TaskKind::Report.code_version()
    )
}

/// Remarks for the report header: what the numbers are not.
fn notes(params: &ReportParams, input: &ReportInput) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(profile) = &params.profile {
        let compare = if input.quotes_papers() {
            " Compare trends, not values, with the paper's columns."
        } else {
            ""
        };
        notes.push(format!(
            "Profile `{profile}`{}: a reduced protocol, not the spec's full one (which runs \
             without `--profile`).{compare}",
            params
                .profile_description
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
    }
    if params.dataset.name.starts_with("synthetic") {
        notes.push(
            "Dataset: tempora's embedded synthetic corpus (generated rhythms with Ballroom's \
             classes and tempo statistics), not Ballroom. Point to a real copy with \
             `TEMPORA_BALLROOM=/path` or `--data ballroom:/path`."
                .to_owned(),
        );
    }
    let planned: usize = params.models.iter().map(|m| m.hops.len()).sum::<usize>() * params.folds;
    if input.runs.len() < planned {
        notes.push(format!(
            "{} of the {planned} planned runs have finished; means marked (k/n folds) average \
             only the finished folds.",
            input.runs.len()
        ));
    }
    notes
}

/// The 1×n filters of the best model that has some (highest mean song
/// accuracy; its lowest finished fold at that hop).
fn first_layer_filters(
    store: &Store,
    params: &ReportParams,
    input: &ReportInput,
    keys: &[Key],
) -> Result<Option<FilterWeights>, TaskError> {
    let table = report::frame::per_fold_frame(input)
        .and_then(|frame| report::frame::build_table(input, &frame));
    let Ok(table) = table else {
        return Ok(None);
    };
    let best = report::best_model_among(&table, |m| {
        params.archs.get(m).is_some_and(has_time_filters)
    });
    let Some((m, hop)) = best else {
        return Ok(None);
    };
    let model = &params.models[m].name;
    let run = input
        .runs
        .iter()
        .zip(keys)
        .filter(|(r, _)| &r.metrics.model == model && r.metrics.hop == hop)
        .min_by_key(|(r, _)| r.metrics.fold);
    let Some((run, key)) = run else {
        return Ok(None);
    };
    let bytes = store.read_output(TaskKind::Train.name(), &key.hex(), files::WEIGHTS)?;
    let origin = Path::new(files::WEIGHTS);
    let (tensors, _) = decode_safetensors(&bytes, origin).map_err(|e| TaskError::Format {
        task: format!("train/{model}/hop{hop}/fold{}", run.metrics.fold),
        what: e.to_string(),
    })?;
    let mut groups: Vec<FilterGroupWeights> = Vec::new();
    for (b, bank) in params.archs[m].banks.iter().enumerate() {
        if bank.axis != BankAxis::Time {
            continue;
        }
        for (g, group) in bank.groups.iter().enumerate() {
            let name = group_weight_name(b, g);
            let Some(t) = tensors.iter().find(|t| t.name == name) else {
                return Err(TaskError::Format {
                    task: format!("train/{model}/hop{hop}/fold{}", run.metrics.fold),
                    what: format!("{}: no tensor {name} for bank {b}", files::WEIGHTS),
                });
            };
            let width = group.width;
            let filters: Vec<Vec<f32>> =
                t.values.chunks_exact(width).map(<[f32]>::to_vec).collect();
            match groups.iter_mut().find(|x| x.length == width) {
                Some(existing) => existing.filters.extend(filters),
                None => groups.push(FilterGroupWeights {
                    length: width,
                    filters,
                }),
            }
        }
    }
    groups.sort_by_key(|g| g.length);
    Ok(Some(FilterWeights {
        model: model.clone(),
        hop,
        fold: run.metrics.fold,
        groups,
    }))
}

fn has_time_filters(arch: &ArchConfig) -> bool {
    arch.banks
        .iter()
        .any(|b| b.axis == BankAxis::Time && b.groups.iter().all(|g| g.height == 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report's rows serialise exactly as the train entry's files do.
    #[test]
    fn the_report_rows_copy_every_field_of_the_train_entry() {
        let metrics = TestMetrics {
            model: "m".into(),
            hop: 80,
            fold: 2,
            params: 1234,
            chunk_accuracy: 0.5,
            song_accuracy: 0.75,
            epochs_run: 7,
            best_epoch: 5,
            seconds: 1.25,
            device: "cpu".into(),
            confusion: vec![vec![1, 0], vec![0, 1]],
            songs: vec![SongPrediction {
                track: "a/1".into(),
                label: 1,
                predicted: 0,
                votes: vec![3, 2],
            }],
        };
        let epoch = EpochMetrics {
            epoch: 1,
            train_loss: 2.0794,
            train_accuracy: 0.125,
            val_loss: 2.07,
            val_accuracy: 0.2,
            learning_rate: 0.01,
            seconds: 1.5,
        };
        let ours = serde_json::to_string_pretty(&run_metrics(metrics.clone())).unwrap();
        assert_eq!(ours, serde_json::to_string_pretty(&metrics).unwrap());
        let ours = serde_json::to_string_pretty(&epoch_row(epoch.clone())).unwrap();
        assert_eq!(ours, serde_json::to_string_pretty(&epoch).unwrap());
    }
}
