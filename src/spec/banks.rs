//! `[banks.NAME]` → [`BankDef`]: filter sizes expanded from `lengths` or
//! `shapes`, counts and pool extents validated. A `BankDef` is still
//! model-independent; [`super::models`] multiplies counts and checks sizes
//! against each model's input.
//!
//! Must not know about models, sweeps or profiles.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::error::{choice_hint, Reporter, SpecError};
use super::raw::{RawBank, RawExtent, RawLengths, RawPool};
use super::values::{count, DEFAULT_POOL_FREQ};
use crate::model::{BankAxis, PoolExtent};

/// A validated bank definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BankDef {
    /// Bank name (the `NAME` of `[banks.NAME]`).
    pub name: String,
    /// Axis the filters slide along.
    pub axis: BankAxis,
    /// `(height, width)` of each filter size, in spec order.
    pub sizes: Vec<(usize, usize)>,
    /// Where the sizes are written (lengths, shapes or the sweep value that set them).
    pub sizes_span: Range<usize>,
    /// Filters of each size, before a model's multiplier.
    pub filters_per_length: usize,
    /// Max pool along mel bands.
    pub pool_freq: PoolExtent,
    /// Max pool along frames.
    pub pool_time: PoolExtent,
    /// Where the pool extents are written (or the bank, when defaulted).
    pub pool_span: Range<usize>,
}

/// Validates every `[banks.NAME]`.
pub(crate) fn expand_banks(
    r: &Reporter<'_>,
    raw: &BTreeMap<String, Spanned<RawBank>>,
) -> Result<BTreeMap<String, BankDef>, SpecError> {
    raw.iter()
        .map(|(name, bank)| Ok((name.clone(), expand_bank(r, name, bank)?)))
        .collect()
}

fn expand_bank(r: &Reporter<'_>, name: &str, raw: &Spanned<RawBank>) -> Result<BankDef, SpecError> {
    let bank = raw.get_ref();
    let axis = *bank.axis.get_ref();
    let (sizes, sizes_span) = match (axis, &bank.lengths, &bank.shapes) {
        (BankAxis::TwoD, None, Some(shapes)) => (
            shapes_to_sizes(r, name, shapes.get_ref(), shapes.span())?,
            shapes.span(),
        ),
        (BankAxis::Time | BankAxis::Freq, Some(lengths), None) => (
            lengths_to_sizes(r, name, axis, lengths.get_ref(), lengths.span())?,
            lengths.span(),
        ),
        (BankAxis::TwoD, _, _) => {
            return Err(r.at(
                Some(bank.axis.span()),
                format!("bank `{name}` has axis \"2d\" and needs `shapes`, not `lengths`"),
                Some("write `shapes = [[height, width], ...]`, e.g. shapes = [[12, 8]]".into()),
            ))
        }
        (_, _, _) => {
            return Err(r.at(
                Some(bank.axis.span()),
                format!("bank `{name}` slides along one axis and needs `lengths`, not `shapes`"),
                Some("write `lengths = [6, 11]` or `lengths = { from = 6, to = 41, step = 5 }`; `shapes` is for axis = \"2d\"".into()),
            ))
        }
    };
    let what = format!("filters_per_length of bank `{name}`");
    let filters_per_length = count(
        r,
        &what,
        *bank.filters_per_length.get_ref(),
        bank.filters_per_length.span(),
        1,
    )?;
    let pool_span = bank.pool.as_ref().map_or(raw.span(), Spanned::span);
    let pool = bank
        .pool
        .as_ref()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default();
    let (pool_freq, pool_time) = pool_extents(r, name, &pool, pool_span.clone())?;
    Ok(BankDef {
        name: name.to_owned(),
        axis,
        sizes,
        sizes_span,
        filters_per_length,
        pool_freq,
        pool_time,
        pool_span,
    })
}

