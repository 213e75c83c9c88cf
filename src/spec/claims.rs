//! `[[claim]]`: what an experiment states about its models, validated into
//! [`Claim`]s that the report's Findings test on the runs
//! ([`crate::report::findings`]). Model names must be the spec's (a profile
//! may leave a model out: its claims then have no runs, and say so).

use std::ops::Range;

use toml::Spanned;

use super::error::{Reporter, SpecError};
use super::raw::{OneOrMany, RawClaim};
use crate::report::findings::{Claim, ClaimSide, Relation};

/// Validates the `[[claim]]` entries against `known` model names.
pub(crate) fn claims(
    r: &Reporter<'_>,
    raw: &[Spanned<RawClaim>],
    known: &[&str],
) -> Result<Vec<Claim>, SpecError> {
    raw.iter().map(|c| claim(r, c.get_ref(), known)).collect()
}

fn claim(r: &Reporter<'_>, c: &RawClaim, known: &[&str]) -> Result<Claim, SpecError> {
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
    Ok(Claim {
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
