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
use super::params::TaskParams;

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
    /// Gather every run of the experiment (test metrics, epochs, filters)
    /// into the report input.
    Report,
}

impl TaskKind {
    /// Every kind, in pipeline order.
    pub const ALL: [TaskKind; 5] = [
        TaskKind::Features,
        TaskKind::Norm,
        TaskKind::Chunks,
        TaskKind::Train,
        TaskKind::Report,
    ];

    /// The kind's name (cache directory, ids, tables).
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Features => "features",
            TaskKind::Norm => "norm",
            TaskKind::Chunks => "chunks",
            TaskKind::Train => "train",
            TaskKind::Report => "report",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The version of the code that computes this kind (part of every key;
    /// see [`super::versions`] for how it cannot go stale).
    pub fn code_version(self) -> u32 {
        super::versions::code_version(self.name())
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

/// An upstream task a task reads: its id, kind and key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dep {
    /// Stable identity.
    pub id: TaskId,
    /// Stage.
    pub kind: TaskKind,
    /// Key (what its outputs are found under).
    pub key: Key,
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Stable identity.
    pub id: TaskId,
    /// Stage (follows from `params`).
    pub kind: TaskKind,
    /// Parameters that determine the output (canonicalised into the key).
    pub params: TaskParams,
    /// Content hashes of source inputs, by name (e.g. `audio`).
    pub sources: BTreeMap<String, String>,
    /// Upstream tasks whose outputs this task reads, sorted by id.
    pub deps: Vec<Dep>,
    /// The key: a hash of everything above (see [`task_key`]).
    pub key: Key,
    /// Where to find what the key leaves out.
    pub locator: Locator,
}

impl Task {
    /// Builds a task and computes its key from its parameters, sources and deps.
    pub fn new(
        id: String,
        params: TaskParams,
        sources: BTreeMap<String, String>,
        deps: Vec<Dep>,
        locator: Locator,
    ) -> Self {
        let kind = params.kind();
        let mut deps = deps;
        deps.sort();
        deps.dedup();
        let key = derive_key(&params, &sources, &deps);
        Self {
            id: TaskId(id),
            kind,
            params,
            sources,
            deps,
            key,
            locator,
        }
    }

    /// This task as a dependency of another.
    pub fn as_dep(&self) -> Dep {
        Dep {
            id: self.id.clone(),
            kind: self.kind,
            key: self.key,
        }
    }

    /// The key of the upstream task of `kind` (the first, by id), if any.
    pub fn upstream(&self, kind: TaskKind) -> Option<&Dep> {
        self.deps.iter().find(|d| d.kind == kind)
    }

    /// Whether it runs on the device queue when a GPU is used (training).
    pub fn wants_gpu(&self) -> bool {
        self.kind == TaskKind::Train
    }

    /// Computes the key again from what the task says it is (a frozen plan's
    /// reader compares it with the recorded key).
    pub fn derived_key(&self) -> Key {
        derive_key(&self.params, &self.sources, &self.deps)
    }
}

fn derive_key(params: &TaskParams, sources: &BTreeMap<String, String>, deps: &[Dep]) -> Key {
    let upstream: Vec<Key> = deps.iter().map(|d| d.key).collect();
    let kind = params.kind();
    task_key(KeyInput {
        kind: kind.name(),
        code_version: kind.code_version(),
        params: &crate::spec::canonical_json(params),
        sources,
        upstream: &upstream,
    })
}
