//! The worker side: one array element runs its tasks of the run's frozen
//! plan through [`run_frozen_task`] (the key is derived anew and must match;
//! a task keyed for another device class is refused; inputs are read from
//! the cache, verified; outputs are published atomically), writing one event
//! file per task. On a GPU, the element's trainings run as many at once as
//! [`crate::exec::device_slots`] chooses for the node's device (each gives
//! the bytes it gives alone).
//!
//! On USR2 (passed on by the batch script before the time limit) the worker
//! asks its tasks to stop: a training returns once it has saved its next
//! epoch checkpoint, no further task starts, and [`run_element`] says
//! [`ElementReport::requeue`]; the binary then exits with
//! [`REQUEUE_EXIT`](super::script::REQUEUE_EXIT) and the requeued element
//! resumes from that checkpoint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::device::ComputeDevice;
use crate::exec::device_slots::{self, DeviceSlots};
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
    let tasks: Vec<_> = element
        .iter()
        .filter_map(|id| frozen.task(&id.0).ok())
        .collect();
    let slots = if device.is_gpu() {
        let choice = device_slots::choose(&tasks, device, device.memory(), DeviceSlots::Auto);
        eprintln!(
            "tempora: up to {} training(s) at once ({})",
            choice.slots, choice.reason
        );
        choice.slots
    } else {
        1
    };
    let report = Mutex::new(ElementReport::default());
    let next = AtomicUsize::new(0);
    let lock = || report.lock().unwrap_or_else(PoisonError::into_inner);
    // Each thread takes the element's next task until none is left or a
    // stop was asked for.
    let work = || {
        while let Some(id) = element.get(next.fetch_add(1, Ordering::SeqCst)) {
            if stop.is_requested() {
                eprintln!("tempora: time-limit warning; stopping for a requeue");
                lock().requeue = true;
                break;
            }
            match run_frozen_task(&context, &frozen, &id.0, observer.clone(), stop.clone()) {
                Ok(_) => lock().done += 1,
                Err(ExecError::Task(_)) if stop.is_requested() => {
                    eprintln!("tempora: time-limit warning; stopped after the epoch checkpoint");
                    lock().requeue = true;
                    break;
                }
                Err(e) => lock().failed.push((id.clone(), format!("{e}"))),
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..slots {
            scope.spawn(work);
        }
        work();
    });
    let mut report = report.into_inner().unwrap_or_else(PoisonError::into_inner);
    report.failed.sort();
    Ok(report)
}
