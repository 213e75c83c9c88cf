//! The backward pass's sums: `dweight` (sparse over arg-max patches, or one
//! dense sgemm per example for small pool windows), `dbias` and `dx`.

use rayon::prelude::*;

use super::super::{PooledLayout, PooledShape};
use super::examples_per_job;
use super::patches::{patch_buffer, transposed_product, Patches};
use crate::model::host::{Dims, HostBackward, HostGrads};

/// The upstream gradient where the output is active, zero elsewhere. A
/// mask, not a branch: whether an output is active is a coin toss, and the
/// mispredicted branch took 6 % of a Black-box step.
fn active(out: &[f32], grad: &[f32]) -> Vec<f32> {
    out.iter()
        .zip(grad)
        .map(|(&o, &g)| {
            let keep = u32::from(o > 0.0).wrapping_neg();
            f32::from_bits(g.to_bits() & keep)
        })
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
    /// cell) order, parallel over filters (a Black-box step sums 817 K
    /// gradients, a sequential chain of adds).
    fn dbias(&self) -> Vec<f32> {
        (0..self.layout.count)
            .into_par_iter()
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
                let mut buffer = patch_buffer(self.layout, positions);
                let mut conv_grad = vec![0.0; positions * count];
                let examples = job * per_job..((job + 1) * per_job).min(self.dims.batch);
                examples
                    .map(|e| {
                        let xe = &self.x[e * plane..][..plane];
                        let patches =
                            Patches::of(xe, self.dims.frames, self.layout, &self.s, &mut buffer);
                        conv_grad.fill(0.0);
                        for k in 0..count {
                            for i in self.outputs(e, k) {
                                conv_grad[self.arg[i] as usize * count + k] = self.g[i];
                            }
                        }
                        let mut dw = vec![0.0; count * taps];
                        transposed_product(&conv_grad, patches, positions, self.layout, &mut dw);
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
pub(super) fn backward(host: &HostBackward<'_>, layout: &PooledLayout, need_dx: bool) -> HostGrads {
    let (x, dims, w) = (&*host.x, host.dims, &*host.weight);
    let (out, arg, grad) = (&*host.output, &*host.argmax, &*host.grad);
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
