//! `[[model]]` → [`ModelDraft`] (settings merged, banks looked up; sweeps may
//! still change it) → [`ModelSpec`] (architecture resolved against the input
//! size and checked against the paper's parameter count).
//!
//! Must not know about profiles or sweeps: it gets the merged defaults.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::banks::BankDef;
use super::error::{choice_hint, Reporter, SpecError};
use super::raw::RawModel;
use super::values::{count, dropout, hops, learning_rate};
use super::{ModelSpec, PaperRef, SweepPoint};
use crate::model::{ArchConfig, BankConfig, FilterGroup, Init, PoolExtent};
use crate::train::TrainConfig;

/// Per-model settings before `[[model]]` overrides: protocol + profile + paper defaults.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    /// Frames per chunk.
    pub chunk_frames: usize,
    /// Chunk hops.
    pub hops: Vec<usize>,
    /// Weight initialisation.
    pub init: Init,
    /// Dropout probability.
    pub dropout: f64,
    /// Training hyper-parameters.
    pub train: TrainConfig,
}

/// One bank as a model uses it: its own copy of the definition (sweeps edit it).
#[derive(Debug, Clone)]
pub(crate) struct BankUse {
    /// The bank definition.
    pub def: BankDef,
    /// Multiplier of `def.filters_per_length`.
    pub multiplier: usize,
}

/// A model with every setting merged, not yet resolved into an architecture.
#[derive(Debug, Clone)]
pub(crate) struct ModelDraft {
    /// Name.
    pub name: String,
    /// Where the name is written.
    pub name_span: Range<usize>,
    /// Free text.
    pub description: Option<String>,
    /// Banks, in bank-name order.
    pub banks: Vec<BankUse>,
    /// Dense hidden layer widths.
    pub hidden: Vec<usize>,
    /// Initialisation.
    pub init: Init,
    /// Dropout.
    pub dropout: f64,
    /// Frames per chunk.
    pub chunk_frames: usize,
    /// Chunk hops.
    pub hops: Vec<usize>,
    /// Training hyper-parameters.
    pub train: TrainConfig,
    /// Paper numbers and where they are written.
    pub paper: Option<(PaperRef, Range<usize>)>,
    /// Sweep origin.
    pub sweep: Option<SweepPoint>,
}

