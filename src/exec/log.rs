//! The run log: one JSON-lines file per `tempora run` (tracing +
//! tracing-subscriber's JSON formatter), with one event per job start, progress
//! update and end. Tests count computations by reading it.
//!
//! Event fields: `event` (`run_start`, `job_start`, `job_update`, `job_end`,
//! `job_skipped`, `run_end`), `id`, `label`, and for `job_end` `outcome`
//! (`computed`, `reused`, `dry_run`, `failed`), `seconds`, `error`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::runner::{JobInfo, Observer, Outcome, Update};

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log file could not be created.
    #[error("cannot create the run log {path}: {source}")]
    Create {
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A global tracing subscriber was already installed in this process.
    #[error("a tracing subscriber is already installed; the run log needs the global one")]
    AlreadyInstalled,
}

/// A fresh log path under `dir`: `<unix seconds>-<pid>.jsonl`.
pub fn new_log_path(dir: &Path) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    dir.join(format!("{secs}-{}.jsonl", std::process::id()))
}

/// Routes every tracing event of this process (INFO and above) to `path` as JSON lines.
pub fn install(path: &Path) -> Result<(), LogError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| LogError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let file = File::create(path).map_err(|source| LogError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(Mutex::new(file))
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|_| LogError::AlreadyInstalled)
}

/// Writes the runner's events to the tracing log; an [`Observer`].
#[derive(Debug, Default, Clone, Copy)]
pub struct RunLog;

fn outcome_name(result: &Result<Outcome, String>) -> &'static str {
    match result {
        Ok(Outcome::Computed) => "computed",
        Ok(Outcome::Reused) => "reused",
        Ok(Outcome::DryRun) => "dry_run",
        Err(_) => "failed",
    }
}

impl Observer for RunLog {
    fn started(&self, job: &JobInfo) {
        tracing::info!(event = "job_start", id = %job.id, label = %job.label);
    }

    fn update(&self, job: &JobInfo, update: &Update) {
        tracing::info!(
            event = "job_update",
            id = %job.id,
            done = update.done,
            total = update.total,
            message = %update.message
        );
    }

    fn finished(&self, job: &JobInfo, result: &Result<Outcome, String>, seconds: f64) {
        let error = result.as_ref().err().map_or("", String::as_str);
        tracing::info!(
            event = "job_end",
            id = %job.id,
            label = %job.label,
            outcome = outcome_name(result),
            seconds,
            error
        );
    }

    fn skipped(&self, job: &JobInfo, failed: &str) {
        tracing::info!(event = "job_skipped", id = %job.id, label = %job.label, failed);
    }
}
