//! Experiment specs: the TOML schema users write, validated with
//! `file:line:column` errors and expanded (banks, models, sweeps, profiles) into
//! an [`Experiment`], the only thing the rest of tempora sees.
//!
//! Must not know about execution.
//!
//! # Two stages (ripgrep's LowArgs → HiArgs)
//!
//! 1. [`raw`] mirrors the file one to one with serde (`deny_unknown_fields`,
//!    spans on every value that can be wrong), so a typo is reported at its
//!    line and column with the nearest valid key.
//! 2. [`expand`] applies the profile, validates every value, expands banks
//!    into filter groups, models into fully resolved [`ArchConfig`]s and sweeps
//!    into model variants. Nothing past `spec/` sees raw TOML.
//!
//! # The schema
//!
//! ```toml
//! [experiment]
//! name = "table1"
//! dataset = "synthetic:full"   # synthetic:tiny|small|full[@SEED], ballroom:/path, ballroom ($TEMPORA_BALLROOM), folder:/path
//! seed = 11                    # fold shuffle; default training seed
//! title = "Table 1"            # the report's title (default: the name)
//! description = "…"            # the report's opening paragraph
//!
//! [features]                   # FeatureConfig fields; omitted = the paper's
//! [normalisation]              # NormConfig: scope = "scalar"|"per_band", split = "all_songs"|"train_only"
//!
//! [protocol]                   # every field optional; defaults = the reference protocol
//! folds = 10
//! classes = 8
//! chunk_frames = 250
//! hops = [250, 80]
//! chunk_policy = "reference"   # or "all"
//! short_songs = "pad"          # or "drop"
//! epochs = 250
//! batch = 50
//! lr = 0.01
//! schedule = { patience = 20, stop_after = 40, factor = 0.5 }  # + val_patience = N (optional)
//! seed = 11
//! init = "he_uniform"          # or "glorot_uniform"
//! dropout = 0.5
//!
//! [banks.O]
//! axis = "time"                # time: 1×n (lengths = widths); freq: m×1 (lengths = heights); 2d: shapes
//! lengths = { from = 6, to = 41, step = 5 }   # `to` inclusive and reached exactly; or a list [6, 11]
//! # shapes = [[12, 8]]         # 2d banks: [height, width] pairs
//! filters_per_length = 5
//! pool = { freq = 4, time = "all" }           # window size or "all"; this is the default
//!
//! [[model]]
//! name = "O-net + P-net"
//! banks = { O = 1, P = 1 }     # bank → multiplier of its filters_per_length (banks in name order)
//! # hidden = [200]; init; dropout; chunk_frames; hops; epochs; batch; lr: per-model overrides
//! paper = { params = 11608, accuracy = { 250 = 87.25, 80 = 89.68 } }
//!
//! [profile.quick]              # any [protocol] field, plus dataset, description, models = [subset]
//! dataset = "synthetic:small"
//! folds = 3
//!
//! [sweep]                      # cartesian product; every selected model is replaced by its variants
//! models = ["O-net"]           # default: every model
//! "banks.O.filters_per_length" = [1, 2, 5, 10]
//!
//! [[reference]]                # a quoted result the experiment does not run (a report row)
//! name = "Marchand et al."
//! accuracy = 96.0              # percent, as quoted
//! source = "…"                 # optional: where the number comes from
//!
//! [[claim]]                    # tested in the report's Findings (paired across folds)
//! says = "O-net + P-net beats the better of O-net and P-net"
//! model = "O-net + P-net"      # a name, or a list: the best of them (by mean accuracy)
//! than = ["O-net", "P-net"]
//! # hop = 80; than_hop = 250   # default: each hop both sides run at
//! # relation = "at_least"; margin = 1.0; fewer_params = true
//! ```
//!
//! Precedence of a model's settings: the `[[model]]` entry, then the active
//! profile, then `[protocol]`, then the paper's defaults. `classes` is a
//! protocol field (default 8, Ballroom's classes) rather than read from the
//! dataset so that a spec expands without touching the data; the planner checks
//! it against the loaded dataset.
//!
//! Sweep keys: `banks.B.filters_per_length`, `banks.B.lengths`, `banks.B.pool.freq`,
//! `banks.B.pool.time`, `banks.B` (the model's multiplier of B), where `B` may be
//! `*` (every bank of the model); and the model fields `hidden`, `init`,
//! `dropout`, `chunk_frames`, `hops`, `epochs`, `batch`, `lr`. Variants are named
//! `BASE [K=V, ...]` with keys in sorted order and `banks.` left out, e.g.
//! `O-net [O.filters_per_length=2]`; they carry no paper numbers.

mod banks;
mod canonical;
mod claims;
mod dataset_text;
mod error;
mod expand;
mod models;
mod profile;
mod raw;
mod references;
mod sweep;
mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::dataset::{ChunkPolicy, DatasetSource, ShortSongPolicy};
use crate::features::{FeatureConfig, NormConfig};
use crate::model::ArchConfig;
use crate::train::TrainConfig;

pub use canonical::{canonical_json, canonical_text};
pub use claims::{ClaimSide, ClaimSpec, Relation};
pub use dataset_text::BALLROOM_HINT;
pub use error::{Diagnostic, SpecError};
pub use references::Reference;
pub use values::{
    DEFAULT_CHUNK_FRAMES, DEFAULT_CLASSES, DEFAULT_DROPOUT, DEFAULT_FOLDS, DEFAULT_HOPS,
    DEFAULT_POOL_FREQ,
};

