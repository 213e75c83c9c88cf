//! Model packages: a trained model that has left the cache. A package is a
//! directory with two files:
//!
//! ```text
//! <package>/
//! ├── package.json          the manifest ([`Manifest`], format [`PACKAGE_FORMAT`])
//! └── weights.safetensors   a byte copy of the train entry's best.safetensors
//! ```
//!
//! # `weights.safetensors`
//! Every float parameter, `f32`, little-endian, row-major, named by its module
//! path (see [`crate::model::FilterBankNet`]'s docs, "Parameter names and
//! layouts"): `banks.{i}.groups.{j}.weight` `[count, 1, height, width]`
//! (PyTorch `Conv2d` layout), `banks.{i}.groups.{j}.bias` `[count]`,
//! `hidden.{l}.weight` and `output.weight` `[in, out]` (burn `Linear`, the
//! transpose of PyTorch's `nn.Linear.weight`), their biases `[out]`. The
//! manifest lists every tensor's name and shape ([`Manifest::tensors`]).
//!
//! # `package.json`
//! What using the model needs without the spec or the cache: the
//! architecture, the feature configuration, the normalisation statistics,
//! class names in label order, chunk frames, hop and chunk policy; the test
//! metrics of the fold it comes from; provenance (experiment, profile, spec
//! hash of the plan it was exported from, dataset hash, train task key, code
//! versions, training configuration, device class).
//!
//! # Loading
//! [`Package::load`] checks the format version, that the manifest's parts
//! agree (classes, bands, chunk frames, statistics), that the weights file
//! holds exactly the listed tensors with their shapes, and that every shape
//! matches the architecture; every error names the file and what differs.
//!
//! # Files
//! - [`manifest`]: the manifest and its checks.
//! - [`export`](mod@export): a plan's train entry → a package.
//! - [`predict`]: a package + audio files → song-level classes.
//!
//! Must not know about the command line.

pub mod export;
pub mod manifest;
pub mod predict;

use std::path::PathBuf;

pub use export::{export, ExportRequest, FoldChoice};
pub use manifest::{Manifest, Package, PackageMetrics, PackageProvenance, TensorShape};
pub use predict::{collect_inputs, predict_files, ChunkPrediction, Prediction, Predictor};

/// Version of the package format (`package.json` and the weights layout).
pub const PACKAGE_FORMAT: u32 = 1;

/// The manifest's file name inside a package.
pub const MANIFEST_FILE: &str = "package.json";

/// The weights' file name inside a package.
pub const WEIGHTS_FILE: &str = "weights.safetensors";

/// Why exporting, loading or using a package failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The manifest cannot be used.
    #[error("{}: {what}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong and what to do.
        what: String,
    },
    /// The weights do not fit the manifest's architecture.
    #[error("{}: {what}", path.display())]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
    /// The requested model, hop or fold is not in the plan or not trained.
    #[error("{0}")]
    Selection(String),
    /// The experiment could not be encoded for its spec hash.
    #[error("cannot hash the experiment's spec: {0}")]
    SpecHash(#[source] serde_json::Error),
    /// Reading the cache failed.
    #[error(transparent)]
    Store(#[from] crate::exec::store::StoreError),
    /// Training outputs (model card, weights) could not be read or loaded.
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
    /// The device asked for cannot be used.
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
}

/// Why one recording could not be classified (the others still are).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PredictError {
    /// The audio could not be decoded.
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    /// The spectrogram could not be computed (a sample-rate mismatch: the
    /// package's features expect a rate this tempora does not decode to; an
    /// unusable feature configuration).
    #[error("{}: {source}", path.display())]
    FrontEnd {
        /// The recording.
        path: PathBuf,
        /// What the front end said.
        source: crate::features::FrontEndError,
    },
    /// The package's normalisation statistics do not fit the spectrogram.
    #[error("{}: features: {source}", path.display())]
    Features {
        /// The recording.
        path: PathBuf,
        /// What the statistics said.
        source: crate::features::FeatureError,
    },
    /// The model could not score the recording.
    #[error("{}: {source}", path.display())]
    Model {
        /// The recording.
        path: PathBuf,
        /// What failed.
        source: crate::train::TrainError,
    },
}
