//! The fused filter bank on the CPU: [`FilterBankBackend`] for burn's `NdArray`.
//!
//! # Forward
//! Filters are sorted by width and grouped into register blocks of
//! [`BLOCK`] filters, zero-padded on the right to the block's widest filter
//! (a zero tap adds an exact zero, so padding does not change any value).
//! For each (example, band group) the group's rows are copied into a
//! zero-padded buffer, and each block computes [`TILE`] consecutive window
//! sums for all its filters at once (the row values of a tap are loaded once
//! and reused by every filter of the block), keeping a running max and
//! arg-max per lane over the whole group; lanes are reduced once per group.
//! Examples run in parallel with rayon; each output element is computed by
//! exactly one task, so results do not depend on the thread count.
//!
//! Every window sum is `acc = fma(w[j], x[t + j], acc)` for `j = 0..width`
//! in that order, in both the AVX2/FMA kernel and the portable one, so both
//! give bit-identical results.
//!
//! # Backward
//! Parallel over filters for `dweight`/`dbias` (each filter sums its
//! (example, group) contributions sequentially) and over examples for `dx`:
//! fixed summation order whatever the thread count.

use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::ops::{FloatTensor, FloatTensorOps, IntTensor};
use rayon::prelude::*;

use super::{BankLayout, FilterBankBackend, OpGrads};
use crate::model::host::{forward_on_host, Dims, HostBackward, HostGrads};

/// Filters per register block (they share every row load).
pub(super) const BLOCK: usize = 5;
/// f32 lanes of an AVX register.
const LANES: usize = 8;
/// AVX registers of consecutive windows per filter in a block.
const TILE_VECS: usize = 2;
/// Consecutive windows computed together (4 filters × 2 registers = 8 accumulators).
pub(super) const TILE: usize = LANES * TILE_VECS;

/// Best window of one filter over a band group: (pre-bias value, position
/// `row * stride + start` in the group buffer).
type Best = (f32, usize);

/// The rows of one pooled band group, each zero-padded to `stride` values.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    data: &'a [f32],
    stride: usize,
    count: usize,
}

/// A block kernel: the group's rows, block weights `[BLOCK × width]`, width,
/// valid window count per filter (0 = unused slot).
type BlockKernel = fn(Rows<'_>, &[f32], usize, [usize; BLOCK]) -> [Best; BLOCK];

/// Filters sorted by width and grouped into zero-padded register blocks.
struct Plan {
    /// `(filter indices, used slots, padded width, offset into weights)`.
    blocks: Vec<([usize; BLOCK], usize, usize, usize)>,
    weights: Vec<f32>,
    max_width: usize,
}

impl Plan {
    fn new(layout: &BankLayout, w: &[f32]) -> Self {
        let mut order: Vec<usize> = (0..layout.filters()).collect();
        order.sort_by_key(|&k| layout.widths()[k]);
        let mut blocks = Vec::new();
        let mut weights = Vec::new();
        for chunk in order.chunks(BLOCK) {
            let width = chunk.iter().map(|&k| layout.widths()[k]).max().unwrap_or(0);
            let mut filters = [0; BLOCK];
            let offset = weights.len();
            weights.resize(offset + BLOCK * width, 0.0);
            for (slot, &k) in chunk.iter().enumerate() {
                filters[slot] = k;
                let (start, n) = (layout.offsets()[k], layout.widths()[k]);
                weights[offset + slot * width..][..n].copy_from_slice(&w[start..start + n]);
            }
            blocks.push((filters, chunk.len(), width, offset));
        }
        let max_width = layout.widths().iter().copied().max().unwrap_or(0);
        Self {
            blocks,
            weights,
            max_width,
        }
    }
}

/// The fastest block kernel this CPU supports.
fn select_kernel() -> BlockKernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return avx2::block_kernel;
        }
    }
    block_portable
}

