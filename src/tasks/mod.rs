//! Tasks: the one place that binds each [`TaskKind`] to what it computes.
//!
//! The planner decides *which* tasks exist and their keys; the executor runs
//! boxed closures without knowing what they do. This module sits between the
//! two: [`job_queue`] turns the stale tasks of a plan into executor jobs, each
//! wrapping a kind's compute function in the store protocol ([`in_store`]:
//! claim under the task lock → compute into the work directory → publish).
//!
//! | kind | reads | writes (inside its cache entry) |
//! |---|---|---|
//! | features | the track's audio | `mel.f32` ([`features::MEL_FILE`] format), `shape.json` |
//! | chunks | `shape.json` of every song | `chunks.json`: songs and chunk starts of the fold's three splits |
//! | norm | `mel.f32` of the songs | `stats.json` ([`crate::features::NormStats`]) |
//! | train | chunks, norm, `mel.f32` of the fold's songs | the train module's run directory (weights, epochs, test metrics) |
//! | aggregate | every train task's test metrics | `results.json` |
//! | report | the params' provenance, every train entry's `test.json`, `epochs.csv`, best weights | `report_input.json` ([`crate::report::ReportInput`]) |

pub mod aggregate;
pub mod chunks;
pub mod features;
pub mod norm;
pub mod report;
pub mod train;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dataset::{Dataset, DatasetError};
use crate::device::ComputeDevice;
use crate::exec::queue::{DependencyQueue, QueueError};
use crate::exec::runner::{Job, JobContext, JobInfo, Outcome, Resource, WorkError};
use crate::exec::store::{Check, Claim, Store, StoreError};
use crate::plan::{Key, Task, TaskGraph, TaskId, TaskKind};
use crate::spec::ModelSpec;

