//! `tempora slurm-worker` (hidden): what one element of a Slurm job array
//! runs — its tasks of the run directory's frozen plan, one event file per
//! task (see `tempora::workspace::slurm::worker`).
//!
//! Exit codes: 0 every task done, 1 some task failed (its error is in its
//! event file and on stderr), 2 the run directory or device cannot be used,
//! 75 stopped on the time-limit warning (the batch script requeues); the
//! worker only reports which, and this command returns the code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use tempora::workspace::slurm::{script::REQUEUE_EXIT, worker, RunDir};

use super::args::{open_workspace, parse_device};

/// Arguments of `tempora slurm-worker`.
#[derive(Debug, clap::Args)]
pub struct SlurmWorkerArgs {
    /// The run directory.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The array's name in the run (e.g. `features-0`).
    #[arg(long, value_name = "NAME")]
    pub array: String,
    /// The element's index (SLURM_ARRAY_TASK_ID).
    #[arg(long, value_name = "N")]
    pub element: u32,
    /// The cache.
    #[arg(long, value_name = "DIR")]
    pub cache: PathBuf,
    /// `cpu` or `cuda`: must be usable here (no CPU fallback under a CUDA key).
    #[arg(long, value_name = "DEVICE", value_parser = parse_device)]
    pub device: tempora::device::DeviceChoice,
}

/// `tempora slurm-worker`.
pub fn run(args: SlurmWorkerArgs) -> anyhow::Result<ExitCode> {
    let device = tempora::device::resolve(args.device)
        .context("this node cannot run the device class the run was planned for")?;
    let workspace = open_workspace(&args.cache)?;
    let run = RunDir { path: args.run };
    let report = worker::run_element(workspace.store(), &run, &args.array, args.element, device)?;
    for (id, error) in &report.failed {
        eprintln!("error: task {id}: {error}");
    }
    eprintln!(
        "element {}/{}: {} done, {} failed",
        args.array,
        args.element,
        report.done,
        report.failed.len()
    );
    if report.requeue {
        return Ok(ExitCode::from(REQUEUE_EXIT));
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
