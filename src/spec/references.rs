//! `[[reference]]`: results a paper quotes beside the experiment's models that
//! the experiment does not run (Table 1's Marchand et al.), validated into
//! [`Reference`]s. Reports show them as "not reproduced" rows; nothing runs
//! them, and they are never compared as if they were ours.

use std::collections::BTreeSet;

use serde::Serialize;
use toml::Spanned;

use super::error::{Reporter, SpecError};
use super::raw::RawReference;

/// A quoted result the experiment does not reproduce.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// Row label (unique among models and references).
    pub name: String,
    /// Song-level accuracy in percent, as quoted.
    pub accuracy: f64,
    /// Where the number comes from, for the report's footnote.
    pub source: Option<String>,
}

/// Validates the `[[reference]]` entries: a percentage each, names unique and
/// distinct from every model's.
pub(crate) fn references(
    r: &Reporter<'_>,
    raw: &[Spanned<RawReference>],
    model_names: &[&str],
) -> Result<Vec<Reference>, SpecError> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let e = entry.get_ref();
        let name = e.name.get_ref();
        if name.trim().is_empty() {
            return Err(r.at(
                Some(e.name.span()),
                "a [[reference]] needs a name".to_owned(),
                Some(
                    "name the row as the report should show it, e.g. name = \"Marchand et al.\""
                        .into(),
                ),
            ));
        }
        let clash = if model_names.contains(&name.as_str()) {
            Some("is also a model's name")
        } else if !seen.insert(name) {
            Some("is used twice")
        } else {
            None
        };
        if let Some(clash) = clash {
            return Err(r.at(
                Some(e.name.span()),
                format!("reference name `{name}` {clash}"),
                Some(
                    "references and models share the report's rows: give each a unique name".into(),
                ),
            ));
        }
        let percent = *e.accuracy.get_ref();
        if !(percent.is_finite() && (0.0..=100.0).contains(&percent)) {
            return Err(r.at(
                Some(e.accuracy.span()),
                format!("reference accuracy {percent} is not a percentage"),
                Some("write accuracies in percent, between 0 and 100 (e.g. 96.0)".into()),
            ));
        }
        out.push(Reference {
            name: name.clone(),
            accuracy: percent,
            source: e.source.clone(),
        });
    }
    Ok(out)
}
