//! The library API for planning and running: a [`Workspace`] is one cache
//! directory, and everything the command line does is a call on it — load a
//! spec against a target (profile, dataset override), plan it (device class,
//! `--only`, `--folds`), run the stale part of a plan on an [`Executor`]
//! with observers (progress, the run log it keeps itself), freeze a plan to a
//! file and run one task of a frozen plan by id or key, and read an
//! experiment's report input back from the cache.
//!
//! Every orchestration sequence (source index → judge → context → executor →
//! log, the report decision, re-planning after a failure, calibration on
//! first use) is written here once ([`experiment`]); the CLI only parses
//! arguments and prints. This module also re-exports the vocabulary a
//! library user needs to drive it: executors, observers, outcomes, modes.

pub mod experiment;
pub mod gc;
pub mod tensorboard;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::dataset::{Dataset, DatasetError, DatasetSource};
use crate::device::ComputeDevice;
use crate::exec::executor::run_frozen_task;
use crate::exec::log::{new_log_path, LogError, RunLog};
use crate::exec::runner::Tee;
use crate::exec::store::{Store, StoreError};
use crate::features::FeatureConfig;
use crate::plan::{self, freshness, Freshness, FrozenError, FrozenPlan, Plan, PlanError};
use crate::plan::{DeviceClass, PlanOptions, Task, TaskGraph, TaskId, TaskKind, TaskParams};
use crate::report::ReportInput;
use crate::spec::{self, Experiment, SpecError};
use crate::tasks::{self, Context, TaskError};

pub use crate::exec::device_slots::DeviceSlots;
pub use crate::exec::executor::{Batch, Executor};
pub use crate::exec::local::LocalExecutor;
pub use crate::exec::progress::ProgressBars;
pub use crate::exec::runner::{
    join_causes, JobInfo, Mode, Observer, Outcome, StopFlag, Summary, Update,
};
pub use crate::exec::slurm::{self, SlurmCommands, SlurmError, SlurmExecutor};
pub use crate::exec::store::Check;
pub use crate::exec::ExecError;
pub use experiment::{Detached, ReportWhen, RunOutcome, RunRequest};

/// Why a workspace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The spec could not be loaded.
    #[error("{path}: {source}")]
    Spec {
        /// The spec file.
        path: PathBuf,
        /// What is wrong with it.
        source: SpecError,
    },
    /// The dataset (or a `--data` override) could not be read.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Planning failed (boxed: the largest error, kept off the happy path).
    #[error(transparent)]
    Plan(Box<PlanError>),
    /// The cache failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run log could not be created.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The executor could not run the plan (or the Slurm executor detached;
    /// boxed: the largest error, kept off the happy path).
    #[error(transparent)]
    Exec(Box<ExecError>),
    /// A frozen plan cannot be used.
    #[error(transparent)]
    Frozen(#[from] FrozenError),
    /// A task failed.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The Slurm executor's settings or queue could not be read.
    #[error(transparent)]
    Slurm(Box<SlurmError>),
    /// The plan was keyed for one device class and asked to run on another.
    #[error(
        "the plan of {experiment} was made for the {keyed} device class but is asked to run on \
         {running}; nothing was run (plan again with --device {running}, or run with --device {keyed})"
    )]
    WrongDevice {
        /// The experiment.
        experiment: String,
        /// The class in the plan's keys.
        keyed: DeviceClass,
        /// The class of the device given.
        running: DeviceClass,
    },
    /// A TensorBoard event file could not be written.
    #[error(transparent)]
    TensorBoard(#[from] crate::tensorboard::TensorBoardError),
    /// The plan has no report task (a run restricted with `--only` or `--folds`).
    #[error("this plan has no report task (a run with --only or --folds reports nothing)")]
    NoReport,
}

// Boxed: PlanError alone is 128 bytes, which clippy's result_large_err refuses.
impl From<PlanError> for WorkspaceError {
    fn from(e: PlanError) -> Self {
        Self::Plan(Box::new(e))
    }
}

impl From<ExecError> for WorkspaceError {
    fn from(e: ExecError) -> Self {
        Self::Exec(Box::new(e))
    }
}

impl From<SlurmError> for WorkspaceError {
    fn from(e: SlurmError) -> Self {
        Self::Slurm(Box::new(e))
    }
}

/// Which experiment to plan: a spec file, one of its profiles, and an
/// optional dataset that replaces the spec's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecTarget {
    /// The spec (TOML).
    pub spec: PathBuf,
    /// A `[profile.NAME]` of the spec.
    pub profile: Option<String>,
    /// A dataset that replaces the spec's (`ballroom:/path`, `folder:/path`, …).
    pub data: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Tasks the run was asked to compute.
    pub stale: usize,
    /// What the executor reported.
    pub summary: Summary,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The run log (`None` when nothing was stale).
    pub log: Option<PathBuf>,
}

impl RunSummary {
    /// Whether every task succeeded.
    pub fn ok(&self) -> bool {
        self.summary.failed.is_empty()
    }

