//! Frozen plans: a plan written to a file, so that another process (a
//! cluster job, a second terminal) can run any one of its tasks by id or key
//! without the spec, the dataset listing or the planner.
//!
//! The file holds, per task, its typed parameters, source hashes, upstream
//! ids and keys, locator and recorded key, plus the dataset's track list (the
//! locators point into it). A reader re-derives every key it is asked to run
//! with this build's key function and code versions and refuses on a
//! mismatch: a frozen plan from another tempora version, or an edited file,
//! can never publish under a key its inputs do not have.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::exec::store::{write_atomic, StoreError};

use super::key::Key;
use super::params::DeviceClass;
use super::task::{Task, TaskId};
use super::Plan;

/// Version of the frozen-plan file format.
pub const FROZEN_FORMAT: u32 = 2;

/// Why a frozen plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FrozenError {
    /// The file could not be read.
    #[error("cannot read the frozen plan {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a frozen plan of this format.
    #[error("{path} is not a frozen plan of format {FROZEN_FORMAT}: {reason}; freeze the plan again with this tempora")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No task has this id or key.
    #[error("the frozen plan has no task {0:?} (give a task id such as train/O-net/hop250/fold0, or a key)")]
    NoSuchTask(String),
    /// The recorded key is not the key this build derives from the task's inputs.
    #[error(
        "task {id}: the frozen plan says key {recorded} but its inputs give {derived} with this \
         tempora (another version froze it, or the file was edited); refusing to run it — plan again"
    )]
    KeyMismatch {
        /// The task.
        id: TaskId,
        /// The key in the file.
        recorded: Key,
        /// The key derived now.
        derived: Key,
    },
    /// A dependency of the task is not in the plan.
    #[error("task {id}: upstream {dep} is not in the frozen plan")]
    MissingDep {
        /// The task.
        id: TaskId,
        /// The missing upstream id.
        dep: TaskId,
    },
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] StoreError),
    /// A task's parameters cannot be encoded for its key.
    #[error(transparent)]
    Key(#[from] super::task::KeyError),
    /// The plan cannot be encoded as JSON.
    #[error("cannot encode the frozen plan: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A task as frozen: the fields of [`Task`] and the key it was planned under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrozenTask {
    /// Stable identity.
    pub id: TaskId,
    /// The key it was planned under.
    pub key: Key,
    /// Typed parameters (the kind follows from them).
    pub params: super::params::TaskParams,
    /// Source content hashes.
    pub sources: std::collections::BTreeMap<String, String>,
    /// Upstream tasks.
    pub deps: Vec<super::task::Dep>,
    /// Where to find what the key leaves out.
    pub locator: super::task::Locator,
}

/// A plan frozen to a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrozenPlan {
    /// [`FROZEN_FORMAT`].
    pub format: u32,
    /// Experiment name.
    pub experiment: String,
    /// Active profile.
    pub profile: Option<String>,
    /// The device class the plan's training was keyed for (what `exec-task`
    /// runs on unless told otherwise; another class is refused).
    pub device: DeviceClass,
    /// The dataset's track list (features tasks locate their track in it).
    pub dataset: Dataset,
    /// Every task, in id order.
    pub tasks: Vec<FrozenTask>,
}

impl FrozenPlan {
    /// Freezes a plan.
    pub fn of(plan: &Plan) -> Self {
        Self::of_graph(
            &plan.experiment.name,
            plan.experiment.profile.clone(),
            plan.device,
            &plan.dataset,
            plan.graph.tasks(),
        )
    }

    /// Freezes any set of tasks over `dataset`.
    pub fn of_graph<'a>(
        experiment: &str,
        profile: Option<String>,
        device: DeviceClass,
        dataset: &Dataset,
        tasks: impl Iterator<Item = &'a Task>,
    ) -> Self {
        Self {
            format: FROZEN_FORMAT,
            experiment: experiment.to_string(),
            profile,
            device,
            dataset: dataset.clone(),
            tasks: tasks
                .map(|t| FrozenTask {
                    id: t.id.clone(),
                    key: t.key,
                    params: t.params.clone(),
                    sources: t.sources.clone(),
                    deps: t.deps.clone(),
                    locator: t.locator.clone(),
                })
                .collect(),
        }
    }

    /// A short content hash of the frozen plan (names its file).
    pub fn hash(&self) -> Result<String, FrozenError> {
        let text = crate::spec::canonical_json(self)?;
        Ok(blake3::hash(text.as_bytes()).to_hex()[..16].to_string())
    }

    /// Writes the plan atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<(), FrozenError> {
        let bytes = serde_json::to_vec(self).map_err(|e| FrozenError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(write_atomic(path, &bytes)?)
    }

    /// Reads a frozen plan, checking its format.
    pub fn load(path: &Path) -> Result<Self, FrozenError> {
        let bytes = std::fs::read(path).map_err(|source| FrozenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let format_error = |reason: String| FrozenError::Format {
            path: path.to_path_buf(),
            reason,
        };
        #[derive(Deserialize)]
        struct Header {
            format: u32,
        }
        let header: Header =
            serde_json::from_slice(&bytes).map_err(|e| format_error(e.to_string()))?;
        if header.format != FROZEN_FORMAT {
            return Err(format_error(format!("format {}", header.format)));
        }
        serde_json::from_slice(&bytes).map_err(|e| format_error(e.to_string()))
    }

    /// The task with this id, or this key (64 hex digits or a unique prefix of
    /// at least 12), rebuilt with this build's key function; refused when the
    /// derived key differs from the recorded one, or a dependency is missing.
    pub fn task(&self, selector: &str) -> Result<Task, FrozenError> {
        let by_id = self.tasks.iter().find(|t| t.id.0 == selector);
        let by_key = || {
            let mut hits = self
                .tasks
                .iter()
                .filter(|t| selector.len() >= 12 && t.key.hex().starts_with(selector));
            match (hits.next(), hits.next()) {
                (Some(t), None) => Some(t),
                _ => None,
            }
        };
        let frozen = by_id
            .or_else(by_key)
            .ok_or_else(|| FrozenError::NoSuchTask(selector.to_string()))?;
        for dep in &frozen.deps {
            if !self
                .tasks
                .iter()
                .any(|t| t.id == dep.id && t.key == dep.key)
            {
                return Err(FrozenError::MissingDep {
                    id: frozen.id.clone(),
                    dep: dep.id.clone(),
                });
            }
        }
        let task = Task::new(
            frozen.id.0.clone(),
            frozen.params.clone(),
            frozen.sources.clone(),
            frozen.deps.clone(),
            frozen.locator.clone(),
        )?;
        if task.key != frozen.key {
            return Err(FrozenError::KeyMismatch {
                id: frozen.id.clone(),
                recorded: frozen.key,
                derived: task.key,
            });
        }
        Ok(task)
    }
}
