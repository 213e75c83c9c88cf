//! The run log: one JSON-lines file per `tempora run`, one line per runner
//! event (job start, progress update, end, skip). Every event is also emitted
//! as a `tracing` event (target `tempora::run`), so it reaches whatever
//! subscriber the binary installed (e.g. stderr with `RUST_LOG=info`); the file
//! does not depend on that subscriber. Tests count computations by reading it.
//!
//! Line fields: `ts_ms` (Unix milliseconds), `event` (`job_start`,
//! `job_update`, `job_end`, `job_skipped`, or a caller's [`RunLog::note`]),
//! `id`, `label`; `job_update`: `done`, `total`, `message`; `job_end`:
//! `outcome` (`computed`, `reused`, `dry_run`, `failed`), `seconds`, `error`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::runner::{JobInfo, Observer, Outcome, Update};

/// Why the log could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the run log {path}: {source} (check that the cache directory is writable)")]
pub struct LogError {
    /// The log file.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// A fresh log path under `dir`: `<unix seconds>-<pid>.jsonl`.
pub fn new_log_path(dir: &Path) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    dir.join(format!("{secs}-{}.jsonl", std::process::id()))
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The JSON-lines log of one run; an [`Observer`].
#[derive(Debug)]
pub struct RunLog {
    path: PathBuf,
    out: Mutex<BufWriter<File>>,
}

fn outcome_name(result: &Result<Outcome, String>) -> &'static str {
    match result {
        Ok(Outcome::Computed) => "computed",
        Ok(Outcome::Reused) => "reused",
        Ok(Outcome::DryRun) => "dry_run",
        Err(_) => "failed",
    }
}

impl RunLog {
    /// Creates the log file (and its directory).
    pub fn create(path: &Path) -> Result<Self, LogError> {
        let err = |source| LogError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = File::create(path).map_err(err)?;
        Ok(Self {
            path: path.to_path_buf(),
            out: Mutex::new(BufWriter::new(file)),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one event line; `fields` must be a JSON object.
    pub fn note(&self, event: &str, fields: Value) {
        let mut line = json!({ "ts_ms": now_ms(), "event": event });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        tracing::info!(target: "tempora::run", "{line}");
        // A log line that cannot be written must not stop the computation;
        // the run's results are in the cache either way.
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

impl Observer for RunLog {
    fn device_queue(&self, slots: usize, reason: &str) {
        self.note("device_queue", json!({ "slots": slots, "reason": reason }));
    }

    fn started(&self, job: &JobInfo) {
        self.note("job_start", json!({ "id": job.id, "label": job.label }));
    }

    fn update(&self, job: &JobInfo, update: &Update) {
        self.note(
            "job_update",
            json!({
                "id": job.id,
                "done": update.done,
                "total": update.total,
                "message": update.message,
            }),
        );
    }

    fn finished(&self, job: &JobInfo, result: &Result<Outcome, String>, seconds: f64) {
        self.note(
            "job_end",
            json!({
                "id": job.id,
                "label": job.label,
                "outcome": outcome_name(result),
                "seconds": seconds,
                "error": result.as_ref().err(),
            }),
        );
    }

    fn stopped(&self, job: &JobInfo, seconds: f64) {
        self.note(
            "job_stopped",
            json!({ "id": job.id, "label": job.label, "seconds": seconds }),
        );
    }

    fn skipped(&self, job: &JobInfo, failed: &str) {
        self.note(
            "job_skipped",
            json!({ "id": job.id, "label": job.label, "failed": failed }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::runner::Resource;

    #[test]
    fn every_event_is_one_json_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::create(&new_log_path(&dir.path().join("logs"))).unwrap();
        let job = JobInfo {
            id: "features/a".into(),
            label: "features/a".into(),
            resource: Resource::Cpu,
        };
        log.started(&job);
        log.finished(&job, &Ok(Outcome::Computed), 0.5);
        log.finished(&job, &Err("boom".into()), 0.1);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["event"], "job_start");
        assert_eq!(lines[1]["outcome"], "computed");
        assert_eq!(lines[2]["error"], "boom");
    }
}
