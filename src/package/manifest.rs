//! `package.json` ([`Manifest`]) and loading a package ([`Package::load`]):
//! format version, the manifest's internal agreement (through the model
//! card's checks), the weights file against the listed tensors, and every
//! tensor against the architecture.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::{ChunkPolicy, ShortSongPolicy};
use crate::features::{FeatureConfig, NormStats};
use crate::model::{ArchConfig, FilterBankBackend, FilterBankNet};
use crate::train::export::load_named;
use crate::train::weights::{decode_safetensors, NamedTensor};
use crate::train::{ModelCard, Provenance, TrainConfig, MODEL_CARD_FORMAT};

use super::{PackageError, MANIFEST_FILE, PACKAGE_FORMAT};

/// One tensor of the weights file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorShape {
    /// Module path joined with `.` (e.g. `banks.0.groups.0.weight`).
    pub name: String,
    /// Shape (layouts in the [`super`] module docs).
    pub shape: Vec<usize>,
}

/// Test metrics of the fold the package comes from (its `test.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageMetrics {
    /// Trainable parameters.
    pub params: usize,
    /// Test chunk accuracy (0..1).
    pub chunk_accuracy: f64,
    /// Test song accuracy by majority vote (0..1).
    pub song_accuracy: f64,
    /// Epochs run.
    pub epochs_run: usize,
    /// Epoch (1-based) whose weights these are.
    pub best_epoch: usize,
    /// Song accuracy of every fold of this (model, hop) that had finished
    /// at export time, by fold.
    pub fold_song_accuracy: BTreeMap<usize, f64>,
}

/// Where the package came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageProvenance {
    /// Experiment name (`[experiment].name`).
    pub experiment: String,
    /// The profile the plan used (`None`: the spec as written).
    pub profile: Option<String>,
    /// Hash of the expanded spec the plan was made from.
    pub spec_hash: String,
    /// Dataset name.
    pub dataset: String,
    /// Content hash of the dataset (track ids, labels, audio hashes).
    pub dataset_hash: String,
    /// The train task's key (its cache entry).
    pub task_key: String,
    /// Code version of every task kind behind it, by kind name.
    pub code_versions: BTreeMap<String, u32>,
    /// The tempora version that exported it.
    pub tempora_version: String,
    /// Training hyper-parameters (seed included).
    pub train: TrainConfig,
    /// `cpu` or `cuda`: the device class it was trained on.
    pub device: String,
}

/// `package.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`PACKAGE_FORMAT`].
    pub format: u32,
    /// Model name as in the spec.
    pub model: String,
    /// The architecture (input `arch.bands × arch.frames`).
    pub arch: ArchConfig,
    /// How audio becomes the model's input.
    pub features: FeatureConfig,
    /// Statistics that standardise the spectrogram before chunking.
    pub normalisation: NormStats,
    /// Class names in label order (output `i` is `class_names[i]`).
    pub class_names: Vec<String>,
    /// Frames per chunk.
    pub chunk_frames: usize,
    /// Hop between chunk starts (frames) it was trained and tested with.
    pub hop: usize,
    /// Which chunk starts a recording yields.
    pub chunk_policy: ChunkPolicy,
    /// What training did with songs that yield no chunk (prediction always
    /// pads them: every recording gets a class).
    pub short_songs: ShortSongPolicy,
    /// Cross-validation fold the weights come from.
    pub fold: usize,
    /// The weights file in the package.
    pub weights: String,
    /// Every tensor of the weights file, sorted by name.
    pub tensors: Vec<TensorShape>,
    /// Test metrics of that fold.
    pub metrics: PackageMetrics,
    /// Where it came from.
    pub provenance: PackageProvenance,
}

