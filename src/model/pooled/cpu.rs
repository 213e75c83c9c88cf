//! The pooled convolution on the CPU: [`PooledConvBackend`] for burn's `NdArray`.
//!
//! # Forward
//! Examples run in parallel with rayon. For each example, im2col writes the
//! `height × width` patch of every convolution position into one
//! `[positions, taps]` buffer (a patch row is `height` contiguous slices of
//! the input), one single-threaded sgemm (`matrixmultiply`, packed,
//! AVX2/FMA where the CPU has it) multiplies it by the `[taps, count]`
//! weights, and the pooling scans the `[positions, count]` product window by
//! window, every filter at once, keeping the first maximum in (row, column)
//! order. Bias and ReLU apply to the pooled maxima (both monotone, so the
//! values are those of bias + ReLU before the pool).
//!
//! # Backward
//! Only arg-max positions of active outputs carry gradient, so it never
//! materialises the convolution's gradient: `dweight` sums `g · patch` over
//! those positions, parallel over filters; `dbias` sums `g`; `dx` (only when
//! asked) scatters `g · weight` back, parallel over examples. Each sum runs
//! in a fixed order whatever the thread count, and so does sgemm (it splits
//! no sum), so results are bit-identical for any thread count.

use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::{
    ops::{FloatTensor, FloatTensorOps, IntTensor, IntTensorOps},
    TensorData,
};
use rayon::prelude::*;

use super::{PooledConvBackend, PooledConvGrads, PooledLayout, PooledShape};
use crate::model::fused::{host_input, ndarray_f32, ndarray_i64, Dims};

/// Writes the patch of every convolution position of one example `x`
/// (`bands × frames`) into `patches` `[rows · cols, height · width]`.
fn im2col(x: &[f32], frames: usize, layout: &PooledLayout, s: &PooledShape, patches: &mut [f32]) {
    let (height, width, taps) = (layout.height, layout.width, layout.taps());
    for r in 0..s.rows {
        for c in 0..s.cols {
            let patch = &mut patches[(r * s.cols + c) * taps..][..taps];
            for (h, dst) in patch.chunks_exact_mut(width).enumerate().take(height) {
                dst.copy_from_slice(&x[(r + h) * frames + c..][..width]);
            }
        }
    }
}

/// `conv` `[positions, count]` = `patches` `[positions, taps]` · `w`ᵀ, with
/// `w` `[count, taps]` row-major.
fn product(patches: &[f32], w: &[f32], positions: usize, layout: &PooledLayout, conv: &mut [f32]) {
    let (taps, count) = (layout.taps(), layout.count);
    assert!(patches.len() >= positions * taps && w.len() >= count * taps);
    assert!(conv.len() >= positions * count);
    // SAFETY: the asserts above bound every index sgemm reads and writes:
    // a is positions × taps (row stride taps), b is taps × count read from
    // w (row stride 1, column stride taps), c is positions × count.
    unsafe {
        matrixmultiply::sgemm(
            positions,
            taps,
            count,
            1.0,
            patches.as_ptr(),
            taps as isize,
            1,
            w.as_ptr(),
            1,
            taps as isize,
            0.0,
            conv.as_mut_ptr(),
            count as isize,
            1,
        );
    }
}

/// Pools one example's `conv` `[positions, count]` into `out` and `arg`
/// (`[count, pooled_rows · pooled_cols]`), adding the bias and applying ReLU.
fn pool(conv: &[f32], bias: &[f32], s: &PooledShape, out: &mut [f32], arg: &mut [i64]) {
    let count = bias.len();
    let cells = s.pooled_rows * s.pooled_cols;
    let mut best = vec![f32::NEG_INFINITY; count];
    let mut at = vec![0usize; count];
    for cell in 0..cells {
        let (pr, pc) = (cell / s.pooled_cols, cell % s.pooled_cols);
        best.fill(f32::NEG_INFINITY);
        at.fill(0);
        for r in pr * s.window_rows..(pr + 1) * s.window_rows {
            for c in pc * s.window_cols..(pc + 1) * s.window_cols {
                let position = r * s.cols + c;
                let row = &conv[position * count..][..count];
                for ((b, a), &v) in best.iter_mut().zip(at.iter_mut()).zip(row) {
                    if v > *b {
                        *b = v;
                        *a = position;
                    }
                }
            }
        }
        for k in 0..count {
            out[k * cells + cell] = (best[k] + bias[k]).max(0.0);
            arg[k * cells + cell] = at[k] as i64;
        }
    }
}

/// Forward pass: `(output, arg-max)`, both `[batch, count, pooled_rows, pooled_cols]`.
pub(super) fn forward(
    x: &[f32],
    dims: Dims,
    w: &[f32],
    bias: &[f32],
    layout: &PooledLayout,
) -> (Vec<f32>, Vec<i64>) {
    let s = layout.shape(dims.bands, dims.frames);
    let positions = s.rows * s.cols;
    let per_example = layout.count * s.pooled_rows * s.pooled_cols;
    let mut out = vec![0.0; dims.batch * per_example];
    let mut arg = vec![0; dims.batch * per_example];
    let plane = dims.bands * dims.frames;
    out.par_chunks_mut(per_example)
        .zip(arg.par_chunks_mut(per_example))
        .zip(x.par_chunks(plane))
        .for_each_init(
            || {
                let patches = vec![0.0; positions * layout.taps()];
                (patches, vec![0.0; positions * layout.count])
            },
            |(patches, conv), ((out, arg), xe)| {
                im2col(xe, dims.frames, layout, &s, patches);
                product(patches, w, positions, layout, conv);
                pool(conv, bias, &s, out, arg);
            },
        );
    (out, arg)
}

