//! [`Task`]: everything needed to compute one artifact (cargo's `Unit`), and
//! [`TaskKind`], the stages of the pipeline.
//!
//! A task carries two kinds of data: the *keyed* part (kind, parameters,
//! source hashes, upstream keys → [`Key`]) and the *locator* ([`Locator`]),
//! which says where to find inputs on this machine (a track's file) and is
//! deliberately left out of the key.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::key::{task_key, Key, KeyInput};

/// The stages of the pipeline, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Decode one track and compute its log-mel spectrogram.
    Features,
    /// Normalisation statistics over the songs' spectrograms.
    Norm,
    /// The chunk set of one (chunk frames, hop, fold): which song and start
    /// frame every training, validation and test chunk has.
    Chunks,
    /// Train one (model, hop, fold), keep the best-validation model, evaluate
    /// it on the test songs (chunk and song level).
    Train,
    /// Collect every fold's test metrics of the experiment.
    Aggregate,
    /// Render the experiment's tables and plots.
    Report,
}

/// Code versions: bump the kind's constant whenever the bytes its tasks
/// produce change for the same inputs (so old cache entries are not reused).
pub mod code_version {
    /// Features: the feature module's own version.
    pub const FEATURES: u32 = crate::features::FEATURE_CODE_VERSION;
    /// Normalisation statistics (f64 accumulation in upstream-key order).
    pub const NORM: u32 = 1;
    /// Chunk sets (`chunks.json` layout).
    pub const CHUNKS: u32 = 1;
    /// Training and evaluation.
    pub const TRAIN: u32 = 1;
    /// Aggregated metrics (`results.json` layout).
    pub const AGGREGATE: u32 = 1;
    /// Reports.
    pub const REPORT: u32 = 1;
}

impl TaskKind {
    /// Every kind, in pipeline order.
    pub const ALL: [TaskKind; 6] = [
        TaskKind::Features,
        TaskKind::Norm,
        TaskKind::Chunks,
        TaskKind::Train,
        TaskKind::Aggregate,
        TaskKind::Report,
    ];

    /// The kind's name (cache directory, ids, tables).
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Features => "features",
            TaskKind::Norm => "norm",
            TaskKind::Chunks => "chunks",
            TaskKind::Train => "train",
            TaskKind::Aggregate => "aggregate",
            TaskKind::Report => "report",
        }
    }

    /// The version of the code that computes this kind (part of every key).
    pub fn code_version(self) -> u32 {
        match self {
            TaskKind::Features => code_version::FEATURES,
            TaskKind::Norm => code_version::NORM,
            TaskKind::Chunks => code_version::CHUNKS,
            TaskKind::Train => code_version::TRAIN,
            TaskKind::Aggregate => code_version::AGGREGATE,
            TaskKind::Report => code_version::REPORT,
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A task's stable, human-readable identity within one experiment:
/// `features/Waltz/Media-105901`, `train/O-net/hop250/fold3`, …
///
/// Unlike the key it does not change when inputs change, which is how a
/// new plan finds the previous key of "the same" task to explain a rerun.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskId(pub String);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a task finds what is not in its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locator {
    /// Nothing beyond the key's inputs and the upstream outputs.
    None,
    /// Index of the track in the dataset's track list.
    Track(usize),
    /// Index of the model in the experiment's model list.
    Model(usize),
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Stable identity.
    pub id: TaskId,
    /// Stage.
    pub kind: TaskKind,
    /// Parameters that determine the output (canonicalised into the key).
    pub params: serde_json::Value,
    /// Content hashes of source inputs, by name (e.g. `audio`).
    pub sources: BTreeMap<String, String>,
    /// Upstream tasks whose outputs this task reads, sorted.
    pub deps: Vec<TaskId>,
    /// The key: a hash of everything above (see [`task_key`]).
    pub key: Key,
    /// Where to find what the key leaves out.
    pub locator: Locator,
    /// Whether it runs on the device queue when a GPU is used (training).
    pub wants_gpu: bool,
}

impl Task {
    /// Builds a task and computes its key from `upstream` (the deps' keys).
    pub fn new(
        id: String,
        kind: TaskKind,
        params: serde_json::Value,
        sources: BTreeMap<String, String>,
        deps: Vec<(TaskId, Key)>,
        locator: Locator,
    ) -> Self {
        let upstream: Vec<Key> = deps.iter().map(|(_, k)| *k).collect();
        let key = task_key(KeyInput {
            kind: kind.name(),
            code_version: kind.code_version(),
            params: &params,
            sources: &sources,
            upstream: &upstream,
        });
        let mut deps: Vec<TaskId> = deps.into_iter().map(|(id, _)| id).collect();
        deps.sort();
        deps.dedup();
        Self {
            id: TaskId(id),
            kind,
            params,
            sources,
            deps,
            key,
            locator,
            wants_gpu: kind == TaskKind::Train,
        }
    }

    /// The label shown in progress lines and logs: the id without the kind prefix.
    pub fn label(&self) -> String {
        self.id.0.clone()
    }
}
