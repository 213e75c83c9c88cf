//! Planning: an [`Experiment`] becomes a DAG of tasks whose keys are content
//! hashes of their inputs, so only what is missing is computed, and every
//! rerun can say why.
//!
//! Must not know how tasks run: nothing here decodes audio, trains, or
//! touches a cache entry beyond asking the store whether it holds a valid one.
//!
//! # The pipeline as tasks
//!
//! ```text
//! features/<track>  ──▶ norm/all (or norm/fold<k>) ─────────────┐
//!        │                                                       ▼
//!        └──────────▶ chunks/frames<N>/hop<h>/fold<k> ──▶ train/<model>/hop<h>/fold<k>
//!                                                                │ (all of them)
//!                                                   report/<exp> ◀┘
//! ```
//!
//! Training and evaluation are one task: the model kept (best validation
//! accuracy) is evaluated on the test songs before the task ends, so no
//! weights travel between tasks just to be tested.
//!
//! # Keys
//!
//! One function computes every key ([`key::task_key`]): blake3 over
//! [`key::KEY_VERSION`], the kind, the kind's code version
//! ([`versions`]), the canonical JSON of the typed parameters
//! ([`params::TaskParams`]), the source
//! content hashes and the sorted upstream keys (snakemake's provenance hash,
//! cargo's fingerprint). Changing one model's bank re-keys only that model's
//! train tasks (and the report that collects them); changing the
//! dataset re-keys every features task and so, through upstream keys,
//! everything.
//!
//! | kind | parameters | sources | upstream |
//! |---|---|---|---|
//! | features | `FeatureConfig` | audio content hash (file bytes, or generator parameters) | — |
//! | norm | `NormConfig`; the ordered songs (track id, label, features key); train-only: fold, folds, seed | — | every features task |
//! | chunks | chunk frames, hop, fold, folds, seed, chunk and short-song policies, ordered songs | — | every features task |
//! | train | model name, `ArchConfig`, `TrainConfig` (seed included), hop, fold, device class, `FeatureConfig`, class names, dataset hash | — | its chunks and norm tasks |
//! | report | experiment name and description, spec hash, dataset, the paper's numbers per model, architectures | — | every train task |
//!
//! Deliberately left out (cargo's "considerations for inclusion"):
//! - **absolute paths** — a moved dataset or cache keeps its keys; a track is
//!   found through its [`task::Locator`], never keyed;
//! - **mtimes** — used only by the [`sources`] index to skip re-hashing an
//!   unchanged file, never inside a key;
//! - **`HashMap` order** — graphs are `BTreeMap`s and parameters canonical JSON
//!   with sorted keys;
//! - **`{:?}` of floats** — floats are written by serde_json's shortest
//!   round-trip form;
//! - **thread counts, `--jobs`, the CUDA device index** — CPU results are
//!   bit-identical whatever the thread count; only the device *class* (CPU
//!   or CUDA) is keyed, because the two differ in the last bits;
//! - **track ids and labels in features keys** — two identical files share one
//!   features entry (ids and labels enter the chunk and norm keys instead:
//!   test predictions name their track);
//! - **the tool version** — only the per-kind code versions, which a guard
//!   test keeps in step with the code each kind runs ([`versions`]).
//!
//! # Modules
//!
//! - [`task`]: `Task`, `TaskKind`, `TaskId`, `Dep`.
//! - [`params`]: the typed parameters of every kind (`TaskParams`).
//! - [`versions`]: each kind's code version and the guard that keeps it honest.
//! - [`graph`]: `TaskGraph` (a `BTreeMap`, deterministic).
//! - [`key`]: the key function.
//! - [`frozen`]: a plan frozen to a file, whose tasks another process runs by id or key.
//! - [`build`]: spec + dataset → graph.
//! - [`sources`]: the (path, size, mtime) → blake3 index of audio files.
//! - [`freshness`]: `Freshness { Fresh, Stale(StaleReason) }` against the store.
//! - [`record`]: the last planned inputs per task id, to explain reruns.
//! - [`estimate`]: FLOPs and time per training task.
//! - [`dot`], [`json`]: `--dot` and `--json` output.

pub mod build;
#[cfg(test)]
pub mod code_digest;
pub mod dot;
pub mod estimate;
pub mod freshness;
pub mod frozen;
pub mod graph;
pub mod json;
pub mod key;
pub mod params;
pub mod record;
pub mod sources;
pub mod task;
pub mod versions;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::dataset::balance::balance_warnings;
use crate::dataset::canonical::{self, Md5Index};
use crate::dataset::{Dataset, DatasetError};
use crate::exec::store::{Check, Store, StoreError};
use crate::spec::Experiment;

pub use build::{build, PlanOptions};
pub use freshness::{Freshness, StaleReason};
pub use frozen::{FrozenError, FrozenPlan};
pub use graph::TaskGraph;
pub use key::{Key, KEY_VERSION};
pub use params::{DeviceClass, TaskKind, TaskParams};
pub use record::PlanRecord;
pub use task::{Dep, KeyError, Locator, Task, TaskId};

