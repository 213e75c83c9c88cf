//! Max pooling of one example's convolution output, with bias, ReLU and the
//! arg-max.

use super::super::PooledShape;

/// Pools one example's `conv` `[positions, count]` into `out` and `arg`
/// (`[count, pooled_rows · pooled_cols]`), adding the bias and applying ReLU.
pub(super) fn pool(conv: &[f32], bias: &[f32], s: &PooledShape, out: &mut [f32], arg: &mut [i64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected on this CPU just above.
            return unsafe { pool_avx2(conv, bias, s, out, arg) };
        }
    }
    pool_portable(conv, bias, s, out, arg);
}

/// [`pool_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pool_avx2(conv: &[f32], bias: &[f32], s: &PooledShape, out: &mut [f32], arg: &mut [i64]) {
    pool_portable(conv, bias, s, out, arg);
}

/// Filters one pass of the pooling scan keeps in registers (one AVX2
/// vector of `f32` maxima and one of `u32` positions).
const POOL_LANES: usize = 8;

/// The scan keeps a running maximum and its position per filter with
/// selects, not branches, so it vectorises across filters: each window is
/// scanned once per [`POOL_LANES`] filters, with the maxima and positions in
/// locals (registers), not in memory. Positions are `u32` to share the
/// lanes' width with the values; a strict `>` keeps the first maximum.
#[inline(always)]
fn pool_portable(conv: &[f32], bias: &[f32], s: &PooledShape, out: &mut [f32], arg: &mut [i64]) {
    let count = bias.len();
    let cells = s.pooled_rows * s.pooled_cols;
    for cell in 0..cells {
        let (pr, pc) = (cell / s.pooled_cols, cell % s.pooled_cols);
        for first in (0..count).step_by(POOL_LANES) {
            let lanes = (count - first).min(POOL_LANES);
            let mut best = [f32::NEG_INFINITY; POOL_LANES];
            let mut at = [0u32; POOL_LANES];
            for r in pr * s.window_rows..(pr + 1) * s.window_rows {
                for c in pc * s.window_cols..(pc + 1) * s.window_cols {
                    let position = r * s.cols + c;
                    let values = &conv[position * count + first..][..lanes];
                    if let Ok(values) = <&[f32; POOL_LANES]>::try_from(values) {
                        keep_greater_lanes(&mut best, &mut at, values, position as u32);
                    } else {
                        keep_greater(
                            &mut best[..lanes],
                            &mut at[..lanes],
                            values,
                            position as u32,
                        );
                    }
                }
            }
            for k in 0..lanes {
                let i = (first + k) * cells + cell;
                out[i] = (best[k] + bias[first + k]).max(0.0);
                arg[i] = i64::from(at[k]);
            }
        }
    }
}

/// Where `values` beat `best`, takes them and `position` (selects, so it
/// vectorises).
#[inline(always)]
fn keep_greater(best: &mut [f32], at: &mut [u32], values: &[f32], position: u32) {
    for ((b, a), &v) in best.iter_mut().zip(at.iter_mut()).zip(values) {
        let greater = v > *b;
        *b = if greater { v } else { *b };
        *a = if greater { position } else { *a };
    }
}

/// [`keep_greater`] on a full set of lanes: fixed-size arrays, which the
/// compiler keeps in vector registers.
#[inline(always)]
fn keep_greater_lanes(
    best: &mut [f32; POOL_LANES],
    at: &mut [u32; POOL_LANES],
    values: &[f32; POOL_LANES],
    position: u32,
) {
    for k in 0..POOL_LANES {
        let greater = values[k] > best[k];
        best[k] = if greater { values[k] } else { best[k] };
        at[k] = if greater { position } else { at[k] };
    }
}
