//! The dense layer `x · w + b` as a backend op, so that the CPU runs its
//! three matrix products (forward, and `dx`, `dweight` backward) on every
//! thread and straight from the operands' strides. burn's `NdArray` matmul
//! runs a single 2-D product on one thread, and its backward copies the
//! transposed weights element by element first: the Black-box baseline's
//! 16,352 × 200 layer spent more time there than in its convolution.
//!
//! - `mod.rs` (here): the trait [`DenseBackend`], whose default methods use
//!   burn's generic ops, and the entry point [`dense`];
//! - `cpu.rs`: the `NdArray` implementation;
//! - `kernel.rs`: the GPU backends' backward pass on CubeCL kernels of its
//!   own (the forward pass is burn's CubeCL matmul);
//! - `backward.rs`: the implementation for `Autodiff<B>`.
//!
//! # Tensor layouts
//! `x` `[batch, in]`, `weight` `[in, out]` (burn's `Linear` layout), `bias`
//! `[out]` → `[batch, out]`.

mod backward;
mod cpu;
pub mod kernel;

use burn::tensor::{backend::Backend, ops::FloatTensor, Tensor, TensorPrimitive};

pub use super::grads::OpGrads;

fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// A backend that runs the dense layer. The default methods use burn's
/// generic `matmul`; `NdArray` has its own parallel path and `Autodiff<B>`
/// registers the backward pass.
pub trait DenseBackend: Backend {
    /// `x · weight + bias`.
    fn dense_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let y = float::<Self, 2>(x).matmul(float(weight)) + float::<Self, 1>(bias).unsqueeze();
        y.into_primitive().tensor()
    }

    /// Gradients from the upstream gradient `grad` `[batch, out]`; `dx` only
    /// when `need_dx` is true.
    fn dense_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        need_dx: bool,
    ) -> OpGrads<Self> {
        let (x, weight, grad) = (
            float::<Self, 2>(x),
            float::<Self, 2>(weight),
            float::<Self, 2>(grad),
        );
        let out = grad.dims()[1];
        let dx = need_dx.then(|| grad.clone().matmul(weight.transpose()));
        OpGrads {
            x: dx.map(|t| t.into_primitive().tensor()),
            weight: x.transpose().matmul(grad.clone()).into_primitive().tensor(),
            bias: grad.sum_dim(0).reshape([out]).into_primitive().tensor(),
        }
    }
}

/// `x` `[batch, in]` · `weight` `[in, out]` + `bias` `[out]`; differentiable
/// on `Autodiff<B>` with respect to all three.
pub fn dense<B: DenseBackend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 2> {
    float(B::dense_forward(
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    ))
}

#[cfg(test)]
mod tests;