/// Why an experiment could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The dataset's track list could not be loaded.
    #[error("cannot list the dataset's tracks: {0}")]
    Dataset(#[from] DatasetError),
    /// A track's content could not be hashed.
    #[error(transparent)]
    Source(#[from] sources::SourceError),
    /// The cache could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The dataset has another number of classes than the spec's protocol.
    #[error("dataset {dataset} has {found} classes but the spec says classes = {spec}; set [protocol] classes = {found}")]
    ClassMismatch {
        /// Dataset name.
        dataset: String,
        /// Classes in the dataset.
        found: usize,
        /// Classes in the spec.
        spec: usize,
    },
    /// The dataset has a single class: nothing to classify.
    #[error("dataset {dataset} has a single class ({class}); classification needs at least 2: add a folder per class")]
    OneClass {
        /// Dataset name.
        dataset: String,
        /// The class.
        class: String,
    },
    /// One recording (same content hash) appears under two labels.
    #[error("the same recording (blake3 {hash}…) is track '{first}' and track '{second}', under two labels; remove one copy or move it to its one class")]
    SameRecording {
        /// Track id of the first copy.
        first: String,
        /// Track id of the second copy.
        second: String,
        /// The content hash, abbreviated.
        hash: String,
    },
    /// Fewer songs than folds.
    #[error(
        "dataset {dataset} has {songs} songs, fewer than the {folds} folds; lower [protocol] folds"
    )]
    TooFewSongs {
        /// Dataset name.
        dataset: String,
        /// Songs in the dataset.
        songs: usize,
        /// Folds in the spec.
        folds: usize,
    },
    /// `--only` names no model of the spec.
    #[error("--only {name:?}: no such model in the spec (did you mean {nearest:?}?)")]
    NoSuchModel {
        /// The name given.
        name: String,
        /// The closest model name.
        nearest: String,
    },
    /// `--folds` names a fold the protocol does not have.
    #[error("--folds {fold}: the protocol has folds 0..{folds}")]
    NoSuchFold {
        /// The fold given.
        fold: usize,
        /// Folds in the spec.
        folds: usize,
    },
    /// A task's parameters could not be encoded for its key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A planner bug (inconsistent graph).
    #[error("internal planning error: {0} (please report this)")]
    Internal(String),
}

/// A planned experiment: its graph, each task's freshness, and where the
/// plan record lives.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The experiment.
    pub experiment: Experiment,
    /// Its dataset's track list.
    pub dataset: Dataset,
    /// The tasks.
    pub graph: TaskGraph,
    /// Freshness of every task.
    pub freshness: BTreeMap<TaskId, Freshness>,
    /// The plan record's path in the cache.
    pub record_path: PathBuf,
    /// The device class training was keyed for: running the plan on another
    /// class is refused ([`crate::tasks::TaskError::WrongDevice`]).
    pub device: DeviceClass,
    /// What to tell the user about the data before training, one sentence
    /// each: the class balance against the folds
    /// ([`crate::dataset::balance`]), a copy that is not canonical.
    pub warnings: Vec<String>,
}

/// One row of the per-kind table of `tempora plan` and `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KindSummary {
    /// The kind.
    pub kind: TaskKind,
    /// Tasks of the kind.
    pub total: usize,
    /// Fresh ones.
    pub cached: usize,
    /// Stale ones.
    pub to_run: usize,
    /// Stale ones per reason class.
    pub reasons: BTreeMap<&'static str, usize>,
}

/// Loads the dataset's track list, hashes its sources (through the index),
/// builds the graph and judges it against the store.
pub fn prepare(
    experiment: Experiment,
    store: &Store,
    opts: &PlanOptions,
    check: Check,
) -> Result<Plan, PlanError> {
    let dataset = experiment.dataset.load()?;
    let mut index = sources::SourceIndex::load(store.root());
    let hashes = index.hash_tracks(&dataset.tracks)?;
    index.save()?;
    let mut checksums = Md5Index::load(&store.layout().checksum_index());
    let canonical = canonical::of_source(&experiment.dataset, &mut checksums)?;
    checksums.save();
    let canonical = canonical.map(|v| (v.summary(), v.is_exact()));
    let summary = canonical.as_ref().map(|(words, _)| words.as_str());
    let graph = build(&experiment, &dataset, &hashes, summary, opts)?;
    let mut warnings = balance_warnings(&dataset, experiment.protocol.folds, experiment.seed);
    if let Some((words, false)) = canonical {
        warnings.push(format!("{}: {words}", dataset.name));
    }
    let record_path = store
        .layout()
        .plan_record(&experiment.name, experiment.profile.as_deref());
    let previous = PlanRecord::load(&record_path);
    let freshness = freshness::judge(&graph, store, check, previous.as_ref())?;
    Ok(Plan {
        experiment,
        dataset,
        graph,
        freshness,
        record_path,
        device: opts.device,
        warnings,
    })
}

impl Plan {
    /// Whether `id` must run.
    pub fn is_stale(&self, id: &TaskId) -> bool {
        !matches!(self.freshness.get(id), Some(Freshness::Fresh))
    }

    /// The per-kind table, in pipeline order.
    pub fn summary(&self) -> Vec<KindSummary> {
        TaskKind::ALL
            .iter()
            .filter_map(|&kind| {
                let mut row = KindSummary {
                    kind,
                    total: 0,
                    cached: 0,
                    to_run: 0,
                    reasons: BTreeMap::new(),
                };
                for task in self.graph.of_kind(kind) {
                    row.total += 1;
                    match self.freshness.get(&task.id) {
                        Some(Freshness::Fresh) => row.cached += 1,
                        Some(Freshness::Stale(reason)) => {
                            row.to_run += 1;
                            *row.reasons.entry(reason.class()).or_insert(0) += 1;
                        }
                        None => row.to_run += 1,
                    }
                }
                (row.total > 0).then_some(row)
            })
            .collect()
    }

    /// Records this plan's inputs per task (call when a run starts).
    pub fn save_record(&self) -> Result<(), StoreError> {
        let older = PlanRecord::load(&self.record_path);
        PlanRecord::of(&self.graph).save(&self.record_path, older)
    }
}
