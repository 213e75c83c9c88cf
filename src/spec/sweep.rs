//! `[sweep]`: lists of values whose cartesian product replaces each selected
//! model by its variants, named `BASE [K=V, ...]`.
//!
//! Keys are sorted (a TOML table has no order worth trusting); the product
//! varies the last key fastest. Values pass through the same validators as
//! the fields they set, with errors pointing at the sweep entry.
//!
//! Must not know about profiles or how a variant is resolved.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::{Spanned, Value};

use super::banks::{extent, lengths_to_sizes};
use super::error::{choice_hint, Reporter, SpecError};
use super::models::{BankUse, ModelDraft};
use super::raw::{RawExtent, RawLengths, RawSweepEntry};
use super::values::{count, dropout, hops, learning_rate};
use super::SweepPoint;
use crate::model::Init;

/// Keys a sweep may vary (`B`: a bank name or `*`), for hints.
const KEYS: [&str; 13] = [
    "banks.B",
    "banks.B.filters_per_length",
    "banks.B.lengths",
    "banks.B.pool.freq",
    "banks.B.pool.time",
    "hidden",
    "init",
    "dropout",
    "chunk_frames",
    "hops",
    "epochs",
    "batch",
    "lr",
];

/// Most models a spec may expand to. Each is trained per hop and fold, so a
/// sweep beyond this is a typo or a study to split; refused, with its count,
/// before a single variant is built.
pub(crate) const MAX_MODELS: u64 = 10_000;

/// One swept key and its values.
struct Axis<'a> {
    key: &'a str,
    values: &'a [Value],
    span: Range<usize>,
}

type RawSweep = Spanned<BTreeMap<String, Spanned<RawSweepEntry>>>;

/// Replaces every selected draft by its sweep variants (no sweep: unchanged).
pub(crate) fn apply(
    r: &Reporter<'_>,
    sweep: Option<&RawSweep>,
    drafts: Vec<ModelDraft>,
) -> Result<Vec<ModelDraft>, SpecError> {
    let Some(sweep) = sweep else {
        return Ok(drafts);
    };
    let mut selected: Option<Vec<String>> = None;
    let mut axes = Vec::new();
    for (key, value) in sweep.get_ref() {
        if key == "models" {
            selected = Some(selection(r, value, &drafts)?);
            continue;
        }
        match value.get_ref() {
            RawSweepEntry::List(values) if !values.is_empty() => axes.push(Axis {
                key,
                values,
                span: value.span(),
            }),
            RawSweepEntry::List(_) => {
                return Err(r.at(
                    Some(value.span()),
                    format!("sweep `{key}` lists no values"),
                    Some("list at least one value, e.g. [1, 2, 5]".into()),
                ))
            }
            RawSweepEntry::Table => {
                return Err(r.at(
                    Some(value.span()),
                    format!("sweep key `{key}` is a table, not a list of values"),
                    Some(
                        "quote the whole dotted path: \"banks.O.filters_per_length\" = [1, 2, 5]"
                            .into(),
                    ),
                ))
            }
            RawSweepEntry::Scalar(v) => {
                return Err(r.at(
                    Some(value.span()),
                    format!("sweep `{key}` is {v}, not a list of values"),
                    Some(format!("write \"{key}\" = [{v}, ...]")),
                ))
            }
        }
    }
    if axes.is_empty() {
        return Err(r.at(
            Some(sweep.span()),
            "the sweep varies nothing",
            Some(format!(
                "add a key with a list of values; sweepable keys: {}",
                KEYS.join(", ")
            )),
        ));
    }
    check_size(r, sweep.span(), &axes, &drafts, selected.as_deref())?;
    let mut out = Vec::new();
    for d in drafts {
        if selected.as_ref().is_none_or(|s| s.contains(&d.name)) {
            for combination in product(&axes) {
                out.push(variant(r, &d, &axes, &combination)?);
            }
        } else {
            out.push(d);
        }
    }
    Ok(out)
}

