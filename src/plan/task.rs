//! [`Task`]: everything needed to compute one artifact (cargo's `Unit`); its
//! stage ([`TaskKind`]) follows from its parameters.
//!
//! A task carries two kinds of data: the *keyed* part (kind, parameters,
//! source hashes, upstream keys → [`Key`]) and the *locator* ([`Locator`]),
//! which says where to find inputs on this machine (a track's file) and is
//! deliberately left out of the key.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::key::{task_key, Key, KeyInput};
use super::params::{DeviceClass, TaskKind, TaskParams};

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
    /// Parameters that determine the output (canonicalised into the key);
    /// the stage follows from them ([`Task::kind`]).
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
    /// Builds a task and computes its key from its parameters, sources and
    /// deps; fails only when the parameters cannot be encoded as JSON.
    pub fn new(
        id: String,
        params: TaskParams,
        sources: BTreeMap<String, String>,
        deps: Vec<Dep>,
        locator: Locator,
    ) -> Result<Self, KeyError> {
        let mut deps = deps;
        deps.sort();
        deps.dedup();
        let key = derive_key(&params, &sources, &deps).map_err(|source| KeyError {
            task: id.clone(),
            source,
        })?;
        Ok(Self {
            id: TaskId(id),
            params,
            sources,
            deps,
            key,
            locator,
        })
    }

    /// The stage, as its parameters say.
    pub fn kind(&self) -> TaskKind {
        self.params.kind()
    }

    /// The device class the task was keyed for: training's (CPU and CUDA
    /// results differ in their last bits); `None` for the kinds whose output
    /// does not depend on the device.
    pub fn device_class(&self) -> Option<DeviceClass> {
        match &self.params {
            TaskParams::Train(p) => Some(p.device),
            _ => None,
        }
    }

    /// This task as a dependency of another.
    pub fn as_dep(&self) -> Dep {
        Dep {
            id: self.id.clone(),
            kind: self.kind(),
            key: self.key,
        }
    }

    /// The key of the upstream task of `kind` (the first, by id), if any.
    pub fn upstream(&self, kind: TaskKind) -> Option<&Dep> {
        self.deps.iter().find(|d| d.kind == kind)
    }

    /// Whether it runs on the device queue when a GPU is used (training).
    pub fn wants_gpu(&self) -> bool {
        self.kind() == TaskKind::Train
    }
}

/// A task's parameters could not be encoded for its key.
#[derive(Debug, thiserror::Error)]
#[error("task {task}: cannot encode its parameters for its key: {source}")]
pub struct KeyError {
    /// The task id.
    pub task: String,
    /// serde_json's error.
    pub source: serde_json::Error,
}

fn derive_key(
    params: &TaskParams,
    sources: &BTreeMap<String, String>,
    deps: &[Dep],
) -> Result<Key, serde_json::Error> {
    let upstream: Vec<Key> = deps.iter().map(|d| d.key).collect();
    let kind = params.kind();
    Ok(task_key(KeyInput {
        kind: kind.name(),
        code_version: kind.code_version(),
        params: &crate::spec::canonical_json(params)?,
        sources,
        upstream: &upstream,
    }))
}
