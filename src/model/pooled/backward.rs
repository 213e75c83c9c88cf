//! [`PooledConvBackend`] for `Autodiff<B>`: the forward pass through
//! [`tracked_forward`], which registers the backward step that asks the
//! inner backend for `(dx?, dweight, dbias)` (as the fused filter bank does, `crate::model::argmax_op`).

use burn::backend::autodiff::{checkpoint::strategy::CheckpointStrategy, Autodiff};
use burn::tensor::{
    backend::AutodiffBackend,
    ops::{FloatTensor, IntTensor},
};

use super::{OpGrads, PooledConvBackend, PooledLayout};
use crate::model::argmax_op::{tracked_forward, ArgmaxOp};

/// The pooled convolution as an [`ArgmaxOp`].
#[derive(Debug)]
struct PooledConv;

impl<B: PooledConvBackend> ArgmaxOp<B> for PooledConv {
    type Layout = PooledLayout;

    fn forward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        layout: &PooledLayout,
    ) -> (FloatTensor<B>, IntTensor<B>) {
        B::pooled_conv_forward(x, weight, bias, layout)
    }

    fn backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output: FloatTensor<B>,
        argmax: IntTensor<B>,
        grad: FloatTensor<B>,
        layout: &PooledLayout,
        need_dx: bool,
    ) -> OpGrads<B> {
        B::pooled_conv_backward(x, weight, output, argmax, grad, layout, need_dx)
    }
}

impl<B: PooledConvBackend, C: CheckpointStrategy> PooledConvBackend for Autodiff<B, C> {
    fn pooled_conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &PooledLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        tracked_forward::<B, C, PooledConv>(x, weight, bias, layout)
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
        B::pooled_conv_backward(
            Self::inner(x),
            Self::inner(weight),
            Self::inner(output),
            argmax,
            Self::inner(grad),
            layout,
            need_dx,
        )
        .into_autodiff()
    }
}