/// A validated, expanded experiment: everything needed to plan and run it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// Experiment name (`[experiment].name`).
    pub name: String,
    /// Report title (`[experiment].title`, else the name).
    pub title: String,
    /// Free text (`[experiment].description`).
    pub description: Option<String>,
    /// The active profile, if one was selected.
    pub profile: Option<String>,
    /// The active profile's description.
    pub profile_description: Option<String>,
    /// Where the spec came from (path or name); not part of the hash.
    #[serde(skip)]
    pub origin: String,
    /// The dataset (after the profile and any [`Experiment::with_dataset`] override).
    /// In the hash by identity only (kind and generator parameters, never a path).
    #[serde(serialize_with = "serialize_dataset")]
    pub dataset: DatasetSource,
    /// Seed of the fold shuffle (reference: 11).
    pub seed: u64,
    /// Feature extraction settings.
    pub features: FeatureConfig,
    /// Normalisation statistics settings.
    pub normalisation: NormConfig,
    /// Settings shared by every model: folds, classes, chunking policies.
    pub protocol: Protocol,
    /// The models, in spec order, sweeps expanded in place. Names are unique.
    pub models: Vec<ModelSpec>,
    /// `[[reference]]`: quoted results the experiment does not run, in spec order.
    pub references: Vec<Reference>,
    /// `[[claim]]`: statements the report's Findings test, in spec order.
    pub claims: Vec<ClaimSpec>,
}

/// Settings shared by every model of an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protocol {
    /// Cross-validation folds (≥ 3: validation takes another 1/folds, so 2 leave no
    /// training songs; reference: 10, docs/reference-protocol.md §Folds).
    pub folds: usize,
    /// Output classes (reference: 8; checked against the dataset by the planner).
    pub classes: usize,
    /// Which chunk starts a song yields.
    pub chunk_policy: ChunkPolicy,
    /// What happens to songs shorter than a model's chunk.
    pub short_songs: ShortSongPolicy,
}

/// One model, fully resolved: everything needed to build, train and report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    /// Unique name (Table 1's row label; sweep variants: `BASE [K=V, ...]`).
    pub name: String,
    /// Free text from the spec.
    pub description: Option<String>,
    /// The network: bands = `features.mel_bands`, frames = `chunk_frames`, banks
    /// expanded into filter groups (counts = filters per length × multiplier),
    /// classes = `protocol.classes`.
    pub arch: ArchConfig,
    /// Frames per input chunk (= `arch.frames`).
    pub chunk_frames: usize,
    /// Chunk hops to run, in spec order, each ≥ 1 and distinct.
    pub hops: Vec<usize>,
    /// Training hyper-parameters (protocol, profile and model overrides applied).
    pub train: TrainConfig,
    /// The paper's numbers, when the spec records them.
    pub paper: Option<PaperRef>,
    /// For sweep variants: the base model and the settings applied to it.
    pub sweep: Option<SweepPoint>,
}

/// A model's numbers as printed in the paper (Table 1, CBMI 2016 baselines).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperRef {
    /// Trainable parameters; expansion checks that `arch.param_count()` equals it.
    pub params: usize,
    /// Mean song-level accuracy in percent, by chunk hop (frames).
    pub accuracy: BTreeMap<usize, f64>,
}

/// Where a sweep variant comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepPoint {
    /// Name of the model the variant was made from.
    pub base: String,
    /// `(key, value)` settings applied, in sorted key order, as written in the name.
    pub settings: Vec<(String, String)>,
}

/// blake3 of an [`Experiment`]'s canonical serialisation (see [`canonical_json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpecHash(pub blake3::Hash);

impl fmt::Display for SpecHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.to_hex().as_str())
    }
}

impl Experiment {
    /// Canonical hash of the expanded experiment: comments, whitespace, key
    /// order, spelling of defaults and the spec's location do not change it;
    /// any value that changes what would be computed does.
    ///
    /// Fails only if the experiment held a value JSON cannot represent,
    /// which no spec can express.
    pub fn hash(&self) -> Result<SpecHash, serde_json::Error> {
        Ok(SpecHash(blake3::hash(canonical_json(self)?.as_bytes())))
    }

    /// Replaces the dataset (the CLI's `--data` / `TEMPORA_BALLROOM` override).
    pub fn with_dataset(mut self, dataset: DatasetSource) -> Self {
        self.dataset = dataset;
        self
    }

    /// The model called `name`, if any.
    pub fn model(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.name == name)
    }
}

fn serialize_dataset<S: serde::Serializer>(
    dataset: &DatasetSource,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&dataset_text::canonical_identity(dataset))
}

/// Loads, validates and expands the spec at `path` with the named profile.
/// Relative dataset paths are resolved against the spec's folder.
pub fn load(path: &Path, profile: Option<&str>) -> Result<Experiment, SpecError> {
    let origin = path.display().to_string();
    if let Ok(meta) = std::fs::metadata(path) {
        // Before reading: the file could be anything, of any size.
        expand::check_spec_size(&error::Reporter::new(&origin, ""), meta.len())?;
    }
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_owned(),
        source,
    })?;
    expand::expand(&text, &origin, path.parent(), profile)
}

/// Validates and expands spec `text`; errors name `origin` (e.g. a file name).
/// Relative dataset paths are resolved against the working directory.
pub fn parse(text: &str, origin: &str, profile: Option<&str>) -> Result<Experiment, SpecError> {
    expand::expand(text, origin, None, profile)
}
