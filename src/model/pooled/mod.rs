//! The pooled convolution: `count` filters of one `height × width` shape on a
//! `[batch, bands, frames]` input, "valid" convolution (stride 1) + bias,
//! ReLU and max pooling with non-overlapping windows along both axes,
//! keeping the arg-max. It computes the banks the fused time-axis op
//! ([`super::fused`]) does not cover: frequency and 2-D filters, and time
//! filters pooled by a factor along time (the CBMI 2016 baselines).
//!
//! Layout of this module (as [`super::fused`]):
//! - `mod.rs` (here): the backend-extension trait [`PooledConvBackend`], the
//!   shape description [`PooledLayout`] and the tensor-level entry point
//!   [`pooled_conv`];
//! - `generic.rs`: the trait's default implementation with burn's module ops
//!   (`conv2d`, `max_pool2d_with_indices` and their backward ops), for a
//!   backend without kernels of its own;
//! - `kernel.rs`: CubeCL kernels for the GPU backends (CUDA, wgpu);
//! - `cpu/`: the `NdArray` implementation (im2col straight into one sgemm
//!   per example, pooling on the sgemm's output, sparse backward);
//! - `backward.rs`: the implementation for `Autodiff<B>`;
//! - tests against [`super::fused::reference::pooled_conv`] (burn's `conv2d`),
//!   forward and backward.
//!
//! # Tensor layouts
//! - `x`: `[batch, bands, frames]`; `weight`: `[count, 1, height, width]`
//!   (the model's parameter layout); `bias`: `[count]`;
//! - output: `[batch, count, pooled_rows, pooled_cols]`; arg-max: same shape,
//!   integer `row * cols + col` of the winning convolution output in its
//!   `rows × cols` plane (`rows = bands - height + 1`,
//!   `cols = frames - width + 1`), as `max_pool2d_with_indices` numbers it.
//!
//! Must not know about datasets, files or training.

mod backward;
mod cpu;
mod generic;
pub mod kernel;

use burn::tensor::{
    backend::Backend,
    ops::{FloatTensor, IntTensor},
    Tensor, TensorPrimitive,
};

use super::arch::PoolExtent;
pub use super::grads::OpGrads;

/// The static description of a pooled convolution: the filter shape and the
/// pooling along each axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PooledLayout {
    /// Filters.
    pub count: usize,
    /// Filter extent along the band axis.
    pub height: usize,
    /// Filter extent along the frame axis.
    pub width: usize,
    /// Max-pool extent along the band axis.
    pub pool_freq: PoolExtent,
    /// Max-pool extent along the frame axis.
    pub pool_time: PoolExtent,
}

/// The sizes one input shape gives a [`PooledLayout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PooledShape {
    /// Convolution output rows (`bands - height + 1`).
    pub rows: usize,
    /// Convolution output columns (`frames - width + 1`).
    pub cols: usize,
    /// Pool window along rows.
    pub window_rows: usize,
    /// Pool window along columns.
    pub window_cols: usize,
    /// Pooled rows (a trailing remainder is dropped).
    pub pooled_rows: usize,
    /// Pooled columns.
    pub pooled_cols: usize,
}

impl PooledLayout {
    /// Multiply-adds in one filter tap (`height × width`).
    pub fn taps(&self) -> usize {
        self.height * self.width
    }

    /// The sizes on a `bands × frames` input (the model validated that the
    /// filter fits and the pooling leaves an output).
    pub fn shape(&self, bands: usize, frames: usize) -> PooledShape {
        let rows = bands + 1 - self.height;
        let cols = frames + 1 - self.width;
        let window = |pool: PoolExtent, len: usize| match pool {
            PoolExtent::All => len,
            PoolExtent::Factor(f) => f.max(1),
        };
        PooledShape {
            rows,
            cols,
            window_rows: window(self.pool_freq, rows),
            window_cols: window(self.pool_time, cols),
            pooled_rows: self.pool_freq.pooled_len(rows),
            pooled_cols: self.pool_time.pooled_len(cols),
        }
    }
}

/// A backend that runs the pooled convolution. The default methods compute
/// it with burn's module ops (any backend); `NdArray` has its own CPU path
/// and `Autodiff<B>` registers the backward pass.
pub trait PooledConvBackend: Backend {
    /// Forward pass: `(output, arg-max)`; see the module documentation.
    fn pooled_conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &PooledLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        generic::forward::<Self>(x, weight, bias, layout)
    }

    /// Backward pass from the forward's `output` and `argmax` and the
    /// upstream gradient `grad` (the output's shape). Only outputs that are
    /// positive (ReLU active) pass gradient, to their arg-max window. `dx` is
    /// computed only when `need_dx` is true.
    #[allow(clippy::too_many_arguments)]
    fn pooled_conv_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output: FloatTensor<Self>,
        argmax: IntTensor<Self>,
        grad: FloatTensor<Self>,
        layout: &PooledLayout,
        need_dx: bool,
    ) -> OpGrads<Self> {
        generic::backward::<Self>(x, weight, output, argmax, grad, layout, need_dx)
    }
}

/// Runs the pooled convolution on `x` `[batch, bands, frames]` with `weight`
/// `[count, 1, height, width]` and `bias` `[count]`; returns
/// `[batch, count, pooled_rows, pooled_cols]`.
///
/// Differentiable on `Autodiff<B>` with respect to all three inputs.
pub fn pooled_conv<B: PooledConvBackend>(
    x: Tensor<B, 3>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    layout: &PooledLayout,
) -> Tensor<B, 4> {
    let (out, _argmax) = B::pooled_conv_forward(
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
        layout,
    );
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

#[cfg(test)]
mod tests;
