//! The paper's training protocol: SGD, stalled-loss learning-rate schedule,
//! best-validation model selection; evaluation (chunk and song level, majority
//! vote); exports (safetensors weights, per-epoch CSV, test metrics JSON).
//!
//! Must not know about planning.
//!
//! # Entry points
//!
//! - [`FoldData::from_split`] cuts a fold's songs into chunks ([`ChunkSet`]s
//!   of training, validation and test examples) from the dataset's tracks,
//!   their normalised spectrograms and a [`crate::dataset::FoldSplit`].
//! - [`run_fold`] trains one (model, hop, fold) with the protocol of a
//!   [`TrainConfig`] on a [`ComputeDevice`], tests the best-validation weights,
//!   and writes `run.json`, `best.safetensors`, `epochs.csv` and `test.json`
//!   into its output directory (layout in [`run`]); it resumes from the
//!   per-epoch checkpoint it keeps there when interrupted.
//! - [`fit`] (the loop alone) and [`train_and_test`] are generic over the
//!   backend and the model, for tests and benchmarks.
//!
//! # Files
//! - [`schedule`]: the stalled-loss learning-rate schedule.
//! - [`data`]: chunk references and the batcher.
//! - [`feed`]: on a GPU, the fold uploaded once and batches gathered there.
//! - [`fit`](mod@fit): the training loop and its randomness.
//! - [`evaluate`]: chunk and song level scores, majority vote, confusion.
//! - [`checkpoint`]: per-epoch checkpoints for resume.
//! - [`export`]: a module's weights as named tensors, the run's outputs, atomic writes.
//! - [`weights`]: the safetensors weights file, encoded and decoded (no burn).
//! - [`entry`]: the test metrics and the per-epoch CSV, the types a train
//!   entry's readers need (no burn).
//! - [`run`]: one run end to end; [`run_fold`] dispatches it to a backend.
//!
//! # Determinism
//! On the CPU, the same [`crate::model::ArchConfig`], [`TrainConfig`], data and seed give
//! bit-identical weights and metrics (except wall-clock `seconds` and the
//! device description) whatever the rayon thread count:
//! initial weights are drawn on the host ([`crate::model`]), the shuffle and
//! the dropout seeds derive from the run's seed ([`fit`](mod@fit)), host-side
//! scores are summed in chunk order, and the fused kernels reduce in a fixed
//! order. `tests/suite/train.rs` checks this with 1 and 2 threads.
//!
//! On CUDA: initial weights and shuffles are the same as on the CPU, but
//! dropout masks come from the CUDA backend's own generator (different
//! streams from NdArray's for the same seed), and matrix products and
//! gradient sums may associate differently. So CUDA weights match CPU ones
//! only for the forward pass of the same weights (to rounding, ~1e-5), and
//! training trajectories diverge from the CPU's after the first step; a CUDA
//! run repeated on the same GPU, driver and code is expected to repeat,
//! as far as its kernels are deterministic.
//!
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod card;
pub mod checkpoint;
pub mod data;
pub mod entry;
pub mod evaluate;
pub mod export;
pub mod feed;
pub mod fit;
pub mod run;
pub mod schedule;
pub mod weights;

pub use card::{ModelCard, Provenance, MODEL_CARD_FORMAT};
pub use data::{ChunkRef, ChunkSet, ChunkSpec, FoldData, SongInfo};
pub use entry::{EpochMetrics, SongPrediction, TestMetrics};
pub use evaluate::Classifier;
pub use fit::{fit, Fitted};
pub use run::{run_fold, train_and_test, RunId};

/// Why a training run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The examples cannot be used as given.
    #[error("training data: {0}")]
    Data(String),
    /// The training loss became NaN or infinite.
    #[error("training diverged in epoch {epoch} (learning rate {learning_rate}): the loss is not finite; lower `learning_rate` in the spec's protocol")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// Learning rate of that epoch.
        learning_rate: f64,
    },
    /// Weights could not be encoded, decoded or loaded.
    #[error("weights: {0}")]
    Weights(String),
    /// A checkpoint could not be written or read.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// An output file could not be encoded.
    #[error("output: {0}")]
    Output(String),
    /// The architecture cannot be built.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// The device cannot be used (missing adapter, or a kernel too long for it).
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    /// The caller asked training to stop (e.g. Ctrl-C, a time-limit warning):
    /// it stopped after saving the checkpoint of an epoch, where it resumes.
    #[error(
        "stopped on request after epoch {epochs_done} (checkpoint saved; a rerun resumes there)"
    )]
    Stopped {
        /// Epochs trained and checkpointed.
        epochs_done: usize,
    },
    /// The backend failed (reading a tensor back, initialising a device).
    #[error("backend: {0}")]
    Backend(String),
    /// A file could not be read or written.
    #[error("{}: {source}{}", path.display(), crate::exec::store::remedy_suffix(source))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

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
    /// Not in the reference protocol: also stop once this many epochs have
    /// passed without a (strictly) better validation accuracy, the measure
    /// that picks the kept weights. `None` (the paper): only the loss stall
    /// and the epoch limit end training.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_patience: Option<usize>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            patience: 20,
            stop_after: 40,
            factor: 0.5,
            val_patience: None,
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