/// Portable block kernel (same arithmetic and tie rule as the AVX2 one).
fn block_portable(rows: Rows<'_>, w: &[f32], width: usize, lens: [usize; BLOCK]) -> [Best; BLOCK] {
    let mut best = [(f32::NEG_INFINITY, 0); BLOCK];
    for (slot, (&len, b)) in lens.iter().zip(best.iter_mut()).enumerate() {
        let wf = &w[slot * width..][..width];
        for m in 0..rows.count {
            let row = &rows.data[m * rows.stride..][..rows.stride];
            for t in 0..len {
                let acc = wf
                    .iter()
                    .zip(&row[t..t + width])
                    .fold(0.0f32, |acc, (&wj, &xj)| wj.mul_add(xj, acc));
                if acc > b.0 {
                    *b = (acc, m * rows.stride + t);
                }
            }
        }
    }
    best
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2 + FMA block kernel: 5 filters × 16 windows in 10 accumulator
    //! registers (13 of the 16 AVX registers in use, so none spills); a running
    //! max and arg-max per lane over every row of the band group, reduced across
    //! lanes once per group.
    use std::arch::x86_64::*;

    use super::{Best, Rows, BLOCK, LANES, TILE, TILE_VECS};

    type Acc = [[__m256; TILE_VECS]; BLOCK];

    /// Safe entry point; only selected after runtime detection of AVX2 and FMA.
    pub(super) fn block_kernel(
        rows: Rows<'_>,
        w: &[f32],
        width: usize,
        lens: [usize; BLOCK],
    ) -> [Best; BLOCK] {
        let l_max = lens.iter().copied().max().unwrap_or(0);
        assert!(
            rows.stride >= l_max.div_ceil(TILE) * TILE + width
                && rows.data.len() >= rows.count * rows.stride
                && w.len() >= BLOCK * width
                && rows.count * rows.stride < 1 << f32::MANTISSA_DIGITS
        );
        // SAFETY: the caller selected this kernel after detecting AVX2 and FMA;
        // the assertion keeps every load inside `rows` and `w` and every
        // position exact in f32.
        unsafe { block(rows, w, width, lens, l_max) }
    }

    /// Window sums of `TILE` windows starting at `x` for the 4 filters.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn accumulate(x: *const f32, w: *const f32, width: usize) -> Acc {
        let mut acc = [[_mm256_setzero_ps(); TILE_VECS]; BLOCK];
        for j in 0..width {
            let xs: [__m256; TILE_VECS] =
                std::array::from_fn(|r| _mm256_loadu_ps(x.add(j + r * LANES)));
            for (f, acc_f) in acc.iter_mut().enumerate() {
                let wv = _mm256_broadcast_ss(&*w.add(f * width + j));
                for (a, &xv) in acc_f.iter_mut().zip(&xs) {
                    *a = _mm256_fmadd_ps(wv, xv, *a);
                }
            }
        }
        acc
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn block(
        rows: Rows<'_>,
        w: &[f32],
        width: usize,
        lens: [usize; BLOCK],
        l_max: usize,
    ) -> [Best; BLOCK] {
        let l_full = lens.iter().copied().filter(|&l| l > 0).min().unwrap_or(0);
        let lane = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
        let len_v = lens.map(|l| _mm256_set1_ps(l as f32));
        let mut vmax = [[_mm256_set1_ps(f32::NEG_INFINITY); TILE_VECS]; BLOCK];
        let mut vpos = [[_mm256_setzero_ps(); TILE_VECS]; BLOCK];
        let wp = w.as_ptr();
        for m in 0..rows.count {
            let rp = rows.data.as_ptr().add(m * rows.stride);
            let row_start = (m * rows.stride) as f32;
            let mut t0 = 0;
            while t0 < l_max {
                let acc = accumulate(rp.add(t0), wp, width);
                let masked = t0 + TILE > l_full;
                for r in 0..TILE_VECS {
                    // Positions are below 2^24 (asserted), so exact in f32.
                    let tv = _mm256_add_ps(_mm256_set1_ps((t0 + r * LANES) as f32), lane);
                    let pos = _mm256_add_ps(tv, _mm256_set1_ps(row_start));
                    for f in 0..BLOCK {
                        let mut gt = _mm256_cmp_ps::<_CMP_GT_OQ>(acc[f][r], vmax[f][r]);
                        if masked {
                            let valid = _mm256_cmp_ps::<_CMP_LT_OQ>(tv, len_v[f]);
                            gt = _mm256_and_ps(gt, valid);
                        }
                        vmax[f][r] = _mm256_blendv_ps(vmax[f][r], acc[f][r], gt);
                        vpos[f][r] = _mm256_blendv_ps(vpos[f][r], pos, gt);
                    }
                }
                t0 += TILE;
            }
        }
        let mut best = [(f32::NEG_INFINITY, 0); BLOCK];
        for f in 0..BLOCK {
            let (mut vals, mut poss) = ([0.0f32; TILE], [0.0f32; TILE]);
            for r in 0..TILE_VECS {
                _mm256_storeu_ps(vals.as_mut_ptr().add(r * LANES), vmax[f][r]);
                _mm256_storeu_ps(poss.as_mut_ptr().add(r * LANES), vpos[f][r]);
            }
            // Each lane kept its first maximum; across lanes the earliest wins.
            for (&v, &p) in vals.iter().zip(&poss) {
                let p = p as usize;
                if v > best[f].0 || (v == best[f].0 && p < best[f].1) {
                    best[f] = (v, p);
                }
            }
        }
        best
    }
}

