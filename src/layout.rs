//! The one owner of every path and file name under `cache/` and inside its
//! entries. The store, the planner's records and source index, `gc`, the
//! tasks, the report and the frozen-plan worker all ask this module; no other
//! module spells a cache path or an entry's file name.
//!
//! ```text
//! cache/
//! ├── <kind>/<key>/             a published entry, never modified in place
//! │   ├── manifest.json         inputs, outputs (size + blake3), timings, tool version
//! │   └── …                     the task's output files (see [`files`])
//! ├── work/<kind>/<key>/        an entry being computed (or left by a crash)
//! │   └── INCOMPLETE            marker: "started, not finished"
//! ├── locks/<kind>/<key>.lock   one advisory file lock per task
//! ├── trash/                    corrupt or collected entries, moved aside, then deleted
//! ├── plans/<experiment>[@<profile>].json   the last planned inputs per task (rerun reasons)
//! ├── frozen/<experiment>[@<profile>]-<hash>.json   frozen plans that workers run tasks of
//! ├── slurm/<experiment>[@<profile>]/   Slurm runs (see [`slurm_files`]); `active` names the live one
//! ├── sources.json              the planner's (path, size, mtime) → blake3 index
//! ├── checksums.json            (path, size, mtime) → MD5 of Ballroom/GTZAN files (canonical check)
//! ├── tensorboard/<experiment>[@<profile>]/<model>/hop<H>/fold<K>/   live training curves
//! ├── calibration.json          measured training throughput (`tempora calibrate`)
//! └── logs/<run>.jsonl          one JSON-lines log per run
//! ```

use std::path::{Path, PathBuf};

/// File names inside entries and work directories.
pub mod files {
    /// An entry's manifest (every entry).
    pub const MANIFEST: &str = "manifest.json";
    /// Marker of an unfinished work directory.
    pub const INCOMPLETE: &str = "INCOMPLETE";
    /// features: the spectrogram (`mel.f32` format, see `tasks::features`).
    pub const MEL: &str = "mel.f32";
    /// features: frames, bands and seconds of the spectrogram.
    pub const SHAPE: &str = "shape.json";
    /// norm: normalisation statistics.
    pub const STATS: &str = "stats.json";
    /// chunks: the fold's songs and chunk starts per split.
    pub const CHUNKS: &str = "chunks.json";
    /// train: what was run (written before training).
    pub const RUN: &str = "run.json";
    /// train: per-epoch checkpoint directory (removed on success).
    pub const CHECKPOINT: &str = "checkpoint";
    /// train: best-validation weights (safetensors).
    pub const WEIGHTS: &str = "best.safetensors";
    /// train: per-epoch metrics.
    pub const EPOCHS: &str = "epochs.csv";
    /// train: test metrics.
    pub const TEST: &str = "test.json";
    /// train: everything using the model needs without the spec.
    pub const MODEL_CARD: &str = "model.json";
    /// report: the gathered report input (every run's results).
    pub const REPORT_INPUT: &str = "report_input.json";
}

/// File names inside a Slurm run directory (`slurm/<experiment>/<hash>/`).
pub mod slurm_files {
    /// The frozen plan of the submitted tasks.
    pub const PLAN: &str = "plan.json";
    /// The copy of the `tempora` binary the workers run.
    pub const BINARY: &str = "tempora";
    /// The compiled arrays (which tasks each element runs).
    pub const ARRAYS: &str = "arrays.json";
    /// The job id of each submitted array.
    pub const SUBMISSION: &str = "submission.json";
    /// Batch scripts, one per array.
    pub const SCRIPTS: &str = "scripts";
    /// One event file per task (started, progress, finished), one writer each.
    pub const EVENTS: &str = "events";
    /// Slurm's output file of each element.
    pub const LOGS: &str = "logs";
    /// In `slurm/<experiment>/`: the name of the run to attach to.
    pub const ACTIVE: &str = "active";
}

