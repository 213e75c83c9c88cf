//! Exporting a package: pick one train entry of a plan (model, hop, fold or
//! the best fold), copy its weights and write the manifest from its model
//! card, its test metrics, the chunking it was trained with and the plan's
//! provenance; then load the package back, so that an export that succeeds
//! is one that loads.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use crate::exec::store::Store;
use crate::layout::files;
use crate::plan::params::TrainParams;
use crate::plan::{Freshness, Plan, Task, TaskKind, TaskParams};
use crate::train::export::write_atomic;
use crate::train::weights::decode_safetensors;
use crate::train::{ModelCard, TestMetrics};

use super::manifest::tensor_shapes;
use super::{Manifest, Package, PackageError, PackageMetrics, PackageProvenance};
use super::{MANIFEST_FILE, PACKAGE_FORMAT, WEIGHTS_FILE};

/// Which fold's weights to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldChoice {
    /// This fold (0-based).
    Fold(usize),
    /// The finished fold with the highest test song accuracy (ties: the
    /// lowest fold).
    Best,
}

impl FromStr for FoldChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "best" => Ok(Self::Best),
            n => n
                .parse()
                .map(Self::Fold)
                .map_err(|_| format!("expected a fold number or `best`, got {n:?}")),
        }
    }
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// Model name as in the spec.
    pub model: String,
    /// Chunk hop; may be left out when the spec runs the model at one hop.
    pub hop: Option<usize>,
    /// Which fold.
    pub fold: FoldChoice,
}

fn train_params(task: &Task) -> Option<&TrainParams> {
    match &task.params {
        TaskParams::Train(p) => Some(p),
        _ => None,
    }
}

/// The plan's train tasks of the requested model at the requested hop.
fn model_tasks<'a>(plan: &'a Plan, req: &ExportRequest) -> Result<Vec<&'a Task>, PackageError> {
    let trains: Vec<&Task> = plan.graph.of_kind(TaskKind::Train).collect();
    let of_model: Vec<&Task> = trains
        .iter()
        .copied()
        .filter(|t| train_params(t).is_some_and(|p| p.model == req.model))
        .collect();
    if of_model.is_empty() {
        let names: Vec<&str> = plan
            .experiment
            .models
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        return Err(PackageError::Selection(format!(
            "experiment `{}` has no model `{}`; its models: {}",
            plan.experiment.name,
            req.model,
            names.join(", ")
        )));
    }
    let mut hops: Vec<usize> = of_model
        .iter()
        .filter_map(|t| train_params(t))
        .map(|p| p.hop)
        .collect();
    hops.sort_unstable();
    hops.dedup();
    let hop = match req.hop {
        Some(h) if hops.contains(&h) => h,
        Some(h) => {
            return Err(PackageError::Selection(format!(
                "model `{}` does not run at hop {h}; its hops: {hops:?}",
                req.model
            )))
        }
        None if hops.len() == 1 => hops[0],
        None => {
            return Err(PackageError::Selection(format!(
                "model `{}` runs at hops {hops:?}; choose one with --hop",
                req.model
            )))
        }
    };
    Ok(of_model
        .into_iter()
        .filter(|t| train_params(t).is_some_and(|p| p.hop == hop))
        .collect())
}

fn read_test(store: &Store, task: &Task) -> Result<TestMetrics, PackageError> {
    let bytes = store.read_output(TaskKind::Train.name(), &task.key.hex(), files::TEST)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        PackageError::Selection(format!(
            "{}: {} is not test metrics of this tempora ({e}); rerun the experiment",
            task.id,
            files::TEST
        ))
    })
}