/// The upstream gradient where the output is active, zero elsewhere.
fn active(out: &[f32], grad: &[f32]) -> Vec<f32> {
    out.iter()
        .zip(grad)
        .map(|(&o, &g)| if o > 0.0 { g } else { 0.0 })
        .collect()
}

/// Backward pass: `(dx?, dweight [count · taps], dbias [count])`.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    x: &[f32],
    dims: Dims,
    w: &[f32],
    out: &[f32],
    arg: &[i64],
    grad: &[f32],
    layout: &PooledLayout,
    need_dx: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let s = layout.shape(dims.bands, dims.frames);
    let (taps, count, width) = (layout.taps(), layout.count, layout.width);
    let cells = s.pooled_rows * s.pooled_cols;
    let plane = dims.bands * dims.frames;
    let g = active(out, grad);
    // The input offset of the arg-max patch of output `i` (example included).
    let origin = |i: usize| {
        let (e, position) = (i / (count * cells), arg[i] as usize);
        e * plane + (position / s.cols) * dims.frames + position % s.cols
    };
    let mut dweight = vec![0.0; count * taps];
    let mut dbias = vec![0.0; count];
    dweight
        .par_chunks_mut(taps)
        .zip(dbias.par_iter_mut())
        .enumerate()
        .for_each(|(k, (dw, db))| {
            for e in 0..dims.batch {
                let first = (e * count + k) * cells;
                for i in first..first + cells {
                    if g[i] == 0.0 {
                        continue;
                    }
                    *db += g[i];
                    let at = origin(i);
                    for (h, dw_row) in dw.chunks_exact_mut(width).enumerate() {
                        let x_row = &x[at + h * dims.frames..][..width];
                        for (d, &v) in dw_row.iter_mut().zip(x_row) {
                            *d += g[i] * v;
                        }
                    }
                }
            }
        });
    let dx = need_dx.then(|| {
        let mut dx = vec![0.0; dims.batch * plane];
        dx.par_chunks_mut(plane).enumerate().for_each(|(e, dxe)| {
            for i in e * count * cells..(e + 1) * count * cells {
                if g[i] == 0.0 {
                    continue;
                }
                let (k, at) = ((i / cells) % count, origin(i) - e * plane);
                let wk = &w[k * taps..][..taps];
                for (h, w_row) in wk.chunks_exact(width).enumerate() {
                    let dx_row = &mut dxe[at + h * dims.frames..][..width];
                    for (d, &v) in dx_row.iter_mut().zip(w_row) {
                        *d += g[i] * v;
                    }
                }
            }
        });
        dx
    });
    (dx, dweight, dbias)
}

impl<E: FloatNdArrayElement, I: IntNdArrayElement, Q: QuantElement> PooledConvBackend
    for NdArray<E, I, Q>
where
    NdArrayTensor: From<SharedArray<E>>,
    NdArrayTensor: From<SharedArray<I>>,
{
    fn pooled_conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &PooledLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let device = Self::float_device(&x);
        let (x, dims) = host_input(x);
        let (w, _) = ndarray_f32(weight);
        let (b, _) = ndarray_f32(bias);
        let (out, arg) = forward(&x, dims, &w, &b, layout);
        let s = layout.shape(dims.bands, dims.frames);
        let shape = [dims.batch, layout.count, s.pooled_rows, s.pooled_cols];
        let out = TensorData::new(out, shape).convert::<E>();
        let arg = TensorData::new(arg, shape).convert::<I>();
        (
            Self::float_from_data(out, &device),
            Self::int_from_data(arg, &device),
        )
    }

    fn pooled_conv_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output: FloatTensor<Self>,
        argmax: IntTensor<Self>,
        grad: FloatTensor<Self>,
        layout: &PooledLayout,
        need_dx: bool,
    ) -> PooledConvGrads<Self> {
        let device = Self::float_device(&x);
        let (x, dims) = host_input(x);
        let (w, _) = ndarray_f32(weight);
        let (out, _) = ndarray_f32(output);
        let (grad, _) = ndarray_f32(grad);
        let arg = ndarray_i64(argmax);
        let (dx, dw, db) = backward(&x, dims, &w, &out, &arg, &grad, layout, need_dx);
        let float = |v: Vec<f32>, shape: Vec<usize>| {
            Self::float_from_data(TensorData::new(v, shape).convert::<E>(), &device)
        };
        let weight_shape = vec![layout.count, 1, layout.height, layout.width];
        PooledConvGrads {
            x: dx.map(|v| float(v, vec![dims.batch, dims.bands, dims.frames])),
            weight: float(dw, weight_shape),
            bias: float(db, vec![layout.count]),
        }
    }
}