/// Top-level names under the cache root that are not task kinds.
pub const RESERVED_DIRS: [&str; 8] = [
    "work",
    "locks",
    "trash",
    "logs",
    "plans",
    "frozen",
    "slurm",
    "tensorboard",
];

/// The paths of one cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLayout {
    root: PathBuf,
}

/// A name safe in a file name: ASCII letters, digits, `-` and `_` kept, the rest `_`.
pub fn safe_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn experiment_stem(experiment: &str, profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!("{}@{}", safe_name(experiment), safe_name(p)),
        None => safe_name(experiment),
    }
}

impl CacheLayout {
    /// The layout of the cache at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A published entry (names are checked by the store).
    pub fn entry(&self, kind: &str, key: &str) -> PathBuf {
        self.root.join(kind).join(key)
    }

    /// The work directories.
    pub fn work_root(&self) -> PathBuf {
        self.root.join("work")
    }

    /// The work directory of a task.
    pub fn work(&self, kind: &str, key: &str) -> PathBuf {
        self.work_root().join(kind).join(key)
    }

    /// The lock file of a task.
    pub fn lock(&self, kind: &str, key: &str) -> PathBuf {
        self.root
            .join("locks")
            .join(kind)
            .join(format!("{key}.lock"))
    }

    /// Where removed entries go before deletion.
    pub fn trash(&self) -> PathBuf {
        self.root.join("trash")
    }

    /// Per-run logs.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Plan records (one per experiment and profile).
    pub fn plan_records(&self) -> PathBuf {
        self.root.join("plans")
    }

    /// The plan record of `experiment` with `profile`.
    pub fn plan_record(&self, experiment: &str, profile: Option<&str>) -> PathBuf {
        self.plan_records()
            .join(format!("{}.json", experiment_stem(experiment, profile)))
    }

    /// Frozen plans.
    pub fn frozen_plans(&self) -> PathBuf {
        self.root.join("frozen")
    }

    /// The frozen plan of `experiment` with `profile` whose content hash starts with `hash`.
    pub fn frozen_plan(&self, experiment: &str, profile: Option<&str>, hash: &str) -> PathBuf {
        self.frozen_plans().join(format!(
            "{}-{hash}.json",
            experiment_stem(experiment, profile)
        ))
    }

    /// Every experiment's Slurm runs.
    pub fn slurm_root(&self) -> PathBuf {
        self.root.join("slurm")
    }

    /// The Slurm runs of `experiment` with `profile`.
    pub fn slurm_runs(&self, experiment: &str, profile: Option<&str>) -> PathBuf {
        self.slurm_root().join(experiment_stem(experiment, profile))
    }

    /// The source index.
    pub fn source_index(&self) -> PathBuf {
        self.root.join("sources.json")
    }

    /// The MD5 index of the canonical-copy check ([`crate::dataset::canonical`]).
    pub fn checksum_index(&self) -> PathBuf {
        self.root.join("checksums.json")
    }

    /// Every experiment's TensorBoard event files (`tensorboard --logdir` it):
    /// wall-clock data, kept outside the content-addressed entries.
    pub fn tensorboard_root(&self) -> PathBuf {
        self.root.join("tensorboard")
    }

    /// The TensorBoard log directory of `experiment` with `profile`.
    pub fn tensorboard(&self, experiment: &str, profile: Option<&str>) -> PathBuf {
        self.tensorboard_root()
            .join(experiment_stem(experiment, profile))
    }

    /// The measured training throughput.
    pub fn calibration(&self) -> PathBuf {
        self.root.join("calibration.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_odd_characters_stay_one_path_component() {
        let layout = CacheLayout::new(Path::new("c"));
        let p = layout.plan_record("my exp/1", Some("a b"));
        assert_eq!(p, Path::new("c/plans/my_exp_1@a_b.json"));
        assert_eq!(
            layout.lock("train", "ab"),
            Path::new("c/locks/train/ab.lock")
        );
    }
}
