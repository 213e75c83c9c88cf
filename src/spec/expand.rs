//! Stage two of spec parsing: raw TOML structs → a validated [`Experiment`].
//! Applies the profile, validates every value with its location, expands
//! banks and models, applies the sweep, and checks names are unique.
//!

use std::collections::BTreeSet;
use std::path::Path;

use toml::Spanned;

use super::banks::expand_banks;
use super::dataset_text::parse_dataset;
use super::error::{Reporter, SpecError};
use super::models::{draft, resolve, Defaults, ModelDraft};
use super::raw::{RawProtocol, RawSpec};
use super::values::{count, dropout, hops, learning_rate};
use super::values::{
    DEFAULT_CHUNK_FRAMES, DEFAULT_CLASSES, DEFAULT_DROPOUT, DEFAULT_FOLDS, DEFAULT_HOPS,
};
use super::{claims, profile, references, sweep, Experiment, Protocol};
use crate::features::FeatureConfig;
use crate::train::TrainConfig;

/// Parses, validates and expands a spec.
/// Largest spec accepted (1 MiB): the biggest real spec is a few kB, and the
/// TOML parser builds the whole document in memory.
pub(crate) const MAX_SPEC_BYTES: u64 = 1 << 20;

/// Refuses a spec of more than [`MAX_SPEC_BYTES`].
pub(crate) fn check_spec_size(r: &Reporter<'_>, bytes: u64) -> Result<(), SpecError> {
    if bytes <= MAX_SPEC_BYTES {
        return Ok(());
    }
    Err(r.at(
        None,
        format!("the spec is {bytes} bytes; specs of at most {MAX_SPEC_BYTES} bytes are read"),
        Some("a spec describes models and sweeps, not data: use [sweep] instead of listing variants, or split it".into()),
    ))
}

pub(crate) fn expand(
    text: &str,
    origin: &str,
    base: Option<&Path>,
    profile_name: Option<&str>,
) -> Result<Experiment, SpecError> {
    let r = Reporter::new(origin, text);
    check_spec_size(&r, text.len() as u64)?;
    let raw: RawSpec = toml::from_str(text).map_err(|e| r.toml_error(&e))?;
    let settings = profile::effective(&r, &raw, profile_name)?;
    let header = raw.experiment.get_ref();
    let dataset_text = settings.dataset.as_ref().unwrap_or(&header.dataset);
    let dataset = parse_dataset(dataset_text.get_ref(), base)
        .map_err(|e| r.at(Some(dataset_text.span()), e.message, Some(e.hint)))?;
    let seed = match &header.seed {
        Some(s) => seed_value(&r, s)?,
        None => TrainConfig::default().seed,
    };
    let features = features(&r, raw.features.as_ref())?;
    let protocol = protocol(&r, &settings)?;
    let defaults = defaults(&r, &settings, seed)?;
    let banks = expand_banks(&r, &raw.banks)?;
    if raw.models.is_empty() {
        return Err(r.at(
            None,
            "the spec defines no models",
            Some("add at least one [[model]] with a name and banks, e.g. banks = { O = 1 }".into()),
        ));
    }
    let mut drafts = raw
        .models
        .iter()
        .map(|m| draft(&r, m, &banks, &defaults))
        .collect::<Result<Vec<_>, _>>()?;
    unique_names(&r, &drafts, "model")?;
    if let Some(selection) = &settings.models {
        drafts = profile::select(&r, selection, drafts)?;
    }
    let drafts = sweep::apply(&r, raw.sweep.as_ref(), drafts)?;
    unique_names(&r, &drafts, "sweep variant")?;
    let models = drafts
        .into_iter()
        .map(|d| resolve(&r, d, features.mel_bands, protocol.classes))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    let references = references::references(&r, &raw.references, &names)?;
    let mut known: Vec<&str> = raw
        .models
        .iter()
        .map(|m| m.get_ref().name.get_ref().as_str())
        .collect();
    for name in &names {
        if !known.contains(name) {
            known.push(name);
        }
    }
    let claims = claims::claims(&r, &raw.claims, &known)?;
    Ok(Experiment {
        name: header.name.get_ref().clone(),
        title: header
            .title
            .clone()
            .unwrap_or_else(|| header.name.get_ref().clone()),
        description: header.description.clone(),
        profile: profile_name.map(str::to_owned),
        profile_description: profile_name
            .and(settings.description.as_ref())
            .map(|d| d.get_ref().clone()),
        origin: origin.to_owned(),
        dataset,
        seed,
        features,
        normalisation: raw.normalisation.unwrap_or_default(),
        protocol,
        models,
        references,
        claims,
    })
}

