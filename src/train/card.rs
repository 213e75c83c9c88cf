//! The model card: `model.json` in every train entry, with everything that
//! using the trained model needs without the spec — architecture, feature
//! configuration, normalisation statistics, class names in label order, chunk
//! frames and hop — and where it came from (dataset hash, task key, code
//! versions, training hyper-parameters, device class).
//!
//! The experiment's spec hash is deliberately not here: it changes with any
//! edit of the spec (a description, another model), and a train entry's bytes
//! may only depend on what its key covers. Reports and exported packages
//! record the spec hash of the plan they were made from.
//!
//! [`ModelCard::load`] reads a card from an entry directory and checks it;
//! [`ModelCard::load_model`] rebuilds the network and loads the best weights,
//! checking every name and shape.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::{FeatureConfig, NormStats};
use crate::layout::files;
use crate::model::{ArchConfig, FilterBankBackend, FilterBankNet};

use super::export::load_named;
use super::weights::decode_safetensors;
use super::{TrainConfig, TrainError};

/// Version of the card's format.
pub const MODEL_CARD_FORMAT: u32 = 1;

/// Where a trained model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Content hash of the dataset it was trained on (track ids, labels, audio hashes).
    pub dataset_hash: String,
    /// The train task's key (its cache entry).
    pub task_key: String,
    /// Code version of every task kind behind it, by kind name.
    pub code_versions: BTreeMap<String, u32>,
    /// Training hyper-parameters (seed included).
    pub train: TrainConfig,
    /// `cpu` or `cuda`.
    pub device: String,
}

/// `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// [`MODEL_CARD_FORMAT`].
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
    /// Hop between chunk starts it was trained and tested with.
    pub hop: usize,
    /// Cross-validation fold.
    pub fold: usize,
    /// The weights file in the same entry.
    pub weights: String,
    /// Where it came from.
    pub provenance: Provenance,
}

impl ModelCard {
    /// Reads and checks the card of the entry at `dir`.
    pub fn load(dir: &Path) -> Result<Self, TrainError> {
        let path = dir.join(files::MODEL_CARD);
        let bytes = std::fs::read(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        let card: Self = serde_json::from_slice(&bytes).map_err(|e| {
            TrainError::Output(format!(
                "{}: not a model card of this tempora: {e}",
                path.display()
            ))
        })?;
        if card.format != MODEL_CARD_FORMAT {
            return Err(TrainError::Output(format!(
                "{}: model card format {} (this tempora reads {MODEL_CARD_FORMAT})",
                path.display(),
                card.format
            )));
        }
        card.check()?;
        Ok(card)
    }

    /// Checks that the card's parts agree with each other.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |what: String| Err(TrainError::Output(format!("model card: {what}")));
        if self.class_names.len() != self.arch.classes {
            return bad(format!(
                "{} class names for {} outputs",
                self.class_names.len(),
                self.arch.classes
            ));
        }
        if self.features.mel_bands != self.arch.bands {
            return bad(format!(
                "features have {} mel bands but the model reads {}",
                self.features.mel_bands, self.arch.bands
            ));
        }
        if self.chunk_frames != self.arch.frames {
            return bad(format!(
                "chunks of {} frames but the model reads {}",
                self.chunk_frames, self.arch.frames
            ));
        }
        let stats = self.normalisation.mean.len();
        if stats != self.normalisation.std.len() || (stats != 1 && stats != self.arch.bands) {
            return bad(format!(
                "normalisation statistics of length {stats}, expected 1 or {}",
                self.arch.bands
            ));
        }
        Ok(())
    }

    /// Builds the network on `device` and loads the entry's weights into it
    /// (every parameter name and shape must match the architecture).
    pub fn load_model<B: FilterBankBackend>(
        &self,
        dir: &Path,
        device: &B::Device,
    ) -> Result<FilterBankNet<B>, TrainError> {
        let path = dir.join(&self.weights);
        let bytes = std::fs::read(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        let (tensors, _) = decode_safetensors(&bytes, &path)?;
        let net = FilterBankNet::<B>::init(&self.arch, 0, device)?;
        load_named(net, &tensors, device)
    }
}
