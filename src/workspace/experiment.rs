//! Running an experiment the way the commands do, in one call
//! ([`Workspace::run_experiment`]): plan the spec, run what is stale on an
//! executor, and decide which report the run yields —
//!
//! | the run | [`ReportWhen::Computed`] (`run`) | [`ReportWhen::Always`] (`reproduce`) |
//! |---|---|---|
//! | computed the report task | its entry | its entry |
//! | found everything cached | none | the cached report |
//! | had failed tasks | none | a partial report, planned anew |
//! | was stopped, detached or a dry run | none | none |
//!
//! Also what `plan` and `reproduce` quote beside a run: the paper
//! protocol's training time (with the CPU calibration measured on first
//! use), the Slurm submission a plan would make, and the queue of an
//! experiment's Slurm run.

use std::path::PathBuf;
use std::sync::Arc;

use crate::calibration::{self, Calibration};
use crate::device::ComputeDevice;
use crate::exec::slurm::{self, Settings, Slurm, SlurmCommands, SlurmError};
use crate::plan::estimate::training_seconds_to_run;
use crate::plan::{Plan, PlanOptions, TaskKind};
use crate::report::ReportInput;

use super::WorkspaceError;
use super::{Check, ExecError, Executor, Observer, RunSummary, SpecTarget, Workspace};

/// Which report a run should yield (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportWhen {
    /// Only the report the run computed (`tempora run`).
    Computed,
    /// A report whenever the run ended without a stop: computed, cached, or
    /// partial after failures (`tempora reproduce`).
    Always,
}

/// How to run an experiment.
pub struct RunRequest<'a> {
    /// Where training runs (its class is keyed).
    pub device: ComputeDevice,
    /// Only these models (a selection leaves out the report).
    pub only: Vec<String>,
    /// Only these folds (a selection leaves out the report).
    pub folds: Option<Vec<usize>>,
    /// What runs the stale tasks.
    pub executor: &'a dyn Executor,
    /// Who sees the run's events (the run log is added).
    pub observers: Vec<Arc<dyn Observer>>,
    /// Only say what would run: the plan record is left as it was.
    pub dry_run: bool,
    /// Which report to yield.
    pub report: ReportWhen,
    /// Called with the plan before anything runs (e.g. to print it).
    pub on_planned: &'a dyn Fn(&Plan),
}

/// The Slurm executor returned while its jobs go on (Ctrl-C, `--detach`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    /// The run directory.
    pub run: PathBuf,
    /// Tasks submitted.
    pub submitted: usize,
}

/// What [`Workspace::run_experiment`] did.
#[derive(Debug)]
pub struct RunOutcome {
    /// The plan as judged before the run.
    pub plan: Plan,
    /// What ran (`None` when the Slurm executor detached).
    pub run: Option<RunSummary>,
    /// Set when the Slurm executor detached from its jobs.
    pub detached: Option<Detached>,
    /// The report the run yields ([`ReportWhen`]).
    pub report: Option<ReportInput>,
}

impl RunOutcome {
    /// Tasks that failed.
    pub fn failed(&self) -> usize {
        self.run.as_ref().map_or(0, |r| r.summary.failed.len())
    }

    /// Whether every task that ran succeeded (a detached run counts as such).
    pub fn ok(&self) -> bool {
        self.run.as_ref().is_none_or(RunSummary::ok)
    }
}

/// Whether the executor returned because the Slurm executor detached.
fn is_detached(e: &ExecError) -> bool {
    matches!(e, ExecError::Slurm(s) if matches!(**s, SlurmError::Detached { .. }))
}