/// Filter sizes of a time or frequency bank from its lengths.
pub(crate) fn lengths_to_sizes(
    r: &Reporter<'_>,
    bank: &str,
    axis: BankAxis,
    lengths: &RawLengths,
    span: Range<usize>,
) -> Result<Vec<(usize, usize)>, SpecError> {
    let lengths = match lengths {
        RawLengths::List(list) => list.clone(),
        RawLengths::Range(range) => {
            let step = range.step.unwrap_or(1);
            let what = format!("lengths.step of bank `{bank}`");
            count(r, &what, step, span.clone(), 1)?;
            let what = format!("lengths.from of bank `{bank}`");
            count(r, &what, range.from, span.clone(), 1)?;
            if range.to < range.from || (range.to - range.from) % step != 0 {
                let last = range.from + (range.to - range.from).max(0) / step * step;
                return Err(r.at(
                    Some(span),
                    format!(
                        "lengths of bank `{bank}` go from {} to {} in steps of {step}, which does not end at {}",
                        range.from, range.to, range.to
                    ),
                    Some(format!("`to` is inclusive and must be reached exactly: write to = {last}")),
                ));
            }
            (range.from..=range.to)
                .step_by(usize::try_from(step).unwrap_or(1))
                .collect()
        }
    };
    if lengths.is_empty() {
        return Err(r.at(
            Some(span),
            format!("bank `{bank}` has no filter lengths"),
            Some("list at least one length, e.g. lengths = [60]".into()),
        ));
    }
    let what = format!("every filter length of bank `{bank}`");
    lengths
        .iter()
        .map(|&n| {
            let n = count(r, &what, n, span.clone(), 1)?;
            Ok(match axis {
                BankAxis::Freq => (n, 1),
                BankAxis::Time | BankAxis::TwoD => (1, n),
            })
        })
        .collect()
}

/// Filter sizes of a 2-D bank from `[[height, width], ...]`.
fn shapes_to_sizes(
    r: &Reporter<'_>,
    bank: &str,
    shapes: &[Vec<i64>],
    span: Range<usize>,
) -> Result<Vec<(usize, usize)>, SpecError> {
    if shapes.is_empty() {
        return Err(r.at(
            Some(span),
            format!("bank `{bank}` has no filter shapes"),
            Some("list at least one shape, e.g. shapes = [[12, 8]]".into()),
        ));
    }
    let what = format!("every filter height and width of bank `{bank}`");
    shapes
        .iter()
        .map(|shape| match shape.as_slice() {
            &[height, width] => Ok((
                count(r, &what, height, span.clone(), 1)?,
                count(r, &what, width, span.clone(), 1)?,
            )),
            other => Err(r.at(
                Some(span.clone()),
                format!("bank `{bank}` has a shape with {} numbers", other.len()),
                Some("each shape is [height, width] (mel bands, frames), e.g. [12, 8]".into()),
            )),
        })
        .collect()
}

/// Pool extents, defaulting to the paper's: 4 bands × all frames.
pub(crate) fn pool_extents(
    r: &Reporter<'_>,
    bank: &str,
    pool: &RawPool,
    span: Range<usize>,
) -> Result<(PoolExtent, PoolExtent), SpecError> {
    let freq = match &pool.freq {
        Some(e) => extent(r, bank, "freq", e, span.clone())?,
        None => PoolExtent::Factor(DEFAULT_POOL_FREQ),
    };
    let time = match &pool.time {
        Some(e) => extent(r, bank, "time", e, span)?,
        None => PoolExtent::All,
    };
    Ok((freq, time))
}

/// One pool extent: a window size ≥ 1 or `"all"`.
pub(crate) fn extent(
    r: &Reporter<'_>,
    bank: &str,
    axis: &str,
    raw: &RawExtent,
    span: Range<usize>,
) -> Result<PoolExtent, SpecError> {
    match raw {
        RawExtent::Size(n) => {
            let what = format!("pool.{axis} of bank `{bank}`");
            Ok(PoolExtent::Factor(count(r, &what, *n, span, 1)?))
        }
        RawExtent::Word(w) if w == "all" => Ok(PoolExtent::All),
        RawExtent::Word(w) => Err(r.at(
            Some(span),
            format!("pool.{axis} of bank `{bank}` is \"{w}\""),
            Some(format!(
                "a pool extent is a window size like 4 or \"all\"; {}",
                choice_hint(w, "words", &["all"])
            )),
        )),
    }
}
