//! `tempora exec-task --plan FILE --task ID|KEY` (hidden): runs one task of a
//! frozen plan in this process — the seam cluster jobs use. The task's key is
//! derived anew from its inputs and must equal the frozen one; a task keyed
//! for another device class than the one given is refused; inputs are read
//! from the cache (verified), the output is published atomically, and a
//! valid entry another process published first is kept.
//!
//! Prints one line: `computed|reused <id> <key>`. Exit codes: 0 done, 1 the
//! task failed, 2 the plan or task could not be used.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tempora::device::DeviceChoice;
use tempora::plan::{DeviceClass, FrozenPlan};
use tempora::workspace::{ExecError, JobInfo, Observer, Outcome, Update, WorkspaceError};

use super::args::{open_workspace, parse_device, resolve_device, DEFAULT_CACHE};

/// Arguments of `tempora exec-task`.
#[derive(Debug, clap::Args)]
pub struct ExecTaskArgs {
    /// The frozen plan (written by `tempora plan --freeze`).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// The task: its id (e.g. `train/O-net/hop250/fold0`) or key (≥ 12 hex digits).
    #[arg(long, value_name = "ID|KEY")]
    pub task: String,
    /// The cache directory the plan's inputs and outputs live in.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE)]
    pub cache: PathBuf,
    /// Where training runs [default: the device class the plan was frozen
    /// for: `cpu`, or `cuda` (device 0)]; another class is refused.
    #[arg(long, value_name = "DEVICE", value_parser = parse_device)]
    pub device: Option<DeviceChoice>,
}

/// Progress of the one task on stderr, a line per update.
struct Lines;

impl Observer for Lines {
    fn started(&self, job: &JobInfo) {
        eprintln!("start {}", job.id);
    }
    fn update(&self, job: &JobInfo, u: &Update) {
        eprintln!("{} {}/{} {}", job.id, u.done, u.total, u.message);
    }
}

/// `tempora exec-task`.
pub fn run(args: ExecTaskArgs) -> anyhow::Result<ExitCode> {
    let frozen = FrozenPlan::load(&args.plan)?;
    let choice = args.device.unwrap_or(match frozen.device {
        DeviceClass::Cpu => DeviceChoice::Cpu,
        DeviceClass::Cuda => DeviceChoice::Cuda(0),
        DeviceClass::Wgpu => DeviceChoice::Wgpu(0),
    });
    let device = resolve_device(choice)?;
    let workspace = open_workspace(&args.cache)?;
    match workspace.run_frozen_task(&frozen, &args.task, device, Arc::new(Lines)) {
        Ok((task, outcome)) => {
            let word = match outcome {
                Outcome::Reused => "reused",
                Outcome::Computed | Outcome::DryRun => "computed",
            };
            println!("{word} {} {}", task.id, task.key);
            Ok(ExitCode::SUCCESS)
        }
        Err(WorkspaceError::Exec(e)) if matches!(*e, ExecError::Task(_)) => {
            eprintln!("error: task {}: {e}", args.task);
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
