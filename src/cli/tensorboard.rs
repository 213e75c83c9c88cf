//! `tempora tensorboard SPEC`: writes TensorBoard event files for every
//! finished training of an experiment from the curves its cache entries
//! recorded, so that runs from before live event files, or another
//! machine's cache, can be viewed with `tensorboard --logdir`. Never trains.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tempora::workspace::Check;

use super::args::SpecArgs;

/// Arguments of `tempora tensorboard`.
#[derive(Debug, clap::Args)]
pub struct TensorBoardArgs {
    #[command(flatten)]
    pub common: SpecArgs,
    /// Where to write the runs (one per model, hop and fold); default: the
    /// experiment's log directory in the cache, where trainings write live.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Runs `tempora tensorboard`.
pub fn run(args: TensorBoardArgs) -> anyhow::Result<ExitCode> {
    let (workspace, plan, _device) = args.common.plan(Check::Sizes)?;
    let written = workspace
        .write_tensorboard(&plan, args.out.as_deref())
        .context("writing TensorBoard event files")?;
    println!(
        "wrote {} event files under {}{}",
        written.files.len(),
        written.dir.display(),
        if written.unfinished > 0 {
            format!(
                " ({} trainings of the plan have not finished)",
                written.unfinished
            )
        } else {
            String::new()
        }
    );
    let logdir = written.dir.parent().filter(|_| args.out.is_none());
    println!(
        "view them: tensorboard --logdir {}",
        logdir.unwrap_or(&written.dir).display()
    );
    Ok(ExitCode::SUCCESS)
}
