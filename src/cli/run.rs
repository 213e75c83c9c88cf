//! `tempora run SPEC`: plans the experiment, verifies what is cached
//! (re-hashing every output: a corrupt entry is recomputed, never trusted)
//! and computes only the stale tasks, CPU tasks on `--jobs` threads and
//! training on the device queue, with progress bars and a JSON-lines log.
//!
//! Exit codes: 0 when every task succeeded, 1 when some failed (the others
//! went on and are cached; rerun to retry), 2 on errors before running.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

use tempora::device::ComputeDevice;
use tempora::exec::log::{new_log_path, RunLog};
use tempora::exec::progress::Progress;
use tempora::exec::runner::{JobInfo, Mode, Observer, Outcome, Runner, Tee, Update};
use tempora::exec::store::Check;
use tempora::exec::store::Store;
use tempora::plan::{Plan, PlanOptions, TaskId, TaskKind};
use tempora::report::ReportInput;
use tempora::tasks::report::read_input;
use tempora::tasks::{self, Context};

use super::plan::{kind_table, prepare, resolve_device, SpecArgs};
use super::report;

/// Arguments of `tempora run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: SpecArgs,
    /// Only these models (comma-separated names as in the spec); leaves out aggregate and report.
    #[arg(long, value_name = "MODEL", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Only these folds (comma-separated, 0-based); leaves out aggregate and report.
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
}

/// What a run did, for callers that go on (e.g. `reproduce`).
pub struct RunOutcome {
    /// The exit code `tempora run` returns.
    pub code: ExitCode,
    /// Tasks that failed.
    pub failed: usize,
    /// Tasks computed or reused (0: the plan was already complete).
    pub ran: usize,
    /// The plan as judged before the run, and its cache.
    pub plan: Plan,
    /// The cache.
    pub store: Store,
    /// The report input, when this run computed the experiment's report task.
    pub report: Option<ReportInput>,
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
    if let Some(input) = &outcome.report {
        let dir = args.reports_dir.join(&input.experiment);
        report::write_and_print(input, &dir, false)?;
        eprintln!("report: {} (`tempora report` prints it)", dir.display());
    }
    Ok(outcome.code)
}

/// Plans and runs what is stale on `device`; returns the plan and, when the
/// experiment's report task ran, its report input.
pub fn execute(args: &RunArgs, device: ComputeDevice) -> anyhow::Result<RunOutcome> {
    let clock = Instant::now();
    let opts = PlanOptions {
        device: device.into(),
        only: args.only.clone(),
        folds: args.folds.clone(),
    };
    let (store, plan) = prepare(&args.common, opts, Check::Hashes)?;
    eprint!("{}", kind_table(&plan));
    let stale: BTreeSet<TaskId> = plan
        .graph
        .tasks()
        .filter(|t| plan.is_stale(&t.id))
        .map(|t| t.id.clone())
        .collect();
    eprintln!("{} to run", stale.len());
    if stale.is_empty() {
        return Ok(RunOutcome {
            code: ExitCode::SUCCESS,
            failed: 0,
            ran: 0,
            plan,
            store,
            report: None,
        });
    }
    if !args.dry_run {
        plan.save_record().context("recording the plan")?;
    }
    let ctx = Arc::new(Context {
        store: store.clone(),
        dataset: plan.dataset.clone(),
        models: plan.experiment.models.clone(),
        keys: plan
            .graph
            .tasks()
            .map(|t| (t.id.clone(), (t.kind, t.key)))
            .collect(),
        device,
    });
    let queue = tasks::job_queue(&plan.graph, &stale, &ctx).context("building the job queue")?;
    let log =
        Arc::new(RunLog::create(&new_log_path(&store.logs_dir())).context("creating the run log")?);
    log.note(
        "run_start",
        json!({ "spec": args.common.spec, "experiment": plan.experiment.name, "tasks": stale.len(), "dry_run": args.dry_run }),
    );
    let progress = Arc::new(Progress::new(stale.len() as u64, args.dry_run));
    let mut observers: Vec<Arc<dyn Observer>> = vec![progress.clone(), log.clone()];
    if args.dry_run {
        observers.push(Arc::new(DryRunList));
    }
    let observer: Arc<dyn Observer> = Arc::new(Tee(observers));
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    let summary = Runner { jobs, mode }
        .run(queue, observer)
        .context("running the plan")?;
    progress.finish();
    log.note(
        "run_end",
        json!({ "computed": summary.computed, "reused": summary.reused, "failed": summary.failed.len(), "skipped": summary.skipped }),
    );
    if args.dry_run {
        eprintln!("dry run: {} would run; nothing computed", summary.dry_run);
        return Ok(RunOutcome {
            code: ExitCode::SUCCESS,
            failed: 0,
            ran: 0,
            plan,
            store,
            report: None,
        });
    }
    eprintln!(
        "{} computed, {} reused, {} failed, {} skipped in {:.1}s; log: {}",
        summary.computed,
        summary.reused,
        summary.failed.len(),
        summary.skipped,
        clock.elapsed().as_secs_f64(),
        log.path().display()
    );
    let report_task = plan
        .graph
        .of_kind(TaskKind::Report)
        .find(|t| stale.contains(&t.id));
    let report = match report_task {
        Some(task) if summary.failed.is_empty() => {
            Some(read_input(&store, &task.key).context("reading the report input")?)
        }
        _ => None,
    };
    Ok(RunOutcome {
        code: if summary.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
        failed: summary.failed.len(),
        ran: summary.computed + summary.reused,
        plan,
        store,
        report,
    })
}
