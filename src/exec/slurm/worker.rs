//! The worker side: one array element runs its tasks of the run's frozen
//! plan through [`Workspace::run_frozen_task`] (the key is derived anew and
//! must match; inputs are read from the cache, verified; outputs are
//! published atomically), writing one event file per task.
//!
//! On USR2 (passed on by the batch script before the time limit) the worker
//! waits until the training it runs has saved its next epoch checkpoint,
//! then exits with [`REQUEUE_EXIT`](super::script::REQUEUE_EXIT): the
//! requeued element resumes from that checkpoint. Other kinds stop at once
//! (they are short; their work directory resumes or restarts).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::device::ComputeDevice;
use crate::layout::files;
use crate::plan::{FrozenPlan, TaskId, TaskKind};
use crate::workspace::Workspace;

use super::rundir::{EventWriter, RunDir};
use super::script::REQUEUE_EXIT;
use super::SlurmError;

/// What one element did.
#[derive(Debug, Default)]
pub struct ElementReport {
    /// Tasks that ended well.
    pub done: usize,
    /// Failed tasks with their errors.
    pub failed: Vec<(TaskId, String)>,
}

/// The task running now: its checkpoint state file when it trains.
type Running = Arc<Mutex<Option<PathBuf>>>;

/// Runs element `index` of array `array` of the run at `run`.
pub fn run_element(
    workspace: &Workspace,
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
    let running: Running = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR2, stop.clone()).map_err(|e| {
        SlurmError::Io {
            path: run.path.clone(),
            source: e,
        }
    })?;
    watch_for_stop(stop, running.clone());
    let observer = Arc::new(EventWriter { run: run.clone() });
    let mut report = ElementReport::default();
    for id in element {
        let task = frozen.task(&id.0)?;
        let state = (task.kind == TaskKind::Train).then(|| {
            workspace
                .store()
                .layout()
                .work(task.kind.name(), &task.key.hex())
                .join(files::CHECKPOINT)
                .join("state.json")
        });
        *running.lock().expect("running lock") = state;
        match workspace.run_frozen_task(&frozen, &id.0, device, observer.clone()) {
            Ok(_) => report.done += 1,
            Err(e) => report.failed.push((id.clone(), format!("{e}"))),
        }
    }
    Ok(report)
}

fn modified(path: &Option<PathBuf>) -> Option<SystemTime> {
    path.as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
}

/// Once `stop` is set: exit when the running training's checkpoint changes
/// (an epoch boundary), at once when no training runs.
fn watch_for_stop(stop: Arc<AtomicBool>, running: Running) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let state = running.lock().expect("running lock").clone();
        if state.is_none() {
            eprintln!("tempora: time-limit warning; stopping for a requeue");
            std::process::exit(REQUEUE_EXIT);
        }
        eprintln!("tempora: time-limit warning; stopping after the next epoch checkpoint");
        let before = modified(&state);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now = running.lock().expect("running lock").clone();
            if now != state || modified(&state) != before {
                std::process::exit(REQUEUE_EXIT);
            }
        }
    });
}