/// Refuses a sweep whose models would number more than [`MAX_MODELS`],
/// counting in `u64` with saturation (the product alone may overflow).
fn check_size(
    r: &Reporter<'_>,
    span: Range<usize>,
    axes: &[Axis<'_>],
    drafts: &[ModelDraft],
    selected: Option<&[String]>,
) -> Result<(), SpecError> {
    let per_model = axes
        .iter()
        .fold(1u64, |n, a| n.saturating_mul(a.values.len() as u64));
    let swept = drafts
        .iter()
        .filter(|d| selected.is_none_or(|s| s.contains(&d.name)))
        .count() as u64;
    let total = per_model
        .saturating_mul(swept)
        .saturating_add(drafts.len() as u64 - swept);
    if total <= MAX_MODELS {
        return Ok(());
    }
    let sizes: Vec<String> = axes.iter().map(|a| a.values.len().to_string()).collect();
    Err(r.at(
        Some(span),
        format!(
            "the sweep expands to {total} models ({} variants of each of {swept} models); at most {MAX_MODELS} are allowed",
            sizes.join(" × ")
        ),
        Some("sweep fewer values, select fewer models with `models = [...]`, or split the study into several specs".into()),
    ))
}

/// `models = [...]`: names that must exist.
fn selection(
    r: &Reporter<'_>,
    value: &Spanned<RawSweepEntry>,
    drafts: &[ModelDraft],
) -> Result<Vec<String>, SpecError> {
    let names: Vec<&str> = drafts.iter().map(|d| d.name.as_str()).collect();
    let list = match value.get_ref() {
        RawSweepEntry::List(list) if !list.is_empty() => list,
        _ => {
            return Err(r.at(
                Some(value.span()),
                "sweep `models` must list model names",
                Some("write models = [\"O-net\"], or leave it out to sweep every model".into()),
            ))
        }
    };
    list.iter()
        .map(|v| match v.as_str() {
            Some(name) if names.contains(&name) => Ok(name.to_owned()),
            Some(name) => Err(r.at(
                Some(value.span()),
                format!("the sweep selects model `{name}`, which the spec does not define"),
                Some(choice_hint(name, "models", &names)),
            )),
            None => Err(r.at(
                Some(value.span()),
                format!("sweep `models` lists {v}, not a model name"),
                Some("model names are strings, e.g. models = [\"O-net\"]".into()),
            )),
        })
        .collect()
}

/// Every combination of value indices, the last axis varying fastest.
fn product(axes: &[Axis<'_>]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..axis.values.len()).map(move |i| {
                    let mut next = prefix.clone();
                    next.push(i);
                    next
                })
            })
            .collect();
    }
    out
}

fn variant(
    r: &Reporter<'_>,
    base: &ModelDraft,
    axes: &[Axis<'_>],
    combination: &[usize],
) -> Result<ModelDraft, SpecError> {
    let mut v = base.clone();
    let mut settings = Vec::with_capacity(axes.len());
    for (axis, &i) in axes.iter().zip(combination) {
        let value = &axis.values[i];
        set(r, &mut v, axis.key, value, axis.span.clone())?;
        let key = axis.key.strip_prefix("banks.").unwrap_or(axis.key);
        settings.push((key.to_owned(), show(value)));
    }
    let label: Vec<String> = settings
        .iter()
        .map(|(k, val)| format!("{k}={val}"))
        .collect();
    v.name = format!("{} [{}]", base.name, label.join(", "));
    v.paper = None;
    v.sweep = Some(SweepPoint {
        base: base.name.clone(),
        settings,
    });
    Ok(v)
}

/// A sweep value as it appears in a variant's name.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn set(
    r: &Reporter<'_>,
    d: &mut ModelDraft,
    key: &str,
    value: &Value,
    span: Range<usize>,
) -> Result<(), SpecError> {
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        ["banks", bank, rest @ ..] => {
            let name = d.name.clone();
            let uses: Vec<&mut BankUse> = d
                .banks
                .iter_mut()
                .filter(|u| *bank == "*" || u.def.name == *bank)
                .collect();
            if uses.is_empty() {
                return Err(r.at(Some(span), format!("sweep `{key}`: model `{name}` does not use bank `{bank}`"), Some("sweep only banks the selected models use (select models with `models = [...]`), or `*` for all of them".into())));
            }
            for u in uses {
                set_bank(r, u, &name, key, rest, value, span.clone())?;
            }
            Ok(())
        }
        [field] => set_field(r, d, key, field, value, span),
        _ => Err(unknown_key(r, key, span)),
    }
}