fn features(
    r: &Reporter<'_>,
    raw: Option<&Spanned<FeatureConfig>>,
) -> Result<FeatureConfig, SpecError> {
    let Some(raw) = raw else {
        return Ok(FeatureConfig::default());
    };
    let f = raw.get_ref().clone();
    let positive = [
        ("sample_rate", f.sample_rate as usize),
        ("frame_size", f.frame_size),
        ("hop_size", f.hop_size),
        ("mel_bands", f.mel_bands),
    ];
    for (field, value) in positive {
        if value == 0 {
            return Err(r.at(
                Some(raw.span()),
                format!("[features].{field} must be at least 1"),
                Some("leave the field out to use the paper's value".into()),
            ));
        }
    }
    let nyquist = f64::from(f.sample_rate) / 2.0;
    if !(0.0 <= f.f_min && f.f_min < f.f_max && f.f_max <= nyquist) {
        return Err(r.at(
            Some(raw.span()),
            format!("[features] mel range {} Hz to {} Hz is not within 0 Hz to {nyquist} Hz with f_min < f_max", f.f_min, f.f_max),
            Some("the paper uses f_min = 0.0 and f_max = 22050.0 at 44,100 Hz".into()),
        ));
    }
    if f.log_compression.is_nan() || f.log_compression <= 0.0 {
        return Err(r.at(
            Some(raw.span()),
            "[features].log_compression must be positive",
            Some("the paper uses log10(1 + 10000·x): log_compression = 10000.0".into()),
        ));
    }
    Ok(f)
}

fn protocol(r: &Reporter<'_>, s: &RawProtocol) -> Result<Protocol, SpecError> {
    let folds = match &s.folds {
        Some(f) if *f.get_ref() < 3 => {
            return Err(r.at(
                Some(f.span()),
                format!("folds must be at least 3, found {}", f.get_ref()),
                Some("each fold tests on 1/folds of the songs and validates on another 1/folds (the reference protocol's split), so fewer than 3 folds leave no training songs; the reference protocol uses folds = 10".into()),
            ))
        }
        Some(f) => count(r, "folds", *f.get_ref(), f.span(), 3)?,
        None => DEFAULT_FOLDS,
    };
    let classes = match &s.classes {
        Some(c) => count(r, "classes", *c.get_ref(), c.span(), 2)?,
        None => DEFAULT_CLASSES,
    };
    Ok(Protocol {
        folds,
        classes,
        chunk_policy: s.chunk_policy.unwrap_or_default(),
        short_songs: s.short_songs.unwrap_or_default(),
    })
}

fn defaults(r: &Reporter<'_>, s: &RawProtocol, seed: u64) -> Result<Defaults, SpecError> {
    let mut train = TrainConfig {
        seed,
        ..TrainConfig::default()
    };
    if let Some(e) = &s.epochs {
        train.epochs = count(r, "epochs", *e.get_ref(), e.span(), 1)?;
    }
    if let Some(b) = &s.batch {
        train.batch_size = count(r, "batch", *b.get_ref(), b.span(), 1)?;
    }
    if let Some(lr) = &s.lr {
        train.learning_rate = learning_rate(r, *lr.get_ref(), lr.span())?;
    }
    if let Some(sched) = &s.schedule {
        let v = *sched.get_ref();
        if v.patience == 0
            || v.stop_after == 0
            || v.val_patience == Some(0)
            || !(v.factor > 0.0 && v.factor <= 1.0)
        {
            let val = v
                .val_patience
                .map_or(String::new(), |p| format!(", val_patience = {p}"));
            return Err(r.at(
                Some(sched.span()),
                format!("schedule {{ patience = {}, stop_after = {}, factor = {}{val} }} is invalid", v.patience, v.stop_after, v.factor),
                Some("patience, stop_after and val_patience count epochs (≥ 1); factor multiplies the learning rate (0 < factor ≤ 1; reference: 0.5)".into()),
            ));
        }
        train.schedule = v;
    }
    if let Some(s) = &s.seed {
        train.seed = seed_value(r, s)?;
    }
    Ok(Defaults {
        chunk_frames: match &s.chunk_frames {
            Some(c) => count(r, "chunk_frames", *c.get_ref(), c.span(), 1)?,
            None => DEFAULT_CHUNK_FRAMES,
        },
        hops: match &s.hops {
            Some(h) => hops(r, h.get_ref(), h.span())?,
            None => DEFAULT_HOPS.to_vec(),
        },
        init: s.init.unwrap_or_default(),
        dropout: match &s.dropout {
            Some(d) => dropout(r, *d.get_ref(), d.span())?,
            None => DEFAULT_DROPOUT,
        },
        train,
    })
}

fn seed_value(r: &Reporter<'_>, s: &Spanned<i64>) -> Result<u64, SpecError> {
    u64::try_from(*s.get_ref()).map_err(|_| {
        r.at(
            Some(s.span()),
            format!("seed must be a non-negative integer, found {}", s.get_ref()),
            Some("the reference implementation uses seed = 11".into()),
        )
    })
}

fn unique_names(r: &Reporter<'_>, drafts: &[ModelDraft], what: &str) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    for d in drafts {
        if !seen.insert(d.name.as_str()) {
            return Err(r.at(
                Some(d.name_span.clone()),
                format!("{what} name `{}` is used twice", d.name),
                Some(
                    "model names label Table 1's rows and cache entries: make each one unique"
                        .into(),
                ),
            ));
        }
    }
    Ok(())
}
