//! [`FilterBankBackend`] for `Autodiff<B>`: the forward pass through
//! [`tracked_forward`], which registers the backward step that asks the
//! inner backend for `(dx?, dweight, dbias)` (the shared autodiff side of the pooled ops, `crate::model::argmax_op`).

use burn::backend::autodiff::{checkpoint::strategy::CheckpointStrategy, Autodiff};
use burn::tensor::{
    backend::AutodiffBackend,
    ops::{FloatTensor, IntTensor},
};

use super::{BankLayout, FilterBankBackend, OpGrads};
use crate::model::argmax_op::{tracked_forward, ArgmaxOp};

/// The fused filter bank as an [`ArgmaxOp`].
#[derive(Debug)]
struct FilterBank;

impl<B: FilterBankBackend> ArgmaxOp<B> for FilterBank {
    type Layout = BankLayout;

    fn forward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        layout: &BankLayout,
    ) -> (FloatTensor<B>, IntTensor<B>) {
        B::filter_bank_forward(x, weight, bias, layout)
    }

    fn backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output: FloatTensor<B>,
        argmax: IntTensor<B>,
        grad: FloatTensor<B>,
        layout: &BankLayout,
        need_dx: bool,
    ) -> OpGrads<B> {
        B::filter_bank_backward(x, weight, output, argmax, grad, layout, need_dx)
    }
}

impl<B: FilterBankBackend, C: CheckpointStrategy> FilterBankBackend for Autodiff<B, C> {
    fn filter_bank_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &BankLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        tracked_forward::<B, C, FilterBank>(x, weight, bias, layout)
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
        B::filter_bank_backward(
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
