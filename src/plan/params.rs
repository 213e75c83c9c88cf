//! Typed task parameters: one serde type per task kind, in one enum
//! ([`TaskParams`]). The planner builds them, the key hashes their canonical
//! JSON ([`crate::spec::canonical_json`]), the tasks read them back as the
//! same types, and frozen plans carry them to other processes. The kind of a
//! task follows from the variant ([`TaskParams::kind`]).
//!
//! A field renamed here is renamed for the planner and the task alike; the
//! serialised names are part of every key, so such a change re-keys the kind
//! (pinned by the golden-key test in [`super::key`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dataset::{ChunkPolicy, ShortSongPolicy};
use crate::features::{FeatureConfig, NormConfig};
use crate::model::ArchConfig;
use crate::train::TrainConfig;

use super::key::Key;

/// Where training runs, as far as results are concerned: CPU, CUDA and wgpu
/// results differ in their last bits, so the class (not the device index) is
/// keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    /// burn NdArray on the CPU (the bit-reproducible reference).
    Cpu,
    /// burn CubeCL on CUDA.
    Cuda,
    /// burn CubeCL on wgpu (Vulkan, Metal, DX12).
    Wgpu,
}

impl DeviceClass {
    /// The class's name as specs and keys spell it (`cpu`, `cuda`, `wgpu`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceClass::Cpu => "cpu",
            DeviceClass::Cuda => "cuda",
            DeviceClass::Wgpu => "wgpu",
        }
    }
}

impl From<crate::device::ComputeDevice> for DeviceClass {
    fn from(device: crate::device::ComputeDevice) -> Self {
        match device {
            crate::device::ComputeDevice::Cpu => DeviceClass::Cpu,
            crate::device::ComputeDevice::Cuda(_) => DeviceClass::Cuda,
            crate::device::ComputeDevice::Wgpu(_) => DeviceClass::Wgpu,
        }
    }
}

impl std::fmt::Display for DeviceClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The stages of the pipeline, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Decode one track and compute its log-mel spectrogram.
    Features,
    /// Normalisation statistics over the songs' spectrograms.
    Norm,
    /// The chunk set of one (chunk frames, hop, fold): which song and start
    /// frame every training, validation and test chunk has.
    Chunks,
    /// Train one (model, hop, fold), keep the best-validation model, evaluate
    /// it on the test songs (chunk and song level).
    Train,
    /// Gather every run of the experiment (test metrics, epochs, filters)
    /// into the report input.
    Report,
}

impl TaskKind {
    /// Every kind, in pipeline order.
    pub const ALL: [TaskKind; 5] = [
        TaskKind::Features,
        TaskKind::Norm,
        TaskKind::Chunks,
        TaskKind::Train,
        TaskKind::Report,
    ];

    /// The kind's name (cache directory, ids, tables).
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Features => "features",
            TaskKind::Norm => "norm",
            TaskKind::Chunks => "chunks",
            TaskKind::Train => "train",
            TaskKind::Report => "report",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The version of the code that computes this kind (part of every key;
    /// see [`super::versions`] for how it cannot go stale).
    pub fn code_version(self) -> u32 {
        super::versions::code_version(self.name())
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod report;

pub use report::{DatasetInfo, ModelReportInfo, PaperOnlyRow, ReportParams, SweepInfo};

/// The parameters of one task; the variant is its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Externally tagged (`{"train": {…}}`): an internally tagged enum would
// buffer its content, and buffered maps lose integer keys (hop → accuracy).
#[serde(rename_all = "snake_case")]
pub enum TaskParams {
    /// Decode one track and compute its log-mel spectrogram.
    Features(FeaturesParams),
    /// Normalisation statistics.
    Norm(NormParams),
    /// One fold's chunk sets.
    Chunks(ChunksParams),
    /// Train and test one (model, hop, fold).
    Train(TrainParams),
    /// Gather every run of the experiment for its report.
    Report(ReportParams),
}

impl TaskParams {
    /// The task kind these parameters belong to.
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskParams::Features(_) => TaskKind::Features,
            TaskParams::Norm(_) => TaskKind::Norm,
            TaskParams::Chunks(_) => TaskKind::Chunks,
            TaskParams::Train(_) => TaskKind::Train,
            TaskParams::Report(_) => TaskKind::Report,
        }
    }
}

/// One song as keyed tasks see it: its track id (test predictions name it),
/// label and features key; never its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SongRef {
    /// Track id.
    pub track: String,
    /// Class index.
    pub label: usize,
    /// Key of the song's features entry.
    pub features: Key,
}

/// The ordered songs and how they are split into folds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitParams {
    /// Folds of the protocol.
    pub folds: usize,
    /// Shuffle seed.
    pub seed: u64,
    /// Every song, in dataset order.
    pub songs: Vec<SongRef>,
}

/// Parameters of a features task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturesParams {
    /// The feature configuration.
    pub config: FeatureConfig,
}

/// Which songs normalisation statistics are computed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormSongs {
    /// Every song of the dataset (one task shared by every fold).
    All {
        /// The songs, in dataset order.
        songs: Vec<SongRef>,
    },
    /// The training songs of one fold.
    TrainOfFold {
        /// The fold.
        fold: usize,
        /// The split the fold belongs to.
        split: SplitParams,
    },
}

/// Parameters of a norm task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormParams {
    /// Scalar or per-band, all songs or training songs.
    pub config: NormConfig,
    /// The songs.
    pub songs: NormSongs,
}

/// Parameters of a chunks task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunksParams {
    /// Frames per chunk.
    pub chunk_frames: usize,
    /// Hop between chunk starts.
    pub hop: usize,
    /// The fold.
    pub fold: usize,
    /// The songs and their folds.
    pub split: SplitParams,
    /// Which starts a song yields.
    pub chunk_policy: ChunkPolicy,
    /// What happens to songs that yield none.
    pub short_songs: ShortSongPolicy,
}

/// Parameters of a train task: everything that determines the model and
/// everything a user of the trained model needs besides the upstream
/// statistics (recorded in the entry's model card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Model name as in the spec (the test metrics record it).
    pub model: String,
    /// The architecture.
    pub arch: ArchConfig,
    /// The training hyper-parameters (seed included).
    pub train: TrainConfig,
    /// Chunk hop in frames.
    pub hop: usize,
    /// The fold.
    pub fold: usize,
    /// CPU or CUDA: the two differ in the last bits.
    pub device: DeviceClass,
    /// The features the model reads (also keyed upstream, through the songs' features keys).
    pub features: FeatureConfig,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// Content hash of the dataset (track ids, labels and audio hashes).
    pub dataset_hash: String,
}