/// Why a task failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The cache store failed (I/O, corrupt upstream entry).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A track could not be decoded.
    #[error("track {track}: {source}")]
    Track {
        /// Track id.
        track: String,
        /// The dataset/audio error.
        source: DatasetError,
    },
    /// A task's parameters or an upstream output do not have the expected shape.
    #[error("task {task}: {what} (the cache entry or plan is from another tempora version; delete it and rerun)")]
    Format {
        /// Task id.
        task: String,
        /// What did not match.
        what: String,
    },
    /// A task's output could not be written.
    #[error("task {task}: cannot write {path}: {source}")]
    Write {
        /// Task id.
        task: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The task's inputs are unusable (e.g. a sample-rate mismatch).
    #[error("task {task}: {reason}")]
    Invalid {
        /// Task id.
        task: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

/// What every compute function may use: the store, the dataset's tracks, the
/// experiment's models, every task's key, and the training device.
#[derive(Debug)]
pub struct Context {
    /// The cache.
    pub store: Store,
    /// The dataset (for [`crate::plan::Locator::Track`]).
    pub dataset: Dataset,
    /// The experiment's models (for [`crate::plan::Locator::Model`]); empty for feature-only runs.
    pub models: Vec<ModelSpec>,
    /// Key of every planned task.
    pub keys: BTreeMap<TaskId, (TaskKind, Key)>,
    /// Where training runs.
    pub device: ComputeDevice,
}

/// A kind's compute function: reads its inputs, writes its outputs into `out`.
type Compute = fn(&Context, &Task, &Path, &JobContext) -> Result<(), TaskError>;

fn compute_fn(kind: TaskKind) -> Compute {
    match kind {
        TaskKind::Features => features::compute,
        TaskKind::Chunks => chunks::compute,
        TaskKind::Norm => norm::compute,
        TaskKind::Aggregate => aggregate::compute,
        TaskKind::Train => train::compute,
        TaskKind::Report => report::compute,
    }
}

/// Runs `compute` for `task` under the store protocol: a task already
/// published (by another process meanwhile) is [`Outcome::Reused`].
pub fn in_store(
    ctx: &Context,
    task: &Task,
    job: &JobContext,
    compute: Compute,
) -> Result<Outcome, WorkError> {
    let key = task.key.hex();
    match ctx.store.claim(task.kind.name(), &key, Check::Hashes)? {
        Claim::Done(_) => Ok(Outcome::Reused),
        Claim::Todo(pending) => {
            compute(ctx, task, pending.dir(), job)?;
            let mut inputs: BTreeMap<String, String> = task
                .sources
                .iter()
                .map(|(k, v)| (format!("source:{k}"), v.clone()))
                .collect();
            for dep in &task.deps {
                if let Some((kind, key)) = ctx.keys.get(dep) {
                    inputs.insert(format!("{}:{dep}", kind.name()), key.hex());
                }
            }
            pending.publish(&task.id.0, inputs)?;
            Ok(Outcome::Computed)
        }
    }
}

impl Context {
    /// Reads (and verifies) one output of the upstream entry `kind`/`key`.
    pub fn read(&self, kind: TaskKind, key: &Key, file: &str) -> Result<Vec<u8>, TaskError> {
        Ok(self.store.read_output(kind.name(), &key.hex(), file)?)
    }

    /// Parses a JSON output of an upstream entry.
    pub fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        task: &Task,
        kind: TaskKind,
        key: &Key,
        file: &str,
    ) -> Result<T, TaskError> {
        let bytes = self.read(kind, key, file)?;
        serde_json::from_slice(&bytes).map_err(|e| TaskError::Format {
            task: task.id.0.clone(),
            what: format!("{}/{}/{file}: {e}", kind.name(), key.short()),
        })
    }
}

/// Parses a task's parameters into the kind's typed form.
pub fn params<T: serde::de::DeserializeOwned>(task: &Task) -> Result<T, TaskError> {
    T::deserialize(&task.params).map_err(|e| TaskError::Format {
        task: task.id.0.clone(),
        what: format!("parameters: {e}"),
    })
}

/// Writes one output file of a task (the work directory is private to the
/// task under its lock, and published atomically as a whole).
pub fn write_output(task: &Task, dir: &Path, name: &str, bytes: &[u8]) -> Result<(), TaskError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| TaskError::Write {
        task: task.id.0.clone(),
        path,
        source,
    })
}

/// Serialises `value` as pretty JSON into an output file.
pub fn write_json<T: serde::Serialize>(
    task: &Task,
    dir: &Path,
    name: &str,
    value: &T,
) -> Result<(), TaskError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| TaskError::Format {
        task: task.id.0.clone(),
        what: format!("encoding {name}: {e}"),
    })?;
    write_output(task, dir, name, &bytes)
}

/// The executor jobs of the tasks in `run` (with their dependencies among
/// them; dependencies outside `run` are taken as done).
pub fn job_queue(
    graph: &TaskGraph,
    run: &BTreeSet<TaskId>,
    ctx: &Arc<Context>,
) -> Result<DependencyQueue<String, Job>, QueueError> {
    let mut queue = DependencyQueue::new();
    for task in graph.tasks().filter(|t| run.contains(&t.id)) {
        let resource = match (task.wants_gpu, ctx.device) {
            (true, ComputeDevice::Cuda(_)) => Resource::Gpu,
            _ => Resource::Cpu,
        };
        let info = JobInfo {
            id: task.id.0.clone(),
            label: task.id.0.clone(),
            resource,
        };
        let (task_owned, ctx) = (task.clone(), ctx.clone());
        let compute = compute_fn(task.kind);
        let job = Job {
            info,
            work: Box::new(move |job| in_store(&ctx, &task_owned, job, compute)),
        };
        let deps = task
            .deps
            .iter()
            .filter(|d| run.contains(*d))
            .map(|d| d.0.clone());
        queue.insert(task.id.0.clone(), job, deps)?;
    }
    Ok(queue)
}
