//! A Slurm run directory, `cache/slurm/<experiment>[@<profile>]/<hash>/`
//! (names from [`crate::layout::slurm_files`]): the frozen plan, the copied
//! binary, the compiled arrays, the batch scripts, the submission record,
//! one event file per task and Slurm's output per element. `active` beside
//! the runs names the one a later `run`, `status` or `cancel` attaches to.
//!
//! Event files have exactly one writer (the element that owns the task; a
//! requeued element appends after its earlier attempt), so no cross-node
//! append races and no `flock` are needed.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exec::runner::{JobInfo, Observer, Outcome, Update};
use crate::exec::store::write_atomic;
use crate::layout::{safe_name, slurm_files, CacheLayout};

use super::compile::Compiled;
use super::SlurmError;

/// The job id of each array of a run, in [`Compiled::arrays`] order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Experiment name.
    pub experiment: String,
    /// Active profile.
    pub profile: Option<String>,
    /// One job id per array.
    pub jobs: Vec<u64>,
}

/// One line of a task's event file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The worker started the task.
    Started,
    /// The task reported progress (e.g. an epoch).
    Progress {
        /// Steps done.
        done: u64,
        /// Steps in all.
        total: u64,
        /// One short line.
        message: String,
    },
    /// The task ended.
    Finished {
        /// `computed` or `reused`; absent on failure.
        outcome: Option<String>,
        /// The error, with its causes; absent on success.
        error: Option<String>,
        /// Seconds it took.
        seconds: f64,
    },
}

/// The paths of one run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SlurmError + '_ {
    move |source| SlurmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl RunDir {
    /// The run `hash` of an experiment.
    pub fn new(layout: &CacheLayout, experiment: &str, profile: Option<&str>, hash: &str) -> Self {
        Self {
            path: layout.slurm_runs(experiment, profile).join(hash),
        }
    }

    /// The run `active` names, if any.
    pub fn active(layout: &CacheLayout, experiment: &str, profile: Option<&str>) -> Option<Self> {
        let runs = layout.slurm_runs(experiment, profile);
        let hash = std::fs::read_to_string(runs.join(slurm_files::ACTIVE)).ok()?;
        let run = Self {
            path: runs.join(hash.trim()),
        };
        run.submission().is_ok().then_some(run)
    }

    /// Makes this run the active one of its experiment.
    pub fn activate(&self) -> Result<(), SlurmError> {
        let (Some(parent), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return Ok(());
        };
        let file = parent.join(slurm_files::ACTIVE);
        write_atomic(&file, name.to_string_lossy().as_bytes())?;
        Ok(())
    }

    /// The frozen plan.
    pub fn plan(&self) -> PathBuf {
        self.path.join(slurm_files::PLAN)
    }

    /// The binary workers run.
    pub fn binary(&self) -> PathBuf {
        self.path.join(slurm_files::BINARY)
    }

    /// The batch script of array `name`.
    pub fn script(&self, name: &str) -> PathBuf {
        self.path
            .join(slurm_files::SCRIPTS)
            .join(format!("{name}.sh"))
    }

    /// Slurm's output file of element `index` of array `name`.
    pub fn log(&self, name: &str, index: u32) -> PathBuf {
        self.path
            .join(slurm_files::LOGS)
            .join(format!("{name}-{index}.out"))
    }

    /// `--output` of array `name` (`%a`: the element's index).
    pub fn log_pattern(&self, name: &str) -> PathBuf {
        self.path
            .join(slurm_files::LOGS)
            .join(format!("{name}-%a.out"))
    }

    /// The event file of a task.
    pub fn events(&self, task: &str) -> PathBuf {
        self.path
            .join(slurm_files::EVENTS)
            .join(format!("{}.jsonl", safe_name(task)))
    }

    /// Writes the compiled arrays.
    pub fn save_arrays(&self, compiled: &Compiled) -> Result<(), SlurmError> {
        let json = serde_json::to_vec_pretty(compiled).expect("arrays serialise");
        Ok(write_atomic(&self.path.join(slurm_files::ARRAYS), &json)?)
    }

    /// Reads the compiled arrays.
    pub fn arrays(&self) -> Result<Compiled, SlurmError> {
        read_json(&self.path.join(slurm_files::ARRAYS))
    }

    /// Records the submission.
    pub fn save_submission(&self, s: &Submission) -> Result<(), SlurmError> {
        let json = serde_json::to_vec_pretty(s).expect("submission serialises");
        Ok(write_atomic(
            &self.path.join(slurm_files::SUBMISSION),
            &json,
        )?)
    }

    /// The recorded submission.
    pub fn submission(&self) -> Result<Submission, SlurmError> {
        read_json(&self.path.join(slurm_files::SUBMISSION))
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, SlurmError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| SlurmError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// An [`Observer`] that appends each event of a task to its event file.
pub struct EventWriter {
    /// The run.
    pub run: RunDir,
}

impl EventWriter {
    fn append(&self, job: &JobInfo, event: &Event) {
        let path = self.run.events(&job.id);
        let line = serde_json::to_string(event).expect("events serialise") + "\n";
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            f.write_all(line.as_bytes())?;
            f.sync_data()
        };
        if let Err(e) = write() {
            eprintln!("warning: cannot write {}: {e}", path.display());
        }
    }
}

impl Observer for EventWriter {
    fn started(&self, job: &JobInfo) {
        self.append(job, &Event::Started);
    }
    fn update(&self, job: &JobInfo, u: &Update) {
        let (done, total, message) = (u.done, u.total, u.message.clone());
        self.append(
            job,
            &Event::Progress {
                done,
                total,
                message,
            },
        );
    }
    fn finished(&self, job: &JobInfo, result: &Result<Outcome, String>, seconds: f64) {
        let (outcome, error) = match result {
            Ok(Outcome::Reused) => (Some("reused".to_string()), None),
            Ok(_) => (Some("computed".to_string()), None),
            Err(e) => (None, Some(e.clone())),
        };
        self.append(
            job,
            &Event::Finished {
                outcome,
                error,
                seconds,
            },
        );
    }
    fn skipped(&self, _: &JobInfo, _: &str) {}
}

/// Reads the complete lines appended to an event file since the last call.
#[derive(Debug, Default)]
pub struct EventReader {
    offset: u64,
}

impl EventReader {
    /// New events of `path` (none when it does not exist yet).
    pub fn read_new(&mut self, path: &Path) -> Vec<Event> {
        let Ok(mut f) = std::fs::File::open(path) else {
            return Vec::new();
        };
        let mut text = String::new();
        if f.seek(SeekFrom::Start(self.offset)).is_err() || f.read_to_string(&mut text).is_err() {
            return Vec::new();
        }
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        self.offset += complete as u64;
        text[..complete]
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