/// The chosen task with its test metrics, and every finished fold's song accuracy.
fn choose<'a>(
    store: &Store,
    plan: &Plan,
    tasks: &[&'a Task],
    req: &ExportRequest,
) -> Result<(&'a Task, TestMetrics, BTreeMap<usize, f64>), PackageError> {
    let mut finished = Vec::new();
    for task in tasks {
        if matches!(plan.freshness.get(&task.id), Some(Freshness::Fresh)) {
            finished.push((*task, read_test(store, task)?));
        }
    }
    let folds = finished
        .iter()
        .map(|(_, m)| (m.fold, m.song_accuracy))
        .collect();
    let not_run = || {
        PackageError::Selection(format!(
            "model `{}`: {} — run the experiment first (`tempora run` with the same spec, \
             --profile and --data), then export",
            req.model,
            match req.fold {
                FoldChoice::Best => "no fold has finished training".to_owned(),
                FoldChoice::Fold(f) => format!("fold {f} has not finished training"),
            }
        ))
    };
    let chosen = match req.fold {
        FoldChoice::Fold(f) => {
            if f >= plan.experiment.protocol.folds {
                return Err(PackageError::Selection(format!(
                    "fold {f} is out of range: the protocol has {} folds (0..{})",
                    plan.experiment.protocol.folds,
                    plan.experiment.protocol.folds - 1
                )));
            }
            finished.into_iter().find(|(_, m)| m.fold == f)
        }
        // Highest song accuracy; on a tie the lowest fold (the first seen
        // in fold order wins because later ones must be strictly better).
        FoldChoice::Best => {
            finished.sort_by_key(|(_, m)| m.fold);
            let mut best: Option<(&Task, TestMetrics)> = None;
            for run in finished {
                match &best {
                    Some(b) if b.1.song_accuracy >= run.1.song_accuracy => {}
                    _ => best = Some(run),
                }
            }
            best
        }
    };
    let (task, metrics) = chosen.ok_or_else(not_run)?;
    Ok((task, metrics, folds))
}

/// Exports one trained model of `plan` (its entries in `store`) as a package
/// in `out` (created; the two package files are replaced), and returns the
/// package loaded back from `out`.
pub fn export(
    store: &Store,
    plan: &Plan,
    req: &ExportRequest,
    out: &Path,
) -> Result<Package, PackageError> {
    let tasks = model_tasks(plan, req)?;
    let (task, metrics, folds) = choose(store, plan, &tasks, req)?;
    let entry = store.entry_dir(TaskKind::Train.name(), &task.key.hex())?;
    let card = ModelCard::load(&entry)?;
    let weights_path = entry.join(&card.weights);
    let weights = std::fs::read(&weights_path).map_err(|source| PackageError::Io {
        path: weights_path.clone(),
        source,
    })?;
    let (tensors, _) = decode_safetensors(&weights, &weights_path)?;
    let manifest = manifest(plan, task, card, metrics, folds, tensor_shapes(&tensors))?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::Manifest {
        path: out.join(MANIFEST_FILE),
        what: format!("encoding: {e}"),
    })?;
    write_atomic(&out.join(WEIGHTS_FILE), &weights)?;
    write_atomic(&out.join(MANIFEST_FILE), &json)?;
    Package::load(out)
}

fn manifest(
    plan: &Plan,
    task: &Task,
    card: ModelCard,
    metrics: TestMetrics,
    folds: BTreeMap<usize, f64>,
    tensors: Vec<super::TensorShape>,
) -> Result<Manifest, PackageError> {
    // The chunking the model was trained with: its chunks task's parameters.
    let chunks = task
        .deps
        .iter()
        .filter(|d| d.kind == TaskKind::Chunks)
        .find_map(|d| match plan.graph.get(&d.id).map(|t| &t.params) {
            Some(TaskParams::Chunks(c)) => Some(c),
            _ => None,
        })
        .ok_or_else(|| {
            PackageError::Selection(format!("{}: the plan has no chunks task upstream", task.id))
        })?;
    let exp = &plan.experiment;
    Ok(Manifest {
        format: PACKAGE_FORMAT,
        model: card.model,
        arch: card.arch,
        features: card.features,
        normalisation: card.normalisation,
        class_names: card.class_names,
        chunk_frames: card.chunk_frames,
        hop: card.hop,
        chunk_policy: chunks.chunk_policy,
        short_songs: chunks.short_songs,
        fold: card.fold,
        weights: WEIGHTS_FILE.to_owned(),
        tensors,
        metrics: PackageMetrics {
            params: metrics.params,
            chunk_accuracy: metrics.chunk_accuracy,
            song_accuracy: metrics.song_accuracy,
            epochs_run: metrics.epochs_run,
            best_epoch: metrics.best_epoch,
            fold_song_accuracy: folds,
        },
        provenance: PackageProvenance {
            experiment: exp.name.clone(),
            profile: exp.profile.clone(),
            spec_hash: exp.hash().map_err(PackageError::SpecHash)?.to_string(),
            dataset: plan.dataset.name.clone(),
            dataset_hash: card.provenance.dataset_hash,
            task_key: card.provenance.task_key,
            code_versions: card.provenance.code_versions,
            tempora_version: env!("CARGO_PKG_VERSION").to_owned(),
            train: card.provenance.train,
            device: card.provenance.device,
        },
    })
}
