//! TensorBoard curves of an experiment's finished trainings, written from
//! what their cache entries recorded (`epochs.csv`): runs from before live
//! event files existed, or another machine's cache, can be viewed too.
//! Live writing during training is `tasks::train`'s; the format is
//! [`crate::tensorboard`]'s.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{Workspace, WorkspaceError};
use crate::layout::files;
use crate::plan::{Freshness, Plan, TaskKind, TaskParams};
use crate::tensorboard::{run_dir, write_recorded_curve};
use crate::train::entry::parse_epochs_csv;

/// What [`Workspace::write_tensorboard`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvesWritten {
    /// The experiment's log directory (one run per model, hop and fold below it).
    pub dir: PathBuf,
    /// One event file per finished training.
    pub files: Vec<PathBuf>,
    /// Trainings of the plan not (yet) in the cache.
    pub unfinished: usize,
}

impl Workspace {
    /// The TensorBoard log directory of `plan`'s experiment in this cache
    /// (where trainings write their live curves).
    pub fn tensorboard_dir(&self, plan: &Plan) -> PathBuf {
        let exp = &plan.experiment;
        self.store
            .layout()
            .tensorboard(&exp.name, exp.profile.as_deref())
    }

    /// Writes one event file per finished training of `plan` under `out`
    /// (default: [`Workspace::tensorboard_dir`]), replacing event files
    /// tempora wrote there before.
    pub fn write_tensorboard(
        &self,
        plan: &Plan,
        out: Option<&Path>,
    ) -> Result<CurvesWritten, WorkspaceError> {
        let dir = out.map_or_else(|| self.tensorboard_dir(plan), Path::to_path_buf);
        let mut written = CurvesWritten {
            dir: dir.clone(),
            files: Vec::new(),
            unfinished: 0,
        };
        for task in plan.graph.of_kind(TaskKind::Train) {
            let TaskParams::Train(p) = &task.params else {
                continue;
            };
            if !matches!(plan.freshness.get(&task.id), Some(Freshness::Fresh)) {
                written.unfinished += 1;
                continue;
            }
            let entry = self
                .store
                .entry_dir(TaskKind::Train.name(), &task.key.hex())?;
            let csv = entry.join(files::EPOCHS);
            let bad = |reason: String| crate::tasks::TaskError::Invalid {
                task: task.id.0.clone(),
                reason,
            };
            let bytes = fs::read(&csv).map_err(|e| bad(format!("{}: {e}", csv.display())))?;
            let epochs =
                parse_epochs_csv(&bytes).map_err(|e| bad(format!("{}: {e}", csv.display())))?;
            let end = fs::metadata(&csv)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0.0, |d| d.as_secs_f64());
            let run = run_dir(&dir, &p.model, p.hop, p.fold);
            written
                .files
                .push(write_recorded_curve(&run, &epochs, end)?);
        }
        Ok(written)
    }
}
