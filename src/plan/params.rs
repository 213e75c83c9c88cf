//! Typed task parameters: one serde type per task kind, in one enum
//! ([`TaskParams`]). The planner builds them, the key hashes their canonical
//! JSON ([`crate::spec::canonical_json`]), the tasks read them back as the
//! same types, and frozen plans carry them to other processes. The kind of a
//! task follows from the variant ([`TaskParams::kind`]).
//!
//! A field renamed here is renamed for the planner and the task alike; the
//! serialised names are part of every key, so such a change re-keys the kind
//! (pinned by the golden-key test in [`super::key`]).

use serde::{Deserialize, Serialize};

use crate::dataset::{ChunkPolicy, ShortSongPolicy};
use crate::features::{FeatureConfig, NormConfig};
use crate::model::ArchConfig;
use crate::train::TrainConfig;

use super::build::DeviceClass;
use super::key::Key;
use super::task::TaskKind;

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
