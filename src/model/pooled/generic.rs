//! The pooled convolution with burn's module ops, for any backend (the
//! default methods of [`PooledConvBackend`]; tempora's own backends run
//! their own kernels, `cpu/` and `kernel.rs`):
//! `conv2d`, then `max_pool2d_with_indices` on the convolution output and
//! ReLU on the pooled maxima (the same values as ReLU before the pool: both
//! are monotone). Backward: the gradient of active outputs goes back to its
//! arg-max through `max_pool2d_with_indices_backward`, then through the
//! convolution's own backward ops.

use burn::tensor::{
    activation::relu,
    backend::Backend,
    module::{conv2d, max_pool2d_with_indices},
    ops::{ConvOptions, FloatTensor, IntTensor},
    Int, Tensor, TensorPrimitive,
};

use super::{OpGrads, PooledConvBackend, PooledLayout};

fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn options() -> ConvOptions<2> {
    ConvOptions::new([1, 1], [0, 0], [1, 1], 1)
}

/// `x` `[batch, bands, frames]` as a one-channel image.
fn image<B: Backend>(x: FloatTensor<B>) -> Tensor<B, 4> {
    float::<B, 3>(x).unsqueeze_dim(1)
}

/// See [`PooledConvBackend::pooled_conv_forward`].
pub(super) fn forward<B: PooledConvBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    layout: &PooledLayout,
) -> (FloatTensor<B>, IntTensor<B>) {
    let x = image::<B>(x);
    let [_, _, bands, frames] = x.dims();
    let shape = layout.shape(bands, frames);
    let y = conv2d(x, float(weight), Some(float(bias)), options());
    let kernel = [shape.window_rows, shape.window_cols];
    let (pooled, indices) = max_pool2d_with_indices(y, kernel, kernel, [0, 0], [1, 1], false);
    (
        relu(pooled).into_primitive().tensor(),
        indices.into_primitive(),
    )
}

/// See [`PooledConvBackend::pooled_conv_backward`].
pub(super) fn backward<B: PooledConvBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    output: FloatTensor<B>,
    argmax: IntTensor<B>,
    grad: FloatTensor<B>,
    layout: &PooledLayout,
    need_dx: bool,
) -> OpGrads<B> {
    let x = image::<B>(x);
    let [batch, _, bands, frames] = x.dims();
    let shape = layout.shape(bands, frames);
    let output = float::<B, 4>(output);
    let grad = float::<B, 4>(grad).mask_fill(output.lower_equal_elem(0.0), 0.0);
    let conv_shape = [batch, layout.count, shape.rows, shape.cols];
    let conv_out = Tensor::<B, 4>::zeros(conv_shape, &x.device());
    let kernel = [shape.window_rows, shape.window_cols];
    let indices: Tensor<B, 4, Int> = Tensor::from_primitive(argmax);
    // Gradient of the convolution output: non-zero only at arg-max positions.
    let conv_grad = B::max_pool2d_with_indices_backward(
        conv_out.into_primitive().tensor(),
        kernel,
        kernel,
        [0, 0],
        [1, 1],
        false,
        grad.clone().into_primitive().tensor(),
        indices.into_primitive(),
    )
    .x_grad;
    let x_prim = x.into_primitive().tensor();
    let dweight =
        B::conv2d_weight_backward(x_prim.clone(), weight.clone(), conv_grad.clone(), options());
    let dbias = grad
        .sum_dim(3)
        .sum_dim(2)
        .sum_dim(0)
        .reshape([layout.count]);
    let dx = need_dx.then(|| {
        let dx = B::conv2d_x_backward(x_prim, weight, conv_grad, options());
        float::<B, 4>(dx)
            .reshape([batch, bands, frames])
            .into_primitive()
            .tensor()
    });
    OpGrads {
        x: dx,
        weight: dweight,
        bias: dbias.into_primitive().tensor(),
    }
}
