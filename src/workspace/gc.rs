//! Garbage collection: which cache entries no plan refers to, and removing them.
//!
//! Kept: every key of the current plan of each given spec, for both device
//! classes, plus every key in the cache's plan records (which cover profiles
//! and `--only` runs that were run) and in its frozen plans, those of Slurm
//! run directories included (tasks a cluster may still run; `tempora gc`
//! first removes the directories of finished Slurm runs, see
//! [`crate::exec::slurm::gc`]). A spec that cannot be planned stops gc before anything is
//! removed. Interrupted work directories of unreferenced keys are removed too,
//! unless a process is computing them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::exec::slurm::gc::{collect_runs, CollectedRuns};
use crate::exec::slurm::SlurmCommands;
use crate::exec::store::{Check, StoreError};
use crate::plan::{DeviceClass, FrozenPlan, PlanOptions, PlanRecord};

use super::{SpecTarget, Workspace, WorkspaceError};

/// What `tempora gc` did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Finished Slurm run directories.
    pub runs: CollectedRuns,
    /// Cache entries and interrupted work directories.
    pub entries: Collected,
}

/// What a collection removed (or would remove) and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Published entries removed, as `kind/key`.
    pub removed: Vec<String>,
    /// Interrupted work directories removed, as `kind/key`.
    pub removed_work: Vec<String>,
    /// Entries kept.
    pub kept: usize,
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let io = |source| StoreError::Io {
        op: "list",
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

impl Workspace {
    /// Garbage collection as `tempora gc` does it: removes the directories of
    /// finished Slurm runs (so that their frozen plans keep nothing), then
    /// every entry that neither `specs` nor a plan record nor a remaining
    /// frozen plan refers to. With `dry_run`, only says what it would remove.
    pub fn gc(&self, specs: &[PathBuf], dry_run: bool) -> Result<GcReport, WorkspaceError> {
        let runs = collect_runs(self.store.layout(), &SlurmCommands, dry_run)?;
        let keep = self.referenced_keys(specs)?;
        let entries = self.collect_garbage(&keep, dry_run)?;
        Ok(GcReport { runs, entries })
    }

    /// Every key the specs' plans, the plan records and the frozen plans refer to.
    pub fn referenced_keys(&self, specs: &[PathBuf]) -> Result<BTreeSet<String>, WorkspaceError> {
        let mut keep = BTreeSet::new();
        for spec in specs {
            let target = SpecTarget {
                spec: spec.clone(),
                profile: None,
                data: None,
            };
            let experiment = self.load(&target)?;
            for device in [DeviceClass::Cpu, DeviceClass::Cuda] {
                let opts = PlanOptions {
                    device,
                    ..PlanOptions::default()
                };
                let plan = self.plan(experiment.clone(), &opts, Check::Sizes)?;
                keep.extend(plan.graph.tasks().map(|t| t.key.hex()));
            }
        }
        let layout = self.store.layout();
        for path in json_files(&layout.plan_records())? {
            if let Some(record) = PlanRecord::load(&path) {
                keep.extend(record.tasks.values().map(|t| t.key.hex()));
            }
        }
        let slurm_plans = super::slurm::gc::run_dirs(layout)?
            .into_iter()
            .map(|run| run.plan());
        for path in json_files(&layout.frozen_plans())?
            .into_iter()
            .chain(slurm_plans)
        {
            if let Ok(frozen) = FrozenPlan::load(&path) {
                keep.extend(frozen.tasks.iter().map(|t| t.key.hex()));
            }
        }
        Ok(keep)
    }

    /// Removes (or with `dry_run` only lists) every entry and interrupted
    /// work directory whose key is not in `keep`.
    pub fn collect_garbage(
        &self,
        keep: &BTreeSet<String>,
        dry_run: bool,
    ) -> Result<Collected, WorkspaceError> {
        let mut out = Collected::default();
        for (kind, key) in self.store.entries()? {
            if keep.contains(&key) {
                out.kept += 1;
                continue;
            }
            if !dry_run {
                self.store.remove(&kind, &key)?;
            }
            out.removed.push(format!("{kind}/{key}"));
        }
        for (kind, key) in self.store.incomplete_entries()? {
            if keep.contains(&key) {
                continue;
            }
            if dry_run || self.store.remove_incomplete(&kind, &key)? {
                out.removed_work.push(format!("{kind}/{key}"));
            }
        }
        Ok(out)
    }
}
