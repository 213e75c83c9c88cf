//! The Slurm executor: hands the stale tasks of a run to a Slurm cluster as
//! job arrays of `tempora slurm-worker` elements over a frozen plan, then
//! watches the cache and the queue. Nothing here runs a task itself.
//!
//! - [`config`]: site settings (account, partitions, resources per kind),
//!   outside the spec and every key.
//! - [`compile`]: stale tasks → arrays with exact-element dependencies.
//! - [`script`]: batch scripts and `sbatch` argument vectors.
//! - [`commands`]: the [`Slurm`] trait (sbatch, squeue, scancel) and the
//!   real client programs behind it.
//! - [`rundir`]: the run directory under the cache, event files.
//! - [`worker`]: what an element runs.
//! - [`watch`]: following a submitted run to its end.
//! - [`gc`]: which run directories `tempora gc` removes.
//!
//! A run directory is recorded as its experiment's `active` run; a second
//! `run` whose jobs are still queued or running attaches to it instead of
//! submitting again, `cancel` cancels its jobs.

pub mod commands;
pub mod compile;
pub mod config;
pub mod gc;
pub mod rundir;
pub mod script;
pub mod watch;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::exec::runner::{Observer, StopFlag, Summary};
use crate::exec::store::{Store, StoreError};
use crate::layout::CacheLayout;
use crate::plan::{DeviceClass, FrozenPlan, Task};

use super::executor::{Batch, Executor};
use super::ExecError;

pub use commands::{Accounted, CommandError, QueuedElement, Slurm, SlurmCommands};
pub use compile::{compile, Compiled};
pub use config::{ConfigError, Settings};
pub use rundir::{RunDir, Submission};

/// Why the Slurm executor failed.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// The site settings are incomplete or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A Slurm command failed.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A file of the run directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The run's frozen plan cannot be written or read.
    #[error(transparent)]
    Frozen(#[from] crate::plan::FrozenError),
    /// Writing into the cache failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file of the run directory is not what tempora wrote.
    #[error("{path} is damaged ({reason}); cancel the run (`tempora cancel`) and run again")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A worker was asked for an element the run does not have.
    #[error("the run {run} has no element {index} of array {array}")]
    NoElement {
        /// The run directory.
        run: PathBuf,
        /// The array.
        array: String,
        /// The element.
        index: u32,
    },
    /// The watcher detached (Ctrl-C or `--detach`): the jobs go on.
    #[error("detached from the Slurm run {run}; its jobs keep running")]
    Detached {
        /// The run directory.
        run: PathBuf,
        /// Tasks submitted.
        submitted: usize,
    },
}

/// Runs a batch on Slurm.
pub struct SlurmExecutor {
    /// Site settings.
    pub settings: Settings,
    /// The cluster.
    pub slurm: Arc<dyn Slurm>,
    /// The `tempora` binary copied into the run directory.
    pub binary: PathBuf,
    /// Return right after submitting.
    pub detach: bool,
    /// Set by Ctrl-C: stop watching (the jobs go on).
    pub interrupt: StopFlag,
    /// The directory jobs start in (relative dataset paths resolve there).
    pub workdir: PathBuf,
}

/// Retries of a transient submit failure, with their waits.
const SUBMIT_RETRIES: [u64; 4] = [1, 2, 4, 8];

impl SlurmExecutor {
    /// The run of `batch` whose jobs are still queued or running, if any.
    pub fn live_run(
        &self,
        layout: &CacheLayout,
        experiment: &str,
        profile: Option<&str>,
    ) -> Result<Option<RunDir>, SlurmError> {
        let Some(run) = RunDir::active(layout, experiment, profile) else {
            return Ok(None);
        };
        let jobs = run.submission()?.jobs;
        Ok((!self.slurm.squeue(&jobs)?.is_empty()).then_some(run))
    }

    /// Freezes, compiles, writes and submits `batch`; returns the run directory.
    pub fn submit(&self, batch: &Batch) -> Result<RunDir, SlurmError> {
        let store = &batch.context.store;
        let frozen = FrozenPlan::of_graph(
            &batch.experiment,
            batch.profile.clone(),
            batch.context.device.into(),
            &batch.context.dataset,
            batch.tasks.iter().chain(&batch.upstream),
        );
        let run = RunDir::new(
            store.layout(),
            &batch.experiment,
            batch.profile.as_deref(),
            &frozen.hash()?,
        );
        frozen.save(&run.plan())?;
        copy_binary(&self.binary, &run.binary())?;
        let compiled = compile(&batch.tasks, &self.settings, self.slurm.max_array_size()?)?;
        run.save_arrays(&compiled)?;
        // Slurm does not create the directory of --output; an element without it never runs.
        let logs = run.path.join(crate::layout::slurm_files::LOGS);
        std::fs::create_dir_all(&logs).map_err(|source| SlurmError::Io { path: logs, source })?;
        let cache = absolute(store.root());
        let ctx = script::ScriptContext {
            experiment: &batch.experiment,
            run: &run,
            cache: &cache,
            device: DeviceClass::from(batch.context.device).name(),
            max_requeues: self.settings.max_requeues,
        };
        let mut submission = Submission {
            experiment: batch.experiment.clone(),
            profile: batch.profile.clone(),
            jobs: Vec::new(),
        };
        for array in &compiled.arrays {
            let path = run.script(&array.name);
            crate::exec::store::write_atomic(&path, script::batch_script(&ctx, array).as_bytes())?;
            let dep = compile::dependency(&compiled, &array.deps, &submission.jobs);
            let args = script::sbatch_args(
                &ctx,
                self.settings.account.as_deref(),
                array,
                dep,
                &self.workdir,
            );
            match self.sbatch_with_retries(&args) {
                Ok(job) => submission.jobs.push(job),
                Err(e) => {
                    // Leave nothing half-submitted behind.
                    let _ = self.slurm.scancel(&submission.jobs);
                    return Err(e.into());
                }
            }
            run.save_submission(&submission)?;
        }
        run.activate()?;
        Ok(run)
    }

