//! `--executor local|slurm` and the Slurm options shared by `run`,
//! `reproduce` and `plan`; choosing the executor; what a detached run
//! prints; the queue line of `status`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context as _;

use tempora::plan::Plan;
use tempora::workspace::slurm::{self, SlurmCommands, SlurmError, SlurmExecutor};
use tempora::workspace::{Executor, LocalExecutor, RunSummary, Workspace, WorkspaceError};

use super::plan::SpecArgs;
use super::run::RunOutcome;

/// Where tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorKind {
    /// In this process: CPU worker threads and a device queue.
    Local,
    /// As job arrays on a Slurm cluster (settings: --slurm-config).
    Slurm,
}

/// The executor options.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorArgs {
    /// Where tasks run: `local` (this machine) or `slurm` (job arrays on the cluster).
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorKind,
    /// With `--executor slurm`: return right after submitting (`tempora run` again re-attaches).
    #[arg(long)]
    pub detach: bool,
    /// Site settings of the Slurm executor [default: <config dir>/tempora/slurm.toml].
    #[arg(long, value_name = "FILE")]
    pub slurm_config: Option<PathBuf>,
    /// Overrides one Slurm setting: KIND.FIELD=VALUE (e.g. train.time=02:00:00) or FIELD=VALUE.
    #[arg(long, value_name = "KIND.FIELD=VALUE")]
    pub slurm_set: Vec<String>,
}

impl ExecutorArgs {
    /// The Slurm settings these options name.
    pub fn settings(&self) -> anyhow::Result<slurm::Settings> {
        let path = self
            .slurm_config
            .clone()
            .unwrap_or_else(slurm::config::default_path);
        Ok(slurm::config::load(&path, &self.slurm_set)?)
    }
}

/// The executor the options choose (`local` is the one given).
pub fn choose(args: &ExecutorArgs, local: LocalExecutor) -> anyhow::Result<Box<dyn Executor>> {
    if args.executor == ExecutorKind::Local {
        return Ok(Box::new(local));
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupt.clone())
        .context("catching Ctrl-C (it detaches from a Slurm run)")?;
    Ok(Box::new(SlurmExecutor {
        settings: args.settings()?,
        slurm: Arc::new(SlurmCommands),
        binary: std::env::current_exe().context("finding the tempora binary to copy")?,
        detach: args.detach,
        interrupt,
        workdir: std::env::current_dir().context("reading the current directory")?,
    }))
}

/// A run's result, or `None` after printing how to re-attach when the Slurm
/// executor detached (Ctrl-C, `--detach`).
pub fn settle(
    run: Result<RunSummary, WorkspaceError>,
    spec: &SpecArgs,
) -> anyhow::Result<Option<RunSummary>> {
    match run {
        Ok(run) => Ok(Some(run)),
        Err(WorkspaceError::Slurm(e)) if matches!(*e, SlurmError::Detached { .. }) => {
            let SlurmError::Detached { run, submitted } = *e else {
                unreachable!("matched just above")
            };
            let mut again = format!("{}", spec.spec.display());
            if let Some(p) = &spec.profile {
                again.push_str(&format!(" --profile {p}"));
            }
            eprintln!(
                "slurm: detached; {submitted} task(s) go on in Slurm (run directory {}).\n  \
                 re-attach: tempora run {again} --executor slurm\n  \
                 queue:     tempora status {again}\n  \
                 cancel:    tempora cancel {again}\n  (with the same --cache and --data)",
                run.display()
            );
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context("running the plan")),
    }
}

impl RunOutcome {
    /// The outcome of a run that detached from its Slurm jobs.
    pub fn detached(plan: Plan, workspace: Workspace) -> Self {
        Self {
            code: ExitCode::SUCCESS,
            failed: 0,
            ran: 0,
            plan,
            workspace,
            report: None,
            detached: true,
        }
    }
}

/// `slurm: N queued, M running (run DIR)` when the experiment has a Slurm run.
pub fn queue_line(workspace: &Workspace, plan: &Plan) -> Option<String> {
    let layout = workspace.store().layout();
    let (name, profile) = (&plan.experiment.name, plan.experiment.profile.as_deref());
    slurm::RunDir::active(layout, name, profile)?;
    Some(
        match slurm::queue_counts(&SlurmCommands, layout, name, profile) {
            Ok(Some((pending, running))) => {
                format!("slurm: {pending} element(s) queued, {running} running")
            }
            Ok(None) => return None,
            Err(e) => format!("slurm: cannot read the queue: {e}"),
        },
    )
}

/// What `--executor slurm` would submit for the stale tasks of `plan`: the
/// arrays, their sizes, resources and dependencies (nothing is submitted).
pub fn slurm_plan(plan: &Plan, args: &ExecutorArgs) -> anyhow::Result<String> {
    use tempora::workspace::slurm::Slurm as _;
    let settings = args.settings()?;
    let stale: Vec<_> = plan
        .graph
        .tasks()
        .filter(|t| plan.is_stale(&t.id))
        .cloned()
        .collect();
    let (max, note) = match SlurmCommands.max_array_size() {
        Ok(max) => (max, String::new()),
        Err(e) => (
            1001,
            format!(" (Slurm's default; cannot ask the cluster: {e})"),
        ),
    };
    let compiled = slurm::compile(&stale, &settings, max)?;
    Ok(slurm::compile::render(&compiled, &format!("{max}{note}")))
}
