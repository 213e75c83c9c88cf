//! The dense layer's backward pass on a GPU (any CubeCL runtime: CUDA, wgpu):
//! CubeCL kernels and [`DenseBackend`] for `CubeBackend`, beside the CPU path
//! (`cpu.rs`) and cross-checked against it (tests/suite/gpu.rs). The forward
//! pass stays on burn's CubeCL matmul (tiled, the one large product).
//!
//! One invocation per output value, each summing in a fixed order in plain
//! f32: `dweight[i, o]` over the batch, `dx[b, i]` over the outputs (only
//! when asked), `dbias[o]` over the batch. No atomics, no transposed copy,
//! deterministic. At the baselines' sizes (batch 50, Black-box's 16,352 ×
//! 200 layer) every sum is at most a few hundred terms long.
//!
//! Layouts as in [`super`]: `x` `[batch, in]`, `weight` `[in, out]`, the
//! upstream gradient `[batch, out]`.

use burn::tensor::ops::FloatTensor;
use burn_cubecl::{
    element::BoolElement, kernel::into_contiguous, CubeBackend, CubeRuntime, FloatElement,
    IntElement,
};
use cubecl::prelude::*;

use super::{DenseBackend, OpGrads};
use crate::model::fused::kernel::{elementwise, empty};

/// `dweight[i, o] = Σ_b x[b, i] · grad[b, o]`.
#[cube(launch)]
fn weight_grad_kernel<F: Float>(
    x: &Tensor<F>,
    grad: &Tensor<F>,
    dw: &mut Tensor<F>,
    #[define(F)] _dtype: StorageType,
) {
    if ABSOLUTE_POS >= dw.len() {
        terminate!();
    }
    let batch = x.shape(0);
    let inputs = x.shape(1);
    let outputs = grad.shape(1);
    let i = ABSOLUTE_POS / outputs;
    let o = ABSOLUTE_POS % outputs;
    let mut acc = F::new(0.0);
    for b in 0..batch {
        acc += x[b * inputs + i] * grad[b * outputs + o];
    }
    dw[ABSOLUTE_POS] = acc;
}

/// `dx[b, i] = Σ_o grad[b, o] · weight[i, o]`.
#[cube(launch)]
fn input_grad_kernel<F: Float>(
    w: &Tensor<F>,
    grad: &Tensor<F>,
    dx: &mut Tensor<F>,
    #[define(F)] _dtype: StorageType,
) {
    if ABSOLUTE_POS >= dx.len() {
        terminate!();
    }
    let inputs = dx.shape(1);
    let outputs = grad.shape(1);
    let b = ABSOLUTE_POS / inputs;
    let i = ABSOLUTE_POS % inputs;
    let mut acc = F::new(0.0);
    for o in 0..outputs {
        acc += grad[b * outputs + o] * w[i * outputs + o];
    }
    dx[ABSOLUTE_POS] = acc;
}

/// `dbias[o] = Σ_b grad[b, o]`.
#[cube(launch)]
fn bias_grad_kernel<F: Float>(
    grad: &Tensor<F>,
    db: &mut Tensor<F>,
    #[define(F)] _dtype: StorageType,
) {
    if ABSOLUTE_POS >= db.len() {
        terminate!();
    }
    let batch = grad.shape(0);
    let outputs = grad.shape(1);
    let mut acc = F::new(0.0);
    for b in 0..batch {
        acc += grad[b * outputs + ABSOLUTE_POS];
    }
    db[ABSOLUTE_POS] = acc;
}

/// The most loop iterations one invocation of each kernel runs for a layer
/// of `outputs` units on batches of `batch`, by kernel name: what a device
/// with a loop cap (lavapipe: 65,535) is checked against.
pub fn loop_iterations(batch: usize, outputs: usize) -> Vec<(&'static str, usize)> {
    vec![
        ("dense weight gradient", batch),
        ("dense input gradient", outputs),
        ("dense bias gradient", batch),
    ]
}

impl<R, F, I, BT> DenseBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn dense_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        need_dx: bool,
    ) -> OpGrads<Self> {
        let (x, grad) = (into_contiguous(x), into_contiguous(grad));
        let client = x.client.clone();
        let [batch, inputs] = x.meta.shape().dims::<2>();
        let outputs = grad.meta.shape().dims::<2>()[1];

        let dw = empty(&x, vec![inputs, outputs], x.dtype);
        let (cubes, cube_dim) = elementwise(&x, inputs * outputs);
        weight_grad_kernel::launch::<R>(
            &client,
            cubes,
            cube_dim,
            x.clone().into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            dw.clone().into_tensor_arg(),
            x.dtype.into(),
        );

        let db = empty(&x, vec![outputs], x.dtype);
        let (cubes, cube_dim) = elementwise(&x, outputs);
        bias_grad_kernel::launch::<R>(
            &client,
            cubes,
            cube_dim,
            grad.clone().into_tensor_arg(),
            db.clone().into_tensor_arg(),
            x.dtype.into(),
        );

        let dx = need_dx.then(|| {
            let weight = into_contiguous(weight);
            let dx = empty(&x, vec![batch, inputs], x.dtype);
            let (cubes, cube_dim) = elementwise(&x, batch * inputs);
            input_grad_kernel::launch::<R>(
                &client,
                cubes,
                cube_dim,
                weight.into_tensor_arg(),
                grad.into_tensor_arg(),
                dx.clone().into_tensor_arg(),
                x.dtype.into(),
            );
            dx
        });
        OpGrads {
            x: dx,
            weight: dw,
            bias: db,
        }
    }
}
