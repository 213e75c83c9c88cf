//! The filter-bank computation with burn's generic ops: `conv2d` ("valid",
//! stride 1) + bias, ReLU, `max_pool2d` with non-overlapping windows.
//!
//! The model uses [`pooled_conv`] for every bank the fused op does not cover
//! (frequency and 2-D banks, time banks pooled by a factor along time), and the
//! tests use [`filter_bank_reference`] as the ground truth for the fused op.

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
    // [batch, count, bands - height + 1, frames - width + 1]
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