fn set_bank(
    r: &Reporter<'_>,
    u: &mut BankUse,
    model: &str,
    key: &str,
    rest: &[&str],
    value: &Value,
    span: Range<usize>,
) -> Result<(), SpecError> {
    let bank = u.def.name.clone();
    match rest {
        [] => {
            u.multiplier = count(
                r,
                &format!("multiplier of bank `{bank}` in model `{model}`"),
                int(r, key, value, &span)?,
                span,
                1,
            )?
        }
        ["filters_per_length"] => {
            u.def.filters_per_length = count(
                r,
                &format!("filters_per_length of bank `{bank}`"),
                int(r, key, value, &span)?,
                span,
                1,
            )?
        }
        ["lengths"] => {
            let lengths: RawLengths = value.clone().try_into().map_err(|e: toml::de::Error| {
                r.at(
                    Some(span.clone()),
                    format!("sweep `{key}`: {}", e.message().trim()),
                    None,
                )
            })?;
            u.def.sizes = lengths_to_sizes(r, &bank, u.def.axis, &lengths, span.clone())?;
            u.def.sizes_span = span;
        }
        ["pool", axis @ ("freq" | "time")] => {
            let Some(raw) = RawExtent::from_value(value) else {
                return Err(r.at(
                    Some(span),
                    format!("sweep `{key}` lists {value}, not a pool extent"),
                    Some("pool extents are window sizes like 4, or \"all\"".into()),
                ));
            };
            let e = extent(r, &bank, axis, &raw, span.clone())?;
            if *axis == "freq" {
                u.def.pool_freq = e;
            } else {
                u.def.pool_time = e;
            }
            u.def.pool_span = span;
        }
        _ => return Err(unknown_key(r, key, span)),
    }
    Ok(())
}

fn set_field(
    r: &Reporter<'_>,
    d: &mut ModelDraft,
    key: &str,
    field: &str,
    value: &Value,
    span: Range<usize>,
) -> Result<(), SpecError> {
    let what = format!("{field} of model `{}`", d.name);
    match field {
        "hidden" => {
            let widths = ints(r, key, value, &span)?;
            d.hidden = widths
                .into_iter()
                .map(|w| count(r, &what, w, span.clone(), 1))
                .collect::<Result<_, _>>()?;
        }
        "init" => {
            d.init = value.clone().try_into::<Init>().map_err(|e| {
                r.at(
                    Some(span.clone()),
                    format!("sweep `{key}`: {}", e.message().trim()),
                    Some("init is \"he_uniform\" or \"glorot_uniform\"".into()),
                )
            })?;
        }
        "dropout" => d.dropout = dropout(r, float(r, key, value, &span)?, span)?,
        "lr" => d.train.learning_rate = learning_rate(r, float(r, key, value, &span)?, span)?,
        "chunk_frames" => d.chunk_frames = count(r, &what, int(r, key, value, &span)?, span, 1)?,
        "hops" => d.hops = hops(r, &ints(r, key, value, &span)?, span)?,
        "epochs" => d.train.epochs = count(r, &what, int(r, key, value, &span)?, span, 1)?,
        "batch" => d.train.batch_size = count(r, &what, int(r, key, value, &span)?, span, 1)?,
        _ => return Err(unknown_key(r, key, span)),
    }
    Ok(())
}

fn unknown_key(r: &Reporter<'_>, key: &str, span: Range<usize>) -> SpecError {
    let generic = generic_key(key);
    r.at(
        Some(span),
        format!("`{key}` cannot be swept"),
        Some(choice_hint(
            &generic,
            "sweep keys (B: a bank name or *)",
            &KEYS,
        )),
    )
}

/// `banks.O.pool.fre` → `banks.B.pool.fre`, to compare with [`KEYS`].
fn generic_key(key: &str) -> String {
    match key.split_once('.') {
        Some(("banks", rest)) => match rest.split_once('.') {
            Some((_, tail)) => format!("banks.B.{tail}"),
            None => "banks.B".into(),
        },
        _ => key.to_owned(),
    }
}

fn int(r: &Reporter<'_>, key: &str, value: &Value, span: &Range<usize>) -> Result<i64, SpecError> {
    value.as_integer().ok_or_else(|| {
        r.at(
            Some(span.clone()),
            format!("sweep `{key}` lists {value}, not an integer"),
            Some("list whole numbers, e.g. [1, 2, 5]".into()),
        )
    })
}

fn ints(
    r: &Reporter<'_>,
    key: &str,
    value: &Value,
    span: &Range<usize>,
) -> Result<Vec<i64>, SpecError> {
    let items = value.as_array().ok_or_else(|| {
        r.at(
            Some(span.clone()),
            format!("sweep `{key}` lists {value}, not a list of integers"),
            Some(format!(
                "each value of `{key}` is itself a list, e.g. [[250], [250, 80]]"
            )),
        )
    })?;
    items.iter().map(|v| int(r, key, v, span)).collect()
}

fn float(
    r: &Reporter<'_>,
    key: &str,
    value: &Value,
    span: &Range<usize>,
) -> Result<f64, SpecError> {
    match value {
        Value::Float(f) => Ok(*f),
        Value::Integer(i) => Ok(*i as f64),
        other => Err(r.at(
            Some(span.clone()),
            format!("sweep `{key}` lists {other}, not a number"),
            Some("list numbers, e.g. [0.25, 0.5]".into()),
        )),
    }
}
