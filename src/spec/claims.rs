//! `[[claim]]`: what an experiment states about its models, validated into
//! [`ClaimSpec`]s that the report's Findings test on the runs (paired across
//! folds). Model names must be the spec's (a profile may leave a model out:
//! its claims then have no runs, and say so).
//!
//! The spec owns these types: the planner copies them into the report task's
//! parameters, and the report reads them from there.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{Reporter, SpecError};
use super::raw::{OneOrMany, RawClaim};

/// One side of a claim: a model, or the best of several, at a hop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimSide {
    /// Model names; several: the one with the highest mean accuracy.
    pub models: Vec<String>,
    /// The hop; `None`: each hop the models run at.
    pub hop: Option<usize>,
}

/// How the first side must compare with the second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Strictly more accurate (the lower bound above 0).
    Better,
    /// At least as accurate within `margin` percentage points.
    AtLeast {
        /// Allowed shortfall, percentage points.
        margin_pp: f64,
    },
}

/// A claim of the spec, in its words and as a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimSpec {
    /// The claim in words, as the report shows it.
    pub says: String,
    /// The side the claim favours.
    pub model: ClaimSide,
    /// The side it is compared with.
    pub than: ClaimSide,
    /// Better, or at least as good.
    pub relation: Relation,
    /// Whether the first side must also have fewer parameters.
    pub fewer_params: bool,
}

/// Validates the `[[claim]]` entries against `known` model names.
pub(crate) fn claims(
    r: &Reporter<'_>,
    raw: &[Spanned<RawClaim>],
    known: &[&str],
) -> Result<Vec<ClaimSpec>, SpecError> {
    raw.iter().map(|c| claim(r, c.get_ref(), known)).collect()
}

fn claim(r: &Reporter<'_>, c: &RawClaim, known: &[&str]) -> Result<ClaimSpec, SpecError> {
    if c.says.get_ref().trim().is_empty() {
        return Err(r.at(
            Some(c.says.span()),
            "a claim needs its statement in words".to_owned(),
            Some("e.g. says = \"P-net beats O-net\"".into()),
        ));
    }
    let relation = match c
        .relation
        .as_ref()
        .map(|s| (s.get_ref().as_str(), s.span()))
    {
        None | Some(("better", _)) => {
            if let Some(margin) = &c.margin {
                return Err(r.at(
                    Some(margin.span()),
                    "`margin` applies to relation = \"at_least\" only".to_owned(),
                    Some("add relation = \"at_least\" or remove the margin".into()),
                ));
            }
            Relation::Better
        }
        Some(("at_least", _)) => {
            let margin_pp = c.margin.as_ref().map_or(0.0, |m| *m.get_ref());
            if !(margin_pp.is_finite() && (0.0..=100.0).contains(&margin_pp)) {
                let span = c.margin.as_ref().map(Spanned::span);
                return Err(r.at(
                    span,
                    format!("claim margin {margin_pp} is not a number of percentage points"),
                    Some("write the allowed shortfall in points, e.g. margin = 1.0".into()),
                ));
            }
            Relation::AtLeast { margin_pp }
        }
        Some((other, span)) => {
            return Err(r.at(
                Some(span),
                format!("unknown claim relation `{other}`"),
                Some("use \"better\" (the default) or \"at_least\"".into()),
            ))
        }
    };
    Ok(ClaimSpec {
        says: c.says.get_ref().trim().to_owned(),
        model: side(r, &c.model, c.hop.as_ref(), known)?,
        than: side(r, &c.than, c.than_hop.as_ref().or(c.hop.as_ref()), known)?,
        relation,
        fewer_params: c.fewer_params.unwrap_or(false),
    })
}

fn side(
    r: &Reporter<'_>,
    models: &Spanned<OneOrMany>,
    hop: Option<&Spanned<i64>>,
    known: &[&str],
) -> Result<ClaimSide, SpecError> {
    let names = match models.get_ref() {
        OneOrMany::One(name) => vec![name.clone()],
        OneOrMany::Many(names) => names.clone(),
    };
    let span: Range<usize> = models.span();
    if names.is_empty() {
        return Err(r.at(
            Some(span),
            "a claim side names no model".to_owned(),
            Some("name a model, or a list whose best model is compared".into()),
        ));
    }
    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(r.at(
            Some(span),
            format!("claim names no model `{unknown}`"),
            Some(format!("models of this spec: {}", known.join(", "))),
        ));
    }
    let hop = match hop {
        None => None,
        Some(h) => match usize::try_from(*h.get_ref()) {
            Ok(v) if v > 0 => Some(v),
            _ => {
                return Err(r.at(
                    Some(h.span()),
                    format!("claim hop {} is not a chunk hop", h.get_ref()),
                    Some("hops are positive frame counts, e.g. hop = 80".into()),
                ))
            }
        },
    };
    Ok(ClaimSide { models: names, hop })
}
