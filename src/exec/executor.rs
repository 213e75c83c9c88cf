//! Executors: what runs the stale tasks of a plan. The [`LocalExecutor`]
//! runs them in this process (CPU worker threads and a device queue, see
//! [`crate::exec::runner`]); a cluster executor hands them to a scheduler
//! as frozen-plan tasks. Each executor reports through the same
//! [`Observer`] events, and every task ends in the same store protocol
//! ([`crate::tasks::run_task`]), so results do not depend on the executor.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::device::ComputeDevice;
use crate::exec::queue::DependencyQueue;
use crate::exec::runner::{Job, JobInfo, Mode, Observer, Resource, Runner, Summary};
use crate::plan::{Task, TaskId};
use crate::tasks::{self, Context};

use super::WorkspaceError;

/// The tasks one run must compute, with what computing them needs.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Experiment name (a cluster executor names its jobs and frozen plan after it).
    pub experiment: String,
    /// Active profile.
    pub profile: Option<String>,
    /// Store, dataset and device.
    pub context: Arc<Context>,
    /// The tasks to run, in id order; a dependency outside the batch is done.
    pub tasks: Vec<Task>,
    /// The done dependencies of those tasks (a frozen plan of the batch
    /// holds them too, so that each of its tasks can be rebuilt).
    pub upstream: Vec<Task>,
}

impl Batch {
    /// The ids of the batch's tasks.
    pub fn ids(&self) -> BTreeSet<TaskId> {
        self.tasks.iter().map(|t| t.id.clone()).collect()
    }
}

/// Runs a batch of tasks to completion (or failure), reporting to `observer`.
pub trait Executor {
    /// Runs every task of `batch` after its dependencies within the batch; a
    /// failed task's dependents are skipped, independent tasks go on.
    fn execute(
        &self,
        batch: &Batch,
        observer: Arc<dyn Observer>,
    ) -> Result<Summary, WorkspaceError>;
}

/// Runs tasks in this process: `jobs` CPU worker threads and one device queue.
#[derive(Debug, Clone, Copy)]
pub struct LocalExecutor {
    /// CPU worker threads.
    pub jobs: usize,
    /// Run, or only report what would run.
    pub mode: Mode,
}

impl LocalExecutor {
    /// One worker per available core.
    pub fn all_cores(mode: Mode) -> Self {
        Self {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mode,
        }
    }
}

impl Executor for LocalExecutor {
    fn execute(
        &self,
        batch: &Batch,
        observer: Arc<dyn Observer>,
    ) -> Result<Summary, WorkspaceError> {
        let ids = batch.ids();
        let mut queue = DependencyQueue::new();
        for task in &batch.tasks {
            let resource = match (task.wants_gpu(), batch.context.device) {
                (true, ComputeDevice::Cuda(_)) => Resource::Gpu,
                _ => Resource::Cpu,
            };
            let info = JobInfo {
                id: task.id.0.clone(),
                label: task.id.0.clone(),
                resource,
            };
            let (owned, ctx) = (task.clone(), batch.context.clone());
            let job = Job {
                info,
                work: Box::new(move |job| Ok(tasks::run_task(&ctx, &owned, job)?)),
            };
            let deps = task
                .deps
                .iter()
                .filter(|d| ids.contains(&d.id))
                .map(|d| d.id.0.clone());
            queue.insert(task.id.0.clone(), job, deps)?;
        }
        let runner = Runner {
            jobs: self.jobs,
            mode: self.mode,
        };
        Ok(runner.run(queue, observer)?)
    }
}

/// The tasks outside `stale` that tasks in `stale` depend on directly.
pub(crate) fn upstream(graph: &crate::plan::TaskGraph, stale: &BTreeSet<TaskId>) -> Vec<Task> {
    let needed: BTreeSet<&TaskId> = graph
        .tasks()
        .filter(|t| stale.contains(&t.id))
        .flat_map(|t| t.deps.iter().map(|d| &d.id))
        .filter(|id| !stale.contains(*id))
        .collect();
    graph
        .tasks()
        .filter(|t| needed.contains(&t.id))
        .cloned()
        .collect()
}