impl Manifest {
    /// The model card these fields make (to reuse its checks and loader).
    pub fn card(&self) -> ModelCard {
        let p = &self.provenance;
        ModelCard {
            format: MODEL_CARD_FORMAT,
            model: self.model.clone(),
            arch: self.arch.clone(),
            features: self.features.clone(),
            normalisation: self.normalisation.clone(),
            class_names: self.class_names.clone(),
            chunk_frames: self.chunk_frames,
            hop: self.hop,
            fold: self.fold,
            weights: self.weights.clone(),
            provenance: Provenance {
                dataset_hash: p.dataset_hash.clone(),
                task_key: p.task_key.clone(),
                code_versions: p.code_versions.clone(),
                train: p.train.clone(),
                device: p.device.clone(),
            },
        }
    }
}

/// A package read from disk and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// The package directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    tensors: Vec<NamedTensor>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Package {
    /// Reads and checks the package at `dir` (see the module docs).
    pub fn load(dir: &Path) -> Result<Self, PackageError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let manifest = parse_manifest(&bytes, &path)?;
        let weights = dir.join(&manifest.weights);
        let bytes = std::fs::read(&weights).map_err(io(&weights))?;
        let (tensors, _) = decode_safetensors(&bytes, &weights)?;
        check_tensors(&manifest.tensors, &tensors, &weights)?;
        let package = Self {
            dir: dir.to_owned(),
            manifest,
            tensors,
        };
        // Every shape against the architecture, once, on the CPU.
        package.model::<burn::backend::NdArray>(&Default::default())?;
        Ok(package)
    }

    /// Builds the network on `device` with the package's weights.
    pub fn model<B: FilterBankBackend>(
        &self,
        device: &B::Device,
    ) -> Result<FilterBankNet<B>, PackageError> {
        let net = FilterBankNet::<B>::init(&self.manifest.arch, 0, device)
            .map_err(crate::train::TrainError::from)?;
        load_named(net, &self.tensors, device).map_err(|e| PackageError::Weights {
            path: self.dir.join(&self.manifest.weights),
            what: format!("{e} (the weights do not fit the manifest's architecture)"),
        })
    }
}

/// Parses `package.json` bytes and checks format and internal agreement.
pub fn parse_manifest(bytes: &[u8], path: &Path) -> Result<Manifest, PackageError> {
    let bad = |what: String| PackageError::Manifest {
        path: path.to_owned(),
        what,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not JSON: {e}; is this a tempora package?")))?;
    let format = value.get("format").and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(PACKAGE_FORMAT)) {
        let found = format.map_or("none".to_owned(), |f| f.to_string());
        return Err(bad(format!(
            "package format {found}, this tempora reads format {PACKAGE_FORMAT}; \
             export the model again with this tempora (`tempora export`)"
        )));
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| bad(format!("not a package manifest: {e}")))?;
    manifest
        .card()
        .check()
        .map_err(|e| bad(format!("{e}; the manifest's parts disagree")))?;
    Ok(manifest)
}

/// The weights file must hold exactly the listed tensors with their shapes.
fn check_tensors(
    listed: &[TensorShape],
    stored: &[NamedTensor],
    path: &Path,
) -> Result<(), PackageError> {
    let bad = |what: String| PackageError::Weights {
        path: path.to_owned(),
        what,
    };
    let stored: BTreeMap<&str, &[usize]> = stored
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice()))
        .collect();
    let listed_map: BTreeMap<&str, &[usize]> = listed
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice()))
        .collect();
    for (name, shape) in &listed_map {
        match stored.get(name) {
            None => {
                return Err(bad(format!(
                    "tensor {name} is listed in the manifest but missing"
                )))
            }
            Some(s) if s != shape => {
                return Err(bad(format!(
                    "tensor {name} has shape {s:?}, the manifest says {shape:?}"
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = stored.keys().find(|n| !listed_map.contains_key(*n)) {
        return Err(bad(format!("tensor {extra} is not listed in the manifest")));
    }
    Ok(())
}

/// The tensor list of a weights file (sorted by name).
pub fn tensor_shapes(tensors: &[NamedTensor]) -> Vec<TensorShape> {
    let mut shapes: Vec<TensorShape> = tensors
        .iter()
        .map(|t| TensorShape {
            name: t.name.clone(),
            shape: t.shape.clone(),
        })
        .collect();
    shapes.sort_by(|a, b| a.name.cmp(&b.name));
    shapes
}
