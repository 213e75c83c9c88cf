//! Tasks: the one place that binds each [`TaskKind`] to what it computes.
//!
//! The planner decides *which* tasks exist and their keys; executors decide
//! where and when they run. This module sits between the two: [`run_task`]
//! runs one task, wherever it is called from (a worker thread of the local
//! executor, or a separate process given a frozen plan), under the store
//! protocol: claim under the task lock → compute into the work directory →
//! publish. Each kind reads its typed parameters from [`TaskParams`] and its
//! inputs from the upstream entries named in the task's `deps` (verified by
//! the store), so a task needs nothing but itself, the cache and, for
//! features, the dataset's track list.
//!
//! | kind | reads | writes (inside its cache entry; names in [`crate::layout::files`]) |
//! |---|---|---|
//! | features | the track's audio | `mel.f32` ([`features`] format), `shape.json` |
//! | chunks | `shape.json` of every song | `chunks.json`: songs and chunk starts of the fold's three splits |
//! | norm | `mel.f32` of the songs | `stats.json` ([`crate::features::NormStats`]) |
//! | train | chunks, norm, `mel.f32` of the fold's songs | weights, epochs, test metrics and `model.json` (the model card: [`train::ModelCard`]) |
//! | report | every train entry's `test.json`, `epochs.csv`, best weights | `report_input.json` ([`crate::report::ReportInput`]) |

pub mod chunks;
pub mod features;
pub mod norm;
pub mod report;
pub mod train;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, DatasetError};
use crate::device::ComputeDevice;
use crate::exec::runner::{JobContext, Outcome};
use crate::exec::store::{Check, Claim, Store, StoreError};
use crate::features::FrontEndError;
use crate::plan::{DeviceClass, Key, Task, TaskKind, TaskParams};

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
    #[error(
        "task {task}: cannot write {path}: {source}{}",
        crate::exec::store::remedy_suffix(source)
    )]
    Write {
        /// Task id.
        task: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The task was keyed for one device class and asked to run on another:
    /// its output would be published under a key that does not describe it.
    #[error(
        "task {task}: planned for the {keyed} device class but asked to run on {running}; \
         nothing was computed or published (run it with --device {keyed}, or plan again for {running})"
    )]
    WrongDevice {
        /// Task id.
        task: String,
        /// The class in the task's key.
        keyed: DeviceClass,
        /// The class of the device it was asked to run on.
        running: DeviceClass,
    },
    /// Training failed, or stopped on request (`TrainError::Stopped`).
    #[error("task {task}: {source}")]
    Train {
        /// Task id.
        task: String,
        /// What training said (a `crate::train::TrainError`, boxed so that
        /// the kinds that do not train do not depend on training's code).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A track's spectrogram could not be computed (a sample-rate mismatch,
    /// an unusable feature config).
    #[error("task {task}: {source}")]
    FrontEnd {
        /// Task id.
        task: String,
        /// What the front end said.
        source: FrontEndError,
    },
    /// The task's inputs are unusable.
    #[error("task {task}: {reason}")]
    Invalid {
        /// Task id.
        task: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

/// What every compute function may use: the store, the dataset's tracks
/// (for [`crate::plan::Locator::Track`]) and the training device.
#[derive(Debug, Clone)]
pub struct Context {
    /// The cache.
    pub store: Store,
    /// The dataset whose tracks features tasks locate.
    pub dataset: Dataset,
    /// Where training runs.
    pub device: ComputeDevice,
    /// The experiment's TensorBoard log directory: each training appends its
    /// curves below it as epochs end (`None`: no event files).
    pub tensorboard: Option<PathBuf>,
}

/// Runs `task` under the store protocol: a task already published (by
/// another process meanwhile) is [`Outcome::Reused`].
///
/// A task keyed for another device class than `ctx.device`'s is refused
/// before anything is claimed ([`TaskError::WrongDevice`]).
pub fn run_task(ctx: &Context, task: &Task, job: &JobContext) -> Result<Outcome, TaskError> {
    check_device(ctx, task)?;
    let key = task.key.hex();
    match ctx.store.claim(task.kind().name(), &key, Check::Hashes)? {
        Claim::Done(_) => Ok(Outcome::Reused),
        Claim::Todo(pending) => {
            let out = pending.dir();
            match &task.params {
                TaskParams::Features(p) => features::compute(ctx, task, p, out)?,
                TaskParams::Norm(p) => norm::compute(ctx, task, p, out)?,
                TaskParams::Chunks(p) => chunks::compute(ctx, task, p, out)?,
                TaskParams::Train(p) => train::compute(ctx, task, p, out, job)?,
                TaskParams::Report(p) => report::compute(ctx, task, p, out)?,
            }
            let mut inputs: BTreeMap<String, String> = task
                .sources
                .iter()
                .map(|(k, v)| (format!("source:{k}"), v.clone()))
                .collect();
            for dep in &task.deps {
                inputs.insert(format!("{}:{}", dep.kind.name(), dep.id), dep.key.hex());
            }
            pending.publish(&task.id.0, inputs)?;
            Ok(Outcome::Computed)
        }
    }
}

/// Refuses a task keyed for another device class than the context's.
pub fn check_device(ctx: &Context, task: &Task) -> Result<(), TaskError> {
    let running = DeviceClass::from(ctx.device);
    match task.device_class() {
        Some(keyed) if keyed != running => Err(TaskError::WrongDevice {
            task: task.id.0.clone(),
            keyed,
            running,
        }),
        _ => Ok(()),
    }
}

impl Context {
    /// The key of `task`'s upstream task of `kind`.
    pub fn upstream(&self, task: &Task, kind: TaskKind) -> Result<Key, TaskError> {
        task.upstream(kind)
            .map(|d| d.key)
            .ok_or_else(|| TaskError::Format {
                task: task.id.0.clone(),
                what: format!("no upstream {} task", kind.name()),
            })
    }

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
