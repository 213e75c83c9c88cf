//! `tempora cancel SPEC`: cancels the Slurm jobs of the experiment's active
//! run (`scancel`). Published results stay; `tempora run … --executor slurm`
//! later submits what is still missing.

use std::process::ExitCode;

use tempora::workspace::slurm::{self, SlurmCommands};

use super::args::SpecArgs;

/// Arguments of `tempora cancel`.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    #[command(flatten)]
    pub common: SpecArgs,
}

/// `tempora cancel`.
pub fn run(args: CancelArgs) -> anyhow::Result<ExitCode> {
    let workspace = args.common.workspace()?;
    let experiment = workspace.load(&args.common.spec_target())?;
    let layout = workspace.store().layout();
    let jobs = slurm::cancel(
        &SlurmCommands,
        layout,
        &experiment.name,
        experiment.profile.as_deref(),
    )?;
    if jobs.is_empty() {
        println!("no Slurm jobs of {} are queued or running", experiment.name);
    } else {
        let ids: Vec<String> = jobs.iter().map(u64::to_string).collect();
        println!("cancelled Slurm jobs {}", ids.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
