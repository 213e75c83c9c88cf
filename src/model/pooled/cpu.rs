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
use burn::tensor::ops::{FloatTensor, FloatTensorOps, IntTensor};
use rayon::prelude::*;

use super::{OpGrads, PooledConvBackend, PooledLayout, PooledShape};
use crate::model::host::{
    float_tensor, host_input, int_tensor, ndarray_f32_ref, ndarray_i64, Dims,
};

/// Filter widths from which im2col copies each patch row as one slice;
/// narrower filters (the frequency bank's width 1) are
/// gathered tap by tap, where a `memcpy` call per row would cost more than
/// its few values.
const ROW_COPY_MIN_WIDTH: usize = 8;

/// Writes the patch of every convolution position of one example `x`
/// (`bands × frames`) into `patches` `[rows · cols, height · width]`.
fn im2col(x: &[f32], frames: usize, layout: &PooledLayout, s: &PooledShape, patches: &mut [f32]) {
    let (height, width, taps) = (layout.height, layout.width, layout.taps());
    if width >= ROW_COPY_MIN_WIDTH {
        for r in 0..s.rows {
            for c in 0..s.cols {
                let patch = &mut patches[(r * s.cols + c) * taps..][..taps];
                for (h, dst) in patch.chunks_exact_mut(width).enumerate().take(height) {
                    dst.copy_from_slice(&x[(r + h) * frames + c..][..width]);
                }
            }
        }
        return;
    }
    for h in 0..height {
        for j in 0..width {
            let tap = h * width + j;
            for r in 0..s.rows {
                let src = &x[(r + h) * frames + j..][..s.cols];
                let dst = &mut patches[r * s.cols * taps..][..s.cols * taps];
                for (d, &v) in dst.iter_mut().skip(tap).step_by(taps).zip(src) {
                    *d = v;
                }
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

/// `dw` `[count, taps]` = `conv_grad`ᵀ · `patches`, with `conv_grad`
/// `[positions, count]` and `patches` `[positions, taps]` row-major.
fn transposed_product(
    conv_grad: &[f32],
    patches: &[f32],
    positions: usize,
    layout: &PooledLayout,
    dw: &mut [f32],
) {
    let (taps, count) = (layout.taps(), layout.count);
    assert!(patches.len() >= positions * taps && conv_grad.len() >= positions * count);
    assert!(dw.len() >= count * taps);
    // SAFETY: the asserts above bound every index: a is count × positions
    // read from conv_grad (row stride 1, column stride count), b is
    // positions × taps (row stride taps), c is count × taps.
    unsafe {
        matrixmultiply::sgemm(
            count,
            positions,
            taps,
            1.0,
            conv_grad.as_ptr(),
            1,
            count as isize,
            patches.as_ptr(),
            taps as isize,
            1,
            0.0,
            dw.as_mut_ptr(),
            taps as isize,
            1,
        );
    }
}

/// Pools one example's `conv` `[positions, count]` into `out` and `arg`
/// (`[count, pooled_rows · pooled_cols]`), adding the bias and applying ReLU.
fn pool(conv: &[f32], bias: &[f32], s: &PooledShape, out: &mut [f32], arg: &mut [i64]) {
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

/// The scan keeps a running maximum and its position per filter with
/// selects, not branches, so it vectorises across filters; positions are
/// `u32` to share the lanes' width with the values.
#[inline(always)]
fn pool_portable(conv: &[f32], bias: &[f32], s: &PooledShape, out: &mut [f32], arg: &mut [i64]) {
    let count = bias.len();
    let cells = s.pooled_rows * s.pooled_cols;
    let mut best = vec![f32::NEG_INFINITY; count];
    let mut at = vec![0u32; count];
    for cell in 0..cells {
        let (pr, pc) = (cell / s.pooled_cols, cell % s.pooled_cols);
        best.fill(f32::NEG_INFINITY);
        at.fill(0);
        for r in pr * s.window_rows..(pr + 1) * s.window_rows {
            for c in pc * s.window_cols..(pc + 1) * s.window_cols {
                let position = r * s.cols + c;
                let row = &conv[position * count..][..count];
                let (best, at) = (&mut best[..count], &mut at[..count]);
                for k in 0..count {
                    let (v, b, a) = (row[k], best[k], at[k]);
                    let greater = v > b;
                    best[k] = if greater { v } else { b };
                    at[k] = if greater { position as u32 } else { a };
                }
            }
        }
        for k in 0..count {
            out[k * cells + cell] = (best[k] + bias[k]).max(0.0);
            arg[k * cells + cell] = i64::from(at[k]);
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
    // One job per thread, each with its own buffers: rayon's `for_each_init`
    // would allocate (and page-fault in) a megabyte per split.
    let per_job = examples_per_job(dims.batch);
    out.par_chunks_mut(per_example * per_job)
        .zip(arg.par_chunks_mut(per_example * per_job))
        .zip(x.par_chunks(plane * per_job))
        .for_each(|((out, arg), xs)| {
            let mut patches = vec![0.0; positions * layout.taps()];
            let mut conv = vec![0.0; positions * layout.count];
            let examples = out
                .chunks_mut(per_example)
                .zip(arg.chunks_mut(per_example))
                .zip(xs.chunks(plane));
            for ((out, arg), xe) in examples {
                im2col(xe, dims.frames, layout, &s, &mut patches);
                product(&patches, w, positions, layout, &mut conv);
                pool(&conv, bias, &s, out, arg);
            }
        });
    (out, arg)
}

/// Examples per parallel job: the batch split evenly among the threads.
/// (Each example's result is the same whatever the split.)
fn examples_per_job(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads()).max(1)
}

/// The upstream gradient where the output is active, zero elsewhere.
fn active(out: &[f32], grad: &[f32]) -> Vec<f32> {
    out.iter()
        .zip(grad)
        .map(|(&o, &g)| if o > 0.0 { g } else { 0.0 })
        .collect()
}

/// Adds `g · patch` to `dw` (`[height, width]`) for every `(g, offset)` of
/// `active`, a patch being `height` rows of `width` values of `x` from
/// `offset`, `frames` apart. Multiply then add (never fused), so every
/// instruction set gives the same bits.
#[inline(always)]
fn accumulate_portable(
    dw: &mut [f32],
    x: &[f32],
    frames: usize,
    width: usize,
    active: &[(f32, usize)],
) {
    for &(g, at) in active {
        for (h, dw_row) in dw.chunks_exact_mut(width).enumerate() {
            let x_row = &x[at + h * frames..][..width];
            for (d, &v) in dw_row.iter_mut().zip(x_row) {
                *d += g * v;
            }
        }
    }
}

/// [`accumulate_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn accumulate_avx2(
    dw: &mut [f32],
    x: &[f32],
    frames: usize,
    width: usize,
    active: &[(f32, usize)],
) {
    accumulate_portable(dw, x, frames, width, active);
}

/// [`accumulate_portable`] with the widest vectors this CPU has.
fn accumulate(dw: &mut [f32], x: &[f32], frames: usize, width: usize, active: &[(f32, usize)]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected on this CPU just above.
            return unsafe { accumulate_avx2(dw, x, frames, width, active) };
        }
    }
    accumulate_portable(dw, x, frames, width, active);
}

/// Largest pool window (in convolution outputs) for which `dweight` is one
/// dense sgemm per example (the convolution's gradient, zero but at the
/// arg-max positions, times the patches): it does `window` times the useful
/// work, and sgemm runs more than that many times faster than the sparse sum
/// on these shapes (Black-box, window 4). Larger windows (Time, 40; the
/// frequency bank, 80) take the sparse sum over arg-max patches.
const DENSE_DWEIGHT_WINDOW_MAX: usize = 8;

/// What the backward pass reads: the input, the active gradient and where
/// each output's patch lies.
struct Upstream<'a> {
    x: &'a [f32],
    dims: Dims,
    s: PooledShape,
    layout: &'a PooledLayout,
    /// The upstream gradient of active outputs, zero elsewhere.
    g: Vec<f32>,
    arg: &'a [i64],
}

impl Upstream<'_> {
    fn cells(&self) -> usize {
        self.s.pooled_rows * self.s.pooled_cols
    }

    /// The outputs of filter `k` on example `e` (indices into the output).
    fn outputs(&self, e: usize, k: usize) -> std::ops::Range<usize> {
        let first = (e * self.layout.count + k) * self.cells();
        first..first + self.cells()
    }

    /// The input offset of the arg-max patch of output `i` (example included).
    fn origin(&self, i: usize) -> usize {
        let e = i / (self.layout.count * self.cells());
        let position = self.arg[i] as usize;
        let (r, c) = (position / self.s.cols, position % self.s.cols);
        e * self.dims.bands * self.dims.frames + r * self.dims.frames + c
    }

    /// `dbias`: per filter, the sum of its active gradients in (example,
    /// cell) order.
    fn dbias(&self) -> Vec<f32> {
        (0..self.layout.count)
            .map(|k| {
                (0..self.dims.batch)
                    .flat_map(|e| self.outputs(e, k))
                    .map(|i| self.g[i])
                    .sum()
            })
            .collect()
    }

    /// `dweight` as a sum of `g · patch` over arg-max patches, parallel over filters.
    fn dweight_sparse(&self) -> Vec<f32> {
        let (taps, count) = (self.layout.taps(), self.layout.count);
        let mut dweight = vec![0.0; count * taps];
        dweight
            .par_chunks_mut(taps)
            .enumerate()
            .for_each(|(k, dw)| {
                let active: Vec<(f32, usize)> = (0..self.dims.batch)
                    .flat_map(|e| self.outputs(e, k))
                    .filter(|&i| self.g[i] != 0.0)
                    .map(|i| (self.g[i], self.origin(i)))
                    .collect();
                accumulate(dw, self.x, self.dims.frames, self.layout.width, &active);
            });
        dweight
    }

    /// `dweight` as one sgemm per example (parallel), summed in example order.
    fn dweight_dense(&self) -> Vec<f32> {
        let (taps, count) = (self.layout.taps(), self.layout.count);
        let positions = self.s.rows * self.s.cols;
        let plane = self.dims.bands * self.dims.frames;
        let per_job = examples_per_job(self.dims.batch);
        let jobs: Vec<Vec<Vec<f32>>> = (0..self.dims.batch.div_ceil(per_job))
            .into_par_iter()
            .map(|job| {
                let mut patches = vec![0.0; positions * taps];
                let mut conv_grad = vec![0.0; positions * count];
                let examples = job * per_job..((job + 1) * per_job).min(self.dims.batch);
                examples
                    .map(|e| {
                        let xe = &self.x[e * plane..][..plane];
                        im2col(xe, self.dims.frames, self.layout, &self.s, &mut patches);
                        conv_grad.fill(0.0);
                        for k in 0..count {
                            for i in self.outputs(e, k) {
                                conv_grad[self.arg[i] as usize * count + k] = self.g[i];
                            }
                        }
                        let mut dw = vec![0.0; count * taps];
                        transposed_product(&conv_grad, &patches, positions, self.layout, &mut dw);
                        dw
                    })
                    .collect()
            })
            .collect();
        let per_example = jobs.into_iter().flatten();
        let mut dweight = vec![0.0; count * taps];
        for dw in per_example {
            dweight.iter_mut().zip(dw).for_each(|(d, v)| *d += v);
        }
        dweight
    }

    /// `dx`: `g · weight` scattered back onto each arg-max patch, parallel over examples.
    fn dx(&self, w: &[f32]) -> Vec<f32> {
        let (taps, count, cells) = (self.layout.taps(), self.layout.count, self.cells());
        let (frames, width) = (self.dims.frames, self.layout.width);
        let plane = self.dims.bands * frames;
        let mut dx = vec![0.0; self.dims.batch * plane];
        dx.par_chunks_mut(plane).enumerate().for_each(|(e, dxe)| {
            for i in e * count * cells..(e + 1) * count * cells {
                if self.g[i] == 0.0 {
                    continue;
                }
                let (k, at, gi) = ((i / cells) % count, self.origin(i) - e * plane, self.g[i]);
                let wk = &w[k * taps..][..taps];
                for (h, w_row) in wk.chunks_exact(width).enumerate() {
                    let dx_row = &mut dxe[at + h * frames..][..width];
                    for (d, &v) in dx_row.iter_mut().zip(w_row) {
                        *d += gi * v;
                    }
                }
            }
        });
        dx
    }
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
    let up = Upstream {
        x,
        dims,
        s,
        layout,
        g: active(out, grad),
        arg,
    };
    let dweight = if s.window_rows * s.window_cols <= DENSE_DWEIGHT_WINDOW_MAX {
        up.dweight_dense()
    } else {
        up.dweight_sparse()
    };
    (need_dx.then(|| up.dx(w)), dweight, up.dbias())
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
        let (w, _) = ndarray_f32_ref(&weight);
        let (b, _) = ndarray_f32_ref(&bias);
        let (out, arg) = forward(&x, dims, &w, &b, layout);
        let s = layout.shape(dims.bands, dims.frames);
        let shape = [dims.batch, layout.count, s.pooled_rows, s.pooled_cols];
        (
            float_tensor::<Self>(out, &shape, &device),
            int_tensor::<Self>(arg, &shape, &device),
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
    ) -> OpGrads<Self> {
        let device = Self::float_device(&x);
        let (x, dims) = host_input(x);
        let (w, _) = ndarray_f32_ref(&weight);
        let (out, _) = ndarray_f32_ref(&output);
        let (grad, _) = ndarray_f32_ref(&grad);
        let arg = ndarray_i64(argmax);
        let (dx, dw, db) = backward(&x, dims, &w, &out, &arg, &grad, layout, need_dx);
        let float = |v, shape: &[usize]| float_tensor::<Self>(v, shape, &device);
        OpGrads {
            x: dx.map(|v| float(v, &[dims.batch, dims.bands, dims.frames])),
            weight: float(dw, &[layout.count, 1, layout.height, layout.width]),
            bias: float(db, &[layout.count]),
        }
    }
}