    /// Whether the run was stopped before its end (some task unfinished or
    /// never started): what is left resumes on the next run.
    pub fn stopped(&self) -> bool {
        !self.summary.stopped.is_empty() || self.summary.not_started > 0
    }
}

/// A cache directory and everything planned and run against it.
#[derive(Debug, Clone)]
pub struct Workspace {
    store: Store,
}

impl Workspace {
    /// Opens (creating if needed) the cache at `cache`.
    pub fn open(cache: &Path) -> Result<Self, WorkspaceError> {
        Ok(Self {
            store: Store::open(cache)?,
        })
    }

    /// The cache.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Loads a spec with its profile, applying the dataset override.
    pub fn load(&self, target: &SpecTarget) -> Result<Experiment, WorkspaceError> {
        let experiment = spec::load(&target.spec, target.profile.as_deref()).map_err(|source| {
            WorkspaceError::Spec {
                path: target.spec.clone(),
                source,
            }
        })?;
        Ok(match &target.data {
            Some(data) => experiment.with_dataset(data.parse::<DatasetSource>()?),
            None => experiment,
        })
    }

    /// Plans an experiment and judges every task against the cache (`check`:
    /// sizes only, or every byte re-hashed).
    pub fn plan(
        &self,
        experiment: Experiment,
        opts: &PlanOptions,
        check: Check,
    ) -> Result<Plan, WorkspaceError> {
        Ok(plan::prepare(experiment, &self.store, opts, check)?)
    }

    /// Loads and plans in one call.
    pub fn plan_spec(
        &self,
        target: &SpecTarget,
        opts: &PlanOptions,
        check: Check,
    ) -> Result<Plan, WorkspaceError> {
        self.plan(self.load(target)?, opts, check)
    }

    /// The features tasks of every track of a dataset (same keys as in any
    /// experiment on it), judged against the cache.
    pub fn plan_features(
        &self,
        dataset: Dataset,
        config: &FeatureConfig,
    ) -> Result<FeaturesPlan, WorkspaceError> {
        let mut index = plan::sources::SourceIndex::load(self.store.root());
        let hashes = index
            .hash_tracks(&dataset.tracks)
            .map_err(PlanError::from)?;
        index.save().map_err(PlanError::from)?;
        let mut graph = TaskGraph::new();
        for task in
            plan::build::features_tasks(&dataset, &hashes, config).map_err(PlanError::from)?
        {
            graph.insert(task)?;
        }
        let judged = freshness::judge(&graph, &self.store, Check::Hashes, None)?;
        let stale = judged
            .iter()
            .filter(|(_, f)| !matches!(f, Freshness::Fresh))
            .map(|(id, _)| id.clone())
            .collect();
        Ok(FeaturesPlan {
            dataset,
            graph,
            stale,
        })
    }

    /// Runs the stale tasks of `plan` on `executor`, recording the plan first
    /// (rerun reasons) unless the executor only reports.
    pub fn run(
        &self,
        plan: &Plan,
        device: ComputeDevice,
        executor: &dyn Executor,
        observers: Vec<Arc<dyn Observer>>,
        record: bool,
    ) -> Result<RunSummary, WorkspaceError> {
        let running = DeviceClass::from(device);
        if plan.device != running {
            return Err(WorkspaceError::WrongDevice {
                experiment: plan.experiment.name.clone(),
                keyed: plan.device,
                running,
            });
        }
        let stale: BTreeSet<TaskId> = plan
            .graph
            .tasks()
            .filter(|t| plan.is_stale(&t.id))
            .map(|t| t.id.clone())
            .collect();
        if record && !stale.is_empty() {
            plan.save_record()?;
        }
        let batch = self.batch(
            &plan.experiment.name,
            plan.experiment.profile.clone(),
            &plan.dataset,
            &plan.graph,
            &stale,
            device,
        );
        self.execute(&batch, executor, observers)
    }

    /// Runs the stale features tasks of a dataset on `executor`.
    pub fn run_features(
        &self,
        plan: &FeaturesPlan,
        executor: &dyn Executor,
        observers: Vec<Arc<dyn Observer>>,
    ) -> Result<RunSummary, WorkspaceError> {
        let batch = self.batch(
            &format!("features of {}", plan.dataset.name),
            None,
            &plan.dataset,
            &plan.graph,
            &plan.stale,
            ComputeDevice::Cpu,
        );
        self.execute(&batch, executor, observers)
    }

    fn batch(
        &self,
        experiment: &str,
        profile: Option<String>,
        dataset: &Dataset,
        graph: &TaskGraph,
        stale: &BTreeSet<TaskId>,
        device: ComputeDevice,
    ) -> Batch {
        let context = self.experiment_context(experiment, profile.as_deref(), dataset, device);
        Batch::of_stale(experiment, profile, context, graph, stale)
    }

