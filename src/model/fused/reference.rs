//! The filter-bank computation with burn's generic ops: "valid" convolution
//! (stride 1) + bias, ReLU, `max_pool2d` with non-overlapping windows.
//!
//! Two forms of the same computation:
//! - [`pooled_conv`] with burn's `conv2d`: the ground truth. The tests use it,
//!   through [`filter_bank_reference`], for the fused op, and for
//!   [`pooled_conv_gemm`].
//! - [`pooled_conv_gemm`], the convolution as one matrix product (im2col): the
//!   model runs it for every bank the fused op does not cover (frequency and
//!   2-D banks, time banks pooled by a factor along time: the CBMI baselines).
//!   burn's `conv2d` on `NdArray` is a direct convolution, several times slower
//!   than PyTorch's; as a matrix product it runs at sgemm speed, and its
//!   backward is two more matrix products (the input is never tracked).

use std::sync::Arc;

use burn::tensor::{
    activation::relu,
    backend::Backend,
    module::{conv2d, max_pool2d},
    ops::ConvOptions,
    Tensor,
};

use super::BankLayout;
use crate::model::arch::PoolExtent;

/// One filter group on `x` `[batch, 1, bands, frames]` with `weight`
/// `[count, 1, height, width]` and `bias` `[count]`:
/// "valid" convolution + bias, ReLU, max pooling with non-overlapping windows
/// (`All` = the whole remaining axis; trailing remainders are dropped).
///
/// # Shapes
/// returns `[batch, count, pooled_bands, pooled_frames]`.
pub fn pooled_conv<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    pool_freq: PoolExtent,
    pool_time: PoolExtent,
) -> Tensor<B, 4> {
    let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let y = relu(conv2d(x, weight, Some(bias), options));
    pool(y, pool_freq, pool_time)
}

/// [`pooled_conv`] with the convolution as one matrix product: the
/// `height × width` shifted views of `x` are stacked (taps in the weight's
/// row-major order) into a `[taps, batch · rows · cols]` patch matrix, and the
/// `[count, taps]` weights multiply it; + bias, ReLU, then the same pooling.
/// Stacking on the outermost axis keeps every reshape free (burn's `NdArray`
/// copies a non-standard layout element by element). Equal to [`pooled_conv`]
/// up to float rounding (the sums run in another order); deterministic
/// whatever the thread count (sgemm splits rows and columns among threads,
/// never a sum).
///
/// # Shapes
/// `x` `[batch, 1, bands, frames]`, `weight` `[count, 1, height, width]`,
/// `bias` `[count]` → `[batch, count, pooled_bands, pooled_frames]`.
pub fn pooled_conv_gemm<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    pool_freq: PoolExtent,
    pool_time: PoolExtent,
) -> Tensor<B, 4> {
    let [batch, _, bands, frames] = x.dims();
    let [count, _, height, width] = weight.dims();
    let (rows, cols) = (bands + 1 - height, frames + 1 - width);
    // [batch, bands, frames]
    let x = x.squeeze_dim::<3>(1);
    let shifted: Vec<Tensor<B, 3>> = (0..height)
        .flat_map(|dh| (0..width).map(move |dw| (dh, dw)))
        .map(|(dh, dw)| x.clone().slice([0..batch, dh..dh + rows, dw..dw + cols]))
        .collect();
    // [taps, batch · rows · cols]
    let patches = Tensor::stack::<4>(shifted, 0).reshape([height * width, batch * rows * cols]);
    let w = weight.reshape([count, height * width]);
    // [count, batch · rows · cols]
    let y = relu(w.matmul(patches) + bias.unsqueeze_dim::<2>(1));
    // [batch, count, rows, cols]
    let y = y.reshape([count, batch, rows, cols]).swap_dims(0, 1);
    pool(y, pool_freq, pool_time)
}

/// Max pooling of `y` `[batch, count, bands', frames']` with non-overlapping
/// windows (`All` = the whole axis; trailing remainders are dropped).
fn pool<B: Backend>(y: Tensor<B, 4>, pool_freq: PoolExtent, pool_time: PoolExtent) -> Tensor<B, 4> {
    let [_, _, bands, frames] = y.dims();
    let window = |pool: PoolExtent, len: usize| match pool {
        PoolExtent::All => len,
        PoolExtent::Factor(f) => f.max(1),
    };
    let kernel = [window(pool_freq, bands), window(pool_time, frames)];
    max_pool2d(y, kernel, kernel, [0, 0], [1, 1], false)
}

/// The fused op's contract computed with generic ops: `x` `[batch, bands,
/// frames]`, packed `weight` `[taps]`, `bias` `[filters]` →
/// `[batch, filters, pooled_bands]` (see [`super`] for layouts).
pub fn filter_bank_reference<B: Backend>(
    x: Tensor<B, 3>,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
    layout: &Arc<BankLayout>,
) -> Tensor<B, 3> {
    let [batch, bands, _] = x.dims();
    let x4 = x.unsqueeze_dim::<4>(1);
    let pool_freq = PoolExtent::Factor(layout.pool_size(bands));
    let groups = layout.pooled_bands(bands);
    let widths = layout.widths();
    let mut outputs = Vec::new();
    let mut start = 0;
    // Runs of consecutive filters of equal width form one conv2d call.
    while start < widths.len() {
        let n = widths[start];
        let end = start + widths[start..].iter().take_while(|&&w| w == n).count();
        let count = end - start;
        let offset = layout.offsets()[start];
        let w = weight
            .clone()
            .slice(offset..offset + count * n)
            .reshape([count, 1, 1, n]);
        let b = bias.clone().slice(start..end);
        let y = pooled_conv(x4.clone(), w, b, pool_freq, PoolExtent::All);
        outputs.push(y.reshape([batch, count, groups]));
        start = end;
    }
    Tensor::cat(outputs, 1)
}
