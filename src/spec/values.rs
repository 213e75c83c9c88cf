//! The defaults of the paper's protocol and the value validators every stage
//! of spec parsing shares (counts, hops, rates), so one kind of mistake
//! always reads the same. A leaf of `spec`: it imports only the error type.

use std::ops::Range;

use super::error::{Reporter, SpecError};

/// Cross-validation folds (reference protocol: 10-fold, 80/10/10).
pub const DEFAULT_FOLDS: usize = 10;
/// Output classes (Ballroom's 8 dance styles, the three Rumba folders merged).
pub const DEFAULT_CLASSES: usize = 8;
/// Frames per input chunk of the paper's models (paper §3: 250 frames ≈ 5.8 s).
pub const DEFAULT_CHUNK_FRAMES: usize = 250;
/// Chunk hops of Table 1's two columns, frames.
pub const DEFAULT_HOPS: [usize; 2] = [250, 80];
/// Dropout before the output layer (reference implementation: 0.5).
pub const DEFAULT_DROPOUT: f64 = 0.5;
/// Max-pool window along mel bands of the paper's banks (40 bands → 10 values per filter).
pub const DEFAULT_POOL_FREQ: usize = 4;

/// A count that must be at least `min`.
pub(crate) fn count(
    r: &Reporter<'_>,
    what: &str,
    value: i64,
    span: Range<usize>,
    min: i64,
) -> Result<usize, SpecError> {
    match usize::try_from(value) {
        Ok(n) if value >= min => Ok(n),
        _ => Err(r.at(
            Some(span),
            format!("{what} must be at least {min}, found {value}"),
            Some(format!("write a whole number ≥ {min}")),
        )),
    }
}

/// Chunk hops: non-empty, each ≥ 1 frame, no repeats.
pub(crate) fn hops(
    r: &Reporter<'_>,
    values: &[i64],
    span: Range<usize>,
) -> Result<Vec<usize>, SpecError> {
    if values.is_empty() {
        return Err(r.at(
            Some(span),
            "hops is empty",
            Some("list at least one chunk hop in frames; Table 1 uses hops = [250, 80]".into()),
        ));
    }
    let mut out = Vec::with_capacity(values.len());
    for &v in values {
        let hop = match usize::try_from(v) {
            Ok(h) if h > 0 => h,
            _ => return Err(r.at(
                Some(span),
                format!("chunk hop {v} is not a positive number of frames"),
                Some(
                    "hops are distances between chunk starts, ≥ 1 frame; Table 1 uses 250 and 80"
                        .into(),
                ),
            )),
        };
        if out.contains(&hop) {
            return Err(r.at(
                Some(span),
                format!("chunk hop {hop} is listed twice"),
                Some("list each hop once".into()),
            ));
        }
        out.push(hop);
    }
    Ok(out)
}

/// A learning rate: finite and positive.
pub(crate) fn learning_rate(
    r: &Reporter<'_>,
    value: f64,
    span: Range<usize>,
) -> Result<f64, SpecError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(r.at(
            Some(span),
            format!("learning rate {value} is not positive"),
            Some("the reference protocol uses lr = 0.01".into()),
        ))
    }
}

/// A dropout probability in [0, 1).
pub(crate) fn dropout(r: &Reporter<'_>, value: f64, span: Range<usize>) -> Result<f64, SpecError> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(r.at(
            Some(span),
            format!("dropout {value} is not a probability in [0, 1)"),
            Some("the reference protocol uses dropout = 0.5; 0 disables it".into()),
        ))
    }
}
