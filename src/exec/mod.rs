//! Execution: runs a plan's tasks (CPU pool, GPU queue, or a Slurm cluster),
//! stores their outputs in the content-addressed cache, shows progress, logs,
//! and resumes after a crash.
//!
//! Two layers. The job machinery knows nothing of plans or of what a task
//! computes: it receives boxed [`runner::Work`] closures with the resource
//! they need, and never matches on task kinds.
//!
//! - [`store`]: atomic publish, corrupt-entry detection, per-task locks and
//!   incomplete markers (where things live: [`crate::layout`]).
//! - [`queue`]: a generic dependency queue (ready nodes in a deterministic order).
//! - [`runner`]: runs boxed work on a CPU pool and a device queue; dry runs;
//!   cooperative stop ([`runner::StopFlag`]).
//! - [`progress`]: indicatif bars (overall + one line per running job).
//! - [`log`]: the JSON-lines run log.
//!
//! The executors bind planned tasks to that machinery, each task through
//! [`crate::tasks::run_task`]:
//!
//! - [`executor`]: the [`executor::Executor`] trait, the [`executor::Batch`]
//!   of stale tasks it runs, one frozen-plan task in this process;
//! - [`local`]: this process's CPU threads and device queue;
//! - [`device_slots`]: how many trainings the device queue runs at once;
//! - [`slurm`]: job arrays on a Slurm cluster, and what their elements run.

pub mod device_slots;
pub mod executor;
pub mod local;
pub mod log;
pub mod progress;
pub mod queue;
pub mod runner;
pub mod slurm;
pub mod store;

/// Why an executor could not run a batch (a failing *task* is not an error:
/// it is counted in the [`runner::Summary`] and the other tasks go on).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The job graph is inconsistent.
    #[error(transparent)]
    Queue(#[from] queue::QueueError),
    /// The runner could not start.
    #[error(transparent)]
    Runner(#[from] runner::RunnerError),
    /// The Slurm executor failed, or detached from its jobs
    /// ([`slurm::SlurmError::Detached`]).
    #[error(transparent)]
    Slurm(Box<slurm::SlurmError>),
    /// A frozen plan cannot be used.
    #[error(transparent)]
    Frozen(#[from] crate::plan::FrozenError),
    /// The one task run by [`executor::run_frozen_task`] failed.
    #[error(transparent)]
    Task(#[from] crate::tasks::TaskError),
}

// Boxed: SlurmError is large, and clippy's result_large_err refuses it inline.
impl From<slurm::SlurmError> for ExecError {
    fn from(e: slurm::SlurmError) -> Self {
        Self::Slurm(Box::new(e))
    }
}
