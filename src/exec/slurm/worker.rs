//! The worker side: one array element runs its tasks of the run's frozen
//! plan through [`run_frozen_task`] (the key is derived anew and must match;
//! a task keyed for another device class is refused; inputs are read from
//! the cache, verified; outputs are published atomically), writing one event
//! file per task.
//!
//! On USR2 (passed on by the batch script before the time limit) the worker
//! asks its tasks to stop: a training returns once it has saved its next
//! epoch checkpoint, no further task starts, and [`run_element`] says
//! [`ElementReport::requeue`]; the binary then exits with
//! [`REQUEUE_EXIT`](super::script::REQUEUE_EXIT) and the requeued element
//! resumes from that checkpoint.

use std::sync::Arc;

use crate::device::ComputeDevice;
use crate::exec::executor::run_frozen_task;
use crate::exec::runner::StopFlag;
use crate::exec::store::Store;
use crate::exec::ExecError;
use crate::plan::{FrozenPlan, TaskId};
use crate::tasks::Context;

use super::rundir::{EventWriter, RunDir};
use super::SlurmError;

/// What one element did.
#[derive(Debug, Default)]
pub struct ElementReport {
    /// Tasks that ended well.
    pub done: usize,
    /// Failed tasks with their errors.
    pub failed: Vec<(TaskId, String)>,
    /// Stopped on the time-limit warning: the element must be requeued
    /// (its unfinished training resumes from its checkpoint).
    pub requeue: bool,
}

/// Runs element `index` of array `array` of the run at `run` on `device`.
pub fn run_element(
    store: &Store,
    run: &RunDir,
    array: &str,
    index: u32,
    device: ComputeDevice,
) -> Result<ElementReport, SlurmError> {
    let frozen = FrozenPlan::load(&run.plan())?;
    let compiled = run.arrays()?;
    let element = compiled
        .arrays
        .iter()
        .find(|a| a.name == array)
        .and_then(|a| a.elements.get(index as usize))
        .ok_or_else(|| SlurmError::NoElement {
            run: run.path.clone(),
            array: array.to_string(),
            index,
        })?;
    let stop = StopFlag::new();
    signal_hook::flag::register(signal_hook::consts::SIGUSR2, stop.shared()).map_err(|e| {
        SlurmError::Io {
            path: run.path.clone(),
            source: e,
        }
    })?;
    let context = Context {
        store: store.clone(),
        dataset: frozen.dataset.clone(),
        device,
        tensorboard: Some(
            store
                .layout()
                .tensorboard(&frozen.experiment, frozen.profile.as_deref()),
        ),
    };
    let observer = Arc::new(EventWriter { run: run.clone() });
    let mut report = ElementReport::default();
    for id in element {
        if stop.is_requested() {
            eprintln!("tempora: time-limit warning; stopping for a requeue");
            report.requeue = true;
            break;
        }
        match run_frozen_task(&context, &frozen, &id.0, observer.clone(), stop.clone()) {
            Ok(_) => report.done += 1,
            Err(ExecError::Task(_)) if stop.is_requested() => {
                eprintln!("tempora: time-limit warning; stopped after the epoch checkpoint");
                report.requeue = true;
                break;
            }
            Err(e) => report.failed.push((id.clone(), format!("{e}"))),
        }
    }
    Ok(report)
}
