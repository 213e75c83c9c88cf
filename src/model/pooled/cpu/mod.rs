//! The pooled convolution on the CPU: [`PooledConvBackend`] for burn's `NdArray`.
//!
//! # Forward
//! Examples run in parallel with rayon. For each example, im2col writes the
//! `height × width` patch of every convolution position into one
//! `[positions, taps]` buffer (a patch row is `height` contiguous slices of
//! the input); a filter one frame wide needs no buffer, its patch matrix is
//! the input read through strides. One single-threaded sgemm
//! (`matrixmultiply`, packed, AVX2/FMA where the CPU has it) multiplies the
//! patches by the `[taps, count]` weights, and the pooling scans the
//! `[positions, count]` product window by window, eight filters at a time in
//! registers, keeping the first maximum in (row, column) order. Bias and
//! ReLU apply to the pooled maxima (both monotone, so the values are those
//! of bias + ReLU before the pool).
//!
//! # Backward
//! Only arg-max positions of active outputs carry gradient
//! (`upstream.rs`): `dweight` sums `g · patch` over those positions,
//! parallel over filters, or, for small pool windows, runs one sgemm per
//! example on the convolution's gradient (zero but at the arg-max
//! positions); `dbias` sums `g`; `dx` (only when asked) scatters
//! `g · weight` back, parallel over examples. Each sum runs in a fixed order
//! whatever the thread count, and so does sgemm (it splits no sum), so
//! results are bit-identical for any thread count.
//!
//! Files: `patches.rs` (im2col and the sgemm calls), `pool.rs`,
//! `upstream.rs` (the backward sums); here, the forward pass and the
//! `NdArray` implementation.

mod patches;
mod pool;
mod upstream;

use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::ops::{FloatTensor, FloatTensorOps, IntTensor};
use rayon::prelude::*;

use self::patches::{patch_buffer, product, Patches};
use self::pool::pool;
use self::upstream::backward;
use super::{OpGrads, PooledConvBackend, PooledLayout};
use crate::model::host::{forward_on_host, Dims, HostBackward};

/// Forward pass: `(output, arg-max)`, both `[batch, count, pooled_rows, pooled_cols]`.
fn forward(
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
            let mut buffer = patch_buffer(layout, positions);
            let mut conv = vec![0.0; positions * layout.count];
            let examples = out
                .chunks_mut(per_example)
                .zip(arg.chunks_mut(per_example))
                .zip(xs.chunks(plane));
            for ((out, arg), xe) in examples {
                let patches = Patches::of(xe, dims.frames, layout, &s, &mut buffer);
                product(patches, w, positions, layout, &mut conv);
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
        forward_on_host::<Self>(&x, &weight, &bias, &device, |x, dims, w, b| {
            let (out, arg) = forward(x, dims, w, b, layout);
            let s = layout.shape(dims.bands, dims.frames);
            let shape = vec![dims.batch, layout.count, s.pooled_rows, s.pooled_cols];
            (out, arg, shape)
        })
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
        let host = HostBackward::read(&x, &weight, &output, &argmax, &grad);
        let grads = backward(&host, layout, need_dx);
        host.upload::<Self>(
            grads,
            &[layout.count, 1, layout.height, layout.width],
            &device,
        )
    }
}
