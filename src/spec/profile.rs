//! Profiles: `[profile.NAME]` tables that override `[protocol]` fields (and
//! the dataset, description and model selection) when selected with
//! `--profile NAME`.
//!
//! Owns the merge rule: a field set in the profile replaces the same field of
//! `[protocol]` as a whole (a profile's `schedule` replaces the whole
//! schedule; its omitted schedule fields take the paper's values). Must not
//! know how fields are validated.

use toml::Spanned;

use super::error::{choice_hint, Reporter, SpecError};
use super::models::ModelDraft;
use super::raw::{RawProtocol, RawSpec};

/// `[protocol]` with the selected profile laid over it.
pub(crate) fn effective(
    r: &Reporter<'_>,
    raw: &RawSpec,
    name: Option<&str>,
) -> Result<RawProtocol, SpecError> {
    let base = raw
        .protocol
        .as_ref()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default();
    profile_only_fields(r, &base)?;
    let Some(name) = name else {
        return Ok(base);
    };
    let Some(profile) = raw.profile.get(name) else {
        let names: Vec<&str> = raw.profile.keys().map(String::as_str).collect();
        return Err(r.at(
            None,
            format!("unknown profile `{name}`"),
            Some(choice_hint(name, "profiles", &names)),
        ));
    };
    Ok(overlay(base, profile.get_ref().clone()))
}

/// `dataset`, `description` and `models` belong to `[experiment]` / profiles.
fn profile_only_fields(r: &Reporter<'_>, base: &RawProtocol) -> Result<(), SpecError> {
    let misplaced = [
        base.dataset.as_ref().map(|d| ("dataset", d.span())),
        base.description.as_ref().map(|d| ("description", d.span())),
        base.models.as_ref().map(|m| ("models", m.span())),
    ];
    match misplaced.into_iter().flatten().next() {
        Some((field, span)) => Err(r.at(
            Some(span),
            format!("`{field}` is not a [protocol] setting"),
            Some(format!(
                "set `{field}` in [experiment] (or in a [profile.NAME] to override it there)"
            )),
        )),
        None => Ok(()),
    }
}

/// Every field of `over` that is set replaces the one of `base`.
fn overlay(base: RawProtocol, over: RawProtocol) -> RawProtocol {
    RawProtocol {
        description: over.description.or(base.description),
        dataset: over.dataset.or(base.dataset),
        models: over.models.or(base.models),
        folds: over.folds.or(base.folds),
        classes: over.classes.or(base.classes),
        chunk_frames: over.chunk_frames.or(base.chunk_frames),
        hops: over.hops.or(base.hops),
        chunk_policy: over.chunk_policy.or(base.chunk_policy),
        short_songs: over.short_songs.or(base.short_songs),
        epochs: over.epochs.or(base.epochs),
        batch: over.batch.or(base.batch),
        lr: over.lr.or(base.lr),
        schedule: over.schedule.or(base.schedule),
        seed: over.seed.or(base.seed),
        init: over.init.or(base.init),
        dropout: over.dropout.or(base.dropout),
    }
}

/// Keeps the models a profile's `models = [...]` names, in spec order.
pub(crate) fn select(
    r: &Reporter<'_>,
    selection: &Spanned<Vec<Spanned<String>>>,
    drafts: Vec<ModelDraft>,
) -> Result<Vec<ModelDraft>, SpecError> {
    let names: Vec<&str> = drafts.iter().map(|d| d.name.as_str()).collect();
    for wanted in selection.get_ref() {
        if !names.contains(&wanted.get_ref().as_str()) {
            return Err(r.at(
                Some(wanted.span()),
                format!(
                    "the profile selects model `{}`, which the spec does not define",
                    wanted.get_ref()
                ),
                Some(choice_hint(wanted.get_ref(), "models", &names)),
            ));
        }
    }
    if selection.get_ref().is_empty() {
        return Err(r.at(
            Some(selection.span()),
            "the profile selects no models",
            Some("list model names, or leave `models` out to keep them all".into()),
        ));
    }
    Ok(drafts
        .into_iter()
        .filter(|d| selection.get_ref().iter().any(|w| w.get_ref() == &d.name))
        .collect())
}
