//! Per-epoch checkpoints, so an interrupted run resumes at the last finished
//! epoch and ends bit-identical to an uninterrupted one (on the CPU).
//!
//! Layout of a checkpoint directory:
//!
//! ```text
//! <dir>/
//! ├── current.safetensors   weights after the last finished epoch
//! ├── best.safetensors      best-validation weights so far (absent before any)
//! └── state.json            the commit point: fingerprint, epoch, schedule, history
//! ```
//!
//! Weights are written first, `state.json` last; each weights file carries the
//! epoch it belongs to in its metadata, so a crash between the writes is
//! detected (the checkpoint is then ignored and training starts over). Every
//! `f64` of the state is stored as its IEEE bit pattern: JSON float parsing is
//! not guaranteed to round-trip, and resuming must be exact.
//!
//! Must not know about models (weights travel as [`NamedTensor`]s).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::export::write_atomic;
use super::schedule::ScheduleState;
use super::weights::{decode_safetensors, encode_safetensors, NamedTensor};
use super::{EpochMetrics, TrainError};

/// Bump when the checkpoint format or what the fingerprint covers changes.
pub const CHECKPOINT_VERSION: u32 = 1;

const STATE_FILE: &str = "state.json";
const CURRENT_FILE: &str = "current.safetensors";
const BEST_FILE: &str = "best.safetensors";
const EPOCH_KEY: &str = "epoch";

/// Everything the training loop needs to continue after `epochs_done` epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingProgress {
    /// Finished epochs.
    pub epochs_done: usize,
    /// Whether the schedule already decided to stop.
    pub stopped: bool,
    /// Schedule state for the next epoch.
    pub schedule: ScheduleState,
    /// Metrics of the finished epochs.
    pub history: Vec<EpochMetrics>,
    /// 1-based epoch of the best weights (0: none yet).
    pub best_epoch: usize,
    /// Validation accuracy of the best weights.
    pub best_accuracy: f64,
    /// Weights after the last finished epoch.
    pub current: Vec<NamedTensor>,
    /// Best-validation weights (empty when `best_epoch == 0`).
    pub best: Vec<NamedTensor>,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    fingerprint: String,
    epochs_done: usize,
    stopped: bool,
    reference_loss: Option<u64>,
    counter: usize,
    learning_rate: u64,
    best_epoch: usize,
    best_accuracy: u64,
    /// Per epoch: epoch, then the six `f64` fields of [`EpochMetrics`] as bits.
    history: Vec<(usize, [u64; 6])>,
}

/// A checkpoint directory bound to one run's fingerprint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
    fingerprint: String,
}

impl Checkpoint {
    /// A checkpoint in `dir` for the run identified by `fingerprint` (a hash
    /// of everything that determines the run's results).
    pub fn new(dir: &Path, fingerprint: String) -> Self {
        Self {
            dir: dir.to_owned(),
            fingerprint,
        }
    }

    /// Saves `progress` (weights first, state last).
    pub fn save(&self, progress: &TrainingProgress) -> Result<(), TrainError> {
        let meta = BTreeMap::from([(EPOCH_KEY.to_owned(), progress.epochs_done.to_string())]);
        write_atomic(
            &self.dir.join(CURRENT_FILE),
            &encode_safetensors(&progress.current, &meta)?,
        )?;
        if progress.best_epoch > 0 {
            let meta = BTreeMap::from([(EPOCH_KEY.to_owned(), progress.best_epoch.to_string())]);
            write_atomic(
                &self.dir.join(BEST_FILE),
                &encode_safetensors(&progress.best, &meta)?,
            )?;
        }
        let s = &progress.schedule;
        let state = StateFile {
            version: CHECKPOINT_VERSION,
            fingerprint: self.fingerprint.clone(),
            epochs_done: progress.epochs_done,
            stopped: progress.stopped,
            reference_loss: s.reference_loss.map(f64::to_bits),
            counter: s.counter,
            learning_rate: s.learning_rate.to_bits(),
            best_epoch: progress.best_epoch,
            best_accuracy: progress.best_accuracy.to_bits(),
            history: progress.history.iter().map(metrics_to_bits).collect(),
        };
        let json = serde_json::to_vec(&state)
            .map_err(|e| TrainError::Checkpoint(format!("encoding state: {e}")))?;
        write_atomic(&self.dir.join(STATE_FILE), &json)
    }

