//! `tempora run SPEC`: plans the experiment, verifies what is cached
//! (re-hashing every output: a corrupt entry is recomputed, never trusted)
//! and computes only the stale tasks, CPU tasks on `--jobs` threads and
//! training on the device queue, with progress bars and a JSON-lines log.
//!
//! Exit codes: 0 when every task succeeded, 1 when some failed (the others
//! went on and are cached; rerun to retry), 2 on errors before running.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use tempora::device::ComputeDevice;
use tempora::exec::progress::Progress;
use tempora::exec::runner::{JobInfo, Mode, Observer, Outcome, Update};
use tempora::exec::store::Check;
use tempora::plan::{Plan, PlanOptions, TaskKind};
use tempora::report::ReportInput;
use tempora::workspace::{LocalExecutor, Workspace};

use super::plan::{kind_table, resolve_device, workspace_and_target, SpecArgs};
use super::report;

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
    #[command(flatten)]
    pub executor: super::executor::ExecutorArgs,
}

/// What a run did, for callers that go on (e.g. `reproduce`).
pub struct RunOutcome {
    /// The exit code `tempora run` returns.
    pub code: ExitCode,
    /// Tasks that failed.
    pub failed: usize,
    /// Tasks computed or reused (0: the plan was already complete).
    pub ran: usize,
    /// The plan as judged before the run.
    pub plan: Plan,
    /// The cache.
    pub workspace: Workspace,
    /// The report input, when this run computed the experiment's report task.
    pub report: Option<ReportInput>,
    /// The run detached from its Slurm jobs (they go on).
    pub detached: bool,
}

/// Prints each job a dry run reports, in the order it would run.
struct DryRunList;

impl Observer for DryRunList {
    fn started(&self, job: &JobInfo) {
        println!("would run: {}", job.label);
    }
    fn update(&self, _: &JobInfo, _: &Update) {}
    fn finished(&self, _: &JobInfo, _: &Result<Outcome, String>, _: f64) {}
    fn skipped(&self, _: &JobInfo, _: &str) {}
}

/// `tempora run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let device = resolve_device(args.common.target.device)?;
    let outcome = execute(&args, device)?;
    if let Some(mut input) = outcome.report {
        report::note_full_command(&mut input, &args.common);
        let dir = args.reports_dir.join(&input.experiment);
        report::write_and_print(&input, &dir, false)?;
        eprintln!("report: {} (`tempora report` prints it)", dir.display());
    }
    Ok(outcome.code)
}

/// Plans and runs what is stale on `device`; returns the plan and, when the
/// experiment's report task ran, its report input.
pub fn execute(args: &RunArgs, device: ComputeDevice) -> anyhow::Result<RunOutcome> {
    let opts = PlanOptions {
        device: device.into(),
        only: args.only.clone(),
        folds: args.folds.clone(),
    };
    let (workspace, target) = workspace_and_target(&args.common)?;
    let plan = workspace
        .plan_spec(&target, &opts, Check::Hashes)
        .with_context(|| format!("planning {}", args.common.spec.display()))?;
    eprint!("{}", kind_table(&plan));
    let stale = plan.graph.tasks().filter(|t| plan.is_stale(&t.id)).count();
    eprintln!("{stale} to run");
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    let local = match args.jobs {
        Some(jobs) => LocalExecutor { jobs, mode },
        None => LocalExecutor::all_cores(mode),
    };
    let executor = super::executor::choose(&args.executor, local)?;
    let progress = Arc::new(Progress::new(stale as u64, args.dry_run));
    let mut observers: Vec<Arc<dyn Observer>> = vec![progress.clone()];
    if args.dry_run {
        observers.push(Arc::new(DryRunList));
    } else if args.executor.executor == super::executor::ExecutorKind::Local {
        let in_flight = Arc::new(super::interrupt::InFlight::default());
        super::interrupt::install(in_flight.clone())?;
        observers.push(in_flight);
    }
    let run = workspace.run(&plan, device, executor.as_ref(), observers, !args.dry_run);
    progress.finish();
    let Some(run) = super::executor::settle(run, &args.common)? else {
        return Ok(RunOutcome::detached(plan, workspace));
    };
    let s = &run.summary;
    if args.dry_run {
        eprintln!("dry run: {} would run; nothing computed", s.dry_run);
    } else if let Some(log) = &run.log {
        eprintln!(
            "{} computed, {} reused, {} failed, {} skipped in {:.1}s; log: {}",
            s.computed,
            s.reused,
            s.failed.len(),
            s.skipped,
            run.seconds,
            log.display()
        );
    }
    let report_ran = plan
        .graph
        .of_kind(TaskKind::Report)
        .any(|t| plan.is_stale(&t.id));
    let report = if report_ran && run.ok() && !args.dry_run {
        Some(
            workspace
                .report_entry(&plan)
                .context("reading the report input")?,
        )
    } else {
        None
    };
    Ok(RunOutcome {
        code: if run.ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
        failed: s.failed.len(),
        ran: if args.dry_run {
            0
        } else {
            s.computed + s.reused
        },
        plan,
        workspace,
        report,
        detached: false,
    })
}