    fn sbatch_with_retries(&self, args: &[String]) -> Result<u64, CommandError> {
        let mut waits = SUBMIT_RETRIES.iter();
        loop {
            match self.slurm.sbatch(args) {
                Err(e) if e.is_transient() => match waits.next() {
                    Some(s) => std::thread::sleep(Duration::from_secs(*s)),
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }

    /// Watches `run` to its end.
    pub fn watch(
        &self,
        store: &Store,
        run: &RunDir,
        observer: &dyn Observer,
    ) -> Result<Summary, SlurmError> {
        let watcher = watch::Watcher {
            slurm: self.slurm.as_ref(),
            store,
            run,
            poll: self.settings.poll_seconds,
            interrupt: self.interrupt.clone(),
        };
        match watcher.watch(observer)? {
            watch::WatchEnd::Finished(summary) => Ok(summary),
            watch::WatchEnd::Detached => Err(SlurmError::Detached {
                run: run.path.clone(),
                submitted: run.arrays()?.task_ids().count(),
            }),
        }
    }
}

impl Executor for SlurmExecutor {
    fn execute(&self, batch: &Batch, observer: Arc<dyn Observer>) -> Result<Summary, ExecError> {
        let store = &batch.context.store;
        let live = self.live_run(store.layout(), &batch.experiment, batch.profile.as_deref())?;
        let run = match live {
            Some(run) => {
                eprintln!(
                    "slurm: attaching to the running submission {}",
                    run.path.display()
                );
                run
            }
            None => {
                let run = self.submit(batch)?;
                let jobs = run.submission()?.jobs;
                eprintln!(
                    "slurm: submitted {} array(s) (jobs {}); run directory {}",
                    jobs.len(),
                    join(&jobs),
                    run.path.display()
                );
                run
            }
        };
        if self.detach {
            return Err(SlurmError::Detached {
                run: run.path.clone(),
                submitted: run.arrays()?.task_ids().count(),
            }
            .into());
        }
        Ok(self.watch(store, &run, observer.as_ref())?)
    }
}

/// Cancels the jobs of the experiment's active run; returns them.
pub fn cancel(
    slurm: &dyn Slurm,
    layout: &CacheLayout,
    experiment: &str,
    profile: Option<&str>,
) -> Result<Vec<u64>, SlurmError> {
    let Some(run) = RunDir::active(layout, experiment, profile) else {
        return Ok(Vec::new());
    };
    let live: Vec<u64> = slurm
        .squeue(&run.submission()?.jobs)?
        .iter()
        .map(|e| e.job)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    slurm.scancel(&live)?;
    Ok(live)
}

/// Elements of the active run still queued or running: `(pending, running)`.
pub fn queue_counts(
    slurm: &dyn Slurm,
    layout: &CacheLayout,
    experiment: &str,
    profile: Option<&str>,
) -> Result<Option<(usize, usize)>, SlurmError> {
    let Some(run) = RunDir::active(layout, experiment, profile) else {
        return Ok(None);
    };
    let rows = slurm.squeue(&run.submission()?.jobs)?;
    let running = rows.iter().filter(|r| r.state == "RUNNING").count();
    Ok(Some((rows.len() - running, running)))
}

fn join(jobs: &[u64]) -> String {
    jobs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Slurm's default `MaxArraySize` (slurm.conf(5)): the largest array the
/// preview assumes when the cluster cannot be asked.
pub const DEFAULT_MAX_ARRAY_SIZE: u32 = 1001;

/// What the Slurm executor would submit for `stale`: the arrays, their
/// sizes, resources and dependencies (nothing is submitted). The array size
/// limit is asked of the cluster, else Slurm's default is assumed, and the
/// text says so.
pub fn preview(
    slurm: &dyn Slurm,
    stale: &[Task],
    settings: &Settings,
) -> Result<String, SlurmError> {
    let (max, note) = match slurm.max_array_size() {
        Ok(max) => (max, String::new()),
        Err(e) => (
            DEFAULT_MAX_ARRAY_SIZE,
            format!(" (Slurm's default; cannot ask the cluster: {e})"),
        ),
    };
    let compiled = compile(stale, settings, max)?;
    Ok(compile::render(&compiled, &format!("{max}{note}")))
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Copies the binary (a rebuild during the run cannot change what workers run).
fn copy_binary(from: &Path, to: &Path) -> Result<(), SlurmError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SlurmError::Io { path, source }
    };
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = to.with_extension("partial");
    std::fs::copy(from, &tmp).map_err(io(from))?;
    std::fs::rename(&tmp, to).map_err(io(to))
}

#[cfg(test)]
mod tests;