    /// Loads the saved progress, or `None` when there is no usable checkpoint
    /// (absent, another run's fingerprint, an older format, or weights that do
    /// not match the state). Unreadable files are errors.
    pub fn load(&self) -> Result<Option<TrainingProgress>, TrainError> {
        let path = self.dir.join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TrainError::Io { path, source }),
        };
        let Ok(state) = serde_json::from_slice::<StateFile>(&bytes) else {
            tracing::warn!(path = %path.display(), "unreadable checkpoint state; starting over");
            return Ok(None);
        };
        if state.version != CHECKPOINT_VERSION || state.fingerprint != self.fingerprint {
            return Ok(None);
        }
        let Some(current) = self.weights(CURRENT_FILE, state.epochs_done)? else {
            return Ok(None);
        };
        let best = if state.best_epoch > 0 {
            match self.weights(BEST_FILE, state.best_epoch)? {
                Some(best) => best,
                None => return Ok(None),
            }
        } else {
            Vec::new()
        };
        Ok(Some(TrainingProgress {
            epochs_done: state.epochs_done,
            stopped: state.stopped,
            schedule: ScheduleState {
                reference_loss: state.reference_loss.map(f64::from_bits),
                counter: state.counter,
                learning_rate: f64::from_bits(state.learning_rate),
            },
            history: state.history.iter().map(metrics_from_bits).collect(),
            best_epoch: state.best_epoch,
            best_accuracy: f64::from_bits(state.best_accuracy),
            current,
            best,
        }))
    }

    /// Reads a weights file if it exists and belongs to `epoch`.
    fn weights(&self, file: &str, epoch: usize) -> Result<Option<Vec<NamedTensor>>, TrainError> {
        let path = self.dir.join(file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TrainError::Io { path, source }),
        };
        let (tensors, meta) = decode_safetensors(&bytes, &path)?;
        let matches = meta.get(EPOCH_KEY).map(String::as_str) == Some(epoch.to_string().as_str());
        Ok(matches.then_some(tensors))
    }
}

fn metrics_to_bits(m: &EpochMetrics) -> (usize, [u64; 6]) {
    let values = [
        m.train_loss,
        m.train_accuracy,
        m.val_loss,
        m.val_accuracy,
        m.learning_rate,
        m.seconds,
    ];
    (m.epoch, values.map(f64::to_bits))
}

fn metrics_from_bits(&(epoch, bits): &(usize, [u64; 6])) -> EpochMetrics {
    let [train_loss, train_accuracy, val_loss, val_accuracy, learning_rate, seconds] =
        bits.map(f64::from_bits);
    EpochMetrics {
        epoch,
        train_loss,
        train_accuracy,
        val_loss,
        val_accuracy,
        learning_rate,
        seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(epochs_done: usize) -> TrainingProgress {
        let tensor = NamedTensor {
            name: "w".into(),
            shape: vec![2],
            values: vec![0.1, -0.3],
        };
        TrainingProgress {
            epochs_done,
            stopped: false,
            schedule: ScheduleState {
                reference_loss: Some(0.1 + 0.2),
                counter: 3,
                learning_rate: 0.01,
            },
            history: vec![EpochMetrics {
                epoch: 1,
                train_loss: 1.0 / 3.0,
                train_accuracy: 0.1,
                val_loss: 2.0 / 3.0,
                val_accuracy: 0.7,
                learning_rate: 0.01,
                seconds: 0.123456789,
            }],
            best_epoch: 1,
            best_accuracy: 0.7,
            current: vec![tensor.clone()],
            best: vec![tensor],
        }
    }

    #[test]
    fn round_trip_is_exact_and_bound_to_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let saved = progress(1);
        Checkpoint::new(dir.path(), "a".into())
            .save(&saved)
            .unwrap();
        let loaded = Checkpoint::new(dir.path(), "a".into()).load().unwrap();
        assert_eq!(loaded, Some(saved));
        assert_eq!(
            Checkpoint::new(dir.path(), "b".into()).load().unwrap(),
            None
        );
    }

    #[test]
    fn weights_from_another_epoch_invalidate_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = Checkpoint::new(dir.path(), "a".into());
        checkpoint.save(&progress(2)).unwrap();
        // Simulate a crash after the weights of epoch 3 but before its state.
        let meta = BTreeMap::from([(EPOCH_KEY.to_owned(), "3".to_owned())]);
        let bytes = encode_safetensors(&progress(3).current, &meta).unwrap();
        write_atomic(&dir.path().join(CURRENT_FILE), &bytes).unwrap();
        assert_eq!(checkpoint.load().unwrap(), None);
    }
}
