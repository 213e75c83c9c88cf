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
use crate::report::{self, FilterGroupWeights, FilterWeights, ReportInput, RunOutput};
use crate::train::export::decode_safetensors;
use crate::train::{EpochMetrics, TestMetrics};

use super::{write_json, Context, TaskError};

/// Gathers the report input from the train entries `trains` (any subset of
/// the planned ones; missing runs are reported as missing, never filled).
pub fn gather(
    store: &Store,
    params: &ReportParams,
    trains: &[Key],
) -> Result<ReportInput, TaskError> {
    let kind = TaskKind::Train.name();
    let mut runs = Vec::with_capacity(trains.len());
    let mut keys = Vec::with_capacity(trains.len());
    for key in trains {
        let hex = key.hex();
        let metrics: TestMetrics = read_json(store, kind, &hex, files::TEST)?;
        let csv = store.read_output(kind, &hex, files::EPOCHS)?;
        let epochs = parse_epochs(&csv).map_err(|what| TaskError::Format {
            task: format!(
                "train/{}/hop{}/fold{}",
                metrics.model, metrics.hop, metrics.fold
            ),
            what: format!("{}: {what}", files::EPOCHS),
        })?;
        keys.push(*key);
        runs.push(RunOutput { metrics, epochs });
    }
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
    input.filters = first_layer_filters(store, params, &input, &keys)?;
    Ok(input)
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

/// Parses `epochs.csv` (header [`crate::train::export::EPOCH_CSV_HEADER`]).
fn parse_epochs(bytes: &[u8]) -> Result<Vec<EpochMetrics>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header != crate::train::export::EPOCH_CSV_HEADER {
        return Err(format!("unexpected header `{header}`"));
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| {
            let at = |e: String| format!("line {}: {e}", i + 2);
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != 7 {
                return Err(at(format!("{} cells, expected 7", cells.len())));
            }
            let f = |j: usize| cells[j].parse::<f64>().map_err(|e| at(e.to_string()));
            Ok(EpochMetrics {
                epoch: cells[0].parse().map_err(|e| at(format!("{e}")))?,
                train_loss: f(1)?,
                train_accuracy: f(2)?,
                val_loss: f(3)?,
                val_accuracy: f(4)?,
                learning_rate: f(5)?,
                seconds: f(6)?,
            })
        })
        .collect()
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
    use crate::train::export::epochs_csv;

    #[test]
    fn epochs_csv_round_trips() {
        let history = vec![EpochMetrics {
            epoch: 1,
            train_loss: 2.0794,
            train_accuracy: 0.125,
            val_loss: 2.07,
            val_accuracy: 0.2,
            learning_rate: 0.01,
            seconds: 1.5,
        }];
        let parsed = parse_epochs(epochs_csv(&history).as_bytes()).unwrap();
        assert_eq!(parsed, history);
    }

    #[test]
    fn epochs_csv_errors_name_the_line() {
        let bad = format!("{}\n1,2,3\n", crate::train::export::EPOCH_CSV_HEADER);
        let err = parse_epochs(bad.as_bytes()).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(parse_epochs(b"epoch,loss\n").is_err());
    }
}
