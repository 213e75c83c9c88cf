//! Which Slurm run directories `tempora gc` removes: those whose runs are
//! finished, so nothing on the cluster can still read their frozen plan,
//! binary or scripts.
//!
//! A run is finished when none of its jobs is in the queue. Slurm is asked
//! once, with one `squeue` call for every run of the cache. Where it cannot
//! be asked (no client tools, controller down), gc is conservative: it keeps
//! every experiment's `active` run (the newest) and removes only the runs
//! that a later submission replaced — `run` submits anew only once the active
//! run's jobs have left the queue, so a replaced run has no job left. A run
//! written after its experiment's `active` file (being submitted right now,
//! or a submission that failed half-way) is always kept.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::layout::{slurm_files, CacheLayout};

use super::commands::Slurm;
use super::rundir::RunDir;
use super::SlurmError;

/// What [`collect_runs`] removed (or would remove) and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectedRuns {
    /// Finished run directories removed.
    pub removed: Vec<PathBuf>,
    /// Run directories kept (live, newest, or being submitted).
    pub kept: Vec<PathBuf>,
}

/// One run directory and what gc needs to judge it.
struct Found {
    dir: PathBuf,
    jobs: Option<Vec<u64>>,
    written: Option<SystemTime>,
    active: bool,
    /// When its experiment's `active` file was written.
    activated: Option<SystemTime>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SlurmError + '_ {
    move |source| SlurmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, SlurmError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Every run directory of the cache (`slurm/<experiment>/<hash>/`).
pub fn run_dirs(layout: &CacheLayout) -> Result<Vec<RunDir>, SlurmError> {
    let mut out = Vec::new();
    for experiment in subdirs(&layout.slurm_root())? {
        out.extend(
            subdirs(&experiment)?
                .into_iter()
                .map(|path| RunDir { path }),
        );
    }
    Ok(out)
}

fn find(layout: &CacheLayout) -> Result<Vec<Found>, SlurmError> {
    let mut out = Vec::new();
    for experiment in subdirs(&layout.slurm_root())? {
        let active_file = experiment.join(slurm_files::ACTIVE);
        let active = std::fs::read_to_string(&active_file).ok();
        let activated = modified(&active_file);
        for dir in subdirs(&experiment)? {
            let run = RunDir { path: dir.clone() };
            let name = dir.file_name().map(|n| n.to_string_lossy().to_string());
            let submission = dir.join(slurm_files::SUBMISSION);
            out.push(Found {
                jobs: run.submission().ok().map(|s| s.jobs),
                written: modified(&submission).or_else(|| modified(&dir)),
                active: name.is_some() && active.as_deref().map(str::trim) == name.as_deref(),
                activated,
                dir,
            });
        }
    }
    Ok(out)
}

/// Whether `run` is finished; `queue`: the job ids in the queue, `None`
/// when Slurm could not be asked.
fn finished(run: &Found, queue: Option<&BTreeSet<u64>>) -> bool {
    let Some(jobs) = &run.jobs else {
        return false; // no submission record yet: being submitted
    };
    if let Some(q) = queue {
        if jobs.iter().any(|j| q.contains(j)) {
            return false;
        }
    }
    if run.active {
        return queue.is_some();
    }
    matches!((run.written, run.activated), (Some(w), Some(a)) if w <= a)
}

/// Removes (or with `dry_run` only lists) the run directories of finished
/// runs, and the `active` file of an experiment whose active run went.
pub fn collect_runs(
    layout: &CacheLayout,
    slurm: &dyn Slurm,
    dry_run: bool,
) -> Result<CollectedRuns, SlurmError> {
    let runs = find(layout)?;
    let all: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.jobs.iter().flatten())
        .copied()
        .collect();
    let queue: Option<BTreeSet<u64>> = if all.is_empty() {
        Some(BTreeSet::new())
    } else {
        let rows = slurm.squeue(&all).ok();
        rows.map(|rows| rows.iter().map(|r| r.job).collect())
    };
    let mut out = CollectedRuns::default();
    for run in runs {
        if !finished(&run, queue.as_ref()) {
            out.kept.push(run.dir);
            continue;
        }
        if !dry_run {
            if run.active {
                if let Some(parent) = run.dir.parent() {
                    let active = parent.join(slurm_files::ACTIVE);
                    std::fs::remove_file(&active).map_err(io(&active))?;
                }
            }
            std::fs::remove_dir_all(&run.dir).map_err(io(&run.dir))?;
            if let Some(parent) = run.dir.parent() {
                let _ = std::fs::remove_dir(parent); // only when now empty
            }
        }
        out.removed.push(run.dir);
    }
    Ok(out)
}
