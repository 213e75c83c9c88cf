//! The report task's parameters ([`ReportParams`]): what the planner fixes
//! for an experiment's report — provenance, the models in spec order with the
//! paper's numbers ([`ModelReportInfo`]), the dataset ([`DatasetInfo`]), the
//! quoted reference rows ([`PaperOnlyRow`]) and the spec's claims. The report
//! task copies them into its `ReportInput`, so the report reads these types
//! and the planner never needs the report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::ArchConfig;
use crate::spec::ClaimSpec;

/// Parameters of a report task: provenance fixed at plan time and the
/// models with the paper's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportParams {
    /// Experiment name.
    pub experiment: String,
    /// Report title (`[experiment].title`, else the name).
    pub title: String,
    /// The experiment's description.
    pub description: Option<String>,
    /// The active profile (`None`: the spec as written).
    pub profile: Option<String>,
    /// The active profile's description.
    pub profile_description: Option<String>,
    /// Hash of the expanded spec.
    pub spec_hash: String,
    /// The dataset.
    pub dataset: DatasetInfo,
    /// One-line protocol summary.
    pub protocol: String,
    /// Folds of the protocol.
    pub folds: usize,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// The planned models, in spec order, with the paper's numbers.
    pub models: Vec<ModelReportInfo>,
    /// Each model's architecture (to read its first-layer filters), in the order of `models`.
    pub archs: Vec<ArchConfig>,
    /// Quoted results the experiment does not run (`[[reference]]`), in spec order.
    pub references: Vec<PaperOnlyRow>,
    /// Claims the report's Findings test (`[[claim]]`), in spec order.
    pub claims: Vec<ClaimSpec>,
}

/// The dataset an experiment ran on, as the report header names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Dataset name (e.g. `ballroom`, `synthetic-tiny`).
    pub name: String,
    /// Number of tracks.
    pub tracks: usize,
    /// Content hash of the track list and audio (hex).
    pub content_hash: String,
    /// For a Ballroom or GTZAN copy: how it compares with the canonical
    /// checksums (e.g. `canonical Ballroom (698/698 checksums match)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
}

/// One row of Table 1 as the spec defines it, with the paper's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReportInfo {
    /// Model name as in the spec (e.g. `O-net + P-net`).
    pub name: String,
    /// Trainable parameters of our model (computed from its architecture).
    pub params: usize,
    /// Parameters the paper reports, when it reports this model.
    pub paper_params: Option<usize>,
    /// Chunk hops (frames) the spec runs this model at, in spec order.
    pub hops: Vec<usize>,
    /// The paper's mean song-level accuracy per hop, as a fraction in 0..1
    /// (the paper prints percent: 76.66 % is `0.7666`).
    pub paper_accuracy: BTreeMap<usize, f64>,
    /// For a sweep variant: its base model and the settings applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepInfo>,
}

/// Where a sweep variant comes from (the report's sweep view groups by it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepInfo {
    /// Name of the model the variant was made from.
    pub base: String,
    /// `(key, value)` settings applied, in sorted key order, as the name writes them.
    pub settings: Vec<(String, String)>,
}

/// A result a paper quotes that the experiment does not run (a spec's
/// `[[reference]]`, e.g. Table 1's Marchand et al.).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperOnlyRow {
    /// Name as the table shows it.
    pub name: String,
    /// The quoted song-level accuracy (0..1).
    pub accuracy: f64,
    /// Where the number comes from, for the footnote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}
