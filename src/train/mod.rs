//! The paper's training protocol: SGD, stalled-loss learning-rate schedule,
//! best-validation model selection; evaluation (chunk and song level, majority
//! vote); exports (safetensors weights, per-epoch CSV, test metrics JSON).
//!
//! Must not know about planning.

use serde::{Deserialize, Serialize};

/// The stalled-loss learning-rate schedule of the reference implementation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Epochs the loss may fail to improve before the learning rate is multiplied by `factor` (20).
    pub patience: usize,
    /// Epochs the loss may fail to improve before training stops (40).
    pub stop_after: usize,
    /// Learning-rate multiplier (implementation: 0.5; the paper's text says 0.1).
    pub factor: f64,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            patience: 20,
            stop_after: 40,
            factor: 0.5,
        }
    }
}

/// Hyper-parameters of one training run (everything but the architecture).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Maximum epochs (250).
    pub epochs: usize,
    /// Minibatch size (50); the last incomplete training batch is dropped.
    pub batch_size: usize,
    /// SGD learning rate (0.01).
    pub learning_rate: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Seed for initialisation, shuffling and dropout.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 250,
            batch_size: 50,
            learning_rate: 0.01,
            schedule: Schedule::default(),
            seed: 11,
        }
    }
}

/// Metrics of one epoch (one row of the per-epoch CSV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training cross-entropy.
    pub train_loss: f64,
    /// Training chunk accuracy (0..1).
    pub train_accuracy: f64,
    /// Mean validation cross-entropy.
    pub val_loss: f64,
    /// Validation chunk accuracy (0..1).
    pub val_accuracy: f64,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of this epoch.
    pub seconds: f64,
}

/// One test song's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SongPrediction {
    /// Track id.
    pub track: String,
    /// True class index.
    pub label: usize,
    /// Predicted class index (majority vote over chunks).
    pub predicted: usize,
    /// Chunk votes per class.
    pub votes: Vec<u32>,
}

/// Test metrics of one (model, hop, fold): the JSON every report is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestMetrics {
    /// Model name as in the spec.
    pub model: String,
    /// Chunk hop in frames.
    pub hop: usize,
    /// Fold index (0-based).
    pub fold: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Test chunk accuracy (0..1).
    pub chunk_accuracy: f64,
    /// Test song accuracy by majority vote (0..1).
    pub song_accuracy: f64,
    /// Epochs run.
    pub epochs_run: usize,
    /// Epoch (1-based) whose weights were kept (best validation accuracy).
    pub best_epoch: usize,
    /// Training wall-clock seconds.
    pub seconds: f64,
    /// Device it ran on, in words.
    pub device: String,
    /// Song-level confusion matrix, `[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    /// Per-song predictions.
    pub songs: Vec<SongPrediction>,
}
