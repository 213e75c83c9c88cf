//! What a report is built from: provenance (dataset, profile, protocol,
//! device, code version, spec hash, training time), the models in spec order with
//! the paper's numbers, and every finished run's test results
//! ([`RunMetrics`]) and per-epoch metrics ([`EpochRow`]).
//!
//! The caller gathers these (from the cache, from a fixture, from memory); this
//! module never reads the cache, the spec or the training code (the caller
//! copies a train entry's numbers into the report's own rows). The models,
//! dataset and reference rows are the report task's parameters
//! ([`crate::plan::params::ReportParams`]), the claims the spec's. It only
//! checks that the pieces agree with each other ([`ReportInput::validate`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ReportError;
use crate::plan::params::{DatasetInfo, ModelReportInfo, PaperOnlyRow};
use crate::spec::ClaimSpec;

/// Everything one (model, hop, fold) run produced that a report uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutput {
    /// The run's test results (model, hop and fold are read from them).
    pub metrics: RunMetrics,
    /// The run's per-epoch metrics, in epoch order.
    pub epochs: Vec<EpochRow>,
}

/// One run's test results, as the training wrote them (a train entry's
/// `test.json`, field for field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
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
    pub songs: Vec<SongRow>,
}

impl RunMetrics {
    /// Balanced song-level accuracy: the mean over classes of the share of
    /// each class's test songs predicted right (per-class recall), over the
    /// classes this fold tests; `None` without a confusion matrix. Unlike
    /// [`RunMetrics::song_accuracy`] it weighs a small class as much as a
    /// large one.
    pub fn balanced_song_accuracy(&self) -> Option<f64> {
        let recalls: Vec<f64> = self
            .confusion
            .iter()
            .enumerate()
            .filter_map(|(class, row)| {
                let songs: u32 = row.iter().sum();
                let right = row.get(class).copied().unwrap_or(0);
                (songs > 0).then(|| f64::from(right) / f64::from(songs))
            })
            .collect();
        (!recalls.is_empty()).then(|| recalls.iter().sum::<f64>() / recalls.len() as f64)
    }
}

/// One test song's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SongRow {
    /// Track id.
    pub track: String,
    /// True class index.
    pub label: usize,
    /// Predicted class index (majority vote over chunks).
    pub predicted: usize,
    /// Chunk votes per class.
    pub votes: Vec<u32>,
}

/// Metrics of one training epoch (a row of a train entry's `epochs.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
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

/// Filters of one length of a trained model's first layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterGroupWeights {
    /// Filter length in frames (the `n` of a 1×n filter).
    pub length: usize,
    /// Each filter's weights, `length` values, in time order.
    pub filters: Vec<Vec<f32>>,
}

/// The first-layer 1×n filters of one trained model (plain numbers, so the
/// report does not depend on burn). Only temporal (1×n) filters are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterWeights {
    /// Model name as in the spec.
    pub model: String,
    /// Chunk hop of the run the weights come from.
    pub hop: usize,
    /// Fold of the run the weights come from.
    pub fold: usize,
    /// Filter groups, one per distinct length, in the order the caller gives.
    pub groups: Vec<FilterGroupWeights>,
}

