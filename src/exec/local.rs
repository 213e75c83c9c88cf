//! The local executor: runs a batch in this process, on `jobs` CPU worker
//! threads and a device queue ([`super::runner::Runner`]) that runs as many
//! trainings at once as [`super::device_slots`] chooses, each task through
//! [`crate::tasks::run_task`].

use std::sync::Arc;

use crate::tasks;

use super::device_slots::{self, DeviceSlots};
use super::executor::{resource, Batch, Executor};
use super::queue::DependencyQueue;
use super::runner::{Job, JobInfo, Mode, Observer, Resource, Runner, StopFlag, Summary};
use super::ExecError;

/// Runs tasks in this process: `jobs` CPU worker threads and a device queue.
#[derive(Debug, Clone)]
pub struct LocalExecutor {
    /// CPU worker threads.
    pub jobs: usize,
    /// Trainings in flight on the GPU at once.
    pub device_slots: DeviceSlots,
    /// Run, or only report what would run.
    pub mode: Mode,
    /// Set to stop the run cooperatively (no new task starts; a training
    /// returns after its next epoch checkpoint).
    pub stop: StopFlag,
}

impl LocalExecutor {
    /// One worker per available core.
    pub fn all_cores(mode: Mode) -> Self {
        Self {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            device_slots: DeviceSlots::Auto,
            mode,
            stop: StopFlag::new(),
        }
    }
}

impl Executor for LocalExecutor {
    fn execute(&self, batch: &Batch, observer: Arc<dyn Observer>) -> Result<Summary, ExecError> {
        let ids = batch.ids();
        let mut queue = DependencyQueue::new();
        for task in &batch.tasks {
            let info = JobInfo {
                id: task.id.0.clone(),
                label: task.id.0.clone(),
                resource: resource(task, &batch.context),
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
        let device = batch.context.device;
        let on_device = |t: &_| resource(t, &batch.context) == Resource::Gpu;
        let slots = if batch.tasks.iter().any(on_device) {
            let memory = device.memory();
            let choice = device_slots::choose(&batch.tasks, device, memory, self.device_slots);
            observer.device_queue(choice.slots, &choice.reason);
            choice.slots
        } else {
            1
        };
        let runner = Runner {
            jobs: self.jobs,
            device_slots: slots,
            mode: self.mode,
            stop: self.stop.clone(),
        };
        Ok(runner.run(queue, observer)?)
    }
}
