//! Executors: what runs the stale tasks of a plan. The
//! [`LocalExecutor`](super::local::LocalExecutor) runs them in this process
//! (CPU worker threads and a device queue, see [`super::runner`]); the
//! [`SlurmExecutor`](super::slurm::SlurmExecutor) hands them to Slurm as
//! frozen-plan tasks. Each executor reports through the same [`Observer`]
//! events, and every task ends in the same store protocol
//! ([`crate::tasks::run_task`], which also refuses a task keyed for another
//! device class), so results do not depend on the executor.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use crate::plan::{FrozenPlan, Task, TaskGraph, TaskId};
use crate::tasks::{self, Context};

use super::runner::Summary;
use super::runner::{report_end, JobContext, JobInfo, Observer, Outcome, Resource, StopFlag};
use super::ExecError;

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
    /// The stale tasks of `graph` over `context`, with their done upstream.
    pub fn of_stale(
        experiment: &str,
        profile: Option<String>,
        context: Context,
        graph: &TaskGraph,
        stale: &BTreeSet<TaskId>,
    ) -> Self {
        Self {
            experiment: experiment.to_string(),
            profile,
            context: Arc::new(context),
            tasks: graph
                .tasks()
                .filter(|t| stale.contains(&t.id))
                .cloned()
                .collect(),
            upstream: upstream(graph, stale),
        }
    }

    /// The ids of the batch's tasks.
    pub fn ids(&self) -> BTreeSet<TaskId> {
        self.tasks.iter().map(|t| t.id.clone()).collect()
    }
}

/// Runs a batch of tasks to completion (or failure), reporting to `observer`.
pub trait Executor {
    /// Runs every task of `batch` after its dependencies within the batch; a
    /// failed task's dependents are skipped, independent tasks go on.
    fn execute(&self, batch: &Batch, observer: Arc<dyn Observer>) -> Result<Summary, ExecError>;
}

/// Where a task runs: training on the device queue when the device is a GPU.
pub fn resource(task: &Task, context: &Context) -> Resource {
    if task.wants_gpu() && context.device.is_gpu() {
        Resource::Gpu
    } else {
        Resource::Cpu
    }
}

/// Runs one task of a frozen plan, by id or key, in this process: the key is
/// derived anew and must match, inputs are read from the cache (verified),
/// the output is published atomically (a valid entry published first by
/// another process is kept). `stop` lets a training return at its next
/// epoch boundary.
pub fn run_frozen_task(
    context: &Context,
    frozen: &FrozenPlan,
    selector: &str,
    observer: Arc<dyn Observer>,
    stop: StopFlag,
) -> Result<(Task, Outcome), ExecError> {
    let task = frozen.task(selector)?;
    let info = JobInfo {
        id: task.id.0.clone(),
        label: task.id.0.clone(),
        resource: resource(&task, context),
    };
    observer.started(&info);
    let clock = Instant::now();
    let job = JobContext::new(info.clone(), observer.clone(), stop.clone());
    let result = tasks::run_task(context, &task, &job);
    let shown = result.as_ref().map(|o| *o).map_err(|e| e.to_string());
    let seconds = clock.elapsed().as_secs_f64();
    report_end(observer.as_ref(), &info, &shown, seconds, &stop);
    Ok((task, result?))
}

/// The tasks outside `stale` that tasks in `stale` depend on directly.
fn upstream(graph: &TaskGraph, stale: &BTreeSet<TaskId>) -> Vec<Task> {
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