    /// What tasks compute with, outside any experiment (no training curves).
    pub fn context(&self, dataset: Dataset, device: ComputeDevice) -> Context {
        Context {
            store: self.store.clone(),
            dataset,
            device,
            tensorboard: None,
        }
    }

    /// What the tasks of `experiment` (with `profile`) compute with:
    /// trainings write their curves under its TensorBoard log directory.
    pub fn experiment_context(
        &self,
        experiment: &str,
        profile: Option<&str>,
        dataset: &Dataset,
        device: ComputeDevice,
    ) -> Context {
        Context {
            tensorboard: Some(self.store.layout().tensorboard(experiment, profile)),
            ..self.context(dataset.clone(), device)
        }
    }

    /// Runs a batch with the run log attached to the observers.
    fn execute(
        &self,
        batch: &Batch,
        executor: &dyn Executor,
        mut observers: Vec<Arc<dyn Observer>>,
    ) -> Result<RunSummary, WorkspaceError> {
        let clock = Instant::now();
        if batch.tasks.is_empty() {
            return Ok(RunSummary {
                stale: 0,
                summary: Summary::default(),
                seconds: 0.0,
                log: None,
            });
        }
        let log = Arc::new(RunLog::create(&new_log_path(&self.store.logs_dir()))?);
        log.note(
            "run_start",
            json!({ "experiment": batch.experiment, "profile": batch.profile, "tasks": batch.tasks.len() }),
        );
        observers.push(log.clone());
        let observer = Arc::new(Tee(observers));
        observer.planned(batch.tasks.len());
        let summary = executor.execute(batch, observer)?;
        log.note(
            "run_end",
            json!({ "computed": summary.computed, "reused": summary.reused,
                    "failed": summary.failed.len(), "skipped": summary.skipped }),
        );
        Ok(RunSummary {
            stale: batch.tasks.len(),
            summary,
            seconds: clock.elapsed().as_secs_f64(),
            log: Some(log.path().to_path_buf()),
        })
    }

    /// Freezes `plan` into the cache (`frozen/`), returning the file.
    pub fn freeze(&self, plan: &Plan) -> Result<PathBuf, WorkspaceError> {
        let frozen = FrozenPlan::of(plan);
        let path = self.store.layout().frozen_plan(
            &plan.experiment.name,
            plan.experiment.profile.as_deref(),
            &frozen.hash()?,
        );
        frozen.save(&path)?;
        Ok(path)
    }

    /// Runs one task of a frozen plan, by id or key, in this process: the key
    /// is derived anew and must match, a task keyed for another device class
    /// is refused, inputs are read from the cache (verified), the output is
    /// published atomically (a valid entry published first by another
    /// process is kept).
    pub fn run_frozen_task(
        &self,
        frozen: &FrozenPlan,
        selector: &str,
        device: ComputeDevice,
        observer: Arc<dyn Observer>,
    ) -> Result<(Task, Outcome), WorkspaceError> {
        let ctx = self.experiment_context(
            &frozen.experiment,
            frozen.profile.as_deref(),
            &frozen.dataset,
            device,
        );
        Ok(run_frozen_task(
            &ctx,
            frozen,
            selector,
            observer,
            StopFlag::new(),
        )?)
    }

    /// The report input the plan's report entry holds (e.g. right after a run
    /// computed it, while the plan still judges it stale).
    pub fn report_entry(&self, plan: &Plan) -> Result<ReportInput, WorkspaceError> {
        let task = plan
            .graph
            .of_kind(TaskKind::Report)
            .next()
            .ok_or(WorkspaceError::NoReport)?;
        Ok(tasks::report::read_input(&self.store, &task.key)?)
    }

    /// The report input of `plan` from the cache: the report entry when it is
    /// fresh, else gathered from the finished train entries (a partial report).
    pub fn report_input(&self, plan: &Plan) -> Result<ReportInput, WorkspaceError> {
        let task = plan
            .graph
            .of_kind(TaskKind::Report)
            .next()
            .ok_or(WorkspaceError::NoReport)?;
        if matches!(plan.freshness.get(&task.id), Some(Freshness::Fresh)) {
            return Ok(tasks::report::read_input(&self.store, &task.key)?);
        }
        let TaskParams::Report(params) = &task.params else {
            return Err(
                PlanError::Internal(format!("{} has no report parameters", task.id)).into(),
            );
        };
        let trains: Vec<_> = plan
            .graph
            .of_kind(TaskKind::Train)
            .filter(|t| matches!(plan.freshness.get(&t.id), Some(Freshness::Fresh)))
            .map(|t| t.key)
            .collect();
        Ok(tasks::report::gather(&self.store, params, &trains)?)
    }
}

/// The features tasks of a dataset, judged against the cache.
#[derive(Debug, Clone)]
pub struct FeaturesPlan {
    /// The dataset.
    pub dataset: Dataset,
    /// One features task per track.
    pub graph: TaskGraph,
    /// The tasks not cached.
    pub stale: BTreeSet<TaskId>,
}