/// Everything a report is built from. See the module documentation of
/// [`crate::report`] for what each field becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportInput {
    /// Experiment name (the report directory is `reports/<experiment>/`).
    pub experiment: String,
    /// The report's title (`[experiment].title`; empty: the experiment name).
    #[serde(default)]
    pub title: String,
    /// The experiment's description, the report's opening paragraph.
    #[serde(default)]
    pub description: Option<String>,
    /// Hash of the spec the runs were planned from (hex).
    pub spec_hash: String,
    /// Profile the experiment ran under (e.g. `paper`, `quick`).
    pub profile: String,
    /// Dataset name, size and content hash.
    pub dataset: DatasetInfo,
    /// One-line protocol summary (folds, epochs, schedule, …) for the header.
    pub protocol: String,
    /// Folds every (model, hop) is planned to run (10 in the paper).
    pub folds: usize,
    /// Device the runs used, in words.
    pub device: String,
    /// Code version (crate version and git revision).
    pub code_version: String,
    /// Seconds of training behind the report: the sum of the runs' wall-clock
    /// training seconds (shown as "training time"; runs may have overlapped).
    pub wall_seconds: f64,
    /// Remarks shown under the header and the terminal title, one per line
    /// (e.g. "no CUDA device: ran the quick profile; `just reproduce paper`
    /// forces the paper protocol").
    #[serde(default)]
    pub notes: Vec<String>,
    /// Class names in label order (confusion-matrix axes); may be empty.
    pub class_names: Vec<String>,
    /// Table 1's rows, in spec order.
    pub models: Vec<ModelReportInfo>,
    /// Results the spec quotes but tempora does not run (`[[reference]]`,
    /// Table 1's Marchand et al.); shown after the models.
    #[serde(default)]
    pub paper_only: Vec<PaperOnlyRow>,
    /// Claims the spec states (`[[claim]]`), tested in the Findings section.
    #[serde(default)]
    pub claims: Vec<ClaimSpec>,
    /// Every finished run, in any order.
    pub runs: Vec<RunOutput>,
    /// First-layer filters of one trained model, when available.
    pub filters: Option<FilterWeights>,
}

impl ReportInput {
    /// Checks that the pieces agree: model names are unique, every run belongs
    /// to a model and hop of the spec with a fold below [`Self::folds`], no
    /// (model, hop, fold) appears twice, and confusion matrices are square.
    pub fn validate(&self) -> Result<(), ReportError> {
        let mut names = BTreeMap::new();
        for (index, model) in self.models.iter().enumerate() {
            if names.insert(model.name.as_str(), index).is_some() {
                return Err(ReportError::Input(format!(
                    "model `{}` is listed twice; model names must be unique",
                    model.name
                )));
            }
        }
        let mut seen = BTreeSet::new();
        for run in &self.runs {
            let m = &run.metrics;
            let at = format!("run (model `{}`, hop {}, fold {})", m.model, m.hop, m.fold);
            let Some(&index) = names.get(m.model.as_str()) else {
                return Err(ReportError::Input(format!(
                    "{at}: no such model in the spec; regenerate the cache or fix the model list"
                )));
            };
            if !self.models[index].hops.contains(&m.hop) {
                return Err(ReportError::Input(format!(
                    "{at}: the spec does not run this model at hop {}",
                    m.hop
                )));
            }
            if m.fold >= self.folds {
                return Err(ReportError::Input(format!(
                    "{at}: fold is out of range (the protocol has {} folds)",
                    self.folds
                )));
            }
            if !seen.insert((index, m.hop, m.fold)) {
                return Err(ReportError::Input(format!("{at}: given twice")));
            }
            if m.confusion.iter().any(|row| row.len() != m.confusion.len()) {
                return Err(ReportError::Input(format!(
                    "{at}: confusion matrix is not square"
                )));
            }
        }
        Ok(())
    }

    /// The title to show: [`Self::title`], else the experiment name.
    pub fn display_title(&self) -> &str {
        if self.title.trim().is_empty() {
            &self.experiment
        } else {
            &self.title
        }
    }

    /// Whether any paper number is quoted (a model's or a reference row):
    /// without one, the tables leave out the paper and Δ columns.
    pub fn quotes_papers(&self) -> bool {
        !self.paper_only.is_empty()
            || self
                .models
                .iter()
                .any(|m| m.paper_params.is_some() || !m.paper_accuracy.is_empty())
    }

    /// Index of `model` in [`Self::models`] (spec order).
    pub(crate) fn model_index(&self, model: &str) -> Option<usize> {
        self.models.iter().position(|m| m.name == model)
    }
}
