//! Stage one of spec parsing: structs that mirror the TOML file one to one
//! (serde, `deny_unknown_fields`, [`Spanned`] values for line:column errors).
//!
//! Nothing here is validated beyond TOML types: counts are signed so that a
//! negative value reaches [`super::expand`] and gets a proper message. Nothing
//! outside `spec/` sees these types.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::dataset::{ChunkPolicy, ShortSongPolicy};
use crate::features::{FeatureConfig, NormConfig};
use crate::model::{BankAxis, Init};
use crate::train::Schedule;

/// A whole spec file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpec {
    /// `[experiment]`: name, dataset, seed.
    pub experiment: Spanned<RawHeader>,
    /// `[features]`: [`FeatureConfig`] fields; omitted ones keep the paper's values.
    pub features: Option<Spanned<FeatureConfig>>,
    /// `[normalisation]`: [`NormConfig`] fields.
    pub normalisation: Option<NormConfig>,
    /// `[protocol]`: folds, chunks, training hyper-parameters.
    pub protocol: Option<Spanned<RawProtocol>>,
    /// `[banks.NAME]`: filter banks models refer to.
    #[serde(default)]
    pub banks: BTreeMap<String, Spanned<RawBank>>,
    /// `[[model]]`: the models, in order.
    #[serde(default, rename = "model")]
    pub models: Vec<Spanned<RawModel>>,
    /// `[profile.NAME]`: named overrides of `[protocol]` (and the dataset).
    #[serde(default)]
    pub profile: BTreeMap<String, Spanned<RawProtocol>>,
    /// `[sweep]`: `models = [...]` and `"path" = [values]` entries.
    pub sweep: Option<Spanned<BTreeMap<String, Spanned<RawSweepEntry>>>>,
    /// `[[reference]]`: results a paper quotes that the experiment does not run.
    #[serde(default, rename = "reference")]
    pub references: Vec<Spanned<RawReference>>,
    /// `[[claim]]`: statements the report's Findings test on the runs.
    #[serde(default, rename = "claim")]
    pub claims: Vec<Spanned<RawClaim>>,
}

/// `[[claim]]`: `says`, `model`, `than`, optional `hop`, `than_hop`,
/// `relation`, `margin`, `fewer_params`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClaim {
    /// The claim in words.
    pub says: Spanned<String>,
    /// A model name, or a list (the best of them).
    pub model: Spanned<OneOrMany>,
    /// A model name, or a list (the best of them).
    pub than: Spanned<OneOrMany>,
    /// The first side's hop (default: each hop both sides run at).
    pub hop: Option<Spanned<i64>>,
    /// The second side's hop (default: `hop`).
    pub than_hop: Option<Spanned<i64>>,
    /// `better` (default) or `at_least`.
    pub relation: Option<Spanned<String>>,
    /// For `at_least`: the allowed shortfall, percentage points.
    pub margin: Option<Spanned<f64>>,
    /// Whether the first side must also have fewer parameters.
    pub fewer_params: Option<bool>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    /// One name.
    One(String),
    /// Several names.
    Many(Vec<String>),
}

/// `[[reference]]`: `name`, `accuracy` (%), optional `source`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReference {
    /// Row label.
    pub name: Spanned<String>,
    /// Song-level accuracy in percent, as the paper prints it.
    pub accuracy: Spanned<f64>,
    /// Where the number comes from (citation, table), for the report's footnote.
    pub source: Option<String>,
}

/// `[experiment]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeader {
    /// Experiment name.
    pub name: Spanned<String>,
    /// Dataset string (`synthetic:full`, `ballroom:/path`, `folder:/path`).
    pub dataset: Spanned<String>,
    /// Seed of the fold shuffle (and default training seed).
    pub seed: Option<Spanned<i64>>,
    /// Report title (default: the experiment's name).
    pub title: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

/// `[protocol]` and every `[profile.NAME]` (a profile overrides these fields;
/// `dataset`, `description` and `models` are only valid in profiles).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProtocol {
    /// Profiles only: free text.
    pub description: Option<Spanned<String>>,
    /// Profiles only: replaces `[experiment].dataset`.
    pub dataset: Option<Spanned<String>>,
    /// Profiles only: keep only these models (by name, before sweeps).
    pub models: Option<Spanned<Vec<Spanned<String>>>>,
    /// Cross-validation folds.
    pub folds: Option<Spanned<i64>>,
    /// Output classes.
    pub classes: Option<Spanned<i64>>,
    /// Frames per input chunk.
    pub chunk_frames: Option<Spanned<i64>>,
    /// Chunk hops, frames.
    pub hops: Option<Spanned<Vec<i64>>>,
    /// Which chunk starts a song yields.
    pub chunk_policy: Option<ChunkPolicy>,
    /// What to do with songs shorter than a chunk.
    pub short_songs: Option<ShortSongPolicy>,
    /// Maximum epochs.
    pub epochs: Option<Spanned<i64>>,
    /// Minibatch size.
    pub batch: Option<Spanned<i64>>,
    /// SGD learning rate.
    pub lr: Option<Spanned<f64>>,
    /// Learning-rate schedule.
    pub schedule: Option<Spanned<Schedule>>,
    /// Training seed (default: `[experiment].seed`).
    pub seed: Option<Spanned<i64>>,
    /// Weight initialisation.
    pub init: Option<Init>,
    /// Dropout before the dense layers.
    pub dropout: Option<Spanned<f64>>,
}