/// Merges one `[[model]]` entry over `defaults`.
pub(crate) fn draft(
    r: &Reporter<'_>,
    raw: &Spanned<RawModel>,
    banks: &BTreeMap<String, BankDef>,
    defaults: &Defaults,
) -> Result<ModelDraft, SpecError> {
    let m = raw.get_ref();
    let name = m.name.get_ref().trim().to_owned();
    if name.is_empty() {
        return Err(r.at(
            Some(m.name.span()),
            "model name is empty",
            Some("give every [[model]] a unique, non-empty name, e.g. name = \"O-net\"".into()),
        ));
    }
    let mut train = defaults.train.clone();
    if let Some(e) = &m.epochs {
        train.epochs = count(
            r,
            &format!("epochs of model `{name}`"),
            *e.get_ref(),
            e.span(),
            1,
        )?;
    }
    if let Some(b) = &m.batch {
        train.batch_size = count(
            r,
            &format!("batch of model `{name}`"),
            *b.get_ref(),
            b.span(),
            1,
        )?;
    }
    if let Some(lr) = &m.lr {
        train.learning_rate = learning_rate(r, *lr.get_ref(), lr.span())?;
    }
    let hidden = match &m.hidden {
        Some(h) => h
            .get_ref()
            .iter()
            .map(|&w| {
                count(
                    r,
                    &format!("every hidden width of model `{name}`"),
                    w,
                    h.span(),
                    1,
                )
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(ModelDraft {
        banks: bank_uses(r, &name, &m.banks, banks)?,
        hidden,
        init: m.init.unwrap_or(defaults.init),
        dropout: match &m.dropout {
            Some(d) => dropout(r, *d.get_ref(), d.span())?,
            None => defaults.dropout,
        },
        chunk_frames: match &m.chunk_frames {
            Some(c) => count(
                r,
                &format!("chunk_frames of model `{name}`"),
                *c.get_ref(),
                c.span(),
                1,
            )?,
            None => defaults.chunk_frames,
        },
        hops: match &m.hops {
            Some(h) => hops(r, h.get_ref(), h.span())?,
            None => defaults.hops.clone(),
        },
        paper: m.paper.as_ref().map(|p| paper(r, p)).transpose()?,
        train,
        name,
        name_span: m.name.span(),
        description: m.description.clone(),
        sweep: None,
    })
}

fn bank_uses(
    r: &Reporter<'_>,
    model: &str,
    uses: &Spanned<BTreeMap<String, Spanned<i64>>>,
    banks: &BTreeMap<String, BankDef>,
) -> Result<Vec<BankUse>, SpecError> {
    if uses.get_ref().is_empty() {
        return Err(r.at(
            Some(uses.span()),
            format!("model `{model}` uses no banks"),
            Some("write e.g. banks = { O = 1 } with banks defined as [banks.O]".into()),
        ));
    }
    uses.get_ref()
        .iter()
        .map(|(bank, multiplier)| {
            let Some(def) = banks.get(bank) else {
                let names: Vec<&str> = banks.keys().map(String::as_str).collect();
                return Err(r.at(
                    Some(multiplier.span()),
                    format!("model `{model}` uses bank `{bank}`, which is not defined"),
                    Some(format!(
                        "define it as [banks.{bank}] or fix the name; {}",
                        choice_hint(bank, "banks", &names)
                    )),
                ));
            };
            let what = format!("multiplier of bank `{bank}` in model `{model}`");
            Ok(BankUse {
                def: def.clone(),
                multiplier: count(r, &what, *multiplier.get_ref(), multiplier.span(), 1)?,
            })
        })
        .collect()
}

fn paper(
    r: &Reporter<'_>,
    raw: &Spanned<super::raw::RawPaper>,
) -> Result<(PaperRef, Range<usize>), SpecError> {
    let p = raw.get_ref();
    let params = count(r, "paper.params", *p.params.get_ref(), p.params.span(), 1)?;
    let mut accuracy = BTreeMap::new();
    for (hop, value) in &p.accuracy {
        let Ok(hop_frames) = hop.parse::<usize>() else {
            return Err(r.at(
                Some(value.span()),
                format!("paper accuracy key `{hop}` is not a chunk hop"),
                Some(
                    "key accuracies by hop in frames, e.g. accuracy = { 250 = 87.25, 80 = 89.68 }"
                        .into(),
                ),
            ));
        };
        let percent = *value.get_ref();
        if !(0.0..=100.0).contains(&percent) {
            return Err(r.at(
                Some(value.span()),
                format!("paper accuracy {percent} for hop {hop} is not a percentage"),
                Some("write accuracies in percent, between 0 and 100 (e.g. 87.25)".into()),
            ));
        }
        accuracy.insert(hop_frames, percent);
    }
    Ok((PaperRef { params, accuracy }, p.params.span()))
}

/// Resolves a draft into a [`ModelSpec`]: filter groups, size checks against
/// the input, pooled outputs, paper parameter count.
pub(crate) fn resolve(
    r: &Reporter<'_>,
    d: ModelDraft,
    bands: usize,
    classes: usize,
) -> Result<ModelSpec, SpecError> {
    let frames = d.chunk_frames;
    let banks = d
        .banks
        .iter()
        .map(|u| bank_config(r, &d, u, bands, frames))
        .collect::<Result<Vec<_>, _>>()?;
    let arch = ArchConfig {
        bands,
        frames,
        banks,
        hidden: d.hidden,
        dropout: d.dropout,
        classes,
        init: d.init,
    };
    let params = arch.param_count();
    if let Some((paper, span)) = &d.paper {
        if paper.params != params {
            return Err(r.at(
                Some(span.clone()),
                format!("model `{}` has {params} parameters, but paper.params says {}", d.name, paper.params),
                Some("the architecture differs from the paper's: check the banks' lengths, filters_per_length, pool, hidden and chunk_frames".into()),
            ));
        }
    }
    Ok(ModelSpec {
        name: d.name,
        description: d.description,
        arch,
        chunk_frames: frames,
        hops: d.hops,
        train: d.train,
        paper: d.paper.map(|(p, _)| p),
        sweep: d.sweep,
    })
}

fn bank_config(
    r: &Reporter<'_>,
    d: &ModelDraft,
    u: &BankUse,
    bands: usize,
    frames: usize,
) -> Result<BankConfig, SpecError> {
    let def = &u.def;
    let longest = def.sizes.iter().map(|s| s.1).max().unwrap_or(0);
    if longest > frames {
        return Err(r.at(
            Some(def.sizes_span.clone()),
            format!("bank `{}` of model `{}` has filters up to {longest} frames long, longer than the model's {frames}-frame chunks", def.name, d.name),
            Some(format!("use lengths of at most {frames} frames in bank `{}`, or raise the model's chunk_frames (now {frames}) to at least {longest}", def.name)),
        ));
    }
    let tallest = def.sizes.iter().map(|s| s.0).max().unwrap_or(0);
    if tallest > bands {
        return Err(r.at(
            Some(def.sizes_span.clone()),
            format!("bank `{}` of model `{}` has filters up to {tallest} bands high, taller than the {bands} mel bands of the input", def.name, d.name),
            Some(format!("use heights of at most {bands} in bank `{}`, or raise [features].mel_bands", def.name)),
        ));
    }
    let bank = BankConfig {
        name: def.name.clone(),
        axis: def.axis,
        groups: def
            .sizes
            .iter()
            .map(|&(height, width)| FilterGroup {
                height,
                width,
                count: def.filters_per_length * u.multiplier,
            })
            .collect(),
        pool_freq: def.pool_freq,
        pool_time: def.pool_time,
    };
    for g in &bank.groups {
        let (b, t) = bank.pooled_shape(g, bands, frames);
        if b == 0 || t == 0 {
            return Err(r.at(
                Some(def.pool_span.clone()),
                format!(
                    "bank `{}` of model `{}`: pooling {} × {} leaves no output for {}×{} filters on a {bands}×{frames} input",
                    def.name, d.name, show(bank.pool_freq), show(bank.pool_time), g.height, g.width
                ),
                Some("use smaller pool windows (or \"all\") for this bank".into()),
            ));
        }
    }
    Ok(bank)
}

/// A pool extent as the spec writes it.
fn show(extent: PoolExtent) -> String {
    match extent {
        PoolExtent::All => "all".into(),
        PoolExtent::Factor(n) => n.to_string(),
    }
}