/// Forward pass on host slices; returns `(output, argmax)`, both `[batch, filters, groups]`.
pub(super) fn forward(
    x: &[f32],
    dims: Dims,
    w: &[f32],
    bias: &[f32],
    layout: &BankLayout,
) -> (Vec<f32>, Vec<i64>) {
    forward_with(select_kernel(), x, dims, w, bias, layout)
}

/// [`forward`] with the portable kernel (tests compare it with the SIMD one).
#[cfg(test)]
pub(super) fn forward_portable(
    x: &[f32],
    dims: Dims,
    w: &[f32],
    bias: &[f32],
    layout: &BankLayout,
) -> (Vec<f32>, Vec<i64>) {
    forward_with(block_portable, x, dims, w, bias, layout)
}

fn forward_with(
    kernel: BlockKernel,
    x: &[f32],
    dims: Dims,
    w: &[f32],
    bias: &[f32],
    layout: &BankLayout,
) -> (Vec<f32>, Vec<i64>) {
    let (k, g) = (layout.filters(), layout.pooled_bands(dims.bands));
    let plan = Plan::new(layout, w);
    let mut out = vec![0.0f32; dims.batch * k * g];
    let mut arg = vec![0i64; dims.batch * k * g];
    let example = dims.bands * dims.frames;
    out.par_chunks_mut(k * g)
        .zip(arg.par_chunks_mut(k * g))
        .zip(x.par_chunks(example))
        .for_each(|((o, a), xb)| example_forward(xb, dims, &plan, kernel, layout, bias, o, a));
    (out, arg)
}

/// One example: every band group, every block; then bias + ReLU.
#[allow(clippy::too_many_arguments)]
fn example_forward(
    xb: &[f32],
    dims: Dims,
    plan: &Plan,
    kernel: BlockKernel,
    layout: &BankLayout,
    bias: &[f32],
    out: &mut [f32],
    arg: &mut [i64],
) {
    let (groups, pool) = (
        layout.pooled_bands(dims.bands),
        layout.pool_size(dims.bands),
    );
    let frames = dims.frames;
    let stride = frames + TILE + plan.max_width;
    let mut buffer = vec![0.0f32; pool * stride];
    for group in 0..groups {
        for (m, row) in buffer.chunks_mut(stride).enumerate() {
            row[..frames].copy_from_slice(&xb[(group * pool + m) * frames..][..frames]);
        }
        let rows = Rows {
            data: &buffer,
            stride,
            count: pool,
        };
        for &(filters, used, width, offset) in &plan.blocks {
            let mut lens = [0; BLOCK];
            for (l, &k) in lens.iter_mut().zip(&filters[..used]) {
                *l = frames + 1 - layout.widths()[k];
            }
            let found = kernel(rows, &plan.weights[offset..][..BLOCK * width], width, lens);
            for (&k, &(v, pos)) in filters[..used].iter().zip(&found) {
                let (m, t) = (pos / stride, pos % stride);
                let i = k * groups + group;
                out[i] = (v + bias[k]).max(0.0);
                arg[i] = ((group * pool + m) * frames + t) as i64;
            }
        }
    }
}