/// `[banks.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBank {
    /// `time` (1×n), `freq` (m×1) or `2d` (m×n).
    pub axis: Spanned<BankAxis>,
    /// Time/freq banks: filter lengths, a list or `{ from, to, step }`.
    pub lengths: Option<Spanned<RawLengths>>,
    /// 2-D banks: `[[height, width], ...]`.
    pub shapes: Option<Spanned<Vec<Vec<i64>>>>,
    /// Filters of each length (each shape).
    pub filters_per_length: Spanned<i64>,
    /// Max-pool extents.
    pub pool: Option<Spanned<RawPool>>,
}

/// Filter lengths: `[6, 11, 16]` or `{ from = 6, to = 41, step = 5 }` (`to` inclusive).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawLengths {
    /// Explicit lengths.
    List(Vec<i64>),
    /// An arithmetic progression.
    Range(RawRange),
}

/// `{ from, to, step }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRange {
    /// First length.
    pub from: i64,
    /// Last length (inclusive; must be reached exactly).
    pub to: i64,
    /// Increment (default 1).
    pub step: Option<i64>,
}

/// `pool = { freq = 4, time = "all" }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPool {
    /// Along mel bands.
    pub freq: Option<RawExtent>,
    /// Along frames.
    pub time: Option<RawExtent>,
}

/// A pool extent as written: a window size or a word (`"all"`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawExtent {
    /// A window size.
    Size(i64),
    /// A word; only `all` is valid.
    Word(String),
}

/// `[[model]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    /// Unique name (Table 1's row label).
    pub name: Spanned<String>,
    /// Free text.
    pub description: Option<String>,
    /// `{ BANK = multiplier }`: banks used and their filters-per-length multipliers.
    pub banks: Spanned<BTreeMap<String, Spanned<i64>>>,
    /// Dense ReLU hidden layers.
    pub hidden: Option<Spanned<Vec<i64>>>,
    /// Overrides `[protocol].init`.
    pub init: Option<Init>,
    /// Overrides `[protocol].dropout`.
    pub dropout: Option<Spanned<f64>>,
    /// Overrides `[protocol].chunk_frames`.
    pub chunk_frames: Option<Spanned<i64>>,
    /// Overrides `[protocol].hops`.
    pub hops: Option<Spanned<Vec<i64>>>,
    /// Overrides `[protocol].epochs`.
    pub epochs: Option<Spanned<i64>>,
    /// Overrides `[protocol].batch`.
    pub batch: Option<Spanned<i64>>,
    /// Overrides `[protocol].lr`.
    pub lr: Option<Spanned<f64>>,
    /// The paper's numbers for this model.
    pub paper: Option<Spanned<RawPaper>>,
}

/// `paper = { params = 11608, accuracy = { 250 = 87.25, 80 = 89.68 } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPaper {
    /// Parameter count printed in the paper.
    pub params: Spanned<i64>,
    /// Mean song-level accuracy (%) per chunk hop.
    #[serde(default)]
    pub accuracy: BTreeMap<String, Spanned<f64>>,
}

/// One `[sweep]` entry as written: a list of values, or something else that
/// is reported as a mistake.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawSweepEntry {
    /// `"key" = [v1, v2, ...]` (or `models = [...]`).
    List(Vec<toml::Value>),
    /// A table: usually an unquoted dotted key (`banks.O.x = [...]`).
    Table,
    /// A single value where a list was expected.
    Scalar(toml::Value),
}

impl<'de> Deserialize<'de> for RawSweepEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawSweepEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawSweepEntry, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(RawSweepEntry::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSweepEntry, A::Error> {
                // Skipped, not read: toml cannot hand a dotted-key table to `toml::Value`.
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(RawSweepEntry::Table)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSweepEntry, E> {
                Ok(RawSweepEntry::Scalar(toml::Value::Integer(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawSweepEntry, E> {
                Ok(RawSweepEntry::Scalar(toml::Value::Float(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawSweepEntry, E> {
                Ok(RawSweepEntry::Scalar(toml::Value::Boolean(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSweepEntry, E> {
                Ok(RawSweepEntry::Scalar(toml::Value::String(v.to_owned())))
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

impl<'de> Deserialize<'de> for RawLengths {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LengthsVisitor;
        impl<'de> Visitor<'de> for LengthsVisitor {
            type Value = RawLengths;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of lengths like [6, 11, 16] or { from = 6, to = 41, step = 5 }")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawLengths, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(RawLengths::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawLengths, A::Error> {
                RawRange::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawLengths::Range)
            }
        }
        deserializer.deserialize_any(LengthsVisitor)
    }
}

impl<'de> Deserialize<'de> for RawExtent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExtentVisitor;
        impl Visitor<'_> for ExtentVisitor {
            type Value = RawExtent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a window size like 4 or "all""#)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawExtent, E> {
                Ok(RawExtent::Size(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawExtent, E> {
                Ok(RawExtent::Size(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawExtent, E> {
                Ok(RawExtent::Word(v.to_owned()))
            }
        }
        deserializer.deserialize_any(ExtentVisitor)
    }
}

impl RawExtent {
    /// Reads a sweep value (`4` or `"all"`).
    pub(crate) fn from_value(value: &toml::Value) -> Option<Self> {
        match value {
            toml::Value::Integer(n) => Some(RawExtent::Size(*n)),
            toml::Value::String(s) => Some(RawExtent::Word(s.clone())),
            _ => None,
        }
    }
}
