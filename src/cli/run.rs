//! `tempora run SPEC`: plans the experiment, verifies what is cached
//! (re-hashing every output: a corrupt entry is recomputed, never trusted)
//! and computes only the stale tasks, CPU tasks on `--jobs` threads and
//! training on the device queue, with progress bars and a JSON-lines log.
//! Trainings write their curves for TensorBoard as they go (the command to
//! view them is printed first); a finished experiment's table is printed at
//! the end (`--quiet` leaves it out).
//!
//! Exit codes: 0 when every task succeeded, 1 when some failed (the others
//! went on and are cached; rerun to retry), 2 on errors before running,
//! 128 + N when signal N stopped it (see [`super::interrupt`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use tempora::workspace::{JobInfo, Mode, Observer, ProgressBars, ReportWhen, RunRequest};

use super::args::{resolve_device, ExecutorArgs, SpecArgs};
use super::{interrupt, output};

/// Arguments of `tempora run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: SpecArgs,
    /// Only these models (comma-separated names as in the spec); leaves out the report.
    #[arg(long, value_name = "MODEL", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Only these folds (comma-separated, 0-based); leaves out the report.
    #[arg(long, value_name = "FOLDS", value_delimiter = ',')]
    pub folds: Option<Vec<usize>>,
    /// CPU worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Show what would run, in order, without computing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Where the finished experiment's report goes (`<DIR>/<experiment>/`).
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub reports_dir: PathBuf,
    /// Do not print the table at the end (the report is written all the same).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub executor: ExecutorArgs,
}

/// Prints each job a dry run reports, in the order it would run.
struct DryRunList;

impl Observer for DryRunList {
    fn started(&self, job: &JobInfo) {
        println!("would run: {}", job.label);
    }
}

/// `tempora run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let device = resolve_device(args.common.target.device)?;
    let interrupt = interrupt::install(args.executor.executor.stop_note())?;
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    let executor = args.executor.executor(args.jobs, mode, interrupt.stop())?;
    let progress = Arc::new(ProgressBars::new(args.dry_run));
    let mut observers: Vec<Arc<dyn Observer>> = vec![progress.clone()];
    if args.dry_run {
        observers.push(Arc::new(DryRunList));
    }
    let workspace = args.common.workspace()?;
    let print_plan = |plan: &tempora::plan::Plan| {
        eprintln!("{}", output::plan_header(plan));
        let mut trains = plan.graph.of_kind(tempora::plan::TaskKind::Train);
        if !args.dry_run && trains.any(|t| plan.is_stale(&t.id)) {
            let dir = workspace.tensorboard_dir(plan);
            let logdir = dir.parent().unwrap_or(&dir);
            eprintln!(
                "training curves: tensorboard --logdir {} (runs {}/…)",
                logdir.display(),
                dir.file_name().unwrap_or_default().to_string_lossy()
            );
        }
    };
    let request = RunRequest {
        device,
        only: args.only.clone(),
        folds: args.folds.clone(),
        executor: executor.as_ref(),
        observers,
        dry_run: args.dry_run,
        report: ReportWhen::Computed,
        on_planned: &print_plan,
    };
    let outcome = workspace
        .run_experiment(&args.common.spec_target(), request)
        .with_context(|| format!("running {}", args.common.spec.display()))?;
    progress.finish();
    if let Some(code) = output::end_of_run(&outcome, &args.common, &interrupt, args.dry_run) {
        return Ok(code);
    }
    let ok = outcome.ok();
    if let Some(mut input) = outcome.report {
        output::note_full_command(&mut input, &args.common);
        let dir = args.reports_dir.join(&input.experiment);
        output::write_and_print(&input, &dir, !args.quiet)?;
        if args.quiet {
            eprintln!("report: {} (`tempora report` prints it)", dir.display());
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
