//! Training curves as TensorBoard event files, so a long run can be watched
//! with `tensorboard --logdir <cache>/tensorboard` like any PyTorch or Keras
//! run.
//!
//! One TensorBoard *run* per (experiment, model, hop, fold):
//! `<logdir>/<experiment>[@<profile>]/<model>/hop<H>/fold<K>/`, so the run
//! selector groups them by experiment, then model. Each training appends one
//! event per epoch (the scalars of [`epoch_scalars`]) as the epoch ends and
//! flushes it. Event files hold wall-clock times, so they live beside the
//! cache's content-addressed entries, never inside them
//! ([`crate::layout::CacheLayout::tensorboard`]).
//!
//! A training resumed after a crash starts a new file in the same run
//! directory; TensorBoard merges the files of a run. [`write_recorded_curve`]
//! rewrites a run from an entry's recorded per-epoch metrics (runs from
//! before event files existed, or another machine's cache).

pub mod record;

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::train::EpochMetrics;
use record::{file_version_event, framed, scalars_event, Event};

/// Every event file tempora writes ends with this (`tempora tensorboard`
/// replaces only these).
const FILE_SUFFIX: &str = ".tempora";

/// Why an event file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing TensorBoard events under {path}: {source}")]
pub struct TensorBoardError {
    /// The file or directory.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TensorBoardError + '_ {
    move |source| TensorBoardError {
        path: path.to_path_buf(),
        source,
    }
}

/// The scalars of one epoch, by TensorBoard tag: losses and accuracies
/// (training, validation), learning rate and the epoch's seconds.
pub fn epoch_scalars(m: &EpochMetrics) -> [(&'static str, f64); 6] {
    [
        ("loss/train", m.train_loss),
        ("loss/validation", m.val_loss),
        ("accuracy/train", m.train_accuracy),
        ("accuracy/validation", m.val_accuracy),
        ("learning_rate", m.learning_rate),
        ("epoch_seconds", m.seconds),
    ]
}

/// The run directory of one training under an experiment's log directory.
pub fn run_dir(experiment_dir: &Path, model: &str, hop: usize, fold: usize) -> PathBuf {
    experiment_dir
        .join(path_component(model))
        .join(format!("hop{hop}"))
        .join(format!("fold{fold}"))
}

/// `name` as one path component, readable in TensorBoard's run selector
/// (spaces and `+` kept; separators and control characters become `_`).
fn path_component(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        format!("_{out}")
    } else {
        out
    }
}

/// Seconds since the Unix epoch, now.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// An event file being appended to.
#[derive(Debug)]
pub struct EventFile {
    path: PathBuf,
    file: File,
}

impl EventFile {
    /// Creates a new event file in `dir` (made if missing), named as
    /// TensorBoard expects (`events.out.tfevents.<seconds>.<tag>`), and
    /// writes its file-version record.
    pub fn create(dir: &Path, wall_time: f64, tag: &str) -> Result<Self, TensorBoardError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let name = format!(
            "events.out.tfevents.{:010}.{}{FILE_SUFFIX}",
            wall_time as u64,
            path_component(tag)
        );
        let path = dir.join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut out = Self { path, file };
        out.append(&file_version_event(wall_time))?;
        Ok(out)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and flushes it to the file.
    pub fn append(&mut self, event: &Event) -> Result<(), TensorBoardError> {
        self.file
            .write_all(&framed(event))
            .and_then(|()| self.file.flush())
            .map_err(io(&self.path))
    }

    /// Appends one epoch's scalars at step = its 1-based epoch.
    pub fn epoch(&mut self, m: &EpochMetrics, wall_time: f64) -> Result<(), TensorBoardError> {
        self.append(&scalars_event(wall_time, m.epoch as i64, &epoch_scalars(m)))
    }
}

/// Replaces the event files tempora wrote in `dir` with one file holding
/// `epochs`, the last ending at `end_wall_time` (each epoch's wall time is
/// worked back from the recorded epoch seconds). Returns the file.
pub fn write_recorded_curve(
    dir: &Path,
    epochs: &[EpochMetrics],
    end_wall_time: f64,
) -> Result<PathBuf, TensorBoardError> {
    if dir.is_dir() {
        for entry in fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("events.out.tfevents.") && name.ends_with(FILE_SUFFIX) {
                fs::remove_file(&path).map_err(io(&path))?;
            }
        }
    }
    let total: f64 = epochs.iter().map(|m| m.seconds).sum();
    let mut wall = end_wall_time - total;
    let mut file = EventFile::create(dir, wall, "recorded")?;
    for m in epochs {
        wall += m.seconds;
        file.epoch(m, wall)?;
    }
    Ok(file.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(n: usize) -> EpochMetrics {
        EpochMetrics {
            epoch: n,
            train_loss: 2.0 / n as f64,
            train_accuracy: 0.1 * n as f64,
            val_loss: 2.5 / n as f64,
            val_accuracy: 0.09 * n as f64,
            learning_rate: 0.01,
            seconds: 1.5,
        }
    }

    #[test]
    fn run_directories_group_by_model_hop_and_fold() {
        let dir = run_dir(Path::new("tb/table1@tiny"), "O-net + P-net", 250, 3);
        assert_eq!(dir, Path::new("tb/table1@tiny/O-net + P-net/hop250/fold3"));
        assert_eq!(path_component("a/b"), "a_b");
        assert_eq!(path_component(".."), "_..");
    }

    #[test]
    fn a_live_file_grows_by_one_record_per_epoch() {
        let tmp = tempfile::tempdir().unwrap();
        let mut file = EventFile::create(tmp.path(), 100.0, "host 1").unwrap();
        let mut sizes = vec![fs::metadata(file.path()).unwrap().len()];
        for n in 1..=3 {
            file.epoch(&epoch(n), 100.0 + n as f64).unwrap();
            sizes.push(fs::metadata(file.path()).unwrap().len());
        }
        assert!(sizes.windows(2).all(|w| w[1] > w[0]), "{sizes:?}");
        let events = record::parse(&fs::read(file.path()).unwrap()).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(events[3].step, 3);
    }

    #[test]
    fn a_recorded_curve_replaces_tempora_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let live = EventFile::create(tmp.path(), 5.0, "live").unwrap();
        let foreign = tmp.path().join("events.out.tfevents.1.other");
        fs::write(&foreign, b"").unwrap();
        let path = write_recorded_curve(tmp.path(), &[epoch(1), epoch(2)], 103.0).unwrap();
        assert!(!live.path().exists());
        assert!(foreign.exists());
        let events = record::parse(&fs::read(&path).unwrap()).unwrap();
        let walls: Vec<f64> = events.iter().map(|e| e.wall_time).collect();
        assert_eq!(walls, [100.0, 101.5, 103.0]);
    }
}