impl Workspace {
    /// Plans `target` for the request's device and selection, runs the stale
    /// tasks on its executor and returns the report the request asks for.
    pub fn run_experiment(
        &self,
        target: &SpecTarget,
        request: RunRequest<'_>,
    ) -> Result<RunOutcome, WorkspaceError> {
        let opts = PlanOptions {
            device: request.device.into(),
            only: request.only.clone(),
            folds: request.folds.clone(),
        };
        let plan = self.plan_spec(target, &opts, Check::Hashes)?;
        (request.on_planned)(&plan);
        let record = !request.dry_run;
        let run = match self.run(
            &plan,
            request.device,
            request.executor,
            request.observers,
            record,
        ) {
            Ok(run) => run,
            Err(WorkspaceError::Exec(e)) if is_detached(&e) => {
                let ExecError::Slurm(e) = *e else {
                    unreachable!("matched just above")
                };
                let SlurmError::Detached { run, submitted } = *e else {
                    unreachable!("matched just above")
                };
                return Ok(RunOutcome {
                    plan,
                    run: None,
                    detached: Some(Detached { run, submitted }),
                    report: None,
                });
            }
            Err(e) => return Err(e),
        };
        let report = if request.dry_run || run.stopped() {
            None
        } else {
            self.report_after(target, &plan, &run, request.report)?
        };
        Ok(RunOutcome {
            plan,
            run: Some(run),
            detached: None,
            report,
        })
    }

    /// The report a finished (not stopped) run yields.
    fn report_after(
        &self,
        target: &SpecTarget,
        plan: &Plan,
        run: &RunSummary,
        when: ReportWhen,
    ) -> Result<Option<ReportInput>, WorkspaceError> {
        let report_ran = plan
            .graph
            .of_kind(TaskKind::Report)
            .any(|t| plan.is_stale(&t.id));
        if report_ran && run.ok() {
            return Ok(Some(self.report_entry(plan)?));
        }
        if when == ReportWhen::Computed {
            return Ok(None);
        }
        if run.ok() && run.stale == 0 {
            // Nothing ran: the plan's freshness is still true.
            return Ok(Some(self.report_input(plan)?));
        }
        // Some tasks failed: report what finished, judged anew.
        let opts = PlanOptions {
            device: plan.device,
            ..PlanOptions::default()
        };
        let now = self.plan_spec(target, &opts, Check::Sizes)?;
        Ok(Some(self.report_input(&now)?))
    }

    /// The training time of `target`'s stale tasks on `device`, estimated
    /// from the cached calibration of the device. The CPU's calibration is
    /// measured and cached on first use (a fraction of a second; a failure
    /// to cache it only costs the next call that time). `None` when the rate
    /// is unknown (a GPU before its first training).
    pub fn training_estimate(
        &self,
        target: &SpecTarget,
        device: ComputeDevice,
    ) -> Result<Option<f64>, WorkspaceError> {
        let opts = PlanOptions {
            device: device.into(),
            ..PlanOptions::default()
        };
        let plan = self.plan_spec(target, &opts, Check::Sizes)?;
        let root = self.store().root();
        let cached = matches!(Calibration::load(root, device), Ok(Some(_)));
        if device == ComputeDevice::Cpu && !cached {
            if let Err(e) = calibration::measure_cpu().save(root) {
                tracing::warn!("cannot cache the CPU calibration: {e}");
            }
        }
        Ok(training_seconds_to_run(&plan, self.store(), device).map(|(seconds, _)| seconds))
    }

    /// What the Slurm executor with `settings` would submit for the stale
    /// tasks of `plan` (nothing is submitted).
    pub fn slurm_preview(&self, plan: &Plan, settings: &Settings) -> Result<String, SlurmError> {
        let stale: Vec<_> = plan
            .graph
            .tasks()
            .filter(|t| plan.is_stale(&t.id))
            .cloned()
            .collect();
        slurm::preview(&SlurmCommands, &stale, settings)
    }

    /// `(queued, running)` elements of the experiment's active Slurm run;
    /// `None` when it has none.
    pub fn slurm_queue(&self, plan: &Plan) -> Result<Option<(usize, usize)>, SlurmError> {
        let exp = &plan.experiment;
        let commands: &dyn Slurm = &SlurmCommands;
        slurm::queue_counts(
            commands,
            self.store().layout(),
            &exp.name,
            exp.profile.as_deref(),
        )
    }
}