/// Backward pass on the host: `(dx?, dweight [taps], dbias [filters])`.
pub(super) fn backward(host: &HostBackward<'_>, layout: &BankLayout, need_dx: bool) -> HostGrads {
    let (x, dims, w) = (&*host.x, host.dims, &*host.weight);
    let (out, arg, grad) = (&*host.output, &*host.argmax, &*host.grad);
    let (k, g) = (layout.filters(), layout.pooled_bands(dims.bands));
    let example = dims.bands * dims.frames;
    let active = |i: usize| out[i] > 0.0;
    let per_filter: Vec<(Vec<f32>, f32)> = (0..k)
        .into_par_iter()
        .map(|f| {
            let n = layout.widths()[f];
            let (mut dw, mut db) = (vec![0.0f32; n], 0.0f32);
            for b in 0..dims.batch {
                for i in (b * k + f) * g..(b * k + f + 1) * g {
                    if active(i) {
                        let xs = &x[b * example + arg[i] as usize..][..n];
                        db += grad[i];
                        dw.iter_mut()
                            .zip(xs)
                            .for_each(|(d, &xv)| *d += grad[i] * xv);
                    }
                }
            }
            (dw, db)
        })
        .collect();
    let dbias = per_filter.iter().map(|p| p.1).collect();
    let dweight = per_filter.into_iter().flat_map(|p| p.0).collect();
    let dx = need_dx.then(|| {
        let mut dx = vec![0.0f32; x.len()];
        dx.par_chunks_mut(example).enumerate().for_each(|(b, dxb)| {
            for f in 0..k {
                let (off, n) = (layout.offsets()[f], layout.widths()[f]);
                for i in (b * k + f) * g..(b * k + f + 1) * g {
                    if active(i) {
                        let d = &mut dxb[arg[i] as usize..][..n];
                        d.iter_mut()
                            .zip(&w[off..off + n])
                            .for_each(|(d, &wv)| *d += grad[i] * wv);
                    }
                }
            }
        });
        dx
    });
    (dx, dweight, dbias)
}

impl<E: FloatNdArrayElement, I: IntNdArrayElement, Q: QuantElement> FilterBankBackend
    for NdArray<E, I, Q>
where
    NdArrayTensor: From<SharedArray<E>>,
    NdArrayTensor: From<SharedArray<I>>,
{
    fn filter_bank_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &BankLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let device = Self::float_device(&x);
        forward_on_host::<Self>(&x, &weight, &bias, &device, |x, dims, w, b| {
            let (out, arg) = forward(x, dims, w, b, layout);
            let shape = vec![
                dims.batch,
                layout.filters(),
                layout.pooled_bands(dims.bands),
            ];
            (out, arg, shape)
        })
    }

    fn filter_bank_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output: FloatTensor<Self>,
        argmax: IntTensor<Self>,
        grad: FloatTensor<Self>,
        layout: &BankLayout,
        need_dx: bool,
    ) -> OpGrads<Self> {
        let device = Self::float_device(&x);
        let host = HostBackward::read(&x, &weight, &output, &argmax, &grad);
        let grads = backward(&host, layout, need_dx);
        host.upload::<Self>(grads, &[layout.taps()], &device)
    }
}
